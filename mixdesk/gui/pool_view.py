"""The pool panel: a filter box over the chunk table, with a tiny waveform painted in each row."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
from PySide6.QtCore import QItemSelectionModel, QModelIndex, QObject, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QLineEdit,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from mixdesk.gui.column_model import AnyIndex
from mixdesk.gui.pool_model import CHUNK_ID_ROLE, STRIP_ROLE, PoolFilterProxy, PoolModel
from mixdesk.gui.state import DeskState
from mixdesk.gui.thumbnails import ThumbnailCache

ROW_HEIGHT = 22
WAVE_COLOUR = QColor("#4fc3f7")
WAVE_SELECTED = QColor("#ffffff")
PIXMAP_CACHE_SIZE = 4000
PEAK_OPACITY = 0.45
COLUMN_WIDTHS = {"index": 30, "start": 50, "length": 48, "wave": 84, "bpm": 44, "key": 40, "genre": 78}
DEFAULT_COLUMN_WIDTH = 70


def _silhouette(levels: np.ndarray, width: int, height: int) -> np.ndarray:
    """Coverage (0..1) of a mirrored, anti-aliased silhouette of ``levels`` (0..1), shape (height, width)."""
    xs = np.linspace(0.0, len(levels) - 1.0, width)
    amplitude = np.maximum(np.interp(xs, np.arange(len(levels)), levels) * (height / 2.0 - 0.5), 0.5)
    distance = np.abs(np.arange(height) + 0.5 - height / 2.0)
    return np.clip(amplitude[None, :] - distance[:, None] + 0.5, 0.0, 1.0)


def strip_image(strip: np.ndarray, width: int, height: int, colour: QColor) -> QImage:
    """The strip as a mirrored silhouette, drawn with numpy (no per-point painter calls): a strip of
    (RMS, peak) pairs shows its peaks faint behind the solid RMS body, as DJ software draws waveforms."""
    width, height = max(1, width), max(1, height)
    strip = np.asarray(strip, dtype=np.float64)
    if strip.ndim == 2:
        alpha = np.maximum(
            _silhouette(strip[:, 0], width, height), PEAK_OPACITY * _silhouette(strip[:, 1], width, height)
        )
    else:
        alpha = _silhouette(strip, width, height)
    rgba = np.empty((height, width, 4), dtype=np.uint8)
    for channel, value in enumerate((colour.red(), colour.green(), colour.blue(), 255)):
        rgba[..., channel] = (alpha * value).astype(np.uint8)
    image = QImage(rgba.data, width, height, width * 4, QImage.Format.Format_RGBA8888_Premultiplied)
    return image.copy()


class WaveDelegate(QStyledItemDelegate):
    """Paints a cached image per (chunk, size, selected): scrolling re-uses pictures, never rebuilds them."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pixmaps: OrderedDict[tuple, QImage] = OrderedDict()

    def clear(self) -> None:
        self._pixmaps.clear()

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: AnyIndex) -> None:
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        if selected:
            painter.fillRect(option.rect, option.palette.highlight())
        strip = index.data(STRIP_ROLE)
        if strip is None:
            return
        rect = option.rect.adjusted(3, 2, -3, -2)
        key = (index.data(CHUNK_ID_ROLE), rect.width(), rect.height(), selected)
        pixmap = self._pixmaps.get(key)
        if pixmap is None:
            pixmap = strip_image(strip, rect.width(), rect.height(), WAVE_SELECTED if selected else WAVE_COLOUR)
            self._pixmaps[key] = pixmap
            if len(self._pixmaps) > PIXMAP_CACHE_SIZE:
                self._pixmaps.popitem(last=False)
        else:
            self._pixmaps.move_to_end(key)
        painter.drawImage(rect.topLeft(), pixmap)

    def sizeHint(self, option: QStyleOptionViewItem, index: AnyIndex) -> QSize:  # noqa: N802 - Qt override
        return QSize(120, ROW_HEIGHT)


class PoolView(QWidget):
    """Selecting a row selects its chunk on the desk; double-click or Enter plays it."""

    play_requested = Signal(int)

    def __init__(self, state: DeskState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("poolView")
        self.state = state
        self.thumbnails = ThumbnailCache(state, self)
        self.model = PoolModel(self.thumbnails, self)
        self.proxy = PoolFilterProxy(self.model, self)
        self.filter_box = QLineEdit(self)
        self.filter_box.setObjectName("poolFilter")
        self.filter_box.setPlaceholderText("Filter: words, bpm>120, len<8, key:8A")
        self.filter_box.setClearButtonEnabled(True)
        self.summary = QLabel(self)
        self.summary.setObjectName("poolSummary")
        self.table = self._make_table()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.filter_box)
        layout.addWidget(self.table)
        layout.addWidget(self.summary)
        self.filter_box.textChanged.connect(self._filter)
        self.thumbnails.ready.connect(self.model.strips_arrived)
        state.project_changed.connect(self.reload)
        state.chunks_changed.connect(self.reload)
        state.chunk_selected.connect(self._follow_selection)
        self.table.selectionModel().currentRowChanged.connect(self._row_changed)
        self.reload()

    def _make_table(self) -> QTableView:
        table = QTableView(self)
        table.setObjectName("poolTable")
        table.setModel(self.proxy)
        table.setItemDelegateForColumn(self.model.column_of("wave"), WaveDelegate(table))
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        # Qt's default indicator is descending; the pool opens in track order, chunks ascending.
        table.horizontalHeader().setSortIndicator(0, Qt.SortOrder.AscendingOrder)
        table.setSortingEnabled(True)
        table.setAlternatingRowColors(True)
        table.setWordWrap(False)
        table.setShowGrid(False)
        table.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        table.verticalHeader().setVisible(False)
        # Fixed row heights keep the view from measuring every row of a large pool.
        table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        table.verticalHeader().setDefaultSectionSize(ROW_HEIGHT)
        table.horizontalHeader().setMinimumSectionSize(24)
        table.horizontalHeader().setSortIndicatorShown(True)
        table.doubleClicked.connect(lambda index: self.play_requested.emit(index.data(CHUNK_ID_ROLE)))
        table.activated.connect(lambda index: self.play_requested.emit(index.data(CHUNK_ID_ROLE)))
        return table

    def reload(self) -> None:
        self.thumbnails.clear()
        delegate = self.table.itemDelegateForColumn(self.model.column_of("wave"))
        if isinstance(delegate, WaveDelegate):
            delegate.clear()
        self.model.load(self.state.project)
        header = self.table.horizontalHeader()
        if 0 <= header.sortIndicatorSection() < self.model.columnCount():
            self.model.sort(header.sortIndicatorSection(), header.sortIndicatorOrder())
        self.proxy.set_filter_text(self.filter_box.text())
        self._size_columns()
        self._update_summary()

    def _size_columns(self) -> None:
        # Every column but the track name is as narrow as its content, and the name takes what is left
        # (elided), so the whole row fits a pool column about 420 px wide without scrolling sideways.
        header = self.table.horizontalHeader()
        header.setStretchLastSection(False)
        for i, column in enumerate(self.model.columns):
            if column.key == "track":
                header.setSectionResizeMode(i, QHeaderView.ResizeMode.Stretch)
            else:
                header.setSectionResizeMode(i, QHeaderView.ResizeMode.Interactive)
                self.table.setColumnWidth(i, COLUMN_WIDTHS.get(column.key, DEFAULT_COLUMN_WIDTH))

    def _filter(self, text: str) -> None:
        self.proxy.set_filter_text(text)
        self._update_summary()

    def _update_summary(self) -> None:
        shown, total = self.proxy.rowCount(), self.model.rowCount()
        tracks = len(set(self.model.track_ids.tolist()))
        text = f"{total} chunks from {tracks} tracks"
        self.summary.setText(text if shown == total else f"{shown} of {text}")

    def _row_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid():
            self.state.select_chunk(int(current.data(CHUNK_ID_ROLE)))

    def _follow_selection(self, chunk_id: int) -> None:
        current = self.table.currentIndex()
        if chunk_id < 0 or (current.isValid() and current.data(CHUNK_ID_ROLE) == chunk_id):
            return
        row = self.model.row_of_chunk(chunk_id)
        if row < 0:
            return
        index = self.proxy.mapFromSource(self.model.index(row, 0))
        if index.isValid():
            self.table.selectionModel().setCurrentIndex(
                index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
            )
            self.table.scrollTo(index)

    def visible_chunk_ids(self) -> list[int]:
        return [int(self.proxy.index(r, 0).data(CHUNK_ID_ROLE)) for r in range(self.proxy.rowCount())]
