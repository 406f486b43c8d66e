"""The beat tracker's front end: audio blocks in, onset envelopes and a coarse chroma out.

Spectral flux on 5 ms frames in three band groups (kick, body, cymbals), a frame energy and a chroma
every 80 ms, computed block by block: only these small per-frame series are kept (well under 1 MB per
minute of audio), never a full-length spectrogram.
"""

from __future__ import annotations

import math
from typing import Optional

import numpy as np
import scipy.fft
import scipy.sparse
from scipy.ndimage import maximum_filter1d

HOP_S = 0.005  # 5 ms frames: the envelope's own resolution, before sub-frame refinement
WINDOW_S = 0.0232  # flux window: short, so that onsets are sharp in time
CHROMA_WINDOW_S = 0.093  # harmony needs frequency resolution, not time resolution
CHROMA_EVERY = 16  # one chroma frame per 16 envelope frames (80 ms): several per beat
FLUX_LAG = 2  # compare with the frame 10 ms back: a single 5 ms step barely changes a 23 ms window
# Flux is summed within three band groups (kick and bass, snare body and most instruments, cymbals),
# each then normalised by its own strong onsets and weighted toward the kick, so that broadband
# offbeat hi-hats (many bands, often as loud in flux as the kick) cannot pull the beat onto the
# offbeat. Music without a kick keeps its beat in the body group, which then leads alone.
GROUP_EDGES_HZ = (200.0, 2500.0)
GROUP_WEIGHTS = (1.0, 0.4, 0.2)
BLOCK_FRAMES = 1024  # envelope frames computed per batch: bounds the STFT scratch memory


def _band_matrix(sr: int, n_fft: int, per_octave: int = 12, fmin: float = 30.0) -> tuple[np.ndarray, np.ndarray]:
    """Triangular log-frequency bands over rfft bins, (bins, bands), and each band's centre in Hz.

    Bands narrower than a bin collapse onto the bin, so low bands at short windows are merged.
    """
    # The same top at every common rate (22.05 kHz and up), so that rates agree; nothing above
    # 10 kHz tells beats apart that the bands below miss.
    fmax = min(9900.0, 0.45 * sr)
    freqs = np.arange(n_fft // 2 + 1) * sr / n_fft
    n_edges = int(per_octave * math.log2(fmax / fmin)) + 2
    edges = fmin * 2.0 ** (np.arange(n_edges) / per_octave)
    bins = np.unique(np.round(edges * n_fft / sr).astype(int))
    bins = bins[bins < freqs.size]
    fb = np.zeros((freqs.size, max(bins.size - 2, 1)), dtype=np.float32)
    for j in range(bins.size - 2):
        lo, mid, hi = bins[j], bins[j + 1], bins[j + 2]
        fb[lo : mid + 1, j] = np.linspace(0.0, 1.0, mid - lo + 1)
        fb[mid : hi + 1, j] = np.linspace(1.0, 0.0, hi - mid + 1)
        fb[mid, j] = 1.0
    centres = bins[1:-1] * sr / n_fft if bins.size > 2 else np.array([fmin])
    return fb, centres


def _chroma_matrix(sr: int, n_fft: int) -> np.ndarray:
    """(bins, 12) map of rfft bins between 80 Hz and 5 kHz onto pitch classes."""
    freqs = np.arange(n_fft // 2 + 1) * sr / n_fft
    out = np.zeros((freqs.size, 12), dtype=np.float32)
    ok = (freqs >= 80.0) & (freqs <= min(5000.0, 0.45 * sr))
    pc = np.mod(np.round(12.0 * np.log2(freqs[ok] / 440.0)).astype(int) + 9, 12)
    out[np.flatnonzero(ok), pc] = 1.0
    return out


class Frontend:
    """Streaming STFT front end: mono blocks in, onset envelopes and chroma out.

    Frame ``i`` is centred on sample ``i * hop``; the start of the signal is zero padded so frame 0
    exists. Only the samples the next frames still need are buffered.
    """

    def __init__(self, sample_rate: int) -> None:
        self.sr = int(sample_rate)
        self.hop = max(1, int(round(self.sr * HOP_S)))
        self.n_fft = max(16, int(scipy.fft.next_fast_len(int(round(self.sr * WINDOW_S)))))
        self.n_chroma = max(32, int(scipy.fft.next_fast_len(int(round(self.sr * CHROMA_WINDOW_S)))))
        self.half = max(self.n_fft, self.n_chroma) // 2
        self.window = np.hanning(self.n_fft + 2)[1:-1].astype(np.float32)
        self.chroma_window = np.hanning(self.n_chroma + 2)[1:-1].astype(np.float32)
        fb, centres = _band_matrix(self.sr, self.n_fft)
        # Bins above the top band carry nothing the bands use.
        self.n_bins = int(np.flatnonzero(fb.any(axis=1))[-1]) + 1
        # Each triangle covers a few bins: a sparse product is some 20x cheaper than a dense one.
        self.bands = scipy.sparse.csr_matrix(fb[: self.n_bins].T)
        self.group = np.searchsorted(np.asarray(GROUP_EDGES_HZ), centres)
        self.group_map = np.zeros((centres.size, len(GROUP_EDGES_HZ) + 1), dtype=np.float32)
        self.group_map[np.arange(centres.size), self.group] = 1.0
        self.chroma_map = scipy.sparse.csr_matrix(_chroma_matrix(self.sr, self.n_chroma).T)
        # Gain-independent compression: a scaled signal only shifts the log, which the flux removes.
        self.scale = 1000.0 / float(self.window.sum())
        self.buf = np.zeros(self.half, dtype=np.float32)
        self.buf_start = -self.half  # absolute sample index of buf[0]
        self.next_frame = 0
        self.samples = 0
        self.prev = np.zeros((FLUX_LAG, fb.shape[1]), dtype=np.float32)
        self.flux: list[np.ndarray] = []  # (frames, groups) blocks
        self.energy: list[np.ndarray] = []
        self.chroma: list[np.ndarray] = []

    @property
    def frame_rate(self) -> float:
        return self.sr / self.hop

    def push(self, mono: np.ndarray) -> None:
        self.samples += mono.size
        self.buf = np.concatenate([self.buf, mono.astype(np.float32, copy=False)])
        self._drain()

    def close(self) -> None:
        """Flush: pad with zeros so that every frame centred inside the signal is computed."""
        n_frames = self.samples // self.hop + 1
        need = (n_frames - 1) * self.hop + self.half + 1 - (self.buf_start + self.buf.size)
        if need > 0:
            self.buf = np.concatenate([self.buf, np.zeros(need, dtype=np.float32)])
        self._drain(limit=n_frames)

    def _drain(self, limit: Optional[int] = None) -> None:
        end = self.buf_start + self.buf.size
        last = (end - self.half - 1) // self.hop  # last frame whose widest window is complete
        if limit is not None:
            last = min(last, limit - 1)
        while self.next_frame <= last:
            stop = min(last + 1, self.next_frame + BLOCK_FRAMES)
            self._frames(self.next_frame, stop)
            self.next_frame = stop
        keep_from = self.next_frame * self.hop - self.half - self.buf_start
        if keep_from > 0:
            self.buf = self.buf[keep_from:].copy()
            self.buf_start += keep_from

    def _frames(self, first: int, stop: int) -> None:
        idx = np.arange(first, stop)
        start = first * self.hop - self.n_fft // 2 - self.buf_start
        # A strided view (no copy) of the frames; the window multiply makes the only copy.
        view = np.lib.stride_tricks.sliding_window_view(self.buf[start:], self.n_fft)[:: self.hop][: idx.size]
        frames = view * self.window
        mag = np.abs(scipy.fft.rfft(frames, axis=1)[:, : self.n_bins])
        # Energy of the hop around each frame centre: cheaper than the windowed frame and as telling.
        centre = view[:, self.n_fft // 2 - self.hop // 2 : self.n_fft // 2 - self.hop // 2 + self.hop]
        energy = np.square(centre, dtype=np.float32).mean(axis=1)
        bands = np.log1p(self.scale * (self.bands @ mag.T).T)
        # Superflux: the reference frame is max-filtered across bands so vibrato does not count as onset.
        ref_src = np.concatenate([self.prev, bands])
        ref = maximum_filter1d(ref_src, size=3, axis=1)[: bands.shape[0]]
        diff = np.maximum(bands - ref, 0.0)
        self.prev = ref_src[-FLUX_LAG:]
        self.flux.append((diff @ self.group_map).astype(np.float32))
        self.energy.append(energy.astype(np.float32))
        chroma_idx = idx[idx % CHROMA_EVERY == 0]
        if chroma_idx.size:
            long_view = np.lib.stride_tricks.sliding_window_view(self.buf, self.n_chroma)
            long_frames = long_view[chroma_idx * self.hop - self.n_chroma // 2 - self.buf_start] * self.chroma_window
            spec = np.abs(scipy.fft.rfft(long_frames, axis=1))
            self.chroma.append((self.chroma_map @ spec.T).T.astype(np.float32))

    def envelopes(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Band-group flux (frames, groups), frame energy (frames,), chroma (chroma frames, 12)."""

        def cat(parts: list[np.ndarray], shape: tuple[int, ...]) -> np.ndarray:
            return np.concatenate(parts) if parts else np.zeros(shape, np.float32)

        return (cat(self.flux, (0, self.group_map.shape[1])), cat(self.energy, (0,)), cat(self.chroma, (0, 12)))
