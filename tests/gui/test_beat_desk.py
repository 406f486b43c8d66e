"""The desk's side of beat-synchronous mixing: grids on the track view, tempo in the pool and the
playlist, crossfades in beats on the transition view."""

from __future__ import annotations

import numpy as np
import pytest

from beat_project import bar_items_playlist, drum_project, import_drums, known_grid  # noqa: F401 - fixture

pytest.importorskip("pedalboard")


# ----- track view
def test_track_view_draws_a_tick_per_beat_and_a_numbered_line_per_bar(qtbot, desk_state, drum_project):

    track = drum_project.tracks()[0]
    tracked = drum_project.beat_grid(track.id)
    grid = known_grid(track.duration_s)
    with drum_project.transaction() as conn:
        drum_project.store_beat_grid(conn, track.id, grid)
    try:
        _check_known_grid(qtbot, desk_state, drum_project, track, grid)
    finally:
        with drum_project.transaction() as conn:
            drum_project.store_beat_grid(conn, track.id, tracked)


def _check_known_grid(qtbot, desk_state, drum_project, track, grid):
    from mixdesk.gui.track_view import TrackView

    view = TrackView(desk_state)
    qtbot.addWidget(view)
    view.resize(1000, 500)
    view.show()
    qtbot.waitExposed(view)
    desk_state.set_project(drum_project)
    desk_state.select_track(track.id)
    qtbot.waitUntil(lambda: view.picture is not None, timeout=10000)
    view.show_whole_track()
    beats, bars, labels = view.grid_counts()
    # 24 s at 120 BPM on ~950 px: 20 px a beat, so every beat and bar is drawn and every bar numbered
    assert bars == grid.downbeats.size == 12
    assert beats == grid.beats.size - grid.downbeats.size
    assert labels == bars
    assert sorted(int(label.textItem.toPlainText()) for label in view.bar_labels if label.isVisible()) == list(
        range(1, 13)
    )
    assert "120.0 BPM" in view.title.text() and "confidence 0.90" in view.title.text()
    # zoomed in on two bars only their marks are drawn
    view.wave_plot.setXRange(float(grid.downbeats[2]) - 0.01, float(grid.downbeats[4]) - 0.01, padding=0)
    assert view.grid_counts() == (6, 2, 2)


def test_grid_thins_out_when_zoomed_out():
    from mixdesk.gui.track_picture import grid_marks

    grid = known_grid(600.0)  # ten minutes: 1200 beats, 300 bars
    # 1000 px for the whole track: beats would be 0.8 px apart, bars 3.3 px
    marks = grid_marks(grid, 0.0, 600.0, 1000 / 600.0, 5.0, 34.0)
    assert marks.beats.size == 0
    assert marks.bars.size == 150  # every second bar: 6.7 px apart
    assert np.all(np.diff(marks.label_numbers) == 16)  # a number every 16 bars: 53 px apart
    assert marks.label_numbers[0] == 1


def test_uncovered_audio_is_shaded(qtbot, desk_state, drum_project):
    from mixdesk.gui.track_picture import uncovered_spans
    from mixdesk.gui.track_view import TrackView

    assert uncovered_spans([(500, 1000), (1000, 2000), (3000, 4000)], 5000) == [
        (0.0, 500.0),
        (2000.0, 3000.0),
        (4000.0, 5000.0),
    ]
    view = TrackView(desk_state)
    qtbot.addWidget(view)
    desk_state.set_project(drum_project)
    desk_state.select_track(drum_project.tracks()[1].id)
    assert view.uncovered_count() == 0  # cut on bars keeping every sample
    view.chunk_ranges = [(1000, 5000), (9000, 12000)]
    view._draw_uncovered()
    assert view.uncovered_count() == 3


# ----- pool
def test_pool_tempo_comes_from_the_beat_grid_right_after_import(qtbot, desk_state, tmp_path):
    from beat_project import write_drums

    from mixdesk.gui.pool_view import PoolView
    from mixdesk.gui.project_actions import ProjectActions

    write_drums(tmp_path / "songs")
    view = PoolView(desk_state)
    qtbot.addWidget(view)
    actions = ProjectActions(desk_state)
    assert actions.open_path(tmp_path / "fresh.mixdesk", create=True)
    job = actions.import_paths([tmp_path / "songs"])
    with qtbot.waitSignal(job.finished, timeout=30000):
        pass
    project = desk_state.project
    assert not project.analysis("descriptors")  # no analysis has run
    model = view.model
    qtbot.waitUntil(lambda: model.rowCount() == len(project.chunks()) > 0, timeout=5000)
    column = model.column_of("bpm")
    assert column >= 0 and model.column_of("key") < 0
    by_track = {t.id: float(t.path.rsplit("_", 1)[1][:-4]) for t in project.tracks()}
    for row in range(model.rowCount()):
        text = model.data(model.index(row, column))
        assert float(text) == pytest.approx(by_track[int(model.track_ids[row])], abs=0.5)
    desk_state.set_project(None)
    project.close()


def test_opening_a_project_without_grids_tracks_its_beats(qtbot, desk_state, tmp_path):
    from mixdesk.gui.project_actions import ProjectActions

    project = import_drums(tmp_path / "old.mixdesk", tmp_path / "songs")
    with project.transaction() as conn:
        conn.execute("DELETE FROM analysis WHERE kind = 'beats'")
    project.close()
    actions = ProjectActions(desk_state)
    assert actions.open_path(tmp_path / "old.mixdesk")
    job = desk_state.jobs.active()[0]
    with qtbot.waitSignal(desk_state.chunks_changed, timeout=20000):
        pass
    assert job.state == "finished"
    opened = desk_state.project
    assert len(opened.beat_grids()) == 2
    desk_state.set_project(None)
    opened.close()


# ----- transition view
@pytest.fixture
def transition_view(qtbot, desk_state, drum_project):
    from mixdesk.gui.transition_view import TransitionView

    desk_state.set_project(drum_project)
    desk_state.set_playlist(bar_items_playlist(drum_project, tempo_bpm=120.0, beats=4.0))
    widget = TransitionView(desk_state)
    qtbot.addWidget(widget)
    widget.resize(1000, 520)
    return widget


def test_transition_view_sets_the_crossfade_in_beats(qtbot, desk_state, transition_view):
    view = transition_view
    with qtbot.waitSignal(view.rendered, timeout=15000) as blocker:
        desk_state.select_playlist_item(0)
    seam = blocker.args[0]
    assert view.in_beats and view.beats_spin.value() == 4.0
    # both grids are drawn in mix time, a beat (0.5 s at 120 BPM) apart, and the seam is on A's beat
    counts = view.plots.beat_counts()
    assert counts["a_beats"] > 0 and counts["b_beats"] > 0 and counts["a_downbeats"] > 0
    a_times = seam.beats.a.times_s
    assert np.allclose(np.diff(a_times), 0.5, atol=1e-6)
    assert np.min(np.abs(a_times - seam.seam_s)) < 1e-3
    assert np.min(np.abs(a_times - seam.beats.entry_s)) < 1e-3
    # in the overlap every beat of B falls on a beat of A
    b_times = seam.beats.b.times_s
    shared = b_times[b_times <= a_times[-1]]
    assert shared.size >= 4 and np.all(np.min(np.abs(shared[:, None] - a_times[None, :]), axis=1) < 2e-3)
    assert seam.fade_end_s - seam.fade_start_s == pytest.approx(4 * 0.5, abs=0.01)
    assert view.plots.swap_lines[0].isVisible()
    with qtbot.waitSignal(view.rendered, timeout=15000) as blocker:
        view.set_crossfade_beats(2.25)
    assert desk_state.playlist.items[0].transition.beats == 2.25
    assert desk_state.project.load_playlist(desk_state.playlist.name)["items"][0]["transition"]["beats"] == 2.25
    # the slider moves in quarter beats; a long crossfade is capped at half the shorter item
    view.crossfade_slider.setValue(32 * 4)
    assert view.beats_spin.value() == 32.0
    qtbot.waitUntil(lambda: desk_state.playlist.items[0].transition.beats == 32.0, timeout=3000)
    qtbot.waitUntil(lambda: "capped" in view.join_label.text(), timeout=3000)
    view.set_crossfade_beats(0.0)
    assert desk_state.playlist.items[0].transition.kind == "cut"
    assert view.beats_spin.text() == "cut"


# ----- playlist
def test_mix_tempo_sets_every_item_and_rows_show_the_stretch(qtbot, desk_state, drum_project):
    from mixdesk.gui.playlist_model import COL_BPM, COL_STRETCH
    from mixdesk.gui.playlist_view import PlaylistView
    from mixdesk.mix.config import TEMPO_MODES, SequenceConfig

    desk_state.set_project(drum_project)
    view = PlaylistView(desk_state)
    qtbot.addWidget(view)
    desk_state.set_playlist(bar_items_playlist(drum_project))
    defaults = SequenceConfig()
    assert view.tempo_mode_combo.count() == len(TEMPO_MODES)
    assert view.options().tempo_mode == defaults.tempo_mode
    assert view.mix_tempo_spin.isEnabled()
    view.set_mix_tempo(123.0)
    items = desk_state.playlist.items
    assert all(item.tempo_bpm == 123.0 for item in items)
    saved = drum_project.load_playlist(desk_state.playlist.name)
    assert all(item["tempo_bpm"] == 123.0 for item in saved["items"])
    model = view.model
    own = [float(model.data(model.index(r, COL_BPM))) for r in range(model.rowCount())]
    stretch = [model.data(model.index(r, COL_STRETCH)) for r in range(model.rowCount())]
    assert own[0] == pytest.approx(120.0, abs=0.5) and own[1] == pytest.approx(126.0, abs=0.5)
    assert stretch[0] == "+2.5 %" and stretch[1] == "-2.4 %"
    assert view.mix_tempo_spin.value() == 123.0
    # the Generate options carry a fixed tempo into the sequencer's settings
    view.tempo_mode_combo.setCurrentIndex(TEMPO_MODES.index("fixed"))
    view.tempo_bpm_spin.setValue(118.0)
    from mixdesk.gui.mix_calls import sequence_config

    config = sequence_config(view.options())
    assert config.tempo_mode == "fixed" and config.mix_bpm == 118.0
    # and the level-step weight, which starts at the library's default
    assert config.level_step_weight == SequenceConfig().level_step_weight > 0
    view.level_weight_spin.setValue(0.0)
    assert sequence_config(view.options()).level_step_weight == 0.0


@pytest.mark.parametrize("mode", ["first", "fixed"])
def test_an_applied_suggestion_plays_at_the_mix_tempo(qtbot, desk_state, drum_project, mode):
    from panel_fixtures import NextInTrackScorer

    from mixdesk.gui.suggestions_view import SuggestionsView
    from mixdesk.mix.config import SequenceConfig
    from mixdesk.mix.sequencing import sequence

    scorer = NextInTrackScorer(drum_project)
    config = SequenceConfig(minutes=0.5, seed=0, tempo_mode=mode, mix_bpm=123.0 if mode == "fixed" else None)
    playlist = sequence(drum_project, scorer, config)
    mix_bpm = playlist.items[0].tempo_bpm
    assert mix_bpm is not None and all(item.tempo_bpm == mix_bpm for item in playlist.items)
    desk_state.set_project(drum_project)
    desk_state.set_scorer(scorer)
    desk_state.set_playlist(playlist)
    view = SuggestionsView(desk_state)
    qtbot.addWidget(view)
    # a chunk of the track the mix does not start with: its own tempo (120 or 126 BPM) is not the mix's
    other = next(c for c in drum_project.chunks() if c.track_id != playlist.items[0].track_id and c.index > 0)
    for row, how in ((0, "insert"), (1, "replace")):
        desk_state.select_playlist_item(row)
        qtbot.waitUntil(lambda: view.position == row and not view.job.is_running(), timeout=10000)
        view.apply(other.id, how)
        item = desk_state.playlist.items[row + 1]
        assert item.chunk_id == other.id
        assert item.tempo_bpm == pytest.approx(mix_bpm)
    assert len(desk_state.playlist) == len(playlist) + 1
    assert all(item.tempo_bpm == pytest.approx(mix_bpm) for item in desk_state.playlist.items)
