"""The installed wheel carries the package data, and every command has help."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from augkit.cli import cli

REPO = Path(__file__).resolve().parents[1]


def test_wheel_contains_package_data(tmp_path):
    pytest.importorskip("setuptools")
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", str(REPO), "--no-deps", "--no-build-isolation",
                             "-q", "-w", str(tmp_path)], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"cannot build a wheel here: {result.stderr.strip().splitlines()[-1:]}")
    [wheel] = tmp_path.glob("augkit-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"augkit/recipes/strong.yaml", "augkit/recipes/weak.yaml", "augkit/samples/labels.txt",
            "augkit/labels/mrz_dict.txt", "augkit/labels/en_dict.txt", "augkit/labels/korean_dict.txt",
            "augkit/paddle_configs/rec_crnn_mrz.yml", "augkit/paddle_configs/rec_svtr_lcnet_bz.yml",
            "augkit/paddle_configs/rec_crnn_korean.yml", "augkit/paddle_configs/det_db_mv3.yml"} <= names
    assert {"augkit/synth/font_files/OCRB.otf", "augkit/synth/font_files/README.md", "augkit/synth/data/countries.tsv",
            "augkit/synth/data/people.yaml", "augkit/synth/data/korean_surnames.tsv",
            "augkit/synth/data/korean_given_names.tsv", "augkit/synth/data/README.md"} <= names
    # Every module of the source tree is in the wheel (a new package left out of pyproject's list
    # would import in a checkout and fail once installed).
    modules = {p.relative_to(REPO).as_posix() for p in (REPO / "augkit").rglob("*.py")}
    assert modules <= names, sorted(modules - names)[:5]
    labels = (REPO / "augkit" / "samples" / "labels.txt").read_text(encoding="utf-8").splitlines()
    for line in labels:
        assert f"augkit/samples/{line.split(chr(9))[0]}" in names


@pytest.mark.parametrize("command", [[], ["generate"], ["preview"], ["labels"], ["labels", "check"], ["labels", "stats"], ["labels", "split"], ["config"], ["synth"]])
def test_every_command_has_help(command):
    result = CliRunner().invoke(cli, [*command, "--help"])
    assert result.exit_code == 0 and "Usage:" in result.output and len(result.output) > 200


def test_python_dash_m_runs():
    result = subprocess.run([sys.executable, "-m", "augkit", "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and "augkit" in result.stdout


def test_an_unbuilt_source_tree_says_so(tmp_path):
    # A copy of the source tree without compiled kernels, imported from its own root (as
    # `python -m augkit` does there): the error names the cause and the two ways out.
    import shutil

    import augkit

    if Path(augkit.__file__).resolve().parent == REPO / "augkit":
        pytest.skip("augkit is imported from this tree itself (an editable install), not from an installed copy")
    tree = tmp_path / "checkout"
    shutil.copytree(REPO / "augkit", tree / "augkit", ignore=shutil.ignore_patterns("*.so", "*.pyd", "__pycache__"))
    shutil.copy(REPO / "setup.py", tree / "setup.py")
    result = subprocess.run([sys.executable, "-c", "import augkit.kernels"], cwd=tree, capture_output=True, text=True)
    assert result.returncode != 0
    message = result.stderr.strip().splitlines()[-1]
    assert "compiled kernels" in message and "source tree" in message and "pip install -e ." in message
