"""Tempo questions the desk asks about chunks and playlists, answered from the tracks' beat grids.

Everything here forwards to :class:`~mixdesk.core.beatgrid.BeatGrid` and :func:`~mixdesk.mix.beatsync.item_timing`,
so a number shown in the desk is the number the renderer plays with.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Mapping, Sequence

import numpy as np

from mixdesk.core.beatgrid import BeatGrid
from mixdesk.mix.beatsync import ItemTiming, item_timing
from mixdesk.mix.config import MIX_BPM_RANGE
from mixdesk.mix.playlist import Playlist


def chunk_bpm(grid: BeatGrid | None, start_ms: float, end_ms: float) -> float:
    """Tempo of the span [start_ms, end_ms] of a track from its grid; NaN where the grid is not trusted."""
    if grid is None or not grid.confident or end_ms <= start_ms:
        return float("nan")
    return float(grid.local_bpm(start_ms / 1000.0, end_ms / 1000.0))


def chunk_tempi(chunks: Sequence, grids: Mapping[int, BeatGrid]) -> np.ndarray:
    """:func:`chunk_bpm` for every chunk (objects with ``track_id``, ``start_ms``, ``end_ms``)."""
    return span_tempi([c.track_id for c in chunks], [c.start_ms for c in chunks], [c.end_ms for c in chunks], grids)


def span_tempi(
    track_ids: Sequence[int] | np.ndarray,
    start_ms: Sequence[float] | np.ndarray,
    end_ms: Sequence[float] | np.ndarray,
    grids: Mapping[int, BeatGrid],
) -> np.ndarray:
    """:func:`chunk_bpm` for every span [start_ms[i], end_ms[i]] of track ``track_ids[i]``.

    A library has tens of thousands of chunks, so each track's spans are placed on its grid at once.
    """
    track_ids = np.asarray(track_ids, dtype=np.int64)
    starts = np.asarray(start_ms, dtype=np.float64) / 1000.0
    ends = np.asarray(end_ms, dtype=np.float64) / 1000.0
    out = np.full(len(track_ids), np.nan)
    for track_id in np.unique(track_ids).tolist():
        grid = grids.get(track_id)
        if grid is None or not grid.confident:
            continue
        track_rows = np.flatnonzero(track_ids == track_id)
        start, end = starts[track_rows], ends[track_rows]
        beats = grid.position(end) - grid.position(start)
        with np.errstate(divide="ignore", invalid="ignore"):
            out[track_rows] = 60.0 * beats / (end - start)
        # spans shorter than a beat take their tempo from the beats around them, as BeatGrid.local_bpm does
        for r, s, e, n in zip(track_rows, start, end, beats):
            if n < 1.0 or e <= s:
                out[r] = chunk_bpm(grid, s * 1000.0, e * 1000.0)
    return out


def typical_bpm(grids: Mapping[int, BeatGrid]) -> float | None:
    """Median tempo of the trusted grids, inside the mix tempo range; None when no grid is trusted."""
    tempi = [g.bpm for g in grids.values() if g.confident]
    if not tempi:
        return None
    return float(np.clip(np.median(tempi), *MIX_BPM_RANGE))


def playlist_timings(playlist: Playlist | None, grids: Mapping[int, BeatGrid]) -> list[ItemTiming]:
    """How each item plays (speed, own and mix tempo), exactly as the renderer works it out."""
    if playlist is None:
        return []
    return [item_timing(item, grids.get(item.track_id)) for item in playlist.items]


def stretch_pct(timing: ItemTiming) -> float | None:
    """How much faster (+) or slower (-) than its own tempo an item plays, in percent; None unsynced."""
    return (timing.ratio - 1.0) * 100.0 if timing.synced else None


def mix_tempo(timings: Sequence[ItemTiming]) -> float | None:
    """The playlist's mix tempo as shown: the first synced item's tempo in the mix."""
    for timing in timings:
        if timing.synced and timing.mix_bpm:
            return float(timing.mix_bpm)
    return None


def with_mix_tempo(playlist: Playlist, bpm: float | None) -> Playlist:
    """Every item played at ``bpm`` (None: each at its own tempo).

    The playlist's tempo plan (the tempo settings in ``meta["config"]``) becomes that fixed tempo (or each
    item's own), so that items put in later follow it (:func:`mixdesk.mix.sequencing.follow_tempo_plan`).
    """
    value = None if bpm is None else round(float(bpm), 4)
    plan = {"tempo_mode": "native", "mix_bpm": None} if value is None else {"tempo_mode": "fixed", "mix_bpm": value}
    meta = {**playlist.meta, "config": {**(playlist.meta.get("config") or {}), **plan}}
    items = tuple(item.with_(tempo_bpm=value) for item in playlist.items)
    return replace(playlist, items=items, meta=meta)
