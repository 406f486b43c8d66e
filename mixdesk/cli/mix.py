"""Commands of the mix room: ``mix`` (sequence, render, export) and ``seams`` (measure a mix's joins)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from mixdesk.cli.common import DEVICE_HELP, DEVICES
from mixdesk.core.audio import AudioError
from mixdesk.mix.config import (
    ENCODERS,
    EXPORT_FORMATS,
    MP3_BITRATES,
    STRATEGIES,
    TEMPO_MODES,
    TRANSITION_KINDS,
    VBR_QUALITY_RANGE,
    ExportConfig,
    RenderConfig,
    SequenceConfig,
)
from mixdesk.mix.seam_stats import SeamSettings
from mixdesk.mix.stretch import STRETCH_QUALITIES
from mixdesk.progress import Cancelled, ProgressFn

_SUFFIXES = ", ".join(f".{name}" for name in EXPORT_FORMATS)


def register(subparsers: argparse._SubParsersAction) -> None:
    mix = subparsers.add_parser("mix", help="chain a project's chunks with a transition model into a mix file")
    mix.add_argument("--project", required=True, help="project file (.mixdesk)")
    mix.add_argument("--model", default=None, help="transition model file (default: the bundled model)")
    mix.add_argument("--similarity", action="store_true", help="use the similarity baseline instead of a model")
    mix.add_argument("--minutes", type=float, required=True, help="length of the mix")
    mix.add_argument("--out", required=True, type=Path, help=f"mix file to write ({_SUFFIXES})")
    mix.add_argument("--tracklist", type=Path, default=None, help="tracklist JSON (default: beside --out)")
    mix.add_argument("--cue", type=Path, default=None, help="CUE sheet (default: beside --out)")
    _sequence_options(mix)
    _render_options(mix)
    mix.add_argument("--save-playlist", metavar="NAME", default=None, help="also store the playlist in the project")
    mix.add_argument("--device", default=DEVICES[0], help=f"where the model runs: {DEVICE_HELP}")
    mix.add_argument("--json", action="store_true")
    mix.add_argument("--quiet", action="store_true")
    mix.set_defaults(handler=cmd_mix)

    seams = subparsers.add_parser("seams", help="measure level jumps, flux jumps and clicks at a mix's seams")
    seams.add_argument("mix_audio", metavar="MIX_AUDIO", type=Path)
    seams.add_argument("--tracklist", required=True, type=Path, help="the mix's tracklist JSON")
    w = SeamSettings()
    seams.add_argument(
        "--window-ms",
        type=float,
        default=w.window_ms,
        help=f"level window either side of a seam (default {w.window_ms:g})",
    )
    seams.add_argument(
        "--max-natural",
        type=int,
        default=w.max_natural,
        help=f"natural boundaries to measure at most (default {w.max_natural})",
    )
    seams.add_argument("--json", action="store_true", help="print the full report as JSON")
    seams.add_argument("--quiet", action="store_true")
    seams.set_defaults(handler=cmd_seams)


def _sequence_options(parser: argparse.ArgumentParser) -> None:
    d = SequenceConfig()
    group = parser.add_argument_group("sequencing")
    group.add_argument("--strategy", choices=STRATEGIES, default=d.strategy)
    group.add_argument("--beam-width", type=int, default=d.beam_width)
    group.add_argument("--temperature", type=float, default=d.temperature, help="sampling temperature")
    group.add_argument("--seed", type=int, default=d.seed)
    group.add_argument("--start-chunk", type=int, default=None, help="chunk id to start from (default: random)")
    group.add_argument(
        "--no-repeat",
        type=int,
        default=d.no_repeat_within,
        metavar="K",
        help=f"no chunk twice within K items (default {d.no_repeat_within})",
    )
    group.add_argument(
        "--max-same-track",
        type=int,
        default=d.max_same_track,
        metavar="M",
        help=f"at most M consecutive chunks from one source track (default {d.max_same_track})",
    )
    group.add_argument(
        "--level-weight",
        type=float,
        default=d.level_step_weight,
        metavar="NATS",
        help=f"cost of each dB of level step at a join past {d.level_step_tolerance_db:g} dB, in nats of log "
        f"probability (default {d.level_step_weight:g}; 0 ranks by the model alone)",
    )
    group.add_argument(
        "--bpm-tolerance",
        type=float,
        default=d.max_bpm_diff_pct,
        metavar="PCT",
        help="tempo limit between neighbours (needs analysis)",
    )
    group.add_argument(
        "--key-steps",
        type=int,
        default=d.max_key_steps,
        metavar="N",
        help="at most N Camelot steps between neighbours (needs analysis)",
    )
    tempo = parser.add_argument_group("tempo")
    tempo.add_argument(
        "--tempo",
        choices=TEMPO_MODES,
        default=d.tempo_mode,
        help="mix tempo: the first item's, a fixed --bpm, a smooth path between the items' "
        f"own tempi, or each item's own (default {d.tempo_mode})",
    )
    tempo.add_argument("--bpm", type=float, default=d.mix_bpm, help="mix tempo for --tempo fixed (implies it)")
    tempo.add_argument(
        "--max-stretch",
        type=float,
        default=d.max_stretch_pct,
        metavar="PCT",
        help=f"leave out chunks that need more stretching than this (default {d.max_stretch_pct:g} %%)",
    )
    tempo.add_argument(
        "--tempo-step",
        type=float,
        default=d.tempo_step_pct,
        metavar="PCT",
        help=f"largest tempo change per transition with --tempo path (default {d.tempo_step_pct:g} %%)",
    )


def _render_options(parser: argparse.ArgumentParser) -> None:
    d, e, r = SequenceConfig(), ExportConfig(), RenderConfig()
    group = parser.add_argument_group("rendering and export")
    group.add_argument("--transition", choices=TRANSITION_KINDS, default=d.transition)
    group.add_argument(
        "--crossfade-beats",
        type=float,
        default=d.crossfade_beats,
        metavar="BEATS",
        help=f"crossfade length in beats where both sides have a beat grid (default {d.crossfade_beats:g})",
    )
    group.add_argument(
        "--crossfade-ms",
        type=int,
        default=d.crossfade_ms,
        help=f"crossfade length where a side has no beat grid (default {d.crossfade_ms})",
    )
    group.add_argument(
        "--no-beat-sync",
        dest="beat_sync",
        action="store_false",
        default=r.beat_sync,
        help="join on milliseconds, no stretching or beat alignment",
    )
    group.add_argument(
        "--no-bass-swap",
        dest="bass_swap",
        action="store_false",
        default=r.bass_swap,
        help="plain equal-power crossfades, no bass swap",
    )
    group.add_argument("--stretch-quality", choices=STRETCH_QUALITIES, default=r.stretch_quality)
    group.add_argument("--no-gain-match", action="store_true", help="do not match levels across seams")
    group.add_argument(
        "--format", choices=tuple(EXPORT_FORMATS), default=None, help="output format (default: from the --out suffix)"
    )
    group.add_argument(
        "--bitrate",
        type=int,
        default=e.bitrate_kbps,
        choices=MP3_BITRATES,
        help=f"MP3 CBR bitrate in kbps (default {e.bitrate_kbps})",
    )
    best, smallest = VBR_QUALITY_RANGE
    group.add_argument(
        "--vbr", type=float, default=None, metavar="Q", help=f"MP3 VBR quality {best:g} (best) .. {smallest:g}"
    )
    group.add_argument("--encoder", choices=ENCODERS, default=e.encoder)
    group.add_argument("--title", default=e.title)
    group.add_argument("--artist", default=e.artist)
    group.add_argument("--comment", default=e.comment)


def _configs(args: argparse.Namespace) -> tuple[SequenceConfig, ExportConfig]:
    defaults = ExportConfig()
    tempo_mode = "fixed" if args.bpm is not None else args.tempo
    sequence = SequenceConfig(
        minutes=args.minutes,
        strategy=args.strategy,
        beam_width=args.beam_width,
        temperature=args.temperature,
        seed=args.seed,
        no_repeat_within=args.no_repeat,
        max_same_track=args.max_same_track,
        max_bpm_diff_pct=args.bpm_tolerance,
        max_key_steps=args.key_steps,
        transition=args.transition,
        crossfade_ms=args.crossfade_ms,
        crossfade_beats=args.crossfade_beats,
        tempo_mode=tempo_mode,
        mix_bpm=args.bpm,
        max_stretch_pct=args.max_stretch,
        tempo_step_pct=args.tempo_step,
        level_step_weight=args.level_weight,
    )
    fmt = args.format or (args.out.suffix.lower().lstrip(".") or defaults.format)
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"cannot tell the format from {args.out.name}; pass --format {', '.join(EXPORT_FORMATS)}")
    render = RenderConfig(
        gain_match=not args.no_gain_match,
        beat_sync=args.beat_sync,
        bass_swap=args.bass_swap,
        stretch_quality=args.stretch_quality,
    )
    export = ExportConfig(
        format=fmt,
        bitrate_mode="vbr" if args.vbr is not None else "cbr",
        bitrate_kbps=args.bitrate,
        vbr_quality=args.vbr if args.vbr is not None else defaults.vbr_quality,
        encoder=args.encoder,
        title=args.title,
        artist=args.artist,
        comment=args.comment,
        render=render,
    )
    return sequence, export


def _progress(quiet: bool) -> ProgressFn:
    from mixdesk.cli.common import StderrProgress

    return StderrProgress(quiet)


def cmd_mix(args: argparse.Namespace) -> int:
    from mixdesk.library.project import Project
    from mixdesk.mix.export import export_mix
    from mixdesk.mix.scorers import load_scorer, similarity_scorer
    from mixdesk.mix.sequencing import sequence

    started = time.monotonic()
    progress = _progress(args.quiet)
    try:
        seq_config, export_config = _configs(args)
        if not Path(args.project).is_file():
            raise FileNotFoundError(f"no project at {args.project}")
        with Project.open(args.project) as project:
            if args.similarity:
                scorer, label = similarity_scorer(), "similarity baseline"
            else:
                scorer, label = load_scorer(project, args.model, device=args.device)
            playlist = sequence(project, scorer, seq_config, start_chunk=args.start_chunk, on_progress=progress)
            if args.save_playlist:
                playlist.save(project, args.save_playlist)
            result = export_mix(
                project, playlist, args.out, export_config, args.tracklist, args.cue, on_progress=progress
            )
    except (Cancelled, KeyboardInterrupt):
        print("mixdesk mix: stopped; no file was written", file=sys.stderr)
        return 130
    except (OSError, ValueError, KeyError, RuntimeError, ImportError, AudioError) as exc:
        print(f"mixdesk mix: {exc}", file=sys.stderr)
        return 1
    summary = {
        "path": str(result.path),
        "format": result.format,
        "items": result.items,
        "duration_s": round(result.duration_s, 2),
        "mean_score": result.mean_score,
        "scorer": label,
        "strategy": seq_config.strategy,
        "tracklist": str(result.tracklist_path),
        "cue": str(result.cue_path),
        "encoder": result.encoder,
        "relaxed_items": playlist.meta.get("relaxed_items", 0),
        "notes": playlist.meta.get("notes", []),
        "seconds": round(time.monotonic() - started, 2),
    }
    if args.json:
        print(json.dumps(summary))
    else:
        score = "n/a" if result.mean_score is None else f"{result.mean_score:.3f}"
        print(
            f"wrote {result.path}: {result.items} items, {result.duration_s / 60:.1f} min, "
            f"mean transition score {score} ({label})"
        )
    return 0


def cmd_seams(args: argparse.Namespace) -> int:
    from mixdesk.mix.seams import seam_report
    from mixdesk.mix.tracklist import read_tracklist

    try:
        if not args.mix_audio.is_file():
            raise FileNotFoundError(f"no mix at {args.mix_audio}")
        tracklist = read_tracklist(args.tracklist)
        settings = SeamSettings(window_ms=args.window_ms, max_natural=args.max_natural)
        report = seam_report(args.mix_audio, tracklist, settings, on_progress=_progress(args.quiet))
    except (Cancelled, KeyboardInterrupt):
        return 130
    except (OSError, ValueError, KeyError, RuntimeError, AudioError) as exc:
        print(f"mixdesk seams: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(report))
        return 0
    s = report["summary"]
    print(f"{s['transitions']} transitions, {s['natural_boundaries']} natural boundaries")
    print(
        f"median level jump: mix {s['median_level_jump_db']['mix']} dB, "
        f"natural {s['median_level_jump_db']['natural']} dB"
    )
    print(f"median flux jump: mix {s['median_flux_jump']['mix']}, natural {s['median_flux_jump']['natural']}")
    print(f"clicks: mix {s['clicks']['mix']}, natural {s['clicks']['natural']}")
    for name in ("mix", "natural"):
        r = s["rhythm"][name]
        print(
            f"rhythm ({name}): median beat-phase error {r['median_beat_phase_error']} beats, "
            f"on the beat {_pct(r['on_beat_share'])}, tempo kept {_pct(r['tempo_kept_share'])} "
            f"({_pct(r['tempo_kept_share_folded'])} with half/double time), "
            f"median loudness step {r['median_abs_loudness_step_lu']} LU, median key steps "
            f"{r['median_key_steps']} ({r['confident']} of {r['seams']} with a clear pulse)"
        )
    return 0


def _pct(share: float | None) -> str:
    return "n/a" if share is None else f"{100 * share:.0f} %"
