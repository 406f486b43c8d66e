"""The desk's layout: the waveform column gets the room on a large screen and keeps it through resizes,
and on a 1366x768 laptop screen the silence panel's buttons and the pool's columns stay in view."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QRect
from PySide6.QtWidgets import QScrollArea


@pytest.fixture
def window(qtbot, desk_state, small_project):
    from mixdesk.gui.main_window import MainWindow

    win = MainWindow(desk_state)
    qtbot.addWidget(win)
    win.resize(1920, 1080)
    win.show()
    win.actions_.set_project(small_project)
    qtbot.waitUntil(lambda: win.docks["trackView"].width() > 700, timeout=5000)
    yield win
    win.close()


def resize(qtbot, win, width, height):
    win.resize(width, height)
    qtbot.wait(300)  # the layout settles over a few event-loop turns


def fully_shown(widget, area) -> bool:
    """Whether ``widget`` lies wholly inside the visible part of the scroll area ``area``."""
    top_left = widget.mapTo(area.viewport(), widget.rect().topLeft())
    return area.viewport().rect().contains(QRect(top_left, widget.size()))


def test_waveform_column_gets_the_room_at_1920(window):
    track, transition = window.docks["trackView"], window.docks["transitionView"]
    assert track.width() >= 0.42 * 1920
    assert transition.width() == pytest.approx(track.width(), abs=8)
    assert window.docks["poolView"].width() < track.width() > window.docks["playlistView"].width()


def test_resizing_keeps_the_waveform_column_wide(qtbot, window):
    track = window.docks["trackView"]
    resize(qtbot, window, 1366, 768)
    # Never in a scroll area: the waveforms cannot be squeezed behind scroll bars.
    assert not isinstance(track.widget(), QScrollArea)
    assert track.width() >= track.widget().minimumSizeHint().width()
    resize(qtbot, window, 1920, 1080)
    assert track.width() >= 0.42 * 1920  # back to its share, not left at the small size


def test_silence_buttons_and_pool_columns_fit_at_1366(qtbot, window):
    resize(qtbot, window, 1366, 768)
    silence = window.panel("silencePanel")
    area = window.findChild(QScrollArea, "silencePanelScroll")
    for button in (silence.apply_track, silence.apply_all):
        assert fully_shown(button, area), button.text()
    pool = window.panel("poolView")
    assert pool.table.horizontalScrollBar().maximum() == 0  # every column in view
    columns = [pool.model.columns[i].key for i in range(pool.model.columnCount()) if not pool.table.isColumnHidden(i)]
    assert {"track", "index", "length", "wave"} <= set(columns)
