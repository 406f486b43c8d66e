"""Small pieces every command module shares: printing progress, opening projects, chunking options."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from mixdesk.config import ChunkingConfig
from mixdesk.progress import Progress


def add_chunking_options(parser: argparse.ArgumentParser, *, min_chunk: int, max_chunk: int) -> None:
    group = parser.add_argument_group("chunking")
    group.add_argument("--mode", choices=("silence", "fixed"), default="silence", help="cut on silence or into fixed lengths")
    group.add_argument("--silence-thresh", type=float, default=-16.0, metavar="DB",
                       help="silence threshold in dBFS (default -16, the seed's choice)")
    group.add_argument("--relative", action="store_true", help="threshold relative to the track's own loudness")
    group.add_argument("--min-silence", type=int, default=300, metavar="MS", help="minimum silence length (ms)")
    group.add_argument("--keep-silence", type=int, default=0, metavar="MS", help="silence kept at chunk edges (ms)")
    group.add_argument("--seek-step", type=int, default=1, metavar="MS", help="step between loudness windows (ms)")
    group.add_argument("--length", type=float, default=3.0, metavar="S", help="chunk length in fixed mode (s)")
    group.add_argument("--min-chunk", type=int, default=min_chunk, metavar="MS",
                       help=f"merge chunks shorter than this (0 = off; default {min_chunk})")
    group.add_argument("--max-chunk", type=int, default=max_chunk, metavar="MS",
                       help=f"split chunks longer than this (0 = off; default {max_chunk})")


def chunking_from_args(args: argparse.Namespace) -> ChunkingConfig:
    return ChunkingConfig(mode=args.mode, silence_thresh_db=args.silence_thresh, relative=args.relative,
                          min_silence_ms=args.min_silence, keep_silence_ms=args.keep_silence,
                          seek_step_ms=args.seek_step, fixed_length_s=args.length, min_chunk_ms=args.min_chunk,
                          max_chunk_ms=args.max_chunk)


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


def open_project(path: str, must_exist: bool = True):
    from mixdesk.library.project import Project

    if must_exist and not Path(path).exists():
        raise FileNotFoundError(f"no project at {path}")
    return Project.open(path)
