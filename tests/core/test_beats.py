"""The beat tracker on material whose beats are known exactly: synthesised drum tracks."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from mixdesk.core.beatgrid import CONFIDENT, BeatGrid
from mixdesk.core.beats import BeatTracker, track_beats
from mixdesk.progress import Cancelled

from drum_fixtures import backbeat_track, drum_track

SR = 22050


def _max_error(est: np.ndarray, ref: np.ndarray) -> float:
    """Largest distance from a true beat to the nearest estimated one."""
    return float(np.max(np.min(np.abs(est[None, :] - ref[:, None]), axis=1)))


@pytest.mark.parametrize(
    "bpm,pattern", [(90, "onethree"), (124, "four"), (128, "four"), (140, "onethree"), (174, "four")]
)
def test_drum_tracks_give_tempo_phase_and_bars(bpm, pattern):
    y, truth = drum_track(bpm, seconds=20.0, sr=SR, pattern=pattern, seed=bpm)
    grid = track_beats(y, SR)
    assert grid.bpm == pytest.approx(bpm, rel=0.01)
    assert grid.confidence >= CONFIDENT and grid.confident
    assert _max_error(grid.beats, truth.beats) < 0.015
    # No extra beats: one estimate per true beat.
    assert abs(grid.beats.size - truth.beats.size) <= 1
    assert grid.beats_per_bar == 4
    assert _max_error(grid.downbeats, truth.downbeats) < 0.015
    assert abs(grid.downbeats.size - truth.downbeats.size) <= 1


def test_bars_of_three_are_detected():
    y, truth = drum_track(135, seconds=20.0, sr=SR, pattern="waltz", pad=True, seed=5)
    grid = track_beats(y, SR)
    assert grid.beats_per_bar == 3
    assert grid.bpm == pytest.approx(135, rel=0.01)
    assert _max_error(grid.downbeats, truth.downbeats) < 0.015


def test_phase_is_precise_on_a_steady_track():
    y, truth = drum_track(123, seconds=30.0, sr=44100, start=0.611, pad=True)
    grid = track_beats(y, 44100)
    err = np.min(np.abs(grid.beats[None, :] - truth.beats[:, None]), axis=1)
    assert np.median(err) < 0.003
    assert grid.bpm == pytest.approx(123, abs=0.05)


def test_drifting_tempo_is_followed():
    y, truth = drum_track(100, seconds=40.0, sr=SR, drift=-0.05, seed=3)
    grid = track_beats(y, SR)
    assert _max_error(grid.beats, truth.beats) < 0.015
    assert grid.local_bpm(2.0) > grid.local_bpm(36.0) + 3.0


@pytest.mark.parametrize("bpm", [140, 150, 160])
@pytest.mark.parametrize("arpeggio,bass", [(False, False), (True, True)])
def test_backbeat_reads_the_counted_tempo_not_half(bpm, arpeggio, bass):
    # Kick on 1 and 3 with the snare on 2 and 4 is periodic at half the tempo; the half-beats carry
    # the snares, so the tracker must count 140, not 70 - on the beats, not between them - and be
    # confident despite the sixteenth notes that fall between the grid's eighths.
    y, beats = backbeat_track(bpm, sr=SR, arpeggio=arpeggio, bass=bass, seed=bpm)
    grid = track_beats(y, SR)
    assert grid.bpm == pytest.approx(bpm, rel=0.01)
    assert grid.confident
    assert _max_error(grid.beats, beats) < 0.015
    assert abs(grid.beats.size - beats.size) <= 1


def test_slow_pulse_with_empty_half_beats_stays_slow():
    # A real 83 BPM groove (kick and snare alternating on the beats, nothing between them) is not
    # doubled: only onsets between the beats argue for double time.
    sr = SR
    y = np.zeros(20 * sr)
    beat = 60.0 / 83.0
    tk = np.arange(int(0.25 * sr)) / sr
    kick = np.sin(2 * np.pi * (50 * tk + 70 * (1 - np.exp(-tk / 0.03)) * 0.03)) * np.exp(-tk / 0.12)
    rng = np.random.default_rng(3)
    tn = np.arange(int(0.15 * sr)) / sr
    snare = rng.standard_normal(tn.size) * np.exp(-tn / 0.05)
    beats = np.arange(0.4, 19.5, beat)
    for k, t in enumerate(beats):
        i = int(t * sr)
        sound, gain = (kick, 1.0) if k % 2 == 0 else (snare, 0.4)
        m = min(sound.size, y.size - i)
        y[i : i + m] += gain * sound[:m]
    grid = track_beats((0.8 * y / np.abs(y).max()).astype(np.float32), sr)
    assert grid.bpm == pytest.approx(83.0, rel=0.01)
    assert grid.confident


@pytest.mark.parametrize("kind", ["noise", "chord", "irregular"])
def test_no_steady_pulse_gives_low_confidence(kind):
    rng = np.random.default_rng(1)
    t = np.arange(15 * SR) / SR
    if kind == "noise":
        y = 0.3 * rng.standard_normal(t.size)
    elif kind == "chord":
        y = 0.3 * np.sin(2 * np.pi * 220 * t) + 0.2 * np.sin(2 * np.pi * 330 * t)
    else:  # piano-like notes at random intervals (no pulse, like free rubato)
        y = np.zeros(t.size)
        at = 0.1
        while at < 14.0:
            i, n = int(at * SR), int(0.8 * SR)
            f = 440.0 * 2 ** (rng.integers(-12, 12) / 12)
            y[i : i + n] += np.sin(2 * np.pi * f * t[:n]) * np.exp(-t[:n] / 0.3)
            at += rng.uniform(0.2, 0.9)
    grid = track_beats(y.astype(np.float32), SR)
    assert grid.confidence < CONFIDENT
    assert not grid.confident


def test_silence_and_short_input_give_no_grid():
    for y in (
        np.zeros(10 * SR, np.float32),
        np.zeros((5 * SR, 2), np.float32),
        np.zeros(0, np.float32),
        drum_track(120, seconds=1.0, sr=SR)[0],
    ):
        grid = track_beats(y, SR)
        assert grid.confidence == 0.0 and not grid.confident


def test_stereo_mono_and_sample_rates_agree():
    grids = []
    for sr in (22050, 44100, 48000):
        y, truth = drum_track(126, seconds=20.0, sr=sr, start=0.5, seed=2)
        grids.append(track_beats(y, sr))
        if sr == 44100:
            grids.append(track_beats(np.stack([y, 0.5 * y], axis=1), sr))
    ref = grids[0]
    for g in grids[1:]:
        assert g.bpm == pytest.approx(ref.bpm, rel=1e-3)
        assert g.beats.size == ref.beats.size
        assert np.max(np.abs(g.beats - ref.beats)) < 0.003
        assert np.max(np.abs(g.downbeats - ref.downbeats)) < 0.003


def test_block_feeding_matches_one_call():
    y, _ = drum_track(132, seconds=15.0, sr=SR, seed=4)
    stereo = np.stack([y, y], axis=1)
    whole = track_beats(stereo, SR)
    tracker = BeatTracker(SR)
    rng = np.random.default_rng(0)
    pos = 0
    while pos < stereo.shape[0]:
        n = int(rng.choice([1, 37, 500, 4096, 30000]))
        tracker.feed(stereo[pos : pos + n])
        pos += n
    fed = tracker.finish()
    np.testing.assert_allclose(fed.beats, whole.beats, atol=1e-6)
    np.testing.assert_allclose(fed.downbeats, whole.downbeats, atol=1e-6)
    assert fed.bpm == pytest.approx(whole.bpm, rel=1e-6)
    assert fed.confidence == pytest.approx(whole.confidence, abs=1e-6)


def test_progress_and_cancel():
    y, _ = drum_track(120, seconds=25.0, sr=SR)
    seen = []
    track_beats(y, SR, on_progress=seen.append)
    assert seen and seen[-1].fraction == 1.0
    assert all(a.done <= b.done for a, b in zip(seen, seen[1:]))
    with pytest.raises(Cancelled):
        track_beats(y, SR, should_stop=lambda: True)


def test_round_trips_through_the_grid_type():
    y, _ = drum_track(118, seconds=15.0, sr=SR)
    grid = track_beats(y, SR)
    again = BeatGrid.from_dict(grid.to_dict())
    np.testing.assert_allclose(again.beats, grid.beats, atol=1e-5)
    assert again.bpm == pytest.approx(grid.bpm, abs=1e-3)


def _peak_tracking(minutes: float, sr: int, loop: np.ndarray) -> tuple[int, BeatGrid]:
    tracemalloc.start()
    try:
        tracker = BeatTracker(sr)
        block = loop.size
        for _ in range(int(minutes * 60 * sr) // block):
            tracker.feed(loop)
        grid = tracker.finish()
        return tracemalloc.get_traced_memory()[1], grid
    finally:
        tracemalloc.stop()


def test_memory_stays_bounded_for_long_tracks():
    sr = 8000  # memory per second of audio is what matters, not the rate; a low one keeps this fast
    loop, _ = drum_track(125, seconds=9.6, sr=sr, start=0.0, bass=False)  # exactly 20 beats
    short_peak, _ = _peak_tracking(2, sr, loop)
    long_peak, grid = _peak_tracking(10, sr, loop)
    assert grid.bpm == pytest.approx(125, rel=0.01)
    loops = int(10 * 60 * sr) // loop.size
    assert grid.beats.size == pytest.approx(20 * loops, abs=2)
    # A full-length 5 ms STFT costs ~12 MB per minute even at 8 kHz (66 MB at 44.1 kHz); the tracker
    # keeps a few small series per 5 ms frame, well under 1 MB per minute.
    per_minute = (long_peak - short_peak) / 8.0
    assert per_minute < 1.0 * 2**20
    assert long_peak < 20 * 2**20
