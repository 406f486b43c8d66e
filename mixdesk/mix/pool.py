"""The chunk pool as flat arrays, so that sequencing masks and scores whole pools in one numpy step."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

import numpy as np

from mixdesk.analysis.compat import Descriptors, chunk_tempo_keys, key_compatible, tempo_ratio_ok
from mixdesk.core.beatgrid import BeatGrid
from mixdesk.library.project import Project
from mixdesk.library.schema import Chunk
from mixdesk.mix.tempo import span_tempi

_BPM_QUANTUM = 0.5  # tempo limits are looked up per half-BPM bin; finer steps change no decision


@dataclass
class ChunkPool:
    """Chunk metadata in pool order. ``bpm`` is NaN and ``key`` "" where no analysis exists."""

    ids: np.ndarray
    track_ids: np.ndarray
    indices: np.ndarray
    start_ms: np.ndarray
    end_ms: np.ndarray
    paths: Mapping[int, str]
    bpm: np.ndarray | None = None
    keys: Sequence[str] | None = None
    _pos: dict[int, int] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.ids = np.asarray(self.ids, dtype=np.int64)
        self.track_ids = np.asarray(self.track_ids, dtype=np.int64)
        self.indices = np.asarray(self.indices, dtype=np.int64)
        self.start_ms = np.asarray(self.start_ms, dtype=np.int64)
        self.end_ms = np.asarray(self.end_ms, dtype=np.int64)
        self._pos = {int(c): i for i, c in enumerate(self.ids)}

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def durations_ms(self) -> np.ndarray:
        return self.end_ms - self.start_ms

    def position(self, chunk_id: int) -> int:
        return self._pos[int(chunk_id)]

    def __contains__(self, chunk_id: object) -> bool:
        return isinstance(chunk_id, (int, np.integer)) and int(chunk_id) in self._pos

    @property
    def has_tempo(self) -> bool:
        return self.bpm is not None and bool(np.isfinite(self.bpm).any())

    @property
    def has_key(self) -> bool:
        return self.keys is not None and any(self.keys)

    def subset(self, keep: np.ndarray) -> "ChunkPool":
        keys = None if self.keys is None else [self.keys[i] for i in np.flatnonzero(keep).tolist()]
        return ChunkPool(
            self.ids[keep],
            self.track_ids[keep],
            self.indices[keep],
            self.start_ms[keep],
            self.end_ms[keep],
            self.paths,
            None if self.bpm is None else self.bpm[keep],
            keys,
        )


def pool_from_project(
    project: Project, chunk_ids: Sequence[int] | None = None, min_chunk_ms: int = 0, always: Sequence[int] = ()
) -> ChunkPool:
    """Every chunk of the project (or of ``chunk_ids``) at least ``min_chunk_ms`` long, plus ``always``."""
    chunks = project.chunks()
    paths = {int(t.id): str(t.path) for t in project.tracks()}
    wanted = None if chunk_ids is None else {int(c) for c in chunk_ids}
    forced = {int(c) for c in always}
    rows = [
        c
        for c in chunks
        if int(c.id) in forced or ((wanted is None or int(c.id) in wanted) and c.end_ms - c.start_ms >= min_chunk_ms)
    ]
    return _with_tempo_and_key(_pool_of(rows, paths), project)


def chunk_tempi_and_keys(project: Project, chunks: Sequence[Chunk]) -> tuple[np.ndarray, list[str]]:
    """Each chunk's tempo and Camelot key exactly as the sequencer reads them (NaN and "" where unknown):
    the tempo of its track's beat grid over the chunk where that grid is trusted, else the analysis',
    a chunk inheriting what its own analysis lacks from its track's."""
    pool = _with_tempo_and_key(_pool_of(chunks, {}), project)
    bpm = pool.bpm if pool.bpm is not None else np.full(len(pool), np.nan)
    return bpm, list(pool.keys) if pool.keys is not None else [""] * len(pool)


def _pool_of(chunks: Sequence[Chunk], paths: Mapping[int, str]) -> ChunkPool:
    return ChunkPool(
        ids=np.array([c.id for c in chunks], dtype=np.int64),
        track_ids=np.array([c.track_id for c in chunks], dtype=np.int64),
        indices=np.array([c.index for c in chunks], dtype=np.int64),
        start_ms=np.array([c.start_ms for c in chunks], dtype=np.int64),
        end_ms=np.array([c.end_ms for c in chunks], dtype=np.int64),
        paths=paths,
    )


def _with_tempo_and_key(pool: ChunkPool, project: Project) -> ChunkPool:
    attach_descriptors(pool, _descriptors(project))
    attach_grids(pool, project.beat_grids())
    return pool


def attach_grids(pool: ChunkPool, grids: Mapping[int, BeatGrid]) -> None:
    """Per-chunk tempo from the beats inside each chunk, where its track has a confident beat grid.

    The grid's tempo is the one the mixer stretches from, so it wins over the descriptor estimate.
    """
    if not grids:
        return
    from_grid = span_tempi(pool.track_ids, pool.start_ms, pool.end_ms, grids)
    pool.bpm = from_grid if pool.bpm is None else np.where(np.isfinite(from_grid), from_grid, pool.bpm)
    if pool.keys is None:
        pool.keys = [""] * len(pool)


def _descriptors(project: Project) -> Descriptors:
    try:
        return project.analysis("descriptors") or {}
    except Exception:  # a project without the analysis table simply has no descriptors
        return {}


def attach_descriptors(pool: ChunkPool, descriptors: Descriptors) -> None:
    """Per-chunk tempo and Camelot key from the analysis; a chunk inherits what it lacks from its track
    (:func:`mixdesk.analysis.compat.chunk_tempo_key`)."""
    if not descriptors:
        return
    pool.bpm, pool.keys = chunk_tempo_keys(descriptors, pool.track_ids, pool.ids)


class TempoTable:
    """Row lookups of ``tempo_ratio_ok`` against the whole pool, computed lazily per half-BPM bin."""

    def __init__(self, bpm: np.ndarray, ok: Callable[[float, float], bool]) -> None:
        known = np.isfinite(bpm)
        bins = np.where(known, np.round(np.nan_to_num(bpm) / _BPM_QUANTUM), -1).astype(np.int64)
        self.values, inverse = np.unique(bins, return_inverse=True)
        self.code = inverse.reshape(-1)
        self._ok = ok
        self._rows: dict[int, np.ndarray] = {}

    def row(self, pool_index: int) -> np.ndarray:
        """Boolean mask over the pool: which chunks are tempo-compatible with ``pool_index``."""
        code = int(self.code[pool_index])
        cached = self._rows.get(code)
        if cached is None:
            cached = self._compute(code)[self.code]
            self._rows[code] = cached
        return cached

    def _compute(self, code: int) -> np.ndarray:
        a = self.values[code]
        out = np.ones(len(self.values), dtype=bool)
        if a < 0:
            return out  # unknown tempo limits nothing
        for j, b in enumerate(self.values.tolist()):
            if b >= 0:
                out[j] = bool(self._ok(a * _BPM_QUANTUM, b * _BPM_QUANTUM))
        return out


class KeyTable:
    """A full table of ``key_compatible`` over the few distinct Camelot codes in the pool."""

    def __init__(self, keys: Sequence[str], ok: Callable[[str, str], bool]) -> None:
        names = sorted(set(keys))
        lookup = {name: i for i, name in enumerate(names)}
        self.code = np.array([lookup[k] for k in keys], dtype=np.int64)
        table = np.ones((len(names), len(names)), dtype=bool)
        for i, a in enumerate(names):
            for j, b in enumerate(names):
                if a and b:
                    try:
                        table[i, j] = bool(ok(a, b))
                    except (ValueError, KeyError):
                        table[i, j] = True  # a code the rules cannot read limits nothing
        self.table = table

    def row(self, pool_index: int) -> np.ndarray:
        return self.table[self.code[pool_index]][self.code]


def compat_tables(
    pool: ChunkPool, max_bpm_diff_pct: float | None, max_key_steps: int | None
) -> tuple[TempoTable | None, KeyTable | None, list[str]]:
    """Tables for the limits that can apply; the notes say which requested limits were skipped and why."""
    notes: list[str] = []
    if max_bpm_diff_pct is None and max_key_steps is None:
        return None, None, notes
    tempo: TempoTable | None = None
    key: KeyTable | None = None
    if max_bpm_diff_pct is not None:
        if pool.bpm is not None and pool.has_tempo:
            tol = float(max_bpm_diff_pct)
            tempo = TempoTable(pool.bpm, lambda a, b: tempo_ratio_ok(a, b, tolerance_pct=tol))
        else:
            notes.append("tempo limit skipped: no tempo analysis")
    if max_key_steps is not None:
        if pool.has_key:
            steps = int(max_key_steps)
            key = KeyTable(pool.keys or [], lambda a, b: key_compatible(a, b, max_steps=steps))
        else:
            notes.append("key limit skipped: no key analysis")
    return tempo, key, notes
