"""Display-side signal summaries: a log-mel image and min/max peak strips, in plain numpy.

These are pictures, not model features: they favour speed over fidelity and never feed the model.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from mixdesk.progress import Cancelled

N_MELS = 96
N_FFT = 1024
HOP = 256
F_MIN = 30.0


def hz_to_mel(hz):
    return 2595.0 * np.log10(1.0 + np.asarray(hz, dtype=np.float64) / 700.0)


def mel_to_hz(mel):
    return 700.0 * (10.0 ** (np.asarray(mel, dtype=np.float64) / 2595.0) - 1.0)


@lru_cache(maxsize=8)
def mel_filterbank(sample_rate: int, n_fft: int = N_FFT, n_mels: int = N_MELS) -> np.ndarray:
    """Triangular filters, shape (n_mels, n_fft // 2 + 1)."""
    f_max = sample_rate / 2.0
    edges = mel_to_hz(np.linspace(hz_to_mel(F_MIN), hz_to_mel(f_max), n_mels + 2))
    bins = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (bins[None, :] - lower) / np.maximum(centre - lower, 1e-9)
    falling = (upper - bins[None, :]) / np.maximum(upper - centre, 1e-9)
    return np.maximum(0.0, np.minimum(rising, falling)).astype(np.float32)


def mel_band_edges_hz(sample_rate: int, n_mels: int = N_MELS) -> np.ndarray:
    """Centre frequency of each mel band, for the axis labels."""
    return mel_to_hz(np.linspace(hz_to_mel(F_MIN), hz_to_mel(sample_rate / 2.0), n_mels + 2))[1:-1]


def log_mel(
    mono: np.ndarray,
    sample_rate: int,
    n_fft: int = N_FFT,
    hop: int = HOP,
    n_mels: int = N_MELS,
    block_frames: int = 4096,
    should_stop=None,
) -> np.ndarray:
    """Log-mel power in dB, shape (frames, n_mels), computed in blocks to bound memory."""
    signal = np.asarray(mono, dtype=np.float32)
    if signal.size < n_fft:
        signal = np.pad(signal, (0, n_fft - signal.size))
    n_frames = 1 + (signal.size - n_fft) // hop
    window = np.hanning(n_fft).astype(np.float32)
    bank = mel_filterbank(int(sample_rate), n_fft, n_mels).T
    frames = np.lib.stride_tricks.sliding_window_view(signal, n_fft)[::hop][:n_frames]
    out = np.empty((n_frames, n_mels), dtype=np.float32)
    for start in range(0, n_frames, block_frames):
        if should_stop is not None and should_stop():
            raise Cancelled()
        block = frames[start : start + block_frames] * window
        power = np.abs(np.fft.rfft(block, axis=1)).astype(np.float32) ** 2
        out[start : start + block_frames] = power @ bank
    return 10.0 * np.log10(np.maximum(out, 1e-10))


def peak_strip(mono: np.ndarray, bins: int) -> np.ndarray:
    """Max absolute amplitude in ``bins`` equal slices, shape (bins,), values in [0, 1]."""
    signal = np.abs(np.asarray(mono, dtype=np.float32))
    if signal.size == 0:
        return np.zeros(bins, dtype=np.float32)
    if signal.size < bins:
        signal = np.pad(signal, (0, bins - signal.size))
    usable = signal[: signal.size - signal.size % bins] if signal.size % bins else signal
    strip = usable.reshape(bins, -1).max(axis=1)
    return np.clip(strip, 0.0, 1.0).astype(np.float32)
