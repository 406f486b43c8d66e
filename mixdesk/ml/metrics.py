"""Scoring metrics in plain numpy: ROC-AUC, accuracy, and ranks of a true item among candidates."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
from scipy.stats import rankdata


class NonFiniteScoreError(ValueError):
    """A scorer returned NaN or infinite scores (a model with damaged weights, for instance)."""


def require_finite(scores: np.ndarray, what: str = "scores") -> np.ndarray:
    """``scores`` unchanged if all are finite; NaN would otherwise rank every truth first (NaN
    compares false with everything) and a broken model would be reported as perfect."""
    scores = np.asarray(scores, dtype=np.float64)
    bad = ~np.isfinite(scores)
    if bad.any():
        raise NonFiniteScoreError(
            f"{int(bad.sum())} of {scores.size} {what} are NaN or infinite; the model's weights are "
            "damaged (train it again)"
        )
    return scores


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney U; tied scores count one half). NaN without both classes."""
    labels = np.asarray(labels).astype(bool)
    scores = np.asarray(scores, dtype=np.float64)
    n_pos, n_neg = int(labels.sum()), int((~labels).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(scores)
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def accuracy(labels: np.ndarray, scores: np.ndarray, threshold: float = 0.5) -> float:
    labels = np.asarray(labels).astype(bool)
    if labels.size == 0:
        return float("nan")
    return float(np.mean((np.asarray(scores) > threshold) == labels))


def best_threshold(labels: np.ndarray, scores: np.ndarray) -> float:
    """The threshold with the highest accuracy on (labels, scores): used to calibrate a baseline."""
    scores = np.asarray(scores, dtype=np.float64)
    if scores.size == 0:
        return 0.5
    cuts = np.unique(scores)
    mids = np.concatenate([[cuts[0] - 1e-9], (cuts[:-1] + cuts[1:]) / 2.0, [cuts[-1] + 1e-9]])
    accs = [accuracy(labels, scores, t) for t in mids]
    return float(mids[int(np.argmax(accs))])


def rank_of_truth(scores: np.ndarray, truth: int) -> float:
    """1-based rank of ``scores[truth]``; candidates scoring equal share the rank (average)."""
    scores = np.asarray(scores, dtype=np.float64)
    others = np.delete(scores, truth)
    return 1.0 + float(np.sum(others > scores[truth])) + 0.5 * float(np.sum(others == scores[truth]))


def ranking_summary(ranks: Sequence[float] | np.ndarray) -> dict[str, float]:
    values = np.asarray(ranks, dtype=np.float64)
    if values.size == 0:
        return {"hit1": float("nan"), "hit5": float("nan"), "mrr": float("nan")}
    return {
        "hit1": float(np.mean(values <= 1.0)),
        "hit5": float(np.mean(values <= 5.0)),
        "mrr": float(np.mean(1.0 / values)),
    }


# What a trained model must beat: the untrained similarity baseline, on the numbers users compare first.
BASELINE_TO_BEAT = "similarity"
HEADLINE_METRICS = (("mrr", "MRR"), ("auc", "AUC"))


def below_baseline(result: Mapping[str, Any], baseline: str = BASELINE_TO_BEAT) -> list[tuple[str, float, float]]:
    """(metric label, model, baseline) for each headline metric where an evaluation result (``mixdesk
    eval``'s, with its ``baselines``) has the model scoring below ``baseline``; empty when it is not."""
    reference = (result.get("baselines") or {}).get(baseline) or {}
    out: list[tuple[str, float, float]] = []
    for key, label in HEADLINE_METRICS:
        model, base = result.get(key), reference.get(key)
        if model is None or base is None or not (np.isfinite(model) and np.isfinite(base)):
            continue
        if float(model) < float(base):
            out.append((label, float(model), float(base)))
    return out
