"""The example notebook runs from top to bottom: a cell that raises fails the test."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
NOTEBOOK = EXAMPLES / "notebook.ipynb"


def run(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Execute every cell in a fresh kernel, in examples/ (where the notebook reads its events)."""
    NotebookClient(notebook, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(EXAMPLES)}}).execute()
    return notebook


def outputs(notebook: nbformat.NotebookNode) -> str:
    return "\n".join(str(output.get("text", "")) + str(output.get("data", {}).get("text/plain", ""))
                     for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs)


def test_example_notebook_runs() -> None:
    notebook = run(nbformat.read(NOTEBOOK, as_version=4))
    shown = outputs(notebook)
    assert "Execution via MSSQL xp_cmdshell Stored Procedure" in shown
    displayed = [cell.outputs[0] for cell in notebook.cells
                 if cell.cell_type == "code" and cell.source.splitlines()[-1] in ("query", "rule") and cell.outputs]
    assert len(displayed) == 2 and all("text/html" in output.data for output in displayed)  # Jupyter's views
    assert "Account discovery from a SQL Server shell" in shown
    assert "Traceback" not in shown and "Error" not in shown


def test_a_failing_cell_fails_the_run() -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    notebook.cells.insert(2, nbformat.v4.new_code_cell("query.filter(df)  # before `query` is defined"))
    with pytest.raises(CellExecutionError, match="NameError"):
        run(notebook)


def test_notebooks_page_examples_run_as_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    """docs/notebooks.md: each Python block runs (in examples/, one namespace for the page);
    a ```text block right after one is what it prints."""
    page = (EXAMPLES.parent / "docs" / "notebooks.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```(?:\s*```text\n(.*?)```)?", page, re.S)
    assert len(blocks) >= 5
    monkeypatch.chdir(EXAMPLES)
    namespace: dict[str, object] = {}
    for code, shown in blocks:
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(code, namespace)  # noqa: S102 - the page's own examples
        if shown:
            assert printed.getvalue() == shown, code
