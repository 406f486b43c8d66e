"""mixdesk: cut music into chunks, learn which chunk follows which, and build a continuous mix.

With no command it opens the desk; every command runs the same functions the desk uses."""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

# Each room registers its own sub-commands; a room that is not installed is simply absent.
_COMMAND_MODULES = ("foundation", "model", "mix", "analysis", "gui")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mixdesk", description=__doc__)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    experiment = sub.add_parser("experiment", help="research measurements on held-out tracks")
    exp_sub = experiment.add_subparsers(dest="experiment", metavar="EXPERIMENT", required=True)
    for name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(f"mixdesk.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"mixdesk.cli.{name}":
                continue
            raise
        module.register(sub)
        if hasattr(module, "register_experiments"):
            module.register_experiments(exp_sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        if "mixdesk.cli.gui" in sys.modules or _has_gui():
            from mixdesk.cli.gui import open_desk

            return open_desk(args)
        parser.print_help()
        return 0
    return int(args.handler(args) or 0)


def _has_gui() -> bool:
    try:
        importlib.import_module("mixdesk.cli.gui")
    except ModuleNotFoundError:
        return False
    return True


if __name__ == "__main__":
    sys.exit(main())
