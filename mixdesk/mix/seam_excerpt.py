"""One seam of a playlist on its own: the plan of the join, a short excerpt that renders like the full
mix, and where the beats of both sides fall in it.

The transition view renders only a few seconds either side of a seam. A beat-synchronous join depends on
the outgoing item's bar phase, on each item's tempo and on the crossfade cap (half the shorter item), so
the excerpt is trimmed by whole bars and keeps every item's mix tempo; the seam then sounds and looks
exactly as it will in the exported mix.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping

import numpy as np

from mixdesk.core.beatgrid import BeatGrid
from mixdesk.mix.beatsync import ItemTiming, Join, crossfade_limit, item_timing, plan_join, played_ms, wanted_beats
from mixdesk.mix.config import RenderConfig
from mixdesk.mix.playlist import Playlist
from mixdesk.mix.rendering import ms_join_limit

_ON_BEAT = 1e-2  # beats; a bar phase this close to 0 is a downbeat


@dataclass(frozen=True)
class SeamPlan:
    """How item ``row`` hands over to the next: on the beat (``join``) or on milliseconds.

    ``wanted`` is the crossfade asked for and ``limit`` the most the renderer allows (half the shorter
    item), both in beats for a synced join and in ms otherwise (``unit``).
    """

    a: ItemTiming
    b: ItemTiming
    join: Join | None
    wanted: float
    limit: float

    @property
    def synced(self) -> bool:
        return self.join is not None

    @property
    def unit(self) -> str:
        return "beats" if self.synced else "ms"

    @property
    def capped_by(self) -> float:
        """How much of the asked-for crossfade the cap takes off (0 when it is not capped)."""
        return max(0.0, self.wanted - self.limit)


def plan_seam(
    playlist: Playlist, row: int, grids: Mapping[int, BeatGrid], config: RenderConfig | None = None
) -> SeamPlan:
    """The join after item ``row`` as the renderer plans it for the whole playlist."""
    config = config or RenderConfig()
    a, b = playlist.items[row], playlist.items[row + 1]
    use = config.beat_sync
    ta = item_timing(a, grids.get(a.track_id) if use else None)
    tb = item_timing(b, grids.get(b.track_id) if use else None)
    if ta.synced and tb.synced:
        wanted = wanted_beats(a, ta)
        return SeamPlan(ta, tb, plan_join(ta, tb, wanted), wanted, crossfade_limit(ta, tb))
    wanted_ms = float(a.transition.length_ms if a.transition.kind == "crossfade" else config.cut_fade_ms)
    return SeamPlan(ta, tb, None, wanted_ms, ms_join_limit(played_ms(a, ta), played_ms(b, tb), config))


def seam_playlist(
    playlist: Playlist, row: int, context_ms: int, grids: Mapping[int, BeatGrid], config: RenderConfig | None = None
) -> Playlist:
    """Items ``row`` and ``row + 1`` trimmed to about ``context_ms`` either side of their overlap.

    A synced outgoing item loses whole bars from its start, so its bar phase, and with it where the
    incoming item lands, stays as in the full mix; both keep their mix tempo, and both keep enough beats
    that the crossfade cap is the full items' cap.
    """
    a, b = playlist.items[row], playlist.items[row + 1]
    plan = plan_seam(playlist, row, grids, config)
    if plan.join is None:
        overlap = a.transition.overlap_ms
        a_in = max(a.in_ms, a.out_ms - context_ms - overlap)
        b_out = min(b.out_ms, b.in_ms + context_ms + overlap)
        return playlist.replace_items([a.with_(in_ms=a_in), b.with_(out_ms=b_out)])
    ta, tb, join = plan.a, plan.b, plan.join
    context = context_ms / 1000.0 / ta.beat_s + join.overlap_beats
    # Any overlap the join could try lies within a bar of the one it chose; keeping twice that (or twice
    # the cap, whichever is less) leaves the cap, and so the join, unchanged.
    keep = 2.0 * min(plan.limit, join.overlap_beats + ta.beats_per_bar) + 2.0
    bars = ta.beats_per_bar
    drop = math.floor((ta.beats - max(context, keep)) / bars) * bars
    if drop > 0:
        a = a.with_(in_ms=int(round(grids[a.track_id].time_at(ta.start_beat + drop) * 1000.0)))
    b_beats = max(context, keep) * ta.beat_s / tb.beat_s  # as long in the mix as that many of A's beats
    if b_beats < tb.beats:
        b = b.with_(out_ms=int(round(grids[b.track_id].time_at(tb.start_beat + b_beats) * 1000.0)))
    return playlist.replace_items([a.with_(tempo_bpm=ta.mix_bpm), b.with_(tempo_bpm=tb.mix_bpm)])


@dataclass(frozen=True)
class BeatMarks:
    """Beat instants of one item in mix seconds, and which of them start a bar."""

    times_s: np.ndarray
    downbeat: np.ndarray

    @classmethod
    def empty(cls) -> "BeatMarks":
        return cls(np.zeros(0), np.zeros(0, dtype=bool))


def beat_marks(timing: ItemTiming, mix_start_s: float) -> BeatMarks:
    """Where the item's own beats fall in the mix: whole beat positions of its track from its in-point
    on, a beat apart at the mix tempo."""
    if not timing.synced:
        return BeatMarks.empty()
    first = math.ceil(timing.start_beat - _ON_BEAT) - timing.start_beat
    offsets = np.arange(first, timing.beats + _ON_BEAT, 1.0)
    times = mix_start_s + offsets * timing.beat_s
    if timing.bar_phase is None:
        return BeatMarks(times, np.zeros(times.size, dtype=bool))
    phase = (timing.bar_phase + offsets) % timing.beats_per_bar
    down = (phase < _ON_BEAT) | (phase > timing.beats_per_bar - _ON_BEAT)
    return BeatMarks(times, down)


@dataclass(frozen=True)
class SeamBeats:
    """The beat grids of a rendered seam, in seconds of the rendered excerpt."""

    a: BeatMarks
    b: BeatMarks
    entry_s: float | None  # where the incoming item starts, on a beat of the outgoing one
    swap_s: float | None  # where the bass swap hands the low end over
    overlap_beats: float | None


def seam_beats(
    timings: list[ItemTiming], joins: list[Join | None], mix_starts_s: list[float], bass_swap: bool
) -> SeamBeats:
    """Beats of a rendered two-item excerpt from the renderer's ``timings``, ``joins`` and placements."""
    ta, tb = timings[0], timings[1]
    a_marks, b_marks = beat_marks(ta, mix_starts_s[0]), beat_marks(tb, mix_starts_s[1])
    join = joins[0]
    if join is None:
        return SeamBeats(a_marks, b_marks, None, None, None)
    entry = mix_starts_s[0] + join.start_beat * ta.beat_s
    swap = None
    if bass_swap and join.swap_beat is not None:
        swap = mix_starts_s[0] + join.swap_beat * ta.beat_s
    return SeamBeats(a_marks, b_marks, entry, swap, join.overlap_beats)
