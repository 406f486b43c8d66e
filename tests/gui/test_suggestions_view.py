"""Suggestions: ranked next chunks for the selected item; Enter or double-click changes the playlist."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from panel_fixtures import NextInTrackScorer, playlist_of, shared_project  # noqa: F401 - fixture


@pytest.fixture
def desk(desk_state, shared_project):
    desk_state.set_project(shared_project)
    ids = [c.id for c in shared_project.chunks()]
    # Items from different tracks, so the natural successor of each is not already next.
    desk_state.set_playlist(playlist_of(shared_project, [ids[0], ids[-1], ids[len(ids) // 2]]))
    return desk_state


@pytest.fixture
def view(qtbot, desk):
    from mixdesk.gui.suggestions_view import SuggestionsView

    widget = SuggestionsView(desk)
    qtbot.addWidget(widget)
    widget.resize(600, 400)
    widget.show()
    return widget


def ranked(qtbot, view, desk, row):
    desk.select_playlist_item(row)
    qtbot.waitUntil(lambda: view.model.rowCount() > 0 and not view.job.is_running(), timeout=10000)


def test_without_a_model_the_default_one_is_prepared(qtbot, desk, view):
    desk.select_playlist_item(0)
    assert view.model.rowCount() == 0
    assert "default model" in view.heading.text()
    with qtbot.waitSignal(desk.scorer_changed, timeout=60000):
        pass
    assert desk.scorer is not None
    qtbot.waitUntil(lambda: view.model.rowCount() == view.k_spin.value(), timeout=20000)


def test_selected_item_gets_ranked_successors_with_reasons(qtbot, desk, view):
    desk.set_scorer(NextInTrackScorer(desk.project))
    ranked(qtbot, view, desk, 0)
    anchor = desk.project.chunk(desk.playlist.items[0].chunk_id)
    natural = next(c for c in desk.project.chunks(anchor.track_id) if c.index == anchor.index + 1)
    assert view.model.rowCount() == view.k_spin.value()
    first = view.model.rows[0]
    assert first.chunk_id == natural.id and first.score == pytest.approx(0.95)
    assert "next in its track" in view.model.index(0, 2).data()
    step = view.model.rows[0].reasons["level_step_db"]
    assert f"level {step:+.0f} dB" in view.model.index(0, 2).data()
    scores = [s.score for s in view.model.rows]
    assert scores == sorted(scores, reverse=True)
    assert view.model.index(0, 1).data(Qt.UserRole) == pytest.approx(0.95)
    assert "1." in view.heading.text()


def test_enter_inserts_the_suggestion_after_the_item(qtbot, desk, view):
    desk.set_scorer(NextInTrackScorer(desk.project))
    ranked(qtbot, view, desk, 0)
    before = desk.playlist.chunk_ids
    view.table.setFocus()
    view.table.selectRow(1)
    chosen, score = view.model.rows[1].chunk_id, view.model.rows[1].score
    qtbot.keyClick(view.table, Qt.Key_Return)
    after = desk.playlist.chunk_ids
    assert after == [before[0], chosen, *before[1:]]
    assert desk.playlist.items[1].score == pytest.approx(score)
    # The item that used to follow the anchor now follows the suggestion, and is scored against it.
    expected = desk.scorer.successor_scores(chosen, [before[1]])[0]
    assert desk.playlist.items[2].score == pytest.approx(float(expected))
    assert desk.selected_playlist_item == 1
    saved = desk.project.load_playlist(desk.playlist.name)
    assert [i["chunk_id"] for i in saved["items"]] == after


def test_replace_mode_swaps_the_next_item(qtbot, desk, view):
    desk.set_scorer(NextInTrackScorer(desk.project))
    ranked(qtbot, view, desk, 0)
    before = desk.playlist.chunk_ids
    view.mode_combo.setCurrentIndex(view.mode_combo.findData("replace"))
    chosen = view.model.rows[0].chunk_id
    view.apply(chosen, view.mode_combo.currentData())
    assert desk.playlist.chunk_ids == [before[0], chosen, before[2]]


def test_preview_plays_the_chunk(qtbot, desk, view, monkeypatch):
    played = []
    monkeypatch.setattr(desk.player, "play_samples", lambda s, sr, label="": played.append((s, sr, label)))
    desk.set_scorer(NextInTrackScorer(desk.project))
    ranked(qtbot, view, desk, 1)
    view.preview_button.click()
    qtbot.waitUntil(lambda: bool(played), timeout=5000)
    samples, sr, label = played[0]
    chunk = desk.project.chunk(view.model.rows[0].chunk_id)
    assert sr == 44100 and abs(samples.shape[0] - chunk.duration_ms * 44.1) < 100
    assert "#" in label
