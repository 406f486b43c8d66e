"""``mixdesk train`` and ``mixdesk eval``: the transition model from the command line."""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mixdesk.cli.common import DEVICE_HELP
from mixdesk.library.project import Project
from mixdesk.progress import Cancelled, Progress

if TYPE_CHECKING:  # torch is imported only when a command runs, not for every ``mixdesk`` command line
    from mixdesk.ml.features import FeatureConfig
    from mixdesk.ml.pairs import PairConfig
    from mixdesk.ml.training import TrainConfig


class _StderrProgress:
    """Progress lines on stderr: one line per finished epoch, other updates at most twice a second."""

    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet
        self.last = 0.0

    def __call__(self, progress: Progress) -> None:
        if self.quiet:
            return
        from mixdesk.ml.training import EpochReport  # loaded already: training or its features report here

        training = progress if isinstance(progress, EpochReport) else None
        epoch_done = training is not None and training.val_loss is not None
        now = time.monotonic()
        if not epoch_done and now - self.last < 0.5:
            return
        self.last = now
        eta = training.eta_s if training is not None else None
        tail = f" (eta {eta:.0f} s)" if eta is not None and math.isfinite(eta) else ""
        print(f"[{progress.fraction * 100:5.1f}%] {progress.message}{tail}", file=sys.stderr, flush=True)


def _json_safe(value: Any) -> Any:
    """NaN (a metric with nothing to measure) becomes null: strict JSON readers reject NaN."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def _open_project(path: str) -> Project:
    if not Path(path).is_file():
        raise FileNotFoundError(f"{path}: no such project")
    return Project.open(path)


def _train(args: argparse.Namespace) -> int:
    from mixdesk.ml import distributed

    if args.nproc != 1 and not distributed.launched():
        return _launch_workers(args)
    # Under torchrun (or as one of the workers started below) this joins the launcher's group.
    with distributed.worker_group(_configs(args)[0].device) as group:
        code, summary, error = _train_here(args)
    if group.leader:
        _print_outcome(args, code, summary, error)
    return code


def _given(**values: Any) -> dict[str, Any]:
    """The options given on the command line; the others keep their config dataclass defaults."""
    return {k: v for k, v in values.items() if v is not None}


def _train_here(args: argparse.Namespace) -> tuple[int, dict | None, str | None]:
    """Train in this process (alone, or as one worker of a group): (exit code, summary, error line)."""
    from mixdesk.ml.pipeline import fit_metrics, train_on_project

    config, features, pairs = _configs(args)
    try:
        with _open_project(args.project) as project:
            result = train_on_project(
                project,
                config,
                features,
                pairs,
                args.descriptors,
                on_progress=_StderrProgress(args.quiet),
                jobs=args.jobs,
            )
    except (Cancelled, KeyboardInterrupt):
        return 130, None, f"training stopped; {args.out} holds the last finished epoch"
    except (OSError, ValueError) as exc:
        return 1, None, f"mixdesk train: {exc}"
    summary = {"model": str(args.out), **fit_metrics(result), "best_val_loss": result.best_val_loss}
    return 0, summary, None


def _configs(args: argparse.Namespace) -> tuple[TrainConfig, FeatureConfig, PairConfig]:
    """(TrainConfig, FeatureConfig, PairConfig) from the command line."""
    from mixdesk.ml.features import FeatureConfig
    from mixdesk.ml.models import ModelConfig
    from mixdesk.ml.pairs import PairConfig
    from mixdesk.ml.training import TrainConfig

    train = TrainConfig(
        model=ModelConfig(**_given(arch=args.arch)),
        out=str(args.out),
        resume=args.resume,
        **_given(
            epochs=args.epochs,
            batch_size=args.batch_size,
            lr=args.lr,
            contrastive_weight=args.ranking_weight,
            average_from=args.average_from,
            patience=args.patience,
            device=args.device,
            seed=args.seed,
            num_threads=args.threads,
        ),
    )
    features = FeatureConfig(**_given(window_s=args.window_s))
    pairs = PairConfig(**_given(seed=args.seed, gain_db=args.augment_gain_db))
    return train, features, pairs


def _print_outcome(args: argparse.Namespace, code: int, summary: dict | None, error: str | None) -> None:
    if error:
        print(error, file=sys.stderr)
    if code != 0 or summary is None:
        return
    if args.json:
        print(json.dumps(_json_safe(summary)))
    else:
        workers = f" ({summary['processes']} processes)" if summary["processes"] > 1 else ""
        span = summary["averaged_epochs"]
        weights = f"mean of epochs {span[0]}-{span[1]}, " if span else ""
        print(
            f"saved {args.out}: {weights}best epoch {summary['best_epoch']}, val loss {summary['best_val_loss']:.4f}, "
            f"{summary['pairs_per_s']:.0f} pairs/s on {summary['device']}{workers}"
        )


def _worker(args: argparse.Namespace) -> tuple[int, dict | None, str | None]:
    """Entry point of each process started by ``_launch_workers`` (imported by name in the worker)."""
    from mixdesk.ml import distributed

    with distributed.worker_group(_configs(args)[0].device) as group:
        code, summary, error = _train_here(args)
    if error and not group.leader:
        # Rank 0's outcome is printed by the launching process; another rank's error would be lost.
        print(f"[rank {group.rank}] {error}", file=sys.stderr)
    return code, summary, error


def _launch_workers(args: argparse.Namespace) -> int:
    """``--nproc N``: extract features once here, then train in N processes through torch's launcher."""
    from mixdesk.ml import distributed
    from mixdesk.ml.table import project_descriptor_vectors, project_feature_table

    try:
        distributed.check_workers(args.nproc, _configs(args)[0].device)
        # Filling the feature cache first lets every worker read it instead of all computing it at once.
        with _open_project(args.project) as project:
            progress = _StderrProgress(args.quiet)
            descriptors = None
            if args.descriptors:
                descriptors = project_descriptor_vectors(project, None, progress, None, args.jobs)
            project_feature_table(project, _configs(args)[1], None, descriptors, progress, jobs=args.jobs)
    except (OSError, ValueError) as exc:
        print(f"mixdesk train: {exc}", file=sys.stderr)
        return 1
    try:
        outcomes = distributed.launch_local(args.nproc, _worker, argparse.Namespace(**{**vars(args), "nproc": 1}))
    except distributed.Interrupted:  # Ctrl-C or a kill: the launcher has stopped the workers
        print(f"training stopped; {args.out} holds the last finished epoch", file=sys.stderr)
        return 130
    except Exception as exc:  # torch's ChildFailedError: a worker crashed; its traceback is above
        print(
            f"mixdesk train: a training process failed ({exc.__class__.__name__}); see the output above",
            file=sys.stderr,
        )
        return 1
    code, summary, error = outcomes[0]
    _print_outcome(args, code, summary, error)
    return max(code, *(outcome[0] for outcome in outcomes.values()))


def _eval(args: argparse.Namespace) -> int:
    from mixdesk.ml.evaluation import evaluate

    try:
        with _open_project(args.project) as project:
            result = evaluate(
                args.model,
                project,
                on_progress=_StderrProgress(args.quiet),
                **_given(candidates=args.candidates, seed=args.seed, device=args.device, max_queries=args.max_queries),
            )
    except (OSError, ValueError, KeyError) as exc:
        print(f"mixdesk eval: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(_json_safe(result)))
    else:
        _print_table(result)
    return 0


def _print_table(result: dict[str, Any]) -> None:
    rows = [("model", result)] + [(name, r) for name, r in result["baselines"].items()]
    keys = ("auc", "accuracy", "hit1", "hit5", "mrr", "pool_mrr")
    print("scorer      " + " ".join(f"{k:>9}" for k in keys))
    for name, r in rows:
        print(f"{name:<11} " + " ".join(f"{r.get(k, float('nan')):9.3f}" for k in keys))
    print(
        f"{result['n_pairs']} held-out pairs, {result['n_candidates']} candidates per query, "
        f"{result['heldout_tracks']} held-out tracks"
    )


def register(subparsers: argparse._SubParsersAction) -> None:
    # Defaults left unset (None) come from the config dataclasses when the command runs: torch is
    # only imported then, not for every ``mixdesk`` command line.
    train = subparsers.add_parser("train", help="train a transition model on a project's tracks")
    train.add_argument("--project", required=True, help="project file (.mixdesk)")
    train.add_argument("--arch", choices=("cnn_lstm", "seed"), default=None, help="model architecture")
    train.add_argument("--epochs", type=int, default=None)
    train.add_argument("--device", default=None, help=f"where training runs: {DEVICE_HELP}")
    train.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help="pairs per optimiser step (default: larger on a GPU than on the CPU)",
    )
    train.add_argument("--lr", type=float, default=None, help="Adam learning rate (cnn_lstm)")
    train.add_argument(
        "--ranking-weight",
        type=float,
        default=None,
        help="weight of the in-batch ranking objective beside the pair loss (0 = pair loss only; cnn_lstm)",
    )
    train.add_argument(
        "--average-from",
        type=int,
        default=None,
        help="keep the mean of the weights of every epoch from this one on (0 = the best validation epoch's)",
    )
    train.add_argument("--window-s", type=float, default=None, help="seconds of log-mel at each chunk edge")
    train.add_argument("--patience", type=int, default=None, help="epochs without improvement before stopping")
    train.add_argument("--seed", type=int, default=None)
    train.add_argument("--threads", type=int, default=None, help="CPU threads per process (0 = automatic)")
    train.add_argument(
        "--nproc",
        type=int,
        default=1,
        help="data-parallel training processes on this machine (one per GPU with CUDA); "
        "for several machines, start `mixdesk train` with torchrun instead",
    )
    train.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="processes computing the chunk features (and, with --descriptors, the analysis) the project lacks",
    )
    train.add_argument("--augment-gain-db", type=float, default=None)
    train.add_argument("--descriptors", action="store_true", help="feed tempo/key/loudness descriptors to the model")
    train.add_argument("--resume", action="store_true", help="continue from the checkpoint at --out")
    train.add_argument("--out", required=True, type=Path, help="model file to write")
    train.add_argument("--json", action="store_true")
    train.add_argument("--quiet", action="store_true")
    train.set_defaults(handler=_train)

    ev = subparsers.add_parser("eval", help="evaluate a transition model on held-out tracks")
    ev.add_argument("--project", required=True)
    ev.add_argument("--model", default=None, help="model file (default: the bundled model)")
    ev.add_argument("--candidates", type=int, default=None, help="candidates per ranking query")
    ev.add_argument("--seed", type=int, default=None, help="seed of the track split")
    ev.add_argument("--device", default=None, help=f"where the model runs: {DEVICE_HELP}")
    ev.add_argument("--max-queries", type=int, default=None, help="rank at most this many held-out chunks (0 = all)")
    ev.add_argument("--json", action="store_true")
    ev.add_argument("--quiet", action="store_true")
    ev.set_defaults(handler=_eval)


def register_experiments(exp_subparsers: argparse._SubParsersAction) -> None:
    """Research sub-commands (chunking, genre) live beside the experiments' code."""
    try:
        from mixdesk.cli import experiments
    except ModuleNotFoundError as exc:
        if exc.name not in ("mixdesk.ml.experiments", "mixdesk.cli.experiments"):
            raise
        return
    experiments.register_chunking_and_genre(exp_subparsers)
