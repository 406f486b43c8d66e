"""Rules of the code base that keep it livable: Qt stays inside mixdesk/gui, also at run time.

The import contracts (layers, Qt only in the desk, no domain module importing the command line or the
desk, no cycles) are import-linter's, configured in pyproject.toml and run by tests/test_lint.py; the
test here imports every non-desk module for real, which also catches imports made through importlib.
"""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import mixdesk

QT_MODULES = ("PySide6", "pyqtgraph", "shiboken6")


def non_gui_modules() -> list[str]:
    names = []
    for info in pkgutil.walk_packages([str(Path(mixdesk.__file__).parent)], prefix="mixdesk."):
        if info.name.startswith(("mixdesk.gui", "mixdesk.cli.gui")) or info.name == "mixdesk.__main__":
            continue
        names.append(info.name)
    return names


def test_only_the_gui_imports_qt():
    modules = non_gui_modules()
    assert "mixdesk.core.chunking" in modules and "mixdesk.library.project" in modules
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        f"leaked = sorted(m for m in sys.modules if m.split('.')[0] in {QT_MODULES!r})\n"
        "print(','.join(leaked))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "", f"Qt imported outside mixdesk/gui: {proc.stdout.strip()}"


def test_readme_test_command_is_what_ci_runs():
    root = Path(mixdesk.__file__).resolve().parents[1]
    readme = (root / "README.md").read_text()
    assert "<!-- test-command -->" in readme and "python -m pytest" in readme
    assert "README.md" in (root / ".ci" / "run").read_text()
