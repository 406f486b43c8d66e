"""Where a renderer gets item audio: a project's decode cache, or the source files themselves."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import OrderedDict
from math import gcd
from typing import Mapping

import numpy as np
import soundfile as sf

from mixdesk.core.beatgrid import BeatGrid
from mixdesk.library.project import Project
from mixdesk.mix.playlist import PlaylistItem


class AudioSource(ABC):
    """Where a renderer reads item audio. Subclasses implement ``frames``; a source that knows its tracks'
    beat grids, or holds files open, overrides ``beat_grids`` or ``close``."""

    sample_rate: int
    channels: int

    @abstractmethod
    def frames(self, item: PlaylistItem, start: int, stop: int) -> np.ndarray:
        """Frames [start, stop) of the item's source at ``sample_rate``; outside the file reads as silence."""

    def beat_grids(self) -> Mapping[int, BeatGrid]:
        """Track id -> beat grid, for the renderer's beat-synchronous joins (none by default)."""
        return {}

    def close(self) -> None:
        """Release what the source holds open (nothing by default)."""


def _fit(samples: np.ndarray, start: int, stop: int, channels: int) -> np.ndarray:
    """Slice with silence padding beyond either end and the requested channel count."""
    if samples.ndim == 1:
        samples = samples[:, None]
    n = len(samples)
    out = np.zeros((max(0, stop - start), channels), dtype=np.float32)
    lo, hi = max(start, 0), min(stop, n)
    if hi > lo:
        piece = samples[lo:hi]
        if piece.shape[1] != channels:
            piece = (
                np.repeat(piece[:, :1], channels, axis=1) if piece.shape[1] == 1 else piece.mean(axis=1, keepdims=True)
            )
        out[lo - start : hi - start] = piece
    return out


class _SegmentReader(AudioSource):
    """Reads just the frames an item needs, seeking in the source file, so a long mix never decodes a
    whole track per item; a file libsndfile cannot open is decoded whole by ``_whole`` instead."""

    _MARGIN = 256  # source frames either side that absorb the resampling filter's edge effects

    def __init__(self, sample_rate: int, channels: int, open_files: int = 8) -> None:
        self.sample_rate = sample_rate
        self.channels = channels
        self.open_files = open_files
        self._files: OrderedDict[str, sf.SoundFile | None] = OrderedDict()

    def _path(self, item: PlaylistItem) -> str:
        return item.source_path

    def _whole(self, item: PlaylistItem) -> np.ndarray:
        from mixdesk.core.audio import decode

        return decode(self._path(item), sample_rate=self.sample_rate).samples

    def _open(self, path: str) -> sf.SoundFile | None:
        if path in self._files:
            self._files.move_to_end(path)
            return self._files[path]
        try:
            handle: sf.SoundFile | None = sf.SoundFile(path)
        except (sf.LibsndfileError, RuntimeError, OSError):
            handle = None
        self._files[path] = handle
        while len(self._files) > self.open_files:
            _, old = self._files.popitem(last=False)
            if old is not None:
                old.close()
        return handle

    def frames(self, item: PlaylistItem, start: int, stop: int) -> np.ndarray:
        handle = self._open(self._path(item))
        if handle is None:
            return _fit(self._whole(item), start, stop, self.channels)
        rate = handle.samplerate
        if rate == self.sample_rate:
            return _fit(_read(handle, start, stop), 0, stop - start, self.channels)
        # start on a source frame that maps onto a whole output frame, so that the segment's samples
        # fall on exactly the instants a whole-track resampling would produce
        step = rate // gcd(rate, self.sample_rate)
        first = (int(np.floor(start * rate / self.sample_rate)) - self._MARGIN) // step * step
        last = int(np.ceil(stop * rate / self.sample_rate)) + self._MARGIN
        from mixdesk.core.audio import resample

        piece = resample(_read(handle, first, last), rate, self.sample_rate)
        offset = first * self.sample_rate // rate
        return _fit(piece, start - offset, stop - offset, self.channels)

    def close(self) -> None:
        for handle in self._files.values():
            if handle is not None:
                handle.close()
        self._files.clear()


def _read(handle: sf.SoundFile, start: int, stop: int) -> np.ndarray:
    """Frames [start, stop) with silence where the range runs past either end of the file."""
    lo, hi = max(0, start), min(stop, handle.frames)
    out = np.zeros((max(0, stop - start), handle.channels), dtype=np.float32)
    if hi > lo:
        handle.seek(lo)
        data = handle.read(hi - lo, dtype="float32", always_2d=True)
        out[lo - start : lo - start + len(data)] = data
    return out


class ProjectSource(_SegmentReader):
    """Reads a project's tracks by their recorded paths; formats libsndfile cannot seek in go through the
    project's decode cache."""

    def __init__(self, project: Project, sample_rate: int = 44100, channels: int = 2) -> None:
        super().__init__(sample_rate, channels)
        self.project = project
        self._paths: dict[int, str] = {}

    def _path(self, item: PlaylistItem) -> str:
        if item.track_id not in self._paths:
            self._paths[item.track_id] = str(self.project.track(item.track_id).path)
        return self._paths[item.track_id]

    def _whole(self, item: PlaylistItem) -> np.ndarray:
        return self.project.track_audio(item.track_id, sample_rate=self.sample_rate).samples

    def beat_grids(self) -> Mapping[int, BeatGrid]:
        return self.project.beat_grids()


class FileSource(_SegmentReader):
    """Reads the files named by the items themselves (no project needed)."""

    def __init__(self, sample_rate: int = 44100, channels: int = 2) -> None:
        super().__init__(sample_rate, channels)


class ArraySource(AudioSource):
    """Tracks already in memory, keyed by track id (synthesised material, previews)."""

    def __init__(self, tracks: dict[int, np.ndarray], sample_rate: int = 44100, channels: int = 2) -> None:
        self.tracks = tracks
        self.sample_rate = sample_rate
        self.channels = channels

    def frames(self, item: PlaylistItem, start: int, stop: int) -> np.ndarray:
        return _fit(self.tracks[item.track_id], start, stop, self.channels)


# What a mix is rendered from: a project (its files, decode cache and beat grids), any AudioSource, or None
# for the files the playlist names.
MixSource = Project | AudioSource | None


def as_source(obj: MixSource, sample_rate: int = 44100, channels: int = 2) -> AudioSource:
    """A project becomes a ProjectSource; None reads the files named in the playlist; a source stays."""
    if obj is None:
        return FileSource(sample_rate, channels)
    if isinstance(obj, AudioSource):
        return obj
    return ProjectSource(obj, sample_rate, channels)
