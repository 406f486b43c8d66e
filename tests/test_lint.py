"""The code base passes its linter, formatter, type checker and import contracts (ruff, mypy and
import-linter, all configured in pyproject.toml); CI installs them with the tests."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHECKED = ["mixdesk", "tests", "models", "packaging"]


def _ruff(*args: str) -> subprocess.CompletedProcess:
    if (
        shutil.which("ruff") is None
        and subprocess.run([sys.executable, "-m", "ruff", "--version"], capture_output=True).returncode != 0
    ):
        pytest.skip("ruff is not installed (pip install -e '.[test]' brings it)")
    return subprocess.run(
        [sys.executable, "-m", "ruff", *args, *CHECKED], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def test_ruff_finds_nothing():
    run = _ruff("check")
    assert run.returncode == 0, run.stdout + run.stderr


def test_code_is_formatted():
    run = _ruff("format", "--check")
    assert run.returncode == 0, "run `ruff format` to fix:\n" + run.stdout + run.stderr


def _installed(module: str) -> bool:
    return subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True).returncode == 0


def test_mypy_finds_nothing():
    """Zero errors; the strict flags of the typed packages and the exempt ones are listed in pyproject.toml."""
    if not _installed("mypy"):
        pytest.skip("mypy is not installed (pip install -e '.[test]' brings it)")
    run = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-error-summary"], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_import_contracts_are_kept():
    """The layers, Qt only in the desk, no domain module importing a face, no import cycles (lazy imports count)."""
    if not _installed("importlinter"):
        pytest.skip("import-linter is not installed (pip install -e '.[test]' brings it)")
    code = "import sys; from importlinter.cli import lint_imports; sys.exit(lint_imports(no_cache=True))"
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
