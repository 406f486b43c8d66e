"""Commands on files and projects: info, chunk, import, demo."""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from pathlib import Path

from mixdesk.cli.common import StderrProgress, add_chunking_options, chunking_from_args, fail, one_line, print_json
from mixdesk.config import LIBRARY_CHUNKING, PYDUB_CHUNKING
from mixdesk.core.audio import AudioError, decode, probe
from mixdesk.core.chunking import Envelope, chunk_ranges
from mixdesk.library.project import Project
from mixdesk.mix.demo import DEMO_SEQUENCE


def register(sub: argparse._SubParsersAction) -> None:
    info = sub.add_parser("info", help="duration, rate, channels and format of audio files")
    info.add_argument("files", nargs="+", metavar="FILE")
    info.add_argument("--json", action="store_true", help="one JSON object per file, one per line")
    info.set_defaults(handler=cmd_info)

    chunk = sub.add_parser("chunk", help="cut one file into chunks and list them")
    chunk.add_argument("file", metavar="FILE")
    add_chunking_options(chunk, PYDUB_CHUNKING)
    chunk.add_argument("--json", action="store_true", help="a JSON list of {start_ms, end_ms}")
    chunk.set_defaults(handler=cmd_chunk)

    imp = sub.add_parser("import", help="import a folder (or files) into a project, incrementally")
    imp.add_argument("paths", nargs="+", metavar="DIR")
    imp.add_argument("--project", required=True, metavar="P", help="project file (created if missing)")
    add_chunking_options(imp, LIBRARY_CHUNKING)
    imp.add_argument("--rechunk", action="store_true", help="also re-cut unchanged tracks with these options")
    imp.add_argument("--quiet", action="store_true")
    imp.add_argument("--json", action="store_true")
    imp.set_defaults(handler=cmd_import)

    demo = sub.add_parser("demo", help="synthesise demo tracks, import and chunk them, and build a mix from them")
    minutes = DEMO_SEQUENCE.minutes
    demo.add_argument("--minutes", type=float, default=minutes, help=f"length of the demo mix (default {minutes:g})")
    demo.add_argument("--out", metavar="FILE.mp3", help="where to write the demo mix")
    demo.add_argument("--no-mix", action="store_true", help="only import and chunk the demo tracks")
    demo.add_argument("--quiet", action="store_true")
    demo.set_defaults(handler=cmd_demo)


def cmd_info(args: argparse.Namespace) -> int:
    failed = False
    for name in args.files:
        try:
            record = probe(name).to_dict()
        except AudioError as exc:
            failed = True
            record = {"path": exc.path, "error": exc.reason}
        if args.json:
            print(json.dumps(record), flush=True)
        elif "error" in record:
            print(f"{record['path']}: error: {record['error']}")
        else:
            print(
                f"{record['path']}: {record['duration_s']:.2f} s, {record['sample_rate']} Hz, "
                f"{record['channels']} ch, {record['format']}"
            )
    return 1 if failed else 0


def cmd_chunk(args: argparse.Namespace) -> int:
    try:
        config = chunking_from_args(args)
        audio = decode(args.file)
        downbeats = None
        if config.mode == "bars":
            from mixdesk.core.beats import track_beats

            grid = track_beats(audio.samples, audio.sample_rate)
            downbeats = (grid.downbeats * 1000.0).tolist() if grid.confident else None
        ranges = chunk_ranges(Envelope.from_audio(audio), config, downbeats)
    except AudioError as exc:
        return fail(str(exc))
    except ValueError as exc:
        return fail(f"bad chunking options: {exc}")
    if args.json:
        print(json.dumps([{"start_ms": int(s), "end_ms": int(e)} for s, e in ranges]))
    else:
        for i, (s, e) in enumerate(ranges):
            print(f"{i:4d}  {s / 1000:9.3f} s  {e / 1000:9.3f} s  ({(e - s) / 1000:.3f} s)")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    try:
        config = chunking_from_args(args)
        project = Project.open(args.project)
    except (ValueError, OSError) as exc:
        return fail(str(exc))
    with project:
        progress = StderrProgress(args.quiet)
        try:
            result = project.import_paths(args.paths, config, on_progress=progress)
            if args.rechunk:
                unchanged = {t.id for t in project.tracks() if t.path in set(result.unchanged)}
                project.rechunk(config, sorted(unchanged), on_progress=progress)
        except OSError as exc:
            # A full disk or a read-only project: every further file would fail the same way.
            return fail(_stopped_message(exc))
        except sqlite3.DatabaseError as exc:
            return fail(f"{project.path}: the project file is damaged ({one_line(exc)})")
        for path, reason in result.failed:
            print(f"skipped {path}: {reason}", file=sys.stderr)
        summary = {
            "project": str(project.path),
            "added": len(result.added),
            "updated": len(result.updated),
            "unchanged": len(result.unchanged),
            "failed": [{"path": p, "error": r} for p, r in result.failed],
            "tracks": len(project.tracks()),
            "chunks": len(project.chunks()),
        }
    if args.json:
        print_json(summary)
    else:
        print(f"{summary['project']}: {result.summary()}; {summary['tracks']} tracks, {summary['chunks']} chunks")
    return 0


def _stopped_message(exc: OSError) -> str:
    from mixdesk.library.errors import ReadOnlyProjectError
    from mixdesk.library.importer import ImportReport
    from mixdesk.progress import DiskFullError

    done = exc.report if isinstance(exc, (DiskFullError, ReadOnlyProjectError)) else None
    kept = f" ({done.summary()} before it stopped)" if isinstance(done, ImportReport) else ""
    return f"import stopped: {exc}{kept}"


def _pool_summary(project: Project) -> str:
    lengths = [c.duration_ms / 1000 for c in project.chunks()]
    tracks = project.tracks()
    if not lengths:
        return f"{len(tracks)} tracks, no chunks"
    lengths.sort()
    return (
        f"{len(tracks)} tracks ({sum(t.duration_s for t in tracks) / 60:.1f} min), {len(lengths)} chunks "
        f"(median {lengths[len(lengths) // 2]:.1f} s, {lengths[0]:.1f}-{lengths[-1]:.1f} s)"
    )


def cmd_demo(args: argparse.Namespace) -> int:
    from mixdesk.library.demo import open_demo_project

    progress = StderrProgress(args.quiet)
    with open_demo_project(on_progress=progress) as project:
        print(f"demo project: {project.path}")
        print(f"pool: {_pool_summary(project)}")
    if args.no_mix:
        return 0
    from mixdesk.mix.demo import make_demo_mix

    out = Path(args.out) if args.out else None
    summary = make_demo_mix(args.minutes, out, on_progress=progress)
    print(f"mix: {summary['path']}")
    print(
        f"  {summary['items']} items, {summary['duration_s'] / 60:.1f} min, mean transition score "
        f"{summary['mean_score']:.3f} ({summary['scorer']})"
    )
    seams = summary.get("seams")
    if seams:
        rhythm = seams["rhythm"]["mix"]
        on_beat, kept = rhythm["on_beat_share"], rhythm["tempo_kept_share"]
        print(
            f"  seams: median beat-phase error {rhythm['median_beat_phase_error']} beats, "
            f"{'n/a' if on_beat is None else f'{100 * on_beat:.0f} %'} on the beat, tempo kept at "
            f"{'n/a' if kept is None else f'{100 * kept:.0f} %'}, {seams['clicks']['mix']} clicks"
        )
    return 0
