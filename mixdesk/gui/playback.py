"""Playback of sample arrays through QtMultimedia, with a silent clock when no audio output exists.

QtMultimedia needs the system's audio libraries (libpulse on Linux) and an output device; on a build
machine or under the offscreen platform neither may exist. The player then keeps time without sound so
the playhead still moves and the desk stays usable, and says once why it is silent.
"""

from __future__ import annotations

import logging
from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QByteArray, QBuffer, QElapsedTimer, QIODevice, QObject, QTimer, Signal

if TYPE_CHECKING:
    from PySide6.QtMultimedia import QAudioSink

log = logging.getLogger(__name__)

POSITION_INTERVAL_MS = 30


def _load_multimedia() -> tuple[ModuleType | None, str]:
    try:
        from PySide6 import QtMultimedia
    except ImportError:
        log.info("QtMultimedia unavailable", exc_info=True)
        return None, "Audio output unavailable (Qt's multimedia libraries did not load); playing silently."
    if QtMultimedia.QMediaDevices.defaultAudioOutput().isNull():
        return None, "No audio output device; playing silently."
    return QtMultimedia, ""


def to_pcm16(samples: np.ndarray) -> tuple[bytes, int]:
    """Interleaved little-endian int16 bytes and the channel count (at most 2)."""
    data = np.asarray(samples, dtype=np.float32)
    if data.ndim == 1:
        data = data[:, None]
    if data.shape[1] > 2:
        data = data[:, :2]
    pcm = (np.clip(data, -1.0, 1.0) * 32767.0).astype("<i2")
    return pcm.tobytes(), data.shape[1]


class Player(QObject):
    """One voice: play an array, pause/resume, stop; reports position in seconds of the array."""

    position_changed = Signal(float)
    state_changed = Signal(str)  # "playing" | "paused" | "stopped"
    message = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state = "stopped"
        self.label = ""
        self.duration_s = 0.0
        self.sample_rate = 0
        # Where the playing samples sit in a track, so views can draw the playhead at track time.
        self.track_id: int | None = None
        self.start_s = 0.0
        self._multimedia: ModuleType | None = None  # PySide6.QtMultimedia, once it loaded and found a device
        self._probed = False
        self._sink: QAudioSink | None = None
        self._buffer: QBuffer | None = None
        self._clock = QElapsedTimer()
        self._clock_offset_s = 0.0
        self._timer = QTimer(self)
        self._timer.setInterval(POSITION_INTERVAL_MS)
        self._timer.timeout.connect(self._tick)

    @property
    def audio_available(self) -> bool:
        self._probe()
        return self._multimedia is not None

    def _probe(self) -> None:
        if self._probed:
            return
        self._probed = True
        self._multimedia, reason = _load_multimedia()
        if reason:
            log.info(reason)
            self.message.emit(reason)

    def play_samples(
        self, samples: np.ndarray, sample_rate: int, label: str = "", track_id: int | None = None, start_s: float = 0.0
    ) -> None:
        self.stop()
        self._probe()
        frames = int(np.asarray(samples).shape[0])
        self.label, self.sample_rate = label, int(sample_rate)
        self.track_id, self.start_s = track_id, float(start_s)
        self.duration_s = frames / float(sample_rate) if sample_rate else 0.0
        if self._multimedia is not None:
            try:
                self._start_sink(self._multimedia, samples, sample_rate)
            except Exception:  # noqa: BLE001 - a broken device must not take the desk down
                log.exception("audio output failed")
                self.message.emit("The audio device failed to start; playing silently.")
                self._multimedia, self._sink = None, None
        self._clock_offset_s = 0.0
        self._clock.start()
        self._set_state("playing")
        self._timer.start()
        if label:
            self.message.emit(f"Playing {label}")

    def _start_sink(self, mm: ModuleType, samples: np.ndarray, sample_rate: int) -> None:
        pcm, channels = to_pcm16(samples)
        fmt = mm.QAudioFormat()
        fmt.setSampleRate(int(sample_rate))
        fmt.setChannelCount(channels)
        fmt.setSampleFormat(mm.QAudioFormat.SampleFormat.Int16)
        self._buffer = QBuffer(self)
        self._buffer.setData(QByteArray(pcm))
        self._buffer.open(QIODevice.OpenModeFlag.ReadOnly)
        sink = self._sink = mm.QAudioSink(mm.QMediaDevices.defaultAudioOutput(), fmt, self)
        sink.start(self._buffer)
        if sink.error().name != "NoError":
            raise OSError(f"audio output error {sink.error().name}")

    def _check_sink(self) -> None:
        # Polled from the position timer: PySide cannot deliver QAudioSink.stateChanged's argument.
        sink = self._sink
        if sink is not None and sink.error().name not in ("NoError", "UnderrunError"):
            log.warning("audio output reported %s", sink.error())
            self.message.emit(f"Audio output problem ({sink.error().name}); playing on silently.")
            sink.stop()
            self._sink = None

    def position_s(self) -> float:
        # The wall clock, not the sink's processed time: some servers (a null sink, a suspended device)
        # report no progress, and the playhead must move the same with or without sound.
        if self.state == "stopped":
            return 0.0
        running = self._clock.elapsed() / 1000.0 if self.state == "playing" else 0.0
        return min(self.duration_s, self._clock_offset_s + running)

    def pause(self) -> None:
        if self.state != "playing":
            return
        self._clock_offset_s = self.position_s()
        if self._sink is not None:
            self._sink.suspend()
        self._timer.stop()
        self._set_state("paused")

    def resume(self) -> None:
        if self.state != "paused":
            return
        if self._sink is not None:
            self._sink.resume()
        self._clock.start()
        self._timer.start()
        self._set_state("playing")

    def toggle(self) -> None:
        if self.state == "playing":
            self.pause()
        elif self.state == "paused":
            self.resume()

    def stop(self) -> None:
        self._timer.stop()
        if self._sink is not None:
            self._sink.stop()
            self._sink.deleteLater()
            self._sink = None
        if self._buffer is not None:
            self._buffer.close()
            self._buffer.deleteLater()
            self._buffer = None
        if self.state != "stopped":
            self._set_state("stopped")
            self.position_changed.emit(0.0)

    def _tick(self) -> None:
        self._check_sink()
        position = self.position_s()
        self.position_changed.emit(position)
        if position >= self.duration_s:
            self.stop()

    def _set_state(self, state: str) -> None:
        self.state = state
        self.state_changed.emit(state)
