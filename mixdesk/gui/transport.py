"""Transport bar: play, pause and stop the selected chunk, with the time and a progress bar."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QSizePolicy, QStyle, QToolButton, QWidget

from mixdesk.gui.jobs import Job
from mixdesk.gui.mix_playback import MixExcerpt, render_from
from mixdesk.gui.pool_model import format_time
from mixdesk.gui.state import DeskState

if TYPE_CHECKING:
    from mixdesk.library.project import Project
    from mixdesk.library.schema import Chunk, Track

ChunkSound = tuple["Chunk", np.ndarray, int, str]  # the chunk, its samples, their rate, what to call it


class Transport(QWidget):
    def __init__(self, state: DeskState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("transport")
        self.state = state
        self.player = state.player
        self._loading: Job | None = None
        style = self.style()
        self.play_button = self._button(
            style.standardIcon(QStyle.StandardPixmap.SP_MediaPlay), "Play selected chunk", self.play_pause
        )
        self.stop_button = self._button(style.standardIcon(QStyle.StandardPixmap.SP_MediaStop), "Stop", self.stop)
        self.mix_button = self._button(
            style.standardIcon(QStyle.StandardPixmap.SP_MediaSeekForward),
            "Play the mix from the selected playlist item",
            self.play_mix,
        )
        self.mix_button.setObjectName("playMix")
        self.excerpt: MixExcerpt | None = None
        self.now_playing = QLabel("Nothing playing")
        self.now_playing.setObjectName("nowPlaying")
        self.time = QLabel("0:00.0 / 0:00.0")
        self.time.setObjectName("transportTime")
        self.position = QProgressBar()
        self.position.setTextVisible(False)
        self.position.setRange(0, 1000)
        self.position.setMaximumHeight(8)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 2, 6, 2)
        layout.addWidget(self.play_button)
        layout.addWidget(self.stop_button)
        layout.addWidget(self.mix_button)
        layout.addWidget(self.now_playing, 1)
        layout.addWidget(self.position, 2)
        layout.addWidget(self.time)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self.player.position_changed.connect(self._position)
        self.player.position_changed.connect(self._follow_mix)
        self.player.state_changed.connect(self._state)

    def _button(self, icon: QIcon, tip: str, slot: Callable[[], None]) -> QToolButton:
        button = QToolButton(self)
        button.setIcon(icon)
        button.setToolTip(tip)
        button.setAutoRaise(True)
        button.clicked.connect(slot)
        return button

    def play_pause(self) -> None:
        if self.player.state in ("playing", "paused"):
            self.player.toggle()
        else:
            self.play_chunk(self.state.selected_chunk)

    def play_chunk(self, chunk_id: int) -> None:
        project = self.state.project
        if project is None or chunk_id < 0:
            self.state.show_status("Select a chunk to play.")
            return
        if self._loading is not None:
            self._loading.stop()
        job = self.state.jobs.run("Loading audio", lambda on_progress, should_stop: _chunk_samples(project, chunk_id))
        job.finished.connect(self._loaded)
        self._loading = job

    def _loaded(self, result: ChunkSound) -> None:
        self._loading = None
        self.excerpt = None
        chunk, samples, rate, title = result
        label = f"{title} · chunk {chunk.index + 1}"
        self.player.play_samples(samples, rate, label, track_id=chunk.track_id, start_s=chunk.start_ms / 1000.0)

    def play_mix(self) -> None:
        """Render up to ten minutes of the playlist from the selected item and play it, following along."""
        state = self.state
        project, playlist = state.project, state.playlist
        if project is None or playlist is None or not len(playlist):
            state.show_status("Generate a playlist to play the mix.")
            return
        row = max(0, state.selected_playlist_item)
        if self._loading is not None:
            self._loading.stop()
        job = state.jobs.run(
            "Rendering the mix",
            lambda on_progress, should_stop: render_from(project, playlist, row, on_progress, should_stop),
        )
        job.finished.connect(self._mix_ready)
        self._loading = job

    def _mix_ready(self, excerpt: MixExcerpt) -> None:
        self._loading = None
        self.excerpt = excerpt
        self.player.play_samples(excerpt.samples, excerpt.sample_rate, f"Mix from item {excerpt.first_row + 1}")

    def _follow_mix(self, seconds: float) -> None:
        excerpt = self.excerpt
        if excerpt is None or self.player.track_id is not None or self.player.state != "playing":
            return
        row = excerpt.row_at(seconds)
        if row != self.state.selected_playlist_item:
            self.state.select_playlist_item(row)

    def stop(self) -> None:
        self.player.stop()

    def _position(self, seconds: float) -> None:
        total = self.player.duration_s
        self.time.setText(f"{format_time(seconds * 1000)} / {format_time(total * 1000)}")
        self.position.setValue(int(1000 * seconds / total) if total > 0 else 0)

    def _state(self, state: str) -> None:
        style = self.style()
        playing = state == "playing"
        icon = QStyle.StandardPixmap.SP_MediaPause if playing else QStyle.StandardPixmap.SP_MediaPlay
        self.play_button.setIcon(style.standardIcon(icon))
        self.now_playing.setText(self.player.label if state != "stopped" else "Nothing playing")
        self.now_playing.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)


def track_label(track: Track) -> str:
    """How a playing track is named: "Title - Artist" from its tags, the title alone, else its file name."""
    title, artist = (track.title or "").strip(), (track.artist or "").strip()
    if title:
        return f"{title} - {artist}" if artist else title
    return Path(track.path).name


def _chunk_samples(project: Project, chunk_id: int) -> ChunkSound:
    chunk = project.chunk(chunk_id)
    track = project.track(chunk.track_id)
    rate = project.track_audio(chunk.track_id).sample_rate
    samples = project.chunk_audio(chunk)
    return chunk, samples, rate, track_label(track)
