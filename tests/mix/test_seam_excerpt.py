"""A seam rendered on its own plays like the same seam inside the full mix; tempo read-outs for the desk."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from beat_fixtures import bar_playlist, drum_tracks
from mixdesk.mix.beatsync import item_timing
from mixdesk.mix.config import RenderConfig
from mixdesk.mix.rendering import Renderer
from mixdesk.mix.seam_excerpt import beat_marks, plan_seam, seam_beats, seam_playlist
from mixdesk.mix.sources import ArraySource
from mixdesk.mix.tempo import chunk_bpm, chunk_tempi, mix_tempo, playlist_timings, stretch_pct, with_mix_tempo

SR = 22050


@pytest.fixture(scope="module")
def drums():
    return drum_tracks({1: 120.0, 2: 126.0}, 60.0, SR)


@pytest.mark.parametrize("beats, tempo", [(4.0, None), (3.0, 118.0), (16.0, 120.0), (0.0, None)])
def test_the_excerpt_keeps_the_join_of_the_full_playlist(drums, beats, tempo):
    _, grids = drums
    # an outgoing item that starts a beat into a bar: trimming must keep that phase
    playlist = bar_playlist(grids, [1, 2], bars=8, tempo_bpm=tempo, beats=beats)
    a = playlist.items[0]
    start = grids[1].position(a.in_ms / 1000.0) + 1
    playlist = playlist.replace_items(
        [a.with_(in_ms=int(round(grids[1].time_at(start) * 1000)))] + list(playlist.items[1:])
    )
    config = RenderConfig(sample_rate=SR)
    full = Renderer(ArraySource({}, SR), playlist, config, grids)
    excerpt = Renderer(ArraySource({}, SR), seam_playlist(playlist, 0, 1000, grids, config), config, grids)
    if beats <= 4:  # a long crossfade needs the whole of these items to keep its cap
        assert excerpt.playlist.items[0].in_ms > playlist.items[0].in_ms
    assert excerpt.timings[0].bar_phase == pytest.approx(full.timings[0].bar_phase, abs=2e-3)
    assert [t.mix_bpm for t in excerpt.timings] == pytest.approx([t.mix_bpm for t in full.timings])
    j_full, j_cut = full.joins[0], excerpt.joins[0]
    assert j_cut.overlap_beats == pytest.approx(j_full.overlap_beats, abs=2e-3)
    assert (j_cut.swap_beat is None) == (j_full.swap_beat is None)
    plan = plan_seam(playlist, 0, grids, config)
    assert plan.synced and plan.join.overlap_beats == pytest.approx(j_full.overlap_beats)
    assert plan.limit == 15.0  # half of the shorter item: the outgoing one lost a beat
    assert plan.capped_by == pytest.approx(max(0.0, beats - 15.0))


def test_the_cap_is_reported_and_joins_without_grids_trim_on_milliseconds(drums):
    _, grids = drums
    playlist = bar_playlist(grids, [1, 2], bars=2, beats=12.0)
    plan = plan_seam(playlist, 0, grids)
    # each item at its own tempo: B's 8 beats at 126 BPM last 7.6 of A's (120 BPM), so 3 whole beats fit
    # in half of it
    assert plan.unit == "beats" and plan.limit == 3.0 and plan.capped_by == 9.0
    same_tempo = plan_seam(with_mix_tempo(playlist, 120.0), 0, grids)
    assert same_tempo.limit == 4.0 and same_tempo.capped_by == 8.0
    unsynced = plan_seam(playlist, 0, {})
    assert unsynced.unit == "ms" and unsynced.join is None and unsynced.wanted == 400
    trimmed = seam_playlist(playlist, 0, 500, {})
    assert trimmed.items[0].out_ms - trimmed.items[0].in_ms == 900


def test_beat_marks_put_each_item_beats_on_the_mix_grid(drums):
    _, grids = drums
    playlist = bar_playlist(grids, [1, 2], bars=4, tempo_bpm=120.0)
    timings = [item_timing(item, grids[item.track_id]) for item in playlist.items]
    marks = beat_marks(timings[0], 10.0)
    assert marks.times_s[0] == pytest.approx(10.0) and np.allclose(np.diff(marks.times_s), 0.5)
    assert marks.downbeat.sum() == 5 and marks.downbeat[0] and marks.downbeat[4]
    renderer = Renderer(ArraySource({}, SR), playlist, RenderConfig(sample_rate=SR), grids)
    beats = seam_beats(renderer.timings, renderer.joins, [0.0, 6.0], bass_swap=True)
    assert beats.entry_s == pytest.approx(6.0, abs=1e-3) and beats.swap_s == pytest.approx(7.0, abs=1e-3)


def test_tempo_read_outs(drums):
    _, grids = drums
    chunks = [
        SimpleNamespace(track_id=1, start_ms=2000, end_ms=10000),
        SimpleNamespace(track_id=2, start_ms=2000, end_ms=2200),  # shorter than a beat
        SimpleNamespace(track_id=3, start_ms=0, end_ms=1000),
    ]  # no grid
    tempi = chunk_tempi(chunks, grids)
    assert tempi[0] == pytest.approx(120.0, abs=0.1) and tempi[1] == pytest.approx(126.0, abs=0.5)
    assert np.isnan(tempi[2]) and tempi[1] == chunk_bpm(grids[2], 2000, 2200)
    playlist = with_mix_tempo(bar_playlist(grids, [1, 2], bars=4), 123.0)
    assert all(item.tempo_bpm == 123.0 for item in playlist.items)
    timings = playlist_timings(playlist, grids)
    assert mix_tempo(timings) == 123.0
    assert stretch_pct(timings[0]) == pytest.approx(2.5, abs=0.05)
    assert stretch_pct(timings[1]) == pytest.approx(-2.38, abs=0.05)
