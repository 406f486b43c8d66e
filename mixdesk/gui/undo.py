"""The desk's undo steps: a playlist edit, or a re-cut of tracks.

Playlists are immutable, so a playlist step holds the playlist before and after the edit; a re-cut step
holds the affected tracks' chunk ranges before and after (see :meth:`Project.cuts`) with the playlist that
went with each. Undo and redo go through an :class:`UndoTarget` (the desk's state, which saves and
announces the change as the edit itself did); the state pushes these steps, so this module never imports it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Hashable, Protocol

from PySide6.QtGui import QUndoCommand

if TYPE_CHECKING:
    from mixdesk.library.project import TrackCut
    from mixdesk.mix.playlist import Playlist

UNDO_LIMIT = 200  # steps kept; a playlist is a few kB, a re-cut of every track a few hundred
PLAYLIST_MERGE_ID = 1  # Qt merges only consecutive commands that share an id


class UndoTarget(Protocol):
    """What a step undoes and redoes through (the desk's ``DeskState`` is one)."""

    def put_playlist(self, playlist: Playlist | None, follow_cuts: bool = False) -> None: ...

    def put_cuts(self, cuts: dict[int, TrackCut], playlist: Playlist | None) -> None: ...

    def show_status(self, message: str) -> None: ...


class PlaylistStep(QUndoCommand):
    """One edit of the playlist; consecutive edits with the same ``merge_key`` fold into one step, so a
    crossfade dragged across the slider is undone at once."""

    def __init__(
        self, state: UndoTarget, before: Playlist | None, after: Playlist, text: str, merge_key: Hashable = None
    ) -> None:
        super().__init__(text)
        self.state, self.before, self.after, self.merge_key = state, before, after, merge_key
        self._done = False

    def id(self) -> int:  # noqa: A003 - Qt override
        return -1 if self.merge_key is None else PLAYLIST_MERGE_ID

    def mergeWith(self, other: QUndoCommand) -> bool:  # noqa: N802 - Qt override
        if not isinstance(other, PlaylistStep) or other.merge_key != self.merge_key:
            return False
        self.after = other.after
        self.setText(other.text())
        # Dragged back to where it started: nothing is left to undo, and Qt drops the step.
        self.setObsolete(self.after == self.before)
        return True

    def redo(self) -> None:
        # The first redo is the edit itself, made on the playlist as it stands; a later one may follow a
        # re-cut that happened in between.
        self.state.put_playlist(self.after, follow_cuts=self._done)
        if self._done:
            self.state.show_status(f"Redone: {self.text()}")
        self._done = True

    def undo(self) -> None:
        self.state.put_playlist(self.before, follow_cuts=True)
        self.state.show_status(f"Undone: {self.text()}")


class RecutStep(QUndoCommand):
    """A re-cut already written by a job: undo puts the old ranges back, redo the new ones."""

    def __init__(
        self,
        state: UndoTarget,
        cuts: tuple[dict[int, TrackCut], dict[int, TrackCut]],
        playlists: tuple[Playlist | None, Playlist | None],
        text: str,
    ) -> None:
        super().__init__(text)
        self.state = state
        (self.cuts_before, self.cuts_after), (self.playlist_before, self.playlist_after) = cuts, playlists
        self._done = False

    def redo(self) -> None:
        if self._done:
            self.state.put_cuts(self.cuts_after, self.playlist_after)
            self.state.show_status(f"Redone: {self.text()}")
        self._done = True  # the job made the re-cut: pushing the step has nothing left to do

    def undo(self) -> None:
        self.state.put_cuts(self.cuts_before, self.playlist_before)
        self.state.show_status(f"Undone: {self.text()}")
