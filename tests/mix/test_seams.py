import numpy as np
import pytest
import soundfile as sf

from mix_helpers import scorer_for_project
from mixdesk.mix.config import ExportConfig, RenderConfig, SequenceConfig
from mixdesk.mix.export import export_mix
from mixdesk.mix.playlist import Playlist, PlaylistItem, Transition
from mixdesk.mix.seams import seam_report
from mixdesk.mix.sequencing import sequence
from mixdesk.mix.sources import ArraySource
from mixdesk.mix.tracklist import read_tracklist

SR = 44100


def tone(freq, seconds, level_db, phase=0.0, seed=0, noise=0.05):
    t = np.arange(int(seconds * SR)) / SR
    rng = np.random.default_rng(seed)
    mono = np.sin(2 * np.pi * freq * t + phase) + noise * rng.standard_normal(len(t))
    mono *= 10 ** (level_db / 20) / np.sqrt(np.mean(mono**2))
    return np.stack([mono, mono], axis=1).astype(np.float32)


def items_at(boundaries_s):
    edges = [0.0, *boundaries_s]
    return [
        {"chunk_id": i, "mix_start_ms": 1000 * a, "mix_end_ms": 1000 * b, "score": 0.5}
        for i, (a, b) in enumerate(zip(edges, edges[1:]))
    ]


@pytest.mark.parametrize("noise", [0.0, 0.05])
def test_naive_splice_clicks_and_level_jump_are_measured(tmp_path, noise):
    # with hiss under the tone a raw sample step no longer stands out; the prediction residual still does
    a = tone(330, 2.0, -12, phase=0.0, noise=noise)
    b = tone(330, 2.0, -24, phase=2.5, noise=noise, seed=1)
    cut = int(1.0013 * SR)  # mid-cycle, so the splice steps the waveform
    mix = np.concatenate([a[:cut], b[cut:]])
    path = tmp_path / "naive.wav"
    sf.write(str(path), mix, SR, subtype="FLOAT")
    tracklist = {"items": items_at([cut / SR, 2.0])}
    report = seam_report(path, tracklist)
    seam = report["transitions"][0]
    assert seam["clicks"] == 1 and seam["max_step_ratio"] > 2
    assert seam["level_jump_db"] == pytest.approx(12, abs=1.0)
    assert report["summary"]["clicks"]["mix"] == 1
    assert report["natural"] == [] and report["summary"]["median_level_jump_db"]["natural"] is None


def test_rendered_mix_has_no_clicks_and_small_level_jumps(tmp_path):
    source = ArraySource(
        {1: tone(330, 4, -12), 2: tone(415, 4, -20, phase=2.0, seed=2), 3: tone(262, 4, -15, phase=1.0, seed=3)}
    )
    items = tuple(
        PlaylistItem(
            i,
            i % 3 + 1,
            f"t{i % 3 + 1}.wav",
            300 + 37 * i,
            2300 + 37 * i,
            Transition("cut" if i % 2 else "crossfade", 300),
        )
        for i in range(6)
    )
    target = tmp_path / "mix.wav"
    config = ExportConfig(format="wav", render=RenderConfig(max_gain_db=9.0, gain_ramp_ms=1500))
    result = export_mix(source, Playlist(items), target, config)
    report = seam_report(target, result.tracklist)
    assert report["summary"]["transitions"] == 5
    assert report["summary"]["clicks"]["mix"] == 0
    assert report["summary"]["median_level_jump_db"]["mix"] < 1.5


def test_project_mix_is_compared_with_natural_boundaries(tmp_path, small_project):
    scorer = scorer_for_project(small_project)
    playlist = sequence(small_project, scorer, SequenceConfig(minutes=0.3, seed=6, max_same_track=1))
    result = export_mix(small_project, playlist, tmp_path / "mix.mp3", ExportConfig(bitrate_kbps=192))
    report = seam_report(result.path, read_tracklist(result.tracklist_path))
    summary = report["summary"]
    assert summary["natural_boundaries"] >= 10
    assert summary["transitions"] == len(playlist) - 1
    assert summary["clicks"]["mix"] == 0
    assert summary["median_level_jump_db"]["natural"] is not None
    assert all(row["flux_jump"] is not None for row in report["transitions"])


def test_a_short_noise_burst_is_not_a_click_but_a_lone_step_is():
    from mixdesk.mix.seam_stats import SeamSettings, count_clicks, sample_steps

    base = tone(220, 1.0, -20, noise=0.0)
    burst = base.copy()
    rng = np.random.default_rng(0)
    at = SR // 2
    burst[at : at + 220] += (0.3 * rng.standard_normal((220, 1))).astype(np.float32)  # a 5 ms hi-hat
    spike = base.copy()
    spike[at:] += 0.3  # a DC step: one lone discontinuity
    settings = SeamSettings()
    lo, hi = at - 400, at + 400
    assert count_clicks(sample_steps(burst), lo, hi, SR, settings)[0] == 0
    assert count_clicks(sample_steps(spike), lo, hi, SR, settings)[0] == 1


def _lone_spike(signal, at_s, height=0.5):
    out = signal.copy()
    out[int(at_s * SR)] += height
    return out


@pytest.mark.parametrize("spike_in_source", [True, False])
def test_a_click_the_source_has_at_that_place_is_the_recordings_not_the_mixs(tmp_path, spike_in_source):
    """A seam landing on a sharp attack in a recording is not a splice click; the same spike put into
    the mix alone is one."""
    a = tone(330, 2.0, -24, seed=4)
    b = tone(262, 2.0, -24, phase=1.0, seed=5)
    spiked = _lone_spike(a, 1.7013)  # 1.3 ms after the incoming item starts to fade in
    sf.write(str(tmp_path / "a.wav"), spiked if spike_in_source else a, SR, subtype="FLOAT")
    sf.write(str(tmp_path / "b.wav"), b, SR, subtype="FLOAT")
    fade = int(0.3 * SR)
    gain = np.sqrt(np.linspace(0.0, 1.0, fade))[:, None]
    mix = np.concatenate([spiked[:-fade], spiked[-fade:] * gain[::-1] + b[:fade] * gain, b[fade:]])
    sf.write(str(tmp_path / "mix.wav"), mix, SR, subtype="FLOAT")
    items = [
        {
            "chunk_id": 1,
            "source_path": str(tmp_path / "a.wav"),
            "source_start_ms": 0.0,
            "mix_start_ms": 0.0,
            "mix_end_ms": 2000.0,
        },
        {
            "chunk_id": 2,
            "source_path": str(tmp_path / "b.wav"),
            "source_start_ms": 0.0,
            "mix_start_ms": 1700.0,
            "mix_end_ms": 3700.0,
        },
    ]
    report = seam_report(tmp_path / "mix.wav", {"items": items})
    seam, clicks = report["transitions"][0], report["summary"]["clicks"]
    if spike_in_source:
        assert (seam["clicks"], seam["source_clicks"]) == (0, 1)
        assert seam["source_click_ms"] == [pytest.approx(1701.3, abs=0.1)]
        assert (clicks["mix"], clicks["mix_in_sources"]) == (0, 1)
    else:
        assert (seam["clicks"], seam["source_clicks"]) == (1, 0)
        assert seam["click_ms"] == [pytest.approx(1701.3, abs=0.1)]
        assert (clicks["mix"], clicks["mix_in_sources"]) == (1, 0)


def test_a_stretched_item_is_followed_back_into_its_source():
    from mixdesk.mix.seams import source_position_ms

    item = {"source_start_ms": 10_000.0, "mix_start_ms": 2_000.0, "mix_bpm": 126.0, "source_bpm": 120.0}
    assert source_position_ms(item, 4_000.0) == pytest.approx(10_000.0 + 2_000.0 * 126.0 / 120.0)
    assert source_position_ms({"mix_start_ms": 0.0}, 10.0) is None
