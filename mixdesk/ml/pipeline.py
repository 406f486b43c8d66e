"""From a project to a trained model file: pair data, training and the project's run/model records.

The desk's training panel, the ``mixdesk train`` command and the research experiments all call these.
In a data-parallel group (``mixdesk.ml.distributed``) every worker builds the pair data and trains;
rank 0 alone records the run and the model in the project.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from mixdesk.ml import distributed
from mixdesk.ml.features import FeatureConfig
from mixdesk.ml.pairs import PairConfig, PairData, tempo_key_from_analysis
from mixdesk.ml.table import project_descriptor_vectors, project_feature_table
from mixdesk.ml.training import FitResult, TrainConfig, fit
from mixdesk.progress import Cancelled, ProgressFn, StopFn

if TYPE_CHECKING:
    from mixdesk.library.project import Project


def project_pair_data(
    project: Project,
    feature_config: FeatureConfig = FeatureConfig(),
    pair_config: PairConfig = PairConfig(),
    use_descriptors: bool = False,
    chunk_ids: Sequence[int] | None = None,
    on_progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
    jobs: int = 1,
) -> PairData:
    """Pair data over the project's chunks (or ``chunk_ids``), with hard negatives when tempo/key exist;
    ``jobs`` processes compute the features the cache lacks (and the descriptors the project lacks)."""
    descriptors = (
        project_descriptor_vectors(project, chunk_ids, on_progress, should_stop, jobs) if use_descriptors else None
    )
    table = project_feature_table(project, feature_config, chunk_ids, descriptors, on_progress, should_stop, jobs)
    tempo_key = tempo_key_from_analysis(project.analysis("descriptors"))
    return PairData(table, pair_config, tempo_key or None)


def train_on_project(
    project: Project,
    config: TrainConfig,
    feature_config: FeatureConfig = FeatureConfig(),
    pair_config: PairConfig = PairConfig(),
    use_descriptors: bool = False,
    name: str | None = None,
    on_progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
    jobs: int = 1,
) -> FitResult:
    """Train on a project and record the run (and, with ``config.out``, the model) in the project."""
    group = distributed.current()
    with distributed.leader_first(group):
        data = project_pair_data(
            project,
            feature_config,
            pair_config,
            use_descriptors,
            None,
            on_progress if group.leader else None,
            should_stop,
            jobs,
        )
    if use_descriptors and data.table.descriptors is not None and config.model.descriptor_dim == 0:
        config = replace(config, model=replace(config.model, descriptor_dim=int(data.table.descriptors.shape[1])))
    if not group.leader:
        return fit(config, data, None, should_stop)
    run_config = {"train": config.to_dict(), "feature": feature_config.to_dict(), "pairs": pair_config.to_dict()}
    run_id = project.add_run("train", run_config)
    started = time.time()
    try:
        result = fit(config, data, on_progress, should_stop)
    except (Cancelled, KeyboardInterrupt):
        project.finish_run(run_id, "cancelled", {"seconds": time.time() - started})
        raise
    except Exception as exc:
        project.finish_run(run_id, "failed", {"error": str(exc)})
        raise
    metrics = fit_metrics(result)
    project.finish_run(run_id, "done", metrics)
    if config.out:
        project.add_model(
            name or Path(config.out).stem,
            str(Path(config.out).resolve()),
            {"arch": config.model.arch, "run_id": run_id, **metrics},
        )
    return result


def fit_metrics(result: FitResult) -> dict[str, Any]:
    """What a finished training reports: the run record, the model list and ``mixdesk train`` show these."""
    last = result.history[-1] if result.history else {}
    best = next((h for h in result.history if h["epoch"] == result.best_epoch), last)
    return {
        "best_epoch": result.best_epoch,
        "averaged_epochs": result.meta.get("averaged_epochs", []),
        "epochs_run": len(result.history),
        "val_loss": best.get("val_loss"),
        "val_acc": best.get("val_acc"),
        "train_loss": best.get("train_loss"),
        "train_acc": best.get("train_acc"),
        "stopped_early": result.stopped_early,
        "device": result.device,
        "threads": result.threads,
        "processes": result.meta.get("processes", 1),
        "seconds": round(result.seconds, 2),
        "pairs_per_s": round(result.pairs_per_s, 1),
    }


def tracks_by_folder(project: Project) -> Mapping[str, list[int]]:
    """Track ids grouped by the name of their parent folder (genre sub-folders, for experiments)."""
    groups: dict[str, list[int]] = {}
    for track in project.tracks():
        groups.setdefault(track.folder or "", []).append(track.id)
    return groups
