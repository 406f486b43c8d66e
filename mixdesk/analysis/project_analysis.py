"""Analyse files and projects: descriptors and tags per track and per chunk, cached in the project.

Each track is read twice, block by block, at its native rate (see ``descriptors.FrameBuilder``): the
descriptors, the tagger's 16 kHz patches and, where one is wanted, the beat grid all come from those
two reads, so memory does not grow with the track's length. Chunk values come from slices of the
track's frame features.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generator, Mapping, Sequence

import numpy as np

from mixdesk.analysis import tagger
from mixdesk.analysis.blocks import BlockSource, FileBlocks, as_source, block_mono
from mixdesk.analysis.descriptors import FrameBuilder
from mixdesk.analysis.options import DEFAULT_TAG_MODEL, TOP_TAGS
from mixdesk.analysis.tonal import parse_camelot
from mixdesk.core.beatgrid import BeatGrid
from mixdesk.library.project import Project
from mixdesk.library.schema import Chunk, Track
from mixdesk.progress import Cancelled, ProgressFn, StopFn, check_stop, report

ANALYSIS_VERSION = 1


@dataclass(frozen=True)
class TrackAnalysis:
    descriptors: dict
    chunk_descriptors: list[dict]
    tags: dict[str, float] | None = None
    chunk_tags: list[dict[str, float]] | None = None


@dataclass
class AnalysisReport:
    analysed: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    failed: list[tuple[int, str]] = field(default_factory=list)


def analyse_samples(
    samples: np.ndarray | BlockSource,
    sample_rate: int,
    chunk_ranges_ms: list[tuple[int, int]] | None = None,
    tag_model: str | None = DEFAULT_TAG_MODEL,
) -> TrackAnalysis:
    """Descriptors (and tags unless `tag_model` is None) of a track and of its chunk ranges.

    `samples` is an array, (frames, channels) or 1-D, or a block source such as
    :class:`~mixdesk.analysis.blocks.FileBlocks`, which keeps memory flat however long the track.
    """
    ranges = list(chunk_ranges_ms or [])
    source = as_source(samples, sample_rate)
    builder = FrameBuilder(sample_rate, source.channels)
    for block in source:
        builder.first(block, block_mono(block))
    builder.end_first()
    windows = tagger.TagWindows(sample_rate, builder.frames) if tag_model is not None else None
    for block in source:
        mono = block_mono(block)
        builder.second(mono)
        if windows is not None:
            windows.push(mono)
    frames = builder.result()
    track = frames.describe()
    chunks = [frames.describe(s / 1000.0, e / 1000.0, track=track) for s, e in ranges]
    if windows is None or tag_model is None:
        return TrackAnalysis(track, chunks)
    tags, chunk_tags = windows.tags([(s / 1000.0, e / 1000.0) for s, e in ranges], tag_model)
    return TrackAnalysis(track, chunks, tags, chunk_tags)


def analyse_file(path: str | Path, tag_model: str | None = DEFAULT_TAG_MODEL, top_k: int = TOP_TAGS) -> dict:
    """One file's summary for the command line: path, duration, descriptors, beat grid and top tags."""
    from mixdesk.core.beats import BeatTracker

    source = FileBlocks(path)
    tracker = BeatTracker(source.sample_rate)
    source.tap(tracker.feed)  # the beat tracker reads along with the analysis instead of decoding again
    result = analyse_samples(source, source.sample_rate, None, tag_model)
    grid = tracker.finish()
    duration_s = source.shape[0] / source.sample_rate
    out = {
        "path": str(path),
        "duration_s": round(duration_s, 3),
        **result.descriptors,
        "grid_bpm": round(grid.bpm, 2),
        "grid_confidence": round(grid.confidence, 3),
        "beats": [round(float(t), 4) for t in grid.beats],
        "downbeats": [round(float(t), 4) for t in grid.downbeats],
    }
    if result.tags is not None:
        out["tags"] = tagger.top_tags(result.tags, top_k)
    return out


def _complete(track_id: int, chunk_ids: list[int], docs: Mapping, tag_docs: Mapping | None) -> bool:
    keys = [(track_id, None)] + [(track_id, c) for c in chunk_ids]
    if any(k not in docs for k in keys):
        return False
    if docs[(track_id, None)].get("analysis_version") != ANALYSIS_VERSION:
        return False
    return tag_docs is None or all(k in tag_docs for k in keys)


def analyse_project(
    project: Project,
    tags: bool = True,
    force: bool = False,
    tag_model: str = DEFAULT_TAG_MODEL,
    on_progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
    track_ids: Sequence[int] | None = None,
    jobs: int = 1,
) -> AnalysisReport:
    """Fill the project's "descriptors" (and "tags") analysis for every track and chunk (or only the
    tracks in `track_ids`), in `jobs` processes when more than one.

    Tracks whose track and chunk entries are all present are skipped unless `force`; a track that
    fails to decode is recorded in the report and the others go on.
    """
    result = AnalysisReport()
    docs = project.analysis("descriptors")
    tag_docs = project.analysis("tags") if tags else None
    tracks = project.tracks()
    if track_ids is not None:
        wanted = {int(t) for t in track_ids}
        tracks = [t for t in tracks if t.id in wanted]
    todo: list[tuple[Track, list[Chunk], bool]] = []
    for track in tracks:
        chunks = project.chunks(track.id)
        needs_grid = project.beat_grid(track.id) is None
        if not force and _complete(track.id, [c.id for c in chunks], docs, tag_docs) and not needs_grid:
            result.skipped.append(track.id)
        else:
            todo.append((track, chunks, needs_grid))
    model = tag_model if tags else None
    outcomes: Generator[_Outcome, None, None]
    if jobs > 1 and len(todo) > 1:
        outcomes = _in_processes(todo, model, jobs, should_stop)
    else:
        outcomes = (_analyse_track(t.path, _ranges(chunks), model, grid, should_stop) for t, chunks, grid in todo)
    report(on_progress, 0, len(todo), "analysing")
    try:
        for i, ((track, chunks, _), outcome) in enumerate(zip(todo, outcomes)):
            check_stop(should_stop)
            report(on_progress, i + 1, len(todo), f"analysed {Path(track.path).name}")
            if isinstance(outcome, str):
                result.failed.append((track.id, outcome))
                continue
            analysis, grid = outcome
            _store(project, track.id, chunks, analysis, tag_model)
            if grid is not None:
                with project.transaction() as conn:
                    project.store_beat_grid(conn, track.id, grid)
            result.analysed.append(track.id)
    finally:
        outcomes.close()  # a cancelled run stops its worker processes at once
    report(on_progress, len(todo), len(todo), "analysis done")
    return result


# A track's analysis and the beat grid it lacked, or why it failed.
_Outcome = tuple[TrackAnalysis, BeatGrid | None] | str


def _ranges(chunks: Sequence[Chunk]) -> list[tuple[int, int]]:
    return [(c.start_ms, c.end_ms) for c in chunks]


def _analyse_track(
    path: str,
    ranges: list[tuple[int, int]],
    tag_model: str | None,
    needs_grid: bool,
    should_stop: StopFn | None = None,
) -> _Outcome:
    """One track's analysis (and beat grid, where asked), or the reason it failed."""
    from mixdesk.core.audio import AudioError
    from mixdesk.core.beats import BeatTracker

    try:
        # Read block by block, never through project.track_audio, whose cache holds whole tracks.
        source = FileBlocks(path, should_stop)
        tracker = BeatTracker(source.sample_rate) if needs_grid else None  # projects from before beat grids
        if tracker is not None:
            source.tap(tracker.feed)
        analysis = analyse_samples(source, source.sample_rate, ranges, tag_model)
        return analysis, None if tracker is None else tracker.finish()
    except AudioError as exc:
        return exc.reason
    except Cancelled:
        raise
    except Exception as exc:  # librosa's ParameterError among others
        # One pathological file must not stop a library-wide run; it is reported instead.
        return f"analysis failed: {exc}"


def _in_processes(
    todo: Sequence[tuple[Track, list[Chunk], bool]], tag_model: str | None, jobs: int, should_stop: StopFn | None
) -> Generator[_Outcome, None, None]:
    """The outcomes of `_analyse_track` for `todo`, in order, computed `jobs` tracks at a time."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, wait

    # spawn: forking a process that already runs torch's thread pools can deadlock the child.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(jobs, len(todo)), mp_context=context) as pool:
        futures = [pool.submit(_analyse_track, t.path, _ranges(chunks), tag_model, grid) for t, chunks, grid in todo]
        try:
            for future in futures:
                while not wait([future], timeout=0.5).done:
                    check_stop(should_stop)
                yield future.result()
        finally:
            for future in futures:
                future.cancel()


def _store(project: Project, track_id: int, chunks: Sequence[Chunk], analysis: TrackAnalysis, tag_model: str) -> None:
    project.put_analysis("descriptors", {**analysis.descriptors, "analysis_version": ANALYSIS_VERSION}, track_id)
    for chunk, doc in zip(chunks, analysis.chunk_descriptors):
        project.put_analysis("descriptors", doc, track_id, chunk.id)
    if analysis.tags is None:
        return
    project.put_analysis("tags", {"tags": analysis.tags, "model": tag_model}, track_id)
    for chunk, scores in zip(chunks, analysis.chunk_tags or []):
        project.put_analysis("tags", {"tags": scores, "model": tag_model}, track_id, chunk.id)


def track_descriptors(project: Project) -> dict[int, dict[str, Any]]:
    return {t: d for (t, c), d in project.analysis("descriptors").items() if c is None}


def chunk_descriptors(project: Project) -> dict[int, dict[str, Any]]:
    return {c: d for (t, c), d in project.analysis("descriptors").items() if c is not None}


def chunk_tags(project: Project) -> dict[int, dict[str, float]]:
    return {c: d.get("tags", {}) for (t, c), d in project.analysis("tags").items() if c is not None}


DESCRIPTOR_VECTOR_NAMES = (
    "tempo_octave", "tempo_known", "bpm_confidence", "key_sin", "key_cos", "key_minor", "key_known",
    "lufs", "lra", "rms_db", "centroid_octave", "onset_rate",
)  # fmt: skip


def _number(value: object, default: float = 0.0) -> float:
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else default


def descriptor_vector(doc: Mapping) -> np.ndarray:
    """Fixed-length float32 encoding of one descriptor dict, each entry scaled to roughly [-1, 1].

    The scaling is fixed (not fitted per project) so that a model trained on one library reads another
    library's vectors the same way. Tempo is log2(bpm / 120); the key is its angle on the Camelot
    wheel (neighbours are close) plus a minor flag; loudness is centred on -14 LUFS.
    """
    bpm = _number(doc.get("bpm"))
    key_angle, minor, key_known = 0.0, 0.0, 0.0
    try:
        number, letter = parse_camelot(doc.get("camelot") or "")
        key_angle, minor, key_known = 2 * math.pi * number / 12.0, float(letter == "A"), 1.0
    except ValueError:
        pass
    centroid = _number(doc.get("centroid_hz"))
    values = [
        math.log2(bpm / 120.0) if bpm > 0 else 0.0,
        float(bpm > 0),
        _number(doc.get("bpm_confidence")),
        math.sin(key_angle) * key_known,
        math.cos(key_angle) * key_known,
        minor,
        key_known,
        (_number(doc.get("lufs"), -70.0) + 14.0) / 10.0,
        _number(doc.get("lra")) / 10.0,
        (_number(doc.get("rms_db"), -120.0) + 15.0) / 10.0,
        math.log2(centroid / 1500.0) if centroid > 0 else -3.0,
        _number(doc.get("onset_rate")) / 4.0,
    ]
    return np.clip(np.asarray(values, dtype=np.float32), -5.0, 5.0)


def analyse_missing_chunks(
    project: Project,
    chunk_ids: Sequence[int] | None = None,
    on_progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
    jobs: int = 1,
) -> AnalysisReport:
    """Descriptors (no tags) of the tracks whose chunks among `chunk_ids` (default: all) have none yet.

    A model that reads descriptors calls this before scoring, so a project is analysed once, on first
    use, and a re-cut track again for its new chunks.
    """
    docs = project.analysis("descriptors")
    wanted = None if chunk_ids is None else {int(c) for c in chunk_ids}
    missing = sorted(
        {c.track_id for c in project.chunks() if (wanted is None or c.id in wanted) and (c.track_id, c.id) not in docs}
    )
    if not missing:
        return AnalysisReport()
    return analyse_project(
        project, tags=False, on_progress=on_progress, should_stop=should_stop, track_ids=missing, jobs=jobs
    )


def chunk_descriptor_vectors(project: Project, include_tags: bool = False) -> dict[int, np.ndarray]:
    """chunk id -> descriptor vector (len(DESCRIPTOR_VECTOR_NAMES), plus the 50 tag scores if asked).

    Only chunks that have been analysed appear; run `analyse_project` first.
    """
    docs = chunk_descriptors(project)
    vectors = {c: descriptor_vector(d) for c, d in docs.items()}
    if not include_tags:
        return vectors
    tags = chunk_tags(project)
    labels = tagger.LABELS[DEFAULT_TAG_MODEL]
    return {
        c: np.concatenate([v, np.asarray([tags.get(c, {}).get(t, 0.0) for t in labels], dtype=np.float32)])
        for c, v in vectors.items()
    }
