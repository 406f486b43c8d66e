"""Scorers that need no trained weights: the yardsticks a transition model must beat.

``SimilarityScorer`` follows the Infinite Jukebox idea: a good successor sounds like what just
played, so it scores cosine similarity of timbre (MFCC from the log-mel, via a DCT) and pitch-class
energy ("chroma" folded from the mel bands) of A's end against B's start.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import numpy as np

from mixdesk.ml.features import FeatureConfig, mel_centers
from mixdesk.ml.scoring import ScorerBase
from mixdesk.ml.table import FeatureTable, project_feature_table
from mixdesk.progress import ProgressFn, StopFn

if TYPE_CHECKING:
    from mixdesk.library.project import Project


def dct_matrix(n_mels: int, n_mfcc: int) -> np.ndarray:
    """Orthonormal DCT-II basis (n_mels, n_mfcc), as used for MFCCs."""
    n = np.arange(n_mels)[:, None]
    k = np.arange(n_mfcc)[None, :]
    basis = np.cos(np.pi / n_mels * (n + 0.5) * k) * np.sqrt(2.0 / n_mels)
    basis[:, 0] /= np.sqrt(2.0)
    return basis


def chroma_matrix(config: FeatureConfig, low_hz: float = 50.0, high_hz: float = 5000.0) -> np.ndarray:
    """(n_mels, 12) map folding mel bands inside [low_hz, high_hz] onto pitch classes (C = 0)."""
    centres = mel_centers(config)
    fold = np.zeros((config.n_mels, 12))
    inside = (centres >= low_hz) & (centres <= high_hz)
    classes = np.round(12 * np.log2(np.maximum(centres, 1e-3) / 440.0) + 9).astype(int) % 12
    fold[np.flatnonzero(inside), classes[inside]] = 1.0
    return fold


def edge_vectors(windows: np.ndarray, config: FeatureConfig, n_mfcc: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """Mean MFCC (N, n_mfcc) and unit-norm chroma (N, 12) of log-mel windows (N, n_mels, T)."""
    mfcc = np.einsum("nmt,mk->nk", windows, dct_matrix(config.n_mels, n_mfcc)) / windows.shape[-1]
    energy = np.expm1(windows).mean(axis=-1)  # back to linear mel power (times the log scale)
    chroma = energy @ chroma_matrix(config)
    chroma /= np.linalg.norm(chroma, axis=1, keepdims=True) + 1e-9
    return mfcc, chroma


def _unit_rows(vectors: np.ndarray) -> np.ndarray:
    """Each row scaled to unit length."""
    return vectors / (np.linalg.norm(vectors, axis=1, keepdims=True) + 1e-9)


class SimilarityScorer(ScorerBase):
    """Cosine similarity of A's end and B's start, mapped to (0, 1); no training needed."""

    def __init__(
        self, feature_config: FeatureConfig = FeatureConfig(), n_mfcc: int = 20, chroma_weight: float = 0.5
    ) -> None:
        self.feature_config = feature_config
        self.n_mfcc = n_mfcc
        self.chroma_weight = chroma_weight
        self._rows: dict[int, int] = {}
        self._parts: list[tuple[np.ndarray, ...]] = []
        self._vectors: tuple[np.ndarray, ...] | None = None

    def prepare(
        self,
        project: Project,
        chunk_ids: Sequence[int] | None = None,
        on_progress: ProgressFn | None = None,
        should_stop: StopFn | None = None,
    ) -> None:
        wanted = [c.id for c in project.chunks()] if chunk_ids is None else [int(c) for c in chunk_ids]
        missing = [c for c in wanted if c not in self._rows]
        if missing:
            table = project_feature_table(project, self.feature_config, missing, None, on_progress, should_stop)
            self.prepare_table(table)

    def prepare_table(self, table: FeatureTable) -> None:
        end_mfcc, end_chroma = edge_vectors(table.end.numpy(), table.config, self.n_mfcc)
        start_mfcc, start_chroma = edge_vectors(table.start.numpy(), table.config, self.n_mfcc)
        base = sum(p[0].shape[0] for p in self._parts)
        fresh = [int(c) for c in table.chunk_ids if int(c) not in self._rows]
        keep = np.array([int(c) not in self._rows for c in table.chunk_ids])
        for i, cid in enumerate(fresh):
            self._rows[cid] = base + i
        self._parts.append((end_mfcc[keep], end_chroma[keep], start_mfcc[keep], start_chroma[keep]))
        self._vectors = None

    def _normalised(self) -> tuple[np.ndarray, ...]:
        if self._vectors is None:
            end_mfcc, end_chroma, start_mfcc, start_chroma = (np.concatenate(p) for p in zip(*self._parts))
            # z-scores over all prepared edges, so no single coefficient (loudness, tilt) dominates
            both = np.concatenate([end_mfcc, start_mfcc])
            mean, std = both.mean(axis=0), both.std(axis=0) + 1e-6
            self._vectors = (
                _unit_rows((end_mfcc - mean) / std),
                end_chroma,
                _unit_rows((start_mfcc - mean) / std),
                start_chroma,
            )
        return self._vectors

    def successor_scores(self, a_id: int, candidate_ids: Sequence[int]) -> np.ndarray:
        try:
            a = self._rows[int(a_id)]
            rows = np.fromiter((self._rows[int(c)] for c in candidate_ids), dtype=np.int64, count=len(candidate_ids))
        except KeyError as exc:
            raise KeyError(f"chunk {exc.args[0]} not prepared") from None
        end_mfcc, end_chroma, start_mfcc, start_chroma = self._normalised()
        w = self.chroma_weight
        sim = (1 - w) * (start_mfcc[rows] @ end_mfcc[a]) + w * (start_chroma[rows] @ end_chroma[a])
        return np.clip((1.0 + sim) / 2.0, 1e-6, 1 - 1e-6).astype(np.float32)

    def score_matrix(self, a_ids: Sequence[int], b_ids: Sequence[int]) -> np.ndarray:
        """Rows of ``successor_scores`` (float32, as they are)."""
        return np.stack([self.successor_scores(a, b_ids) for a in a_ids]) if len(a_ids) else np.zeros((0, len(b_ids)))


class RandomScorer(ScorerBase):
    """Uniform random scores, reproducible from the seed and the pair (nothing to prepare)."""

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    def successor_scores(self, a_id: int, candidate_ids: Sequence[int]) -> np.ndarray:
        rng = np.random.default_rng([self.seed, int(a_id)])
        values = rng.random(max([int(c) for c in candidate_ids], default=0) + 1)
        if not len(candidate_ids):
            return np.zeros(0, np.float32)
        return values[np.asarray(candidate_ids, dtype=np.int64)].astype(np.float32)
