"""Built-in demo tracks: four short instrumental house/lounge pieces synthesised on first use.

The recipe is deterministic (a fixed RNG seed per track), so every installation gets the same audio
and the files can be cached. Loud phrases sit near -10 dBFS RMS and are separated by short drops and
a soft break well below -30 dBFS, which gives the default silence cut (-16 dBFS, 300 ms) real seams.
Bumping ``RECIPE_VERSION`` renames the files, so a changed recipe regenerates them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import soundfile as sf
from scipy import signal
from scipy.ndimage import maximum_filter1d, uniform_filter1d

from mixdesk import paths
from mixdesk.progress import ProgressFn, StopFn, atomic_path, check_stop, report

RECIPE_VERSION = "v1"
SAMPLE_RATE = 44100
ARTIST = "mixdesk demo"
ALBUM = "mixdesk demo set"

_FULL = frozenset({"kick", "hats", "bass", "pad", "clap", "arp"})
# (section, bars, layers, phrase bars); the loud bus stops for a beat or two at every phrase end, which
# gives the silence cut its seams. The last groove switches to two-bar phrases for shorter chunks.
SECTIONS: tuple[tuple[str, int, frozenset[str], int], ...] = (
    ("intro", 8, frozenset({"kick", "hats", "bass", "pad"}), 4),
    ("groove", 8, _FULL - {"arp"}, 4),
    ("groove", 8, _FULL, 4),
    ("break", 8, frozenset(), 8),
    ("groove", 8, _FULL, 4),
    ("groove", 8, _FULL, 2),
    ("outro", 8, frozenset({"kick", "hats", "bass", "pad"}), 4),
)
CHORD_SHAPES = {"M": (0, 4, 7), "m": (0, 3, 7), "M7": (0, 4, 7, 11), "m7": (0, 3, 7, 10), "7": (0, 4, 7, 10)}
# Relative stem levels in dB before the master limiter.
STEM_GAIN_DB = {"kick": 0.0, "bass": -3.0, "pad": -7.0, "clap": -9.0, "hats": -13.0, "arp": -10.0}
LOUD_CREST_DB = 9.0
PEAK_DBFS = -1.0
BREAK_PAD_DBFS = -31.0
DROP_PAD_DBFS = -44.0


@dataclass(frozen=True)
class DemoTrack:
    number: int
    slug: str
    title: str
    genre: str
    bpm: float
    key: str
    seed: int
    tonic: int  # MIDI note of the key's tonic
    chords: tuple[tuple[int, str], ...]  # (semitones above the tonic, shape), one per bar, cycled
    bass: tuple[tuple[int, int, int], ...]  # (sixteenth step, length in sixteenths, semitones above root)
    artist: str = ARTIST

    @property
    def filename(self) -> str:
        return f"demo-{RECIPE_VERSION}-{self.number:02d}-{self.slug}.flac"

    @property
    def bars(self) -> int:
        return sum(section[1] for section in SECTIONS)

    @property
    def duration_s(self) -> float:
        return self.bars * 4 * 60.0 / self.bpm


DEMO_TRACKS = (
    DemoTrack(
        1,
        "harbour-lights",
        "Harbour Lights",
        "Deep House",
        122.0,
        "A minor",
        1101,
        57,
        ((0, "m7"), (8, "M7"), (3, "M"), (10, "M")),
        ((0, 2, 0), (3, 1, 0), (6, 2, 12), (10, 2, 0), (14, 2, 7)),
    ),
    DemoTrack(
        2,
        "velvet-hour",
        "Velvet Hour",
        "Lounge",
        118.0,
        "F major",
        2202,
        53,
        ((0, "M7"), (9, "m7"), (2, "m7"), (7, "7")),
        ((0, 3, 0), (4, 2, 7), (8, 3, 0), (12, 2, 10), (14, 2, 12)),
    ),
    DemoTrack(
        3,
        "copper-skyline",
        "Copper Skyline",
        "House",
        124.0,
        "E minor",
        3303,
        52,
        ((0, "m7"), (5, "m7"), (8, "M7"), (7, "m7")),
        ((2, 2, 0), (6, 2, 0), (10, 2, 0), (13, 1, 12), (14, 2, 0)),
    ),
    DemoTrack(
        4,
        "night-ferry",
        "Night Ferry",
        "Tech House",
        126.0,
        "G minor",
        4404,
        55,
        ((0, "m7"), (3, "M7"), (5, "m7"), (7, "m7")),
        ((0, 1, 0), (2, 2, 0), (6, 1, 12), (8, 1, 0), (10, 2, 0), (14, 1, 7), (15, 1, 0)),
    ),
)


def _sos(order: int, freq: float | tuple[float, float], btype: str) -> np.ndarray:
    return signal.butter(order, freq, btype, fs=SAMPLE_RATE, output="sos").astype(np.float32)


def _buffer(grid: "_Grid") -> np.ndarray:
    return np.zeros((grid.frames, 2), dtype=np.float32)


def _hz(midi: float) -> float:
    return 440.0 * 2.0 ** ((midi - 69) / 12.0)


def _fold(note: int, low: int) -> int:
    return low + (note - low) % 12


class _Grid:
    """Sample positions of bars and sixteenths for one track's tempo."""

    def __init__(self, track: DemoTrack):
        self.beat = SAMPLE_RATE * 60.0 / track.bpm
        self.bar = 4 * self.beat
        self.frames = int(round(track.bars * self.bar))
        plan: list[tuple[str, frozenset[str], int, int]] = []
        for name, bars, layers, phrase in SECTIONS:
            plan.extend((name, layers, i, phrase) for i in range(bars))
        self.plan = plan

    def pos(self, bar: int, sixteenth: float = 0.0) -> int:
        return int(round(bar * self.bar + sixteenth * self.beat / 4))

    def bars_with(self, layer: str) -> list[int]:
        return [b for b, bar in enumerate(self.plan) if layer in bar[1]]


def _place(buf: np.ndarray, sample: np.ndarray, starts: list[int], gains: list[float]) -> None:
    for start, gain in zip(starts, gains):
        end = min(len(buf), start + len(sample))
        if end > start:
            buf[start:end] += gain * sample[: end - start]


def _noise(rng: np.random.Generator, seconds: float, channels: int = 2) -> np.ndarray:
    return rng.standard_normal((int(seconds * SAMPLE_RATE), channels), dtype=np.float32)


def _kick(track: DemoTrack) -> np.ndarray:
    t = np.arange(int(0.35 * SAMPLE_RATE)) / SAMPLE_RATE
    low = _hz(_fold(track.tonic, 28))  # tuned to the key, 41-78 Hz
    freq = low + (160.0 - low) * np.exp(-t / 0.03)
    body = np.sin(2 * np.pi * np.cumsum(freq) / SAMPLE_RATE)
    env = np.exp(-t / 0.16) * np.minimum(1.0, t / 0.002)
    return np.repeat((body * env)[:, None], 2, axis=1).astype(np.float32)


def _drums(track: DemoTrack, grid: _Grid, rng: np.random.Generator) -> dict[str, np.ndarray]:
    hp = _sos(2, 7000, "highpass")
    bp = _sos(2, (900, 2800), "bandpass")
    t_hat = np.arange(int(0.2 * SAMPLE_RATE), dtype=np.float32) / SAMPLE_RATE
    closed = signal.sosfilt(hp, _noise(rng, 0.2), axis=0) * np.exp(-t_hat / 0.02)[:, None]
    opened = signal.sosfilt(hp, _noise(rng, 0.2), axis=0) * np.exp(-t_hat / 0.07)[:, None]
    t_clap = np.arange(int(0.3 * SAMPLE_RATE)) / SAMPLE_RATE
    bursts = sum(np.exp(-np.clip(t_clap - d, 0, None) / 0.006) * (t_clap >= d) for d in (0.0, 0.011, 0.022))
    clap_env = 0.6 * bursts + np.exp(-np.clip(t_clap - 0.03, 0, None) / 0.07) * (t_clap >= 0.03)
    clap = signal.sosfilt(bp, _noise(rng, 0.3), axis=0) * clap_env[:, None].astype(np.float32)
    out = {name: _buffer(grid) for name in ("kick", "clap", "hats")}
    kicks = [grid.pos(b, 4 * q) for b in grid.bars_with("kick") for q in range(4)]
    _place(out["kick"], _kick(track), kicks, [1.0] * len(kicks))
    claps = [grid.pos(b, 4 * q) for b in grid.bars_with("clap") for q in (1, 3)]
    _place(out["clap"], clap, claps, [1.0] * len(claps))
    for b in grid.bars_with("hats"):
        steps = np.arange(16)
        velocity = 0.3 + 0.15 * rng.random(16)
        ticks = steps[steps % 4 != 2]  # the off-beat eighths get the open hat instead
        _place(out["hats"], closed, [grid.pos(b, s) for s in ticks], list(velocity[ticks]))
        _place(out["hats"], opened, [grid.pos(b, s) for s in (2, 6, 10, 14)], [0.8] * 4)
    return out


def _chord(track: DemoTrack, bar: int) -> list[int]:
    offset, shape = track.chords[bar % len(track.chords)]
    root = _fold(track.tonic + offset, track.tonic - 5)
    return [root + i for i in CHORD_SHAPES[shape]]


def _saw(freq: float, n: int, phase: float) -> np.ndarray:
    return 2.0 * ((phase + freq * np.arange(n) / SAMPLE_RATE) % 1.0) - 1.0


def _bass(track: DemoTrack, grid: _Grid) -> np.ndarray:
    out = _buffer(grid)
    for b in grid.bars_with("bass"):
        root = _fold(_chord(track, b)[0], 33)
        for step, length, interval in track.bass:
            n = int(length * grid.beat / 4)
            t = np.arange(n) / SAMPLE_RATE
            f = _hz(root + interval)
            tone = 0.7 * np.sin(2 * np.pi * f * t) + 0.3 * _saw(f, n, 0.0)
            env = np.minimum(1.0, t / 0.004) * (0.55 + 0.45 * np.exp(-t / 0.08))
            env *= np.minimum(1.0, (n - np.arange(n)) / (0.015 * SAMPLE_RATE))
            _place(out, (tone * env)[:, None], [grid.pos(b, step)], [1.0])
    sos = _sos(4, 420, "lowpass")
    return signal.sosfilt(sos, out, axis=0)


def _pad(track: DemoTrack, grid: _Grid, rng: np.random.Generator, bars: list[int]) -> np.ndarray:
    out = _buffer(grid)
    n = int(grid.bar + 0.35 * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    env = np.minimum(1.0, t / 0.18) * np.clip((n - np.arange(n)) / (0.35 * SAMPLE_RATE), 0.0, 1.0)
    voices: dict[int, np.ndarray] = {}  # the progression repeats, so each chord is rendered once
    for b in bars:
        slot = b % len(track.chords)
        if slot not in voices:
            voice = np.zeros((n, 2))
            for note in _chord(track, b):
                f = _hz(note)
                centre = _saw(f, n, rng.random())
                voice[:, 0] += centre + _saw(f * 2 ** (-7 / 1200), n, rng.random())
                voice[:, 1] += centre + _saw(f * 2 ** (7 / 1200), n, rng.random())
            voices[slot] = (voice * env[:, None]).astype(np.float32)
        _place(out, voices[slot], [grid.pos(b)], [1.0])
    sos = _sos(2, 1800, "lowpass")
    return signal.sosfilt(sos, out, axis=0)


def _pump(grid: _Grid) -> np.ndarray:
    # Sidechain-style duck on every beat, the classic house pulse.
    since_beat = np.arange(grid.frames, dtype=np.float32) % np.float32(grid.beat)
    since_beat *= np.float32(-1.0 / (0.09 * SAMPLE_RATE))
    np.exp(since_beat, out=since_beat)
    return (1.0 - 0.55 * since_beat)[:, None]


def _arp(track: DemoTrack, grid: _Grid, rng: np.random.Generator) -> np.ndarray:
    out = _buffer(grid)
    order = rng.permutation(8)
    n = int(0.25 * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    env = np.minimum(1.0, t / 0.003) * np.exp(-t / 0.07)
    plucks: dict[int, np.ndarray] = {}
    for b in grid.bars_with("arp"):
        tones = [_fold(note, 64) for note in _chord(track, b)]
        ladder = sorted(tones) + [x + 12 for x in sorted(tones)]
        for step in range(16):
            note = ladder[order[step % 8] % len(ladder)]
            if note not in plucks:
                tone = np.tanh(3.0 * np.sin(2 * np.pi * _hz(note) * t)) * env
                plucks[note] = tone[:, None].astype(np.float32)
            _place(out, plucks[note], [grid.pos(b, step)], [0.9 if step % 4 == 0 else 0.6])
    sos = _sos(2, 3200, "lowpass")
    dry = signal.sosfilt(sos, out, axis=0)
    d = int(3 * grid.beat / 4)  # ping-pong echo: a dotted eighth left, a dotted quarter right
    dry[d:, 0] += 0.35 * dry[:-d, 0]
    dry[2 * d :, 1] += 0.3 * dry[: -2 * d, 1]
    return dry


def _rms(x: np.ndarray) -> float:
    flat = x.ravel(order="K")
    # einsum rather than a BLAS dot: its summation order does not depend on the thread count.
    return float(np.sqrt(np.einsum("i,i->", flat, flat, dtype=np.float64) / max(flat.size, 1)))


def _smooth(curve: np.ndarray, ms: float) -> np.ndarray:
    return uniform_filter1d(curve, size=max(1, int(ms * SAMPLE_RATE / 1000)), mode="nearest")


def _loud_gate(grid: _Grid) -> np.ndarray:
    gate = np.zeros(grid.frames, dtype=np.float32)
    for b, (_, layers, i, phrase) in enumerate(grid.plan):
        if not layers:
            continue
        gate[grid.pos(b) : grid.pos(b + 1)] = 1.0
        if (i + 1) % phrase == 0:
            beats = 2 if (i + 1) % 8 == 0 else 1
            gate[grid.pos(b, 16 - 4 * beats) : grid.pos(b + 1)] = 0.0
    return _smooth(gate, 8.0)


def _limit(x: np.ndarray, active: np.ndarray) -> np.ndarray:
    """Look-ahead-free peak limiter: pick the threshold that leaves ``LOUD_CREST_DB`` of crest."""
    peak = maximum_filter1d(np.abs(x).max(axis=1), size=int(0.02 * SAMPLE_RATE))
    env = np.maximum(uniform_filter1d(peak, size=int(0.01 * SAMPLE_RATE)), 1e-9)
    probe_x, probe_env = x[::16][active[::16]], env[::16][active[::16]]
    lo, hi = 1e-3, float(env.max())
    for _ in range(14):
        thresh = 0.5 * (lo + hi)
        limited = probe_x * np.minimum(1.0, thresh / probe_env)[:, None]
        crest = 20 * np.log10(thresh / np.sqrt(np.mean(limited**2)))
        lo, hi = (thresh, hi) if crest < LOUD_CREST_DB else (lo, thresh)
    y = x * np.minimum(1.0, thresh / env)[:, None]
    return y * (10 ** (PEAK_DBFS / 20) / max(float(np.abs(y).max()), 1e-9))


def _soft_bus(grid: _Grid, rng: np.random.Generator, pad: np.ndarray, gate: np.ndarray) -> np.ndarray:
    """The pad alone, very soft, through the break and under the drops, plus a riser into the drop."""
    level = np.where(gate < 0.05, 10 ** (DROP_PAD_DBFS / 20), 0.0).astype(np.float32)
    for b, (_, layers, _, _) in enumerate(grid.plan):
        if not layers:
            level[grid.pos(b) : grid.pos(b + 1)] = 10 ** (BREAK_PAD_DBFS / 20)
    level[: grid.pos(1)] = 0.0
    tail = grid.pos(len(grid.plan), -8)  # the final stop rings out on the soft pad
    level[tail:] *= np.linspace(1.0, 0.0, grid.frames - tail, dtype=np.float32)
    riser_bar = max(b for b, bar in enumerate(grid.plan) if not bar[1]) - 1
    start, end = grid.pos(riser_bar), grid.pos(riser_bar + 2, -4)
    sos = _sos(2, (2000, 6000), "bandpass")
    riser = signal.sosfilt(sos, _noise(rng, (end - start) / SAMPLE_RATE), axis=0)
    riser *= (np.linspace(0.0, 1.0, len(riser)) ** 2 * 10 ** (-27 / 20) / riser.std())[:, None]
    out = pad * _smooth(level, 60.0)[:, None]
    out[start : start + len(riser)] += riser
    return out


def render_track(track: DemoTrack) -> np.ndarray:
    """Synthesise one demo track; float32 (frames, 2) at ``SAMPLE_RATE``, identical on every call."""
    rng = np.random.default_rng(track.seed)
    grid = _Grid(track)
    stems = _drums(track, grid, rng)
    stems["bass"] = _bass(track, grid)
    pad = _pad(track, grid, rng, list(range(track.bars)))  # break bars are muted on the loud bus
    pad *= float(1.0 / _rms(pad))
    stems["pad"] = pad * _pump(grid)
    stems["arp"] = _arp(track, grid, rng)
    loud = _buffer(grid)
    while stems:
        name, stem = stems.popitem()
        rms = _rms(stem)
        if rms > 0:
            stem *= float(10 ** (STEM_GAIN_DB[name] / 20) / rms)
            loud += stem
    gate = _loud_gate(grid)
    loud *= gate[:, None]
    loud = _limit(loud, gate > 0.5)
    mix = loud + _soft_bus(grid, rng, pad, gate)
    fade = np.linspace(0.0, 1.0, 441, dtype=np.float32)[:, None]  # 10 ms, no click at either end
    mix[:441] *= fade
    mix[-441:] *= fade[::-1]
    peak = float(np.abs(mix).max())
    if peak > 10 ** (PEAK_DBFS / 20):
        mix *= float(10 ** (PEAK_DBFS / 20) / peak)
    return mix.astype(np.float32)


def _write_tags(path: Path, track: DemoTrack) -> None:
    from mutagen.flac import FLAC

    tags = FLAC(path)
    tags["title"] = track.title
    tags["artist"] = track.artist
    tags["album"] = ALBUM
    tags["genre"] = track.genre
    tags["tracknumber"] = str(track.number)
    tags["bpm"] = str(int(track.bpm))
    tags["initialkey"] = track.key
    tags.save()


def _is_current(path: Path) -> bool:
    try:
        info = sf.info(str(path))
    except (RuntimeError, OSError, sf.LibsndfileError):
        return False
    return info.samplerate == SAMPLE_RATE and info.channels == 2 and info.frames > 0


def _remove_stale(folder: Path) -> None:
    current = {t.filename for t in DEMO_TRACKS}
    for old in folder.glob("demo-v*-*.flac"):
        if old.name not in current:
            old.unlink(missing_ok=True)


def ensure_demo_tracks(on_progress: Optional[ProgressFn] = None, should_stop: Optional[StopFn] = None) -> list[Path]:
    """Make sure the demo tracks exist in ``paths.demo_dir()``; return their paths in track order."""
    folder = paths.demo_dir()
    _remove_stale(folder)
    total = len(DEMO_TRACKS)
    out = []
    for i, track in enumerate(DEMO_TRACKS):
        check_stop(should_stop)
        target = folder / track.filename
        report(on_progress, i, total, f"demo track {track.title}")
        if not _is_current(target):
            audio = render_track(track)
            with atomic_path(target) as tmp:
                sf.write(str(tmp), audio, SAMPLE_RATE, format="FLAC", subtype="PCM_16")
                _write_tags(tmp, track)
        out.append(target)
    report(on_progress, total, total, "demo tracks ready")
    return out
