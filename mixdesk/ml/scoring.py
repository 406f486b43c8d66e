"""What a transition scorer is: the interface the sequencer, the suggestions and the evaluation call.

``Scorer`` is the whole interface. ``ScorerBase`` gives its optional parts defaults, so a scorer that only
knows ``successor_scores`` subclasses it and gets ``prepare`` (nothing to compute ahead) and
``score_matrix`` (one ``successor_scores`` call per row). Callers type their scorers as ``Scorer`` and call
every method; ``as_scorer`` completes an object that implements only part of the interface without
subclassing ``ScorerBase``. This module needs no torch.

Joins and rankings ask different things. The sequencer scores each join by P(B follows A), whatever else
the pool holds. A ranked list of successors (suggestions, held-out ranking figures) asks which chunks
follow A rather than anything; a scorer with ``pool_scores`` answers that relative to the pool, and
``ranking_scores`` calls it where it exists.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Protocol, Sequence, runtime_checkable

import numpy as np

from mixdesk.library.project import Project
from mixdesk.progress import ProgressFn, StopFn


@runtime_checkable
class Successors(Protocol):
    """The one method every scorer has: P(b follows a) for each candidate b."""

    def successor_scores(self, a_id: int, candidate_ids: Sequence[int]) -> np.ndarray: ...


@runtime_checkable
class PoolRanking(Protocol):
    """A scorer that ranks candidates relative to the pool it was prepared on."""

    def pool_scores(self, a_id: int, candidate_ids: Sequence[int]) -> np.ndarray: ...


@runtime_checkable
class Preparing(Protocol):
    """A scorer that computes per-chunk state (encodings, features) before it scores."""

    def prepare(
        self,
        project: Project,
        chunk_ids: Sequence[int] | None = None,
        on_progress: ProgressFn | None = None,
        should_stop: StopFn | None = None,
    ) -> None: ...


@runtime_checkable
class Scorer(Successors, Preparing, Protocol):
    """The whole scorer interface."""

    def score_matrix(self, a_ids: Sequence[int], b_ids: Sequence[int]) -> np.ndarray:
        """P(b follows a) for every a (rows) and b (columns)."""
        ...


class ScorerBase(ABC):
    """Defaults for a scorer's optional methods; subclasses implement ``successor_scores``."""

    def prepare(
        self,
        project: Project,
        chunk_ids: Sequence[int] | None = None,
        on_progress: ProgressFn | None = None,
        should_stop: StopFn | None = None,
    ) -> None:
        """Nothing to compute ahead."""

    @abstractmethod
    def successor_scores(self, a_id: int, candidate_ids: Sequence[int]) -> np.ndarray: ...

    def score_matrix(self, a_ids: Sequence[int], b_ids: Sequence[int]) -> np.ndarray:
        """One ``successor_scores`` call per row."""
        rows = [np.asarray(self.successor_scores(int(a), b_ids), dtype=np.float64) for a in a_ids]
        return np.stack(rows) if rows else np.zeros((0, len(b_ids)))


class _Completed(ScorerBase):
    """A partial scorer with ``ScorerBase``'s defaults for the methods it lacks."""

    def __init__(self, scorer: Successors) -> None:
        self.scorer = scorer

    def prepare(
        self,
        project: Project,
        chunk_ids: Sequence[int] | None = None,
        on_progress: ProgressFn | None = None,
        should_stop: StopFn | None = None,
    ) -> None:
        if isinstance(self.scorer, Preparing):
            self.scorer.prepare(project, chunk_ids=chunk_ids, on_progress=on_progress, should_stop=should_stop)

    def successor_scores(self, a_id: int, candidate_ids: Sequence[int]) -> np.ndarray:
        return self.scorer.successor_scores(a_id, candidate_ids)


def as_scorer(scorer: Successors) -> Scorer:
    """``scorer`` itself when it has the whole interface (a ``ScorerBase`` always has), else ``scorer``
    completed with ``ScorerBase``'s defaults."""
    return scorer if isinstance(scorer, Scorer) else _Completed(scorer)


def _inner(scorer: Successors) -> Successors:
    """The scorer itself, out of the wrapper ``as_scorer`` may have put it in."""
    return scorer.scorer if isinstance(scorer, _Completed) else scorer


def ranking_scores(scorer: Successors, a_id: int, candidate_ids: Sequence[int]) -> np.ndarray:
    """Scores to rank ``candidate_ids`` by as successors of ``a_id``: the scorer's ``pool_scores`` where
    it has them, else its ``successor_scores``."""
    inner = _inner(scorer)
    if isinstance(inner, PoolRanking):
        return inner.pool_scores(a_id, candidate_ids)
    return scorer.successor_scores(a_id, candidate_ids)


def scorer_name(scorer: Successors) -> str:
    """How a playlist's metadata names the scorer that chained it."""
    inner = _inner(scorer)
    return type(inner).__name__
