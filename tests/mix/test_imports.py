import subprocess
import sys


def test_mix_modules_import_without_torch_or_qt():
    code = (
        "import sys, pkgutil, importlib, mixdesk.mix as m\n"
        "for info in pkgutil.iter_modules(m.__path__):\n"
        "    importlib.import_module('mixdesk.mix.' + info.name)\n"
        "import mixdesk.cli.mix\n"
        "bad = [n for n in sys.modules if n.split('.')[0] in ('torch', 'PySide6', 'pyqtgraph')]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
