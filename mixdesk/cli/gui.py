"""``mixdesk gui``: open the desk, optionally on a project or the demo, and optionally take a screenshot."""

from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction) -> None:
    gui = sub.add_parser("gui", help="open the desktop application")
    gui.add_argument("--project", metavar="P", help="project file to open (created if missing)")
    gui.add_argument("--demo", action="store_true", help="open the demo project")
    gui.add_argument("--screenshot", metavar="FILE.png",
                     help="save a picture of the window once the pool, a playlist and suggestions show, then quit")
    gui.add_argument("--quit-after-ms", type=int, metavar="N", help="close the window after N milliseconds")
    gui.set_defaults(handler=cmd_gui)


def cmd_gui(args: argparse.Namespace) -> int:
    if args.quit_after_ms is not None and args.quit_after_ms < 0:
        print("mixdesk gui: --quit-after-ms must not be negative", file=sys.stderr)
        return 1
    try:
        from mixdesk.gui.app import run_desk
    except ImportError as exc:
        print(f"mixdesk gui: the desktop needs Qt, which failed to load: {exc}", file=sys.stderr)
        return 1
    return run_desk(project=args.project, demo=args.demo, screenshot=args.screenshot,
                    quit_after_ms=args.quit_after_ms)


def open_desk(args: argparse.Namespace | None = None) -> int:
    """What bare ``mixdesk`` runs: the desk on the last project, or the welcome page."""
    defaults = argparse.Namespace(project=None, demo=False, screenshot=None, quit_after_ms=None)
    for name in vars(defaults):
        if args is not None and getattr(args, name, None) is not None:
            setattr(defaults, name, getattr(args, name))
    return cmd_gui(defaults)
