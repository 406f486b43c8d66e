"""The desk's shared state: what is open and selected, announced through signals every panel listens to.

Panels are built as ``Panel(state, parent=None)``, read what they need from the state, and change it only
through the setters, so every other panel hears about the change.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from typing import Any

from PySide6.QtCore import QObject, QSettings, Signal

from mixdesk.gui.jobs import JobRunner
from mixdesk.gui.playback import Player

log = logging.getLogger(__name__)


def default_settings() -> QSettings:
    """The user's desk settings; with MIXDESK_HOME set they live there, so a scripted run stays private."""
    if os.environ.get("MIXDESK_HOME"):
        from mixdesk import paths

        return QSettings(str(paths.data_dir() / "desk.ini"), QSettings.Format.IniFormat)
    return QSettings("mixdesk", "mixdesk")


class DeskState(QObject):
    project_changed = Signal()
    chunks_changed = Signal()
    track_selected = Signal(int)
    chunk_selected = Signal(int)
    playlist_changed = Signal()
    playlist_item_selected = Signal(int)  # row index, -1 when nothing is selected
    scorer_changed = Signal()
    status = Signal(str)
    # A re-cut being tuned but not applied yet: (track_id, [(start_ms, end_ms), ...]) or (track_id, None).
    cut_preview = Signal(int, object)

    def __init__(self, settings: QSettings | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.settings = settings if settings is not None else default_settings()
        self.project: Any = None
        self.playlist: Any = None
        self.scorer: Any = None
        self.selected_track: int = -1
        self.selected_chunk: int = -1
        self.selected_playlist_item: int = -1
        self.jobs = JobRunner(self)
        self.player = Player(self)
        self.player.message.connect(self.status)

    def set_project(self, project: Any) -> None:
        """Open ``project`` (or None); the playlist, scorer and selection belong to the old one and go."""
        self.project = project
        self.playlist = None
        self.scorer = None
        self.selected_track = self.selected_chunk = self.selected_playlist_item = -1
        self.project_changed.emit()
        self.chunks_changed.emit()
        self.playlist_changed.emit()
        self.scorer_changed.emit()

    def set_playlist(self, playlist: Any) -> None:
        self.playlist = playlist
        self.playlist_changed.emit()

    def set_scorer(self, scorer: Any) -> None:
        self.scorer = scorer
        self.scorer_changed.emit()

    def select_track(self, track_id: int) -> None:
        if track_id == self.selected_track:
            return
        self.selected_track = int(track_id)
        self.track_selected.emit(self.selected_track)

    def select_chunk(self, chunk_id: int) -> None:
        """Select a chunk; its track becomes the selected track first, so views can show both."""
        if chunk_id == self.selected_chunk:
            return
        if chunk_id >= 0 and self.project is not None:
            try:
                self.select_track(self.project.chunk(chunk_id).track_id)
            except KeyError:
                # A chunk id from before a re-cut: nothing to show, and the old selection is gone too.
                chunk_id = -1
        self.selected_chunk = int(chunk_id)
        self.chunk_selected.emit(self.selected_chunk)

    def select_playlist_item(self, row: int) -> None:
        self.selected_playlist_item = int(row)
        self.playlist_item_selected.emit(self.selected_playlist_item)

    def notify_chunks_changed(self) -> None:
        """Call after an import or a re-cut changed tracks or chunks on disk.

        The open playlist follows its audio onto the new chunks first, so no panel that hears about the
        change reads chunk ids that are gone.
        """
        self.selected_chunk = -1
        remapped = self._remap_playlist()
        self.chunks_changed.emit()
        if remapped is not None:
            self.playlist_changed.emit()
            if remapped.summary():
                self.show_status(f"Re-cut: {remapped.summary()}")

    def _remap_playlist(self) -> Any:
        """Move the playlist's items off chunks a re-cut removed; the remap, or None when nothing changed."""
        if self.project is None or self.playlist is None:
            return None
        from mixdesk.mix.remap import remap_playlist

        remapped = remap_playlist(self.playlist, self.project.chunks())
        if not remapped.changed and not remapped.gone:
            return None
        self.playlist = remapped.playlist
        if remapped.changed and not getattr(self.project, "read_only", False):
            try:
                self.playlist.save(self.project)
            except (OSError, sqlite3.Error) as exc:
                log.warning("could not save the playlist after a re-cut: %s", exc)
        return remapped

    def show_status(self, message: str) -> None:
        self.status.emit(message)
