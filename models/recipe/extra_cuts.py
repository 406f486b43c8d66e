"""More training pairs from the same training tracks: extra sets of cuts at fixed lengths and offsets.

A track cut on silence yields one positive pair per cut, a few hundred for the whole collection; the
same audio cut again (on silence with other thresholds, or every few seconds from an offset) yields
thousands more seams the model can learn continuity from. Each extra cutting of a track becomes a
"virtual track" of its own, so successors never cross from one cutting into another; validation and
test tracks are never re-cut.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from mixdesk.ml.features import FeatureConfig
from mixdesk.ml.table import ChunkRef, FeatureTable, build_feature_table

VIRTUAL_TRACK_STRIDE = 1_000_000
VIRTUAL_CHUNK_STRIDE = 100_000_000


@dataclass(frozen=True)
class Cutting:
    """``LEN@OFFSET`` (fixed lengths in seconds from an offset), ``sDB/MS`` (silence cut at DB dBFS,
    MS ms of silence; ``rDB/MS`` relative to the track's loudness), with the library's length guards, or
    ``bN+K`` (N-bar chunks from the K-th downbeat: the library's bar cut, shifted by K bars)."""

    spec: str

    def spans(self, project, track) -> list[tuple[int, int]]:
        if self.spec.startswith("b"):
            # bN+K: N-bar chunks from the K-th downbeat on; only where the track has a confident grid.
            from mixdesk.core.chunking import bar_ranges

            bars, offset = (int(v) for v in self.spec[1:].split("+"))
            grid = project.beat_grid(track.id)
            if grid is None or not grid.confident:
                return []
            lines = (grid.bar_lines_ms() or [])[offset:]
            if len(lines) < 2:
                return []
            # The audio before the first cut is not a bar group: leave it out.
            first = int(round(lines[0]))
            return [(s, e) for s, e in bar_ranges(int(track.duration_s * 1000), lines, bars) if s >= first]
        if "@" in self.spec:
            length_s, offset_s = (float(v) for v in self.spec.split("@"))
            length, start, end_ms = int(length_s * 1000), int(offset_s * 1000), int(track.duration_s * 1000)
            return [(s, s + length) for s in range(start, end_ms - length + 1, length)]
        from mixdesk.config import LIBRARY_CHUNKING
        from mixdesk.core.chunking import chunk_ranges

        thresh, min_silence = self.spec[1:].split("/")
        config = LIBRARY_CHUNKING.with_(
            silence_thresh_db=float(thresh), min_silence_ms=int(min_silence), relative=self.spec[0] == "r"
        )
        return [(int(s), int(e)) for s, e in chunk_ranges(project.envelope(track.id), config)]


class SpanSource:
    """Chunk audio for spans that are not chunks of the project: slices of its decoded tracks."""

    def __init__(self, project, spans: dict[int, tuple[int, int, int]]):
        self.project = project
        self.spans = spans

    def chunk_audio(self, chunk_id: int, sample_rate: int | None = None, mono: bool = False) -> np.ndarray:
        track_id, start_ms, end_ms = self.spans[chunk_id]
        audio = self.project.track_audio(track_id, sample_rate=sample_rate, mono=mono)
        rate = audio.sample_rate
        return audio.samples[int(start_ms * rate / 1000) : int(end_ms * rate / 1000)]


def extra_spans(project, track_ids: Sequence[int], cuttings: Sequence[Cutting]):
    """(chunk refs, {virtual chunk id: (track id, start ms, end ms)}) of every cutting of ``track_ids``."""
    refs, spans = [], {}
    tracks = {t.id: t for t in project.tracks()}
    for k, cutting in enumerate(cuttings, start=1):
        next_id = k * VIRTUAL_CHUNK_STRIDE
        for track_id in sorted(int(t) for t in track_ids):
            track = tracks[track_id]
            for index, (start, end) in enumerate(cutting.spans(project, track)):
                refs.append(
                    ChunkRef(
                        next_id,
                        k * VIRTUAL_TRACK_STRIDE + track_id,
                        index,
                        start,
                        end,
                        track.hash or f"track{track_id}",
                    )
                )
                spans[next_id] = (track_id, start, end)
                next_id += 1
    return refs, spans


def extra_table(
    project,
    track_ids: Sequence[int],
    cuttings: Sequence[Cutting],
    config: FeatureConfig,
    cache_root,
    on_progress=None,
    descriptors: bool = False,
) -> FeatureTable:
    """Features of every extra cutting of ``track_ids``; with ``descriptors``, each virtual chunk also
    gets the descriptor vector the library's analysis gives a chunk of that span."""
    refs, spans = extra_spans(project, track_ids, cuttings)
    table = build_feature_table(refs, SpanSource(project, spans), config, cache_root, on_progress=on_progress)
    if descriptors:
        table = table.with_descriptors(span_descriptors(project, spans, on_progress))
    return table


# (track id, start ms, end ms) -> descriptor vector: the folds and the final run re-cut the same tracks.
_SPAN_DESCRIPTORS: dict[tuple[int, int, int], np.ndarray] = {}


def span_descriptors(project, spans: dict[int, tuple[int, int, int]], on_progress=None) -> dict[int, np.ndarray]:
    """Descriptor vectors of spans of the project's tracks, one analysis pass per track."""
    from mixdesk.analysis.blocks import FileBlocks
    from mixdesk.analysis.project_analysis import analyse_samples, descriptor_vector
    from mixdesk.progress import report

    by_track: dict[int, set[tuple[int, int]]] = {}
    for track_id, start, end in spans.values():
        if (track_id, start, end) not in _SPAN_DESCRIPTORS:
            by_track.setdefault(track_id, set()).add((start, end))
    paths = {t.id: t.path for t in project.tracks()}
    for i, (track_id, wanted) in enumerate(sorted(by_track.items())):
        report(on_progress, i, len(by_track), "descriptors")
        ranges = sorted(wanted)
        source = FileBlocks(paths[track_id])
        analysis = analyse_samples(source, source.sample_rate, ranges, tag_model=None)
        for (start, end), doc in zip(ranges, analysis.chunk_descriptors):
            _SPAN_DESCRIPTORS[(track_id, start, end)] = descriptor_vector(doc)
    return {chunk_id: _SPAN_DESCRIPTORS[span] for chunk_id, span in spans.items()}


def concat_tables(tables: Sequence[FeatureTable]) -> FeatureTable:
    first = tables[0]
    keys: dict[int, str] = {}
    for table in tables:
        keys.update(table.track_keys)
    return FeatureTable(
        config=first.config,
        chunk_ids=np.concatenate([t.chunk_ids for t in tables]),
        track_ids=np.concatenate([t.track_ids for t in tables]),
        positions=np.concatenate([t.positions for t in tables]),
        start=torch.cat([t.start for t in tables]),
        end=torch.cat([t.end for t in tables]),
        mean=torch.cat([t.mean for t in tables]),
        raw_start=torch.cat([t.raw_start for t in tables]),
        raw_end=torch.cat([t.raw_end for t in tables]),
        raw_length=np.concatenate([t.raw_length for t in tables]),
        descriptors=None if any(t.descriptors is None for t in tables) else torch.cat([t.descriptors for t in tables]),
        track_keys=keys,
    )


def virtual_ids(track_ids: np.ndarray, count: int) -> np.ndarray:
    """The virtual track ids of ``track_ids`` under ``count`` extra cuttings."""
    return np.concatenate([k * VIRTUAL_TRACK_STRIDE + np.asarray(track_ids) for k in range(1, count + 1)])
