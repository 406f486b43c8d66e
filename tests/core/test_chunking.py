"""The silence cutter against pydub itself, fixed-length chunks, the length guards and cheap re-cuts."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from audio_fixtures import make_track, song_sections, write_wav
from mixdesk.config import ChunkingConfig, effective_chunking
from mixdesk.core.chunking import Envelope, chunk_ranges, coverage, detect_nonsilent

warnings.filterwarnings("ignore", message="Couldn't find ffmpeg")
pydub = pytest.importorskip("pydub")
from pydub import AudioSegment, silence  # noqa: E402


def as_segment(samples: np.ndarray, sr: int) -> tuple[AudioSegment, np.ndarray]:
    ints = np.clip(np.rint(samples * 32768), -32768, 32767).astype(np.int16)
    seg = AudioSegment(ints.tobytes(), frame_rate=sr, sample_width=2, channels=ints.shape[1])
    return seg, ints.astype(np.float32) / 32768


sections = st.lists(
    st.tuples(st.floats(0.02, 1.2), st.one_of(st.just(-200.0), st.floats(-60.0, -3.0))), min_size=1, max_size=8
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    sections=sections,
    sr=st.sampled_from([8000, 11025, 22050, 44100, 48000]),
    channels=st.sampled_from([1, 2]),
    min_silence=st.integers(1, 700),
    thresh=st.floats(-50.0, -3.0),
    step=st.integers(1, 40),
    seed=st.integers(0, 1000),
)
def test_detect_nonsilent_equals_pydub(sections, sr, channels, min_silence, thresh, step, seed):
    seg, floats = as_segment(make_track(sections, sr=sr, channels=channels, seed=seed), sr)
    ours = detect_nonsilent(Envelope.from_samples(floats, sr), min_silence, thresh, step)
    assert ours == silence.detect_nonsilent(seg, min_silence, thresh, step)


@pytest.mark.parametrize("seed", range(6))
def test_song_shaped_signals_match_pydub_including_keep_silence(seed):
    sr = 44100
    seg, floats = as_segment(make_track(song_sections(seed, seconds=12.0), sr=sr, seed=seed), sr)
    env = Envelope.from_samples(floats, sr)
    keep = [0, 50, 200][seed % 3]
    config = ChunkingConfig(keep_silence_ms=keep, relative=False)
    ranges = chunk_ranges(env, config)
    pieces = silence.split_on_silence(seg, 300, -16, keep_silence=keep)
    assert [e - s for s, e in ranges] == [len(p) for p in pieces]
    assert len(ranges) >= 3


def test_relative_threshold_follows_track_loudness():
    sr = 22050
    loud = make_track(song_sections(3, seconds=8.0), sr=sr, seed=3)
    quiet = (loud * 10 ** (-20 / 20)).astype(np.float32)
    seg, floats = as_segment(quiet, sr)
    env = Envelope.from_samples(floats, sr)
    assert env.dbfs == pytest.approx(seg.dBFS)
    relative = chunk_ranges(env, ChunkingConfig(relative=True))
    assert [list(r) for r in relative] == silence.detect_nonsilent(seg, 300, seg.dBFS - 16)
    # An absolute -16 dBFS threshold calls the whole quiet track silence; relative mode still cuts it.
    assert chunk_ranges(env, ChunkingConfig(relative=False)) == [] and len(relative) >= 3


def test_fixed_length_chunks_cover_the_track():
    env = Envelope.from_samples(make_track([(10.5, -10.0)], sr=8000), 8000)
    ranges = chunk_ranges(env, ChunkingConfig(mode="fixed", fixed_length_s=3))
    assert ranges == [(0, 3000), (3000, 6000), (6000, 9000), (9000, 10500)]
    guarded = chunk_ranges(env, ChunkingConfig(mode="fixed", fixed_length_s=3, min_chunk_ms=2000))
    assert guarded == [(0, 3000), (3000, 6000), (6000, 10500)]


def test_guards_merge_fragments_and_split_long_stretches():
    sr = 8000
    sections = [(0.2, -10.0), (0.5, -200.0), (3.0, -10.0), (0.5, -200.0), (25.0, -10.0), (0.5, -200.0), (2.0, -10.0)]
    env = Envelope.from_samples(make_track(sections, sr=sr), sr)
    plain = chunk_ranges(env, ChunkingConfig(relative=False))
    assert [e - s for s, e in plain][0] < 1000 and max(e - s for s, e in plain) > 20000
    guarded = chunk_ranges(env, ChunkingConfig(min_chunk_ms=1000, max_chunk_ms=10000, relative=False))
    lengths = [e - s for s, e in guarded]
    assert min(lengths) >= 1000 and max(lengths) <= 10000
    assert guarded[0][0] == plain[0][0] and guarded[-1][1] == plain[-1][1]
    assert all(a[1] <= b[0] for a, b in zip(guarded, guarded[1:]))


def test_recut_from_envelope_is_fast_and_needs_no_audio():
    sr = 44100
    env = Envelope.from_samples(make_track(song_sections(5, seconds=60.0), sr=sr, seed=5), sr)
    counts = set()
    for thresh in (-10.0, -16.0, -24.0, -40.0):
        counts.add(len(chunk_ranges(env, ChunkingConfig(silence_thresh_db=thresh, min_silence_ms=200, relative=False))))
    assert len(counts) >= 2


def test_chunk_cli_json_equals_pydub(tmp_path):
    sr = 44100
    samples = make_track(song_sections(11, seconds=10.0), sr=sr, seed=11)
    path = write_wav(tmp_path / "song.wav", samples, sr)
    seg = AudioSegment.from_wav(str(path))
    expected = silence.detect_nonsilent(seg, 300, -16, seek_step=1)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mixdesk",
            "chunk",
            str(path),
            "--mode",
            "silence",
            "--silence-thresh",
            "-16",
            "--min-silence",
            "300",
            "--keep-silence",
            "0",
            "--json",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(proc.stdout) == [{"start_ms": s, "end_ms": e} for s, e in expected]
    fixed = subprocess.run(
        [sys.executable, "-m", "mixdesk", "chunk", str(path), "--mode", "fixed", "--length", "3", "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(fixed.stdout)[0] == {"start_ms": 0, "end_ms": 3000}


def test_chunk_cli_reports_bad_file_without_traceback(tmp_path):
    bad = tmp_path / "x.wav"
    bad.write_bytes(b"junk")
    proc = subprocess.run(
        [sys.executable, "-m", "mixdesk", "chunk", str(bad), "--json"], capture_output=True, text=True
    )
    assert proc.returncode == 1 and "Traceback" not in proc.stderr and str(bad) in proc.stderr


def test_keep_all_cuts_mid_silence_and_keeps_every_sample():
    sr = 22050
    track = make_track(song_sections(4, seconds=6.0), sr=sr, seed=5)
    env = Envelope.from_samples(track, sr)
    dropped = chunk_ranges(env, ChunkingConfig())
    kept = chunk_ranges(env, ChunkingConfig(keep_all=True))
    assert coverage(dropped, env.duration_ms) < 0.99
    assert coverage(kept, env.duration_ms) == 1.0
    assert len(kept) == len(dropped)
    # each cut lies inside the silence between two of the dropping cut's chunks, near its middle
    for (_, end), (start, _), (cut, _) in zip(dropped, dropped[1:], kept[1:]):
        assert end <= cut <= start and abs(cut - (end + start) / 2) <= 1


def test_bar_chunks_cut_on_downbeats_and_keep_the_lead_in():
    env = Envelope.from_samples(np.zeros((22050 * 40, 1), np.float32) + 0.1, 22050)
    downbeats = [1500.0 + 2000.0 * k for k in range(19)]  # 120 BPM, first bar at 1.5 s
    ranges = chunk_ranges(env, ChunkingConfig(mode="bars", bars_per_chunk=4), downbeats)
    assert ranges[0] == (0, 1500)  # the pickup before the first downbeat stays a chunk
    assert ranges[1] == (1500, 9500) and ranges[2] == (9500, 17500)
    assert ranges[-1][1] == env.duration_ms
    assert coverage(ranges, env.duration_ms) == 1.0
    # bar chunks are never split off the bar line by the long-chunk guard
    long = chunk_ranges(env, ChunkingConfig(mode="bars", bars_per_chunk=16, max_chunk_ms=5000), downbeats)
    assert (1500, 33500) in long


def test_bars_without_a_grid_fall_back_to_silence_keeping_everything():
    sr = 22050
    track = make_track(song_sections(3, seconds=6.0), sr=sr, seed=7)
    env = Envelope.from_samples(track, sr)
    config = ChunkingConfig(mode="bars")
    assert effective_chunking(config, has_grid=False).mode == "silence"
    assert effective_chunking(config, has_grid=True) == config
    fallback = chunk_ranges(env, config, None)
    assert fallback == chunk_ranges(env, ChunkingConfig(keep_all=True))
    assert coverage(fallback, env.duration_ms) == 1.0
