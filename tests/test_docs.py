"""Documentation that runs: every Python and shell example in README.md and docs/*.md.

Each page's code blocks are read by their fence's language:

* ``python`` / ``pycon`` with ``>>>`` lines: doctests, all of a page's run in order in one
  namespace, their output compared (``...`` matches anything);
* ``python`` without ``>>>``: scripts, all of a page's run in order by one Python process
  (a page reads as a notebook does: a block may use what one before it defined); a block
  fenced ``output`` right after one is what that one must print;
* ``console``: ``$ command`` lines, each run by bash in a terminal 180 columns wide (as a
  person sees it: standard output and error together, tables for people), followed by what
  it must print; ``$?`` is the status of the command before;
* ``sh`` / ``bash`` / ``shell``: a script, run by bash; it must exit 0 (and print a
  following ``output`` block, if there is one).

Everything runs in a fresh folder holding a copy of the shipped ``examples/`` and ``rules/``
(what an example writes stays there), with the installed ``eqlmini``
command first on the PATH; a page that says ``<!-- examples run in: examples/ -->`` runs
in that folder of it. A block that needs duckdb, pyspark, pandas, polars or pyarrow is
skipped only when that package is missing. A block may not be run only when the line
before its fence says why: ``<!-- not run: ... -->``.
"""

from __future__ import annotations

import doctest
import fcntl
import importlib.util
import os
import pty
import re
import select
import shutil
import struct
import subprocess
import sys
import termios
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import PROJECT

PAGES = [PROJECT / "README.md", *sorted((PROJECT / "docs").glob("*.md"))]
EXTRAS = ("duckdb", "pyspark", "pandas", "polars", "pyarrow")
COLUMNS = 180
TIMEOUT = 120  # seconds for one command or script
_FENCE = re.compile(r"^(`{3,})([\w+-]*)[^\n]*$")
_NOT_RUN = re.compile(r"^<!-- not run: (.+) -->$")
_RUN_IN = re.compile(r"^<!-- examples run in: (\S+) -->$", re.MULTILINE)
_BLOCK_START = "\x1eblock"  # printed before each script block, to split what they print
_CHECK = doctest.OutputChecker()


@dataclass(frozen=True)
class Block:
    """A fenced code block: its page, the line of its fence, its language and text."""

    page: Path
    line: int
    language: str
    text: str
    not_run: str | None  # the reason given before the fence
    output: str | None  # the text of an ``output`` block right after it

    @property
    def kind(self) -> str | None:
        """doctest, python, console, shell, or None for a block that is no example."""
        if self.language in ("python", "py", "pycon"):
            return "doctest" if re.search(r"^>>> ", self.text, re.MULTILINE) else "python"
        if self.language == "console":
            return "console"
        if self.language in ("sh", "bash", "shell"):
            return "shell"
        return None

    @property
    def id(self) -> str:
        return f"{self.page.name}:{self.line}"

    def missing_extras(self) -> list[str]:
        return [name for name in EXTRAS if re.search(rf"\b{name}\b", self.text) and not importlib.util.find_spec(name)]


def blocks(page: Path) -> list[Block]:
    """The fenced blocks of a page, in order."""
    lines = page.read_text(encoding="utf-8").split("\n")
    found: list[Block] = []
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        fence, language = opening.groups()
        end = next((i for i in range(index + 1, len(lines)) if lines[i].startswith(fence)
                    and not lines[i].strip("`")), len(lines))
        before = next((line for line in reversed(lines[:index]) if line.strip()), "")
        marker = _NOT_RUN.match(before.strip())
        found.append(Block(page, index + 1, language, "\n".join(lines[index + 1:end]) + "\n",
                           marker.group(1) if marker else None, None))
        index = end + 1
    # an `output` block right after an example belongs to it
    joined = []
    for block in found:
        if block.language == "output" and joined and joined[-1].kind in ("python", "shell"):
            previous = joined.pop()
            joined.append(Block(previous.page, previous.line, previous.language, previous.text,
                                previous.not_run, block.text))
        else:
            joined.append(block)
    return joined


EXAMPLES = [block for page in PAGES for block in blocks(page) if block.kind is not None]


def examples(kind: str) -> list:
    return [pytest.param(block, id=block.id) for block in EXAMPLES if block.kind == kind]


@pytest.fixture
def sandbox(tmp_path: Path) -> Path:
    """A fresh folder with a copy of the shipped examples and rules."""
    for name in ("examples", "rules"):
        shutil.copytree(PROJECT / name, tmp_path / name)
    return tmp_path


def _folder(page: Path, sandbox: Path) -> Path:
    """Where the examples of ``page`` run: the sandbox, or the folder of it the page names."""
    named = _RUN_IN.search(page.read_text(encoding="utf-8"))
    return sandbox / named.group(1) if named else sandbox


def _environment() -> dict[str, str]:
    bin_folder = str(Path(sys.executable).parent)
    return {**os.environ, "PATH": bin_folder + os.pathsep + os.environ.get("PATH", ""), "COLUMNS": str(COLUMNS),
            "PYTHONPATH": str(PROJECT / "src"), "LC_ALL": "C.UTF-8", "PYTHONIOENCODING": "utf-8"}


def _skip_if_needed(block: Block) -> None:
    if block.not_run is not None:
        pytest.skip(f"not run: {block.not_run}")
    missing = block.missing_extras()
    if missing:
        pytest.skip(f"needs {', '.join(missing)}, which is not installed")


def _same(want: str, got: str) -> bool:
    return _CHECK.check_output(want, got, doctest.ELLIPSIS)


# ----------------------------------------------------------------------------- doctests
DOCTEST_PAGES = sorted({block.page for block in EXAMPLES if block.kind == "doctest"})


@pytest.mark.parametrize("page", DOCTEST_PAGES, ids=[page.name for page in DOCTEST_PAGES])
def test_doctests(page: Path, sandbox: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(_folder(page, sandbox))
    parser = doctest.DocTestParser()
    found: list[doctest.Example] = []
    skipped: list[str] = []
    for block in blocks(page):
        if block.kind != "doctest":
            continue
        if block.not_run is not None or block.missing_extras():
            skipped.append(block.id)
            continue
        for example in parser.get_examples(block.text):
            example.lineno += block.line  # the line of the page, for the failure report
            found.append(example)
    test = doctest.DocTest(found, {"__name__": "__docs__"}, page.name, str(page), 0, None)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    results: list[str] = []
    runner.run(test, out=results.append)
    assert runner.failures == 0, "".join(results)
    if skipped and not found:
        pytest.skip(f"every example needs a missing extra or is not run: {skipped}")


# ----------------------------------------------------------------------------- scripts
SCRIPT_PAGES = sorted({block.page for block in EXAMPLES if block.kind == "python"})


@pytest.mark.parametrize("page", SCRIPT_PAGES, ids=[page.name for page in SCRIPT_PAGES])
def test_python_scripts(page: Path, sandbox: Path) -> None:
    """A page's scripts, in one file, each at its line of the page (a traceback names it)."""
    scripts = [block for block in blocks(page) if block.kind == "python"]
    run = [block for block in scripts if block.not_run is None and not block.missing_extras()]
    if not run:
        pytest.skip(f"every script needs a missing extra or is not run: {[block.id for block in scripts]}")
    lines = [""] * page.read_text(encoding="utf-8").count("\n")
    for block in run:
        # on the fence's line; not in the processes multiprocessing starts, which run this file too
        lines[block.line - 1] = f"if __name__ == '__main__': print({_BLOCK_START!r}, flush=True)"
        for number, line in enumerate(block.text.splitlines(), block.line + 1):
            lines[number - 1] = line
    script = sandbox / f"{page.stem}.py"  # a file: multiprocessing's spawn imports the main module again
    script.write_text("\n".join(lines) + "\n", encoding="utf-8")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          cwd=_folder(page, sandbox), env=_environment(), timeout=TIMEOUT, check=False)
    assert done.returncode == 0, f"{page.name} (the traceback's lines are the page's):\n{done.stderr}"
    printed = done.stdout.split(_BLOCK_START + "\n")[1:]
    for block, text in zip(run, printed):
        if block.output is not None:
            assert _same(block.output, text), f"{block.id} prints:\n{text}"


@pytest.mark.parametrize("block", examples("shell"))
def test_shell_scripts(block: Block, sandbox: Path) -> None:
    _skip_if_needed(block)
    done = subprocess.run(["bash", "-c", block.text], capture_output=True, text=True,
                          cwd=_folder(block.page, sandbox), env=_environment(), timeout=TIMEOUT, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    if block.output is not None:
        assert _same(block.output, done.stdout), done.stdout


@pytest.mark.parametrize("block", examples("console"))
def test_console(block: Block, sandbox: Path) -> None:
    _skip_if_needed(block)
    status = 0
    for command, want in _commands(block.text):
        status, got = _in_a_terminal(f"(exit {status}); {command}", _folder(block.page, sandbox))
        assert _same(want, got), f"$ {command}\n--- the page shows:\n{want}--- it prints:\n{got}"


def _commands(text: str) -> list[tuple[str, str]]:
    """``($ command, what it prints)`` pairs of a console block (a ``\\`` ends a continued line)."""
    pairs: list[tuple[str, str]] = []
    lines = text.split("\n")[:-1]
    index = 0
    while index < len(lines):
        line = lines[index]
        assert line.startswith("$ "), f"a console block starts each command with '$ ': {line!r}"
        command = line[2:]
        while command.endswith("\\"):
            index += 1
            command = command[:-1] + "\n" + lines[index]
        index += 1
        output = []
        while index < len(lines) and not lines[index].startswith("$ "):
            output.append(lines[index] + "\n")
            index += 1
        pairs.append((command, "".join(output)))
    return pairs


def _in_a_terminal(command: str, folder: Path) -> tuple[int, str]:
    """Run ``command`` with bash in a pseudo-terminal; its status and what the terminal shows."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, COLUMNS, 0, 0))
    child = subprocess.Popen(["bash", "-c", command], stdin=subprocess.DEVNULL, stdout=slave, stderr=slave,
                             cwd=folder, env=_environment())
    os.close(slave)
    shown = bytearray()
    try:
        while select.select([master], [], [], TIMEOUT)[0]:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the terminal's other end is closed
                break
            if not data:
                break
            shown += data
    finally:
        os.close(master)
    status = child.wait(timeout=TIMEOUT)
    text = shown.decode("utf-8").replace("\r\n", "\n")
    return status, re.sub(r"\r[^\n]*?\x1b\[K", "", text)  # a progress line, erased


# ----------------------------------------------------------------------------- all of them
def test_every_example_runs_or_says_why() -> None:
    """No Python or shell example escapes: each is one of the kinds above, or says why not."""
    kinds = {block.kind for block in EXAMPLES}
    assert kinds <= {"doctest", "python", "console", "shell"}
    not_run = {block.id: block.not_run for block in EXAMPLES if block.not_run is not None}
    assert all(reason.strip() for reason in not_run.values())
    installing = [block.id for block in EXAMPLES if "pip install" in block.text and block.kind != "doctest"]
    assert set(installing) <= set(not_run), "a test never installs packages: mark these not run"
    assert len(not_run) <= 6, not_run  # installing packages, the test suite itself: keep it short
    assert len(EXAMPLES) >= 20
