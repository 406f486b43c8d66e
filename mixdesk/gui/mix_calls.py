"""Worker-side calls into the mix room for the playlist, suggestions, transition and export views.

These functions run on job threads (or, for the quick ones, on the GUI thread) and only forward to the
mix room and the model; the desk keeps no sequencing or rendering logic of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from mixdesk.mix.config import SequenceConfig
from mixdesk.progress import ProgressFn, StopFn, check_stop

STRATEGIES = (("greedy", "Greedy"), ("beam", "Beam search"), ("sample", "Sampling"))
_SEQUENCE = SequenceConfig()


@dataclass(frozen=True)
class GenerateOptions:
    minutes: float = 5.0
    start_chunk: Optional[int] = None
    strategy: str = "greedy"
    no_repeat_within: int = 20
    max_same_track: int = 2
    temperature: float = 1.0
    seed: int = 0
    use_tempo_key: bool = False
    crossfade_ms: int = 400
    crossfade_beats: float = _SEQUENCE.crossfade_beats
    tempo_mode: str = _SEQUENCE.tempo_mode
    mix_bpm: Optional[float] = _SEQUENCE.mix_bpm


def sequence_config(options: GenerateOptions) -> Any:
    harmony = dict(max_bpm_diff_pct=6.0, max_key_steps=1) if options.use_tempo_key else {}
    # a mix tempo only means something in "fixed" mode; elsewhere the config must not carry one
    mix_bpm = options.mix_bpm if options.tempo_mode == "fixed" else None
    return SequenceConfig(
        minutes=options.minutes,
        strategy=options.strategy,
        no_repeat_within=options.no_repeat_within,
        max_same_track=options.max_same_track,
        temperature=options.temperature,
        seed=options.seed,
        crossfade_ms=options.crossfade_ms,
        crossfade_beats=options.crossfade_beats,
        tempo_mode=options.tempo_mode,
        mix_bpm=mix_bpm,
        **harmony,
    )


def default_scorer(project: Any, on_progress: ProgressFn, should_stop: StopFn) -> Any:
    """What ``mixdesk mix`` scores with when no model is named: the bundled model, else the baseline."""
    from mixdesk.mix.scorers import load_scorer

    scorer, _label = load_scorer(project, None)
    if hasattr(scorer, "prepare"):
        scorer.prepare(project, on_progress=on_progress, should_stop=should_stop)
    return scorer


def generate(
    project: Any, scorer: Any, options: GenerateOptions, on_progress: ProgressFn, should_stop: StopFn
) -> tuple[Any, Any]:
    """A new playlist from the options; returns (playlist, scorer used)."""
    from mixdesk.mix.sequencing import sequence

    if scorer is None:
        scorer = default_scorer(project, on_progress, should_stop)
    check_stop(should_stop)
    playlist = sequence(
        project,
        scorer,
        sequence_config(options),
        start_chunk=options.start_chunk,
        on_progress=on_progress,
        should_stop=should_stop,
    )
    return playlist, scorer


def regenerate_from(
    project: Any,
    scorer: Any,
    playlist: Any,
    row: int,
    options: GenerateOptions,
    on_progress: ProgressFn,
    should_stop: StopFn,
) -> tuple[Any, Any]:
    """Keep items before ``row`` and every locked item; the mix room fills the rest."""
    from mixdesk.mix.sequencing import regenerate

    if scorer is None:
        scorer = default_scorer(project, on_progress, should_stop)
    new = regenerate(
        project,
        scorer,
        playlist,
        sequence_config(options),
        from_index=row,
        on_progress=on_progress,
        should_stop=should_stop,
    )
    return new, scorer


def suggestions(project: Any, scorer: Any, playlist: Any, position: int, k: int) -> list:
    from mixdesk.mix.suggestions import suggestions as ranked

    return ranked(project, scorer, playlist, position, k)


def item_for_chunk(project: Any, chunk_id: int, like: Any = None, score: Optional[float] = None) -> Any:
    """A playlist item playing the whole chunk, with the transition settings of ``like`` when given."""
    from mixdesk.mix.playlist import PlaylistItem, Transition

    chunk = project.chunk(int(chunk_id))
    track = project.track(chunk.track_id)
    transition = getattr(like, "transition", None) or Transition()
    return PlaylistItem(
        chunk_id=int(chunk.id),
        track_id=int(track.id),
        source_path=str(track.path),
        in_ms=int(chunk.start_ms),
        out_ms=int(chunk.end_ms),
        transition=transition,
        score=score,
    )


def rescore_at(scorer: Any, items: list, positions) -> list:
    """Items whose scores at ``positions`` are asked of ``scorer`` again (their predecessor changed)."""
    out = list(items)
    for i in sorted(set(positions)):
        if 0 < i < len(out) and scorer is not None:
            try:
                prob = float(scorer.successor_scores(out[i - 1].chunk_id, [out[i].chunk_id])[0])
            except (KeyError, IndexError, ValueError):
                prob = None  # a chunk the scorer cannot see (removed by a re-cut) has no score
            out[i] = out[i].with_(score=prob)
        elif i == 0 and out:
            out[0] = out[0].with_(score=None)
    return out


def rescore_around(scorer: Any, items: list, index: int) -> list:
    return rescore_at(scorer, items, (index, index + 1))


def new_neighbours(old_items, new_items) -> list[int]:
    """Positions in ``new_items`` whose item now follows a different item than it did before."""
    before = {id(item): i for i, item in enumerate(old_items)}
    changed = []
    for i, item in enumerate(new_items):
        old = before.get(id(item))
        old_prev = old_items[old - 1].chunk_id if old else None
        new_prev = new_items[i - 1].chunk_id if i else None
        if old is None or old_prev != new_prev:
            changed.append(i)
    return changed


def chunk_preview(project: Any, chunk_id: int, sample_rate: int) -> Any:
    return project.chunk_audio(int(chunk_id), sample_rate=sample_rate)


@dataclass(frozen=True)
class SeamAudio:
    """A rendered excerpt around one transition; times in seconds from the excerpt's start.

    ``beats`` holds both items' beat grids in the excerpt (None where the join is on milliseconds) and
    ``plan`` the join as planned for the full playlist, with the crossfade asked for and its cap.
    """

    samples: Any  # (frames, channels) float32
    sample_rate: int
    fade_start_s: float
    fade_end_s: float
    a_label: str
    b_label: str
    beats: Any = None  # mixdesk.mix.seam_excerpt.SeamBeats
    plan: Any = None  # mixdesk.mix.seam_excerpt.SeamPlan

    @property
    def seam_s(self) -> float:
        """The seam: on a beat-synchronous join the beat where the bass changes hands (or where the
        incoming item enters), else the middle of the crossfade."""
        beats = self.beats
        if beats is not None and beats.entry_s is not None:
            return beats.swap_s if beats.swap_s is not None else beats.entry_s
        return 0.5 * (self.fade_start_s + self.fade_end_s)

    @property
    def duration_s(self) -> float:
        return self.samples.shape[0] / float(self.sample_rate)


def seam_grids(project: Any, playlist: Any, row: int) -> dict:
    """Beat grids of the two tracks either side of seam ``row`` (the only ones a seam needs)."""
    grids = {}
    for item in playlist.items[row : row + 2]:
        grid = project.beat_grid(item.track_id) if hasattr(project, "beat_grid") else None
        if grid is not None:
            grids[item.track_id] = grid
    return grids


def seam_plan(project: Any, playlist: Any, row: int) -> Any:
    """The join after item ``row`` as the full mix plays it (quick: reads two grids, renders nothing)."""
    from mixdesk.mix.seam_excerpt import plan_seam

    return plan_seam(playlist, row, seam_grids(project, playlist, row))


def render_seam(
    project: Any,
    playlist: Any,
    row: int,
    context_ms: int,
    labels: tuple[str, str],
    on_progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
) -> SeamAudio:
    """The mix room's rendering of the excerpt; the crossfade span comes from where it placed B."""
    import numpy as np

    from mixdesk.mix.config import RenderConfig
    from mixdesk.mix.rendering import Renderer
    from mixdesk.mix.seam_excerpt import plan_seam, seam_beats, seam_playlist

    config = RenderConfig()
    grids = seam_grids(project, playlist, row)
    plan = plan_seam(playlist, row, grids, config)
    renderer = Renderer(project, seam_playlist(playlist, row, context_ms, grids, config), config, grids)
    blocks = list(renderer.blocks(on_progress, should_stop))
    samples = np.concatenate(blocks) if blocks else np.zeros((0, renderer.config.channels), np.float32)
    a, b = renderer.placements[0], renderer.placements[1]
    beats = seam_beats(
        renderer.timings, renderer.joins, [a.mix_start_ms / 1000.0, b.mix_start_ms / 1000.0], config.bass_swap
    )
    return SeamAudio(
        samples.astype(np.float32, copy=False),
        renderer.config.sample_rate,
        b.mix_start_ms / 1000.0,
        a.mix_end_ms / 1000.0,
        labels[0],
        labels[1],
        beats,
        plan,
    )


def export(
    project: Any, playlist: Any, out_path: Any, config: Any, on_progress: ProgressFn, should_stop: StopFn
) -> Any:
    from mixdesk.mix.export import export_mix

    return export_mix(project, playlist, out_path, config, on_progress=on_progress, should_stop=should_stop)


def export_summary(result: Any, fallback_path: Any) -> str:
    path = getattr(result, "path", None) or getattr(result, "out_path", None) or fallback_path
    extras = [str(p) for p in (getattr(result, "tracklist_path", None), getattr(result, "cue_path", None)) if p]
    duration = getattr(result, "duration_s", None)
    text = f"{path}"
    if duration is not None:
        text += f" ({int(duration // 60)}:{duration % 60:04.1f})"
    if extras:
        text += " and " + ", ".join(Path(p).name for p in extras)
    return text


def planned_seconds(project: Any, playlist: Any) -> float:
    """How long the playlist plays once rendered; the playlist's own sum where there is no project."""
    if project is None:
        return playlist.duration_ms / 1000.0
    from mixdesk.mix.rendering import planned_duration_ms

    return planned_duration_ms(project, playlist) / 1000.0
