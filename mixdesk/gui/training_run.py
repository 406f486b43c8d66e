"""Worker-side calls of the training panel: train, evaluate, list and load models.

Everything here runs on a job thread and returns plain data; no widget is touched.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional, TypeGuard

from mixdesk.gui.jobs import user_message
from mixdesk.progress import Cancelled, Progress, ProgressFn, StopFn

if TYPE_CHECKING:
    # Names only: the desk imports this module with its window, long before torch is loaded.
    from mixdesk.library.project import Project
    from mixdesk.ml.features import FeatureConfig
    from mixdesk.ml.scoring import Scorer
    from mixdesk.ml.training import EpochReport, TrainConfig

log = logging.getLogger(__name__)

DEFAULT_MODEL_LABEL = "Bundled default model"
BASELINE_LABEL = "Similarity baseline (no training)"
BASELINE_KEY = "baseline:similarity"
# The desk's run is shorter than ``mixdesk train``'s (TrainConfig.epochs): the user watches it live and
# wants a model to try within minutes, and early stopping ends a run that stops improving anyway.
DESK_EPOCHS = 20


def _train_config() -> TrainConfig:
    from mixdesk.ml.training import TrainConfig

    return TrainConfig()


def _feature_config() -> FeatureConfig:
    from mixdesk.ml.features import FeatureConfig

    return FeatureConfig()


@dataclass(frozen=True)
class TrainOptions:
    """A desk training run; the panel's controls start from these values.

    Every default but ``epochs`` is the library's (``TrainConfig``, its ``ModelConfig``, ``FeatureConfig``),
    read when options are made so that this module stays torch-free. The window length is the one the
    bundled model and ``mixdesk train`` use, so the desk's run reuses their cached features.
    """

    arch: str = field(default_factory=lambda: _train_config().model.arch)
    epochs: int = DESK_EPOCHS
    # 0: picked by device (CUDA or CPU)
    batch_size: int = field(default_factory=lambda: _train_config().batch_size)
    learning_rate: float = field(default_factory=lambda: _train_config().lr)
    window_s: float = field(default_factory=lambda: _feature_config().window_s)
    device: str = field(default_factory=lambda: _train_config().device)
    name: str = ""


@dataclass(frozen=True)
class ModelEntry:
    label: str
    path: Optional[str]  # None: the bundled default


@dataclass
class EpochHistory:
    """Every end-of-epoch report, in order; the job's progress signal only carries the latest one."""

    reports: list[EpochReport] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, report: EpochReport) -> None:
        with self.lock:
            if self.reports and self.reports[-1].epoch == report.epoch:
                self.reports[-1] = report
            else:
                self.reports.append(report)

    def snapshot(self) -> list[EpochReport]:
        with self.lock:
            return list(self.reports)


@dataclass(frozen=True)
class TrainOutcome:
    model_path: str
    model_name: str
    stopped: bool
    metrics: dict[str, Any]


def cuda_unavailable_reason() -> str:
    """Empty when CUDA can be used, else why not, in words a user understands."""
    try:
        import torch
    except ImportError:
        return "PyTorch is not installed"
    if not torch.cuda.is_available():
        if torch.version.cuda is None:
            return "This PyTorch build has no CUDA support (CPU-only build)"
        return "No CUDA GPU was found by PyTorch"
    return ""


def list_models(project: Project | None) -> list[ModelEntry]:
    """The bundled model (when shipped), the similarity baseline, then the project's own models."""
    from mixdesk.ml.ranking import default_model_path

    entries = [ModelEntry(DEFAULT_MODEL_LABEL, None)] if default_model_path().is_file() else []
    entries.append(ModelEntry(BASELINE_LABEL, BASELINE_KEY))
    if project is None:
        return entries
    for row in project.models():
        entries.append(ModelEntry(f"{row['name']}  ({str(row.get('created_at', ''))[:16]})", row["path"]))
    return entries


def model_key(scorer: Scorer) -> str:
    """The models-list key that loads ``scorer`` again: a model's file, else the baseline."""
    from mixdesk.ml.ranking import TransitionScorer

    if isinstance(scorer, TransitionScorer) and scorer.path is not None:
        return str(scorer.path)
    return BASELINE_KEY


def scorer_label(project: Project | None, scorer: Scorer) -> str:
    """The models-list name of ``scorer`` (the bundled model, the baseline, a project model), else its file."""
    from mixdesk.ml.ranking import default_model_path

    key = model_key(scorer)
    if key != BASELINE_KEY and Path(key) == default_model_path():
        return DEFAULT_MODEL_LABEL
    for entry in list_models(project):
        if entry.path == key:
            return entry.label
    return Path(key).stem


def describe_entry(entry: ModelEntry) -> str:
    if entry.path is None:
        return "Shipped with mixdesk, trained on free music"
    if entry.path == BASELINE_KEY:
        return "Cosine similarity of timbre and chroma across the seam; needs no training"
    return entry.path


def is_epoch_end(progress: Progress) -> TypeGuard[EpochReport]:
    """Training reports steps often and each finished epoch once, with its validation numbers."""
    from mixdesk.ml.training import EpochReport

    return isinstance(progress, EpochReport) and progress.val_loss is not None


def run_training(
    project: Project,
    options: TrainOptions,
    out_path: Path,
    history: EpochHistory,
    on_progress: ProgressFn,
    should_stop: StopFn,
) -> TrainOutcome:
    """Train as ``mixdesk train`` does, then evaluate on held-out tracks as ``mixdesk eval`` does.

    A stop after at least one finished epoch keeps that checkpoint and lists it with the project's models.
    """
    from mixdesk.ml.features import FeatureConfig
    from mixdesk.ml.models import ModelConfig
    from mixdesk.ml.pipeline import train_on_project
    from mixdesk.ml.training import TrainConfig

    def relay(progress: Progress) -> None:
        if is_epoch_end(progress):
            history.add(progress)
        on_progress(progress)

    name = options.name or Path(out_path).stem
    config = TrainConfig(
        model=ModelConfig(arch=options.arch),
        epochs=options.epochs,
        batch_size=options.batch_size,
        lr=options.learning_rate,
        device=options.device,
        out=str(out_path),
    )
    try:
        train_on_project(
            project,
            config,
            FeatureConfig(window_s=options.window_s),
            name=name,
            on_progress=relay,
            should_stop=should_stop,
        )
    except Cancelled:
        if not Path(out_path).exists():
            raise
        project.add_model(
            name,
            str(Path(out_path).resolve()),
            {"arch": options.arch, "stopped": True, "epochs_run": len(history.snapshot())},
        )
        return TrainOutcome(str(Path(out_path).resolve()), name, True, {})
    metrics = evaluate_model(project, out_path, on_progress, should_stop)
    return TrainOutcome(str(Path(out_path).resolve()), name, False, metrics)


def evaluate_model(project: Project, model_path: Path, on_progress: ProgressFn, should_stop: StopFn) -> dict[str, Any]:
    """Held-out metrics and baselines; a failure here must not cost the user the model just trained."""
    try:
        from mixdesk.ml.evaluation import evaluate

        return evaluate(model_path, project, candidates=50, on_progress=on_progress, should_stop=should_stop)
    except Cancelled:
        raise
    except Exception as exc:  # noqa: BLE001 - reported in the panel, the model is still kept
        log.exception("evaluation of %s failed", model_path)
        return {"error": user_message(exc)}


def load_scorer(
    project: Project | None, model_path: Optional[str], device: str, on_progress: ProgressFn, should_stop: StopFn
) -> Scorer:
    from mixdesk.ml.ranking import TransitionScorer

    scorer: Scorer
    if model_path == BASELINE_KEY:
        from mixdesk.mix.scorers import similarity_scorer

        scorer = similarity_scorer()
    else:
        scorer = TransitionScorer.load(model_path, device=device)
    if project is not None:
        scorer.prepare(project, on_progress=on_progress, should_stop=should_stop)
    return scorer


def metrics_rows(metrics: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(label, numbers) rows: the model first, then each baseline computed in the same run."""
    if not metrics:
        return []
    if set(metrics) == {"error"}:
        return []
    rows = [("model", {k: v for k, v in metrics.items() if not isinstance(v, dict)})]
    for name, numbers in (metrics.get("baselines") or {}).items():
        rows.append((name, numbers))
    return rows
