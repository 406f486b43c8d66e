"""Joining playlist items into one signal, block by block.

Only the current item, the held-back tail of the previous one and one output block are in memory at a
time, so a two-hour mix needs no more memory than a ten-minute one. Items whose track has a beat grid are
time-stretched to their mix tempo (pitch kept) and joined on the beat (see :mod:`mixdesk.mix.beatsync`);
the others are cut on zero crossings. Every join is an equal-power overlap (a few milliseconds long for a
"cut"), optionally with a bass swap, so no seam steps the waveform.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Iterator, Mapping

import numpy as np

from mixdesk.core.beatgrid import BeatGrid
from mixdesk.mix.beatsync import ItemTiming, Join, item_timing, plan_join, wanted_beats
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


def ms_join_limit(a: PlaylistItem, b: PlaylistItem, config: RenderConfig) -> float:
    """The longest overlap (ms) of a join on milliseconds: half the shorter item, less the room the
    zero-crossing search needs at either end."""
    return max(0.0, (min(a.duration_ms, b.duration_ms) - 2 * config.zero_cross_ms) / 2)


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
        self._fades = self._plan_fades()

    def _ms(self, ms: float) -> int:
        return int(round(ms * self.config.sample_rate / 1000))

    def _frames_of_beats(self, timing: ItemTiming, beats: float) -> int:
        return int(round(beats * timing.beat_s * self.config.sample_rate))

    def _plan_fades(self) -> list[int]:
        """Overlap in frames after each item, never more than half of either neighbour."""
        items = self.playlist.items
        cut = self._ms(self.config.cut_fade_ms)
        fades = []
        self.joins = []
        for (a, b), (ta, tb) in zip(zip(items, items[1:]), zip(self.timings, self.timings[1:])):
            join = plan_join(ta, tb, wanted_beats(a, ta))
            self.joins.append(join)
            if join is not None:
                # the outgoing item runs ``cut`` frames past its end (see _stretched), so even a cut gets
                # a short fade without moving the incoming item off the beat
                fades.append(self._frames_of_beats(ta, join.overlap_beats) + cut)
                continue
            wanted = a.transition.length_ms if a.transition.kind == "crossfade" else self.config.cut_fade_ms
            fades.append(max(0, min(self._ms(wanted), self._ms(ms_join_limit(a, b, self.config)))))
        self.joins.append(None)
        return fades + [0]

    @property
    def duration_s(self) -> float:
        return self.frames_out / self.config.sample_rate

    def planned_frames(self) -> int:
        """The mix's length from the plan alone, before any audio is read: exact for items joined on
        the beat, within the zero-crossing search (a few ms) for the others."""
        total = sum(
            self._synced_frames(i) if timing.synced else self._ms(item.duration_ms)
            for i, (item, timing) in enumerate(zip(self.playlist.items, self.timings))
        )
        return max(0, total - sum(self._fades))

    def _synced_frames(self, index: int) -> int:
        """Length of a beat-synchronous item in the mix: its beats at the mix tempo, plus the
        ``cut_fade_ms`` it keeps past its end when the next item joins it on the beat."""
        timing = self.timings[index]
        extra = self._ms(self.config.cut_fade_ms) if self.joins[index] is not None else 0
        return self._frames_of_beats(timing, timing.beats) + extra

    def _stretched(self, index: int, item: PlaylistItem, timing: ItemTiming) -> tuple[np.ndarray, int]:
        """The item at its mix tempo, exactly ``beats`` mix beats long, and its first source frame.

        The stretcher reads a little audio either side of the item so that its first and last frames are
        as clean as the middle; the margins are trimmed off after stretching. An item joined on the beat
        to the next keeps ``cut_fade_ms`` of audio past its end for the fade into it.
        """
        margin = self._ms(self.config.stretch_margin_ms)
        start, stop = self._ms(item.in_ms), self._ms(item.out_ms)
        raw = self.source.frames(item, start - margin, stop + margin)
        played = stretch(raw, self.config.sample_rate, timing.ratio, self.config.stretch_quality)
        first = int(round(margin / timing.ratio))
        length = self._synced_frames(index)
        audio = played[first : first + length]
        if len(audio) < length:
            audio = np.concatenate([audio, np.zeros((length - len(audio), audio.shape[1]), np.float32)])
        return audio, start

    def _excerpt(self, item: PlaylistItem) -> tuple[np.ndarray, int]:
        """The item's audio between zero crossings near its in and out points, and its first frame."""
        radius = self._ms(self.config.zero_cross_ms)
        start, stop = self._ms(item.in_ms), self._ms(item.out_ms)
        raw = self.source.frames(item, start - radius, stop + radius)
        first = max(nearest_zero_crossing(raw, radius, radius), radius - start)  # never before the file
        last = nearest_zero_crossing(raw, len(raw) - radius, radius)
        if last - first < 2:
            first, last = radius, len(raw) - radius
        return raw[first:last], start - radius + first

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
        return self._stretched(i, item, timing) if timing.synced else self._excerpt(item)

    def _mix_item(
        self, i: int, item: PlaylistItem, source_audio: tuple[np.ndarray, int], out: _Blocks, master: np.float32
    ) -> Iterator[np.ndarray]:
        """Hand out what item ``i`` completes: the previous item's tail, their overlap, and its body; its
        own tail is held back for the next overlap."""
        tail = self._tail
        audio, src_first, fade_in, fade_out, gain = self._prepare(i, source_audio, tail, self._tail_level)
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
        self, i: int, source_audio: tuple[np.ndarray, int], tail: np.ndarray | None, tail_level: np.ndarray | None
    ) -> tuple[np.ndarray, int, int, int, float]:
        """Item audio with its gain and edge fades applied, plus the overlaps it gets on either side."""
        cfg = self.config
        last = i == len(self.playlist.items) - 1
        audio, src_first = source_audio
        fade_in = min(self._fades[i - 1] if i else 0, len(audio) // 2, len(tail) if tail is not None else 0)
        fade_out = 0 if last else min(self._fades[i], (len(audio) - fade_in) // 2)
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
