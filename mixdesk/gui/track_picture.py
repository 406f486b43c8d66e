"""What the track view draws, computed off the GUI thread: display-rate mono samples and a log-mel image."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from mixdesk.gui.spectrum import HOP, N_MELS, log_mel
from mixdesk.progress import check_stop, report

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


def load_track_picture(project: Any, track_id: int, on_progress=None, should_stop=None) -> TrackPicture:
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
    return TrackPicture(track_id, track.title or _stem(track.path), spectrum_audio.duration_s, DISPLAY_RATE,
                        display.astype(np.float32), mel, SPECTRUM_RATE, HOP)


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


N_MEL_BANDS = N_MELS
