"""Scoring candidate successors with a trained model, fast enough for a 10,000-chunk pool.

``TransitionScorer.prepare`` computes each chunk's end and start encodings once; scoring a pool then
runs only the model's seam part, batched over all candidates. Anything with a
``successor_scores(a_id, candidate_ids)`` method (``scoring.Successors``) can be passed to ``rank_successors``.

``pool_scores`` ranks relative to the pool (the chunks last prepared): each candidate B's logit loses how
readily B follows any end of the pool, so that a start the model finds plausible after almost anything
does not top every chunk's suggestions (``POOL_REFERENCE`` and below). ``successor_scores`` stays the
model's own P(B follows A), which the sequencer chains.

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
from mixdesk.ml.scoring import ScorerBase, Successors, ranking_scores
from mixdesk.ml.table import FeatureTable, project_chunk_refs, project_descriptor_vectors, project_feature_table
from mixdesk.progress import ProgressFn, StopFn, check_stop, report

if TYPE_CHECKING:
    from mixdesk.library.project import Project

ENCODE_BATCH = 256
SEAM_BLOCK = 2048  # candidates per seam call (CPU cache-sized; also bounds memory for huge pools)

# Pool normalisation. B's score after A is the model's logit of (A, B) less B's log-sum-exp of logits
# over the pool's ends: the column direction of the in-batch ranking the model is trained with (which
# end leads into start B?). The sum runs over at most POOL_REFERENCE ends spread evenly over the pool,
# plus POOL_PRIOR ends at even odds, so that a start nothing leads into is not lifted above the rest;
# the median chunk's correction is 0, so scores keep their scale. Pools smaller than POOL_MIN keep the
# model's own scores: a sum over a handful of ends says little about the start. Chosen on three
# package folds of the Debian training music (models/recipe/FINDINGS.md): MRR 0.923 -> 0.940 among 50
# candidates (512 ends: 0.936; every end: 0.941; 32 prior ends: 0.935). The sequencer does not use it:
# mixes chained on these scores had fewer seams on the beat (88 % against 92 %).
POOL_REFERENCE = 1024
POOL_PRIOR = 8.0
POOL_MIN = 64


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
        # Pool normalisation: the pool's chunk ids, the ends its sums run over, the median sum (None: not
        # weighed yet), and per prepared row what normalisation adds to its logit as a candidate (NaN:
        # not weighed yet).
        self._pool: list[int] = []
        self._reference: list[int] = []
        self._centre: float | None = None
        self._lift = np.zeros(0, dtype=np.float64)
        # the pool weighed before the current one: (pool, reference ends, centre, lift per chunk id)
        self._saved: tuple[list[int], list[int], float, dict[int, float]] | None = None

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
        """Make the project's chunks (all, or ``chunk_ids``) the pool (``set_pool``): encode those that are
        new or whose span changed."""
        self._project = project
        refs = project_chunk_refs(project, chunk_ids)
        stale = [r for r in refs if self._spans.get(r.id) != (r.track_key, r.start_ms, r.end_ms)]
        if stale:
            self._encode_chunks(project, [r.id for r in stale], descriptors, on_progress, should_stop)
        self.set_pool([r.id for r in refs])

    def prepare_table(
        self,
        table: FeatureTable,
        on_progress: ProgressFn | None = None,
        should_stop: StopFn | None = None,
        pool: bool = True,
    ) -> None:
        """Encode every chunk of a feature table (replacing earlier encodings of the same ids) and, with
        ``pool``, make them the pool (``set_pool``)."""
        self._encode_table(table, on_progress, should_stop)
        if pool:
            self.set_pool([int(c) for c in table.chunk_ids])

    def _encode_chunks(
        self,
        project: Project,
        chunk_ids: list[int],
        descriptors: Mapping[int, np.ndarray] | None = None,
        on_progress: ProgressFn | None = None,
        should_stop: StopFn | None = None,
    ) -> None:
        if descriptors is None and self.model.config.descriptor_dim > 0:
            descriptors = project_descriptor_vectors(project, chunk_ids, on_progress, should_stop)
        table = project_feature_table(project, self.feature_config, chunk_ids, descriptors, on_progress, should_stop)
        self._encode_table(table, on_progress, should_stop)
        spans = {r.id: (r.track_key, r.start_ms, r.end_ms) for r in project_chunk_refs(project, chunk_ids)}
        self._spans.update(spans)

    def _encode_table(
        self, table: FeatureTable, on_progress: ProgressFn | None = None, should_stop: StopFn | None = None
    ) -> None:
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

    def set_pool(self, pool: Sequence[int]) -> None:
        """Rank over ``pool``, chunk ids prepared already (see ``POOL_REFERENCE``); the pool is weighed
        when ``pool_scores`` first needs it, so a run that only scores joins never pays for it. The last
        pool weighed is kept, so that going back to it (a mix's pool, then the suggestions') costs nothing."""
        # Sorted, so that the same chunks make the same pool (and reference ends) in any order.
        pool = sorted({int(c) for c in pool})
        if pool == self._pool:
            return
        self._rows_of(pool)
        centre = self._centre
        current = None
        if centre is not None and self._reference:
            current = (self._pool, self._reference, centre, self._lifts_by_id(self._pool))
        saved, self._saved = self._saved, current
        self._pool = pool
        self._lift = np.full(len(self._rows), np.nan)
        if saved is not None and saved[0] == pool:
            _, self._reference, self._centre, lifts = saved
            for cid, value in lifts.items():
                self._lift[self._rows[cid]] = value
            return
        self._centre = None
        spread = np.linspace(0, len(pool) - 1, min(len(pool), POOL_REFERENCE)).round().astype(np.int64)
        self._reference = [pool[i] for i in np.unique(spread)] if len(pool) >= POOL_MIN else []

    def _lifts_by_id(self, ids: list[int]) -> dict[int, float]:
        return {c: float(self._lift[self._rows[c]]) for c in ids if not np.isnan(self._lift[self._rows[c]])}

    def weigh_pool(self, on_progress: ProgressFn | None = None, should_stop: StopFn | None = None) -> None:
        """Each pool chunk's normalisation as a candidate (a no-op once done, or for a small pool)."""
        if self._centre is not None:
            return
        rows = np.unique(self._rows_of(self._pool)) if self._reference else np.zeros(0, np.int64)
        hub = self._hubs(rows, on_progress, should_stop) if rows.size else np.zeros(0)
        self._centre = float(np.median(hub)) if hub.size else 0.0
        self._lift[rows] = self._centre - hub

    def _lifts(self, rows: np.ndarray) -> np.ndarray:
        """The pool normalisation of candidate ``rows``; chunks encoded after the pool was set get theirs
        from the same pool ends."""
        self.weigh_pool()
        missing = np.unique(rows[np.isnan(self._lift[rows])])
        if missing.size:
            self._lift[missing] = self._centre - self._hubs(missing) if self._reference else 0.0
        return self._lift[rows]

    def _hubs(
        self, rows: np.ndarray, on_progress: ProgressFn | None = None, should_stop: StopFn | None = None
    ) -> np.ndarray:
        """log(POOL_PRIOR + sum over the reference ends of exp(logit(end, start))) for the starts of ``rows``."""
        ends, starts = self._encodings_on(self.device)
        index = torch.from_numpy(rows).to(self.device)
        targets = tuple(t[index] for t in starts)
        log_sum = torch.full((rows.size,), float(np.log(POOL_PRIOR)), dtype=torch.float64, device=self.device)
        reference = [self._rows[c] for c in self._reference]
        with torch.no_grad(), torch_threads():
            for done, r in enumerate(reference, start=1):
                check_stop(should_stop)
                logits = self._block_logits(tuple(t[r : r + 1] for t in ends), targets)
                logits[index == r] = -torch.inf  # a chunk never follows itself
                log_sum = torch.logaddexp(log_sum, logits)
                if done % 64 == 0 or done == len(reference):
                    report(on_progress, done, len(reference), "weighing the pool")
        return require_finite(log_sum.cpu().numpy(), "transition scores")

    def _block_logits(self, end: Encoding, starts: Encoding) -> torch.Tensor:
        """The seam's logits of one end followed by each of ``starts``, in blocks that keep the seam's
        intermediate tensors inside the CPU caches; float64 keeps confident scores strictly below 1
        (float32 rounds logits above ~17 to 1.0)."""
        n = starts[0].shape[0]
        blocks = [
            self.model.seam(end, tuple(t[lo : lo + SEAM_BLOCK] for t in starts)).double()
            for lo in range(0, n, SEAM_BLOCK)
        ]
        return torch.cat(blocks) if blocks else torch.zeros(0, dtype=torch.float64, device=end[0].device)

    def _append(self, ids: list[int], ends: Encoding, starts: Encoding) -> None:
        fresh = set(ids)
        old_ids = [c for c in self._rows if c not in fresh] if self._ends is not None else []
        old_lift = self._lift[[self._rows[c] for c in old_ids]] if old_ids else np.zeros(0)
        if old_ids:
            old_ends, old_starts = self._encodings_on(ends[0].device)
            index = torch.as_tensor([self._rows[c] for c in old_ids], device=ends[0].device)
            ends = tuple(torch.cat([o[index], n]) for o, n in zip(old_ends, ends))
            starts = tuple(torch.cat([o[index], n]) for o, n in zip(old_starts, starts))
        self._ends, self._starts = ends, starts
        self._rows = {c: i for i, c in enumerate(old_ids + ids)}
        # A re-encoded chunk is weighed again; re-encoded reference ends change every sum, so then the
        # whole pool is.
        stale = not fresh.isdisjoint(self._reference)
        self._lift = np.concatenate([np.full(len(old_ids), np.nan) if stale else old_lift, np.full(len(ids), np.nan)])
        if stale:
            self._centre = None
        if self._saved is not None:
            pool, reference, centre, lifts = self._saved
            kept = None if not fresh.isdisjoint(reference) else {c: v for c, v in lifts.items() if c not in fresh}
            self._saved = None if kept is None else (pool, reference, centre, kept)

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
            self._encode_chunks(self._project, missing)
        return np.fromiter((self._rows[int(c)] for c in chunk_ids), dtype=np.int64, count=len(chunk_ids))

    def _seam_probs(self, a_row: int, b_rows: np.ndarray, pooled: bool = False) -> np.ndarray:
        ends, starts = self._encodings_on(self.device)
        end = tuple(t[a_row : a_row + 1] for t in ends)
        n_all = len(self._rows)
        # Scoring every prepared chunk avoids gathering when the pool is most of them.
        whole = b_rows.size * 2 > n_all
        targets = starts if whole else tuple(t[torch.from_numpy(b_rows).to(end[0].device)] for t in starts)
        out = self._block_logits(end, targets).cpu().numpy()
        logits = out[b_rows] if whole else out
        if pooled:
            logits = logits + self._lifts(b_rows)
        return require_finite(torch.sigmoid(torch.from_numpy(logits)).numpy(), "transition scores")

    def successor_scores(self, a_id: int, candidate_ids: Sequence[int]) -> np.ndarray:
        """P(candidate follows A) for each candidate, in (0, 1)."""
        return self._scores(a_id, candidate_ids, pooled=False)

    def pool_scores(self, a_id: int, candidate_ids: Sequence[int]) -> np.ndarray:
        """``successor_scores`` normalised over the pool (see ``POOL_REFERENCE``): what to rank
        successors of A by."""
        return self._scores(a_id, candidate_ids, pooled=True)

    def _scores(self, a_id: int, candidate_ids: Sequence[int], pooled: bool) -> np.ndarray:
        if len(candidate_ids) == 0:
            return np.zeros(0, dtype=np.float64)
        rows = self._rows_of([a_id, *candidate_ids])
        with torch.no_grad(), torch_threads():
            return self._seam_probs(int(rows[0]), rows[1:], pooled)

    def score_matrix(self, a_ids: Sequence[int], b_ids: Sequence[int]) -> np.ndarray:
        """(len(a_ids), len(b_ids)) matrix of P(b follows a)."""
        matrix = np.zeros((len(a_ids), len(b_ids)), dtype=np.float64)
        for i, a in enumerate(a_ids):
            matrix[i] = self.successor_scores(a, b_ids)
        return matrix


def _cat(parts: list[Encoding]) -> Encoding:
    return tuple(torch.cat([p[i] for p in parts]) for i in range(len(parts[0])))


def rank_successors(chunk: int, pool: Sequence[int], k: int, scorer: Successors) -> list[tuple[int, float]]:
    """The ``k`` best successors of ``chunk`` from ``pool`` (never ``chunk`` itself) by ``ranking_scores``,
    best first."""
    candidates = list(dict.fromkeys(int(c) for c in pool if int(c) != int(chunk)))
    if not candidates or k <= 0:
        return []
    scores = np.asarray(ranking_scores(scorer, int(chunk), candidates), dtype=np.float64)
    k = min(k, len(candidates))
    top = np.argpartition(-scores, k - 1)[:k] if k < len(candidates) else np.arange(len(candidates))
    top = top[np.lexsort((np.asarray(candidates)[top], -scores[top]))]
    return [(candidates[i], float(scores[i])) for i in top]
