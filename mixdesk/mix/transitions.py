"""Signal pieces of a seam: zero-crossing search, equal-power fades, gain matching and a soft limiter."""

from __future__ import annotations

import numpy as np

SILENCE_RMS = 10 ** (-60 / 20)  # below about -60 dBFS a side is treated as silence and not matched
_CEILING = 0.9999  # tanh saturates to exactly 1.0 in float32 for large inputs; stay just under full scale


def nearest_zero_crossing(samples: np.ndarray, index: int, radius: int) -> int:
    """The sign change of the channel mean closest to ``index`` within ``radius`` frames.

    Where the window holds no sign change (DC, silence), the quietest frame stands in for it. The returned
    index is the first frame after the crossing, so a cut there joins two near-zero samples.
    """
    n = len(samples)
    if n == 0 or radius <= 0:
        return int(min(max(index, 0), n))
    lo, hi = max(1, index - radius), min(n - 1, index + radius)
    if hi <= lo:
        return int(min(max(index, 0), n))
    mid = samples[lo - 1 : hi + 1].mean(axis=1) if samples.ndim == 2 else samples[lo - 1 : hi + 1]
    sign = np.signbit(mid)
    changes = np.flatnonzero(sign[1:] != sign[:-1]) + lo  # frame after each crossing
    if len(changes):
        return int(changes[np.argmin(np.abs(changes - index))])
    return int(lo + np.argmin(np.abs(mid[1:-1] if len(mid) > 2 else mid)))


def equal_power_curves(length: int) -> tuple[np.ndarray, np.ndarray]:
    """(fade-out, fade-in) gains with cos^2 + sin^2 = 1 at every frame: uncorrelated sides keep their power.

    A linear (equal-gain) fade would sum to 0.5 power, about 3 dB down, halfway through.
    """
    theta = (np.arange(length, dtype=np.float64) + 0.5) / max(length, 1) * (np.pi / 2)
    return np.cos(theta).astype(np.float32), np.sin(theta).astype(np.float32)


def crossfade(outgoing: np.ndarray, incoming: np.ndarray) -> np.ndarray:
    """Equal-power overlap of two equally long blocks (frames, channels)."""
    if len(outgoing) != len(incoming):
        raise ValueError("crossfade sides must have the same length")
    fade_out, fade_in = equal_power_curves(len(outgoing))
    return outgoing * fade_out[:, None] + incoming * fade_in[:, None]


def fade_edge(samples: np.ndarray, length: int, fade_in: bool) -> np.ndarray:
    """A short raised fade at the very start or end of the mix so it neither starts nor stops with a click."""
    length = min(length, len(samples))
    if length <= 0:
        return samples
    out = samples.copy()
    _, ramp = equal_power_curves(length)
    ramp = ramp**2
    if fade_in:
        out[:length] *= ramp[:, None]
    else:
        out[-length:] *= ramp[::-1, None]
    return out


def rms(samples: np.ndarray) -> float:
    if samples.size == 0:
        return 0.0
    return float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))


def matching_gain(before: np.ndarray, after: np.ndarray, max_gain_db: float) -> float:
    """The linear gain that brings ``after`` to the RMS of ``before``, limited to +-``max_gain_db``."""
    a, b = rms(before), rms(after)
    if a < SILENCE_RMS or b < SILENCE_RMS:
        return 1.0
    limit = 10 ** (max_gain_db / 20)
    return float(np.clip(a / b, 1 / limit, limit))


def gain_ramp(length: int, start_gain: float, ramp_frames: int) -> np.ndarray:
    """Gain that starts at ``start_gain`` and returns to unity (linear in dB) over ``ramp_frames``.

    Returning to unity keeps the matched level from carrying over and drifting from seam to seam.
    """
    curve = np.ones(length, dtype=np.float32)
    if start_gain == 1.0 or length == 0:
        return curve
    n = min(length, max(1, ramp_frames))
    db = 20 * np.log10(start_gain) * (1 - np.arange(n) / n)
    curve[:n] = (10 ** (db / 20)).astype(np.float32)
    return curve


def soft_limit(samples: np.ndarray, threshold: float) -> np.ndarray:
    """Memoryless soft knee: untouched below ``threshold``, tanh-shaped towards (never reaching) full scale."""
    mag = np.abs(samples)
    over = mag > threshold
    if not over.any():
        return samples
    out = samples.copy()
    head = 1.0 - threshold
    shaped = np.minimum(threshold + head * np.tanh((mag[over] - threshold) / head), _CEILING)
    out[over] = np.sign(samples[over]) * shaped
    return out


def split_low(samples: np.ndarray, sample_rate: int, cutoff_hz: float) -> tuple[np.ndarray, np.ndarray]:
    """(lows, highs) that add up to ``samples`` exactly; the lows through a zero-phase Butterworth filter."""
    from scipy.signal import butter, sosfiltfilt

    if len(samples) < 32:
        return np.zeros_like(samples), samples
    sos = butter(2, cutoff_hz, btype="low", fs=sample_rate, output="sos")
    low = sosfiltfilt(sos, samples, axis=0).astype(np.float32)
    return low, samples - low


def bass_swap_crossfade(
    outgoing: np.ndarray, incoming: np.ndarray, swap_at: int, sample_rate: int, cutoff_hz: float, ramp_ms: float = 20.0
) -> np.ndarray:
    """Equal-power overlap above ``cutoff_hz``; below it the outgoing side plays alone until ``swap_at``
    and the incoming side after it, with a short ramp so the hand-over does not click.

    At the overlap's ends the result equals the outgoing (first frame) and incoming (last frame) signal
    exactly, so the joins into the surrounding audio stay seamless.
    """
    if len(outgoing) != len(incoming):
        raise ValueError("crossfade sides must have the same length")
    n = len(outgoing)
    out_low, out_high = split_low(outgoing, sample_rate, cutoff_hz)
    in_low, in_high = split_low(incoming, sample_rate, cutoff_hz)
    fade_out, fade_in = equal_power_curves(n)
    ramp = max(1, int(ramp_ms * sample_rate / 1000))
    t = (np.arange(n) - (swap_at - ramp / 2)) / ramp
    keep_out = np.clip(1.0 - t, 0.0, 1.0).astype(np.float32)  # 1 before the swap, 0 after it
    return (
        out_high * fade_out[:, None]
        + in_high * fade_in[:, None]
        + out_low * keep_out[:, None]
        + in_low * (1.0 - keep_out)[:, None]
    )
