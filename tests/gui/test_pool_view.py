"""The pool shows one row per chunk, filters and sorts, and paints a waveform strip per chunk."""

from __future__ import annotations

from PySide6.QtCore import Qt

from mixdesk.gui.pool_model import CHUNK_ID_ROLE, STRIP_ROLE, parse_filter
from mixdesk.gui.pool_view import PoolView
from mixdesk.gui.thumbnails import STRIP_BINS


def test_rows_match_chunks_and_filter(qtbot, desk_state, small_project):
    view = PoolView(desk_state)
    qtbot.addWidget(view)
    desk_state.set_project(small_project)
    chunks = small_project.chunks()
    assert view.proxy.rowCount() == len(chunks) > 4
    first_track = int(view.model.track_ids[0])
    own = [c for c in chunks if c.track_id == first_track]
    view.filter_box.setText(view.model.track_names[0])
    assert view.proxy.rowCount() == len(own)
    assert "of" in view.summary.text()
    view.filter_box.setText("len>1000")
    assert view.proxy.rowCount() == 0
    for typed in ("bpm>1", "bpm>1.", "bpm>1.2", "bpm>1.2.", "bpm>1.2.3"):  # typed key by key
        view.filter_box.setText(typed)
    assert view.proxy.rowCount() == 0  # a term that is no number matches as a word, not a traceback
    view.filter_box.clear()
    assert view.proxy.rowCount() == len(chunks)


def test_sort_by_length_and_selection(qtbot, desk_state, small_project):
    view = PoolView(desk_state)
    qtbot.addWidget(view)
    desk_state.set_project(small_project)
    length_col = view.model.column_of("length")
    view.table.sortByColumn(length_col, Qt.SortOrder.DescendingOrder)
    ids = view.visible_chunk_ids()
    lengths = [small_project.chunk(i).duration_ms for i in ids]
    assert lengths == sorted(lengths, reverse=True)
    view.table.selectRow(2)
    assert desk_state.selected_chunk == ids[2]
    assert desk_state.selected_track == small_project.chunk(ids[2]).track_id


def test_waveform_strips_arrive(qtbot, desk_state, small_project):
    view = PoolView(desk_state)
    qtbot.addWidget(view)
    desk_state.set_project(small_project)
    index = view.proxy.index(0, view.model.column_of("wave"))
    index.data(STRIP_ROLE)
    qtbot.waitUntil(lambda: index.data(STRIP_ROLE) is not None, timeout=5000)
    strip = index.data(STRIP_ROLE)
    assert strip.shape == (STRIP_BINS, 2) and strip.max() > 0.5  # (RMS, peak) per bin
    assert (strip[:, 1] >= strip[:, 0]).all()
    track_id = small_project.chunk(index.data(CHUNK_ID_ROLE)).track_id
    assert len(view.thumbnails) >= len(small_project.chunks(track_id))


def test_parse_filter():
    assert parse_filter("deep bpm>120 len<=8 key:8a") == (["deep", "8a"], [("bpm", ">", 120.0), ("len", "<=", 8.0)])


def test_analysis_columns_sort_and_filter(qtbot, desk_state, small_project):
    chunks = small_project.chunks()
    for i, chunk in enumerate(chunks):
        small_project.put_analysis(
            "descriptors", {"bpm": 100.0 + i, "camelot": "8A" if i % 2 else "9B"}, chunk.track_id, chunk.id
        )
    view = PoolView(desk_state)
    qtbot.addWidget(view)
    desk_state.set_project(small_project)
    keys = [c.key for c in view.model.columns]
    assert "bpm" in keys and "key" in keys
    view.filter_box.setText("bpm>=105 8a")
    expected = [c.id for i, c in enumerate(chunks) if i >= 5 and i % 2]
    assert sorted(view.visible_chunk_ids()) == sorted(expected)
    view.table.sortByColumn(view.model.column_of("bpm"), Qt.SortOrder.DescendingOrder)
    assert view.visible_chunk_ids() == sorted(expected, reverse=True)


def test_descending_track_sort_keeps_chunks_ascending(qtbot, desk_state, small_project):
    view = PoolView(desk_state)
    qtbot.addWidget(view)
    desk_state.set_project(small_project)
    first = [int(view.model.index_in_track[r]) for r in range(3)]
    assert first == [0, 1, 2]
    view.table.sortByColumn(view.model.column_of("track"), Qt.SortOrder.DescendingOrder)
    names = view.model.track_names
    assert names == sorted(names, key=str.lower, reverse=True)
    same = [int(i) for n, i in zip(names, view.model.index_in_track) if n == names[0]]
    assert same == sorted(same)


def test_the_pool_shows_the_tempo_and_key_the_sequencer_reads(qtbot, desk_state, small_project):
    import numpy as np

    from mixdesk.mix.pool import pool_from_project

    track = small_project.tracks()[0]
    first, second = small_project.chunks(track.id)[:2]
    small_project.put_analysis("descriptors", {"bpm": 100.0, "camelot": "5A"}, track.id)
    # the first chunk found no tempo of its own: it inherits its track's, as its key is its own
    small_project.put_analysis("descriptors", {"bpm": 0.0, "camelot": "6A"}, track.id, first.id)
    view = PoolView(desk_state)
    qtbot.addWidget(view)
    desk_state.set_project(small_project)
    pool = pool_from_project(small_project)
    model = view.model
    assert model.chunk_ids.tolist() == pool.ids.tolist()
    assert np.array_equal(model.bpm, pool.bpm, equal_nan=True) and model.keys == list(pool.keys)
    row = {int(c): i for i, c in enumerate(model.chunk_ids)}
    assert model.keys[row[first.id]] == "6A" and model.keys[row[second.id]] == "5A"
    grid = small_project.beat_grid(track.id)
    if grid is None or not grid.confident:  # the analysis speaks where no grid is trusted
        assert model.bpm[row[first.id]] == 100.0
