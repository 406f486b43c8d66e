import numpy as np
import pytest

from mixdesk.mix.seam_rhythm import (
    CONFIDENT,
    boundary_rhythm,
    rhythm_summaries,
    rhythm_summary,
    signal_boundary_rhythm,
    tempo_relation,
    tracklist_key_steps,
)

SR = 22050


def clicks(bpm, seconds, first=0.1, sr=SR, seed=0, level=0.5):
    """A click track: decaying noise bursts every beat, the first at `first` seconds."""
    n = int(seconds * sr)
    rng = np.random.default_rng(seed)
    length = int(0.02 * sr)
    decay = np.exp(-np.arange(length) / (0.004 * sr))
    burst = (rng.standard_normal(length) * decay * level).astype(np.float32)
    x = np.zeros(n, np.float32)
    for t in np.arange(first, seconds, 60.0 / bpm):
        i = int(round(t * sr))
        m = min(length, n - i)
        x[i : i + m] += burst[:m]
    return x


@pytest.mark.parametrize("gap_s", [0.0, 3.3])
def test_one_click_track_split_anywhere_is_on_the_beat(gap_s):
    # the grid before the seam, carried across a gap of a non-whole number of beats, meets the one after
    track = clicks(120, 22, first=0.1234)
    start = int(8.05 * SR)
    r = signal_boundary_rhythm(track, SR, start, start + int(gap_s * SR))
    assert r["beat_phase_error"] < 0.03
    assert abs(r["tempo_jump_pct"]) < 0.5
    assert r["before_bpm"] == pytest.approx(120, abs=0.5)
    assert r["rhythm_confidence"] >= CONFIDENT
    assert r["gap_beats"] == pytest.approx(gap_s * 2, abs=0.01)


def test_join_half_a_beat_off():
    r = boundary_rhythm(clicks(120, 8, first=0.1), clicks(120, 8, first=0.1 + 0.25), SR)
    assert r["beat_phase_error"] > 0.45


def test_tempo_jump_of_five_percent():
    r = boundary_rhythm(clicks(120, 8), clicks(126, 8, seed=1), SR)
    assert r["tempo_jump_pct"] == pytest.approx(5.0, abs=0.5)
    assert r["after_bpm"] == pytest.approx(126, abs=0.5)
    assert r["tempo_relation"] == "same"


def test_double_time_keeps_the_beat():
    # A click track at 130 BPM repeats just as well every two clicks, so it may be read at 65 to match
    # the side before (relation "same") or at 130 (relation "double"); either way the beat is kept.
    # before: beats at 0.1 + 60/65 k s, carried on they fall at (0.1 - 8) mod 60/65 = 0.41 s into `after`
    r = boundary_rhythm(clicks(65, 8, first=0.1), clicks(130, 8, first=0.1 - 8 + 9 * 60 / 65), SR)
    assert r["tempo_relation"] in ("same", "double")
    assert abs(r["tempo_jump_folded_pct"]) < 1
    assert r["beat_phase_error"] < 0.05


def test_loudness_step_of_six_db():
    r = boundary_rhythm(clicks(120, 8, first=0.1), 2.0 * clicks(120, 8, first=0.1), SR)
    assert r["loudness_step_lu"] == pytest.approx(6.02, abs=0.1)
    assert r["beat_phase_error"] < 0.03


def test_stereo_input_is_accepted():
    mono = clicks(120, 16, first=0.3)
    stereo = np.stack([mono, 0.5 * mono], axis=1)
    r = signal_boundary_rhythm(stereo, SR, 8 * SR, 8 * SR)
    assert r["beat_phase_error"] < 0.03


def test_noise_has_low_confidence_and_is_left_out_of_the_summary():
    rng = np.random.default_rng(3)
    noise = boundary_rhythm(0.1 * rng.standard_normal(8 * SR), 0.1 * rng.standard_normal(8 * SR), SR)
    assert noise["rhythm_confidence"] < CONFIDENT
    beat = boundary_rhythm(clicks(120, 8), clicks(120, 8, first=0.1 + 0.05), SR)
    summary = rhythm_summary([noise, beat])
    assert summary["seams"] == 2 and summary["confident"] == 1 and summary["excluded_low_confidence"] == 1
    assert summary["on_beat_share"] == 1.0 and summary["tempo_kept_share"] == 1.0
    assert summary["median_abs_loudness_step_lu"] is not None


def test_too_little_audio_gives_no_grid():
    r = boundary_rhythm(clicks(120, 1), clicks(120, 8), SR)
    assert r["beat_phase_error"] is None and r["rhythm_confidence"] == 0.0
    assert rhythm_summary([r])["confident"] == 0


def test_summary_shares_and_key_steps():
    rows = [
        {
            "beat_phase_error": e,
            "tempo_jump_pct": j,
            "tempo_jump_folded_pct": j,
            "tempo_relation": "same",
            "loudness_step_lu": 1.0,
            "rhythm_confidence": 0.9,
        }
        for e, j in [(0.02, 0.5), (0.3, 4.0)]
    ]
    items = [{"mix_start_ms": 0, "camelot": "8A"}, {"mix_start_ms": 10, "camelot": "9B"}, {"mix_start_ms": 20}]
    for row, steps in zip(rows, tracklist_key_steps(items)):
        row["key_steps"] = steps
    summary = rhythm_summaries({"mix": rows})["mix"]
    assert summary["on_beat_share"] == 0.5 and summary["tempo_kept_share"] == 0.5
    assert summary["median_key_steps"] == 2 and summary["key_compatible_share"] == 0.0
    assert tracklist_key_steps(items) == [2, None]


def test_tempo_relation_names():
    assert tempo_relation(120, 124) == "same"
    assert tempo_relation(120, 61) == "half"
    assert tempo_relation(120, 150) == "other"
