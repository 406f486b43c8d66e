"""Deterministic scorers and synthetic pools for the mix tests."""

from __future__ import annotations

import numpy as np

from mixdesk.mix.pool import ChunkPool
from mixdesk.ml.scoring import ScorerBase


class IndexDistanceScorer(ScorerBase):
    """P(b follows a) falls with the distance between b's position and the slot right after a.

    Chunks of one track sit on one line; another track counts as ``track_gap`` positions away. The true
    successor scores highest, which is what a trained transition model learns first.
    """

    def __init__(self, positions: dict[int, tuple[int, int]], track_gap: float = 6.0, scale: float = 3.0):
        self.positions = positions
        self.track_gap = track_gap
        self.scale = scale

    def _distance(self, a_id: int, b_ids) -> np.ndarray:
        ta, ia = self.positions[int(a_id)]
        tb = np.array([self.positions[int(b)][0] for b in b_ids])
        ib = np.array([self.positions[int(b)][1] for b in b_ids])
        return np.abs(ib - (ia + 1)) + self.track_gap * (tb != ta)

    def successor_scores(self, a_id, candidate_ids) -> np.ndarray:
        return np.exp(-self._distance(a_id, candidate_ids) / self.scale) * 0.98 + 0.01

    def score_matrix(self, a_ids, b_ids) -> np.ndarray:
        return np.stack([self.successor_scores(a, b_ids) for a in a_ids])


def make_pool(n_tracks: int, per_track: int, duration_ms: int = 2000, seed: int = 0) -> ChunkPool:
    rng = np.random.default_rng(seed)
    ids = np.arange(1, n_tracks * per_track + 1)
    tracks = (ids - 1) // per_track + 1
    index = (ids - 1) % per_track
    lengths = rng.integers(duration_ms // 2, duration_ms * 3 // 2, len(ids))
    starts = index * duration_ms * 2
    paths = {int(t): f"/music/track{t}.wav" for t in np.unique(tracks)}
    return ChunkPool(ids, tracks, index, starts, starts + lengths, paths)


def scorer_for_pool(pool: ChunkPool) -> IndexDistanceScorer:
    return IndexDistanceScorer({int(c): (int(t), int(i)) for c, t, i in zip(pool.ids, pool.track_ids, pool.indices)})


def scorer_for_project(project) -> IndexDistanceScorer:
    return IndexDistanceScorer({c.id: (c.track_id, c.index) for c in project.chunks()})
