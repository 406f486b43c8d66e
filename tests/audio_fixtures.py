"""Synthesised audio for tests: tones, silences and small projects made on the fly."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import soundfile as sf


def write_wav(path: Path, samples: np.ndarray, sr: int = 44100, subtype: str = "PCM_16") -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), samples, sr, subtype=subtype)
    return path


def make_track(
    sections: Sequence[tuple[float, float]], sr: int = 44100, freq: float = 220.0, channels: int = 2, seed: int = 0
) -> np.ndarray:
    """Stereo float32 made of (duration_s, level_dbfs) sections; level None or <= -120 means digital silence.

    Each loud section is a chord of three partials with a little noise so that chunks differ in timbre.
    """
    rng = np.random.default_rng(seed)
    parts = []
    for i, (dur, level) in enumerate(sections):
        n = int(round(dur * sr))
        if level is None or level <= -120:
            parts.append(np.zeros(n, dtype=np.float32))
            continue
        t = np.arange(n) / sr
        base = freq * (1.0 + 0.25 * (i % 4))
        tone = sum(np.sin(2 * np.pi * base * k * t + rng.uniform(0, 6.28)) / k for k in (1, 1.5, 2))
        tone += 0.05 * rng.standard_normal(n)
        tone /= np.sqrt(np.mean(tone**2))
        fade = min(n // 2, int(0.005 * sr))
        if fade:
            ramp = np.linspace(0, 1, fade)
            tone[:fade] *= ramp
            tone[-fade:] *= ramp[::-1]
        parts.append((tone * 10 ** (level / 20)).astype(np.float32))
    mono = np.concatenate(parts) if parts else np.zeros(0, np.float32)
    if channels == 1:
        return mono[:, None]
    return np.stack([mono, mono * 0.9], axis=1).astype(np.float32)


def song_sections(seed: int, seconds: float = 20.0) -> list[tuple[float, float]]:
    """Loud phrases separated by short gaps, like a track with breaks."""
    rng = np.random.default_rng(seed)
    sections, total = [], 0.0
    while total < seconds:
        loud = float(rng.uniform(1.5, 4.0))
        gap = float(rng.uniform(0.35, 0.8))
        sections += [(loud, float(rng.uniform(-12, -8))), (gap, -60.0)]
        total += loud + gap
    return sections
