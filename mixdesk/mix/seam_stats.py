"""Measurements around a boundary in a signal: level either side, spectral flux, sample-step clicks."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_FLOOR_DB = -100.0
PREDICTION_ORDER = 24  # for this many samples after a splice the predictor still sees the old side


@dataclass(frozen=True)
class SeamSettings:
    window_ms: float = 250.0  # level windows either side of a seam
    n_fft: int = 2048
    hop: int = 512
    click_context_ms: float = 250.0  # local step distribution either side of the seam region
    click_factor: float = 1.5  # a click rises this many times past the local 99.9th percentile
    click_floor: float = 0.01  # and by at least this much (full scale 1.0): quiet hiss never counts
    click_guard_ms: float = 5.0
    click_isolation: float = 2.5  # and this many times any other value within 1 ms either side
    # A mix click whose source stands out as much within this of the same place (stretching followed)
    # is the recording's own; a splice that close to an attack of the recording is masked by it anyway.
    click_source_tolerance_ms: float = 5.0
    max_natural: int = 300


class FrameFeatures:
    """Per-hop energy and per-frame spectral flux of a signal fed in blocks of any size."""

    def __init__(self, n_fft: int = 2048, hop: int = 512) -> None:
        self.n_fft, self.hop = n_fft, hop
        self._window = np.hanning(n_fft).astype(np.float32)
        self._mono = np.zeros(0, dtype=np.float32)
        self._power = np.zeros(0, dtype=np.float64)
        self._prev: np.ndarray | None = None
        self._energy: list[np.ndarray] = []
        self._flux: list[np.ndarray] = []

    def feed(self, block: np.ndarray) -> None:
        block = block if block.ndim == 2 else block[:, None]
        power = np.concatenate([self._power, np.mean(np.square(block, dtype=np.float64), axis=1)])
        whole = len(power) // self.hop * self.hop
        self._energy.append(power[:whole].reshape(-1, self.hop).mean(axis=1))
        self._power = power[whole:]
        mono = np.concatenate([self._mono, block.mean(axis=1, dtype=np.float32)])
        count = (len(mono) - self.n_fft) // self.hop + 1
        if count > 0:
            frames = np.lib.stride_tricks.sliding_window_view(mono, self.n_fft)[:: self.hop][:count]
            mags = np.log1p(100.0 * np.abs(np.fft.rfft(frames * self._window, axis=1)))
            prev = mags[:1] if self._prev is None else self._prev[None]
            diffs = np.diff(np.concatenate([prev, mags]), axis=0)
            self._flux.append(np.maximum(diffs, 0).mean(axis=1))
            self._prev = mags[-1]
            mono = mono[count * self.hop :]
        self._mono = mono

    @property
    def energy(self) -> np.ndarray:
        return np.concatenate(self._energy) if self._energy else np.zeros(0)

    @property
    def flux(self) -> np.ndarray:
        return np.concatenate(self._flux) if self._flux else np.zeros(0)


def level_db(energy: np.ndarray, start: int, stop: int, hop: int) -> float:
    """RMS level in dBFS of the hops covering samples [start, stop)."""
    lo, hi = max(0, start // hop), min(len(energy), max(start // hop + 1, stop // hop))
    if hi <= lo:
        return _FLOOR_DB
    mean = float(np.mean(energy[lo:hi]))
    return max(_FLOOR_DB, 10 * np.log10(mean)) if mean > 0 else _FLOOR_DB


def peak_flux(flux: np.ndarray, start: int, stop: int, n_fft: int, hop: int) -> float:
    """Largest flux of the frames whose centre lies within [start - hop, stop + hop]."""
    centres = np.arange(len(flux)) * hop + n_fft // 2
    inside = (centres >= start - hop) & (centres <= stop + hop)
    return float(flux[inside].max()) if inside.any() else 0.0


def sample_steps(samples: np.ndarray) -> np.ndarray:
    """|x[n] - x[n-1]|, the largest over channels."""
    samples = samples if samples.ndim == 2 else samples[:, None]
    if len(samples) < 2:
        return np.zeros(0, dtype=np.float32)
    return np.abs(np.diff(samples, axis=0)).max(axis=1)


def prediction_residual(samples: np.ndarray, order: int = PREDICTION_ORDER) -> np.ndarray:
    """|x[n] - prediction from the previous ``order`` samples|, the largest over channels.

    A linear predictor fitted to the excerpt follows tones and drum decays alike, so what it cannot
    predict stands out: a splice shows up as a spike however busy the music around it is, where a raw
    sample step drowns in the steps of hi-hats and noise.
    """
    from scipy.linalg import solve_toeplitz
    from scipy.signal import lfilter

    samples = samples if samples.ndim == 2 else samples[:, None]
    out = np.zeros(len(samples), dtype=np.float64)
    if len(samples) <= 2 * order:
        return np.abs(np.diff(samples, axis=0, prepend=samples[:1])).max(axis=1) if len(samples) else out
    for channel in samples.T.astype(np.float64):
        spectrum = np.fft.rfft(channel, 2 * len(channel))
        autocorr = np.fft.irfft(np.abs(spectrum) ** 2)[: order + 1]
        if autocorr[0] <= 1e-12:
            continue
        autocorr[0] *= 1 + 1e-6  # a touch of white noise keeps the system well conditioned
        coeffs = solve_toeplitz(autocorr[:order], autocorr[1 : order + 1])
        out = np.maximum(out, np.abs(lfilter(np.concatenate([[1.0], -coeffs]), [1.0], channel)))
    return out


def count_clicks(steps: np.ndarray, lo: int, hi: int, sr: int, settings: SeamSettings) -> tuple[int, float]:
    """Clicks inside [lo, hi) of ``steps`` (a prediction residual or sample steps), judged locally.

    A click is a lone spike: past ``click_factor`` times the 99.9th percentile outside the region and
    ``click_isolation`` times every value within 1 ms of it (bar the ``PREDICTION_ORDER`` samples right after it,
    which the predictor still fills from the other side of the splice). The second test tells a
    discontinuity from a drum or noise onset, whose neighbourhood is loud too. Returns the number of
    clicks (spikes closer than 1 ms count once) and the largest value inside the region over the outside
    reference.
    """
    found, ratio = click_positions(steps, lo, hi, sr, settings)
    return len(found), ratio


def click_positions(steps: np.ndarray, lo: int, hi: int, sr: int, settings: SeamSettings) -> tuple[list[int], float]:
    """Where the clicks of :func:`count_clicks` are: the first sample of each (spikes closer than 1 ms
    are one click), and the same ratio."""
    guard = int(settings.click_guard_ms * sr / 1000)
    lo, hi = max(0, lo - guard), min(len(steps), hi + guard)
    if hi <= lo:
        return [], 0.0
    outside = np.concatenate([steps[:lo], steps[hi:]])
    reference = float(np.percentile(outside, 99.9)) if outside.size else 0.0
    inside = steps[lo:hi]
    threshold = max(settings.click_factor * reference, settings.click_floor)
    hits = [int(n) for n in np.flatnonzero(inside > threshold) + lo if _lone(steps, int(n), sr, settings)]
    firsts = [n for k, n in enumerate(hits) if k == 0 or n - hits[k - 1] > sr // 1000]
    ratio = float(inside.max() / reference) if reference > 0 and inside.size else 0.0
    return firsts, ratio


def _lone(steps: np.ndarray, n: int, sr: int, settings: SeamSettings) -> bool:
    half = max(16, sr // 1000)
    before = steps[max(0, n - half) : max(0, n - 2)]
    after = steps[n + PREDICTION_ORDER + 1 : n + PREDICTION_ORDER + half]
    around = np.concatenate([before, after])
    return around.size == 0 or steps[n] > settings.click_isolation * float(np.max(around))
