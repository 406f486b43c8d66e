"""Table model over the desk's playlist: one row per item, reorder by drag, delete, lock.

Each row also shows the item's own tempo and how far it is stretched to reach its mix tempo, worked out
by the mix room from the tracks' beat grids exactly as the renderer plays it.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Optional, Sequence

from PySide6.QtCore import (
    QMimeData,
    QModelIndex,
    QObject,
    Qt,
    Signal,
)

from mixdesk.gui import playlist_items as items_api
from mixdesk.gui.column_model import AnyIndex, ColumnTableModel
from mixdesk.mix import tempo

if TYPE_CHECKING:
    from mixdesk.core.beatgrid import BeatGrid
    from mixdesk.library.project import Project
    from mixdesk.mix.beatsync import ItemTiming
    from mixdesk.mix.playlist import Playlist, PlaylistItem

ROW_MIME = "application/x-mixdesk-playlist-rows"
COLUMNS = ("#", "Source", "In", "Out", "Duration", "BPM", "Stretch", "Score", "Lock")
COL_SOURCE, COL_IN, COL_OUT, COL_DURATION, COL_BPM, COL_STRETCH, COL_SCORE, COL_LOCK = range(1, 9)


def format_ms(ms: float) -> str:
    seconds = max(0.0, float(ms)) / 1000.0
    minutes, secs = divmod(seconds, 60.0)
    return f"{int(minutes)}:{secs:04.1f}"


class PlaylistTableModel(ColumnTableModel):
    columns = COLUMNS

    """Holds the current playlist; every edit produces a new playlist announced through ``edited``."""

    edited = Signal(object, str)  # the new playlist, and the edit in a few words for Undo ("delete item 3")

    def __init__(self, parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self.playlist: Playlist | None = None
        self.project: Project | None = None
        self._labels: dict[int, str] = {}
        self.grids: dict[int, BeatGrid] = {}
        self.timings: list[ItemTiming] = []

    # ---- content ------------------------------------------------------------------------------
    def set_playlist(self, playlist: Playlist | None, project: Project | None = None) -> None:
        self.beginResetModel()
        self.playlist = playlist
        if project is not self.project:
            self._labels.clear()
            self.project = project
            self._load_grids()
        self._retime()
        self.endResetModel()

    def _load_grids(self) -> None:
        project = self.project
        self.grids = project.beat_grids() if project is not None else {}

    def _retime(self) -> None:
        self.timings = tempo.playlist_timings(self.playlist, self.grids)

    def mix_tempo(self) -> float | None:
        """The playlist's tempo in the mix (the first item on a beat grid), None when none is on one."""
        return tempo.mix_tempo(self.timings)

    def forget_labels(self) -> None:
        """Chunk ids may name other audio after a re-cut, and beat grids may be new; both are read again."""
        self._labels.clear()
        self._load_grids()
        self._retime()
        if self.rowCount():
            self.dataChanged.emit(self.index(0, 0), self.index(self.rowCount() - 1, len(COLUMNS) - 1))

    def items(self) -> list[PlaylistItem]:
        return items_api.items_of(self.playlist)

    def item(self, row: int) -> PlaylistItem:
        return self.items()[row]

    def source_label(self, item: PlaylistItem) -> str:
        chunk_id = items_api.chunk_id(item)
        label = self._labels.get(chunk_id)
        if label is None:
            label = items_api.source_label(self.project, item)
            self._labels[chunk_id] = label
        return label

    # ---- Qt model -----------------------------------------------------------------------------
    def row_count(self) -> int:
        return len(self.items())

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        item = self.item(index.row())
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(index.row(), col, item)
        if role == Qt.ItemDataRole.CheckStateRole and col == COL_LOCK:
            return Qt.CheckState.Checked if items_api.locked(item) else Qt.CheckState.Unchecked
        if role == Qt.ItemDataRole.TextAlignmentRole and col != COL_SOURCE:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole and col == COL_SCORE:
            return "Model probability that this item follows the previous one"
        if role == Qt.ItemDataRole.ToolTipRole and col in (COL_BPM, COL_STRETCH):
            return self._tempo_tip(index.row())
        if role == Qt.ItemDataRole.UserRole:
            return items_api.chunk_id(item)
        return None

    def _display(self, row: int, col: int, item: PlaylistItem) -> Any:
        if col == 0:
            return str(row + 1)
        if col == COL_SOURCE:
            return self.source_label(item)
        if col == COL_IN:
            return format_ms(items_api.start_ms(item))
        if col == COL_OUT:
            return format_ms(items_api.end_ms(item))
        if col == COL_DURATION:
            return f"{(items_api.end_ms(item) - items_api.start_ms(item)) / 1000.0:.1f} s"
        if col == COL_BPM:
            timing = self._timing(row)
            return "—" if timing is None or not timing.synced else f"{timing.source_bpm:.1f}"
        if col == COL_STRETCH:
            stretched = self._timing(row)
            pct = None if stretched is None else tempo.stretch_pct(stretched)
            return "—" if pct is None else f"{pct:+.1f} %"
        if col == COL_SCORE:
            score = items_api.score(item)
            return "—" if score is None or row == 0 else f"{score:.3f}"
        return None

    def _timing(self, row: int) -> ItemTiming | None:
        return self.timings[row] if 0 <= row < len(self.timings) else None

    def _tempo_tip(self, row: int) -> str:
        timing = self._timing(row)
        if timing is None or not timing.synced:
            return "No trusted beat grid: this item plays at its own tempo and joins on milliseconds"
        return (
            f"Own tempo {timing.source_bpm:.2f} BPM, plays at {timing.mix_bpm:.2f} BPM "
            f"({tempo.stretch_pct(timing):+.2f} %, pitch kept)"
        )

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        base = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsDragEnabled
        if not index.isValid():
            return Qt.ItemFlag.ItemIsDropEnabled
        if index.column() == COL_LOCK:
            base |= Qt.ItemFlag.ItemIsUserCheckable
        return base

    def setData(self, index: AnyIndex, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:  # noqa: N802
        if not index.isValid() or index.column() != COL_LOCK or role != Qt.ItemDataRole.CheckStateRole:
            return False
        self.set_locked(index.row(), Qt.CheckState(value) == Qt.CheckState.Checked)
        return True

    # ---- edits --------------------------------------------------------------------------------
    def set_locked(self, row: int, locked: bool) -> None:
        self._lock_rows({row: locked})

    def toggle_lock(self, row: int) -> None:
        self.toggle_locks([row])

    def toggle_locks(self, rows: list[int]) -> None:
        """Flip the lock of each of ``rows``: one edit however many rows."""
        self._lock_rows({row: not items_api.locked(self.item(row)) for row in rows if 0 <= row < self.rowCount()})

    def _lock_rows(self, wanted: dict[int, bool]) -> None:
        items = self.items()
        rows = sorted(r for r, value in wanted.items() if 0 <= r < len(items) and items_api.locked(items[r]) != value)
        if not rows:
            return
        for row in rows:
            items[row] = items_api.with_locked(items[row], wanted[row])
        self._replace(items)
        self.dataChanged.emit(self.index(rows[0], 0), self.index(rows[-1], len(COLUMNS) - 1))
        values = {wanted[row] for row in rows}
        verb = "lock / unlock" if len(values) > 1 else "lock" if values == {True} else "unlock"
        self.edited.emit(self.playlist, f"{verb} {_rows_text(rows)}")

    def remove_rows(self, rows: list[int]) -> None:
        items = self.items()
        removed = sorted({row for row in rows if 0 <= row < len(items)})
        if not removed:
            return
        for row in reversed(removed):
            self.beginRemoveRows(QModelIndex(), row, row)
            del items[row]
            self._replace(items)
            self.endRemoveRows()
        self.edited.emit(self.playlist, f"delete {_rows_text(removed)}")

    def move_row(self, source: int, destination: int) -> bool:
        """Move ``source`` so it lands before the row currently at ``destination`` (Qt's convention)."""
        count = len(self.items())
        if not (0 <= source < count) or not (0 <= destination <= count):
            return False
        if destination in (source, source + 1):
            return False
        if not self.beginMoveRows(QModelIndex(), source, source, QModelIndex(), destination):
            return False
        items = self.items()
        item = items.pop(source)
        landed = destination - 1 if destination > source else destination
        items.insert(landed, item)
        self._replace(items)
        self.endMoveRows()
        self.edited.emit(self.playlist, f"move item {source + 1} to {landed + 1}")
        return True

    def moveRows(  # noqa: N802 - Qt override
        self, src_parent: AnyIndex, source: int, count: int, dst_parent: AnyIndex, destination: int
    ) -> bool:
        if count != 1 or src_parent.isValid() or dst_parent.isValid():
            return False
        return self.move_row(source, destination)

    def insert_item(self, row: int, new_item: PlaylistItem) -> None:
        items = self.items()
        row = max(0, min(row, len(items)))
        self.beginInsertRows(QModelIndex(), row, row)
        items.insert(row, new_item)
        self._replace(items)
        self.endInsertRows()
        self.edited.emit(self.playlist, f"insert item {row + 1}")

    def replace_item(self, row: int, new_item: PlaylistItem) -> None:
        items = self.items()
        items[row] = new_item
        self._replace(items)
        self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))
        self.edited.emit(self.playlist, f"replace item {row + 1}")

    def update_scores(self, playlist: Playlist) -> None:
        """Same items with new scores: repaint the score column without resetting the view."""
        self.playlist = playlist
        self._retime()
        if self.rowCount():
            self.dataChanged.emit(self.index(0, COL_SCORE), self.index(self.rowCount() - 1, COL_SCORE))

    def _replace(self, items: list[PlaylistItem]) -> None:
        assert self.playlist is not None, "rows are edited only while a playlist is shown"
        self.playlist = items_api.with_items(self.playlist, items)
        self._retime()

    # ---- drag and drop ------------------------------------------------------------------------
    def supportedDropActions(self) -> Qt.DropAction:
        return Qt.DropAction.MoveAction

    def supportedDragActions(self) -> Qt.DropAction:
        return Qt.DropAction.MoveAction

    def mimeTypes(self) -> list[str]:
        return [ROW_MIME]

    def mimeData(self, indexes: Sequence[QModelIndex]) -> QMimeData:  # noqa: N802 - Qt override
        mime = QMimeData()
        rows = sorted({index.row() for index in indexes if index.isValid()})
        mime.setData(ROW_MIME, json.dumps(rows).encode())
        return mime

    def dropMimeData(  # noqa: N802 - Qt override
        self, mime: QMimeData, action: Qt.DropAction, row: int, column: int, parent: AnyIndex
    ) -> bool:
        if action != Qt.DropAction.MoveAction or not mime.hasFormat(ROW_MIME):
            return False
        rows = json.loads(bytes(mime.data(ROW_MIME).data()).decode())
        if len(rows) != 1:
            return False
        destination = row if row >= 0 else (parent.row() if parent.isValid() else self.rowCount())
        self.move_row(rows[0], destination)
        # False keeps the view from deleting the dragged row afterwards: the move is already done.
        return False


def _rows_text(rows: list[int]) -> str:
    """``item 3`` or ``4 items``: how an edit's name counts the rows it touched."""
    return f"item {rows[0] + 1}" if len(rows) == 1 else f"{len(rows)} items"
