"""``mixdesk train`` and ``mixdesk eval``: the transition model from the command line."""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

from mixdesk.progress import Cancelled, Progress


class _StderrProgress:
    """Progress lines on stderr: one line per finished epoch, other updates at most twice a second."""

    def __init__(self, quiet: bool = False):
        self.quiet = quiet
        self.last = 0.0

    def __call__(self, progress: Progress) -> None:
        if self.quiet:
            return
        epoch_done = getattr(progress, "val_loss", None) is not None
        now = time.monotonic()
        if not epoch_done and now - self.last < 0.5:
            return
        self.last = now
        eta = getattr(progress, "eta_s", None)
        tail = f" (eta {eta:.0f} s)" if eta is not None and math.isfinite(eta) else ""
        print(f"[{progress.fraction * 100:5.1f}%] {progress.message}{tail}", file=sys.stderr, flush=True)


def _json_safe(value):
    """NaN (a metric with nothing to measure) becomes null: strict JSON readers reject NaN."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def _open_project(path: str):
    from mixdesk.library.project import Project

    if not Path(path).is_file():
        raise FileNotFoundError(f"{path}: no such project")
    return Project.open(path)


def _train(args: argparse.Namespace) -> int:
    from mixdesk.ml.features import FeatureConfig
    from mixdesk.ml.models import ModelConfig
    from mixdesk.ml.pairs import PairConfig
    from mixdesk.ml.pipeline import train_on_project
    from mixdesk.ml.training import TrainConfig

    config = TrainConfig(
        model=ModelConfig(arch=args.arch), epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
        patience=args.patience, device=args.device, seed=args.seed, num_threads=args.threads,
        out=str(args.out), resume=args.resume,
    )
    features = FeatureConfig(window_s=args.window_s)
    pairs = PairConfig(seed=args.seed, gain_db=args.augment_gain_db)
    try:
        with _open_project(args.project) as project:
            result = train_on_project(project, config, features, pairs, args.descriptors,
                                      on_progress=_StderrProgress(args.quiet))
    except (Cancelled, KeyboardInterrupt):
        print(f"training stopped; {args.out} holds the last finished epoch", file=sys.stderr)
        return 130
    except (OSError, ValueError) as exc:
        print(f"mixdesk train: {exc}", file=sys.stderr)
        return 1
    summary = {"model": str(args.out), "best_epoch": result.best_epoch, "best_val_loss": result.best_val_loss,
               "epochs_run": len(result.history), "device": result.device, "seconds": round(result.seconds, 2),
               "pairs_per_s": round(result.pairs_per_s, 1)}
    if args.json:
        print(json.dumps(_json_safe(summary)))
    else:
        print(f"saved {args.out}: best epoch {result.best_epoch}, val loss {result.best_val_loss:.4f}, "
              f"{result.pairs_per_s:.0f} pairs/s on {result.device}")
    return 0


def _eval(args: argparse.Namespace) -> int:
    from mixdesk.ml.evaluation import evaluate

    try:
        with _open_project(args.project) as project:
            result = evaluate(args.model, project, candidates=args.candidates, seed=args.seed,
                              device=args.device, max_queries=args.max_queries, on_progress=_StderrProgress(args.quiet))
    except (OSError, ValueError, KeyError) as exc:
        print(f"mixdesk eval: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(_json_safe(result)))
    else:
        _print_table(result)
    return 0


def _print_table(result: dict) -> None:
    rows = [("model", result)] + [(name, r) for name, r in result["baselines"].items()]
    keys = ("auc", "accuracy", "hit1", "hit5", "mrr", "pool_mrr")
    print("scorer      " + " ".join(f"{k:>9}" for k in keys))
    for name, r in rows:
        print(f"{name:<11} " + " ".join(f"{r.get(k, float('nan')):9.3f}" for k in keys))
    print(f"{result['n_pairs']} held-out pairs, {result['n_candidates']} candidates per query, "
          f"{result['heldout_tracks']} held-out tracks")


def register(subparsers) -> None:
    train = subparsers.add_parser("train", help="train a transition model on a project's tracks")
    train.add_argument("--project", required=True, help="project file (.mixdesk)")
    train.add_argument("--arch", choices=("cnn_lstm", "seed"), default="cnn_lstm")
    train.add_argument("--epochs", type=int, default=30)
    train.add_argument("--device", default="auto", help="auto, cpu or cuda")
    train.add_argument("--batch-size", type=int, default=64)
    train.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate (cnn_lstm)")
    train.add_argument("--window-s", type=float, default=1.5, help="seconds of log-mel at each chunk edge")
    train.add_argument("--patience", type=int, default=8, help="epochs without improvement before stopping")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--threads", type=int, default=0, help="CPU threads (0 = automatic)")
    train.add_argument("--augment-gain-db", type=float, default=3.0)
    train.add_argument("--descriptors", action="store_true", help="feed tempo/key/loudness descriptors to the model")
    train.add_argument("--resume", action="store_true", help="continue from the checkpoint at --out")
    train.add_argument("--out", required=True, type=Path, help="model file to write")
    train.add_argument("--json", action="store_true")
    train.add_argument("--quiet", action="store_true")
    train.set_defaults(handler=_train)

    ev = subparsers.add_parser("eval", help="evaluate a transition model on held-out tracks")
    ev.add_argument("--project", required=True)
    ev.add_argument("--model", default=None, help="model file (default: the bundled model)")
    ev.add_argument("--candidates", type=int, default=50)
    ev.add_argument("--seed", type=int, default=0)
    ev.add_argument("--device", default="auto")
    ev.add_argument("--max-queries", type=int, default=0, help="rank at most this many held-out chunks")
    ev.add_argument("--json", action="store_true")
    ev.add_argument("--quiet", action="store_true")
    ev.set_defaults(handler=_eval)


def register_experiments(exp_subparsers) -> None:
    """Research sub-commands (chunking, genre) live beside the experiments' code."""
    try:
        from mixdesk.ml import experiments
    except ModuleNotFoundError as exc:
        if exc.name != "mixdesk.ml.experiments":
            raise
        return
    experiments.register_chunking_and_genre(exp_subparsers)
