"""Commands for musical analysis: analyze (files or a project) and the metadata experiment."""

from __future__ import annotations

import argparse
import json
import sqlite3
from dataclasses import replace
from pathlib import Path
from typing import Any

from mixdesk.analysis.options import DEFAULT_TAG_MODEL, GENRE_EXPERIMENT, GENRE_MODEL_KINDS, TAG_MODELS, TOP_TAGS
from mixdesk.cli.common import DEVICES, StderrProgress, fail, one_line
from mixdesk.ml.experiment_metadata import METADATA_CONFIG, METADATA_REPEATS


def register(sub: argparse._SubParsersAction) -> None:
    analyze = sub.add_parser("analyze", help="tempo, key, loudness and genre/mood tags of files or a project")
    analyze.add_argument("files", nargs="*", metavar="FILE")
    analyze.add_argument("--project", metavar="P", help="analyse every track and chunk of this project instead")
    analyze.add_argument("--json", action="store_true", help="one JSON object per file, one per line")
    analyze.add_argument("--no-tags", action="store_true", help="skip the genre/mood tagger")
    analyze.add_argument(
        "--tag-model",
        choices=TAG_MODELS,
        default=DEFAULT_TAG_MODEL,
        help=f"msd_musicnn (genres, moods, eras) or mtt_musicnn (instruments, moods) (default {DEFAULT_TAG_MODEL})",
    )
    analyze.add_argument(
        "--top", type=int, default=TOP_TAGS, metavar="N", help=f"tags shown per file (default {TOP_TAGS})"
    )
    analyze.add_argument("--force", action="store_true", help="with --project: re-analyse tracks already done")
    analyze.add_argument(
        "--jobs", type=int, default=1, metavar="N", help="with --project: tracks analysed at once, in N processes"
    )
    analyze.add_argument("--quiet", action="store_true", help="no progress on stderr")
    analyze.set_defaults(handler=cmd_analyze)


def register_experiments(exp_sub: argparse._SubParsersAction) -> None:
    m = METADATA_CONFIG
    meta = exp_sub.add_parser("metadata", help="does the transition model improve with descriptor inputs?")
    meta.add_argument("dir", metavar="DIR", help="folder of audio files (imported into a temporary project)")
    meta.add_argument("--epochs", type=int, default=m.epochs, help=f"training epochs per model (default {m.epochs})")
    meta.add_argument("--seed", type=int, default=m.seed, help=f"training seed of the first repeat (default {m.seed})")
    meta.add_argument(
        "--repeats",
        type=int,
        default=METADATA_REPEATS,
        help=f"training seeds per variant, for the noise (default {METADATA_REPEATS})",
    )
    meta.add_argument(
        "--candidates", type=int, default=m.candidates, help=f"candidates per ranking query (default {m.candidates})"
    )
    meta.add_argument(
        "--max-tracks",
        type=int,
        default=m.max_tracks,
        metavar="N",
        help=f"use at most N tracks (0 = all; default {m.max_tracks})",
    )
    meta.add_argument(
        "--max-pairs",
        type=int,
        default=m.max_pairs_per_epoch,
        metavar="N",
        help=f"training pairs per epoch (0 = all; default {m.max_pairs_per_epoch})",
    )
    meta.add_argument("--device", default=m.device, choices=DEVICES)
    meta.add_argument("--work", metavar="DIR", help="keep the project and models here instead of a temp folder")
    meta.add_argument("--json", action="store_true", help="print only the JSON result")
    meta.add_argument("--quiet", action="store_true")
    meta.set_defaults(handler=cmd_experiment_metadata)

    genre = exp_sub.add_parser("genre-model", help="train genre classifiers on sub-folder labels (held-out tracks)")
    genre.add_argument("dir", metavar="DIR", help="folder with one sub-folder of audio files per genre")
    g = GENRE_EXPERIMENT
    genre.add_argument(
        "--models",
        default=",".join(g.models),
        help=f"comma-separated: {', '.join(GENRE_MODEL_KINDS)} (default {','.join(g.models)})",
    )
    genre.add_argument("--epochs", type=int, default=g.epochs, help=f"training epochs (default {g.epochs})")
    genre.add_argument(
        "--test-fraction",
        type=float,
        default=g.test_fraction,
        help=f"share of the tracks held out (default {g.test_fraction:g})",
    )
    genre.add_argument("--seed", type=int, default=g.seed, help=f"split and training seed (default {g.seed})")
    genre.add_argument("--json", action="store_true", help="print only the JSON result")
    genre.add_argument("--quiet", action="store_true")
    genre.set_defaults(handler=cmd_experiment_genre_model)


def _format_line(record: dict[str, Any]) -> str:
    if "error" in record:
        return f"{record['path']}: error: {record['error']}"
    tags = ", ".join(f"{name} {score:.2f}" for name, score in record.get("tags", {}).items())
    line = (
        f"{record['path']}: {record['bpm']:.1f} BPM ({record['bpm_confidence']:.2f}), "
        f"{record['key'] or '?'} ({record['camelot'] or '-'}), {record['lufs']:.1f} LUFS, "
        f"LRA {record['lra']:.1f} LU"
    )
    return line + (f"; {tags}" if tags else "")


def cmd_analyze(args: argparse.Namespace) -> int:
    if args.project and args.files:
        return fail("give either FILE... or --project, not both")
    if args.project:
        return _analyze_project(args)
    if not args.files:
        return fail("nothing to analyse: give FILE... or --project P")
    from mixdesk.analysis.project_analysis import analyse_file
    from mixdesk.core.audio import AudioError

    failed = False
    for name in args.files:
        try:
            record = analyse_file(name, None if args.no_tags else args.tag_model, args.top)
        except AudioError as exc:
            failed, record = True, {"path": str(name), "error": exc.reason}
        except (OSError, ValueError) as exc:
            failed, record = True, {"path": str(name), "error": one_line(exc)}
        except Exception as exc:  # a pathological file must not end the batch; the others still get analysed
            failed = True
            record = {"path": str(name), "error": f"analysis failed ({one_line(exc, with_type=True)})"}
        print(json.dumps(record) if args.json else _format_line(record), flush=True)
    return 1 if failed else 0


def _analyze_project(args: argparse.Namespace) -> int:
    from mixdesk.analysis.project_analysis import analyse_project
    from mixdesk.library.errors import is_read_only_error
    from mixdesk.library.project import Project
    from mixdesk.progress import is_disk_full

    path = Path(args.project)
    if not path.exists():
        return fail(f"{path}: no such project")
    from mixdesk.progress import Cancelled

    try:
        project = Project.open(path)
    except (ValueError, OSError, sqlite3.Error) as exc:
        return fail(one_line(exc))
    with project:
        if project.read_only:  # fail before hours of analysis that could not be saved
            return fail(f"analysis stopped: {path}: the project is read-only; nothing can be saved to it")
        try:
            result = analyse_project(
                project,
                tags=not args.no_tags,
                force=args.force,
                tag_model=args.tag_model,
                on_progress=StderrProgress(quiet=args.quiet),
                jobs=args.jobs,
            )
            summary = {
                "project": str(path),
                "analysed": len(result.analysed),
                "skipped": len(result.skipped),
                "failed": [{"track_id": t, "error": e} for t, e in result.failed],
                "chunks": len(project.chunks()),
            }
        except FileNotFoundError as exc:
            return fail(str(exc))
        except (Cancelled, KeyboardInterrupt):
            return fail("analysis interrupted; tracks finished so far are kept")
        except OSError as exc:  # a full disk or a read-only project: every further track would fail alike
            return fail(f"analysis stopped: {one_line(exc)}")
        except sqlite3.DatabaseError as exc:
            if is_disk_full(exc):
                return fail(f"analysis stopped: disk full: no space left to write {path}")
            if is_read_only_error(exc):
                return fail(f"analysis stopped: {path}: the project is read-only; nothing can be saved to it")
            return fail(f"{path}: the project file is damaged ({one_line(exc)})")
    if args.json:
        print(json.dumps(summary))
    else:
        print(
            f"{path}: {summary['analysed']} tracks analysed, {summary['skipped']} already done, "
            f"{len(result.failed)} failed"
        )
        for track_id, error in result.failed:
            print(f"  track {track_id}: {error}")
    return 1 if result.failed else 0


def cmd_experiment_metadata(args: argparse.Namespace) -> int:
    """The ``mixdesk experiment metadata DIR`` command: markdown table then JSON (or JSON only)."""
    from mixdesk.ml.experiment_metadata import markdown_table, metadata_experiment
    from mixdesk.progress import Cancelled

    config = replace(
        METADATA_CONFIG,
        epochs=args.epochs,
        max_tracks=args.max_tracks,
        candidates=args.candidates,
        seed=args.seed,
        max_pairs_per_epoch=args.max_pairs,
        device=args.device,
    )
    if config.epochs < 1:
        return fail("epochs must be at least 1")
    try:
        result = metadata_experiment(
            Path(args.dir),
            config,
            Path(args.work) if args.work else None,
            repeats=args.repeats,
            on_progress=StderrProgress(quiet=args.quiet),
        )
    except (ValueError, FileNotFoundError) as exc:
        return fail(str(exc))
    except (Cancelled, KeyboardInterrupt):
        return fail("experiment cancelled")
    if not args.json:
        print(markdown_table(result))
        print()
    print(json.dumps(result, indent=1))
    return 0


def cmd_experiment_genre_model(args: argparse.Namespace) -> int:
    from mixdesk.analysis.genre_models import genre_classifier_experiment, genre_markdown
    from mixdesk.progress import Cancelled

    models = tuple(m.strip() for m in args.models.split(",") if m.strip())
    if not models or any(m not in GENRE_MODEL_KINDS for m in models):
        return fail(f"models must be among {', '.join(GENRE_MODEL_KINDS)}")
    try:
        result = genre_classifier_experiment(
            args.dir, models, args.epochs, args.test_fraction, args.seed, on_progress=StderrProgress(quiet=args.quiet)
        )
    except (ValueError, FileNotFoundError) as exc:
        return fail(str(exc))
    except (Cancelled, KeyboardInterrupt):
        return fail("experiment cancelled")
    if not args.json:
        print(genre_markdown(result))
        print()
    print(json.dumps(result, indent=1))
    return 0
