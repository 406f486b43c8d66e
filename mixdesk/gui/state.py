"""The desk's shared state: what is open and selected, announced through signals every panel listens to.

Panels are built as ``Panel(state, parent=None)``, read what they need from the state, and change it only
through the setters, so every other panel hears about the change. A user's edit of the playlist goes
through :meth:`DeskState.edit_playlist` and a re-cut ends in :meth:`DeskState.notify_recut`: both become
steps on ``undo_stack``, while loading a playlist (:meth:`DeskState.set_playlist`) does not.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from typing import TYPE_CHECKING, Hashable

from PySide6.QtCore import QObject, QSettings, Signal
from PySide6.QtGui import QUndoStack

from mixdesk.gui.jobs import JobRunner, user_message
from mixdesk.gui.playback import Player
from mixdesk.gui.undo import UNDO_LIMIT, PlaylistStep, RecutStep

if TYPE_CHECKING:
    # Names only: the desk opens without importing torch (ml) or the mix room up front.
    from mixdesk.library.project import Project, TrackCut
    from mixdesk.mix.playlist import Playlist
    from mixdesk.mix.remap import Remap
    from mixdesk.ml.scoring import Scorer

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
        self.project: Project | None = None
        self.playlist: Playlist | None = None
        self.scorer: Scorer | None = None
        self.selected_track: int = -1
        self.selected_chunk: int = -1
        self.selected_playlist_item: int = -1
        self.jobs = JobRunner(self)
        self.player = Player(self)
        self.player.message.connect(self.status)
        self.undo_stack = QUndoStack(self)
        self.undo_stack.setUndoLimit(UNDO_LIMIT)

    def set_project(self, project: Project | None) -> None:
        """Open ``project`` (or None); the playlist, scorer, selection and undo steps belong to the old one
        and go."""
        self.undo_stack.clear()
        self.project = project
        self.playlist = None
        self.scorer = None
        self.selected_track = self.selected_chunk = self.selected_playlist_item = -1
        self.project_changed.emit()
        self.chunks_changed.emit()
        self.playlist_changed.emit()
        self.scorer_changed.emit()

    def set_playlist(self, playlist: Playlist | None) -> None:
        """Show a loaded playlist (the project's saved one): no step to undo, and the steps before it,
        made on another playlist, go."""
        self.undo_stack.clear()
        self.playlist = playlist
        self.playlist_changed.emit()

    def edit_playlist(self, playlist: Playlist, what: str, merge_key: Hashable = None) -> None:
        """The user changed the playlist: show and save ``playlist`` as one step to undo, named ``what``.

        Consecutive edits with the same ``merge_key`` (one crossfade being dragged) make a single step.
        """
        self.undo_stack.push(PlaylistStep(self, self.playlist, playlist, what, merge_key))

    def put_playlist(self, playlist: Playlist | None, follow_cuts: bool = False) -> None:
        """Show and save ``playlist`` as an edit, or its undo or redo, does.

        With ``follow_cuts`` its items first move onto the chunks as they are now: a step recorded before
        a re-cut names chunks that may be gone.
        """
        replaced = self.playlist
        self.playlist = self._on_current_chunks(playlist) if follow_cuts else playlist
        self.playlist_changed.emit()
        self._store(self.playlist, replaced)

    def notify_recut(self, cuts_before: dict[int, TrackCut], cuts_after: dict[int, TrackCut], what: str) -> None:
        """Call after the user re-cut tracks (cuts as :meth:`Project.cuts` records them): the desk follows
        as after any change of chunks, and the re-cut becomes one step to undo, named ``what``."""
        playlist_before = self.playlist
        self.notify_chunks_changed()
        if cuts_after != cuts_before:  # the same cut again: nothing an undo could show
            self.undo_stack.push(RecutStep(self, (cuts_before, cuts_after), (playlist_before, self.playlist), what))

    def put_cuts(self, cuts: dict[int, TrackCut], playlist: Playlist | None) -> None:
        """Cut tracks as ``cuts`` recorded, with the playlist that went with that cut, and announce both."""
        if self.project is None:
            return
        try:
            self.project.restore_cuts(cuts)
        except (OSError, sqlite3.Error) as exc:
            log.warning("could not restore the cut: %s", exc)
            self.show_status(f"Could not restore the cut: {user_message(exc)}")
            return
        self.selected_chunk = -1
        self.playlist = self._on_current_chunks(playlist)
        self._store(self.playlist, None)
        self.chunks_changed.emit()
        self.playlist_changed.emit()

    def set_scorer(self, scorer: Scorer | None) -> None:
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

    def _remap_playlist(self) -> Remap | None:
        """Move the playlist's items off chunks a re-cut removed; the remap, or None when nothing changed."""
        if self.project is None or self.playlist is None:
            return None
        remapped = self._remap(self.project, self.playlist)
        if not remapped.changed and not remapped.gone:
            return None
        self.playlist = remapped.playlist
        if remapped.changed and not self.project.read_only:
            self._store(self.playlist, None)
        return remapped

    def _on_current_chunks(self, playlist: Playlist | None) -> Playlist | None:
        if playlist is None or self.project is None:
            return playlist
        return self._remap(self.project, playlist).playlist

    @staticmethod
    def _remap(project: Project, playlist: Playlist) -> Remap:
        from mixdesk.mix.remap import remap_playlist

        return remap_playlist(playlist, project.chunks())

    def _store(self, playlist: Playlist | None, replaced: Playlist | None) -> None:
        """Save ``playlist`` in the project; None (an undone first mix) removes the one it replaced."""
        if self.project is None:
            return
        try:
            if playlist is not None:
                playlist.save(self.project)
            elif replaced is not None:
                self.project.delete_playlist(replaced.name)
        except (OSError, sqlite3.Error) as exc:
            log.warning("could not save the playlist: %s", exc)
            self.show_status(f"The playlist is not saved: {user_message(exc)}")

    def show_status(self, message: str) -> None:
        self.status.emit(message)
