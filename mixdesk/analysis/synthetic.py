"""Synthesised audio with known tempo, key and loudness, for tests, benchmarks and demos."""

from __future__ import annotations

import numpy as np

from mixdesk.analysis.tonal import PITCH_NAMES

MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)
MINOR_SCALE = (0, 2, 3, 5, 7, 8, 10)


def click_track(bpm: float, seconds: float = 20.0, sr: int = 22050, seed: int = 0, accent: bool = False) -> np.ndarray:
    """Short noise clicks every beat (float32 mono); `accent` makes every fourth click louder."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    y = np.zeros(n, dtype=np.float32)
    length = int(0.01 * sr)
    click = (rng.standard_normal(length) * np.exp(-np.arange(length) / (0.002 * sr))).astype(np.float32)
    beat = 0
    while True:
        start = int(round(beat * 60.0 / bpm * sr))
        if start + length > n:
            break
        y[start : start + length] += click * (1.0 if not accent or beat % 4 == 0 else 0.5)
        beat += 1
    return 0.5 * y / max(float(np.abs(y).max()), 1e-9)


def _tone(freq: float, seconds: float, sr: int, decay: float = 1.5) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    partials = sum(np.sin(2 * np.pi * freq * h * t) / h**1.5 for h in range(1, 6))
    return partials * np.exp(-decay * t)


def key_piece(tonic: int, minor: bool, seconds: float = 12.0, sr: int = 22050) -> np.ndarray:
    """Cadences I-IV-V-I (harmonic-minor V in minor) with a scale melody on top, in a known key."""
    scale = MINOR_SCALE if minor else MAJOR_SCALE

    def midi(degree: int) -> int:
        return 48 + tonic + scale[degree % 7] + 12 * (degree // 7)

    chords = ((0, 2, 4), (3, 5, 7), (4, 6, 8), (0, 2, 4))
    out = np.zeros(int(seconds * sr))
    step = sr
    for i, pos in enumerate(range(0, len(out) - step + 1, step)):
        for degree in chords[i % 4]:
            note = midi(degree) + (1 if minor and degree == 6 else 0)  # raised leading tone
            out[pos : pos + step] += _tone(440.0 * 2 ** ((note - 69) / 12), 1.0, sr)
        melody = midi(i % 8 + 7)
        out[pos : pos + step] += 0.6 * _tone(440.0 * 2 ** ((melody - 69) / 12), 1.0, sr)
    return (0.3 * out / max(float(np.abs(out).max()), 1e-9)).astype(np.float32)


def key_name(tonic: int, minor: bool) -> str:
    return f"{PITCH_NAMES[tonic]} {'minor' if minor else 'major'}"


def pink_noise(seconds: float, sr: int = 48000, seed: int = 0, channels: int = 1) -> np.ndarray:
    """1/f noise (frames, channels), float64, peak-normalised to 0.5, 20 Hz - Nyquist."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    spectrum = np.fft.rfft(rng.standard_normal((channels, n)), axis=1)
    freqs = np.fft.rfftfreq(n, 1.0 / sr)
    spectrum[:, freqs < 20.0] = 0.0
    spectrum[:, freqs >= 20.0] /= np.sqrt(freqs[freqs >= 20.0])
    y = np.fft.irfft(spectrum, n, axis=1).T
    return 0.5 * y / np.abs(y).max()


def sine(freq: float, seconds: float, sr: int, peak_dbfs: float) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return 10.0 ** (peak_dbfs / 20.0) * np.sin(2 * np.pi * freq * t)


def genre_clip(genre: str, seconds: float, sr: int = 22050, seed: int = 0) -> np.ndarray:
    """Two trivially separable synthetic 'genres': 'pulse' (bright, fast drum hits) and 'drone' (dark pads)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    if genre == "pulse":
        bpm = rng.uniform(120, 140)
        hits = click_track(bpm * 2, seconds, sr, seed)
        y = 0.8 * hits + 0.05 * np.sin(2 * np.pi * rng.uniform(1500, 3000) * t)
    elif genre == "drone":
        base = rng.uniform(80, 160)
        y = sum((np.sin(2 * np.pi * base * k * t + rng.uniform(0, 6)) / k for k in (1, 1.5, 2)), np.zeros_like(t))
        y = y * (0.6 + 0.4 * np.sin(2 * np.pi * rng.uniform(0.1, 0.3) * t))
    else:
        raise ValueError(f"unknown synthetic genre {genre!r}")
    y = y + 0.01 * rng.standard_normal(len(t))
    return (0.4 * y / max(float(np.abs(y).max()), 1e-9)).astype(np.float32)
