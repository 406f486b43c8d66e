"""The code base passes its linter (ruff, configured in pyproject.toml); CI installs it with the tests."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_finds_nothing():
    if shutil.which("ruff") is None and subprocess.run([sys.executable, "-m", "ruff", "--version"],
                                                        capture_output=True).returncode != 0:
        pytest.skip("ruff is not installed (pip install -e '.[test]' brings it)")
    run = subprocess.run([sys.executable, "-m", "ruff", "check", "mixdesk", "tests"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
