"""``mixdesk gui``: open the desk, optionally on a project or the demo, and optionally take a screenshot."""

from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction) -> None:
    gui = sub.add_parser("gui", help="open the desktop application")
    gui.add_argument("--project", metavar="P", help="project file to open (created if missing)")
    gui.add_argument("--demo", action="store_true", help="open the demo project")
    gui.add_argument(
        "--screenshot",
        metavar="FILE.png",
        help="save a picture of the window once the pool, a playlist and suggestions show, then quit",
    )
    gui.add_argument("--size", type=_size, metavar="WxH", help="window size for --screenshot, e.g. 1366x768")
    gui.add_argument("--quit-after-ms", type=int, metavar="N", help="close the window after N milliseconds")
    gui.set_defaults(handler=cmd_gui)


def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size such as 1366x768") from None
    if not (320 <= width <= 10000 and 240 <= height <= 10000):
        raise argparse.ArgumentTypeError(f"{text!r} is outside 320x240 to 10000x10000")
    return width, height


def cmd_gui(args: argparse.Namespace) -> int:
    if args.quit_after_ms is not None and args.quit_after_ms < 0:
        print("mixdesk gui: --quit-after-ms must not be negative", file=sys.stderr)
        return 1
    try:
        from mixdesk.gui.app import run_desk
    except ImportError as exc:
        print(f"mixdesk gui: the desktop needs Qt, which failed to load: {exc}", file=sys.stderr)
        return 1
    size = getattr(args, "size", None)
    extra = {"screenshot_size": size} if size is not None else {}
    return run_desk(
        project=args.project, demo=args.demo, screenshot=args.screenshot, quit_after_ms=args.quit_after_ms, **extra
    )


def open_desk(args: argparse.Namespace | None = None) -> int:
    """What bare ``mixdesk`` runs: the desk on the last project, or the welcome page."""
    defaults = argparse.Namespace(project=None, demo=False, screenshot=None, quit_after_ms=None)
    for name in vars(defaults):
        if args is not None and getattr(args, name, None) is not None:
            setattr(defaults, name, getattr(args, name))
    return cmd_gui(defaults)
