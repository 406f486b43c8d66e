"""Small pieces every command module shares: printing progress, opening projects, chunking options."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from mixdesk.config import BARS_PER_CHUNK_CHOICES, CHUNK_MODES, ChunkingConfig
from mixdesk.library.project import Project
from mixdesk.progress import Progress

# The devices a model may be asked to run on; commands that train or score take "cuda:N" as well
# (mixdesk.ml.runtime.resolve_device reads both). The first is every model's default.
DEVICES = ("auto", "cpu", "cuda")
DEVICE_HELP = f"{', '.join(DEVICES)} or cuda:N (default {DEVICES[0]})"


def add_chunking_options(parser: argparse.ArgumentParser, base: ChunkingConfig) -> None:
    """Chunking flags whose defaults are those of ``base`` (the command's own chunking)."""
    group = parser.add_argument_group("chunking")
    group.add_argument(
        "--mode",
        choices=CHUNK_MODES,
        default=base.mode,
        help=f"cut on downbeats into N-bar chunks (silence where a track has no confident beat "
        f"grid), on silence, or into fixed lengths (default {base.mode})",
    )
    group.add_argument(
        "--bars",
        type=int,
        choices=BARS_PER_CHUNK_CHOICES,
        default=base.bars_per_chunk,
        help=f"bars per chunk in bars mode (default {base.bars_per_chunk})",
    )
    group.add_argument(
        "--silence-thresh",
        type=float,
        default=base.silence_thresh_db,
        metavar="DB",
        help=f"silence threshold in dB (default {base.silence_thresh_db:g}, the seed's choice)",
    )
    group.add_argument(
        "--relative",
        action=argparse.BooleanOptionalAction,
        default=base.relative,
        help="threshold relative to the track's own loudness (--no-relative: dBFS, as pydub)",
    )
    group.add_argument(
        "--keep-all",
        action=argparse.BooleanOptionalAction,
        default=base.keep_all,
        help="cut in the middle of each silence so that every sample is kept",
    )
    group.add_argument(
        "--min-silence",
        type=int,
        default=base.min_silence_ms,
        metavar="MS",
        help=f"minimum silence length (ms, default {base.min_silence_ms})",
    )
    group.add_argument(
        "--keep-silence", type=int, default=base.keep_silence_ms, metavar="MS", help="silence kept at chunk edges (ms)"
    )
    group.add_argument(
        "--seek-step", type=int, default=base.seek_step_ms, metavar="MS", help="step between loudness windows (ms)"
    )
    group.add_argument(
        "--length",
        type=float,
        default=base.fixed_length_s,
        metavar="S",
        help=f"chunk length in fixed mode (s, default {base.fixed_length_s:g})",
    )
    group.add_argument(
        "--min-chunk",
        type=int,
        default=base.min_chunk_ms,
        metavar="MS",
        help=f"merge chunks shorter than this (0 = off; default {base.min_chunk_ms})",
    )
    group.add_argument(
        "--max-chunk",
        type=int,
        default=base.max_chunk_ms,
        metavar="MS",
        help=f"split silence/fixed chunks longer than this (0 = off; default {base.max_chunk_ms})",
    )


def chunking_from_args(args: argparse.Namespace) -> ChunkingConfig:
    return ChunkingConfig(
        mode=args.mode,
        bars_per_chunk=args.bars,
        silence_thresh_db=args.silence_thresh,
        relative=args.relative,
        keep_all=args.keep_all,
        min_silence_ms=args.min_silence,
        keep_silence_ms=args.keep_silence,
        seek_step_ms=args.seek_step,
        fixed_length_s=args.length,
        min_chunk_ms=args.min_chunk,
        max_chunk_ms=args.max_chunk,
    )


class StderrProgress:
    """Progress on stderr, at most a few lines a second, for humans watching a terminal."""

    def __init__(self, quiet: bool = False, interval_s: float = 0.5) -> None:
        self.quiet = quiet
        self.interval_s = interval_s
        self._last = 0.0

    def __call__(self, progress: Progress) -> None:
        now = time.monotonic()
        if self.quiet or (now - self._last < self.interval_s and progress.done < progress.total):
            return
        self._last = now
        print(f"[{progress.fraction * 100:5.1f}%] {progress.message}", file=sys.stderr, flush=True)


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=None if isinstance(data, list) and len(data) > 20 else 2))


def fail(message: str) -> int:
    print(f"mixdesk: {message}", file=sys.stderr)
    return 1


def one_line(exc: BaseException, with_type: bool = False) -> str:
    """An exception as one line of text: libraries' messages can span lines or carry control characters."""
    lines = [" ".join(line.split()) for line in str(exc).splitlines()]
    text = next((line for line in lines if line), "") or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if with_type and text != type(exc).__name__ else text


def open_project(path: str, must_exist: bool = True) -> Project:
    if must_exist and not Path(path).exists():
        raise FileNotFoundError(f"no project at {path}")
    return Project.open(path)
