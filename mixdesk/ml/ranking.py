"""Scoring candidate successors with a trained model, fast enough for a 10,000-chunk pool.

``TransitionScorer.prepare`` computes each chunk's end and start encodings once; scoring a pool then
runs only the model's seam part, batched over all candidates. Anything with a
``successor_scores(a_id, candidate_ids)`` method (``scoring.Successors``) can be passed to ``rank_successors``.

Encodings live on the model's device, wherever the feature table was built; a model moved to another
device after ``prepare`` takes its encodings along on the next call. A model whose scores come out
NaN or infinite (damaged weights) raises ``NonFiniteScoreError`` instead of ranking garbage.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np
import torch

from mixdesk.ml.checkpoint import load_model
from mixdesk.ml.features import FeatureConfig
from mixdesk.ml.metrics import require_finite
from mixdesk.ml.models import Encoding, TransitionModel
from mixdesk.ml.runtime import resolve_device, torch_threads
from mixdesk.ml.scoring import ScorerBase, Successors
from mixdesk.ml.table import FeatureTable, project_chunk_refs, project_descriptor_vectors, project_feature_table
from mixdesk.progress import ProgressFn, StopFn, check_stop, report

if TYPE_CHECKING:
    from mixdesk.library.project import Project

ENCODE_BATCH = 256
SEAM_BLOCK = 2048  # candidates per seam call (CPU cache-sized; also bounds memory for huge pools)


class ModelNotFoundError(FileNotFoundError):
    """No model file where one was expected (for instance, no bundled default model)."""


def default_model_path() -> Path:
    from mixdesk.paths import models_dir

    return models_dir() / "default" / "transition.pt"


def _resolve_model_path(model_path: str | Path | None) -> Path:
    path = Path(model_path) if model_path is not None else default_model_path()
    if not path.is_file():
        what = "bundled default transition model" if model_path is None else "transition model"
        raise ModelNotFoundError(
            f"no {what} at {path}; train one with `mixdesk train --project PROJECT --out MODEL.pt` "
            "and pass it with --model"
        )
    return path


class TransitionScorer(ScorerBase):
    """A trained transition model plus per-chunk encodings of the chunks it has prepared."""

    def __init__(
        self,
        model: TransitionModel,
        configs: Mapping[str, Any],
        device: str | torch.device = "cpu",
        path: Path | None = None,
    ) -> None:
        self.model = model.to(resolve_device(device)).eval()
        self.configs = dict(configs)
        self.path = path
        self._rows: dict[int, int] = {}
        self._ends: Encoding | None = None
        self._starts: Encoding | None = None
        self._project: Project | None = None
        # chunk id -> (track key, start ms, end ms) it was encoded for
        self._spans: dict[int, tuple[str, int, int]] = {}

    @classmethod
    def load(cls, model_path: str | Path | None = None, device: str = "auto") -> "TransitionScorer":
        """Scorer for the model file (None: the bundled default model)."""
        path = _resolve_model_path(model_path)
        model, configs = load_model(path, "cpu")
        return cls(model, configs, device, path)

    @property
    def device(self) -> torch.device:
        """The model's device (asked of the model, which may have been moved since)."""
        return self.model.device

    @property
    def feature_config(self) -> FeatureConfig:
        return self.configs["feature"]

    @property
    def prepared_ids(self) -> list[int]:
        return list(self._rows)

    def prepare(
        self,
        project: Project,
        chunk_ids: Sequence[int] | None = None,
        on_progress: ProgressFn | None = None,
        should_stop: StopFn | None = None,
        descriptors: Mapping[int, np.ndarray] | None = None,
    ) -> None:
        """Encode the project's chunks (all, or ``chunk_ids``) that are new or whose span changed."""
        self._project = project
        refs = project_chunk_refs(project, chunk_ids)
        stale = [r for r in refs if self._spans.get(r.id) != (r.track_key, r.start_ms, r.end_ms)]
        if not stale:
            return
        stale_ids = [r.id for r in stale]
        if descriptors is None and self.model.config.descriptor_dim > 0:
            descriptors = project_descriptor_vectors(project, stale_ids, on_progress, should_stop)
        table = project_feature_table(project, self.feature_config, stale_ids, descriptors, on_progress, should_stop)
        self.prepare_table(table, on_progress, should_stop)
        self._spans.update({r.id: (r.track_key, r.start_ms, r.end_ms) for r in stale})

    def prepare_table(
        self, table: FeatureTable, on_progress: ProgressFn | None = None, should_stop: StopFn | None = None
    ) -> None:
        """Encode every chunk of a feature table (replacing earlier encodings of the same ids)."""
        from mixdesk.ml.batches import DeviceTable

        device = self.device
        dev_table = DeviceTable(table, device, self.model.config.descriptor_dim)
        ends: list[Encoding] = []
        starts: list[Encoding] = []
        with torch.no_grad(), torch_threads():
            for lo in range(0, len(table), ENCODE_BATCH):
                check_stop(should_stop)
                hi = min(lo + ENCODE_BATCH, len(table))
                rows = torch.arange(lo, hi, device=device)
                model = self.model
                ends.append(model.encode_end(model.edges(dev_table, rows, "end"), model.descriptors(dev_table, rows)))
                starts.append(
                    model.encode_start(model.edges(dev_table, rows, "start"), model.descriptors(dev_table, rows))
                )
                report(on_progress, hi, len(table), "encoding chunks")
        self._append([int(c) for c in table.chunk_ids], _cat(ends), _cat(starts))
        for cid in table.chunk_ids:
            self._spans.pop(int(cid), None)

    def _append(self, ids: list[int], ends: Encoding, starts: Encoding) -> None:
        fresh = set(ids)
        old_ids = [c for c in self._rows if c not in fresh] if self._ends is not None else []
        if old_ids:
            old_ends, old_starts = self._encodings_on(ends[0].device)
            index = torch.as_tensor([self._rows[c] for c in old_ids], device=ends[0].device)
            ends = tuple(torch.cat([o[index], n]) for o, n in zip(old_ends, ends))
            starts = tuple(torch.cat([o[index], n]) for o, n in zip(old_starts, starts))
        self._ends, self._starts = ends, starts
        self._rows = {c: i for i, c in enumerate(old_ids + ids)}

    def _encodings_on(self, device: torch.device) -> tuple[Encoding, Encoding]:
        """The prepared (end, start) encodings, moved to ``device`` first (after the model was moved there)."""
        if self._ends is None or self._starts is None:
            raise KeyError("no chunks prepared")
        if self._ends[0].device != device:
            self._ends = tuple(t.to(device) for t in self._ends)
            self._starts = tuple(t.to(device) for t in self._starts)
        return self._ends, self._starts

    def _rows_of(self, chunk_ids: Sequence[int]) -> np.ndarray:
        missing = [int(c) for c in chunk_ids if int(c) not in self._rows]
        if missing:
            if self._project is None:
                raise KeyError(f"chunks not prepared: {missing[:5]}{'...' if len(missing) > 5 else ''}")
            self.prepare(self._project, missing)
        return np.fromiter((self._rows[int(c)] for c in chunk_ids), dtype=np.int64, count=len(chunk_ids))

    def _seam_probs(self, a_row: int, b_rows: np.ndarray) -> np.ndarray:
        ends, starts = self._encodings_on(self.device)
        end = tuple(t[a_row : a_row + 1] for t in ends)
        n_all = len(self._rows)
        # Scoring every prepared chunk avoids gathering when the pool is most of them; blocks keep the
        # seam's intermediate tensors inside the CPU caches.
        whole = b_rows.size * 2 > n_all
        targets = np.arange(n_all) if whole else b_rows
        # float64 keeps confident scores strictly below 1 (float32 rounds logits above ~17 to 1.0).
        out = np.empty(targets.size, dtype=np.float64)
        for lo in range(0, targets.size, SEAM_BLOCK):
            hi = min(lo + SEAM_BLOCK, targets.size)
            if whole:
                start = tuple(t[lo:hi] for t in starts)
            else:
                index = torch.from_numpy(targets[lo:hi]).to(end[0].device)
                start = tuple(t[index] for t in starts)
            out[lo:hi] = torch.sigmoid(self.model.seam(end, start).double()).cpu().numpy()
        return require_finite(out[b_rows] if whole else out, "transition scores")

    def successor_scores(self, a_id: int, candidate_ids: Sequence[int]) -> np.ndarray:
        """P(candidate follows A) for each candidate, in (0, 1)."""
        if len(candidate_ids) == 0:
            return np.zeros(0, dtype=np.float64)
        rows = self._rows_of([a_id, *candidate_ids])
        with torch.no_grad(), torch_threads():
            return self._seam_probs(int(rows[0]), rows[1:])

    def score_matrix(self, a_ids: Sequence[int], b_ids: Sequence[int]) -> np.ndarray:
        """(len(a_ids), len(b_ids)) matrix of P(b follows a)."""
        matrix = np.zeros((len(a_ids), len(b_ids)), dtype=np.float64)
        for i, a in enumerate(a_ids):
            matrix[i] = self.successor_scores(a, b_ids)
        return matrix


def _cat(parts: list[Encoding]) -> Encoding:
    return tuple(torch.cat([p[i] for p in parts]) for i in range(len(parts[0])))


def rank_successors(chunk: int, pool: Sequence[int], k: int, scorer: Successors) -> list[tuple[int, float]]:
    """The ``k`` best successors of ``chunk`` from ``pool`` (never ``chunk`` itself), best first."""
    candidates = list(dict.fromkeys(int(c) for c in pool if int(c) != int(chunk)))
    if not candidates or k <= 0:
        return []
    scores = np.asarray(scorer.successor_scores(int(chunk), candidates), dtype=np.float64)
    k = min(k, len(candidates))
    top = np.argpartition(-scores, k - 1)[:k] if k < len(candidates) else np.arange(len(candidates))
    top = top[np.lexsort((np.asarray(candidates)[top], -scores[top]))]
    return [(candidates[i], float(scores[i])) for i in top]
