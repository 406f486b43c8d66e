"""What the track view draws, computed off the GUI thread: display-rate mono samples and a log-mel image."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from mixdesk.gui.spectrum import HOP, N_MELS, log_mel
from mixdesk.progress import ProgressFn, StopFn, check_stop, report

if TYPE_CHECKING:
    from mixdesk.core.beatgrid import BeatGrid
    from mixdesk.library.project import Project

DISPLAY_RATE = 11025
SPECTRUM_RATE = 22050


@dataclass(frozen=True)
class TrackPicture:
    track_id: int
    title: str
    duration_s: float
    display_rate: int
    mono: np.ndarray  # float32 at display_rate
    mel_db: np.ndarray  # (frames, n_mels) float32
    mel_rate: int  # sample rate the mel image was computed at
    hop: int

    @property
    def mel_frame_s(self) -> float:
        return self.hop / float(self.mel_rate)


def load_track_picture(
    project: Project, track_id: int, on_progress: ProgressFn | None = None, should_stop: StopFn | None = None
) -> TrackPicture:
    track = project.track(track_id)
    report(on_progress, 0, 3, f"Loading {track.title or track.path}")
    spectrum_audio = project.track_audio(track_id, sample_rate=SPECTRUM_RATE, mono=True)
    check_stop(should_stop)
    report(on_progress, 1, 3, "Spectrogram")
    mel = log_mel(spectrum_audio.mono(), SPECTRUM_RATE, block_frames=512, should_stop=should_stop)
    check_stop(should_stop)
    report(on_progress, 2, 3, "Waveform")
    # Halving the spectrum rate by pairs keeps the peaks that matter for a picture without a second decode.
    mono = spectrum_audio.mono()
    pairs = mono[: mono.size - mono.size % 2].reshape(-1, 2)
    display = np.where(np.abs(pairs[:, 0]) >= np.abs(pairs[:, 1]), pairs[:, 0], pairs[:, 1])
    report(on_progress, 3, 3, "Ready")
    return TrackPicture(
        track_id,
        track.title or _stem(track.path),
        spectrum_audio.duration_s,
        DISPLAY_RATE,
        display.astype(np.float32),
        mel,
        SPECTRUM_RATE,
        HOP,
    )


def _stem(path: str) -> str:
    return str(path).replace("\\", "/").rsplit("/", 1)[-1].rsplit(".", 1)[0]


def boundary_segments(ranges, low: float, high: float) -> tuple[np.ndarray, np.ndarray]:
    """x/y arrays for one ``connect='pairs'`` curve with a vertical line at every chunk start and end."""
    if not ranges:
        return np.zeros(0), np.zeros(0)
    edges = np.unique(np.asarray(ranges, dtype=np.float64).ravel()) / 1000.0
    xs = np.repeat(edges, 2)
    ys = np.tile(np.array([low, high], dtype=np.float64), edges.size)
    return xs, ys


def uncovered_spans(ranges, duration_ms: float, min_ms: float = 1.0) -> list[tuple[float, float]]:
    """Stretches of [0, duration_ms] that no range covers (longer than ``min_ms``), in order."""
    spans, covered_to = [], 0.0
    for start, end in sorted(ranges):
        if start - covered_to > min_ms:
            spans.append((covered_to, float(start)))
        covered_to = max(covered_to, float(end))
    if duration_ms - covered_to > min_ms:
        spans.append((covered_to, float(duration_ms)))
    return spans


@dataclass(frozen=True)
class GridMarks:
    """What of a beat grid to draw in a view: beat ticks, bar lines and numbered bars (times in s)."""

    beats: np.ndarray
    bars: np.ndarray
    label_times: np.ndarray
    label_numbers: np.ndarray  # 1 for the first downbeat of the track


def _every(spacing_px: float, min_px: float) -> int:
    """Smallest power of two n such that every n-th mark is at least ``min_px`` apart."""
    n = 1
    while spacing_px * n < min_px and n < 1 << 20:
        n *= 2
    return n


def grid_marks(
    grid: BeatGrid | None, start_s: float, end_s: float, px_per_s: float, min_tick_px: float, min_label_px: float
) -> GridMarks:
    """The grid's marks inside [start_s, end_s]: beats only where they are ``min_tick_px`` apart, every
    n-th bar (n a power of two) so bar lines keep that room too, and bar numbers ``min_label_px`` apart."""
    empty = np.zeros(0)
    if grid is None or not grid.usable or end_s <= start_s:
        return GridMarks(empty, empty, empty, empty)
    beat_px = px_per_s * 60.0 / grid.bpm
    downbeats = grid.downbeats
    first, last = np.searchsorted(downbeats, [start_s, end_s])
    bar_every = _every(beat_px * grid.beats_per_bar, min_tick_px)
    index = np.arange(first, last)
    bars_shown = index[index % bar_every == 0]
    label_every = max(bar_every, _every(beat_px * grid.beats_per_bar, min_label_px))
    labelled = index[index % label_every == 0]
    beats = empty
    if beat_px >= min_tick_px:
        beats = grid.beats_between(start_s, end_s)
        if downbeats.size:
            # a downbeat gets its bar line instead of a tick
            beats = beats[~np.isin(np.round(beats, 4), np.round(downbeats, 4))]
    return GridMarks(beats, downbeats[bars_shown], downbeats[labelled], labelled + 1.0)


N_MEL_BANDS = N_MELS
