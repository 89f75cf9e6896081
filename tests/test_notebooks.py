"""Every notebook in notebooks/ runs top to bottom without error and is stored without outputs."""

from __future__ import annotations

from pathlib import Path

import pytest

try:
    import ipykernel  # noqa: F401  (the kernel nbclient starts)
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError
except ImportError as exc:  # pragma: no cover - depends on the environment
    pytest.skip(f"notebook tests need nbclient, nbformat and ipykernel (pip install -e '.[test]'): {exc}",
                allow_module_level=True)

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_has_no_stored_outputs(path: Path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    dirty = [i for i, cell in enumerate(nb.cells)
             if cell.cell_type == "code" and (cell.get("outputs") or cell.get("execution_count") is not None)]
    assert not dirty, f"{path.name}: code cells {dirty} have stored outputs; clear them before committing"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(path: Path, tmp_path: Path, monkeypatch):
    if path.name == "eval_report.ipynb":
        # It explores an eval report directory: give it one built from synthetic predictions.
        from eval_fixtures import make_report_dir

        monkeypatch.setenv("AUGKIT_EVAL_REPORT", str(make_report_dir(tmp_path)))
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    try:
        client.execute()
    except CellExecutionError as exc:
        pytest.fail(f"{path.name} failed:\n{exc}", pytrace=False)
    errors = [out for cell in nb.cells if cell.cell_type == "code"
              for out in cell.get("outputs", []) if out.get("output_type") == "error"]
    assert not errors, f"{path.name}: {errors[0]['ename']}: {errors[0]['evalue']}"
