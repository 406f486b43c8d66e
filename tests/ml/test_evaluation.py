import json

import numpy as np
import pytest

from mixdesk.ml.evaluation import evaluate_table, heldout_tracks
from mixdesk.ml.metrics import best_threshold, rank_of_truth, ranking_summary, roc_auc

METRIC_KEYS = {"auc", "accuracy", "hit1", "hit5", "mrr", "n_pairs", "n_candidates"}


def test_roc_auc_and_ranks():
    y = np.array([1, 1, 0, 0])
    assert roc_auc(y, np.array([0.9, 0.8, 0.2, 0.1])) == 1.0
    assert roc_auc(y, np.array([0.1, 0.2, 0.8, 0.9])) == 0.0
    assert roc_auc(y, np.full(4, 0.5)) == 0.5
    assert roc_auc(np.array([1, 0, 1, 0]), np.array([0.8, 0.6, 0.4, 0.2])) == 0.75
    assert np.isnan(roc_auc(np.ones(3), np.arange(3.0)))
    assert rank_of_truth(np.array([0.5, 0.9, 0.1]), 0) == 2.0
    assert rank_of_truth(np.array([0.5, 0.5, 0.1]), 0) == 1.5
    assert ranking_summary([1, 2, 10]) == pytest.approx({"hit1": 1 / 3, "hit5": 2 / 3, "mrr": (1 + 0.5 + 0.1) / 3})
    assert 0.3 < best_threshold(y, np.array([0.9, 0.8, 0.2, 0.1])) < 0.8


class SuccessorOracle:
    """Knows the true successor: the best possible scorer."""

    def __init__(self, table):
        succ = table.successors()
        self.next = {int(table.chunk_ids[i]): int(table.chunk_ids[s]) for i, s in enumerate(succ) if s >= 0}

    def successor_scores(self, a_id, candidate_ids):
        return np.array([0.99 if self.next.get(a_id) == c else 0.01 for c in candidate_ids])


def test_evaluate_table_with_perfect_scorer_and_baselines(synthetic_table):
    result = evaluate_table(
        synthetic_table, [1, 2], SuccessorOracle(synthetic_table), candidates=8, calibration_tracks=[3, 4, 5]
    )
    assert METRIC_KEYS <= set(result) and set(result["baselines"]) == {"random", "similarity"}
    assert result["auc"] == 1.0 and result["accuracy"] == 1.0 and result["hit1"] == 1.0 and result["mrr"] == 1.0
    assert result["n_candidates"] == 8 and result["pool_size"] == 11 and result["n_queries"] == 10
    for name in ("random", "similarity"):
        assert METRIC_KEYS <= set(result["baselines"][name])
    assert result["baselines"]["random"]["mrr"] < 0.7
    json.dumps(result)


def test_heldout_tracks_follow_the_model_split(synthetic_table):
    keys = synthetic_table.track_keys
    split = {"train": [keys[1], keys[2]], "val": [keys[3]], "test": [keys[4]]}
    assert heldout_tracks(synthetic_table, split) == ([4], [1, 2])
    assert heldout_tracks(synthetic_table, {"train": [keys[1]], "val": [], "test": []}) == ([2, 3, 4, 5], [1])
