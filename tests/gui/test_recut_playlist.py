"""A re-cut with a playlist open: items follow their audio, panels refresh, and no raw error text shows."""

from __future__ import annotations

import pytest

from panel_fixtures import NextInTrackScorer, playlist_of


@pytest.fixture
def desk(qtbot, desk_state, small_project):
    from mixdesk.gui.pool_view import PoolView
    from mixdesk.gui.silence_panel import SilencePanel
    from mixdesk.gui.suggestions_view import SuggestionsView
    from mixdesk.gui.track_view import TrackView

    panels = {
        "silence": SilencePanel(desk_state),
        "suggestions": SuggestionsView(desk_state),
        "track": TrackView(desk_state),
        "pool": PoolView(desk_state),
    }
    for panel in panels.values():
        qtbot.addWidget(panel)
    desk_state.set_project(small_project)
    desk_state.set_scorer(NextInTrackScorer(small_project))
    first_track = small_project.tracks()[0].id
    ids = [c.id for c in small_project.chunks(first_track)] + [small_project.chunks()[-1].id]
    desk_state.set_playlist(playlist_of(small_project, ids))
    desk_state.select_chunk(ids[0])
    desk_state.select_playlist_item(2)
    suggestions = panels["suggestions"]
    qtbot.waitUntil(lambda: suggestions.model.rowCount() > 0, timeout=10000)
    qtbot.waitUntil(lambda: panels["track"].picture is not None, timeout=10000)
    silence = panels["silence"]
    qtbot.waitUntil(lambda: silence.track_id in silence.envelopes, timeout=10000)
    return panels


def recut_all_fixed(qtbot, silence, seconds=1.0):
    silence.mode.setCurrentIndex(silence.mode.findData("fixed"))
    silence.fixed_length.setValue(seconds)
    silence.min_chunk.setValue(0)
    silence.max_chunk.setValue(0)
    silence.apply_all.click()
    qtbot.waitUntil(silence.apply_all.isEnabled, timeout=15000)


def test_apply_to_all_tracks_moves_playlist_onto_new_chunks(qtbot, desk, desk_state, small_project):
    old_items = list(desk_state.playlist.items)
    messages = []
    desk_state.status.connect(messages.append)
    with qtbot.waitSignal(desk_state.playlist_changed, timeout=15000):
        recut_all_fixed(qtbot, desk["silence"])
    chunks = {c.id: c for c in small_project.chunks()}
    new_items = desk_state.playlist.items
    assert len(new_items) == len(old_items)
    for old, new in zip(old_items, new_items):
        chunk = chunks[new.chunk_id]  # every item names a chunk that exists
        assert chunk.track_id == old.track_id
        assert chunk.start_ms < old.out_ms and chunk.end_ms > old.in_ms  # the same stretch of the track
        assert (new.in_ms, new.out_ms) == (chunk.start_ms, chunk.end_ms)
    # Saved in the project too, so reopening it does not bring the stale playlist back.
    saved = small_project.load_playlist(desk_state.playlist.name)
    assert [i["chunk_id"] for i in saved["items"]] == [i.chunk_id for i in new_items]
    assert any("playlist items moved to the new chunks" in m for m in messages)
    # The pool, the track header and the suggestions show the new cut.
    suggestions, track, pool = desk["suggestions"], desk["track"], desk["pool"]
    assert pool.proxy.rowCount() == len(chunks)
    count = len(small_project.chunks(track.track_id))
    assert f"· {count} chunks" in track.title.text()
    qtbot.waitUntil(lambda: suggestions.model.rowCount() > 0, timeout=10000)
    assert suggestions.heading.text().startswith("After 3.")
    assert all(suggestions.model.rows[r].chunk_id in chunks for r in range(suggestions.model.rowCount()))


def test_item_whose_audio_was_cut_away_is_marked_chunk_gone(qtbot, desk, desk_state, small_project):
    from mixdesk.config import LIBRARY_CHUNKING

    item = desk_state.playlist.items[2]
    # A cut that leaves the item's stretch out of every chunk, as a higher silence threshold can.
    ranges = [(s, e) for s, e in ((0, item.in_ms), (item.out_ms, item.out_ms + 4000)) if e > s]
    with small_project.transaction() as conn:
        small_project.replace_chunks(conn, item.track_id, ranges, LIBRARY_CHUNKING)
    messages = []
    desk_state.status.connect(messages.append)
    desk_state.notify_chunks_changed()
    suggestions = desk["suggestions"]
    qtbot.waitUntil(lambda: "chunk gone" in suggestions.heading.text(), timeout=10000)
    assert suggestions.heading.text().startswith("Item 3: chunk gone")
    assert suggestions.model.rowCount() == 0
    # Items 5 and 6 lay beyond the kept stretch too: every item left without audio is named.
    assert any("chunk gone for items 3, 5, 6" in m for m in messages)
    assert desk_state.playlist.items[2].chunk_id == item.chunk_id  # kept for the user to replace


def test_failed_ranking_shows_a_sentence_not_the_exception(qtbot, desk, desk_state, monkeypatch):
    from mixdesk.gui import mix_calls

    def broken(*_args):
        raise KeyError(48)

    monkeypatch.setattr(mix_calls, "suggestions", broken)
    suggestions = desk["suggestions"]
    desk_state.select_playlist_item(1)
    qtbot.waitUntil(lambda: suggestions.heading.text().startswith("No suggestions"), timeout=10000)
    text = suggestions.heading.text()
    assert "KeyError" not in text and "48" not in text
    assert "no longer in the project" in text


@pytest.mark.parametrize(
    "exc, shown",
    [
        (KeyError(48), "no longer in the project"),
        (IndexError("index 7 is out of bounds for axis 0 with size 3"), "no longer in the project"),
        (
            FileNotFoundError(2, "No such file or directory", "/music/a.flac"),
            "No such file or directory: /music/a.flac",
        ),
        (ValueError("the project has no tracks\nmore detail"), "the project has no tracks"),
        (RuntimeError("CUDA error: device-side assert triggered"), "unexpected error"),
        (TypeError("'NoneType' object is not subscriptable"), "unexpected error"),
    ],
)
def test_job_failures_reach_panels_as_one_human_line(exc, shown):
    from mixdesk.gui.jobs import user_message

    message = user_message(exc)
    assert shown in message and "\n" not in message
    assert type(exc).__name__ not in message and "Errno" not in message


def test_panel_that_fails_to_start_stops_the_window_with_its_error(qtbot, desk_state, monkeypatch):
    """A broken panel is a loud error where the window is built, never a placeholder in its dock."""
    import shiboken6
    from PySide6.QtWidgets import QApplication, QWidget

    from mixdesk.gui import main_window

    class Broken(QWidget):
        def __init__(self, _state, _parent=None):
            raise AttributeError("'NoneType' object has no attribute 'chunks'")

    def desk_widgets() -> set[int]:
        kinds = (main_window.MainWindow, main_window.PoolView, main_window.SilencePanel, main_window.TrackView)
        return {shiboken6.getCppPointer(w)[0] for w in QApplication.allWidgets() if isinstance(w, kinds)}

    monkeypatch.setattr(main_window, "SuggestionsView", Broken)
    before = desk_widgets()
    with pytest.raises(AttributeError, match="has no attribute 'chunks'"):
        main_window.MainWindow(desk_state)
    # The panels built before the broken one went with the window: none is left wired to the state.
    assert desk_widgets() <= before
