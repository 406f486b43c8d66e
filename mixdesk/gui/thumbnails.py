"""Per-chunk waveform strips for the pool, computed in background jobs and cached per chunk.

Painting asks for a strip; a missing one queues its track, and one job at a time decodes the queued
tracks at a low rate and cuts every chunk's strip from them. Rows repaint when their strips arrive.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal

from mixdesk.progress import check_stop, report

log = logging.getLogger(__name__)

STRIP_BINS = 48


def envelope_strips(env: Any, ranges: list[tuple[int, int]], bins: int = STRIP_BINS) -> np.ndarray:
    """Loudness strips from a track's cumulative-energy envelope, shape (len(ranges), bins), in [0, 1].

    RMS per bin is mapped from -60..0 dBFS onto 0..1 so quiet passages stay visible.
    """
    if not ranges:
        return np.zeros((0, bins), dtype=np.float32)
    bounds = np.asarray(ranges, dtype=np.float64)
    steps = np.linspace(0.0, 1.0, bins + 1)
    ms = bounds[:, :1] + (bounds[:, 1:2] - bounds[:, :1]) * steps[None, :]
    ms = np.clip(np.round(ms).astype(np.int64), 0, env.duration_ms)
    energy = np.diff(env.cum_energy[ms], axis=1).astype(np.float64)
    frames = np.maximum(np.diff(env.edges[ms], axis=1), 1) * env.channels
    rms = np.sqrt(energy / frames) / 32768.0
    db = 20.0 * np.log10(np.maximum(rms, 1e-6))
    return np.clip((db + 60.0) / 60.0, 0.0, 1.0).astype(np.float32)


def compute_strips(project: Any, track_ids: list[int], on_progress=None, should_stop=None
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
            rows = np.zeros((len(chunks), STRIP_BINS), dtype=np.float32)
        strips.update({chunk.id: row for chunk, row in zip(chunks, rows)})
        report(on_progress, done + 1, len(track_ids), "Drawing waveforms")
    return strips


class ThumbnailCache(QObject):
    """Strips by chunk id; ``ready`` carries the chunk ids that just arrived."""

    ready = Signal(object)

    def __init__(self, state: Any, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self._strips: dict[int, np.ndarray] = {}
        self._pending: set[int] = set()
        self._inflight: set[int] = set()
        self._job = None
        self._generation = 0

    def clear(self) -> None:
        self._generation += 1
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
        generation = self._generation
        job = self._state.jobs.run(
            "Waveforms", lambda on_progress, should_stop: compute_strips(project, track_ids, None, should_stop))
        job.generation = generation
        job.finished.connect(self._arrived)
        job.failed.connect(self._ended)
        job.cancelled.connect(self._ended)
        self._job = job

    def _arrived(self, strips: dict[int, np.ndarray]) -> None:
        if self.sender().generation != self._generation:
            return
        self._strips.update(strips)
        self._job = None
        self._inflight.clear()
        self.ready.emit(list(strips))
        self._start()

    def _ended(self, *_args) -> None:
        if self.sender().generation == self._generation:
            self._job = None
            self._inflight.clear()
