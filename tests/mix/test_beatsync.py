"""Beat-synchronous mixing: tempo-matched items, joins on the beat, pitch kept, flat memory."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from beat_fixtures import bar_playlist, drum_tracks, onsets
from mixdesk.mix.beatsync import ItemTiming, plan_join
from mixdesk.mix.config import RenderConfig
from mixdesk.mix.rendering import Renderer
from mixdesk.mix.sources import ArraySource
from mixdesk.mix.stretch import stretch

pytest.importorskip("pedalboard")
SR = 22050


def _render(tracks, grids, playlist, **config):
    renderer = Renderer(ArraySource(tracks, SR), playlist, RenderConfig(sample_rate=SR, **config), grids)
    audio = np.concatenate(list(renderer.blocks()))
    return audio, renderer


@pytest.mark.parametrize("kind", ["crossfade", "cut"])
def test_every_join_of_drum_tracks_at_different_tempi_lands_on_the_beat(kind):
    tracks, grids = drum_tracks({1: 120.0, 2: 126.0, 3: 114.0, 4: 131.0}, 70.0, SR)
    playlist = bar_playlist(grids, [1, 2, 3, 4, 2, 1], bars=4, tempo_bpm=120.0, kind=kind)
    audio, renderer = _render(tracks, grids, playlist, bass_swap=False)
    beat = 0.5  # 120 BPM everywhere in the mix
    first = renderer.placements[0].mix_start_ms / 1000.0
    # every seam: the incoming item's first downbeat sits on the outgoing item's beat grid
    for placement in renderer.placements[1:]:
        offset = placement.mix_start_ms / 1000.0 - first
        assert abs(offset / beat - round(offset / beat)) * beat < 0.010
    # the incoming downbeat's kick is heard within 10 ms of that beat
    hits = onsets(audio, SR) - first
    for placement in renderer.placements[1:]:
        landed = placement.mix_start_ms / 1000.0 - first
        assert np.min(np.abs(hits - landed)) < 0.010
    # and every kick of the whole mix lies on one regular 120 BPM grid (the detector itself wavers by
    # a few ms between accented and plain kicks, and a stretched kick's attack is a little softer)
    errors = np.abs(hits - np.round(hits / beat) * beat)
    assert len(hits) > 0.8 * len(audio) / SR / beat
    assert np.median(errors) < 0.006 and np.max(errors) < 0.015
    assert all(p.mix_bpm == pytest.approx(120.0) for p in renderer.placements)


def test_items_are_stretched_to_the_mix_tempo_and_keep_their_length_in_beats():
    tracks, grids = drum_tracks({1: 126.0, 2: 114.0}, 60.0, SR)
    playlist = bar_playlist(grids, [1, 2], bars=4, tempo_bpm=120.0)
    _, renderer = _render(tracks, grids, playlist)
    # 16 beats at 120 BPM (a crossfade of a bar needs no audio past the outgoing item's end)
    lengths = [(p.mix_end_ms - p.mix_start_ms) / 1000.0 for p in renderer.placements]
    assert lengths == [pytest.approx(8.0, abs=0.001), pytest.approx(8.0, abs=0.001)]
    assert renderer.placements[0].source_bpm == pytest.approx(126.0, rel=2e-3)
    # a one-bar crossfade (4 beats at 120 BPM)
    assert renderer.placements[1].mix_start_ms - renderer.placements[0].mix_start_ms == pytest.approx(6000, abs=1.0)
    cut = bar_playlist(grids, [1, 2], bars=4, tempo_bpm=120.0, kind="cut")
    _, renderer = _render(tracks, grids, cut)
    # a cut on the beat: the first item keeps 3 ms past its end for the short fade into the second
    lengths = [(p.mix_end_ms - p.mix_start_ms) / 1000.0 for p in renderer.placements]
    assert lengths == [pytest.approx(8.003, abs=0.001), pytest.approx(8.0, abs=0.001)]
    assert renderer.placements[1].mix_start_ms == pytest.approx(renderer.joins[0].start_beat * 500.0, abs=0.1)


def test_native_tempo_items_are_not_stretched():
    tracks, grids = drum_tracks({1: 126.0}, 40.0, SR)
    playlist = bar_playlist(grids, [1], bars=4, tempo_bpm=None)
    audio, renderer = _render(tracks, grids, playlist)
    item = playlist.items[0]
    source = tracks[1][int(round(item.in_ms * SR / 1000)) :][: len(audio)]
    middle = slice(len(audio) // 4, 3 * len(audio) // 4)  # away from the edge fades
    assert np.allclose(audio[middle], source[middle], atol=1e-5)


def _pitch(x: np.ndarray, sr: int) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x)), 8 * len(x)))
    peak = int(np.argmax(spectrum))
    return peak * sr / (8 * len(x))


@pytest.mark.parametrize("ratio", [0.92, 0.97, 1.04, 1.08])
def test_a_stretched_tone_keeps_its_pitch(ratio):
    t = np.arange(4 * SR) / SR
    tone = (0.5 * np.sin(2 * np.pi * 440.0 * t)).astype(np.float32)
    out = stretch(tone[:, None], SR, ratio)
    assert len(out) == round(len(tone) / ratio)
    middle = out[len(out) // 4 : 3 * len(out) // 4, 0]
    assert _pitch(middle, SR) == pytest.approx(440.0, rel=0.01)


def test_bass_swap_hands_the_low_end_over_on_the_middle_beat():
    tracks, grids = drum_tracks({1: 120.0, 2: 120.0}, 60.0, SR)
    playlist = bar_playlist(grids, [1, 2], bars=4, tempo_bpm=120.0, beats=8.0)
    _, renderer = _render(tracks, grids, playlist)
    join = renderer.joins[0]
    assert join.overlap_beats == pytest.approx(8.0, abs=1e-2)
    assert join.swap_beat - join.start_beat == pytest.approx(4.0, abs=1e-2)


def test_joins_keep_the_bar_phase_and_never_leave_a_gap():
    a = ItemTiming(ratio=1.0, synced=True, source_bpm=120, mix_bpm=120, start_beat=8.0, beats=16.0, bar_phase=0.0)
    b = ItemTiming(ratio=1.0, synced=True, source_bpm=120, mix_bpm=120, start_beat=3.0, beats=16.0, bar_phase=3.0)
    join = plan_join(a, b, 4.0)
    assert (a.bar_phase + join.start_beat) % 4 == pytest.approx(3.0)  # b's in-point sits on beat 4 of a bar
    assert 0 <= join.overlap_beats <= 8
    cut = plan_join(a, a, 0.0)
    assert cut.overlap_beats == pytest.approx(0.0) and cut.start_beat == pytest.approx(16.0)
    assert plan_join(a, ItemTiming(ratio=1.0, synced=False), 4.0) is None


def test_long_stretched_render_keeps_flat_memory():
    sr = 8000
    tracks, grids = drum_tracks({1: 120.0, 2: 123.0}, 90.0, sr)

    def peak(minutes: float) -> int:
        items = bar_playlist(grids, [1, 2] * 40, bars=8, tempo_bpm=121.0).items
        count = int(np.ceil(minutes * 60 / 14.0))
        playlist = bar_playlist(grids, [1, 2], bars=8, tempo_bpm=121.0).replace_items(
            [items[k % len(items)] for k in range(count)]
        )
        renderer = Renderer(ArraySource(tracks, sr, 1), playlist, RenderConfig(sample_rate=sr, channels=1), grids)
        tracemalloc.start()
        frames = sum(len(block) for block in renderer.blocks())
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert frames / sr > 0.9 * minutes * 60
        return top

    short, long = peak(10.0), peak(120.0)
    assert long < 1.5 * short + 2_000_000


def test_a_capped_join_keeps_the_bar_and_swaps_on_a_whole_beat():
    a = ItemTiming(ratio=1.0, synced=True, source_bpm=120, mix_bpm=120, start_beat=8.0, beats=16.0, bar_phase=0.0)
    b = ItemTiming(ratio=1.0, synced=True, source_bpm=120, mix_bpm=120, start_beat=24.0, beats=15.0, bar_phase=0.0)
    join = plan_join(a, b, 32.0)  # far more than half the shorter item (7 beats)
    assert join.overlap_beats == pytest.approx(4.0)  # the longest bar-locked overlap within the cap
    assert (a.bar_phase + join.start_beat) % 4 == pytest.approx(0.0)
    off = ItemTiming(ratio=1.0, synced=True, source_bpm=120, mix_bpm=120, start_beat=8.3, beats=16.0, bar_phase=0.3)
    join = plan_join(off, b, 7.0)
    assert (off.start_beat + join.swap_beat) % 1.0 == pytest.approx(0.0, abs=1e-9)  # a beat of its track
    assert join.start_beat <= join.swap_beat <= off.beats


def test_the_planned_length_is_the_rendered_length():
    from mixdesk.mix.rendering import planned_duration_ms

    tracks, grids = drum_tracks({1: 120.0, 2: 126.0, 3: 114.0}, 60.0, SR)
    playlist = bar_playlist(grids, [1, 2, 3, 1], bars=4, tempo_bpm=120.0)
    partial = {1: grids[1], 2: grids[2]}  # track 3 joins on milliseconds
    for known in (grids, partial):
        audio, _ = _render(tracks, known, playlist)
        planned = planned_duration_ms(ArraySource(tracks, SR), playlist, RenderConfig(sample_rate=SR), known)
        assert planned / 1000.0 == pytest.approx(len(audio) / SR, abs=0.02)


def _random_playlist(grids, seed):
    """Items anywhere in their tracks (not on bars), at the mix tempo or their own, with crossfades from
    none to far more than half an item, in beats or in ms."""
    from mixdesk.mix.playlist import Playlist, PlaylistItem, Transition

    rng = np.random.default_rng(seed)
    items = []
    for k in range(9):
        track = int(rng.choice(sorted(grids)))
        length_ms = int(rng.integers(1200, 7000))
        in_ms = int(rng.integers(500, 50000 - length_ms))
        kind = "cut" if rng.random() < 0.2 else "crossfade"
        beats = [None, 1.0, 4.0, 8.0, 32.0][int(rng.integers(5))]
        transition = Transition(kind, int(rng.integers(0, 6000)), beats)
        tempo = [None, 120.0, float(rng.uniform(100.0, 140.0))][int(rng.integers(3))]
        items.append(PlaylistItem(k, track, "", in_ms, in_ms + length_ms, transition, tempo_bpm=tempo))
    return Playlist(items=tuple(items))


def _planned_and_rendered(tracks, grids, playlist):
    from mixdesk.mix.rendering import planned_duration_ms

    audio, renderer = _render(tracks, grids, playlist)
    planned = planned_duration_ms(ArraySource(tracks, SR), playlist, RenderConfig(sample_rate=SR), grids)
    return int(round(planned * SR / 1000.0)), len(audio), renderer


def test_every_item_keeps_both_joins_the_plan_gives_it():
    # four-bar items (beats on whole ms, so exactly 16 beats) with eight-beat crossfades, stretched from 120
    # to 125 BPM: each middle item is all overlap, half with each neighbour
    tracks, grids = drum_tracks({1: 120.0, 2: 120.0, 3: 120.0}, 60.0, SR)
    playlist = bar_playlist(grids, [1, 2, 3, 1, 2], bars=4, tempo_bpm=125.0, beats=8.0)
    planned, rendered, renderer = _planned_and_rendered(tracks, grids, playlist)
    beat = 60.0 / 125.0
    assert rendered == planned == round((5 * 16 - 4 * 8) * beat * SR)
    starts = [p.mix_start_ms for p in renderer.placements]
    for i, join in enumerate(renderer.joins[:-1]):
        assert join.overlap_beats == pytest.approx(8.0)
        assert starts[i + 1] - starts[i] == pytest.approx(8 * beat * 1000.0, abs=0.1)  # on the planned beat


@pytest.mark.parametrize("seed", range(4))
def test_the_planned_length_of_any_playlist_is_the_rendered_length(seed):
    tracks, grids = drum_tracks({1: 120.0, 2: 126.0, 3: 114.0}, 60.0, SR)
    playlist = _random_playlist(grids, seed)
    for known in (grids, {1: grids[1], 2: grids[2]}, {}):  # joins on the beat, mixed, and on ms only
        planned, rendered, _ = _planned_and_rendered(tracks, known, playlist)
        assert rendered == planned
