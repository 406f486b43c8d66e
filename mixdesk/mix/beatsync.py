"""Beat-synchronous joins: each item played at the mix tempo, the next one landing on the beat.

An item is measured in beats of its own track's grid: it starts at beat position ``start_beat`` and
lasts ``beats`` beats. Played at the mix tempo T, a beat lasts 60 / T seconds, so its stretched length is
exact and its beats fall on a regular grid from its first frame on. The next item starts where the
outgoing item's grid, counted on from that item's start, reaches the incoming in-point's place in the
bar (its bar phase): a chunk cut on a downbeat lands on a downbeat, ``overlap`` beats before the
outgoing item ends.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from mixdesk.core.beatgrid import BeatGrid
from mixdesk.mix.playlist import PlaylistItem

_PHASE_TOLERANCE = 1e-3  # beats; a bar phase this close to a whole beat counts as on it


@dataclass(frozen=True)
class ItemTiming:
    """How one item plays: ``ratio`` is the playback speed (1.0 native, 1.05 five percent faster)."""

    ratio: float
    synced: bool
    source_bpm: float | None = None
    mix_bpm: float | None = None
    start_beat: float = 0.0
    beats: float = 0.0
    bar_phase: float | None = None  # beats since the last downbeat at the in-point
    beats_per_bar: int = 4

    @property
    def beat_s(self) -> float:
        """Length of one beat in the mix, in seconds."""
        return 60.0 / self.mix_bpm if self.mix_bpm else 0.0


def item_timing(item: PlaylistItem, grid: BeatGrid | None) -> ItemTiming:
    """The item's place on its track's grid, and the speed that brings it to ``item.tempo_bpm``."""
    if grid is None or not grid.confident:  # a doubtful grid would put the item off the beat
        return ItemTiming(ratio=1.0, synced=False)
    in_s, out_s = item.in_ms / 1000.0, item.out_ms / 1000.0
    start, end = grid.position(in_s), grid.position(out_s)
    beats = end - start
    if beats <= 0.5:
        return ItemTiming(ratio=1.0, synced=False)
    source_bpm = 60.0 * beats / (out_s - in_s)
    mix_bpm = item.tempo_bpm or source_bpm
    bar_phase = None
    if grid.downbeats.size:
        bar_phase = (start - grid.position(float(grid.downbeats[0]))) % grid.beats_per_bar
    return ItemTiming(
        ratio=mix_bpm / source_bpm,
        synced=True,
        source_bpm=source_bpm,
        mix_bpm=mix_bpm,
        start_beat=start,
        beats=beats,
        bar_phase=bar_phase,
        beats_per_bar=grid.beats_per_bar,
    )


def _wrap(value: float, period: float) -> float:
    """``value`` modulo ``period`` into (-period / 2, period / 2]."""
    out = math.fmod(value, period)
    if out > period / 2:
        out -= period
    elif out <= -period / 2:
        out += period
    return out


@dataclass(frozen=True)
class Join:
    """Where the incoming item starts, in beats of the outgoing one counted from its start, and how
    long the two overlap; ``swap_beat`` is where a bass swap hands the low end over."""

    start_beat: float
    overlap_beats: float
    swap_beat: float | None


def _half_shorter(a: ItemTiming, b: ItemTiming) -> float:
    """Half the shorter of two items as both play in the mix, in beats of the outgoing one ``a`` (an
    incoming item at another mix tempo is measured in ``a``'s beats)."""
    b_beats = b.beats * b.beat_s / a.beat_s if a.beat_s and b.beat_s else b.beats
    return min(a.beats, b_beats) / 2


def crossfade_limit(a: ItemTiming, b: ItemTiming) -> float:
    """The longest overlap of a join, in whole beats of the outgoing item: half the shorter item as both
    play in the mix. Since no join takes more than half of either neighbour, an item holds both of its."""
    return float(math.floor(_half_shorter(a, b)))


def wanted_beats(item: PlaylistItem, timing: ItemTiming) -> float:
    """The overlap ``item``'s transition asks for, in beats (a length in ms converted at its mix tempo)."""
    if item.transition.kind != "crossfade":
        return 0.0
    if item.transition.beats is not None:
        return float(item.transition.beats)
    return item.transition.length_ms / 1000.0 / timing.beat_s if timing.synced else 0.0


def plan_join(a: ItemTiming, b: ItemTiming, wanted_beats: float, room: float | None = None) -> Join | None:
    """The phase-locked join of ``a`` into ``b`` with about ``wanted_beats`` of overlap; None when
    either side has no grid (the caller then joins on milliseconds).

    The incoming in-point keeps its place in the bar where both sides know their bars; of the starts
    that do so, the one closest to the wanted overlap within the cap wins. Only when no bar-locked
    start fits (an item shorter than a bar) does the join keep the beat alone, with the start on the beat
    closest to the wanted overlap within half the shorter item (a fraction of a beat past the cap, as the
    beats fall); only when not even that fits does it give the beat up. ``room`` (beats, None for no
    limit) is what the neighbours' other joins leave of them, and the overlap never exceeds it; within
    half of either neighbour it is always there, so only a renderer's rounding ever reaches it.
    """
    if not (a.synced and b.synced):
        return None
    limit, most = crossfade_limit(a, b), _half_shorter(a, b)
    if room is not None:
        room = max(room, 0.0)
        limit, most = min(limit, room), min(most, room)
    wanted = min(max(wanted_beats, 0.0), limit)
    nominal = a.beats - wanted
    start = None
    if a.bar_phase is not None and b.bar_phase is not None:
        start = _closest_fit(a, nominal, b.bar_phase - (a.bar_phase + nominal), float(a.beats_per_bar), limit)
    if start is None:
        start = _closest_fit(a, nominal, b.start_beat - (a.start_beat + nominal), 1.0, most)
    if start is None:
        start = nominal  # an item too short for any start on the beat within half of it
    start = min(start, a.beats)
    if room is not None:
        start = max(start, a.beats - room)
    overlap = a.beats - start
    swap = None
    if overlap >= 1.0 - _PHASE_TOLERANCE:
        # on a whole beat of the outgoing track, as close to the middle of the overlap as there is one
        middle = a.start_beat + start + overlap / 2
        on_beat = math.floor(middle + 0.5) - a.start_beat
        swap = on_beat if start <= on_beat <= a.beats else start + overlap / 2
    return Join(start_beat=start, overlap_beats=overlap, swap_beat=swap)


def _closest_fit(a: ItemTiming, nominal: float, offset: float, period: float, limit: float) -> float | None:
    """Of the starts ``period`` apart that keep the incoming item's phase (``offset`` beats from the
    nominal start, modulo ``period``), the one closest to ``nominal`` that neither leaves a gap nor
    overlaps by more than ``limit``; None when none does."""
    shift = _wrap(offset % period, period)
    fits = [nominal + shift + k * period for k in range(-8, 9)]
    fits = [s for s in fits if -_PHASE_TOLERANCE <= a.beats - s <= limit + _PHASE_TOLERANCE]
    return min(fits, key=lambda s: (abs(s - nominal), s)) if fits else None


def played_ms(item: PlaylistItem, timing: ItemTiming) -> float:
    """How long an item plays in the mix, in ms: its beats at its mix tempo, or its own length."""
    return timing.beats * timing.beat_s * 1000.0 if timing.synced else float(item.duration_ms)
