"""The block-wise analysis gives the whole-array results, and its memory does not grow with the track."""

from __future__ import annotations

import subprocess
import tracemalloc

import numpy as np
import pytest
import soundfile as sf

from mixdesk.analysis import descriptors, tagger
from mixdesk.analysis.blocks import ArrayBlocks, FileBlocks, FrameStream, StreamResampler
from mixdesk.analysis.descriptors import TrackFrames
from mixdesk.analysis.loudness import LoudnessGrid, LoudnessMeter
from mixdesk.analysis.project_analysis import analyse_project, analyse_samples
from mixdesk.analysis.synthetic import click_track, key_piece, pink_noise
from mixdesk.core.audio import AudioError, decode, read_blocks, resample


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _music(seconds: float, sr: int, bpm: float = 124.0, tonic: int = 9) -> np.ndarray:
    y = click_track(bpm, seconds, sr, seed=1, accent=True) + key_piece(tonic, True, seconds, sr)
    y = y * np.where(np.arange(len(y)) // (4 * sr) % 3 == 2, 0.05, 1.0)  # quieter sections
    return (0.9 * y / np.abs(y).max()).astype(np.float32)


# ----------------------------------------------------------------------------------- block reader
@pytest.mark.parametrize("suffix,subtype", [(".wav", "PCM_16"), (".flac", "PCM_24"), (".wav", "FLOAT")])
def test_blocks_are_the_decoded_samples(tmp_path, suffix, subtype):
    path = tmp_path / f"a{suffix}"
    sf.write(str(path), np.stack([_music(3.0, 22050), -_music(3.0, 22050)], axis=1), 22050, subtype=subtype)
    blocks = list(read_blocks(path, block_frames=10000))
    assert all(b.dtype == np.float32 and b.shape[1] == 2 for b in blocks) and len(blocks) == 7
    np.testing.assert_array_equal(np.concatenate(blocks), decode(path).samples)


def test_ffmpeg_blocks_are_the_decoded_samples(tmp_path):
    imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg")
    path = tmp_path / "tone.m4a"
    subprocess.run(
        [
            imageio_ffmpeg.get_ffmpeg_exe(),
            "-hide_banner",
            "-nostdin",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:duration=3",
            "-ac",
            "2",
            "-c:a",
            "aac",
            "-f",
            "mp4",
            str(path),
        ],
        check=True,
        timeout=60,
    )
    np.testing.assert_array_equal(np.concatenate(list(read_blocks(path, 5000))), decode(path).samples)
    cut = tmp_path / "cut.m4a"  # an MP4 whose index (at its end) is missing
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    assert _reason(lambda p: list(read_blocks(p)), cut) == _reason(decode, cut)


def _reason(fn, path) -> str:
    with pytest.raises(AudioError) as info:
        fn(path)
    return info.value.reason


def test_blocks_refuse_what_decode_refuses_for_the_same_reason(tmp_path):
    samples = np.stack([_music(2.0, 22050)] * 2, axis=1)
    nan = tmp_path / "nan.wav"
    poisoned = samples.copy()
    poisoned[30000:30010] = np.nan
    sf.write(str(nan), poisoned, 22050, subtype="FLOAT")
    short = tmp_path / "short.wav"
    sf.write(str(short), samples, 22050, subtype="PCM_16")
    short.write_bytes(short.read_bytes()[:-5000])
    flac = tmp_path / "cut.flac"
    sf.write(str(flac), samples, 22050)
    flac.write_bytes(flac.read_bytes()[: flac.stat().st_size // 2])
    garbage = tmp_path / "garbage.mp3"
    garbage.write_bytes(b"not audio at all" * 100)
    empty = tmp_path / "empty.flac"
    empty.write_bytes(b"")
    whole = lambda p: decode(p)  # noqa: E731
    blocks = lambda p: list(read_blocks(p, 4096))  # noqa: E731
    assert _reason(blocks, nan).startswith("non-finite samples") and _reason(whole, nan).startswith("non-finite")
    for path in (short, garbage, empty, tmp_path / "missing.wav"):
        assert _reason(blocks, path) == _reason(whole, path)
    # libsndfile words a damaged FLAC by where its reads stop; the kind of refusal is the same.
    assert _reason(blocks, flac).split(" (")[0] == _reason(whole, flac).split(" (")[0]


_BLOCKS_WORKER = r"""
import json, sys
import numpy as np
from mixdesk.core.audio import AudioError, decode, read_blocks

for path in sys.argv[1:]:
    outcomes = []
    for read in (lambda p: decode(p).samples, lambda p: np.concatenate(list(read_blocks(p, 3000)))):
        try:
            outcomes.append(read(path))
        except AudioError as exc:
            outcomes.append("refused")
        except BaseException as exc:
            outcomes.append(f"UNEXPECTED {type(exc).__name__}: {exc}")
    whole, blocks = outcomes
    same = (isinstance(whole, str) and whole == blocks) or (
        not isinstance(whole, str) and not isinstance(blocks, str) and np.array_equal(whole, blocks))
    print(json.dumps({"path": path, "same": bool(same), "whole": str(whole)[:60], "blocks": str(blocks)[:60]}))
"""


def test_damaged_files_are_refused_or_read_alike_by_blocks_and_decode(tmp_path):
    # Seeded byte damage (flips, cut tails, zeroed spans) to WAV and FLAC files, read in a child
    # process so that a crash in a native decoder fails this test instead of ending the run.
    import json
    import sys

    rng = np.random.default_rng(20261127)
    paths = []
    for suffix, subtype in ((".wav", "PCM_16"), (".wav", "FLOAT"), (".flac", "PCM_16")):
        seed = tmp_path / f"seed-{subtype}{suffix}"
        sf.write(str(seed), np.stack([_music(1.0, 22050)] * 2, axis=1), 22050, subtype=subtype)
        data = seed.read_bytes()
        for i in range(20):
            damaged = bytearray(data)
            kind = i % 3
            if kind == 0:
                for at in rng.integers(0, len(damaged), 4):
                    damaged[at] ^= 1 << int(rng.integers(0, 8))
            elif kind == 1:
                damaged = damaged[: int(rng.integers(20, len(damaged)))]
            else:
                at = int(rng.integers(0, len(damaged) - 64))
                damaged[at : at + 64] = bytes(64)
            path = tmp_path / f"m{subtype}-{i:02d}{suffix}"
            path.write_bytes(bytes(damaged))
            paths.append(str(path))
    proc = subprocess.run([sys.executable, "-c", _BLOCKS_WORKER, *paths], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    records = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(records) == len(paths)
    assert not [r for r in records if not r["same"]], [r for r in records if not r["same"]]
    assert any(r["whole"] == "refused" for r in records) and any(r["whole"] != "refused" for r in records)


def test_a_file_that_changes_between_reads_is_refused(tmp_path):
    path = tmp_path / "a.flac"
    sf.write(str(path), _music(2.0, 22050), 22050)
    source = FileBlocks(path)
    assert sum(b.shape[0] for b in source) == 44100 and source.shape == (44100, 1)
    sf.write(str(path), _music(3.0, 22050), 22050)
    with pytest.raises(AudioError, match="changed"):
        list(source)


# ------------------------------------------------------------------------------ block-wise pieces
def _pieces(x: np.ndarray, rng: np.random.Generator, most: int):
    i = 0
    while i < len(x):
        n = int(rng.integers(1, most))
        yield x[i : i + n]
        i += n


@pytest.mark.parametrize("rates", [(44100, 22050), (48000, 22050), (44100, 16000), (8000, 22050), (22050, 22050)])
def test_stream_resampler_equals_whole_signal_resampling(rates):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(200_003).astype(np.float32)
    resampler = StreamResampler(*rates)
    out = [resampler.push(piece) for piece in _pieces(x, rng, 40_000)] + [resampler.finish()]
    np.testing.assert_array_equal(np.concatenate(out), resample(x, *rates))


@pytest.mark.parametrize("length", [10, 2047, 2600, 90_001])
def test_frame_stream_gives_librosas_centred_frames(length):
    import librosa

    rng = np.random.default_rng(1)
    y = rng.standard_normal(length).astype(np.float32)
    expected = np.abs(librosa.stft(np.pad(y, (0, max(0, 2048 - length))), n_fft=2048, hop_length=512))
    stream = FrameStream(2048, 512, min_length=2048)
    spans = [stream.push(piece) for piece in _pieces(y, rng, 20_000)] + [stream.finish()]
    got = np.concatenate(
        [np.abs(librosa.stft(s, n_fft=2048, hop_length=512, center=False)) for s in spans if s.size], axis=1
    )
    np.testing.assert_array_equal(got, expected)


def _whole_signal_grid(x: np.ndarray, sr: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The 10 ms grid computed over the whole signal at once, as before the meter took blocks."""
    from scipy import signal

    from mixdesk.analysis.loudness import GRID_S, k_weighting_sos

    weighted = signal.sosfilt(k_weighting_sos(sr).astype(np.float32), x, axis=0)
    n = x.shape[0]
    starts = np.round(np.arange(int(np.ceil(n / (sr * GRID_S)))) * sr * GRID_S).astype(np.int64)
    starts = starts[starts < n]
    k_sums = np.add.reduceat(np.square(weighted).sum(axis=1).astype(np.float64), starts)
    plain_sums = np.add.reduceat((np.square(x).sum(axis=1) / x.shape[1]).astype(np.float64), starts)
    return k_sums, plain_sums, np.diff(np.append(starts, n)).astype(np.float64)


@pytest.mark.parametrize("sr,seconds", [(44100, 12.0), (22050, 3.3), (8000, 2.0)])
def test_loudness_meter_does_not_depend_on_the_blocks(sr, seconds):
    rng = np.random.default_rng(2)
    x = (0.3 * pink_noise(seconds, sr, seed=3, channels=2)).astype(np.float32)
    meter = LoudnessMeter(sr, 2)
    for piece in _pieces(x, rng, 30_000):
        meter.push(piece)
    streamed = meter.finish()
    k_sums, plain_sums, counts = _whole_signal_grid(x, sr)
    np.testing.assert_array_equal(streamed.counts, counts)
    np.testing.assert_array_equal(streamed.k_sums, k_sums)
    np.testing.assert_array_equal(streamed.plain_sums, plain_sums)
    assert streamed.integrated_lufs() == LoudnessGrid.from_samples(x, sr).integrated_lufs()


@pytest.mark.parametrize("exact", [True, False])
def test_tuning_from_batches_is_librosas(monkeypatch, exact):
    import librosa

    # A cadence synthesised for 22433 Hz and read at 22050 Hz is 0.3 semitones flat: a clear tuning.
    y = np.ascontiguousarray(key_piece(4, False, 30.0, 22433), dtype=np.float32)
    if not exact:
        monkeypatch.setattr(descriptors._TuningEstimate, "EXACT_PEAKS", 1000)  # fold into counts early
    estimate = descriptors._TuningEstimate()
    magnitude = np.abs(librosa.stft(y, n_fft=2048, hop_length=512))
    for start in range(0, magnitude.shape[1], 300):
        estimate.add(magnitude[:, start : start + 300])
    assert estimate.tuning() == pytest.approx(librosa.estimate_tuning(y=y, sr=22050, bins_per_octave=36))
    assert (estimate.counts is None) == exact


# -------------------------------------------------------------------------------- whole analyses
def _assert_frames_close(streamed: TrackFrames, whole: TrackFrames) -> None:
    assert streamed.duration_s == whole.duration_s
    for name in ("onset_env", "centroid_num", "centroid_den", "chroma"):
        a, b = getattr(streamed, name), getattr(whole, name)
        assert a.shape == b.shape, name
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-5 * max(float(np.abs(b).max()), 1e-9), err_msg=name)
    np.testing.assert_array_equal(streamed.onset_frames, whole.onset_frames)
    np.testing.assert_array_equal(streamed.loudness.k_sums, whole.loudness.k_sums)


@pytest.mark.parametrize(
    "seconds,sr,channels", [(0.01, 44100, 2), (7.0, 48000, 1), (30.0, 44100, 2), (110.0, 16000, 1)]
)
def test_streamed_frames_equal_the_whole_array_frames(seconds, sr, channels):
    y = _music(seconds, sr) if seconds > 1 else np.full(int(seconds * sr), 0.1, np.float32)
    x = np.stack([y, 0.7 * y], axis=1) if channels == 2 else y
    streamed, whole = TrackFrames.compute(x, sr), TrackFrames.compute_whole(x, sr)
    _assert_frames_close(streamed, whole)
    assert streamed.describe() == whole.describe()
    for start, end in [(0.0, seconds / 3), (seconds / 3, seconds)]:
        assert streamed.describe(start, end) == whole.describe(start, end)


def test_long_track_is_cut_into_chroma_segments_with_the_same_result():
    # Longer than one chroma segment and its margins, so the segment joins are exercised.
    seconds = (descriptors.CHROMA_SEGMENT + 2 * descriptors.CHROMA_MARGIN) * descriptors.CHROMA_HOP / 22050 + 20
    y = np.concatenate([_music(seconds / 2, 22050), _music(seconds / 2, 22050, bpm=100, tonic=2)])
    _assert_frames_close(
        TrackFrames.compute(ArrayBlocks(y, 22050, block_s=7.3), 22050), TrackFrames.compute_whole(y, 22050)
    )


def test_analysis_of_a_file_equals_the_whole_array_analysis(tmp_path):
    from mixdesk.core.beats import BeatTracker, track_beats

    sr, seconds = 44100, 80.0  # 26 patches: 24 of them are scored, spread over the track
    y = _music(seconds, sr)
    path = tmp_path / "track.flac"
    sf.write(str(path), np.stack([y, 0.8 * y], axis=1), sr, subtype="PCM_24")
    samples = decode(path).samples
    ranges = [(0, 20_000), (20_000, 61_500), (61_500, 80_000)]

    source = FileBlocks(path)
    tracker = BeatTracker(sr)
    source.tap(tracker.feed)
    streamed = analyse_samples(source, sr, ranges)

    frames = TrackFrames.compute_whole(samples, sr)
    track = frames.describe()
    assert streamed.descriptors == track
    assert streamed.chunk_descriptors == [frames.describe(s / 1000, e / 1000, track=track) for s, e in ranges]
    tags, chunk_tags = tagger.tag_track(
        resample(samples.mean(axis=1), sr, tagger.SAMPLE_RATE), [(s / 1000, e / 1000) for s, e in ranges]
    )
    for got, expected in zip([streamed.tags, *streamed.chunk_tags], [tags, *chunk_tags]):
        assert max(abs(got[k] - expected[k]) for k in expected) <= 2e-4
    grid, expected_grid = tracker.finish(), track_beats(samples, sr)
    assert grid.bpm == pytest.approx(expected_grid.bpm, abs=1e-6)
    np.testing.assert_allclose(grid.beats, expected_grid.beats, atol=1e-6)


# -------------------------------------------------------------------------------------- memory
def _noisy_clicks(path, minutes: float, sr: int = 8000) -> None:
    rng = np.random.default_rng(0)
    with sf.SoundFile(str(path), "w", samplerate=sr, channels=1, subtype="PCM_16") as out:
        for _ in range(int(minutes * 2)):
            y = 0.05 * rng.standard_normal(30 * sr)
            y[:: sr // 2] += 0.9
            out.write(y.astype(np.float32))


def _analysis_peak(path) -> int:
    source = FileBlocks(path)
    tracemalloc.start()
    try:
        analyse_samples(source, source.sample_rate, [(0, 60_000)], tag_model=None)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_peak_memory_does_not_grow_with_the_length_of_the_track(tmp_path):
    # 8 kHz mono keeps the test quick; everything after the first resampling runs at 22.05 kHz as usual.
    for minutes in (0.5, 5, 20):
        _noisy_clicks(tmp_path / f"{minutes}.flac", minutes)
    _analysis_peak(tmp_path / "0.5.flac")  # first-call costs (imports, compiled kernels) are not the track's
    five, twenty = _analysis_peak(tmp_path / "5.flac"), _analysis_peak(tmp_path / "20.flac")
    # The whole-array path held about 110 MB a minute of 44.1 kHz mono; here 15 more minutes may add
    # only their per-frame features (well under 1 MB a minute) and the capped tuning peaks.
    assert twenty < five + 25 * 2**20, (five / 2**20, twenty / 2**20)
    assert twenty < 150 * 2**20


def test_project_analysis_reads_blocks_and_tracks_missing_beat_grids_on_the_way(small_project, monkeypatch):
    from mixdesk.core.beats import track_beats
    from mixdesk.library.project import BEATS_KIND

    first = small_project.tracks()[0]
    with small_project.transaction() as conn:  # as in a project from before grids were tracked on import
        conn.execute("DELETE FROM analysis WHERE kind = ? AND track_id = ?", (BEATS_KIND, first.id))
    assert small_project.beat_grid(first.id) is None

    def whole_track(*args, **kwargs):
        raise AssertionError("analysis must not hold whole tracks through the project's audio cache")

    monkeypatch.setattr(small_project, "track_audio", whole_track)
    report = analyse_project(small_project, tags=False)
    assert sorted(report.analysed) == sorted(t.id for t in small_project.tracks()) and not report.failed
    audio = decode(first.path)
    grid, expected = small_project.beat_grid(first.id), track_beats(audio.samples, audio.sample_rate)
    assert grid is not None and grid.to_dict() == expected.to_dict()  # as stored: rounded
