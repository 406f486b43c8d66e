"""A track's beat grid: beat instants, which of them start a bar, and the tempo they imply.

The grid is the shared language of chunking on bars, tempo matching and phase-locked joins. Positions
on it are measured in beats (a float "beat position": 3.5 is halfway between beat 3 and beat 4), so
the mixer can say "land this downbeat on that beat" without caring about each track's tempo. Outside
the tracked beats the grid is extrapolated at the tempo of its nearest beats.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, overload

import numpy as np

BEATGRID_VERSION = 1
# A grid at or above this confidence is trusted for bar chunking and tempo matching.
CONFIDENT = 0.5
_EDGE_BEATS = 8  # beats either end whose mean interval extrapolates the grid past its ends


@dataclass(frozen=True, eq=False)
class BeatGrid:
    """``beats``: increasing beat times in seconds; ``downbeats``: the subset that starts a bar.

    ``bpm`` is the track's dominant tempo (median beat interval), ``confidence`` in [0, 1] how much the
    tracker trusts the grid, ``beats_per_bar`` the meter.
    """

    beats: np.ndarray
    downbeats: np.ndarray
    bpm: float
    confidence: float
    beats_per_bar: int = 4

    def __post_init__(self) -> None:
        beats = np.asarray(self.beats, dtype=np.float64).reshape(-1)
        downbeats = np.asarray(self.downbeats, dtype=np.float64).reshape(-1)
        if beats.size > 1 and not np.all(np.diff(beats) > 0):
            raise ValueError("beat times must increase")
        if not np.all(np.isfinite(beats)) or not np.all(np.isfinite(downbeats)):
            raise ValueError("beat times must be finite")
        if self.beats_per_bar < 1:
            raise ValueError("a bar needs at least one beat")
        object.__setattr__(self, "beats", beats)
        object.__setattr__(self, "downbeats", downbeats)
        object.__setattr__(self, "bpm", float(self.bpm))
        object.__setattr__(self, "confidence", float(np.clip(self.confidence, 0.0, 1.0)))

    # ----- serialisation
    def to_dict(self) -> dict[str, Any]:
        return {
            "version": BEATGRID_VERSION,
            "bpm": round(self.bpm, 4),
            "confidence": round(self.confidence, 4),
            "beats_per_bar": int(self.beats_per_bar),
            "beats": [round(float(t), 5) for t in self.beats],
            "downbeats": [round(float(t), 5) for t in self.downbeats],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "BeatGrid":
        return cls(
            beats=np.asarray(data.get("beats", ()), dtype=np.float64),
            downbeats=np.asarray(data.get("downbeats", ()), dtype=np.float64),
            bpm=float(data.get("bpm", 0.0)),
            confidence=float(data.get("confidence", 0.0)),
            beats_per_bar=int(data.get("beats_per_bar", 4)),
        )

    @classmethod
    def empty(cls) -> "BeatGrid":
        return cls(np.zeros(0), np.zeros(0), 0.0, 0.0)

    # ----- questions the mixer asks
    @property
    def usable(self) -> bool:
        """Enough beats and a tempo to place anything on the grid."""
        return self.beats.size >= 2 and self.bpm > 0

    @property
    def confident(self) -> bool:
        return self.usable and self.confidence >= CONFIDENT and self.downbeats.size >= 2

    def _edge_periods(self) -> tuple[float, float]:
        d = np.diff(self.beats)
        return float(np.mean(d[:_EDGE_BEATS])), float(np.mean(d[-_EDGE_BEATS:]))

    @overload
    def position(self, t: float) -> float: ...

    @overload
    def position(self, t: np.ndarray) -> np.ndarray: ...

    def position(self, t: np.ndarray | float) -> np.ndarray | float:
        """Beat position of time(s) ``t``: beat i sits at position i, linear in between."""
        if not self.usable:
            raise ValueError("the grid has too few beats")
        t_arr = np.asarray(t, dtype=np.float64)
        head, tail = self._edge_periods()
        index = np.arange(self.beats.size, dtype=np.float64)
        out = np.interp(t_arr, self.beats, index)
        out = np.where(t_arr < self.beats[0], (t_arr - self.beats[0]) / head, out)
        out = np.where(t_arr > self.beats[-1], index[-1] + (t_arr - self.beats[-1]) / tail, out)
        return float(out) if np.ndim(t) == 0 else out

    @overload
    def time_at(self, position: float) -> float: ...

    @overload
    def time_at(self, position: np.ndarray) -> np.ndarray: ...

    def time_at(self, position: np.ndarray | float) -> np.ndarray | float:
        """Time of beat position(s): the inverse of :meth:`position`."""
        if not self.usable:
            raise ValueError("the grid has too few beats")
        p = np.asarray(position, dtype=np.float64)
        head, tail = self._edge_periods()
        index = np.arange(self.beats.size, dtype=np.float64)
        out = np.interp(p, index, self.beats)
        out = np.where(p < 0, self.beats[0] + p * head, out)
        out = np.where(p > index[-1], self.beats[-1] + (p - index[-1]) * tail, out)
        return float(out) if np.ndim(position) == 0 else out

    def local_bpm(self, start_s: float, end_s: float | None = None) -> float:
        """Tempo over [start_s, end_s] (around ``start_s`` when no end is given) from the beats there."""
        if not self.usable:
            return 0.0
        end_s = start_s if end_s is None else end_s
        p0, p1 = self.position(start_s), self.position(end_s)
        if p1 - p0 >= 1.0:
            return 60.0 * (p1 - p0) / (end_s - start_s)
        # a span shorter than a beat: the beat intervals either side of it
        i = int(np.clip(np.floor(p0), 0, self.beats.size - 2))
        lo, hi = max(0, i - 2), min(self.beats.size - 1, i + 3)
        return 60.0 * (hi - lo) / float(self.beats[hi] - self.beats[lo])

    def bar_position(self, t: float) -> float:
        """Bars since the first downbeat (0.0 on it, 1.0 on the next one), extrapolated either side."""
        if self.downbeats.size == 0:
            raise ValueError("the grid has no downbeats")
        first = self.position(float(self.downbeats[0]))
        return (self.position(t) - first) / self.beats_per_bar

    def bar_lines_ms(self) -> list[float] | None:
        """Downbeats in ms when the grid is confident enough to cut chunks on, else None."""
        return (self.downbeats * 1000.0).tolist() if self.confident else None

    def downbeats_between(self, start_s: float, end_s: float) -> np.ndarray:
        return self.downbeats[(self.downbeats >= start_s) & (self.downbeats < end_s)]

    def beats_between(self, start_s: float, end_s: float) -> np.ndarray:
        return self.beats[(self.beats >= start_s) & (self.beats < end_s)]

    def shifted(self, offset_s: float) -> "BeatGrid":
        """The same grid with every time moved by ``offset_s`` (a chunk's grid in chunk time)."""
        return BeatGrid(self.beats + offset_s, self.downbeats + offset_s, self.bpm, self.confidence, self.beats_per_bar)
