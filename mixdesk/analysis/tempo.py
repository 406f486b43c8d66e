"""Tempo from an onset-strength envelope: autocorrelation, a tempo prior, and sub-frame refinement.

The coarse period is the prior-weighted autocorrelation peak. Its lag is then refined from the peaks at
whole multiples of the period (parabolic interpolation at each), which turns the frame grid's coarse
resolution (about 6 BPM at 180 BPM for 23 ms frames) into a fraction of a BPM on any clip of a few bars.
"""

from __future__ import annotations

import math

import numpy as np

MIN_BPM = 40.0
MAX_BPM = 240.0
PRIOR_BPM = 120.0
PRIOR_OCTAVES = 1.0
# DJ tempo range: an estimate outside it moves an octave inward when that octave's periodicity is at
# least OCTAVE_SHARE of the winner's (bar-level repetition often beats the beat in autocorrelation).
PREFERRED_BPM = (78.0, 165.0)
OCTAVE_SHARE = 0.5
MIN_CONFIDENCE = 0.05  # below this the "tempo" of a sustained tone or noise is an artefact: report none
_REFINE_SPAN_S = 12.0


def autocorrelation(envelope: np.ndarray, max_lag: int) -> np.ndarray:
    """Autocorrelation of the mean-removed envelope, normalised so lag 0 is 1 (all zeros when flat)."""
    x = np.asarray(envelope, dtype=np.float64)
    x = x - x.mean()
    n = len(x)
    size = 1 << int(math.ceil(math.log2(max(2 * n, 2))))
    spectrum = np.fft.rfft(x, size)
    acf = np.fft.irfft(spectrum * np.conj(spectrum), size)[: min(max_lag + 1, n)]
    if acf.size == 0 or acf[0] <= 1e-12:
        return np.zeros(max(acf.size, 1))
    # Unbiased: longer lags overlap fewer frames and would otherwise lose to the prior unfairly.
    overlap = (n - np.arange(acf.size)) / n
    return acf / acf[0] / np.maximum(overlap, 0.25)


def _parabolic_peak(values: np.ndarray, index: int) -> float:
    if index <= 0 or index >= len(values) - 1:
        return float(index)
    left, mid, right = values[index - 1], values[index], values[index + 1]
    denom = left - 2.0 * mid + right
    if abs(denom) < 1e-12:
        return float(index)
    return index + float(np.clip(0.5 * (left - right) / denom, -0.5, 0.5))


def _refine_lag(acf: np.ndarray, lag: float, frame_rate: float) -> float:
    """Least-squares period from the peaks near m * lag for m = 1, 2, ..."""
    multiples, lags = [], []
    m = 1
    while m * lag < min(len(acf) - 2, _REFINE_SPAN_S * frame_rate) or m == 1:
        centre = m * lag
        lo = max(1, int(math.floor(centre - 0.5 * lag / max(m, 2) - 1)))
        hi = min(len(acf) - 1, int(math.ceil(centre + 0.5 * lag / max(m, 2) + 1)))
        if hi <= lo:
            break
        peak = lo + int(np.argmax(acf[lo:hi]))
        if acf[peak] > 0.1:
            multiples.append(m)
            lags.append(_parabolic_peak(acf, peak))
        m += 1
    if not multiples:
        return lag
    ms, ls = np.asarray(multiples, float), np.asarray(lags, float)
    return float((ms * ls).sum() / (ms * ms).sum())


def _into_preferred_range(acf: np.ndarray, best: int, frame_rate: float, preferred: tuple[float, float]) -> int:
    bpm = 60.0 * frame_rate / best
    if preferred[0] <= bpm <= preferred[1]:
        return best
    factor = 0.5 if bpm < preferred[0] else 2.0  # lag factor: half the lag is double the tempo
    centre = best * factor
    lo, hi = max(1, int(math.floor(centre - 1))), min(len(acf) - 1, int(math.ceil(centre + 1)) + 1)
    if hi <= lo:
        return best
    other = lo + int(np.argmax(acf[lo:hi]))
    other_bpm = 60.0 * frame_rate / other
    in_range = preferred[0] <= other_bpm <= preferred[1]
    return other if in_range and acf[other] >= OCTAVE_SHARE * acf[best] else best


def estimate_tempo(
    envelope: np.ndarray,
    frame_rate: float,
    prior_bpm: float = PRIOR_BPM,
    prior_octaves: float = PRIOR_OCTAVES,
    preferred: tuple[float, float] | None = PREFERRED_BPM,
) -> tuple[float, float]:
    """(bpm, confidence in [0, 1]) of an onset envelope sampled at `frame_rate` frames per second.

    The prior (log-normal around `prior_bpm`) decides between half and double time, then an estimate
    outside `preferred` moves an octave inward when that octave is periodic too; pass a track's tempo
    with a narrow prior and preferred=None to keep a chunk's estimate in the track's octave. (0.0, 0.0) when there is no
    periodicity at all (silence, a single hit).
    """
    max_lag = int(math.ceil(frame_rate * 60.0 / MIN_BPM)) + 2
    acf = autocorrelation(envelope, max(max_lag, int(_REFINE_SPAN_S * frame_rate)))
    min_lag = int(math.floor(frame_rate * 60.0 / MAX_BPM))
    if len(acf) <= min_lag + 2:
        return 0.0, 0.0
    lags = np.arange(len(acf), dtype=np.float64)
    lags[0] = 1.0
    bpm = 60.0 * frame_rate / lags
    prior = np.exp(-0.5 * (np.log2(bpm / prior_bpm) / prior_octaves) ** 2)
    candidates = np.zeros(len(acf), dtype=bool)
    inner = slice(max(min_lag, 1), min(max_lag, len(acf) - 1))
    idx = np.arange(len(acf))[inner]
    candidates[idx] = (acf[idx] >= acf[idx - 1]) & (acf[idx] >= acf[idx + 1]) & (acf[idx] > 0)
    if not candidates.any():
        return 0.0, 0.0
    score = np.where(candidates, acf * prior, -np.inf)
    best = int(np.argmax(score))
    if preferred is not None:
        best = _into_preferred_range(acf, best, frame_rate, preferred)
    lag = _refine_lag(acf, _parabolic_peak(acf, best), frame_rate)
    confidence = float(np.clip(acf[best], 0.0, 1.0))
    if confidence < MIN_CONFIDENCE:
        return 0.0, confidence
    return 60.0 * frame_rate / lag, confidence
