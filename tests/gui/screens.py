"""Pictures of a staged desk for review: a chunk selected, a playlist generated, suggestions shown.

``mixdesk gui --screenshot`` only waits for the desk to settle; this tool also puts something in every
panel first, and can save one picture per panel. Tests use :class:`StagedShot`; from the command line::

    QT_QPA_PLATFORM=offscreen python tests/gui/screens.py --demo desk.png [--panels DIR] [--size 1366x768]
    QT_QPA_PLATFORM=offscreen python tests/gui/screens.py --project house.mixdesk desk.png
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QTimer
from PySide6.QtTest import QTest

log = logging.getLogger(__name__)

POLL_MS = 100
QUIET_POLLS = 5  # polls in a row without a running job before the picture: views start theirs on timers


def wait_for(condition: Callable[[], bool], then: Callable[[], None], timeout_s: float) -> None:
    """Call ``then`` once ``condition`` holds or ``timeout_s`` has passed; polls on the event loop."""
    deadline = time.monotonic() + timeout_s

    def poll() -> None:
        if condition() or time.monotonic() > deadline:
            then()
        else:
            QTimer.singleShot(POLL_MS, poll)

    QTimer.singleShot(0, poll)


def wait_until_quiet(state, then: Callable[[], None], timeout_s: float) -> None:
    """Call ``then`` once no job has run for ``QUIET_POLLS`` polls in a row, or after ``timeout_s``."""
    quiet = 0

    def settled() -> bool:
        nonlocal quiet
        quiet = 0 if state.jobs.active() else quiet + 1
        return quiet >= QUIET_POLLS

    wait_for(settled, then, timeout_s)


class StagedShot:
    """Project open → a chunk selected → a playlist (generated when there is none) → a scorer → its first
    item selected → every job done → picture (and one per panel with ``panel_folder``) → ``done(ok)``.

    ``ok`` is False when a step gave up waiting; the picture is taken all the same.
    """

    def __init__(self, window, path: Path, done: Callable[[bool], None], panel_folder: Path | None = None) -> None:
        self.window, self.state = window, window.state
        self.path, self.done, self.panel_folder = Path(path), done, panel_folder
        self.problems: list[str] = []

    def start(self) -> None:
        wait_for(lambda: self.state.project is not None, self._project_open, 180)

    def _project_open(self) -> None:
        if self.state.project is None:
            self._grab("no project opened")
            return
        pool = self.window.pool_view
        wait_for(lambda: pool.proxy.rowCount() > 0, self._select_chunk, 30)

    def _select_chunk(self) -> None:
        pool = self.window.pool_view
        if pool.proxy.rowCount() > 2:
            pool.table.selectRow(2)
        if self.state.playlist is None:
            self.window.playlist_view.generate()
        wait_for(self._playlist_done, self._ensure_scorer, 180)

    def _playlist_done(self) -> bool:
        job = self.window.playlist_view.job
        return self.state.playlist is not None or (job is not None and not job.is_running())

    def _ensure_scorer(self) -> None:
        """A playlist reopened from the project has no scorer yet; the suggestions need one."""
        if self.state.playlist is None:
            self.problems.append("no playlist")
        if self.state.scorer is not None or self.state.project is None:
            self._select_item()
            return
        from mixdesk.gui.mix_calls import default_scorer

        project = self.state.project
        job = self.state.jobs.run("Loading the model", lambda p, s: default_scorer(project, p, s))
        job.finished.connect(self.state.set_scorer)
        for signal in (job.finished, job.failed, job.cancelled):
            signal.connect(lambda *_args: self._select_item())

    def _select_item(self) -> None:
        if self.state.playlist is not None and len(self.state.playlist) > 1:
            self.state.select_playlist_item(0)
        wait_until_quiet(self.state, self._grab, 120)

    def _grab(self, problem: str = "") -> None:
        if problem:
            self.problems.append(problem)
        if self.state.jobs.active():
            self.problems.append("jobs still running: " + ", ".join(j.name for j in self.state.jobs.active()))
        for problem in self.problems:
            log.warning("staged screenshot: %s", problem)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        ok = self.window.grab().save(str(self.path))
        if self.panel_folder is not None:
            save_panel_shots(self.window, self.panel_folder)
        self.done(ok and not self.problems)


def save_panel_shots(window, folder: Path) -> list[Path]:
    """One PNG per visible panel, named by its objectName, for reviewing each panel on its own."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    saved = []
    for name, dock in window.docks.items():
        if dock.isHidden():
            continue
        hidden_tab = bool(window.tabifiedDockWidgets(dock)) and dock.visibleRegion().isEmpty()
        if hidden_tab:
            dock.raise_()
            deadline = time.monotonic() + 2.0
            while dock.visibleRegion().isEmpty() and time.monotonic() < deadline:
                QTest.qWait(10)
        path = folder / f"{name}.png"
        dock.grab().save(str(path))
        saved.append(path)
        if hidden_tab:
            for other in window.tabifiedDockWidgets(dock):
                other.raise_()
    return saved


def _size(text: str) -> tuple[int, int]:
    width, height = (int(part) for part in text.lower().split("x"))
    return width, height


def main(argv: list[str] | None = None) -> int:
    from mixdesk.gui.app import SCREENSHOT_SIZE, application
    from mixdesk.gui.main_window import MainWindow
    from mixdesk.gui.state import DeskState

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--demo", action="store_true", help="open the demo project")
    where.add_argument("--project", type=Path, help="project file to open")
    parser.add_argument("out", type=Path, help="where the picture of the window goes (PNG)")
    parser.add_argument("--panels", type=Path, help="folder for one picture per panel")
    parser.add_argument("--size", type=_size, default=SCREENSHOT_SIZE, help="window size, e.g. 1366x768")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    app = application()
    window = MainWindow(DeskState())
    window.show()
    if args.demo:
        window.open_demo()
    elif not window.actions_.open_path(args.project):
        print(f"cannot open {args.project}: {window.statusBar().currentMessage()}", file=sys.stderr)
        return 1
    window.resize_for_screenshot(*args.size)
    result = {"ok": False}

    def done(ok: bool) -> None:
        result["ok"] = ok
        window.close()

    StagedShot(window, args.out, done, args.panels).start()
    app.exec()
    window.state.jobs.shutdown(10000)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
