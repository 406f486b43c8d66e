"""Time-stretching with the pitch kept: Rubber Band, through pedalboard.

Rubber Band is what Mixxx, Ardour and most DAWs use for key-locked tempo changes. ``fast`` runs its R2
engine (25-40x realtime for stereo 44.1 kHz on this class of machine), ``high`` its R3 ("finer") engine
(about 7-15x) for exports where the time does not matter.

R2 runs with "mixed" transients: its default "crisp" mode resets phases so eagerly that a steady 440 Hz
tone slowed by 8 % came out at 434 Hz (measured), while "mixed" keeps it at 440 Hz and places kick
drums just as precisely (median onset shift 2 ms either way).
"""

from __future__ import annotations

import numpy as np

STRETCH_QUALITIES = ("fast", "high")
# Below this relative tempo change a stretch is inaudible and costs more than it gives: the beat drift
# it leaves over a 30 s item is under 3 ms.
NEGLIGIBLE_RATIO = 1e-4


def stretch(samples: np.ndarray, sample_rate: int, ratio: float, quality: str = "fast") -> np.ndarray:
    """``samples`` (frames, channels) played ``ratio`` times as fast, pitch unchanged.

    The output has ``round(len(samples) / ratio)`` frames and keeps the input's timing: an event at
    input frame n lies at output frame n / ratio (Rubber Band's offline mode compensates its latency).
    """
    if quality not in STRETCH_QUALITIES:
        raise ValueError(f"stretch quality must be one of {STRETCH_QUALITIES}, not {quality!r}")
    if not (np.isfinite(ratio) and 0.25 <= ratio <= 4.0):
        raise ValueError(f"stretch ratio {ratio!r} is outside 0.25-4")
    x = samples if samples.ndim == 2 else samples[:, None]
    wanted = int(round(len(x) / ratio))
    if abs(ratio - 1.0) < NEGLIGIBLE_RATIO or len(x) == 0:
        out = x
    else:
        from pedalboard import time_stretch

        planar = np.ascontiguousarray(x.T, dtype=np.float32)
        high = quality == "high"
        out = time_stretch(
            planar,
            float(sample_rate),
            stretch_factor=float(ratio),
            high_quality=high,
            transient_mode="crisp" if high else "mixed",
        ).T
    out = np.asarray(out, dtype=np.float32)
    if len(out) >= wanted:
        out = out[:wanted]
    else:
        out = np.concatenate([out, np.zeros((wanted - len(out), out.shape[1]), np.float32)])
    return out if samples.ndim == 2 else out[:, 0]
