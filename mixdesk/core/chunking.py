"""Cutting tracks into chunks: on downbeats (N bars), on silence (pydub's exact semantics, vectorised) or
into fixed lengths.

pydub measures loudness on 16-bit integer samples over windows that start every ``seek_step`` ms, with
window edges at ``int(ms * rate / 1000)`` frames and the RMS truncated to an integer. The envelope below
keeps, per millisecond, the exact integer sum of squares up to that millisecond's first frame, so every
window's RMS is one subtraction and re-cutting with new parameters never touches the samples again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from mixdesk.config import ChunkingConfig
from mixdesk.core.audio import Audio

_MAX_AMPLITUDE = 32768.0  # pydub's max_possible_amplitude for 16-bit audio
_BLOCK_FRAMES = 1 << 20


@dataclass(frozen=True, eq=False)
class Envelope:
    """Per-millisecond cumulative energy of a track, enough to re-cut it in a few milliseconds.

    ``cum_energy[j]`` is the sum of squared 16-bit samples (all channels) before frame ``edges[j]``;
    frames past the end count as zeros, as pydub pads a slice's last missing frames.
    """

    cum_energy: np.ndarray  # int64, length duration_ms + 1
    edges: np.ndarray  # int64 frame index of each millisecond boundary, length duration_ms + 1
    channels: int
    sample_rate: int
    total_energy: int
    total_frames: int

    @property
    def duration_ms(self) -> int:
        return int(self.edges.shape[0] - 1)

    @property
    def dbfs(self) -> float:
        """Whole-track loudness exactly as pydub's ``AudioSegment.dBFS``."""
        samples = self.total_frames * self.channels
        if samples == 0:
            return float("-inf")
        rms = int(np.sqrt(self.total_energy / float(samples)))
        return float("-inf") if rms == 0 else 20.0 * np.log10(rms / _MAX_AMPLITUDE)

    def span_dbfs(self, start_ms: np.ndarray, end_ms: np.ndarray) -> np.ndarray:
        """RMS level in dBFS of each span [start_ms, end_ms), clipped to the track; -inf where a span is
        empty or digitally silent."""
        last = self.duration_ms
        lo = np.clip(np.asarray(start_ms, dtype=np.int64), 0, last)
        hi = np.maximum(np.clip(np.asarray(end_ms, dtype=np.int64), 0, last), lo)
        energy, count = _span_energy(self, lo, hi)
        with np.errstate(invalid="ignore", divide="ignore"):
            level = 10.0 * np.log10(energy / count) - 20.0 * np.log10(_MAX_AMPLITUDE)
        return np.where((count > 0) & (energy > 0), level, -np.inf)

    @classmethod
    def from_audio(cls, audio: Audio) -> "Envelope":
        return cls.from_samples(audio.samples, audio.sample_rate)

    @classmethod
    def from_samples(cls, samples: np.ndarray, sample_rate: int) -> "Envelope":
        if samples.ndim == 1:
            samples = samples[:, None]
        frames, channels = samples.shape
        duration_ms = round(1000 * (frames / sample_rate))
        edges = ms_edges(np.arange(duration_ms + 1), sample_rate)
        clipped = np.minimum(edges, frames)
        per_ms = np.zeros(duration_ms + 1, dtype=np.int64)
        # Blocks bound the temporaries; each block adds its frames' energy to the milliseconds they fall in.
        for start in range(0, frames, _BLOCK_FRAMES):
            stop = min(frames, start + _BLOCK_FRAMES)
            energy = _sample_energy(samples[start:stop])
            lo = int(np.searchsorted(clipped, start, side="right"))
            hi = int(np.searchsorted(clipped, stop, side="left"))
            offsets = np.concatenate(([0], clipped[lo:hi] - start)) * channels
            sums = np.add.reduceat(energy, offsets)
            # Bin sums stay far below 2**53, so float64 is exact; the running total needs int64.
            per_ms[lo - 1 : hi] += sums.astype(np.int64)
        cum = np.zeros(duration_ms + 1, dtype=np.int64)
        np.cumsum(per_ms[:-1], out=cum[1:])
        total = int(cum[-1] + per_ms[-1])
        return cls(cum, edges, int(channels), int(sample_rate), total, int(frames))


def _sample_energy(block: np.ndarray) -> np.ndarray:
    """Squared 16-bit sample values of a block, interleaved, as float64 (exact for 16-bit integers)."""
    # float32 decoded from 16-bit PCM is k / 32768 exactly, so rounding recovers pydub's integers.
    ints = np.rint(block * np.float32(_MAX_AMPLITUDE))
    np.clip(ints, -32768, 32767, out=ints)
    energy = ints.ravel().astype(np.float64)
    energy *= energy
    return energy


def ms_edges(ms: np.ndarray, sample_rate: int) -> np.ndarray:
    # Same float arithmetic as pydub's frame_count(ms=...) followed by int().
    return (ms.astype(np.float64) * (sample_rate / 1000.0)).astype(np.int64)


def _span_energy(env: Envelope, starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Summed squared samples (float64) and the number of samples, all channels, of each span
    [starts, ends) in milliseconds."""
    energy = (env.cum_energy[ends] - env.cum_energy[starts]).astype(np.float64)
    return energy, (env.edges[ends] - env.edges[starts]) * env.channels


def _window_rms(env: Envelope, starts: np.ndarray, length_ms: int) -> np.ndarray:
    energy, count = _span_energy(env, starts, starts + length_ms)
    with np.errstate(invalid="ignore", divide="ignore"):
        rms = np.floor(np.sqrt(energy / count))
    return np.where(count > 0, rms, 0.0)


def detect_silence(env: Envelope, min_silence_len: int, silence_thresh: float, seek_step: int = 1) -> list[list[int]]:
    seg_len = env.duration_ms
    if seg_len < min_silence_len:
        return []
    threshold = 10 ** (float(silence_thresh) / 20) * _MAX_AMPLITUDE
    last_start = seg_len - min_silence_len
    starts = np.arange(0, last_start + 1, seek_step, dtype=np.int64)
    if last_start % seek_step:
        starts = np.append(starts, last_start)
    silent = starts[_window_rms(env, starts, min_silence_len) <= threshold]
    if silent.size == 0:
        return []
    gaps = np.diff(silent)
    breaks = np.flatnonzero((gaps != seek_step) & (gaps > min_silence_len))
    range_starts = np.concatenate(([silent[0]], silent[breaks + 1]))
    range_ends = np.concatenate((silent[breaks], [silent[-1]])) + min_silence_len
    return [[int(a), int(b)] for a, b in zip(range_starts, range_ends)]


def detect_nonsilent(env: Envelope, min_silence_len: int, silence_thresh: float, seek_step: int = 1) -> list[list[int]]:
    """The ranges pydub's ``silence.detect_nonsilent`` returns on the same audio, in milliseconds."""
    silent_ranges = detect_silence(env, min_silence_len, silence_thresh, seek_step)
    seg_len = env.duration_ms
    if not silent_ranges:
        return [[0, seg_len]]
    if silent_ranges[0][0] == 0 and silent_ranges[0][1] == seg_len:
        return []
    ranges, prev_end = [], 0
    for start, end in silent_ranges:
        ranges.append([prev_end, start])
        prev_end = end
    if silent_ranges[-1][1] != seg_len:
        ranges.append([prev_end, seg_len])
    if ranges[0] == [0, 0]:
        ranges.pop(0)
    return ranges


def _keep_silence(ranges: list[list[int]], keep_ms: int, seg_len: int) -> list[tuple[int, int]]:
    # split_on_silence: pad each range, give overlapping padding to both sides evenly, clip to the track.
    padded = [[start - keep_ms, end + keep_ms] for start, end in ranges]
    for left, right in zip(padded, padded[1:]):
        if right[0] < left[1]:
            left[1] = (left[1] + right[0]) // 2
            right[0] = left[1]
    return [(max(start, 0), min(end, seg_len)) for start, end in padded]


def _fixed_ranges(seg_len: int, length_s: float) -> list[tuple[int, int]]:
    step = max(1, int(round(length_s * 1000)))
    return [(start, min(start + step, seg_len)) for start in range(0, seg_len, step)]


def _merge_short(ranges: list[tuple[int, int]], min_ms: int) -> list[tuple[int, int]]:
    """Merge chunks shorter than ``min_ms`` into the neighbour across the smaller gap."""
    chunks = [list(r) for r in ranges]
    while len(chunks) > 1:
        lengths = [end - start for start, end in chunks]
        shortest = int(np.argmin(lengths))
        if lengths[shortest] >= min_ms:
            break
        gap_before = chunks[shortest][0] - chunks[shortest - 1][1] if shortest > 0 else None
        gap_after = chunks[shortest + 1][0] - chunks[shortest][1] if shortest + 1 < len(chunks) else None
        if gap_after is None or (gap_before is not None and gap_before <= gap_after):
            chunks[shortest - 1][1] = chunks[shortest][1]
        else:
            chunks[shortest + 1][0] = chunks[shortest][0]
        del chunks[shortest]
    return [(start, end) for start, end in chunks]


def _split_long(env: Envelope, ranges: list[tuple[int, int]], max_ms: int) -> list[tuple[int, int]]:
    """Split chunks longer than ``max_ms`` into near-equal parts, each cut at the quietest 10 ms nearby."""
    out: list[tuple[int, int]] = []
    for start, end in ranges:
        parts = -(-(end - start) // max_ms)
        if parts <= 1:
            out.append((start, end))
            continue
        cuts, part_len = [start], (end - start) / parts
        for k in range(1, parts):
            ideal = int(start + k * part_len)
            slack = int(part_len * 0.1)
            lo, hi = max(cuts[-1] + 1, ideal - slack), min(end - 10, ideal + slack)
            if hi - lo < 10:
                cuts.append(ideal)
                continue
            candidates = np.arange(lo, hi)
            cuts.append(int(candidates[np.argmin(_window_rms(env, candidates, 10))]))
        cuts.append(end)
        out.extend(zip(cuts[:-1], cuts[1:]))
    return out


def _keep_all(nonsilent: list[list[int]], seg_len: int) -> list[tuple[int, int]]:
    """Chunks that cover the whole track, each cut in the middle of the silence before the next."""
    if not nonsilent:
        return [(0, seg_len)] if seg_len > 0 else []
    cuts = [0] + [(end + start) // 2 for (_, end), (start, _) in zip(nonsilent, nonsilent[1:])] + [seg_len]
    return list(zip(cuts[:-1], cuts[1:]))


def bar_ranges(seg_len: int, downbeats_ms: Sequence[float], bars_per_chunk: int) -> list[tuple[int, int]]:
    """Chunks of ``bars_per_chunk`` bars, cut on downbeats; the audio before the first downbeat (a
    pickup or intro) and after the last full group stay as chunks of their own, so nothing is lost."""
    bars = sorted({int(round(t)) for t in downbeats_ms if 0 <= round(t) < seg_len})
    if not bars:
        return [(0, seg_len)] if seg_len > 0 else []
    cuts = bars[::bars_per_chunk]
    cuts = ([0] if cuts[0] > 0 else []) + cuts + [seg_len]
    return [(a, b) for a, b in zip(cuts[:-1], cuts[1:]) if b > a]


def chunk_ranges(
    env: Envelope, config: ChunkingConfig, downbeats_ms: Sequence[float] | None = None
) -> list[tuple[int, int]]:
    """Chunks of a track as (start_ms, end_ms), after the length guards of ``config``.

    ``bars`` mode cuts on ``downbeats_ms`` and takes :attr:`ChunkingConfig.silence_fallback` when there
    are none (a track without a confident beat grid). Bar chunks are never split by ``max_chunk_ms``:
    a cut off the bar line would break the very alignment they exist for.
    """
    seg_len = env.duration_ms
    if config.mode == "bars" and (downbeats_ms is None or len(downbeats_ms) < 2):
        config = config.silence_fallback
    if config.mode == "bars":
        ranges = bar_ranges(seg_len, downbeats_ms or (), config.bars_per_chunk)
    elif config.mode == "fixed":
        ranges = _fixed_ranges(seg_len, config.fixed_length_s)
    else:
        thresh = config.silence_thresh_db + (env.dbfs if config.relative else 0.0)
        nonsilent = detect_nonsilent(env, config.min_silence_ms, thresh, config.seek_step_ms)
        ranges = (
            _keep_all(nonsilent, seg_len)
            if config.keep_all
            else _keep_silence(nonsilent, config.keep_silence_ms, seg_len)
        )
    ranges = [(s, e) for s, e in ranges if e > s]
    if config.min_chunk_ms:
        ranges = _merge_short(ranges, config.min_chunk_ms)
    if config.max_chunk_ms and config.mode != "bars":
        ranges = _split_long(env, ranges, config.max_chunk_ms)
    return ranges


def coverage(ranges: Sequence[tuple[int, int]], seg_len: int) -> float:
    """Share of the track that some chunk covers (1.0: no audio left out)."""
    if seg_len <= 0:
        return 1.0
    covered, reach = 0, 0
    for start, end in sorted(ranges):
        start = max(start, reach)
        if end > start:
            covered += end - start
            reach = end
    return covered / seg_len
