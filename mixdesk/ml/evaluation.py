"""Held-out evaluation of a transition model against the random and similarity baselines.

All scorers see the same held-out pairs and the same candidate lists in one run:
- pairs: positives and mixed negatives drawn from held-out tracks only -> accuracy, ROC-AUC;
- ranking: for each held-out chunk with a successor, the true successor among ``candidates`` chunks
  (the truth plus random held-out chunks, same-track ones included) -> Hit@1, Hit@5, MRR;
- pool ranking: the same against every other held-out chunk -> pool_hit1, pool_hit5, pool_mrr.

Pair figures score each pair as a join (``successor_scores``); ranking figures rank as suggestions do
(``ranking_scores``), in the pool of held-out chunks (``pool_of``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np

from mixdesk.ml.baselines import RandomScorer, SimilarityScorer
from mixdesk.ml.metrics import (
    accuracy,
    best_threshold,
    rank_of_truth,
    ranking_summary,
    require_finite,
    roc_auc,
)
from mixdesk.ml.pairs import PairConfig, PairData, PairSet, TempoKey, tempo_key_from_analysis
from mixdesk.ml.scoring import Successors, ranking_scores
from mixdesk.ml.table import FeatureTable
from mixdesk.progress import ProgressFn, StopFn, check_stop, report

if TYPE_CHECKING:
    from mixdesk.library.project import Project

# Ranking queries: (anchor row, candidate rows with the true successor first).
CandidateLists = list[tuple[int, np.ndarray]]


def pair_scores(scorer: Successors, a_ids: np.ndarray, b_ids: np.ndarray) -> np.ndarray:
    """Scores of pairs (a_ids[i] -> b_ids[i]), one scorer call per distinct A."""
    out = np.zeros(len(a_ids), dtype=np.float64)
    for a in np.unique(a_ids):
        where = np.flatnonzero(a_ids == a)
        out[where] = require_finite(scorer.successor_scores(int(a), [int(b) for b in b_ids[where]]))
    return out


def candidate_lists(table: FeatureTable, rows: np.ndarray, successor: np.ndarray, n: int, seed: int) -> CandidateLists:
    """For each anchor row with a successor in ``rows``: (anchor, candidates with the truth first)."""
    rng = np.random.default_rng([seed, 7])
    lists: CandidateLists = []
    for row in rows:
        truth = successor[row]
        if truth < 0 or truth not in rows:
            continue
        others = rows[(rows != row) & (rows != truth)]
        take = min(n - 1, others.size)
        lists.append((int(row), np.concatenate([[truth], rng.choice(others, take, replace=False)])))
    return lists


def _ranks(scorer: Successors, table: FeatureTable, lists: CandidateLists) -> list[float]:
    ids = table.chunk_ids
    return [
        rank_of_truth(require_finite(ranking_scores(scorer, int(ids[a]), [int(c) for c in ids[cands]])), 0)
        for a, cands in lists
    ]


def score_report(
    scorer: Successors,
    table: FeatureTable,
    pairs: PairSet,
    lists: CandidateLists,
    pool_lists: CandidateLists,
    threshold: float = 0.5,
) -> dict[str, Any]:
    """Pair metrics of ``scorer`` on ``pairs`` and ranking metrics on both kinds of candidate lists."""
    ids = table.chunk_ids
    scores = pair_scores(scorer, ids[pairs.a], ids[pairs.b])
    result: dict[str, Any] = {
        "auc": roc_auc(pairs.label, scores),
        "accuracy": accuracy(pairs.label, scores, threshold),
        **ranking_summary(_ranks(scorer, table, lists)),
        "n_pairs": int(len(pairs)),
        "n_candidates": int(max((c.size for _, c in lists), default=0)),
        "n_queries": len(lists),
    }
    pool = ranking_summary(_ranks(scorer, table, pool_lists))
    result.update({f"pool_{k}": v for k, v in pool.items()})
    result["pool_size"] = int(max((c.size for _, c in pool_lists), default=0))
    result["threshold"] = float(threshold)
    return result


def evaluate_table(
    table: FeatureTable,
    heldout_tracks: Sequence[int],
    scorer: Successors,
    candidates: int = 50,
    seed: int = 0,
    pair_config: PairConfig = PairConfig(),
    tempo_key: Mapping[int, TempoKey] | None = None,
    calibration_tracks: Sequence[int] = (),
    max_queries: int = 0,
    on_progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
) -> dict[str, Any]:
    """Metrics of ``scorer`` and both baselines on ``heldout_tracks`` of an already-built table."""
    heldout = np.asarray(sorted(set(int(t) for t in heldout_tracks)), dtype=np.int64)
    if heldout.size == 0:
        raise ValueError("no held-out tracks to evaluate on")
    splits = {
        "test": heldout,
        "val": np.zeros(0, np.int64),
        "train": np.asarray(sorted(set(int(t) for t in calibration_tracks) - set(heldout)), np.int64),
    }
    data = PairData(table, pair_config, tempo_key, splits)
    pairs, rows = data.pairs("test"), data.rows("test")
    lists = candidate_lists(table, rows, data.successor, candidates, seed)
    pool_lists = candidate_lists(table, rows, data.successor, rows.size, seed)
    if max_queries and len(lists) > max_queries:
        pick = np.random.default_rng([seed, 11]).choice(len(lists), max_queries, replace=False)
        lists, pool_lists = [lists[i] for i in sorted(pick)], [pool_lists[i] for i in sorted(pick)]
    similarity = SimilarityScorer(table.config)
    similarity.prepare_table(table)
    threshold = 0.5
    if splits["train"].size:
        calib = data.pairs("train")
        calib_scores = pair_scores(similarity, table.chunk_ids[calib.a], table.chunk_ids[calib.b])
        threshold = best_threshold(calib.label, calib_scores)
    report(on_progress, 0, 3, "scoring held-out pairs")
    result = score_report(scorer, table, pairs, lists, pool_lists)
    check_stop(should_stop)
    report(on_progress, 1, 3, "random baseline")
    baselines = {"random": score_report(RandomScorer(seed), table, pairs, lists, pool_lists)}
    check_stop(should_stop)
    report(on_progress, 2, 3, "similarity baseline")
    baselines["similarity"] = score_report(similarity, table, pairs, lists, pool_lists, threshold)
    report(on_progress, 3, 3, "done")
    result["baselines"] = baselines
    result["heldout_tracks"] = int(heldout.size)
    result["heldout_chunks"] = int(rows.size)
    return result


def pool_of(table: FeatureTable, tracks: Sequence[int] | np.ndarray) -> FeatureTable:
    """The chunks of ``tracks``: the pool a scorer ranks in when it is evaluated on them."""
    return table.subset(np.flatnonzero(np.isin(table.track_ids, np.asarray(tracks, dtype=np.int64))))


def heldout_tracks(table: FeatureTable, split: Mapping[str, Sequence[str]]) -> tuple[list[int], list[int]]:
    """(held-out, calibration) track ids: the model's test tracks if present here, else every track
    it neither trained nor validated on; calibration tracks are its training tracks present here."""
    keys = table.track_keys or {int(t): f"track{int(t)}" for t in np.unique(table.track_ids)}
    present = sorted(int(t) for t in np.unique(table.track_ids))
    test = set(split.get("test", []))
    seen = set(split.get("train", [])) | set(split.get("val", []))
    chosen = [t for t in present if keys.get(t) in test]
    if not chosen:
        chosen = [t for t in present if keys.get(t) not in seen]
    calibration = [t for t in present if keys.get(t) in set(split.get("train", []))]
    return chosen, calibration


def evaluate(
    model_path: str | Path | None,
    project: Project,
    candidates: int = 50,
    seed: int = 0,
    device: str = "auto",
    max_queries: int = 0,
    on_progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
) -> dict[str, Any]:
    """Evaluate a model file (None: the bundled default) on the project's held-out tracks."""
    from mixdesk.ml.ranking import TransitionScorer
    from mixdesk.ml.table import project_descriptor_vectors, project_feature_table

    scorer = TransitionScorer.load(model_path, device)
    reads_descriptors = scorer.model.config.descriptor_dim > 0
    descriptors = project_descriptor_vectors(project, None, on_progress, should_stop) if reads_descriptors else None
    table = project_feature_table(project, scorer.feature_config, None, descriptors, on_progress, should_stop)
    heldout, calibration = heldout_tracks(table, scorer.configs.get("split", {}))
    if not heldout:
        raise ValueError(
            "every track of this project was used to train or validate the model; "
            "evaluate it on a project with other tracks"
        )
    scorer.prepare_table(pool_of(table, heldout), should_stop=should_stop)
    tempo_key = tempo_key_from_analysis(project.analysis("descriptors"))
    # The evaluation's negative mix is fixed (PairConfig defaults), whatever mix the model trained on,
    # so that models trained differently are compared on the same pairs.
    result = evaluate_table(
        table,
        heldout,
        scorer,
        candidates,
        seed,
        PairConfig(seed=seed),
        tempo_key or None,
        calibration,
        max_queries,
        on_progress,
        should_stop,
    )
    result["model"] = str(scorer.path)
    return result
