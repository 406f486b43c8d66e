"""The welcome page says what the demo does and how long it takes, shows its progress, and the demo
ends with a mix in the playlist."""

from __future__ import annotations

import threading

import pytest

from mixdesk.progress import Progress


@pytest.fixture
def window(qtbot, desk_state):
    from mixdesk.gui.main_window import MainWindow

    win = MainWindow(desk_state)
    qtbot.addWidget(win)
    win.show()
    yield win
    win.close()


def test_welcome_text_says_what_the_demo_does_and_how_long(window):
    note = window.welcome.demo_note.text()
    assert "builds a 5-minute mix" in note and "seconds" in note and "first time" in note
    assert "a model and a mix" not in note


def test_demo_shows_its_progress_then_opens_with_a_mix(qtbot, window, desk_state, small_project, monkeypatch):
    import mixdesk.library.demo as demo

    release = threading.Event()

    def slow_demo(on_progress=None, should_stop=None):
        on_progress(Progress(2, 5, "importing tracks"))
        release.wait(10)
        return small_project

    monkeypatch.setattr(demo, "open_demo_project", slow_demo)
    welcome = window.welcome
    welcome.demo_button.click()
    qtbot.waitUntil(lambda: welcome.demo_progress.value() == 400, timeout=5000)
    assert welcome.demo_progress.isVisible() and not welcome.demo_button.isEnabled()
    assert welcome.demo_step.text() == "Preparing the demo: importing tracks"
    release.set()
    qtbot.waitUntil(lambda: desk_state.project is small_project, timeout=10000)
    assert not welcome.isVisible()
    # The mix is built without a click, with its progress in the playlist panel.
    playlist_view = window.panel("playlistView")
    assert playlist_view.progress_bar.isVisible()
    qtbot.waitUntil(lambda: desk_state.playlist is not None and len(desk_state.playlist) > 0, timeout=60000)
    assert playlist_view.model.rowCount() == len(desk_state.playlist)


def test_demo_failure_is_said_on_the_page(qtbot, window, monkeypatch):
    import mixdesk.library.demo as demo

    def broken(on_progress=None, should_stop=None):
        raise KeyError(7)

    monkeypatch.setattr(demo, "open_demo_project", broken)
    window.welcome.demo_button.click()
    step = window.welcome.demo_step
    qtbot.waitUntil(lambda: step.text().startswith("The demo could not be prepared"), timeout=5000)
    assert "KeyError" not in step.text() and window.welcome.demo_button.isEnabled()
