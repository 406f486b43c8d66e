"""Ranked candidates for any playlist position, with the reasons a DJ weighs them by."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from mixdesk.analysis.compat import camelot_distance
from mixdesk.library.project import Project
from mixdesk.mix.playlist import Playlist
from mixdesk.mix.pool import ChunkPool, pool_from_project
from mixdesk.mix.config import SequenceConfig
from mixdesk.mix.join_levels import pool_edge_levels
from mixdesk.mix.sequencing import batch_scores, prepare_scorer
from mixdesk.ml.scoring import Successors, ranking_scores


@dataclass(frozen=True)
class Suggestion:
    """A candidate to follow the item at the asked position.

    ``score`` is what the suggestions are ranked by (``ranking_scores``: the model's score relative to the
    pool). ``reasons`` holds ``model_score``; ``same_track`` and ``natural_successor`` (it is the chunk that
    follows in its source track); ``recently_used`` (items back, or None) ; ``score_into_next`` (how well it
    leads into the item after the slot, when there is one); ``level_step_db`` (how much louder it starts
    than the item before ends, as the sequencer weighs it; where the audio can be read); and, where
    analysis exists, ``bpm_diff_pct`` and ``key_steps``.
    """

    chunk_id: int
    score: float
    reasons: Mapping[str, Any] = field(default_factory=dict)


def suggestions(
    project: Project,
    scorer: Successors,
    playlist: Playlist,
    position: int,
    k: int = 10,
    pool: ChunkPool | None = None,
    min_chunk_ms: int = 0,
    recent_window: int = 50,
) -> list[Suggestion]:
    """The ``k`` best chunks to follow ``playlist[position]``, best first (never that chunk itself)."""
    if not 0 <= position < len(playlist):
        raise IndexError(f"position {position} is outside the playlist (0..{len(playlist) - 1})")
    chunk_pool = pool if pool is not None else pool_from_project(project, None, min_chunk_ms)
    anchor = playlist[position]
    prepare_scorer(scorer, project, [anchor.chunk_id, *chunk_pool.ids.tolist()])
    candidates = chunk_pool.ids[chunk_pool.ids != anchor.chunk_id]
    if len(candidates) == 0 or k <= 0:
        return []
    # Ranked relative to the pool (which chunks follow this one, rather than anything); how well a
    # candidate leads into the next item is a join, scored as the sequencer scores joins.
    scores = np.asarray(ranking_scores(scorer, anchor.chunk_id, candidates.tolist()), dtype=np.float64)
    k = min(k, len(candidates))
    top = np.argpartition(-scores, k - 1)[:k]
    top = top[np.lexsort((candidates[top], -scores[top]))]
    chosen = candidates[top]
    following = playlist[position + 1].chunk_id if position + 1 < len(playlist) else None
    into_next = batch_scores(scorer, chosen.tolist(), np.array([following]))[:, 0] if following is not None else None
    explain = _Reasons(chunk_pool, playlist, position, recent_window)
    steps = level_steps(project, chunk_pool, anchor.chunk_id, chosen.tolist())
    return [
        Suggestion(
            int(c),
            float(scores[i]),
            {
                **explain(int(c), float(scores[i]), None if into_next is None else float(into_next[j])),
                **({"level_step_db": steps[int(c)]} if int(c) in steps else {}),
            },
        )
        for j, (i, c) in enumerate(zip(top, chosen))
    ]


def level_steps(project: Project, pool: ChunkPool, anchor_id: int, candidate_ids: Sequence[int]) -> dict[int, float]:
    """dB by which each candidate starts louder than ``anchor_id`` ends (negative: quieter), read as the
    sequencer reads a join's level step under the default settings; candidates whose level is unknown
    are left out."""
    if anchor_id not in pool:
        return {}
    few = pool.subset(np.isin(pool.ids, [anchor_id, *candidate_ids]))
    head, tail = pool_edge_levels(project, few, SequenceConfig())
    end = tail[few.position(anchor_id)]
    out = {}
    for c in candidate_ids:
        step = head[few.position(int(c))] - end
        if np.isfinite(step):
            out[int(c)] = round(float(step), 1)
    return out


class _Reasons:
    def __init__(self, pool: ChunkPool, playlist: Playlist, position: int, recent_window: int) -> None:
        self.pool = pool
        self.anchor = playlist[position]
        recent: Sequence[int] = playlist.chunk_ids[max(0, position + 1 - recent_window) : position + 1]
        self.back = {cid: position - (position + 1 - len(recent) + i) for i, cid in enumerate(recent)}
        self.anchor_index = pool.position(self.anchor.chunk_id) if self.anchor.chunk_id in pool else None

    def __call__(self, chunk_id: int, score: float, into_next: float | None) -> dict[str, Any]:
        i = self.pool.position(chunk_id)
        track = int(self.pool.track_ids[i])
        reasons: dict[str, Any] = {
            "model_score": round(score, 4),
            "same_track": track == self.anchor.track_id,
            "natural_successor": self._natural(i),
            "recently_used": self.back.get(chunk_id),
        }
        if into_next is not None:
            reasons["score_into_next"] = round(into_next, 4)
        reasons.update(self._harmony(i))
        return reasons

    def _natural(self, i: int) -> bool:
        a = self.anchor_index
        return (
            a is not None
            and self.pool.track_ids[i] == self.pool.track_ids[a]
            and self.pool.indices[i] == self.pool.indices[a] + 1
        )

    def _harmony(self, i: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        a = self.anchor_index
        if a is None:
            return out
        bpm = self.pool.bpm
        if bpm is not None and np.isfinite(bpm[a]) and np.isfinite(bpm[i]):
            out["bpm_diff_pct"] = round(float(100 * (bpm[i] - bpm[a]) / bpm[a]), 2)
        keys = self.pool.keys
        if keys and keys[a] and keys[i]:
            try:
                out["key_steps"] = camelot_distance(keys[a], keys[i])
            except ValueError:
                pass
        return out
