"""Tempo, key and per-chunk descriptors on synthesised audio with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from mixdesk.analysis.descriptors import DESCRIPTOR_KEYS, TrackFrames, describe_track
from mixdesk.analysis.synthetic import click_track, key_name, key_piece
from mixdesk.analysis.tempo import estimate_tempo

SR = 22050


def _octave_error(estimate: float, truth: float) -> float:
    return min(abs(estimate - truth * f) for f in (1.0, 0.5, 2.0))


@pytest.mark.parametrize("bpm", [60, 72, 87.5, 100, 116, 128, 133.3, 145, 160, 174, 180])
def test_click_tempo_within_one_bpm_or_half_double(bpm):
    frames = TrackFrames.compute(click_track(bpm, seconds=20.0, sr=SR, seed=int(bpm)), SR)
    d = frames.describe()
    assert _octave_error(d["bpm"], bpm) <= 1.0, d
    assert d["bpm_confidence"] > 0.5


def test_tempo_prior_picks_the_octave_near_the_prior():
    # Clicks at 180 BPM are also periodic at 90 BPM (every other click); the prior chooses.
    frames = TrackFrames.compute(click_track(180, seconds=20.0, sr=SR), SR)
    assert abs(frames.tempo(0, 20, prior_bpm=170)[0] - 180) < 1.0
    assert abs(frames.tempo(0, 20, prior_bpm=95)[0] - 90) < 1.0


def test_silence_and_noise_have_no_confident_tempo():
    assert estimate_tempo(np.zeros(2000), 43.07) == (0.0, 0.0)
    noise = np.abs(np.random.default_rng(1).standard_normal(2000))
    assert estimate_tempo(noise, 43.07)[1] < 0.3


@pytest.mark.parametrize(
    "tonic,minor", [(0, False), (9, True), (7, False), (4, True), (3, False), (6, True), (10, False), (1, True)]
)
def test_synthesised_cadences_give_their_key(tonic, minor):
    frames = TrackFrames.compute(key_piece(tonic, minor, seconds=8.0, sr=SR), SR)
    d = frames.describe()
    assert d["key"] == key_name(tonic, minor)


def test_chunks_are_described_from_slices_of_one_pass():
    y = np.concatenate([click_track(120, 12.0, SR), 0.1 * key_piece(9, True, 8.0, SR)])
    track, chunks = describe_track(np.stack([y, y], axis=1), SR, [(0, 12000), (12000, 20000), (2000, 3500)])
    for doc in [track, *chunks]:
        assert set(DESCRIPTOR_KEYS) <= set(doc)
    assert abs(chunks[0]["bpm"] - 120) < 1.0
    assert chunks[1]["key"] == "A minor" and chunks[1]["camelot"] == "8A"
    assert chunks[1]["lufs"] < chunks[0]["lufs"] - 3  # the quieter section reads quieter
    assert chunks[0]["onset_rate"] == pytest.approx(2.0, abs=0.2)
    assert chunks[2]["bpm"] == track["bpm"]  # 1.5 s is too short for its own tempo: inherits the track's
    assert chunks[0]["centroid_hz"] > chunks[1]["centroid_hz"]


def test_half_time_bar_pulse_moves_into_the_dj_tempo_range():
    # Loud hits every other beat make 63 BPM the strongest period; 126 BPM is periodic too and in range.
    loud = click_track(63, seconds=20.0, sr=SR, seed=3)
    soft = click_track(126, seconds=20.0, sr=SR, seed=4)
    frames = TrackFrames.compute(loud + 0.1 * soft, SR)
    assert abs(frames.describe()["bpm"] - 126) < 1.0
    assert abs(estimate_tempo(frames.onset_env, SR / 512, preferred=None)[0] - 63) < 1.0
