"""Per-chunk waveform strips for the pool, computed in background jobs and cached per chunk.

Painting asks for a strip; a missing one queues its track, and one job at a time decodes the queued
tracks at a low rate and cuts every chunk's strip from them. Rows repaint when their strips arrive.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QObject, Signal

from mixdesk.gui.jobs import Job
from mixdesk.progress import ProgressFn, StopFn, check_stop, report

if TYPE_CHECKING:
    from mixdesk.gui.state import DeskState
    from mixdesk.core.chunking import Envelope
    from mixdesk.library.project import Project

log = logging.getLogger(__name__)

# About a bin per pixel of the pool's waveform column: at 48 a bin spans 160 ms of a 7.7 s chunk, longer
# than the gap between a kick and the next off-beat, and the beat pattern averages out.
STRIP_BINS = 96
STRIP_LAYERS = 2  # RMS body and the peak above it, per bin
# The track's loudest milliseconds after this share of them is ignored (a click must not set the scale).
REFERENCE_QUANTILE = 0.999
# Heights are amplitude to this power: below 1 a passage 30 dB down stays more than a hairline; at 0.5 and
# lower the beats of loud music merge into a bar again.
HEIGHT_EXPONENT = 0.75


def ms_levels(env: Envelope) -> np.ndarray:
    """RMS of every millisecond of the track as a fraction of full scale."""
    energy = np.diff(env.cum_energy).astype(np.float64)
    frames = np.maximum(np.diff(env.edges), 1) * env.channels
    return np.sqrt(energy / frames) / 32768.0


def envelope_strips(env: Envelope, ranges: list[tuple[int, int]], bins: int = STRIP_BINS) -> np.ndarray:
    """Waveform strips from a track's envelope, shape (len(ranges), bins, 2): per bin the RMS level and
    the peak level (its loudest millisecond), as amplitude relative to the track's loudest moments
    (1), compressed by ``HEIGHT_EXPONENT``.

    A decibel scale squeezes mastered music into the top few percent of the height, a flat bar; amplitude
    relative to the track's own loudest moments keeps beats, breaks and fades readable at any loudness.
    """
    if not ranges:
        return np.zeros((0, bins, STRIP_LAYERS), dtype=np.float32)
    levels = ms_levels(env)
    reference = float(np.quantile(levels, REFERENCE_QUANTILE)) if levels.size else 0.0
    reference = max(reference, 1e-4)
    bounds = np.asarray(ranges, dtype=np.float64)
    steps = np.linspace(0.0, 1.0, bins + 1)
    ms = bounds[:, :1] + (bounds[:, 1:2] - bounds[:, :1]) * steps[None, :]
    ms = np.clip(np.round(ms).astype(np.int64), 0, env.duration_ms)
    energy = np.diff(env.cum_energy[ms], axis=1).astype(np.float64)
    frames = np.maximum(np.diff(env.edges[ms], axis=1), 1) * env.channels
    rms = np.sqrt(energy / frames) / 32768.0
    peaks = np.zeros_like(rms)
    for row, edges in enumerate(ms):
        first, last = int(edges[0]), max(int(edges[-1]), int(edges[0]) + 1)
        span = levels[first : min(last, levels.size)]
        if span.size:
            # A bin narrower than a millisecond repeats a start: reduceat then gives that millisecond.
            starts = np.minimum(edges[:-1] - first, span.size - 1)
            peaks[row] = np.maximum.reduceat(span, starts)
    out = np.clip(np.stack([rms, np.maximum(peaks, rms)], axis=-1) / reference, 0.0, 1.0)
    return (out**HEIGHT_EXPONENT).astype(np.float32)


def compute_strips(
    project: Project,
    track_ids: list[int],
    on_progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
) -> dict[int, np.ndarray]:
    """Strips for every chunk of ``track_ids``; a track without an envelope gets flat strips."""
    strips: dict[int, np.ndarray] = {}
    for done, track_id in enumerate(track_ids):
        check_stop(should_stop)
        chunks = project.chunks(track_id)
        try:
            rows = envelope_strips(project.envelope(track_id), [(c.start_ms, c.end_ms) for c in chunks])
        except Exception:  # noqa: BLE001 - a broken file still gets a row, just without a picture
            log.warning("no waveform for track %s", track_id, exc_info=True)
            rows = np.zeros((len(chunks), STRIP_BINS, STRIP_LAYERS), dtype=np.float32)
        strips.update({chunk.id: row for chunk, row in zip(chunks, rows)})
        report(on_progress, done + 1, len(track_ids), "Drawing waveforms")
    return strips


class ThumbnailCache(QObject):
    """Strips by chunk id; ``ready`` carries the chunk ids that just arrived."""

    ready = Signal(object)

    def __init__(self, state: DeskState, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self._strips: dict[int, np.ndarray] = {}
        self._pending: set[int] = set()
        self._inflight: set[int] = set()
        self._job: Job | None = None  # the one job whose strips are still wanted

    def clear(self) -> None:
        self._strips.clear()
        self._pending.clear()
        self._inflight.clear()
        if self._job is not None:
            self._job.stop()
            self._job = None

    def strip(self, chunk_id: int, track_id: int) -> np.ndarray | None:
        strip = self._strips.get(chunk_id)
        if strip is None and track_id >= 0 and track_id not in self._inflight:
            self._pending.add(track_id)
            if self._job is None:
                self._start()
        return strip

    def __len__(self) -> int:
        return len(self._strips)

    def _start(self) -> None:
        project = self._state.project
        if project is None or not self._pending:
            return
        track_ids = sorted(self._pending)
        self._inflight = set(track_ids)
        self._pending.clear()
        job = self._state.jobs.run(
            "Waveforms", lambda on_progress, should_stop: compute_strips(project, track_ids, None, should_stop)
        )
        job.finished.connect(self._arrived)
        job.failed.connect(self._ended)
        job.cancelled.connect(self._ended)
        self._job = job

    def _arrived(self, strips: dict[int, np.ndarray]) -> None:
        if self.sender() is not self._job:
            return  # from before a clear(): the chunks it drew may be gone
        self._strips.update(strips)
        self._job = None
        self._inflight.clear()
        self.ready.emit(list(strips))
        self._start()

    def _ended(self, *_args: object) -> None:
        if self.sender() is self._job:
            self._job = None
            self._inflight.clear()
