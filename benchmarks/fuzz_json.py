"""Fuzz the JSON document reader: damage one event of a document, count what is recovered.

    python benchmarks/fuzz_json.py [--trials N] [--seed S]

Each trial writes 2 to 7 events (some with nested objects in lists) as a one-line array, a
pretty-printed array, or pretty-printed objects one after another, deletes one character
of one event or inserts one of ``{}[]",:x`` into it, and reads the file back. A trial is
*exact* when the events read plus the values counted as lost equal the events written
and no event is read that was not written (but the damaged one, when it still parses).
Damage can be ambiguous (a ``}`` inserted mid-event splits it in two, and its second
part is lost, or its first part read as an event that was not written), so some trials
are inexact by nature; the figures say how many lost an event without counting it, how
many counted one too many, and how many read an event that was not written. Any
exception is a bug. Run it against another checkout to compare (``PYTHONPATH`` first).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parents[1] / "src"))  # run from a checkout, too

from eqlmini.inputs import ReadReport, read_events  # noqa: E402


def trial(rng: random.Random, folder: Path) -> tuple[int, int, bool]:
    """(events written, events read + values counted lost, whether an event was read that
    was never written) for one damaged document."""
    count = rng.randrange(2, 8)
    events = [{"id": i, "s": rng.choice(["x", "a,b", "{c}", "]", 'q"r']),
               **({"n": {"k": [1, {"z": i}]}} if rng.random() < 0.3 else {})} for i in range(count)]
    layout = rng.choice(["line", "pretty", "objects"])
    parts = [json.dumps(event, indent=None if layout == "line" else 2) for event in events]
    damaged = rng.randrange(count)
    text = parts[damaged]
    at = rng.randrange(len(text))
    parts[damaged] = text[:at] + (text[at + 1:] if rng.random() < 0.5 else rng.choice('{}[]",:x') + text[at:])
    document = {"line": "[" + ", ".join(parts) + "]", "pretty": "[\n" + ",\n".join(parts) + "\n]",
                "objects": "\n".join(parts)}[layout]
    path = folder / "events.json"
    path.write_text(document, encoding="utf-8")
    report = ReadReport()
    read = list(read_events(path, report=report))
    try:
        still = json.loads(parts[damaged])
    except ValueError:
        still = None
    invented = any(event not in events and event != still for event in read)
    return count, len(read) + report.unreadable, invented


def main() -> int:
    """Run the trials and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    options = parser.parse_args()
    rng = random.Random(options.seed)
    exact = under = over = invented = 0
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(options.trials):
            written, accounted, made_up = trial(rng, Path(folder))
            exact += accounted == written and not made_up
            under += accounted < written
            over += accounted > written
            invented += made_up
    print(f"{options.trials:,} damaged documents, seed {options.seed}: {exact:,} exact "
          f"({exact / options.trials:.1%}); {under:,} lost an event uncounted, {over:,} counted one too many; "
          f"{invented:,} read an event that was not written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
