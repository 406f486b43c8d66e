"""Research question 4: must metadata (tempo, key, loudness, spectrum, tags) be used?

The folder is imported into a project of its own and analysed; then the same transition architecture
is trained on the same training tracks, with the same pairs (including the tempo/key-compatible hard
negatives), once without descriptor input and once with each descriptor set, and every variant is
evaluated on the same held-out tracks. The table shows whether the descriptors move held-out AUC and
ranking metrics beyond the run-to-run noise of the baseline.
"""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from mixdesk.library.project import Project
from mixdesk.ml.experiments import ExperimentConfig
from mixdesk.progress import Progress, ProgressFn, StopFn, check_stop

# The experiment's own defaults (the command line shows and uses these): every track, more epochs and
# fewer candidates than the chunking and genre experiments.
METADATA_ARCH = "cnn_lstm"
METADATA_CONFIG = ExperimentConfig(
    archs=(METADATA_ARCH,), epochs=8, max_pairs_per_epoch=3000, max_tracks=0, candidates=20, seed=0
)
METADATA_REPEATS = 1

VARIANTS: dict[str, dict[str, bool] | None] = {
    "no descriptors": None,
    "descriptors": {"include_tags": False},
    "descriptors + tags": {"include_tags": True},
}
COLUMNS = ("variant", "repeat", "descriptor_dim", "train_acc", "accuracy", "auc", "hit1", "hit5", "mrr")
METRICS = ("train_acc", "accuracy", "auc", "hit1", "hit5", "mrr")


def _stage(on_progress: ProgressFn | None, label: str) -> ProgressFn | None:
    if on_progress is None:
        return None
    return lambda p: on_progress(Progress(p.done, p.total, f"{label}: {p.message}"))


def _train_variant(
    project: Project,
    splits: Mapping[str, np.ndarray],
    descriptors: Mapping[int, np.ndarray] | None,
    arch: str,
    config: ExperimentConfig,
    model_path: Path,
    on_progress: ProgressFn | None,
    should_stop: StopFn | None,
) -> dict[str, Any]:
    from mixdesk.ml.experiments import heldout_metrics
    from mixdesk.ml.models import ModelConfig
    from mixdesk.ml.pairs import PairConfig, PairData, tempo_key_from_analysis
    from mixdesk.ml.table import project_feature_table
    from mixdesk.ml.training import TrainConfig, fit

    used = set(np.concatenate([splits[k] for k in ("train", "val", "test")]).tolist())
    chunk_ids = [c.id for c in project.chunks() if c.track_id in used]
    table = project_feature_table(
        project,
        chunk_ids=chunk_ids,
        descriptors=descriptors,
        on_progress=_stage(on_progress, "features"),
        should_stop=should_stop,
    )
    tempo_key = tempo_key_from_analysis(project.analysis("descriptors"))
    data = PairData(table, PairConfig(seed=config.seed), tempo_key or None, splits=splits)
    dim = int(table.descriptors.shape[1]) if descriptors and table.descriptors is not None else 0
    train_config = TrainConfig(
        model=ModelConfig(arch=arch, descriptor_dim=dim),
        epochs=config.epochs,
        patience=max(2, config.epochs),
        device=config.device,
        seed=config.seed,
        max_pairs_per_epoch=config.max_pairs_per_epoch,
        out=str(model_path),
    )
    result = fit(train_config, data, _stage(on_progress, "train"), should_stop)
    check_stop(should_stop)
    metrics = heldout_metrics(result.model, result.configs, data, config)
    last = result.history[-1] if result.history else {}
    return {
        "descriptor_dim": dim,
        "train_acc": last.get("train_acc"),
        "val_acc": last.get("val_acc"),
        "epochs": len(result.history),
        "train_seconds": round(result.seconds, 1),
        **metrics,
    }


def metadata_experiment(
    audio_dir: Path,
    config: ExperimentConfig = METADATA_CONFIG,
    work_dir: Path | None = None,
    arch: str = METADATA_ARCH,
    repeats: int = METADATA_REPEATS,
    on_progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
) -> dict[str, Any]:
    """Every variant in VARIANTS trained and held out on the same tracks, `repeats` times each.

    Repeats change the training seed (initialisation, sampled pairs, candidate lists) but not the
    track split, so the spread of a variant's repeats is the noise a difference must exceed.
    """
    from mixdesk.analysis.project_analysis import analyse_project, chunk_descriptor_vectors
    from mixdesk.ml.experiments import open_experiment_project, pick_tracks, split_ids

    work_dir = Path(work_dir) if work_dir else Path(tempfile.mkdtemp(prefix="mixdesk-metadata-"))
    project = open_experiment_project(Path(audio_dir), work_dir, on_progress, should_stop)
    try:
        analysis = analyse_project(project, on_progress=_stage(on_progress, "analyse"), should_stop=should_stop)
        tracks = pick_tracks(project.tracks(), config.max_tracks, config.seed)
        splits = split_ids([t.id for t in tracks], config)
        runs = [(name, r) for r in range(max(1, repeats)) for name in VARIANTS]
        rows = []
        for i, (name, repeat) in enumerate(runs):
            check_stop(should_stop)
            options = VARIANTS[name]
            descriptors = None if options is None else chunk_descriptor_vectors(project, **options)
            label = f"[{i + 1}/{len(runs)}] {name}"
            metrics = _train_variant(
                project,
                splits,
                descriptors,
                arch,
                replace(config, seed=config.seed + repeat),
                work_dir / f"metadata-{i}.pt",
                _stage(on_progress, label),
                should_stop,
            )
            rows.append({"variant": name, "repeat": repeat, "arch": arch, **metrics})
        by_id = {t.id: t for t in project.tracks()}
        return {
            "experiment": "metadata",
            "dir": str(audio_dir),
            "work_dir": str(work_dir),
            "tracks": len(tracks),
            "analysis_failed": [by_id[t].path for t, _ in analysis.failed],
            "split": {k: [Path(by_id[int(t)].path).name for t in v] for k, v in splits.items()},
            "settings": {**config.to_dict(), "repeats": max(1, repeats)},
            "rows": rows,
            "summary": summarise(rows),
        }
    finally:
        project.close()


def summarise(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean and standard deviation over repeats of each variant's held-out metrics."""
    out = []
    for name in VARIANTS:
        mine = [r for r in rows if r["variant"] == name]
        if not mine:
            continue
        entry: dict[str, Any] = {"variant": name, "descriptor_dim": mine[0]["descriptor_dim"], "repeats": len(mine)}
        for key in METRICS:
            values = np.array([r[key] for r in mine if r.get(key) is not None], dtype=float)
            entry[key] = round(float(values.mean()), 4) if values.size else None
            entry[f"{key}_std"] = round(float(values.std()), 4) if values.size > 1 else None
        out.append(entry)
    return out


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return "nan" if value != value else f"{value:.3f}"
    return str(value)


def markdown_table(result: dict[str, Any]) -> str:
    """One row per run, then (with repeats) mean +- standard deviation per variant."""
    header = list(COLUMNS) + ["mrr similarity", "mrr random"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in result["rows"]:
        base = row.get("baselines", {})
        cells = [row.get(k) for k in COLUMNS]
        cells += [base.get("similarity", {}).get("mrr"), base.get("random", {}).get("mrr")]
        lines.append("| " + " | ".join(_fmt(c) for c in cells) + " |")
    if result["settings"].get("repeats", 1) > 1:
        lines += ["", "| variant | repeats | " + " | ".join(METRICS) + " |", "|" + "---|" * (2 + len(METRICS))]
        for entry in result["summary"]:
            stats = [f"{_fmt(entry[k])} ± {_fmt(entry[k + '_std'])}" for k in METRICS]
            lines.append(f"| {entry['variant']} | {entry['repeats']} | " + " | ".join(stats) + " |")
    return "\n".join(lines)
