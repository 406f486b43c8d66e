"""Starting the desk: the QApplication, the window and its event loop, and ``mixdesk gui --screenshot``.

``--screenshot`` (the packaged app's smoke test uses it) saves a picture of the window once the desk has
settled: a project is open and no job has run for a moment. The only thing it does to the desk is select
the first playlist item when none is, so that the suggestions and the transition show; the demo builds
its mix as it always does. Pictures of a desk staged for review (a chunk selected, a playlist generated
where there is none, one picture per panel) are made by ``tests/gui/screens.py``.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QCoreApplication, QSettings, QTimer
from PySide6.QtWidgets import QApplication

from mixdesk.gui.jobs import wait_for_unfinished_jobs
from mixdesk.gui.main_window import MainWindow
from mixdesk.gui.state import DeskState
from mixdesk.gui.theme import apply_theme

log = logging.getLogger(__name__)

POLL_MS = 100
SCREENSHOT_SIZE = (1600, 960)
# The demo's first start synthesises, imports and tracks four tracks and builds a mix: minutes on a slow
# machine. After this long the picture is taken as the desk is, and the run says it is incomplete.
SETTLE_TIMEOUT_S = 300.0
# Polls in a row with a project open and no job running: the waveform strips a first paint asks for are
# drawn by then.
SETTLED_POLLS = 5


def application(argv: list[str] | None = None) -> QApplication:
    app = QCoreApplication.instance()
    if isinstance(app, QApplication):
        return app
    if app is not None:
        raise RuntimeError("the desk needs a QApplication, and another kind of Qt application is running")
    app = QApplication(argv if argv is not None else sys.argv[:1])
    app.setApplicationName("mixdesk")
    app.setOrganizationName("mixdesk")
    app.setDesktopFileName("mixdesk")
    apply_theme(app)
    return app


def grab_when_settled(
    window: MainWindow, path: Path, done: Callable[[bool], None], timeout_s: float = SETTLE_TIMEOUT_S
) -> None:
    """Save a picture of ``window`` at ``path`` once a project is open and no job is running, then call
    ``done(ok)``; ok is False when the desk did not settle within ``timeout_s`` (the picture is still saved
    as the desk was) or the file could not be written. A playlist on show gets its first item selected
    when none is. Polls on the event loop; never blocks it."""
    state = window.state
    deadline = time.monotonic() + timeout_s
    quiet_polls = 0

    def poll() -> None:
        nonlocal quiet_polls
        if state.playlist is not None and len(state.playlist) and state.selected_playlist_item < 0:
            state.select_playlist_item(0)
        settled = state.project is not None and not state.jobs.active()
        quiet_polls = quiet_polls + 1 if settled else 0
        timed_out = time.monotonic() > deadline
        if quiet_polls < SETTLED_POLLS and not timed_out:
            QTimer.singleShot(POLL_MS, poll)
            return
        if timed_out:
            busy = ", ".join(job.name for job in state.jobs.active()) or "no project open"
            log.warning("screenshot taken before the desk settled: %s", busy)
        path.parent.mkdir(parents=True, exist_ok=True)
        saved = window.grab().save(str(path))
        done(saved and not timed_out)

    QTimer.singleShot(0, poll)


def run_desk(
    project: str | None = None,
    demo: bool = False,
    screenshot: str | None = None,
    quit_after_ms: int | None = None,
    settings: QSettings | None = None,
    screenshot_size: tuple[int, int] = SCREENSHOT_SIZE,
) -> int:
    """Open the window and run the event loop; returns the process exit code."""
    started = time.perf_counter()
    app = application()
    state = DeskState(settings)
    window = MainWindow(state)
    window.show()
    log.info("window shown after %.2f s", time.perf_counter() - started)
    outcome = {"code": 0}
    if project:
        if not window.actions_.open_path(project, create=not Path(project).exists()):
            print(f"mixdesk: cannot open {project}: {window.statusBar().currentMessage()}", file=sys.stderr)
            outcome["code"] = 1
            if screenshot:
                window.close()
                return 1
    elif demo:
        window.open_demo()
    else:
        _reopen_last(window)

    def close_later() -> None:
        if quit_after_ms is None:
            window.close()
        else:
            QTimer.singleShot(int(quit_after_ms), window.close)

    if screenshot:
        window.resize_for_screenshot(*screenshot_size)

        def finished(ok: bool) -> None:
            if not ok:
                outcome["code"] = 1
                print(f"mixdesk: screenshot incomplete: {screenshot}", file=sys.stderr)
            # --quit-after-ms counts from the screenshot, so a short delay never cuts the picture off.
            close_later()

        grab_when_settled(window, Path(screenshot), finished)
    elif quit_after_ms is not None:
        close_later()
    app.exec()
    # No QThread may be destroyed while it runs (Qt aborts the process): end every job before returning.
    state.jobs.shutdown(10000)
    wait_for_unfinished_jobs()
    return outcome["code"]


def _reopen_last(window: MainWindow) -> None:
    """Back where the user left off; a first start stays on the welcome page, which offers the demo."""
    recent = window.actions_.recent()
    if recent:
        window.actions_.open_path(recent[0])
