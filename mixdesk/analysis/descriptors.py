"""Per-track and per-chunk descriptors from the frame features of a track.

`TrackFrames.compute` does all the signal work of a track (K-weighted loudness grid at the native
rate; at 22.05 kHz mono an STFT for onsets, centroid and tempo, and a coarse-hop CQT for chroma).
`TrackFrames.describe(start_s, end_s)` then only sums frame ranges, so describing every chunk of a
track costs a few milliseconds more than describing the track.

The features are built by :class:`FrameBuilder` from blocks, in two passes, so that memory follows the
block size and not the track's length. Two quantities need the whole track before any frame can be
finished: the level that ``power_to_db`` floors the mel spectrogram at (80 dB under the track's
loudest bin) and the tuning the CQT is centred on. The first pass finds both; the second computes the
onset envelope and the chroma. Only the per-frame results are kept whole: some 15 MB an hour of
audio, most of it the 10 ms loudness grid, plus at most 5 MB of pitch peaks for the tuning.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import scipy.sparse

from mixdesk.analysis.blocks import BlockSource, FrameStream, StreamResampler, as_source, block_mono
from mixdesk.analysis.loudness import LoudnessGrid, LoudnessMeter
from mixdesk.analysis.tempo import estimate_tempo
from mixdesk.analysis.tonal import estimate_key, key_to_camelot

ANALYSIS_SR = 22050
HOP = 512
N_FFT = 2048
N_MELS = 128
CHROMA_HOP = 2048
KEY_PROFILE = "krumhansl"
MIN_TEMPO_SLICE_S = 4.0
CHUNK_PRIOR_OCTAVES = 0.3
TOP_DB = 80.0  # librosa.power_to_db's default floor under the loudest bin
TUNING_BINS_PER_OCTAVE = 36  # chroma_cqt's CQT resolution, which its tuning estimate uses
# The chroma is computed on segments of CHROMA_SEGMENT frames (95 s; each CQT call builds its filters
# anew, about 0.2 s) with CHROMA_MARGIN frames of audio on either side: longer than the lowest CQT
# filter (1.6 s) and its resampling stages need, so that a segment's frames equal those of one CQT
# over the whole track.
CHROMA_SEGMENT = 1024
CHROMA_MARGIN = 48
DESCRIPTOR_KEYS = ("bpm", "bpm_confidence", "key", "camelot", "lufs", "lra", "rms_db", "centroid_hz", "onset_rate")


def _stft_magnitude(y: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    import librosa

    if len(y) < n_fft:  # a clip shorter than one window: zero-padding adds no energy
        y = np.pad(y, (0, n_fft - len(y)))
    return np.abs(librosa.stft(y, n_fft=n_fft, hop_length=hop, center=True))


def _chroma(y: np.ndarray, sr: int, tuning: float | None = None) -> np.ndarray:
    """(12, frames) chroma, C first, from a constant-Q transform (tuning estimated from `y` unless given).

    At a hop of 2048 samples the CQT costs about 3 ms per second of audio; on the demo tracks it
    found 4/4 keys where STFT chroma found 3/4 (both 24/24 on synthesised cadences).
    """
    import librosa

    min_len = 4 * CHROMA_HOP
    if len(y) < min_len:  # the lowest CQT filters are longer than a very short clip
        y = np.pad(y, (0, min_len - len(y)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "n_fft too large" for the longest filters on short chunks
        return librosa.feature.chroma_cqt(y=y, sr=sr, hop_length=CHROMA_HOP, tuning=tuning)


class _TuningEstimate:
    """``librosa.estimate_tuning`` (as chroma_cqt calls it) from piptrack peaks gathered batch by batch.

    The estimate is the commonest pitch residual among the peaks at least as strong as the median
    peak. Each peak's magnitude and residual bin are kept (5 bytes; some 600 peaks a second of music),
    which gives librosa's answer exactly up to EXACT_PEAKS peaks (about half an hour of music). Past
    that they are folded into counts per (magnitude bin of 1/64 octave, residual bin), so memory stays
    bounded however long the track: the peaks in the bin holding the median are then counted in
    proportion to the share of that bin above it, which can change the result only when two residual
    bins are within a handful of peaks of each other.
    """

    EXACT_PEAKS = 1_000_000
    MAG_STEPS = 64  # magnitude bins per octave
    LOW_OCTAVE, HIGH_OCTAVE = -64, 32  # log2 range of piptrack magnitudes kept apart

    def __init__(self) -> None:
        self.edges = np.linspace(-0.5, 0.5, 101)  # pitch_tuning's bins at its 0.01 resolution
        self.n_res = self.edges.size - 1
        self.mags: list[np.ndarray] = []
        self.bins: list[np.ndarray] = []
        self.kept = 0
        self.counts: np.ndarray | None = None  # (magnitude bin, residual bin) counts once folded

    def add(self, magnitude: np.ndarray) -> None:
        import librosa

        pitch, mag = librosa.piptrack(S=magnitude, sr=ANALYSIS_SR, n_fft=N_FFT)
        found = pitch > 0
        if not found.any():
            return
        residual = np.mod(TUNING_BINS_PER_OCTAVE * librosa.hz_to_octs(pitch[found]), 1.0)
        residual[residual >= 0.5] -= 1.0
        res_bin = np.clip(np.searchsorted(self.edges, residual, side="right") - 1, 0, self.n_res - 1)
        self.mags.append(mag[found])
        self.bins.append(res_bin.astype(np.uint8))
        self.kept += res_bin.size
        if self.kept > self.EXACT_PEAKS:
            self._fold()

    def _fold(self) -> None:
        n_mag = (self.HIGH_OCTAVE - self.LOW_OCTAVE) * self.MAG_STEPS
        if self.counts is None:
            self.counts = np.zeros(n_mag * self.n_res, dtype=np.int64)
        for mags, bins in zip(self.mags, self.bins):  # a batch at a time: no copy of all the peaks
            level = np.log2(np.maximum(mags.astype(np.float64), 1e-300))
            mag_bin = np.clip(np.floor((level - self.LOW_OCTAVE) * self.MAG_STEPS), 0, n_mag - 1).astype(np.int64)
            self.counts += np.bincount(mag_bin * self.n_res + bins, minlength=self.counts.size)
        self.mags, self.bins, self.kept = [], [], 0

    def tuning(self) -> float:
        if self.counts is None:  # exactly as librosa: median threshold, then the residual histogram
            if not self.mags:
                return 0.0
            mags, bins = np.concatenate(self.mags), np.concatenate(self.bins)
            votes = np.bincount(bins[mags >= np.median(mags)], minlength=self.n_res)
            return float(self.edges[int(np.argmax(votes))])
        self._fold()
        grid = self.counts.reshape(-1, self.n_res)
        per_mag = grid.sum(axis=1)
        total = int(per_mag.sum())
        rank = (total - 1) / 2.0  # the median's rank among the peaks sorted by magnitude
        below = np.cumsum(per_mag)
        k = int(np.searchsorted(below, rank, side="right"))
        share = (below[k] - rank) / per_mag[k]
        votes = grid[k + 1 :].sum(axis=0) + share * grid[k]
        return float(self.edges[int(np.argmax(votes))])


class _ChromaStream:
    """Chroma frames at CHROMA_HOP from the 22.05 kHz signal fed in order, a segment at a time."""

    def __init__(self, tuning: float, total: int) -> None:
        self.tuning, self.total = tuning, total
        self.buf = np.zeros(0, dtype=np.float32)
        self.start = 0  # sample index of buf[0], a multiple of CHROMA_HOP
        self.done = 0  # next chroma frame to compute
        self.parts: list[np.ndarray] = []

    def _segment(self, stop_frame: int, end: int) -> None:
        first = max(0, self.done - CHROMA_MARGIN) * CHROMA_HOP
        y = self.buf[first - self.start : end - self.start]
        chroma = _chroma(y, ANALYSIS_SR, self.tuning)
        offset = self.done - first // CHROMA_HOP
        self.parts.append(chroma[:, offset : offset + stop_frame - self.done])
        self.done = stop_frame
        keep = max(self.start, max(0, self.done - CHROMA_MARGIN) * CHROMA_HOP)
        self.buf = self.buf[keep - self.start :]
        self.start = keep

    def push(self, y: np.ndarray) -> None:
        self.buf = np.concatenate([self.buf, y])
        while True:
            stop = self.done + CHROMA_SEGMENT
            end = (stop + CHROMA_MARGIN) * CHROMA_HOP
            if end > self.start + self.buf.size or end >= self.total:
                return  # the last segment runs to the end of the track, with the whole-array padding
            self._segment(stop, end)

    def finish(self) -> np.ndarray:
        if not self.parts:  # the whole track fits one segment: the whole-array chroma
            return _chroma(self.buf, ANALYSIS_SR, self.tuning)
        frames = 1 + max(self.total, 4 * CHROMA_HOP) // CHROMA_HOP
        self._segment(frames, self.start + self.buf.size)
        return np.concatenate(self.parts, axis=1)


@dataclass(frozen=True)
class TrackFrames:
    """Frame-level features of one track; `describe` aggregates any time slice of it."""

    duration_s: float
    loudness: LoudnessGrid
    onset_env: np.ndarray
    onset_frames: np.ndarray
    centroid_num: np.ndarray
    centroid_den: np.ndarray
    chroma: np.ndarray

    @classmethod
    def compute(cls, samples: np.ndarray | BlockSource, sample_rate: int) -> "TrackFrames":
        """`samples`: (frames, channels) or 1-D float at `sample_rate`, or a block source (see
        ``mixdesk.analysis.blocks``); loudness uses all channels."""
        source = as_source(samples, sample_rate)
        builder = FrameBuilder(sample_rate, source.channels)
        for block in source:
            builder.first(block, block_mono(block))
        builder.end_first()
        for block in source:
            builder.second(block_mono(block))
        return builder.result()

    @classmethod
    def compute_whole(cls, samples: np.ndarray, sample_rate: int) -> "TrackFrames":
        """The same features from whole-track arrays in one go: the reference the streaming path is
        tested against, and a measure of what it saves (memory grows with the track's length)."""
        import librosa

        from mixdesk.core.audio import resample

        x = np.asarray(samples, dtype=np.float32)
        x2 = x if x.ndim == 2 else x[:, None]
        loudness = LoudnessGrid.from_samples(x2, sample_rate)
        mono = x2.mean(axis=1) if x2.shape[1] > 1 else x2[:, 0]
        y = resample(mono, sample_rate, ANALYSIS_SR) if sample_rate != ANALYSIS_SR else mono
        y = np.ascontiguousarray(y, dtype=np.float32)
        magnitude = _stft_magnitude(y, N_FFT, HOP)
        power = magnitude**2
        mel = librosa.feature.melspectrogram(S=power, sr=ANALYSIS_SR, n_mels=N_MELS)
        env = librosa.onset.onset_strength(S=librosa.power_to_db(mel), sr=ANALYSIS_SR, hop_length=HOP)
        onsets = librosa.onset.onset_detect(onset_envelope=env, sr=ANALYSIS_SR, hop_length=HOP)
        freqs = librosa.fft_frequencies(sr=ANALYSIS_SR, n_fft=N_FFT)
        return cls(
            duration_s=x2.shape[0] / float(sample_rate),
            loudness=loudness,
            onset_env=env.astype(np.float32),
            onset_frames=np.asarray(onsets, dtype=np.int64),
            centroid_num=(freqs @ magnitude).astype(np.float64),
            centroid_den=magnitude.sum(axis=0).astype(np.float64),
            chroma=_chroma(y, ANALYSIS_SR).astype(np.float32),
        )

    def _frames(self, start_s: float, end_s: float, hop: int, n: int) -> slice:
        rate = ANALYSIS_SR / hop
        first = min(max(int(round(start_s * rate)), 0), max(n - 1, 0))
        return slice(first, max(first + 1, min(n, int(round(end_s * rate)))))

    def tempo(self, start_s: float, end_s: float, prior_bpm: float | None = None) -> tuple[float, float]:
        env = self.onset_env[self._frames(start_s, end_s, HOP, len(self.onset_env))]
        if prior_bpm:
            return estimate_tempo(env, ANALYSIS_SR / HOP, prior_bpm, CHUNK_PRIOR_OCTAVES, preferred=None)
        return estimate_tempo(env, ANALYSIS_SR / HOP)

    def describe(self, start_s: float = 0.0, end_s: float | None = None, track: dict | None = None) -> dict:
        """Descriptor dict of [start_s, end_s); pass the track's own descriptors when describing a chunk.

        A chunk shorter than MIN_TEMPO_SLICE_S holds too few beats for its own tempo estimate and
        inherits the track's tempo (at half its confidence); longer chunks are estimated with a prior
        centred on the track's tempo so that half/double-time choices agree within a track.
        """
        end_s = self.duration_s if end_s is None else min(end_s, self.duration_s)
        length = max(end_s - start_s, 1e-6)
        track_bpm = (track or {}).get("bpm") or None
        if track is not None and (length < MIN_TEMPO_SLICE_S or not track_bpm):
            bpm, confidence = float(track.get("bpm") or 0.0), 0.5 * float(track.get("bpm_confidence") or 0.0)
        else:
            bpm, confidence = self.tempo(start_s, end_s, track_bpm)
        chroma = self.chroma[:, self._frames(start_s, end_s, CHROMA_HOP, self.chroma.shape[1])].sum(axis=1)
        key, key_confidence = estimate_key(chroma, KEY_PROFILE)
        cols = self._frames(start_s, end_s, HOP, len(self.centroid_den))
        den = self.centroid_den[cols].sum()
        onset_times = self.onset_frames * HOP / ANALYSIS_SR
        n_onsets = int(((onset_times >= start_s) & (onset_times < end_s)).sum())
        return {
            "bpm": round(float(bpm), 2),
            "bpm_confidence": round(float(confidence), 3),
            "key": key,
            "camelot": key_to_camelot(key),
            "key_confidence": round(float(key_confidence), 3),
            "lufs": round(self.loudness.integrated_lufs(start_s, end_s), 2),
            "lra": round(self.loudness.lra(start_s, end_s), 2),
            "rms_db": round(self.loudness.rms_db(start_s, end_s), 2),
            "centroid_hz": round(float(self.centroid_num[cols].sum() / den) if den > 1e-9 else 0.0, 1),
            "onset_rate": round(n_onsets / length, 3),
        }


class FrameBuilder:
    """Builds a track's :class:`TrackFrames` from its blocks in two passes (see the module docstring).

    Feed every block to :meth:`first` (with its channel mean), call :meth:`end_first`, feed the mono
    blocks again to :meth:`second`, then take :meth:`result`. Between blocks it holds filter states,
    a few frames of overlap, one chroma segment (under 2 minutes at 22.05 kHz) and the per-frame results.
    """

    def __init__(self, sample_rate: int, channels: int) -> None:
        import librosa

        self.sample_rate = int(sample_rate)
        self.meter = LoudnessMeter(self.sample_rate, channels)
        self.freqs = librosa.fft_frequencies(sr=ANALYSIS_SR, n_fft=N_FFT)
        # melspectrogram(S=...) rebuilds this and picks an einsum path on every call, which costs ten
        # times the product itself on a block. Each mel filter covers a few dozen bins, so a sparse
        # product gives the same values (to float32 rounding) several times faster again.
        self.mel_basis = scipy.sparse.csr_matrix(librosa.filters.mel(sr=ANALYSIS_SR, n_fft=N_FFT, n_mels=N_MELS))
        self.tuning_stats = _TuningEstimate()
        self.centroid_num: list[np.ndarray] = []
        self.centroid_den: list[np.ndarray] = []
        self.loudest_db: np.float32 | None = None
        self.frames = 0  # native-rate frames of the first pass
        self.analysis_frames = 0  # samples at ANALYSIS_SR
        self._start_pass()

    def _start_pass(self) -> None:
        self.resampler = StreamResampler(self.sample_rate, ANALYSIS_SR)
        self.stft = FrameStream(N_FFT, HOP, min_length=N_FFT)

    def _magnitude(self, span: np.ndarray) -> np.ndarray:
        import librosa

        return np.abs(librosa.stft(span, n_fft=N_FFT, hop_length=HOP, center=False))

    def _mel_db(self, magnitude: np.ndarray) -> np.ndarray:
        import librosa

        return librosa.power_to_db(self.mel_basis @ magnitude**2, top_db=None)

    # ---- first pass: loudness, centroid sums, the loudest mel bin and the tuning
    def first(self, block: np.ndarray, mono: np.ndarray) -> None:
        self.meter.push(block)
        self.frames += block.shape[0]
        self._first_signal(self.resampler.push(mono))

    def _first_signal(self, y: np.ndarray) -> None:
        self.analysis_frames += y.size
        span = self.stft.push(y)
        if span.size:
            self._first_frames(self._magnitude(span))

    def _first_frames(self, magnitude: np.ndarray) -> None:
        self.centroid_num.append((self.freqs @ magnitude).astype(np.float64))
        self.centroid_den.append(magnitude.sum(axis=0).astype(np.float64))
        top = self._mel_db(magnitude).max()
        self.loudest_db = top if self.loudest_db is None else max(self.loudest_db, top)
        self.tuning_stats.add(magnitude)

    def end_first(self) -> None:
        self._first_signal(self.resampler.finish())
        span = self.stft.finish()
        if span.size:
            self._first_frames(self._magnitude(span))
        self.floor = self.loudest_db - np.float32(TOP_DB)
        self.chroma = _ChromaStream(self.tuning_stats.tuning(), self.analysis_frames)
        self.onset_parts: list[np.ndarray] = []
        self.prev_db: np.ndarray | None = None
        self._start_pass()

    # ---- second pass: onset envelope and chroma
    def second(self, mono: np.ndarray) -> None:
        self._second_signal(self.resampler.push(mono))

    def _second_signal(self, y: np.ndarray) -> None:
        self.chroma.push(y)
        span = self.stft.push(y)
        if span.size:
            self._second_frames(self._magnitude(span))

    def _second_frames(self, magnitude: np.ndarray) -> None:
        # librosa.onset.onset_strength (lag 1, no max filter, mean over bands) frame by frame.
        db = np.maximum(self._mel_db(magnitude), self.floor)
        both = db if self.prev_db is None else np.concatenate([self.prev_db, db], axis=1)
        self.onset_parts.append(np.mean(np.maximum(0.0, both[:, 1:] - both[:, :-1]), axis=0))
        self.prev_db = db[:, -1:]

    def result(self) -> TrackFrames:
        import librosa

        self._second_signal(self.resampler.finish())
        span = self.stft.finish()
        if span.size:
            self._second_frames(self._magnitude(span))
        n = self.stft.n_frames
        # onset_strength shifts the differences by lag + n_fft // (2 * hop) frames to centre them.
        env = np.concatenate([np.zeros(3, dtype=np.float32), *self.onset_parts])[:n].astype(np.float32)
        onsets = librosa.onset.onset_detect(onset_envelope=env, sr=ANALYSIS_SR, hop_length=HOP)
        return TrackFrames(
            duration_s=self.frames / float(self.sample_rate),
            loudness=self.meter.finish(),
            onset_env=env,
            onset_frames=np.asarray(onsets, dtype=np.int64),
            centroid_num=np.concatenate(self.centroid_num),
            centroid_den=np.concatenate(self.centroid_den),
            chroma=self.chroma.finish().astype(np.float32),
        )


def describe_track(
    samples: np.ndarray, sample_rate: int, chunk_ranges_ms: list[tuple[int, int]] | None = None
) -> tuple[dict, list[dict]]:
    """(track descriptors, one descriptor dict per chunk range) from one pass over the samples."""
    frames = TrackFrames.compute(samples, sample_rate)
    track = frames.describe()
    chunks = [frames.describe(s / 1000.0, e / 1000.0, track=track) for s, e in (chunk_ranges_ms or [])]
    return track, chunks


def is_finite_number(value: object) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)
