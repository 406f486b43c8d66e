"""Synthetic drum tracks with exactly known beats and downbeats, for beat-tracking tests and benchmarks."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SR = 44100


@dataclass
class Truth:
    beats: np.ndarray
    downbeats: np.ndarray
    bpm: float


def _beat_times(bpm: float, seconds: float, start: float, drift: float) -> np.ndarray:
    """Beat instants from ``start``; the tempo moves linearly by ``drift`` (a fraction) over the track."""
    times, t = [], start
    while t < seconds - 0.3:
        times.append(t)
        frac = (t - start) / max(seconds - start, 1e-9)
        t += 60.0 / (bpm * (1.0 + drift * frac))
    return np.asarray(times)


def drum_sounds(
    rng: np.random.Generator, sr: int, hat_s: float, hat_decay_s: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(kick, snare, hat): a pitch-swept sine kick, a noise-and-tone snare and a high-passed noise hat."""
    tk = np.arange(int(0.25 * sr)) / sr
    kick = np.sin(2 * np.pi * (50 * tk + 70 * (1 - np.exp(-tk / 0.03)) * 0.03)) * np.exp(-tk / 0.12)
    tn = np.arange(int(0.15 * sr)) / sr
    snare = rng.standard_normal(tn.size) * np.exp(-tn / 0.05) + 0.5 * np.sin(2 * np.pi * 190 * tn) * np.exp(-tn / 0.04)
    th = np.arange(int(hat_s * sr)) / sr
    hat = np.diff(rng.standard_normal(th.size + 1)) * np.exp(-th / hat_decay_s)
    return kick, snare, hat


def drum_track(
    bpm: float,
    seconds: float = 30.0,
    sr: int = SR,
    pattern: str = "four",
    bass: bool = True,
    drift: float = 0.0,
    start: float = 0.37,
    accent: bool = True,
    seed: int = 0,
    pad: bool = False,
) -> tuple[np.ndarray, Truth]:
    """A synthesised drum loop (float32 mono) and its exact beats and downbeats.

    ``pattern``: "four" (kick every beat, clap on 2 and 4), "onethree" (kick on 1 and 3, snare on 2
    and 4) or "waltz" (bars of three: kick on 1, snare on 2 and 3); offbeat hats always; ``bass``
    adds an eighth-note bass line whose root changes every bar, ``pad`` a sustained chord per bar;
    ``accent`` makes the bar's first kick louder.
    """
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    y = np.zeros(n, dtype=np.float64)
    beats = _beat_times(bpm, seconds, start, drift)

    def add(sound: np.ndarray, at: float, gain: float) -> None:
        i = int(round(at * sr))
        if 0 <= i < n:
            m = min(sound.size, n - i)
            y[i : i + m] += gain * sound[:m]

    kick, snare, hat = drum_sounds(rng, sr, hat_s=0.05, hat_decay_s=0.012)
    roots = [45, 45, 41, 43, 40, 45, 38, 43]  # MIDI notes of the bar-by-bar bass line
    per_bar = 3 if pattern == "waltz" else 4
    for k, t in enumerate(beats):
        nxt = beats[k + 1] if k + 1 < beats.size else t + 60.0 / bpm
        bar, pos = divmod(k, per_bar)
        if pattern == "four" or pos == 0 or (pattern == "onethree" and pos == 2):
            add(kick, t, 1.0 if (pos or not accent) else 1.6)
        if pos in ((1, 2) if pattern == "waltz" else (1, 3)):
            add(snare, t, 0.35)
        add(hat, 0.5 * (t + nxt), 0.25)
        if bass:
            f = 440.0 * 2 ** ((roots[bar % len(roots)] - 69) / 12.0)
            for half in (0, 1):
                at = t + half * 0.5 * (nxt - t)
                dur = 0.45 * (nxt - t)
                tb = np.arange(int(dur * sr)) / sr
                note = sum(np.sin(2 * np.pi * f * h * tb) / h for h in (1, 2, 3))
                note *= np.minimum(1, tb / 0.005) * np.exp(-tb / 0.2)
                add(note, at, 0.18)
        if pad and pos == 0:
            length = per_bar * (nxt - t)
            tp = np.arange(int(length * sr)) / sr
            root = roots[bar % len(roots)] + 24
            chord = sum(np.sin(2 * np.pi * 440.0 * 2 ** ((root + iv - 69) / 12.0) * tp) for iv in (0, 4, 7))
            add(chord * np.minimum(1, tp / 0.3) * np.minimum(1, (length - tp) / 0.3), t, 0.05)
    y = 0.8 * y / max(float(np.abs(y).max()), 1e-9)
    true_bpm = 60.0 / float(np.median(np.diff(beats))) if beats.size > 1 else bpm
    return y.astype(np.float32), Truth(beats, beats[::per_bar], true_bpm)


def backbeat_track(
    bpm: float,
    seconds: float = 20.0,
    sr: int = SR,
    start: float = 0.3,
    arpeggio: bool = False,
    bass: bool = False,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """A rock/breakbeat bar: kick on 1 and 3, snare on 2 and 4, sixteenth hats; optionally a
    sixteenth-note synth arpeggio and a syncopated bass riff. Returns (samples, true beat times).

    Such a beat repeats every two beats, so its autocorrelation peaks at half the tempo; a DJ still
    counts the kicks and snares.
    """
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    y = np.zeros(n)
    beat = 60.0 / bpm
    six = beat / 4.0

    def add(sound: np.ndarray, at: float, gain: float) -> None:
        i = int(round(at * sr))
        if 0 <= i < n:
            m = min(sound.size, n - i)
            y[i : i + m] += gain * sound[:m]

    kick, snare, hat = drum_sounds(rng, sr, hat_s=0.04, hat_decay_s=0.01)
    arp_notes = (57, 60, 64, 69, 64, 60, 57, 52)
    beats = np.arange(start, seconds - 0.3, beat)
    for k, t in enumerate(beats):
        pos = k % 4
        if pos in (0, 2):
            add(kick, t, 1.0)
        else:
            add(snare, t, 0.5)
        for s in range(4):
            add(hat, t + s * six, 0.3 if s % 2 == 0 else 0.2)
            if arpeggio:
                f = 440.0 * 2 ** ((arp_notes[(4 * k + s) % len(arp_notes)] - 69) / 12)
                ta = np.arange(int(0.9 * six * sr)) / sr
                pluck = np.sign(np.sin(2 * np.pi * f * ta)) * np.exp(-ta / 0.04) * np.minimum(1, ta / 0.002)
                add(pluck, t + s * six, 0.12)
        if bass and pos == 0:
            for step in (0, 3, 6, 10, 11, 14):  # sixteenths of the bar: off the beat more often than on it
                f = 440.0 * 2 ** ((33 + 5 * (step % 5 == 0) - 69) / 12)
                tb = np.arange(int(2 * six * sr)) / sr
                note = sum(np.sin(2 * np.pi * f * h * tb) / h for h in (1, 2, 3))
                add(note * np.exp(-tb / 0.15) * np.minimum(1, tb / 0.004), t + step * six, 0.35)
    y = 0.8 * y / np.abs(y).max()
    return y.astype(np.float32), beats
