"""Joining playlist items into one signal, block by block.

Only the current item, the held-back tail of the previous one and one output block are in memory at a
time, so a two-hour mix needs no more memory than a ten-minute one. Items whose track has a beat grid are
time-stretched to their mix tempo (pitch kept) and joined on the beat (see :mod:`mixdesk.mix.beatsync`);
the others start on a zero crossing. Every join is an equal-power overlap (a few milliseconds long for a
"cut"), optionally with a bass swap, so no seam steps the waveform.

Every item's length in the mix and every overlap are fixed by the plan before any audio is read, and the
renderer writes exactly that plan: the planned length is the rendered length, frame for frame.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Iterator, Mapping

import numpy as np

from mixdesk.core.beatgrid import BeatGrid
from mixdesk.mix.beatsync import ItemTiming, Join, item_timing, plan_join, played_ms, wanted_beats
from mixdesk.mix.config import RenderConfig
from mixdesk.mix.playlist import Playlist, PlaylistItem
from mixdesk.mix.sources import AudioSource, MixSource, as_source
from mixdesk.mix.stretch import stretch
from mixdesk.mix.transitions import (
    bass_swap_crossfade,
    crossfade,
    fade_edge,
    gain_ramp,
    matching_gain,
    nearest_zero_crossing,
    soft_limit,
)
from mixdesk.progress import ProgressFn, StopFn, check_stop, report


@dataclass(frozen=True)
class Placement:
    """Where an item ended up: its source excerpt after zero-crossing snapping and its span in the mix."""

    index: int
    chunk_id: int
    track_id: int
    source_path: str
    source_start_ms: float
    source_end_ms: float
    mix_start_ms: float
    mix_end_ms: float
    score: float | None
    gain_db: float
    mix_bpm: float | None = None
    source_bpm: float | None = None


def ms_join_limit(a_ms: float, b_ms: float, config: RenderConfig) -> float:
    """The longest overlap (ms) of a join on milliseconds between items that play ``a_ms`` and ``b_ms``
    in the mix (:func:`~mixdesk.mix.beatsync.played_ms`): half the shorter one, less the room the
    zero-crossing search needs at either end."""
    return max(0.0, (min(a_ms, b_ms) - 2 * config.zero_cross_ms) / 2)


class _Blocks:
    """Collects variable-sized pieces and hands out fixed-size blocks."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.pieces: list[np.ndarray] = []
        self.held = 0

    def add(self, piece: np.ndarray) -> Iterator[np.ndarray]:
        if len(piece):
            self.pieces.append(piece)
            self.held += len(piece)
        while self.held >= self.size:
            joined = np.concatenate(self.pieces) if len(self.pieces) > 1 else self.pieces[0]
            yield joined[: self.size]
            rest = joined[self.size :]
            self.pieces = [rest] if len(rest) else []
            self.held = len(rest)

    def flush(self) -> Iterator[np.ndarray]:
        if self.held:
            yield np.concatenate(self.pieces)
        self.pieces, self.held = [], 0


class Renderer:
    """Renders ``playlist`` from ``source``; ``placements`` fills in as items are rendered."""

    def __init__(
        self,
        source: MixSource,
        playlist: Playlist,
        config: RenderConfig | None = None,
        grids: Mapping[int, BeatGrid] | None = None,
    ) -> None:
        """``grids`` (track id -> beat grid) default to the source's own, where it has any."""
        self.config = config or RenderConfig()
        self.source: AudioSource = as_source(source, self.config.sample_rate, self.config.channels)
        self._owns_source = self.source is not source
        self.playlist = playlist
        self.placements: list[Placement] = []
        self.frames_out = 0
        self.peak = 0.0
        if grids is None:
            grids = self.source.beat_grids()
        use_grid = self.config.beat_sync
        self.timings = [item_timing(it, grids.get(it.track_id) if use_grid else None) for it in playlist.items]
        self.joins: list[Join | None] = []
        self._lengths: list[int] = []
        self._fades: list[int] = []
        self._plan()

    def _ms(self, ms: float) -> int:
        return int(round(ms * self.config.sample_rate / 1000))

    def _frames_of_beats(self, timing: ItemTiming, beats: float) -> int:
        return int(round(beats * timing.beat_s * self.config.sample_rate))

    def _played_frames(self, index: int) -> int:
        """How many frames item ``index`` plays for, from its in-point to its out-point: its beats at the
        mix tempo when it is beat-synchronous, its own length otherwise."""
        item, timing = self.playlist.items[index], self.timings[index]
        if timing.synced:
            return self._frames_of_beats(timing, timing.beats)
        return self._ms(item.out_ms) - self._ms(item.in_ms)

    def _plan(self) -> None:
        """Each join (``joins``), each item's audio length in frames (``_lengths``) and the overlap in
        frames after it (``_fades``), so that every item holds both of its overlaps.

        Left to right, each join may take what the previous join left of the outgoing item and at most
        all of the incoming one, so the renderer never has to shorten an overlap (which would move the
        next item off its beat and the mix off its planned length). Within the joins' own caps (half of
        either neighbour) that room is always there; it only catches rounding and the sub-millisecond
        tolerance of a bar-locked start.

        A join on the beat with less overlap than ``cut_fade_ms`` (a cut) lets the outgoing item run on
        past its end for the rest of that short fade, so even a cut fades without moving the incoming
        item off the beat.
        """
        items, timings, config = self.playlist.items, self.timings, self.config
        cut = self._ms(config.cut_fade_ms)
        played = [self._played_frames(i) for i in range(len(items))]
        self.joins, self._lengths, self._fades = [], [], []
        fade_in = 0
        for i, (item, timing) in enumerate(zip(items, timings)):
            if i + 1 == len(items):
                self.joins.append(None)
                self._lengths.append(played[i])
                self._fades.append(0)
                break
            nxt, t_next = items[i + 1], timings[i + 1]
            room = max(0, min(played[i] - fade_in, played[i + 1]))  # frames the overlap may take
            join = None
            if timing.synced and t_next.synced:
                frames_per_beat = timing.beat_s * config.sample_rate
                join = plan_join(timing, t_next, wanted_beats(item, timing), room / frames_per_beat)
            if join is not None:
                overlap = min(self._frames_of_beats(timing, join.overlap_beats), room)
                extra = min(max(0, cut - overlap), max(0, played[i + 1] - overlap))  # a cut's short fade
            else:
                wanted = item.transition.length_ms if item.transition.kind == "crossfade" else config.cut_fade_ms
                limit = ms_join_limit(played_ms(item, timing), played_ms(nxt, t_next), config)
                overlap, extra = max(0, min(self._ms(wanted), self._ms(limit), room)), 0
            self.joins.append(join)
            self._lengths.append(played[i] + extra)
            self._fades.append(overlap + extra)
            fade_in = overlap + extra

    @property
    def duration_s(self) -> float:
        return self.frames_out / self.config.sample_rate

    def planned_frames(self) -> int:
        """The mix's length from the plan alone, before any audio is read; the renderer writes exactly
        this many frames."""
        return max(0, sum(self._lengths) - sum(self._fades))

    def _stretched(self, index: int, item: PlaylistItem, timing: ItemTiming) -> tuple[np.ndarray, int]:
        """The item at its mix tempo, exactly ``beats`` mix beats long, and its first source frame.

        The stretcher reads a little audio either side of the item so that its first and last frames are
        as clean as the middle; the margins are trimmed off after stretching. An item cut on the beat
        into the next keeps a few ms of audio past its end for the short fade into it (see ``_plan``).
        """
        margin = self._ms(self.config.stretch_margin_ms)
        start, stop = self._ms(item.in_ms), self._ms(item.out_ms)
        raw = self.source.frames(item, start - margin, stop + margin)
        played = stretch(raw, self.config.sample_rate, timing.ratio, self.config.stretch_quality)
        first = int(round(margin / timing.ratio))
        length = self._lengths[index]
        audio = played[first : first + length]
        if len(audio) < length:
            audio = np.concatenate([audio, np.zeros((length - len(audio), audio.shape[1]), np.float32)])
        return audio, start

    def _excerpt(self, index: int, item: PlaylistItem) -> tuple[np.ndarray, int]:
        """The item's audio from a zero crossing near its in-point on, exactly its planned length, and
        its first frame. (Its end needs no zero crossing: an overlap or the mix's edge fade covers it.)"""
        radius = self._ms(self.config.zero_cross_ms)
        start, stop = self._ms(item.in_ms), self._ms(item.out_ms)
        raw = self.source.frames(item, start - radius, stop + radius)  # silence beyond the file's ends
        first = max(nearest_zero_crossing(raw, radius, radius), radius - start)  # never before the file
        first = min(first, 2 * radius)  # so that the planned length is there to read
        return raw[first : first + self._lengths[index]], start - radius + first

    def _gain(self, prev_tail_level: np.ndarray | None, audio: np.ndarray, fade_in: int) -> float:
        cfg = self.config
        if not cfg.gain_match or prev_tail_level is None:
            return 1.0
        window = self._ms(cfg.gain_window_ms)
        gain = matching_gain(prev_tail_level, audio[fade_in : fade_in + window], cfg.max_gain_db)
        peak = float(np.max(np.abs(audio))) if audio.size else 0.0
        if gain > 1.0 and peak > 0:
            gain = min(gain, max(1.0, 0.99 / peak))  # never boost an item into clipping
        return gain

    def blocks(self, on_progress: ProgressFn | None = None, should_stop: StopFn | None = None) -> Iterator[np.ndarray]:
        """Yield the mix as float32 (frames, channels) blocks of ``block_frames`` (the last may be short)."""
        out = _Blocks(self.config.block_frames)
        self.placements, self.frames_out, self.peak = [], 0, 0.0
        try:
            yield from self._render(out, on_progress, should_stop)
        finally:
            self.close()

    def close(self) -> None:
        """Close the files of a source the renderer opened itself (one it was handed stays open)."""
        if self._owns_source:
            self.source.close()

    def _render(self, out: _Blocks, on_progress: ProgressFn | None, should_stop: StopFn | None) -> Iterator[np.ndarray]:
        self._tail: np.ndarray | None = None
        self._tail_level: np.ndarray | None = None
        items = self.playlist.items
        master = np.float32(10 ** (self.config.master_gain_db / 20))
        # The next item is read (and stretched) on a worker thread while this one is mixed and handed
        # out: Rubber Band releases the GIL, so on two cores that nearly halves a stretched render's
        # time, and only two items are ever in memory at once.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="mixdesk-render") as ahead:
            upcoming = [ahead.submit(self._source_audio, 0)] if items else []  # the next item's audio, if any
            for i, item in enumerate(items):
                check_stop(should_stop)
                source_audio = upcoming.pop().result()
                if i + 1 < len(items):
                    upcoming.append(ahead.submit(self._source_audio, i + 1))
                yield from self._mix_item(i, item, source_audio, out, master)
                report(on_progress, i + 1, len(items), f"rendered {i + 1}/{len(items)} items")
        if self._tail is not None and len(self._tail):
            yield from self._emit(self._tail, out, master)
        yield from out.flush()

    def _source_audio(self, i: int) -> tuple[np.ndarray, int]:
        """Item ``i`` as it will play (stretched where it is beat-synchronous) and its first source frame."""
        item, timing = self.playlist.items[i], self.timings[i]
        return self._stretched(i, item, timing) if timing.synced else self._excerpt(i, item)

    def _mix_item(
        self, i: int, item: PlaylistItem, source_audio: tuple[np.ndarray, int], out: _Blocks, master: np.float32
    ) -> Iterator[np.ndarray]:
        """Hand out what item ``i`` completes: the previous item's tail, their overlap, and its body; its
        own tail is held back for the next overlap."""
        tail = self._tail
        audio, src_first, fade_in, fade_out, gain = self._prepare(i, source_audio, self._tail_level)
        if tail is not None and len(tail) > fade_in:
            yield from self._emit(tail[: len(tail) - fade_in], out, master)
        head_start = self.frames_out
        if fade_in and tail is not None:
            yield from self._emit(self._overlap(i - 1, tail[len(tail) - fade_in :], audio[:fade_in]), out, master)
        body_end = len(audio) - fade_out
        yield from self._emit(audio[fade_in:body_end], out, master)
        self._tail = audio[body_end:]
        self._tail_level = audio[max(0, body_end - self._ms(self.config.gain_window_ms)) : body_end]
        self._place(i, item, src_first, len(audio), head_start, gain)

    def _overlap(self, join_index: int, outgoing: np.ndarray, incoming: np.ndarray) -> np.ndarray:
        """The overlap after item ``join_index``: equal power, with the low end handed over on a beat."""
        join = self.joins[join_index]
        if not self.config.bass_swap or join is None or join.swap_beat is None:
            return crossfade(outgoing, incoming)
        timing = self.timings[join_index]
        swap_at = self._frames_of_beats(timing, join.swap_beat - join.start_beat)
        return bass_swap_crossfade(outgoing, incoming, swap_at, self.config.sample_rate, self.config.bass_swap_hz)

    def _prepare(
        self, i: int, source_audio: tuple[np.ndarray, int], tail_level: np.ndarray | None
    ) -> tuple[np.ndarray, int, int, int, float]:
        """Item audio with its gain and edge fades applied, plus the overlaps it gets on either side (as
        planned: the plan leaves every item room for both)."""
        cfg = self.config
        last = i == len(self.playlist.items) - 1
        audio, src_first = source_audio
        fade_in = self._fades[i - 1] if i else 0
        fade_out = self._fades[i]
        gain = self._gain(tail_level, audio, fade_in)
        audio = audio * gain_ramp(len(audio), gain, self._ms(cfg.gain_ramp_ms))[:, None]
        if i == 0:
            audio = fade_edge(audio, self._ms(cfg.edge_fade_ms), fade_in=True)
        if last:
            audio = fade_edge(audio, self._ms(cfg.edge_fade_ms), fade_in=False)
        return audio, src_first, fade_in, fade_out, gain

    def _emit(self, piece: np.ndarray, out: _Blocks, master: np.float32) -> Iterator[np.ndarray]:
        piece = soft_limit(piece * master, self.config.limiter_threshold)
        self.frames_out += len(piece)
        if piece.size:
            self.peak = max(self.peak, float(np.max(np.abs(piece))))
        yield from out.add(piece)

    def _place(self, index: int, item: PlaylistItem, src_first: int, length: int, mix_first: int, gain: float) -> None:
        to_ms = 1000.0 / self.config.sample_rate
        self.placements.append(
            Placement(
                index=index,
                chunk_id=item.chunk_id,
                track_id=item.track_id,
                source_path=item.source_path,
                source_start_ms=src_first * to_ms,
                source_end_ms=(src_first + length) * to_ms,
                mix_start_ms=mix_first * to_ms,
                mix_end_ms=(mix_first + length) * to_ms,
                score=item.score,
                gain_db=float(20 * np.log10(gain)),
                mix_bpm=self.timings[index].mix_bpm,
                source_bpm=self.timings[index].source_bpm,
            )
        )


def planned_duration_ms(
    source: MixSource,
    playlist: Playlist,
    config: RenderConfig | None = None,
    grids: Mapping[int, BeatGrid] | None = None,
) -> float:
    """How long ``playlist`` will play once rendered (stretching and beat-length overlaps included)."""
    renderer = Renderer(source, playlist, config, grids)
    try:
        return renderer.planned_frames() * 1000.0 / renderer.config.sample_rate
    finally:
        renderer.close()


def render(
    source: MixSource,
    playlist: Playlist,
    config: RenderConfig | None = None,
    on_progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
    grids: Mapping[int, BeatGrid] | None = None,
) -> Iterator[np.ndarray]:
    """The mix as an iterator of blocks; ``source`` is a Project, an AudioSource or None (read the files)."""
    return Renderer(source, playlist, config, grids).blocks(on_progress, should_stop)
