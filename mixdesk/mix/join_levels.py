"""How loud each chunk is where it is joined, and what a join's level step costs the sequencer.

A transition model learns what followed what in the original recordings, and recordings have breaks
and build-ups: a quiet bar before the drop is a fine continuation inside one track, and a jarring one
between two. The renderer matches the levels of the few hundred milliseconds at a seam, within limits,
and then returns to each item's own level; what a listener still hears is the difference between the
seconds before the seam and the seconds after it. The sequencer weighs that difference beside the
model's score: each decibel past a tolerance costs a fixed number of nats of log probability.

Levels come from each track's cached energy envelope (RMS, not gated loudness: a few array lookups per
chunk, no decoding), so weighing them costs nothing noticeable per mix.
"""

from __future__ import annotations

import numpy as np

from mixdesk.core.audio import AudioError
from mixdesk.library.project import Project
from mixdesk.mix.config import SequenceConfig
from mixdesk.mix.pool import ChunkPool

# Below this an edge counts as silence; two near-silent edges are not a 40 dB step apart.
SILENT_DB = -60.0


# (track content hash, start ms, end ms, window ms, fade ms) -> (head dB, tail dB). Reading a track's
# envelope costs about 10 ms, a whole library's seconds, and the desk sequences the same chunks again and
# again; the content hash keeps a re-imported or edited file from reusing old levels.
_LEVELS: dict[tuple[str, int, int, int, int], tuple[float, float]] = {}
_LEVELS_LIMIT = 500_000


def edge_levels(
    project: Project, pool: ChunkPool, window_ms: int, fade_ms: np.ndarray | float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """(head, tail): each chunk's level in dBFS over the ``window_ms`` right after its fade-in and right
    before its fade-out (``fade_ms`` per chunk: the crossfade it will most likely get; the windows slide
    back towards the chunk's middle where it is too short), floored at ``SILENT_DB``; NaN for a track
    whose audio cannot be read."""
    head = np.full(len(pool), np.nan)
    tail = np.full(len(pool), np.nan)
    fades = np.broadcast_to(np.nan_to_num(np.asarray(fade_ms, dtype=np.float64)), (len(pool),)).astype(np.int64)
    hashes = {int(t.id): str(t.hash) for t in project.tracks()}
    for track_id in np.unique(pool.track_ids).tolist():
        rows = np.flatnonzero(pool.track_ids == track_id)
        start, end = pool.start_ms[rows], pool.end_ms[rows]
        fade = np.clip(fades[rows], 0, np.maximum((end - start - window_ms) // 2, 0))
        keys = [
            (hashes.get(track_id, ""), int(s), int(e), window_ms, int(f))
            for s, e, f in zip(start.tolist(), end.tolist(), fade.tolist())
        ]
        # read into a local table: another thread may clear the shared one between writing and reading
        known = {key: _LEVELS.get(key) for key in keys}
        missing = [i for i, key in enumerate(keys) if known[key] is None]
        if missing:
            try:
                envelope = project.envelope(int(track_id))
            except (AudioError, OSError):
                continue  # an unreadable track weighs nothing here; rendering reports it
            s, e, f = start[missing], end[missing], fade[missing]
            first = envelope.span_dbfs(s + f, np.minimum(s + f + window_ms, e))
            last = envelope.span_dbfs(np.maximum(e - f - window_ms, s), e - f)
            if len(_LEVELS) > _LEVELS_LIMIT:
                _LEVELS.clear()
            for i, h, t in zip(missing, first.tolist(), last.tolist()):
                known[keys[i]] = _LEVELS[keys[i]] = (h, t)
        levels = np.array([known[key] for key in keys], dtype=np.float64).reshape(-1, 2)
        head[rows], tail[rows] = levels[:, 0], levels[:, 1]
    with np.errstate(invalid="ignore"):
        return np.maximum(head, SILENT_DB), np.maximum(tail, SILENT_DB)


def expected_fades_ms(pool: ChunkPool, config: SequenceConfig) -> np.ndarray:
    """The crossfade each chunk will most likely get, from its own tempo (the mix tempo is within the
    stretch limit of it): what the renderer gives a join, before the sequencer knows its neighbours."""
    if config.transition != "crossfade":
        return np.zeros(len(pool))
    bpm = pool.bpm if pool.bpm is not None else np.full(len(pool), np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        beats = config.crossfade_beats * 60_000.0 / bpm
    return np.where(np.isfinite(beats), beats, float(config.crossfade_ms))


def pool_edge_levels(project: Project, pool: ChunkPool, config: SequenceConfig) -> tuple[np.ndarray, np.ndarray]:
    """:func:`edge_levels` of the pool as ``config`` will join it: its level window, its crossfades."""
    return edge_levels(project, pool, config.level_window_ms, expected_fades_ms(pool, config))


def join_cost(tail_db: float | np.ndarray, head_db: np.ndarray, tolerance_db: float, weight: float) -> np.ndarray:
    """The cost, in nats, of following an item whose last seconds play at ``tail_db`` with each chunk
    whose first seconds play at ``head_db`` (or, with as many tails as heads, of each pair):
    ``weight`` per decibel of step past ``tolerance_db``. Unknown levels cost nothing."""
    step = np.abs(np.asarray(head_db, dtype=np.float64) - np.asarray(tail_db, dtype=np.float64))
    cost = weight * np.maximum(step - tolerance_db, 0.0)
    return np.nan_to_num(cost, nan=0.0)
