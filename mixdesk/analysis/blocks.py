"""Audio as a sequence of blocks, and the block-wise pieces the streaming analysis is built from.

A *block source* is anything with ``sample_rate``, ``channels``, ``shape`` and an ``__iter__`` that
yields float32 (frames, channels) blocks; it can be read more than once (the analysis makes two
passes). :class:`ArrayBlocks` wraps samples already in memory, :class:`FileBlocks` a file decoded a
block at a time, so that memory follows the block size and not the length of the track.

:class:`StreamResampler` and :class:`FrameStream` reproduce, block by block, what
``scipy.signal.resample_poly`` and a centred ``librosa.stft`` do to a whole signal.
"""

from __future__ import annotations

from math import gcd
from pathlib import Path
from typing import Callable, Iterator, Protocol, runtime_checkable

import numpy as np

from mixdesk.progress import StopFn, check_stop

ARRAY_BLOCK_S = 10.0
# Blocks read from files: 6 s at 44.1 kHz. Per-block costs (filter design, librosa set-up) stay small
# next to the work, and a block is a few MB.
FILE_BLOCK_FRAMES = 1 << 18


def block_mono(block: np.ndarray) -> np.ndarray:
    """The float32 channel mean of a (frames, channels) block, equal to ``block.mean(axis=1)``.

    Column by column, in the order numpy sums a short row and with its division, at a third of the
    cost of a mean over a short last axis.
    """
    if block.shape[1] == 1:
        return block[:, 0]
    total = block[:, 0].astype(np.float32)
    for c in range(1, block.shape[1]):
        total += block[:, c]
    return np.true_divide(total, block.shape[1], out=total, casting="unsafe")


@runtime_checkable
class BlockSource(Protocol):
    """Audio that can be read, more than once, as float32 (frames, channels) blocks."""

    @property
    def sample_rate(self) -> int: ...

    @property
    def channels(self) -> int: ...

    @property
    def shape(self) -> tuple[int, int]: ...

    def __iter__(self) -> Iterator[np.ndarray]: ...


def as_source(samples: np.ndarray | BlockSource, sample_rate: int) -> BlockSource:
    """`samples` itself if it is a block source, else the array wrapped in :class:`ArrayBlocks`."""
    if isinstance(samples, BlockSource):  # an array has no channels
        return samples
    return ArrayBlocks(samples, sample_rate)


class ArrayBlocks:
    """Samples in memory, (frames, channels) or 1-D, handed out as views of ARRAY_BLOCK_S seconds."""

    def __init__(self, samples: np.ndarray, sample_rate: int, block_s: float = ARRAY_BLOCK_S) -> None:
        x = np.asarray(samples, dtype=np.float32)
        self.samples = x if x.ndim == 2 else x.reshape(-1, 1)
        self.sample_rate = int(sample_rate)
        self.block = max(1, int(block_s * self.sample_rate))

    @property
    def channels(self) -> int:
        return int(self.samples.shape[1])

    @property
    def shape(self) -> tuple[int, int]:
        frames, channels = self.samples.shape
        return int(frames), int(channels)

    def __iter__(self) -> Iterator[np.ndarray]:
        for start in range(0, self.samples.shape[0], self.block):
            yield self.samples[start : start + self.block]


class FileBlocks:
    """A file read with ``mixdesk.core.audio.read_blocks`` each time it is iterated.

    ``shape`` is (frames, channels) as the header announces them (an estimate for some formats);
    ``frames_read`` is the exact count once a read has finished. A read that finds a different
    length than the one before it means the file changed in between, and raises AudioError.

    ``tap(fn)`` hands every block of the next read to ``fn`` as well: a second consumer
    (the beat tracker) shares the analysis' decode instead of decoding the file again.
    """

    def __init__(self, path: str | Path, should_stop: StopFn | None = None) -> None:
        from mixdesk.core.audio import probe

        self.path = Path(path)
        info = probe(self.path)
        self.sample_rate = info.sample_rate
        self.channels = info.channels
        self.duration_s = info.duration_s
        self.frames_read: int | None = None
        self._should_stop = should_stop
        self._taps: list[Callable[[np.ndarray], None]] = []

    @property
    def shape(self) -> tuple[int, int]:
        frames = self.frames_read if self.frames_read is not None else int(round(self.duration_s * self.sample_rate))
        return frames, self.channels

    def tap(self, fn: Callable[[np.ndarray], None]) -> None:
        self._taps.append(fn)

    def __iter__(self) -> Iterator[np.ndarray]:
        from mixdesk.core.audio import AudioError, read_blocks

        taps, self._taps = self._taps, []
        got = 0
        for block in read_blocks(self.path, FILE_BLOCK_FRAMES):
            check_stop(self._should_stop)
            if block.shape[1] != self.channels:
                raise AudioError(self.path, f"decodes to {block.shape[1]} channels, its header says {self.channels}")
            for fn in taps:
                fn(block)
            got += block.shape[0]
            yield block
        if self.frames_read is not None and got != self.frames_read:
            raise AudioError(self.path, "changed while it was being analysed")
        self.frames_read = got


class StreamResampler:
    """``scipy.signal.resample_poly`` of a 1-D signal, fed in pieces, with the same output samples.

    resample_poly is a linear filter with a finite kernel, zero outside the signal. A segment of the
    input that starts on a multiple of ``down`` maps onto the output grid exactly, so each call
    resamples what has arrived plus enough context on either side and keeps only the outputs whose
    kernels lie wholly inside it; the context is the only thing kept between calls.
    """

    def __init__(self, sr_from: int, sr_to: int) -> None:
        divisor = gcd(int(sr_from), int(sr_to))
        self.up, self.down = int(sr_to) // divisor, int(sr_from) // divisor
        half_len = 10 * max(self.up, self.down)  # resample_poly's default kernel half-length (upsampled)
        context = half_len // self.up + 2
        self.context = -(-context // self.down) * self.down
        self.buf = np.zeros(0, dtype=np.float32)
        self.start = 0  # input index of buf[0], a multiple of down
        self.fed = 0
        self.emitted = 0  # next output index

    def _resampled(self) -> np.ndarray:
        from scipy.signal import resample_poly

        return resample_poly(self.buf, self.up, self.down).astype(np.float32, copy=False)

    def push(self, x: np.ndarray) -> np.ndarray:
        if self.up == self.down:
            return np.asarray(x, dtype=np.float32)
        self.buf = np.concatenate([self.buf, np.asarray(x, dtype=np.float32)])
        self.fed += len(x)
        stop = max(0, (self.fed - self.context) * self.up // self.down)
        if stop <= self.emitted:
            return np.zeros(0, dtype=np.float32)
        offset = self.start * self.up // self.down
        out = self._resampled()[self.emitted - offset : stop - offset]
        self.emitted = stop
        keep = max(self.start, (self.emitted * self.down // self.up - self.context) // self.down * self.down)
        self.buf = self.buf[keep - self.start :]
        self.start = keep
        return out

    def finish(self) -> np.ndarray:
        """The outputs still owed; the total is resample_poly's length, ceil(fed * up / down)."""
        if self.up == self.down:
            return np.zeros(0, dtype=np.float32)
        total = -(-self.fed * self.up // self.down)
        if total <= self.emitted:
            return np.zeros(0, dtype=np.float32)
        offset = self.start * self.up // self.down
        out = self._resampled()[self.emitted - offset : total - offset]
        self.emitted = total
        self.buf = np.zeros(0, dtype=np.float32)
        return out


class FrameStream:
    """Frames of a centred STFT (librosa's ``center=True``, zero padded) from a signal fed in pieces.

    Frame ``t`` covers samples ``t*hop - n_fft/2`` to ``t*hop + n_fft/2``. ``push`` returns the span of
    samples holding the frames that became complete, for ``librosa.stft(span, center=False)`` (so the
    windowing and FFT are librosa's own), ``finish`` the span of the rest.
    A signal shorter than ``min_length`` is treated as zero padded to it, as the whole-array code does.
    """

    def __init__(self, n_fft: int, hop: int, min_length: int = 0) -> None:
        self.n_fft, self.hop, self.min_length = n_fft, hop, min_length
        self.buf = np.zeros(n_fft // 2, dtype=np.float32)
        self.start = -(n_fft // 2)  # signal index of buf[0]
        self.fed = 0
        self.next_frame = 0

    def _frames(self, stop: int) -> np.ndarray:
        first = self.next_frame
        if stop <= first:
            return np.zeros(0, dtype=np.float32)
        offset = first * self.hop - self.n_fft // 2 - self.start
        span = self.buf[offset : offset + (stop - first - 1) * self.hop + self.n_fft].copy()
        self.next_frame = stop
        keep = self.next_frame * self.hop - self.n_fft // 2 - self.start
        if keep > 0:
            self.buf = self.buf[keep:]
            self.start += keep
        return span

    def push(self, x: np.ndarray) -> np.ndarray:
        self.buf = np.concatenate([self.buf, np.asarray(x, dtype=np.float32)])
        self.fed += len(x)
        end = self.start + len(self.buf)
        return self._frames(max(0, (end - self.n_fft // 2) // self.hop + 1))

    @property
    def n_frames(self) -> int:
        """Frames of the whole signal once it has all been fed."""
        return 1 + max(self.fed, self.min_length) // self.hop

    def finish(self) -> np.ndarray:
        total = self.n_frames
        need = (total - 1) * self.hop + self.n_fft // 2 - (self.start + len(self.buf))
        if need > 0:
            self.buf = np.concatenate([self.buf, np.zeros(need, dtype=np.float32)])
        return self._frames(total)
