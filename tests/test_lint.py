"""The code base passes its linter and formatter (ruff, configured in pyproject.toml); CI installs ruff
with the tests."""

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
