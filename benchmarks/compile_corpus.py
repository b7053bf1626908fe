"""Time to compile every query of the detection-rules corpus, cold, as a new process does.

    python benchmarks/compile_corpus.py [--corpus PATH] [--repeat R] [--baseline SRC]

Reads ``../shared/corpus/detection-rules-eql.jsonl`` (1081 Elastic detection rules) by
default. Each run is a fresh Python process that imports eqlmini and compiles every query
once, so it includes building the parser (the goal is under 2 s for the whole corpus). In the
same process the queries are then parsed again, on the fast path (no positions, what
``compile()`` uses) and with positions (what ``eqlmini.parse()`` and errors use), so that
the parsing share and the gain of the fast path are measured against each other. Prints every
run, then the median and range of the runs. Besides wall time, CPU time (``time.process_time``)
is shown: on a shared machine it moves far less with the load of other processes. With
``--baseline SRC`` (another checkout's ``src/``) the same cold runs of that checkout are
interleaved with these, and both are shown, so that a change is measured against the code
before it under the same load.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus" / "detection-rules-eql.jsonl"


def one_run(corpus: Path, source: Path) -> dict[str, float]:
    """Compile the corpus in this process (import included); then time each parse path."""
    began = time.perf_counter()
    sys.path.insert(0, str(source))  # the checkout measured, before any installed eqlmini
    import eqlmini
    from eqlmini.parser import parse

    if not Path(eqlmini.__file__).resolve().is_relative_to(source.resolve()):
        raise SystemExit(f"imported {eqlmini.__file__}, not the eqlmini of {source}")
    rules = [json.loads(line) for line in corpus.read_text(encoding="utf-8").splitlines()]
    imported, cpu = time.perf_counter(), time.process_time()
    for rule in rules:
        eqlmini.compile(rule["query"], event_category_field=rule["event_category_override"] or "event.category")
    compiled = time.perf_counter()
    figures = {"rules": len(rules), "import": imported - began, "compile": compiled - imported,
               "compile_cpu": time.process_time() - cpu}
    for name, positions in (("parse_fast", False), ("parse_positions", True)):
        start = time.process_time()
        for rule in rules:
            parse(rule["query"], positions=positions)
        figures[name] = time.process_time() - start
    return figures


def cold_run(corpus: Path, source: Path) -> dict[str, float]:
    """One run in a fresh process, compiling with the eqlmini of ``source``."""
    child = subprocess.run([sys.executable, __file__, "--one-run", "--corpus", str(corpus), "--source", str(source)],
                           capture_output=True, text=True)
    if child.returncode != 0:
        raise SystemExit(f"the run with {source} failed:\n{child.stderr.strip()}")
    return json.loads(child.stdout)


FIGURES = (("compile", "compile, cold, wall"), ("compile_cpu", "compile, cold, CPU"),
           ("parse_fast", "parse, fast path, CPU"), ("parse_positions", "parse, positions, CPU"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--baseline", type=Path, metavar="SRC", help="another checkout's src/ to compare with")
    parser.add_argument("--one-run", action="store_true", help=argparse.SUPPRESS)  # a child process
    parser.add_argument("--source", type=Path, default=ROOT / "src", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if not options.corpus.exists():
        raise SystemExit(f"{options.corpus} not found (the shared corpus sits beside the project root)")
    if options.one_run:
        print(json.dumps(one_run(options.corpus, options.source)))
        return

    contenders = {"this checkout": ROOT / "src"}
    if options.baseline:
        if not (options.baseline / "eqlmini" / "__init__.py").exists():
            raise SystemExit(f"{options.baseline} holds no eqlmini package (give a checkout's src/)")
        contenders["baseline"] = options.baseline.resolve()
    print(f"corpus {options.corpus.name}; Python {sys.version.split()[0]}; {options.repeat} cold runs each")
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in contenders}
    for attempt in range(1, options.repeat + 1):
        for name, source in contenders.items():  # interleaved, so that both meet the same load
            figures = cold_run(options.corpus, source)
            runs[name].append(figures)
            print(f"run {attempt}, {name}: compile {figures['rules']} rules {figures['compile']:.2f} s "
                  f"({figures['compile'] / figures['rules'] * 1000:.2f} ms/rule, CPU {figures['compile_cpu']:.2f} s, "
                  f"import {figures['import']:.2f} s); parse again (CPU): fast {figures['parse_fast']:.2f} s, "
                  f"with positions {figures['parse_positions']:.2f} s")
    for name in contenders:
        for key, label in FIGURES:
            values = [run[key] for run in runs[name]]
            print(f"{name:<14} {label:<24} median {statistics.median(values):.2f} s, "
                  f"range {min(values):.2f}-{max(values):.2f} s")
    if options.baseline:
        ratio = (statistics.median(run["compile_cpu"] for run in runs["baseline"])
                 / statistics.median(run["compile_cpu"] for run in runs["this checkout"]))
        print(f"compile CPU, baseline / this checkout: {ratio:.2f}x")


if __name__ == "__main__":
    main()
