"""The end-to-end demo: synthesised tracks in, a sequenced, rendered and tagged MP3 mix out."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from mixdesk.mix.config import ExportConfig, SequenceConfig
from mixdesk.mix.export import export_mix
from mixdesk.mix.scorers import load_scorer
from mixdesk.mix.seams import seam_report
from mixdesk.mix.sequencing import sequence
from mixdesk.progress import Progress, ProgressFn, StopFn

DEMO_SEQUENCE = SequenceConfig(
    minutes=3.0, strategy="beam", beam_width=4, seed=0, max_same_track=3, no_repeat_within=40, crossfade_ms=400
)


def default_demo_path() -> Path:
    from mixdesk import paths

    return paths.data_dir() / "demo-mix.mp3"


def _stage(on_progress: ProgressFn | None, name: str) -> ProgressFn | None:
    """Prefixes a stage name to the messages of one step of the demo."""
    if on_progress is None:
        return None

    def forward(p: Progress) -> None:
        on_progress(Progress(p.done, p.total, f"{name}: {p.message}" if p.message else name))

    return forward


def make_demo_mix(
    minutes: float = DEMO_SEQUENCE.minutes,
    out_path: str | Path | None = None,
    on_progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
    measure_seams: bool = True,
) -> dict[str, Any]:
    """Build the demo mix and say what went into it.

    Returns path, items, duration_s, mean_score, scorer, tracklist, cue, seconds and, with
    ``measure_seams``, the seam report's summary.
    """
    from mixdesk.library.demo import open_demo_project

    started = time.monotonic()
    out = Path(out_path) if out_path else default_demo_path()
    project = open_demo_project(on_progress=_stage(on_progress, "demo tracks"), should_stop=should_stop)
    try:
        scorer, scorer_label = load_scorer(
            project, None, train_if_missing=True, on_progress=_stage(on_progress, "model"), should_stop=should_stop
        )
        playlist = sequence(
            project,
            scorer,
            DEMO_SEQUENCE.with_(minutes=minutes),
            on_progress=_stage(on_progress, "sequencing"),
            should_stop=should_stop,
        )
        playlist.save(project, "demo")
        config = ExportConfig(
            title="mixdesk demo mix", artist="mixdesk", comment=f"{len(playlist)} chunks chained by the {scorer_label}"
        )
        result = export_mix(
            project, playlist, out, config, on_progress=_stage(on_progress, "rendering"), should_stop=should_stop
        )
    finally:
        project.close()
    summary: dict[str, Any] = {
        "path": str(result.path),
        "items": result.items,
        "duration_s": round(result.duration_s, 2),
        "mean_score": result.mean_score if result.mean_score is not None else float("nan"),
        "scorer": scorer_label,
        "tracklist": str(result.tracklist_path),
        "cue": str(result.cue_path),
    }
    if measure_seams:
        summary["seams"] = seam_report(result.path, result.tracklist, should_stop=should_stop)["summary"]
    summary["seconds"] = round(time.monotonic() - started, 1)
    return summary
