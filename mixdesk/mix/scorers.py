"""Finding a transition scorer for a mix: a model file, the bundled model, a brief training, or a baseline."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mixdesk.library.project import Project
from mixdesk.ml.scoring import Scorer, Successors, as_scorer, ranking_scores
from mixdesk.progress import ProgressFn, StopFn

BRIEF_TRAINING_EPOCHS = 4


def _model_scorer(model_path: str | Path | None, device: str) -> Scorer:
    from mixdesk.ml.ranking import TransitionScorer

    return TransitionScorer.load(model_path, device=device)


def _train_briefly(project: Project, device: str, on_progress: ProgressFn | None, should_stop: StopFn | None) -> Scorer:
    """A few epochs on the project itself, cached beside it so the next run loads instead of training."""
    from mixdesk.ml.pipeline import train_on_project
    from mixdesk.ml.training import TrainConfig

    out = Path(project.cache_dir) / "ml" / "brief-transition.pt"
    if out.exists():
        try:
            return _model_scorer(out, device)
        except (RuntimeError, ValueError, KeyError):
            out.unlink()  # written by an older model layout: train again
    out.parent.mkdir(parents=True, exist_ok=True)
    config = TrainConfig(epochs=BRIEF_TRAINING_EPOCHS, patience=2, device=device, out=str(out))
    train_on_project(project, config, name="brief", on_progress=on_progress, should_stop=should_stop)
    return _model_scorer(out, device)


def successor_mrr(scorer: Successors, project: Project, max_queries: int = 40) -> float:
    """Mean reciprocal rank of each chunk's true successor among all chunks: a quick sanity check that a
    scorer tells the chunk that really follows from the rest."""
    chunks = project.chunks()
    ids = np.array([c.id for c in chunks])
    following = [(a.id, b.id) for a, b in zip(chunks, chunks[1:]) if a.track_id == b.track_id]
    if not following:
        return 0.0
    picks = np.linspace(0, len(following) - 1, min(max_queries, len(following))).round().astype(int)
    as_scorer(scorer).prepare(project, chunk_ids=ids.tolist())
    ranks = []
    for a, b in (following[i] for i in picks):
        others = ids[ids != a]
        scores = np.asarray(ranking_scores(scorer, int(a), others.tolist()))
        ranks.append(1 + int(np.sum(scores > scores[np.flatnonzero(others == b)[0]])))
    return float(np.mean(1.0 / np.array(ranks)))


def similarity_scorer() -> Scorer:
    from mixdesk.ml.baselines import SimilarityScorer

    return SimilarityScorer()


def load_scorer(
    project: Project,
    model_path: str | Path | None = None,
    *,
    train_if_missing: bool = False,
    device: str = "auto",
    on_progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
) -> tuple[Scorer, str]:
    """(scorer, what it is). A model path that does not load is an error; a missing bundled model falls
    back to a brief training (when allowed) and then to the similarity baseline."""
    if model_path is not None:
        return _model_scorer(model_path, device), f"transition model {model_path}"
    try:
        return _model_scorer(None, device), "bundled transition model"
    except (FileNotFoundError, ImportError, ValueError, RuntimeError, KeyError):
        pass
    baseline = similarity_scorer()
    if train_if_missing:
        try:
            trained = _train_briefly(project, device, on_progress, should_stop)
        except (ImportError, ValueError, RuntimeError, OSError):
            trained = None
        if trained is not None:
            # a few epochs may not beat the untrained baseline; keep whichever ranks true successors better
            mrr_model, mrr_base = successor_mrr(trained, project), successor_mrr(baseline, project)
            scores = f"successor MRR {mrr_model:.2f} vs similarity {mrr_base:.2f}"
            if mrr_model >= mrr_base:
                return trained, f"transition model trained briefly on the project ({scores})"
            return baseline, f"similarity baseline (briefly trained model ranked worse: {scores})"
    return baseline, "similarity baseline (no trained model available)"
