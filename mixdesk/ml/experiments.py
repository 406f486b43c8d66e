"""Research measurements on held-out tracks: which chunking (question 2) and how similar the genres (question 3).

Both experiments import a folder into a project of their own (in the cache, so reruns reuse envelopes and
features), split it by track, train every variant on the same tracks and evaluate it on the same held-out
tracks against the random and similarity baselines: the seed's questions, on tracks no model has heard.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from mixdesk.config import LEGACY_LIBRARY_CHUNKING, LIBRARY_CHUNKING, ChunkingConfig
from mixdesk.progress import Progress, ProgressFn, StopFn, check_stop

if TYPE_CHECKING:
    from mixdesk.library.project import Project
    from mixdesk.library.schema import Track
    from mixdesk.ml.models import TransitionModel
    from mixdesk.ml.pairs import PairData


# The seed's chunking choices beside cuts on the beat grid. The silence cuts keep the library's 1-20 s
# guards: an unguarded -16 dBFS cut leaves fragments of a few milliseconds, and the seed network's input
# is the shortest chunk. Bar chunks of tracks without a confident grid fall back to silence (keep all).
def _guarded(config: ChunkingConfig) -> ChunkingConfig:
    """``config`` with the library's chunk-length guards."""
    return replace(config, min_chunk_ms=LIBRARY_CHUNKING.min_chunk_ms, max_chunk_ms=LIBRARY_CHUNKING.max_chunk_ms)


CHUNKINGS: dict[str, ChunkingConfig] = {
    "silence -16 dBFS / 300 ms": LEGACY_LIBRARY_CHUNKING,
    "silence -16 dB relative, keep all": _guarded(ChunkingConfig(mode="silence", keep_all=True)),
    **{f"bars {n}": _guarded(ChunkingConfig(mode="bars", bars_per_chunk=n)) for n in (1, 2, 4, 8, 16)},
    "fixed 1 s": ChunkingConfig(mode="fixed", fixed_length_s=1.0),
    "fixed 3 s": ChunkingConfig(mode="fixed", fixed_length_s=3.0),
    "fixed 5 s": ChunkingConfig(mode="fixed", fixed_length_s=5.0),
}
GENRE_CONDITIONS = ("same genre", "mixed genres", "other genres")
METRICS = ("auc", "accuracy", "hit1", "hit5", "mrr")


@dataclass(frozen=True)
class ExperimentConfig:
    """Defaults sized for a few minutes on a laptop CPU; raise epochs and pairs for firmer numbers."""

    archs: tuple[str, ...] = ("cnn_lstm", "seed")
    epochs: int = 3
    max_pairs_per_epoch: int = 3000
    max_tracks: int = 24  # 0 = every track in the folder
    candidates: int = 50
    val_fraction: float = 0.15
    test_fraction: float = 0.2
    seed: int = 0
    device: str = "auto"
    max_queries: int = 200  # held-out chunks whose successor is ranked (0 = all)
    pair_budget: int = 0  # training pairs each run sees at least (more epochs for small variants)
    # The seed network runs 1024 filters and an LSTM step per raw sample for every pair: on a CPU it
    # costs about 50 times what cnn_lstm does, so it gets a short edge and smaller limits.
    seed_edge_s: float = 0.05
    seed_max_pairs: int = 400
    seed_max_queries: int = 40

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "archs": list(self.archs)}


# ----- the project behind an experiment ----------------------------------------------------------
def default_work_dir(audio_dir: Path) -> Path:
    from mixdesk.paths import cache_dir

    key = hashlib.sha1(str(Path(audio_dir).resolve()).encode()).hexdigest()[:12]
    return cache_dir() / "experiments" / key


def open_experiment_project(
    audio_dir: Path, work_dir: Path, on_progress: ProgressFn | None = None, should_stop: StopFn | None = None
) -> Project:
    """The folder imported (incrementally) into ``work_dir/experiment.mixdesk``."""
    from mixdesk.library.project import Project

    audio_dir = Path(audio_dir)
    if not audio_dir.is_dir():
        raise ValueError(f"{audio_dir}: not a folder")
    project = Project.open(Path(work_dir) / "experiment.mixdesk")
    project.import_paths([audio_dir], LIBRARY_CHUNKING, _stage(on_progress, "import"), should_stop)
    if len(project.tracks()) < 3:
        project.close()
        raise ValueError(f"{audio_dir}: needs at least 3 decodable tracks (train, validation, held-out)")
    return project


def _round_robin(groups: Sequence[np.ndarray], count: int, rng: np.random.Generator) -> np.ndarray:
    queues = [list(rng.permutation(g)) for g in groups if len(g)]
    picked: list[int] = []
    while len(picked) < count and any(queues):
        for queue in queues:
            if queue and len(picked) < count:
                picked.append(int(queue.pop()))
    return np.sort(np.array(picked, dtype=np.int64))


def pick_tracks(tracks: Sequence[Track], limit: int, seed: int) -> list[Track]:
    """Up to ``limit`` tracks, dealt round robin from each folder so every folder keeps a share."""
    if limit <= 0 or len(tracks) <= limit:
        return list(tracks)
    groups = [np.array([t.id for t in tracks if t.folder == f]) for f in sorted({t.folder for t in tracks})]
    chosen = set(_round_robin(groups, limit, np.random.default_rng(seed)).tolist())
    return [t for t in tracks if t.id in chosen]


def split_ids(track_ids: Sequence[int], config: ExperimentConfig) -> dict[str, np.ndarray]:
    from mixdesk.ml.pairs import PairConfig, split_tracks

    pair_config = PairConfig(val_fraction=config.val_fraction, test_fraction=config.test_fraction, seed=config.seed)
    return split_tracks(np.asarray(track_ids, dtype=np.int64), pair_config)


# ----- one training run, evaluated on held-out tracks --------------------------------------------
def train_and_evaluate(
    project: Project,
    splits: dict[str, np.ndarray],
    arch: str,
    config: ExperimentConfig,
    model_path: Path,
    on_progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
) -> dict[str, Any]:
    """Train ``arch`` on ``splits["train"]`` (early stopping on "val"); metrics on the "test" tracks."""
    from mixdesk.ml.models import ModelConfig
    from mixdesk.ml.pairs import PairConfig, PairData
    from mixdesk.ml.runtime import torch_threads
    from mixdesk.ml.table import project_feature_table
    from mixdesk.ml.training import TrainConfig, fit

    used = set(np.concatenate([splits[k] for k in ("train", "val", "test")]).tolist())
    chunk_ids = [c.id for c in project.chunks() if c.track_id in used]
    # Feature extraction is many small torch calls; spare threads only wait on each other there.
    with torch_threads():
        table = project_feature_table(
            project, chunk_ids=chunk_ids, on_progress=_stage(on_progress, "features"), should_stop=should_stop
        )
    data = PairData(table, PairConfig(seed=config.seed), splits=splits)
    max_pairs, max_queries, budget = _limits(config, arch)
    per_epoch = min(len(data.pairs("train", 0)), max_pairs or 10**12)
    # Longer chunks give fewer pairs; a shared budget of pairs keeps the variants' training comparable.
    epochs = max(config.epochs, -(-budget // max(1, per_epoch)))
    train_config = TrainConfig(
        model=ModelConfig(arch=arch, seed_max_edge_s=config.seed_edge_s),
        epochs=epochs,
        patience=max(3, epochs // 3),
        device=config.device,
        seed=config.seed,
        max_pairs_per_epoch=max_pairs,
        out=str(model_path),
    )
    result = fit(train_config, data, _stage(on_progress, f"train {arch}"), should_stop)
    check_stop(should_stop)
    metrics = heldout_metrics(result.model, result.configs, data, config, max_queries)
    last = result.history[-1] if result.history else {}
    return {
        **metrics,
        "train_acc": last.get("train_acc"),
        "val_acc": last.get("val_acc"),
        "epochs": len(result.history),
        "best_epoch": result.best_epoch,
        "train_pairs": len(data.pairs("train", 0)),
        "train_seconds": round(result.seconds, 1),
        "pairs_per_s": round(result.pairs_per_s, 1),
        "device": result.device,
    }


def _limits(config: ExperimentConfig, arch: str) -> tuple[int, int, int]:
    """(pairs per epoch, ranking queries, pair budget) of one architecture; 0 means no limit."""
    if arch != "seed":
        return config.max_pairs_per_epoch, config.max_queries, config.pair_budget
    pairs, queries = config.max_pairs_per_epoch, config.max_queries
    return (
        min(pairs, config.seed_max_pairs) if pairs else config.seed_max_pairs,
        min(queries, config.seed_max_queries) if queries else config.seed_max_queries,
        0,
    )


def heldout_metrics(
    model: TransitionModel, configs: dict[str, Any], data: PairData, config: ExperimentConfig, max_queries: int = 0
) -> dict[str, Any]:
    """Pair and candidate-ranking metrics on ``data``'s test tracks, with both baselines beside them.

    No whole-pool ranking (``mixdesk eval`` has it): with the seed network it costs minutes on a CPU.
    """
    from mixdesk.ml.baselines import RandomScorer, SimilarityScorer
    from mixdesk.ml.evaluation import candidate_lists, pair_scores, pool_of, score_report
    from mixdesk.ml.metrics import best_threshold
    from mixdesk.ml.pairs import PairSet
    from mixdesk.ml.ranking import TransitionScorer

    table = data.table
    scorer = TransitionScorer(model, configs, config.device)
    scorer.prepare_table(pool_of(table, data.splits["test"]))
    pairs, rows = data.pairs("test"), data.rows("test")
    lists = candidate_lists(table, rows, data.successor, config.candidates, config.seed)
    rng = np.random.default_rng([config.seed, 11])
    if max_queries and len(lists) > max_queries:
        lists = [lists[i] for i in sorted(rng.choice(len(lists), max_queries, replace=False))]
    if max_queries and len(pairs) > 3 * max_queries:
        pick = np.sort(rng.choice(len(pairs), 3 * max_queries, replace=False))
        pairs = PairSet(pairs.a[pick], pairs.b[pick], pairs.label[pick], pairs.kind[pick])
    similarity = SimilarityScorer(table.config)
    similarity.prepare_table(table)
    calib = data.pairs("train")
    ids = table.chunk_ids
    threshold = best_threshold(calib.label, pair_scores(similarity, ids[calib.a], ids[calib.b]))
    reports = {
        "model": score_report(scorer, table, pairs, lists, []),
        "random": score_report(RandomScorer(config.seed), table, pairs, lists, []),
        "similarity": score_report(similarity, table, pairs, lists, [], threshold),
    }
    keep = METRICS + ("n_pairs", "n_candidates", "n_queries")
    out = {k: reports["model"][k] for k in keep}
    out["baselines"] = {name: {k: reports[name][k] for k in METRICS} for name in ("random", "similarity")}
    return out


def _chunk_stats(project: Project, track_ids: np.ndarray) -> dict[str, Any]:
    wanted = set(int(t) for t in track_ids)
    spans: list[float] = [c.end_ms - c.start_ms for c in project.chunks() if c.track_id in wanted]
    lengths = np.array(spans or [0.0])
    return {
        "chunks": int((lengths > 0).sum()),
        "mean_chunk_s": round(lengths.mean() / 1000, 2),
        "min_chunk_s": round(lengths.min() / 1000, 2),
    }


def _data_summary(
    project: Project, tracks: Sequence[Track], splits: dict[str, np.ndarray], audio_dir: Path
) -> dict[str, Any]:
    by_id = {t.id: t for t in project.tracks()}
    names = {k: [f"{by_id[int(i)].folder}/{Path(by_id[int(i)].path).name}" for i in ids] for k, ids in splits.items()}
    return {
        "dir": str(audio_dir),
        "tracks": len(tracks),
        "hours": round(sum(t.duration_s for t in tracks) / 3600, 3),
        "split": names,
    }


# ----- question 2: chunking ----------------------------------------------------------------------
def chunking_experiment(
    audio_dir: Path,
    config: ExperimentConfig = ExperimentConfig(),
    work_dir: Path | None = None,
    chunkings: dict[str, ChunkingConfig] | None = None,
    on_progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
) -> dict[str, Any]:
    """Every chunking x architecture, trained and held out on the same tracks."""
    chunkings = chunkings or CHUNKINGS
    work_dir = Path(work_dir) if work_dir else default_work_dir(audio_dir)
    project = open_experiment_project(audio_dir, work_dir, on_progress, should_stop)
    try:
        tracks = pick_tracks(project.tracks(), config.max_tracks, config.seed)
        splits = split_ids([t.id for t in tracks], config)
        used = np.concatenate(list(splits.values()))
        rows = []
        runs = [(name, arch) for name in chunkings for arch in config.archs]
        for i, (name, arch) in enumerate(runs):
            check_stop(should_stop)
            if i == 0 or runs[i - 1][0] != name:
                project.rechunk(chunkings[name], track_ids=used.tolist(), should_stop=should_stop)
            label = f"[{i + 1}/{len(runs)}] {name}, {arch}"
            metrics = train_and_evaluate(
                project, splits, arch, config, work_dir / f"chunking-{i}.pt", _stage(on_progress, label), should_stop
            )
            rows.append({"chunking": name, "arch": arch, **_chunk_stats(project, used), **metrics})
        return {
            "experiment": "chunking",
            "data": _data_summary(project, tracks, splits, audio_dir),
            "settings": config.to_dict(),
            "chunkings": {k: v.to_dict() for k, v in chunkings.items()},
            "rows": rows,
        }
    finally:
        project.close()


# ----- question 3: genre -------------------------------------------------------------------------
def genre_splits(
    per_genre: dict[str, dict[str, np.ndarray]], target: str, condition: str, seed: int
) -> dict[str, np.ndarray]:
    """Training and validation tracks for one condition; always the target genre's held-out tracks.

    "mixed genres" and "other genres" train on as many tracks as "same genre" does, so the comparison
    is about which tracks, not how many.
    """
    mine = per_genre[target]
    others = [g for g in sorted(per_genre) if g != target]
    rng = np.random.default_rng([seed, sorted(per_genre).index(target), GENRE_CONDITIONS.index(condition)])
    if condition == "same genre":
        pools = [target]
    elif condition == "mixed genres":
        pools = [target] + others
    else:
        pools = others
    train = _round_robin([per_genre[g]["train"] for g in pools], mine["train"].size, rng)
    val = _round_robin([per_genre[g]["val"] for g in pools], max(1, mine["val"].size), rng)
    return {"train": train, "val": val, "test": mine["test"]}


def genre_experiment(
    audio_dir: Path,
    config: ExperimentConfig = ExperimentConfig(archs=("cnn_lstm",)),
    work_dir: Path | None = None,
    targets: Sequence[str] | None = None,
    on_progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
) -> dict[str, Any]:
    """Per target genre (sub-folder): train on that genre, on a mix, on other genres; test on the genre."""
    work_dir = Path(work_dir) if work_dir else default_work_dir(audio_dir)
    project = open_experiment_project(audio_dir, work_dir, on_progress, should_stop)
    try:
        tracks = pick_tracks(project.tracks(), config.max_tracks, config.seed)
        by_genre: dict[str, list[int]] = {}
        for t in tracks:
            by_genre.setdefault(t.folder or "(top)", []).append(t.id)
        per_genre = {g: split_ids(ids, config) for g, ids in sorted(by_genre.items()) if len(ids) >= 3}
        if len(per_genre) < 2:
            raise ValueError(f"{audio_dir}: needs at least 2 sub-folders (genres) of 3 or more tracks each")
        targets = [g for g in (targets or sorted(per_genre)) if g in per_genre]
        project.rechunk(LIBRARY_CHUNKING, should_stop=should_stop)
        runs = [(g, c, a) for g in targets for c in GENRE_CONDITIONS for a in config.archs]
        rows = []
        for i, (target, condition, arch) in enumerate(runs):
            check_stop(should_stop)
            splits = genre_splits(per_genre, target, condition, config.seed)
            label = f"[{i + 1}/{len(runs)}] {target}, {condition}, {arch}"
            metrics = train_and_evaluate(
                project, splits, arch, config, work_dir / f"genre-{i}.pt", _stage(on_progress, label), should_stop
            )
            rows.append(
                {
                    "target": target,
                    "condition": condition,
                    "arch": arch,
                    "train_tracks": int(splits["train"].size),
                    "test_tracks": int(splits["test"].size),
                    **metrics,
                }
            )
        data = _data_summary(
            project, tracks, {"test": np.concatenate([per_genre[g]["test"] for g in targets])}, audio_dir
        )
        data["genres"] = {g: int(sum(v.size for v in s.values())) for g, s in per_genre.items()}
        return {"experiment": "genre", "data": data, "settings": config.to_dict(), "rows": rows}
    finally:
        project.close()


# ----- presenting results ------------------------------------------------------------------------
def _fmt(value: Any) -> str:
    return "-" if value is None else (f"{value:.3f}" if isinstance(value, float) else str(value))


def markdown_table(result: dict[str, Any]) -> str:
    """The result as a markdown table: one row per run, the baselines' MRR beside the model's."""
    first = (
        ["chunking", "arch", "chunks", "mean_chunk_s"]
        if result["experiment"] == "chunking"
        else ["target", "condition", "arch", "train_tracks"]
    )
    header = first + ["train_acc", "accuracy", "auc", "hit1", "hit5", "mrr", "mrr similarity", "mrr random"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in result["rows"]:
        base = row.get("baselines", {})
        cells = [row.get(k) for k in first + ["train_acc", "accuracy", "auc", "hit1", "hit5", "mrr"]]
        cells += [base.get("similarity", {}).get("mrr"), base.get("random", {}).get("mrr")]
        lines.append("| " + " | ".join(_fmt(c) for c in cells) + " |")
    return "\n".join(lines)


def _stage(on_progress: ProgressFn | None, label: str) -> ProgressFn | None:
    if on_progress is None:
        return None

    def forward(progress: Progress) -> None:
        on_progress(Progress(progress.done, progress.total, f"{label}: {progress.message}"))

    return forward
