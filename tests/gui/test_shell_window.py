"""The main window: panels by name, job progress and failures in the status bar, settings, drops, CLI."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QDockWidget

from mixdesk.gui.main_window import PANELS, MainWindow
from mixdesk.progress import Progress

PANEL_NAMES = [p.name for p in PANELS]


@pytest.fixture
def window(qtbot, desk_state):
    win = MainWindow(desk_state)
    qtbot.addWidget(win)
    win.show()
    yield win
    win.close()


def test_window_has_every_panel_by_name(window, small_project):
    assert window.welcome.isVisible()
    assert sorted(PANEL_NAMES) == sorted(
        [
            "poolView",
            "trackView",
            "silencePanel",
            "trainingPanel",
            "playlistView",
            "suggestionsView",
            "transitionView",
            "transport",
        ]
    )
    window.actions_.set_project(small_project)
    for name in PANEL_NAMES:
        dock = window.findChild(QDockWidget, name)
        assert dock is not None and window.panel(name).objectName() == name
        assert dock.isAncestorOf(window.panel(name)) and dock.isVisible()
    assert not window.welcome.isVisible()


def test_project_fills_pool_and_hides_welcome(qtbot, window, small_project):
    window.actions_.set_project(small_project)
    assert not window.welcome.isVisible()
    assert window.panel("poolView").proxy.rowCount() == len(small_project.chunks())
    assert small_project.path.name in window.windowTitle()
    assert window.actions_.recent() == [str(small_project.path)]


def test_job_progress_reaches_status_bar_then_failure_message(qtbot, window):
    release = threading.Event()

    def work(on_progress, should_stop):
        on_progress(Progress(3, 10, "reading tracks"))
        release.wait(5)
        raise OSError("disk full while writing chunks")

    job = window.state.jobs.run("Importing", work)
    status = window.job_status
    qtbot.waitUntil(lambda: status.bar.value() == 300, timeout=3000)
    assert status.is_busy() and "reading tracks" in status.label.text()
    release.set()
    qtbot.waitUntil(lambda: job.state == "failed", timeout=3000)
    assert window.statusBar().currentMessage() == "Importing failed: disk full while writing chunks"
    assert not status.is_busy()


def test_cancel_from_status_bar(qtbot, window):
    def work(on_progress, should_stop):
        while not should_stop():
            on_progress(Progress(1, 2, "waiting"))
            threading.Event().wait(0.01)

    job = window.state.jobs.run("Long job", work)
    qtbot.waitUntil(window.job_status.is_busy, timeout=2000)
    window.job_status.cancel.click()
    qtbot.waitUntil(lambda: job.state == "cancelled", timeout=3000)
    assert "stopped" in window.statusBar().currentMessage()


def test_settings_restore_geometry_and_docks(qtbot, desk_settings, qapp, small_project):
    from mixdesk.gui.state import DeskState

    first = MainWindow(DeskState(desk_settings))
    qtbot.addWidget(first)
    first.show()
    first.actions_.set_project(small_project)
    first.resize(760, 640)
    first.docks["suggestionsView"].hide()
    first.close()
    first.state.jobs.shutdown(2000)
    second = MainWindow(DeskState(desk_settings))
    qtbot.addWidget(second)
    second.show()
    assert not second.docks["poolView"].isVisible()  # the welcome page owns the window until a project opens
    second.actions_.open_path(small_project.path)
    assert (second.width(), second.height()) == (760, 640)
    assert not second.docks["suggestionsView"].isVisible()
    assert second.docks["poolView"].isVisible()
    second.reset_layout()
    assert second.docks["suggestionsView"].isVisible()
    second.close()
    second.state.jobs.shutdown(2000)


def test_drop_folder_imports_as_job(qtbot, window, tmp_path, song_folder):
    from mixdesk.library.project import Project

    project = Project.open(tmp_path / "dropped.mixdesk")
    window.actions_.set_project(project)
    assert window.panel("poolView").proxy.rowCount() == 0
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(song_folder))])
    event = QDropEvent(
        QPointF(20, 20), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier
    )
    window.dropEvent(event)
    qtbot.waitUntil(lambda: window.panel("poolView").proxy.rowCount() > 0, timeout=20000)
    assert window.panel("poolView").proxy.rowCount() == len(project.chunks())
    assert window.statusBar().currentMessage().startswith("Imported: 4 added")


def test_save_as_copies_and_opens_the_copy(qtbot, window, small_project, tmp_path):
    window.actions_.set_project(small_project)
    job = window.actions_.save_as(tmp_path / "copy")
    qtbot.waitUntil(
        lambda: window.state.project is not small_project and window.state.project is not None, timeout=10000
    )
    copy = window.state.project
    assert Path(copy.path).name == "copy.mixdesk" and job.state == "finished"
    assert len(copy.chunks()) == len(small_project.chunks())


def test_screenshot_run(qtbot, qapp, tmp_path, small_project, desk_settings):
    from mixdesk.gui.app import run_desk

    shot = tmp_path / "desk.png"
    path = str(small_project.path)
    code = run_desk(project=path, screenshot=str(shot), quit_after_ms=50, settings=desk_settings)
    assert shot.is_file() and shot.stat().st_size > 20000
    assert code in (0, 1)  # 1 only says the playlist could not be generated without a model


def test_staged_screenshot_fills_the_panels_first(qtbot, window, small_project, tmp_path):
    """The review tool (tests/gui/screens.py): a chunk selected, a playlist, suggestions, then pictures."""
    from panel_fixtures import NextInTrackScorer
    from screens import StagedShot

    window.resize(1600, 960)
    window.actions_.set_project(small_project)
    window.state.set_scorer(NextInTrackScorer(small_project))
    outcome = []
    shot, panels = tmp_path / "desk.png", tmp_path / "panels"
    StagedShot(window, shot, outcome.append, panels).start()
    qtbot.waitUntil(lambda: bool(outcome), timeout=120000)
    assert outcome == [True]
    assert shot.is_file() and shot.stat().st_size > 20000
    assert window.state.playlist is not None and window.state.selected_playlist_item == 0
    assert window.suggestions_view.model.rowCount() > 0
    assert {p.stem for p in panels.glob("*.png")} >= {"poolView", "trackView", "playlistView", "suggestionsView"}


def test_headless_demo_run_saves_a_screenshot_and_exits_cleanly(tmp_path):
    import os
    import subprocess
    import sys

    shot = tmp_path / "demo.png"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    proc = subprocess.run(
        [sys.executable, "-m", "mixdesk", "gui", "--demo", "--screenshot", str(shot), "--quit-after-ms", "20"],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert shot.is_file() and shot.stat().st_size > 50000
    # Closing right after start must not leave a job thread running into interpreter exit (Qt aborts then).
    quick = subprocess.run(
        [sys.executable, "-m", "mixdesk", "gui", "--demo", "--quit-after-ms", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert quick.returncode == 0 and "Destroyed while thread" not in quick.stderr


def test_cli_registers_gui_command(monkeypatch):
    import mixdesk.gui.app as app_module
    from mixdesk.cli import build_parser
    from mixdesk.cli.gui import open_desk

    args = build_parser().parse_args(["gui", "--project", "p.mixdesk", "--screenshot", "s.png", "--quit-after-ms", "5"])
    calls = []
    monkeypatch.setattr(app_module, "run_desk", lambda **kw: calls.append(kw) or 0)
    assert args.handler(args) == 0
    assert calls[-1] == {"project": "p.mixdesk", "demo": False, "screenshot": "s.png", "quit_after_ms": 5}
    assert open_desk(None) == 0
    assert calls[-1]["project"] is None and calls[-1]["screenshot"] is None


def test_training_panel_is_built_lazily(qtbot, window):
    assert window.panels["trainingPanel"] is None
    window._prefetch_lazy_panels()
    qtbot.waitUntil(lambda: window.panels["trainingPanel"] is not None, timeout=60000)
    assert window.docks["trainingPanel"].isAncestorOf(window.panel("trainingPanel"))
