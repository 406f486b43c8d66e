"""Undo and redo on the desk: playlist edits and re-cuts step back and forth, saved as they go."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction

from panel_fixtures import playlist_of


@pytest.fixture
def window(qtbot, desk_state, small_project):
    from mixdesk.gui.main_window import MainWindow

    win = MainWindow(desk_state)
    qtbot.addWidget(win)
    win.show()
    win.activateWindow()
    qtbot.waitActive(win)  # shortcuts only reach the active window
    win.actions_.set_project(small_project)
    ids = [c.id for c in small_project.chunks()][:5]
    desk_state.set_playlist(playlist_of(small_project, ids))
    yield win
    win.close()


def action(win, name: str) -> QAction:
    return win.findChild(QAction, name)


def saved_ids(state) -> list[int]:
    return [item["chunk_id"] for item in state.project.load_playlist(state.playlist.name)["items"]]


def test_delete_is_undone_and_redone_with_the_keys(qtbot, window, desk_state):
    undo, redo = action(window, "undo"), action(window, "redo")
    assert desk_state.undo_stack.count() == 0  # a loaded playlist is no step
    assert not undo.isEnabled() and not redo.isEnabled()
    ids = desk_state.playlist.chunk_ids
    playlist = window.panel("playlistView")
    playlist.select_row(1)
    qtbot.keyClick(playlist.table, Qt.Key_Delete)
    assert desk_state.playlist.chunk_ids == ids[:1] + ids[2:]
    assert undo.isEnabled() and undo.text().replace("&", "") == "Undo delete item 2"

    qtbot.keyClick(playlist.table, Qt.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert desk_state.playlist.chunk_ids == ids
    assert saved_ids(desk_state) == ids
    assert playlist.model.rowCount() == len(ids)
    assert not undo.isEnabled() and redo.text().replace("&", "") == "Redo delete item 2"

    qtbot.keyClick(playlist.table, Qt.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert desk_state.playlist.chunk_ids == ids[:1] + ids[2:]
    assert saved_ids(desk_state) == desk_state.playlist.chunk_ids
    assert undo.isEnabled() and not redo.isEnabled()


def test_a_dragged_crossfade_is_one_step(qtbot, window, desk_state):
    transition = window.panel("transitionView")
    desk_state.select_playlist_item(0)
    qtbot.waitUntil(lambda: transition.row == 0, timeout=5000)
    assert not transition.in_beats
    steps = desk_state.undo_stack.count()
    for ms in (600, 900, 1200, 1500):
        transition.crossfade_slider.setValue(ms)
        qtbot.waitUntil(lambda: desk_state.playlist.items[0].transition.length_ms == ms, timeout=3000)
    assert desk_state.undo_stack.count() == steps + 1
    assert action(window, "undo").text().replace("&", "") == "Undo crossfade after item 1"
    desk_state.undo_stack.undo()
    assert desk_state.playlist.items[0].transition.length_ms == 400
    assert desk_state.project.load_playlist(desk_state.playlist.name)["items"][0]["transition"]["length_ms"] == 400
    qtbot.waitUntil(lambda: transition.crossfade_spin.value() == 400, timeout=3000)
    # A crossfade elsewhere is a step of its own.
    desk_state.undo_stack.redo()
    desk_state.select_playlist_item(2)
    qtbot.waitUntil(lambda: transition.row == 2, timeout=5000)
    transition.set_crossfade_ms(700)
    assert desk_state.undo_stack.count() == steps + 2


def test_undone_recut_restores_the_chunks_and_the_playlist(qtbot, window, desk_state, small_project):
    silence = window.panel("silencePanel")
    track_id = small_project.tracks()[0].id
    ids = [c.id for c in small_project.chunks(track_id)][:3]
    desk_state.set_playlist(playlist_of(small_project, ids))
    before_items = desk_state.playlist.items
    cut_before = small_project.cuts([track_id])
    desk_state.select_track(track_id)
    qtbot.waitUntil(lambda: track_id in silence.envelopes, timeout=10000)
    silence.mode.setCurrentIndex(silence.mode.findData("fixed"))
    silence.fixed_length.setValue(1.0)
    silence.min_chunk.setValue(0)
    silence.max_chunk.setValue(0)
    with qtbot.waitSignal(desk_state.playlist_changed, timeout=15000):
        silence.apply_track.click()
    qtbot.waitUntil(silence.apply_track.isEnabled, timeout=5000)
    cut_after = small_project.cuts([track_id])
    assert cut_after != cut_before
    assert action(window, "undo").text().replace("&", "").startswith("Undo re-cut song")

    desk_state.undo_stack.undo()
    assert small_project.cuts([track_id]) == cut_before
    assert not set(ids) & {c.id for c in small_project.chunks()}  # restored chunks get new ids
    chunks = {c.id: c for c in small_project.chunks()}
    items = desk_state.playlist.items
    assert [(i.in_ms, i.out_ms) for i in items] == [(i.in_ms, i.out_ms) for i in before_items]
    assert all((chunks[i.chunk_id].start_ms, chunks[i.chunk_id].end_ms) == (i.in_ms, i.out_ms) for i in items)
    assert saved_ids(desk_state) == desk_state.playlist.chunk_ids
    assert window.panel("poolView").proxy.rowCount() == len(chunks)

    desk_state.undo_stack.redo()
    assert small_project.cuts([track_id]) == cut_after
    assert all(i.chunk_id in {c.id for c in small_project.chunks()} for i in desk_state.playlist.items)


def test_opening_another_project_empties_the_stack(qtbot, window, desk_state, tmp_path):
    from mixdesk.library.project import Project

    window.panel("playlistView").model.toggle_locks([0, 1])
    assert action(window, "undo").text().replace("&", "") == "Undo lock 2 items"
    window.actions_.set_project(Project.open(tmp_path / "other.mixdesk"))
    assert desk_state.undo_stack.count() == 0
    assert not action(window, "undo").isEnabled()


def test_undoing_the_first_mix_leaves_the_project_without_one(desk_state, small_project):
    desk_state.set_project(small_project)
    mix = playlist_of(small_project, [c.id for c in small_project.chunks()][:3])
    desk_state.edit_playlist(mix, "generate the mix")
    assert small_project.playlists() == [mix.name]
    desk_state.undo_stack.undo()
    assert desk_state.playlist is None and small_project.playlists() == []
    desk_state.undo_stack.redo()
    assert desk_state.playlist == mix and saved_ids(desk_state) == mix.chunk_ids
