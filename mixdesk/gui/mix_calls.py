"""Worker-side calls into the mix room for the playlist, suggestions, transition and export views.

These functions run on job threads (or, for the quick ones, on the GUI thread) and only forward to the
mix room and the model; the desk keeps no sequencing or rendering logic of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Optional, Sequence

import numpy as np

from mixdesk.mix.config import SequenceConfig
from mixdesk.progress import ProgressFn, StopFn, check_stop

if TYPE_CHECKING:
    # Names only: the mix room's heavier modules load when first called.
    from mixdesk.core.beatgrid import BeatGrid
    from mixdesk.library.project import Project
    from mixdesk.mix.config import ExportConfig
    from mixdesk.mix.export import ExportResult
    from mixdesk.mix.playlist import Playlist, PlaylistItem
    from mixdesk.mix.seam_excerpt import SeamBeats, SeamPlan
    from mixdesk.mix.suggestions import Suggestion
    from mixdesk.ml.scoring import Scorer

# How the desk names each of the library's strategies (mixdesk.mix.config.STRATEGIES).
STRATEGY_LABELS = {"greedy": "Greedy", "beam": "Beam search", "sample": "Sampling"}
# The desk's mix differs from SequenceConfig's defaults on purpose, and only here:
# - it lasts a few minutes, to listen to while editing, not ten;
# - its seed is a number the Seed box can show, so a mix is made again from its seed (the library's None
#   draws a new seed each time).
# Everything else (repeat window, same-track runs, crossfades, tempo) is the library's.
DESK_MINUTES = 5.0
DESK_SEED = 0
DESK_SEQUENCE = SequenceConfig(minutes=DESK_MINUTES, seed=DESK_SEED)
# What "Respect tempo and key" turns on; the library leaves both limits off unless asked.
TEMPO_KEY_MAX_BPM_DIFF_PCT = 6.0
TEMPO_KEY_MAX_KEY_STEPS = 1


@dataclass(frozen=True)
class GenerateOptions:
    """The playlist panel's Generate form; its controls start from these values (``DESK_SEQUENCE``)."""

    minutes: float = DESK_SEQUENCE.minutes
    start_chunk: Optional[int] = None
    strategy: str = DESK_SEQUENCE.strategy
    no_repeat_within: int = DESK_SEQUENCE.no_repeat_within
    max_same_track: int = DESK_SEQUENCE.max_same_track
    temperature: float = DESK_SEQUENCE.temperature
    seed: int = DESK_SEED
    use_tempo_key: bool = False
    crossfade_ms: int = DESK_SEQUENCE.crossfade_ms
    crossfade_beats: float = DESK_SEQUENCE.crossfade_beats
    tempo_mode: str = DESK_SEQUENCE.tempo_mode
    mix_bpm: Optional[float] = DESK_SEQUENCE.mix_bpm
    level_step_weight: float = DESK_SEQUENCE.level_step_weight


def sequence_config(options: GenerateOptions) -> SequenceConfig:
    harmony = options.use_tempo_key
    return DESK_SEQUENCE.with_(
        minutes=options.minutes,
        strategy=options.strategy,
        no_repeat_within=options.no_repeat_within,
        max_same_track=options.max_same_track,
        temperature=options.temperature,
        seed=options.seed,
        crossfade_ms=options.crossfade_ms,
        crossfade_beats=options.crossfade_beats,
        tempo_mode=options.tempo_mode,
        # a mix tempo only means something in "fixed" mode; elsewhere the config must not carry one
        mix_bpm=options.mix_bpm if options.tempo_mode == "fixed" else None,
        level_step_weight=options.level_step_weight,
        max_bpm_diff_pct=TEMPO_KEY_MAX_BPM_DIFF_PCT if harmony else DESK_SEQUENCE.max_bpm_diff_pct,
        max_key_steps=TEMPO_KEY_MAX_KEY_STEPS if harmony else DESK_SEQUENCE.max_key_steps,
    )


def default_scorer(project: Project, on_progress: ProgressFn, should_stop: StopFn) -> Scorer:
    """What ``mixdesk mix`` scores with when no model is named: the bundled model, else the baseline."""
    from mixdesk.mix.scorers import load_scorer

    scorer, _label = load_scorer(project, None)
    scorer.prepare(project, on_progress=on_progress, should_stop=should_stop)
    return scorer


def generate(
    project: Project, scorer: Scorer | None, options: GenerateOptions, on_progress: ProgressFn, should_stop: StopFn
) -> tuple[Playlist, Scorer]:
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
    project: Project,
    scorer: Scorer | None,
    playlist: Playlist,
    row: int,
    options: GenerateOptions,
    on_progress: ProgressFn,
    should_stop: StopFn,
) -> tuple[Playlist, Scorer]:
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


def suggestions(project: Project, scorer: Scorer, playlist: Playlist, position: int, k: int) -> list[Suggestion]:
    from mixdesk.mix.suggestions import suggestions as ranked

    return ranked(project, scorer, playlist, position, k)


def item_for_chunk(
    project: Project, chunk_id: int, like: PlaylistItem | None = None, score: Optional[float] = None
) -> PlaylistItem:
    """A playlist item playing the whole chunk, with the transition settings of ``like`` when given.

    It has no mix tempo yet: put it in a playlist, then give it the playlist's with :func:`follow_tempo_plan`.
    """
    from mixdesk.mix.playlist import PlaylistItem, Transition

    chunk = project.chunk(int(chunk_id))
    track = project.track(chunk.track_id)
    transition = like.transition if like is not None else Transition()
    return PlaylistItem(
        chunk_id=int(chunk.id),
        track_id=int(track.id),
        source_path=str(track.path),
        in_ms=int(chunk.start_ms),
        out_ms=int(chunk.end_ms),
        transition=transition,
        score=score,
    )


def follow_tempo_plan(project: Project, playlist: Playlist, from_index: int) -> Playlist:
    """The playlist with items from ``from_index`` on at the mix tempo its tempo plan gives them, as the
    sequencer gives a generated item its tempo (an item put in by hand has none of its own yet)."""
    from mixdesk.mix.sequencing import follow_tempo_plan as follow

    return follow(project, playlist, from_index)


def rescore_at(scorer: Scorer | None, items: list[PlaylistItem], positions: Iterable[int]) -> list[PlaylistItem]:
    """Items whose scores at ``positions`` are asked of ``scorer`` again (their predecessor changed)."""
    out = list(items)
    for i in sorted(set(positions)):
        if 0 < i < len(out) and scorer is not None:
            prob: float | None
            try:
                prob = float(scorer.successor_scores(out[i - 1].chunk_id, [out[i].chunk_id])[0])
            except (KeyError, IndexError, ValueError):
                prob = None  # a chunk the scorer cannot see (removed by a re-cut) has no score
            out[i] = out[i].with_(score=prob)
        elif i == 0 and out:
            out[0] = out[0].with_(score=None)
    return out


def rescore_around(scorer: Scorer | None, items: list[PlaylistItem], index: int) -> list[PlaylistItem]:
    return rescore_at(scorer, items, (index, index + 1))


def new_neighbours(old_items: Sequence[PlaylistItem], new_items: Sequence[PlaylistItem]) -> list[int]:
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


def chunk_preview(project: Project, chunk_id: int, sample_rate: int) -> np.ndarray:
    return project.chunk_audio(int(chunk_id), sample_rate=sample_rate)


@dataclass(frozen=True)
class SeamAudio:
    """A rendered excerpt around one transition; times in seconds from the excerpt's start.

    ``beats`` holds both items' beat grids in the excerpt (None where the join is on milliseconds) and
    ``plan`` the join as planned for the full playlist, with the crossfade asked for and its cap.
    """

    samples: np.ndarray  # (frames, channels) float32
    sample_rate: int
    fade_start_s: float
    fade_end_s: float
    a_label: str
    b_label: str
    beats: SeamBeats | None = None
    plan: SeamPlan | None = None

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


def seam_grids(project: Project, playlist: Playlist, row: int) -> dict[int, BeatGrid]:
    """Beat grids of the two tracks either side of seam ``row`` (the only ones a seam needs)."""
    grids = {}
    for item in playlist.items[row : row + 2]:
        grid = project.beat_grid(item.track_id)
        if grid is not None:
            grids[item.track_id] = grid
    return grids


def seam_plan(project: Project, playlist: Playlist, row: int) -> SeamPlan:
    """The join after item ``row`` as the full mix plays it (quick: reads two grids, renders nothing)."""
    from mixdesk.mix.seam_excerpt import plan_seam

    return plan_seam(playlist, row, seam_grids(project, playlist, row))


def render_seam(
    project: Project,
    playlist: Playlist,
    row: int,
    context_ms: int,
    labels: tuple[str, str],
    on_progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
) -> SeamAudio:
    """The mix room's rendering of the excerpt; the crossfade span comes from where it placed B."""
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
    project: Project,
    playlist: Playlist,
    out_path: Path,
    config: ExportConfig,
    on_progress: ProgressFn,
    should_stop: StopFn,
) -> ExportResult:
    from mixdesk.mix.export import export_mix

    return export_mix(project, playlist, out_path, config, on_progress=on_progress, should_stop=should_stop)


def export_summary(result: ExportResult) -> str:
    """The file written, its length, and the tracklist files beside it, in one line."""
    duration = result.duration_s
    text = f"{result.path} ({int(duration // 60)}:{duration % 60:04.1f})"
    extras = [p for p in (result.tracklist_path, result.cue_path) if p is not None]
    if extras:
        text += " and " + ", ".join(Path(p).name for p in extras)
    return text


def planned_seconds(project: Project | None, playlist: Playlist) -> float:
    """How long the playlist plays once rendered; the playlist's own sum where there is no project."""
    if project is None:
        return playlist.duration_ms / 1000.0
    from mixdesk.mix.rendering import planned_duration_ms

    return planned_duration_ms(project, playlist) / 1000.0
