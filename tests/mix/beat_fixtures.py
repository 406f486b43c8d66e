"""Synthetic drum tracks whose beats are known exactly, for beat-synchronous mixing tests."""

from __future__ import annotations

import numpy as np

from mixdesk.core.beatgrid import BeatGrid
from mixdesk.mix.playlist import Playlist, PlaylistItem, Transition


def drum_track(
    bpm: float, seconds: float, sr: int, first_beat_s: float = 0.3, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """(stereo float32 samples, beat times): a kick on every beat, accented on the downbeat, with hats
    and a bass note per bar so that the track is not a bare click."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    x = np.zeros(n, np.float32)
    t = np.arange(int(0.12 * sr)) / sr
    kick = (np.sin(2 * np.pi * 55 * t) * np.exp(-t * 25)).astype(np.float32)
    hat = rng.standard_normal(int(0.02 * sr)) * np.exp(-np.arange(int(0.02 * sr)) / (0.004 * sr)) * 0.15
    beat = 60.0 / bpm
    beats = np.arange(first_beat_s, seconds - 0.2, beat)
    for k, b in enumerate(beats):
        i = int(round(b * sr))
        x[i : i + len(kick)] += (1.0 if k % 4 == 0 else 0.6) * kick[: n - i]
        j = int(round((b + beat / 2) * sr))
        if j < n:
            x[j : j + len(hat)] += hat[: n - j].astype(np.float32)
    bars = beats[::4]
    tone = np.zeros(n, np.float32)
    for k, b in enumerate(bars):
        i, m = int(round(b * sr)), int(round(4 * beat * sr))
        tt = np.arange(min(m, n - i)) / sr
        tone[i : i + len(tt)] = 0.1 * np.sin(2 * np.pi * (41.2 if k % 2 else 49.0) * tt)
    mix = (x + tone) * 0.7
    return np.stack([mix, mix], axis=1).astype(np.float32), beats


def drum_tracks(tempi: dict[int, float], seconds: float, sr: int) -> tuple[dict[int, np.ndarray], dict[int, BeatGrid]]:
    tracks, grids = {}, {}
    for track_id, bpm in tempi.items():
        audio, beats = drum_track(bpm, seconds, sr, first_beat_s=0.2 + 0.05 * track_id, seed=track_id)
        tracks[track_id] = audio
        grids[track_id] = BeatGrid(beats, beats[::4], bpm, 0.95)
    return tracks, grids


def bar_playlist(
    grids: dict[int, BeatGrid],
    order: list[int],
    bars: int = 4,
    tempo_bpm: float | None = None,
    beats: float = 4.0,
    kind: str = "crossfade",
) -> Playlist:
    """One ``bars``-bar item per entry of ``order`` (track ids), each from a different place in its track."""
    items = []
    for k, track_id in enumerate(order):
        downbeats = grids[track_id].downbeats
        first = 1 + (k * 3) % max(1, len(downbeats) - bars - 2)
        start, end = downbeats[first], downbeats[first + bars]
        items.append(
            PlaylistItem(
                chunk_id=k,
                track_id=track_id,
                source_path="",
                in_ms=int(round(start * 1000)),
                out_ms=int(round(end * 1000)),
                transition=Transition(kind, 400, beats),
                tempo_bpm=tempo_bpm,
            )
        )
    return Playlist(items=tuple(items))


def onsets(samples: np.ndarray, sr: int, threshold: float = 0.25, refractory_s: float = 0.15) -> np.ndarray:
    """Times of the kick onsets: where the low band's envelope first crosses ``threshold``."""
    from scipy.signal import butter, sosfilt

    mono = samples.mean(axis=1) if samples.ndim == 2 else samples
    low = np.abs(sosfilt(butter(2, 150, fs=sr, output="sos"), mono))
    above = np.flatnonzero((low[1:] > threshold) & (low[:-1] <= threshold)) + 1
    out: list[int] = []
    for i in above:
        if not out or i - out[-1] > refractory_s * sr:
            out.append(int(i))
    return np.asarray(out) / sr
