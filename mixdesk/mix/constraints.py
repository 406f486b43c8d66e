"""Which pool chunks may follow a partial sequence, and how the limits give way at a dead end."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np

from mixdesk.mix.pool import ChunkPool, KeyTable, TempoTable


@dataclass(frozen=True)
class SequenceState:
    """What the limits need to know about one partial sequence."""

    last: int  # pool index of the previous item, -1 at the start
    recent: np.ndarray  # pool indices of the latest items, oldest first
    run_track: int
    run_len: int
    tempo: float = float("nan")  # the mix tempo so far, NaN before it is known


class Limits:
    """Candidate masks for one position; ``fixed`` maps playlist positions to pool indices kept in place.

    Every limit is a separate mask so that a dead end can drop them in order (key, tempo, same-track run,
    then a shrinking repeat window) and say which ones it dropped.
    """

    def __init__(
        self,
        pool: ChunkPool,
        no_repeat_within: int,
        max_same_track: int,
        fixed: Mapping[int, int],
        tempo: TempoTable | None = None,
        key: KeyTable | None = None,
        max_stretch_pct: float | None = None,
    ) -> None:
        self.pool = pool
        self.repeat = int(no_repeat_within)
        self.max_run = int(max_same_track)
        self.fixed = dict(fixed)
        self.tempo = tempo
        self.key = key
        self.max_stretch = None if max_stretch_pct is None or pool.bpm is None else max_stretch_pct / 100.0

    def allowed(self, state: SequenceState, position: int) -> tuple[np.ndarray, tuple[str, ...]]:
        """The mask of acceptable candidates and the names of the limits relaxed to get any."""
        active = self._harmony_masks(state, position)
        run: np.ndarray | None = self._run_mask(state, position)
        window = self.repeat
        relaxed: list[str] = []
        while True:
            mask = self._repeat_mask(state, position, window)
            for extra in ([run] if run is not None else []) + list(active.values()):
                mask &= extra
            if mask.any():
                return mask, tuple(relaxed)
            if active:
                name = next(iter(active))
                del active[name]
                relaxed.append(name)
            elif run is not None:
                run = None
                relaxed.append("same_track")
            elif window > 1:
                window //= 2
                relaxed = [r for r in relaxed if not r.startswith("repeat")] + [f"repeat<{window}"]
            else:
                return self._last_resort(state), tuple(relaxed + ["repeat"])

    def _last_resort(self, state: SequenceState) -> np.ndarray:
        mask = np.ones(len(self.pool), dtype=bool)
        if state.last >= 0 and len(self.pool) > 1:
            mask[state.last] = False
        return mask

    def _repeat_mask(self, state: SequenceState, position: int, window: int) -> np.ndarray:
        mask = np.ones(len(self.pool), dtype=bool)
        if window <= 0:
            return self._last_resort(state)
        recent = state.recent[-window:]
        mask[recent[recent >= 0]] = False
        ahead = [self.fixed[p] for p in range(position + 1, position + window + 1) if p in self.fixed]
        if ahead:
            mask[ahead] = False
        return mask

    def _run_mask(self, state: SequenceState, position: int) -> np.ndarray:
        tracks = self.pool.track_ids
        mask = np.ones(len(self.pool), dtype=bool)
        if state.run_len >= self.max_run:
            mask &= tracks != state.run_track
        nxt = self.fixed.get(position + 1)
        if nxt is not None:
            follow_track = int(tracks[nxt])
            ahead = 0
            p = position + 1
            while p in self.fixed and int(tracks[self.fixed[p]]) == follow_track:
                ahead += 1
                p += 1
            behind = state.run_len if state.run_track == follow_track else 0
            if behind + 1 + ahead > self.max_run:
                mask &= tracks != follow_track
        return mask

    def _harmony_masks(self, state: SequenceState, position: int) -> dict[str, np.ndarray]:
        masks: dict[str, np.ndarray] = {}
        neighbours = [i for i in (state.last, self.fixed.get(position + 1, -1)) if i >= 0]
        for name, table in (("key", self.key), ("tempo", self.tempo)):
            if table is None or not neighbours:
                continue
            mask = np.ones(len(self.pool), dtype=bool)
            for i in neighbours:
                mask &= table.row(i)
            masks[name] = mask
        if self.max_stretch is not None and np.isfinite(state.tempo) and self.pool.bpm is not None:
            # a chunk without a tempo cannot be brought onto the beat, so the limit keeps it out too
            with np.errstate(invalid="ignore"):
                masks["stretch"] = np.abs(state.tempo / self.pool.bpm - 1.0) <= self.max_stretch
        return masks


def run_after(state_track: int, state_len: int, new_track: int) -> tuple[int, int]:
    """The same-track run after appending an item of ``new_track``."""
    return (new_track, state_len + 1) if new_track == state_track else (new_track, 1)
