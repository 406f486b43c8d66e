"""The playlist panel: Generate fills rows, edits reorder/delete/lock and are saved in the project."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QModelIndex, Qt

from mixdesk.gui.playlist_model import COL_LOCK, COL_SCORE
from panel_fixtures import NextInTrackScorer, playlist_of, shared_project  # noqa: F401 - fixture


@pytest.fixture
def desk(desk_state, shared_project):
    desk_state.set_project(shared_project)
    desk_state.set_scorer(NextInTrackScorer(shared_project))
    return desk_state


@pytest.fixture
def view(qtbot, desk):
    from mixdesk.gui.playlist_view import PlaylistView

    widget = PlaylistView(desk)
    qtbot.addWidget(widget)
    widget.resize(800, 500)
    return widget


def test_generate_fills_rows_and_saves(qtbot, desk, view):
    view.minutes_spin.setValue(1.0)
    view.seed_spin.setValue(3)
    view.generate()
    assert not view.generate_button.isEnabled()
    qtbot.waitUntil(lambda: view.model.rowCount() > 0, timeout=10000)
    playlist = desk.playlist
    assert view.model.rowCount() == len(playlist.items) >= 3
    assert abs(playlist.duration_ms - 60_000) < 25_000
    assert view.generate_button.isEnabled()
    assert desk.selected_playlist_item == 0
    saved = desk.project.load_playlist(playlist.name)
    assert [i["chunk_id"] for i in saved["items"]] == playlist.chunk_ids
    # The source column names the track and the chunk's place in it; the score shows from row 2 on.
    source = view.model.index(1, 1).data()
    assert "#" in source and "song" in source
    assert view.model.index(1, COL_SCORE).data() not in ("", "—")
    assert f"{len(playlist.items)} items" in view.summary.text()


def test_move_delete_and_lock_edit_the_saved_playlist(qtbot, desk, view):
    ids = [c.id for c in desk.project.chunks()][:5]
    desk.set_playlist(playlist_of(desk.project, ids))
    assert view.model.rowCount() == 5

    assert view.model.move_row(0, 3)
    assert desk.playlist.chunk_ids == [ids[1], ids[2], ids[0], ids[3], ids[4]]
    # Items with a new predecessor are scored again; the others keep their scores.
    scores = [item.score for item in desk.playlist.items]
    scorer = desk.scorer
    assert scores[0] is None and scores[1] == 0.5 and scores[4] == 0.5
    assert scores[2] == pytest.approx(float(scorer.successor_scores(ids[2], [ids[0]])[0]))
    assert scores[3] == pytest.approx(float(scorer.successor_scores(ids[0], [ids[3]])[0]))
    assert view.model.index(2, COL_SCORE).data() == f"{scores[2]:.3f}"

    view.show()
    view.select_row(2)
    view.table.setFocus()
    qtbot.keyClick(view.table, Qt.Key_Delete)
    assert desk.playlist.chunk_ids == [ids[1], ids[2], ids[3], ids[4]]

    lock_index = view.model.index(1, COL_LOCK)
    assert view.model.setData(lock_index, Qt.Checked.value, Qt.CheckStateRole)
    assert desk.playlist.items[1].locked
    assert lock_index.data(Qt.CheckStateRole) == Qt.Checked
    saved = desk.project.load_playlist("test")
    assert [i["chunk_id"] for i in saved["items"]] == desk.playlist.chunk_ids
    assert saved["items"][1]["locked"] is True


def test_drop_moves_a_row_without_losing_it(desk, view):
    ids = [c.id for c in desk.project.chunks()][:4]
    desk.set_playlist(playlist_of(desk.project, ids))
    mime = view.model.mimeData([view.model.index(3, 0)])
    accepted = view.model.dropMimeData(mime, Qt.MoveAction, 0, 0, QModelIndex())
    # The model moves the row itself and refuses the view's follow-up removal.
    assert accepted is False
    assert desk.playlist.chunk_ids == [ids[3], ids[0], ids[1], ids[2]]


def test_regenerate_from_here_keeps_head_and_locked_items(qtbot, desk, view):
    view.minutes_spin.setValue(1.0)
    view.generate()
    qtbot.waitUntil(lambda: view.model.rowCount() > 4, timeout=10000)
    view.model.set_locked(view.model.rowCount() - 1, True)
    before = desk.playlist
    locked_id = before.items[-1].chunk_id
    view.seed_spin.setValue(99)
    view.strategy_combo.setCurrentIndex(view.strategy_combo.findData("sample"))
    view.regenerate_from(2)
    qtbot.waitUntil(
        lambda: desk.playlist is not None and desk.playlist is not before and view.generate_button.isEnabled(),
        timeout=10000,
    )
    after = desk.playlist
    assert after.chunk_ids[:2] == before.chunk_ids[:2]
    # the same chunk may also appear earlier, further back than the repeat window; the kept one is locked
    assert [it.chunk_id for it in after.items if it.locked] == [locked_id]


def test_reopening_the_project_restores_the_last_playlist(qtbot, small_project, desk_settings):
    from mixdesk.gui.playlist_view import PlaylistView
    from mixdesk.gui.state import DeskState

    ids = [c.id for c in small_project.chunks()][2:6]
    playlist_of(small_project, ids).with_locked([0]).save(small_project)
    fresh = DeskState(desk_settings)
    view = PlaylistView(fresh)
    qtbot.addWidget(view)
    fresh.set_project(small_project)
    assert fresh.playlist.chunk_ids == ids and fresh.playlist.items[0].locked
    assert view.model.rowCount() == 4
    assert view.model.index(0, COL_LOCK).data(Qt.CheckStateRole) == Qt.Checked
    fresh.jobs.shutdown(2000)


def test_generating_from_an_empty_project_says_why(qtbot, tmp_path, desk_state):
    from mixdesk.gui.playlist_view import PlaylistView
    from mixdesk.library.project import Project

    project = Project.open(tmp_path / "empty.mixdesk")
    desk_state.set_project(project)
    view = PlaylistView(desk_state)
    qtbot.addWidget(view)
    view.generate()
    qtbot.waitUntil(lambda: view.generate_button.isEnabled(), timeout=10000)
    assert "import tracks" in view.summary.text() and desk_state.playlist is None
    project.close()
