"""Starting the desk: the QApplication, the window, and the scripted screenshot used by checks."""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication

from mixdesk.gui.jobs import wait_for_unfinished_jobs
from mixdesk.gui.main_window import MainWindow
from mixdesk.gui.state import DeskState
from mixdesk.gui.theme import apply_theme

log = logging.getLogger(__name__)

POLL_MS = 100
SCREENSHOT_SIZE = (1600, 960)


def application(argv: list[str] | None = None) -> QApplication:
    app = QApplication.instance()
    if app is None:
        app = QApplication(argv if argv is not None else sys.argv[:1])
        app.setApplicationName("mixdesk")
        app.setOrganizationName("mixdesk")
        app.setDesktopFileName("mixdesk")
        apply_theme(app)
    return app


def _wait_for(
    condition: Callable[[], bool],
    then: Callable[[], None],
    timeout_s: float,
    on_timeout: Callable[[], None] | None = None,
) -> None:
    """Poll ``condition`` on the event loop; never blocks it."""
    deadline = time.monotonic() + timeout_s

    def poll() -> None:
        if condition():
            then()
        elif time.monotonic() > deadline:
            (on_timeout or then)()
        else:
            QTimer.singleShot(POLL_MS, poll)

    QTimer.singleShot(0, poll)


class ScreenshotScript:
    """Open → pool filled → a chunk selected → a playlist generated → its first item selected → grab → quit.

    Each step waits without blocking and gives up after a while, so a panel that cannot do its part
    (no model, no mix module) still leaves a screenshot of everything else.
    """

    def __init__(self, window: MainWindow, path: Path, done: Callable[[bool], None]) -> None:
        self.window, self.path, self.done = window, Path(path), done
        self.state = window.state
        # Set MIXDESK_PANEL_SHOTS to a folder to also get one picture per panel.
        folder = os.environ.get("MIXDESK_PANEL_SHOTS")
        self.panel_folder = Path(folder) if folder else None

    def start(self) -> None:
        _wait_for(lambda: self.state.project is not None, self._pool_ready, 180, lambda: self._grab("no project"))

    def _pool_ready(self) -> None:
        pool = self.window.panel("poolView")
        _wait_for(lambda: pool.proxy.rowCount() > 0, self._select_chunk, 30)

    def _select_chunk(self) -> None:
        pool = self.window.panel("poolView")
        if pool.proxy.rowCount() > 2:
            pool.table.selectRow(2)
        playlist = self.window.panel("playlistView")
        if self.state.playlist is None and hasattr(playlist, "generate"):
            try:
                playlist.generate()
            except Exception:  # noqa: BLE001 - the screenshot still shows the rest of the desk
                log.warning("could not generate a playlist for the screenshot", exc_info=True)
        _wait_for(self._playlist_settled, self._ensure_scorer, 120)

    def _playlist_settled(self) -> bool:
        playlist = self.state.playlist
        has_items = playlist is not None and len(getattr(playlist, "items", []) or []) > 0
        busy = any(job.name not in ("Waveforms",) for job in self.state.jobs.active())
        return has_items or not busy and self._elapsed_enough()

    def _elapsed_enough(self) -> bool:
        self._ticks = getattr(self, "_ticks", 0) + 1
        return self._ticks > 20

    def _ensure_scorer(self) -> None:
        """A playlist reopened from the project has no scorer yet; suggestions need one."""
        if self.state.scorer is not None or self.state.project is None:
            self._select_item()
            return
        try:
            from mixdesk.gui.mix_calls import default_scorer
        except ImportError:
            self._select_item()
            return
        project = self.state.project
        job = self.state.jobs.run(
            "Loading the model", lambda on_progress, should_stop: default_scorer(project, on_progress, should_stop)
        )
        job.finished.connect(self.state.set_scorer)
        for signal in (job.finished, job.failed, job.cancelled):
            signal.connect(lambda *_args: self._select_item())

    def _select_item(self) -> None:
        if self.state.playlist is not None and len(getattr(self.state.playlist, "items", []) or []) > 1:
            self.state.select_playlist_item(0)
        _wait_for(lambda: not self.state.jobs.active(), lambda: QTimer.singleShot(400, lambda: self._grab("")), 60)

    def _grab(self, problem: str) -> None:
        if problem:
            log.warning("screenshot taken early: %s", problem)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        ok = self.window.grab().save(str(self.path))
        if self.panel_folder is not None:
            save_panel_shots(self.window, self.panel_folder)
        self.done(ok and not problem)


def save_panel_shots(window: MainWindow, folder: Path) -> list[Path]:
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
                QApplication.processEvents()
                time.sleep(0.01)
        path = folder / f"{name}.png"
        dock.grab().save(str(path))
        saved.append(path)
        if hidden_tab:
            for other in window.tabifiedDockWidgets(dock):
                other.raise_()
    return saved


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
    close_later = (lambda: QTimer.singleShot(int(quit_after_ms), window.close)) if quit_after_ms is not None else None
    if screenshot:
        window.resize_for_screenshot(*screenshot_size)

        def finished(ok: bool) -> None:
            if not ok:
                outcome["code"] = 1
                print(f"mixdesk: screenshot incomplete: {screenshot}", file=sys.stderr)
            # --quit-after-ms counts from the screenshot, so a short delay never cuts the picture off.
            (close_later or window.close)()

        ScreenshotScript(window, Path(screenshot), finished).start()
    elif close_later is not None:
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
