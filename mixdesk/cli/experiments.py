"""``mixdesk experiment chunking|genre``: the research experiments of ``mixdesk.ml.experiments`` on the
command line."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, Callable

from mixdesk.cli.common import DEVICES, StderrProgress, fail
from mixdesk.ml.experiments import ExperimentConfig, chunking_experiment, genre_experiment, markdown_table
from mixdesk.progress import ProgressFn


def register_chunking_and_genre(exp_subparsers: argparse._SubParsersAction) -> None:
    """Adds ``chunking`` and ``genre`` to the ``mixdesk experiment`` sub-commands."""
    chunking = exp_subparsers.add_parser("chunking", help="seed chunking choices side by side (held-out tracks)")
    _add_options(chunking, archs=",".join(ExperimentConfig().archs))
    chunking.set_defaults(handler=_cmd_chunking)
    genre = exp_subparsers.add_parser("genre", help="train on one genre vs mixed genres (genre = sub-folder)")
    _add_options(genre, archs="cnn_lstm")
    genre.add_argument("--target", action="append", metavar="GENRE", help="target genre(s); default every one")
    genre.set_defaults(handler=_cmd_genre)


_OPTIONS = (  # flag, config field, type, help
    ("--epochs", "epochs", int, "epochs (at least)"),
    ("--pair-budget", "pair_budget", int, "training pairs every run sees at least (adds epochs where chunks are few)"),
    ("--max-pairs", "max_pairs_per_epoch", int, "training pairs per epoch (0 = all)"),
    ("--max-tracks", "max_tracks", int, "tracks used, dealt evenly from the sub-folders (0 = all)"),
    ("--candidates", "candidates", int, "candidates the true successor is ranked among"),
    ("--max-queries", "max_queries", int, "held-out chunks whose true successor is ranked (0 = all)"),
    ("--seed", "seed", int, "seed of the split, the pairs and the weights"),
    ("--seed-edge", "seed_edge_s", float, "longest edge the seed network sees (s)"),
    ("--seed-max-pairs", "seed_max_pairs", int, "training pairs per epoch of the seed network"),
    ("--seed-max-queries", "seed_max_queries", int, "held-out queries (x3 pairs) of the seed network"),
)


def _add_options(parser: argparse.ArgumentParser, archs: str) -> None:
    defaults = ExperimentConfig()
    parser.add_argument("dir", metavar="DIR", type=Path, help="folder of audio files (sub-folders = genres)")
    parser.add_argument("--arch", default=archs, help=f"comma-separated architectures (default {archs})")
    for flag, name, kind, text in _OPTIONS:
        parser.add_argument(
            flag, dest=name, type=kind, default=getattr(defaults, name), help=text, metavar="N" if kind is int else "X"
        )
    parser.add_argument("--device", default=defaults.device, choices=DEVICES)
    parser.add_argument("--work", type=Path, help="folder for the experiment's project and models")
    parser.add_argument("--out", type=Path, help="also write the JSON result to this file")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a markdown table")
    parser.add_argument("--quiet", action="store_true")


def _config_from(args: argparse.Namespace) -> ExperimentConfig:
    archs = tuple(a.strip() for a in args.arch.split(",") if a.strip())
    options = {name: getattr(args, name) for _, name, _, _ in _OPTIONS}
    return ExperimentConfig(archs=archs, device=args.device, **options)


def _cmd_chunking(args: argparse.Namespace) -> int:
    return _run_command(args, lambda cfg, progress: chunking_experiment(args.dir, cfg, args.work, on_progress=progress))


def _cmd_genre(args: argparse.Namespace) -> int:
    return _run_command(
        args,
        lambda cfg, progress: genre_experiment(args.dir, cfg, args.work, targets=args.target, on_progress=progress),
    )


def _run_command(args: argparse.Namespace, run: Callable[[ExperimentConfig, ProgressFn], dict[str, Any]]) -> int:
    from mixdesk.ml.models import ARCHS
    from mixdesk.progress import Cancelled, atomic_path

    try:
        config = _config_from(args)
        unknown = [a for a in config.archs if a not in ARCHS]
        if unknown or not config.archs or config.epochs < 1:
            return fail(f"architectures must be among {', '.join(ARCHS)} and epochs at least 1")
        result = run(config, StderrProgress(quiet=args.quiet))
    except (ValueError, FileNotFoundError) as exc:
        return fail(str(exc))
    except (Cancelled, KeyboardInterrupt):
        return fail("experiment cancelled")
    if args.out:
        with atomic_path(args.out) as tmp:
            tmp.write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1) if args.json else markdown_table(result))
    return 0
