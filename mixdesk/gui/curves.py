"""Live training curves: loss and accuracy per epoch, train against validation."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Sequence

import pyqtgraph as pg
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QBoxLayout, QWidget

if TYPE_CHECKING:
    from mixdesk.ml.training import EpochReport  # a name only: importing it here would load torch

TRAIN_PEN = pg.mkPen("#4aa3ff", width=2)
VAL_PEN = pg.mkPen("#ff9f43", width=2)


def _make_plot(title: str, y_label: str, legend_offset: tuple[int, int]) -> pg.PlotWidget:
    plot = pg.PlotWidget()
    plot.setBackground("#1e1f22")
    plot.setTitle(title, color="#d0d0d0", size="10pt")
    plot.setLabel("bottom", "epoch")
    plot.setLabel("left", y_label)
    plot.getAxis("left").enableAutoSIPrefix(False)
    plot.showGrid(x=True, y=True, alpha=0.25)
    plot.addLegend(offset=legend_offset)
    plot.setMinimumHeight(140)
    return plot


class TrainingCurves(QWidget):
    """Two plots side by side; each holds a train and a validation curve fed one epoch at a time."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QBoxLayout(QBoxLayout.Direction.LeftToRight, self)
        layout.setContentsMargins(0, 0, 0, 0)
        self._layout = layout
        # Loss falls and accuracy rises, so each legend sits in the corner its curves leave free.
        self.loss_plot = _make_plot("Loss", "BCE", (-10, 10))
        self.acc_plot = _make_plot("Accuracy", "fraction", (-10, -10))
        self.acc_plot.setYRange(0.0, 1.0)
        layout.addWidget(self.loss_plot)
        layout.addWidget(self.acc_plot)
        self.train_loss = self.loss_plot.plot([], [], pen=TRAIN_PEN, symbol="o", symbolSize=5, name="train")
        self.val_loss = self.loss_plot.plot([], [], pen=VAL_PEN, symbol="o", symbolSize=5, name="validation")
        self.train_acc = self.acc_plot.plot([], [], pen=TRAIN_PEN, symbol="o", symbolSize=5, name="train")
        self.val_acc = self.acc_plot.plot([], [], pen=VAL_PEN, symbol="o", symbolSize=5, name="validation")

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        # Side by side when there is room, stacked in a narrow dock.
        wanted = QBoxLayout.Direction.TopToBottom if event.size().width() < 520 else QBoxLayout.Direction.LeftToRight
        if self._layout.direction() != wanted:
            self._layout.setDirection(wanted)
        super().resizeEvent(event)

    def clear(self) -> None:
        for curve in (self.train_loss, self.val_loss, self.train_acc, self.val_acc):
            curve.setData([], [])

    def show_history(self, reports: Sequence[EpochReport]) -> None:
        """Redraw from the epoch reports seen so far."""
        epochs = [float(r.epoch) for r in reports]
        self._set(self.train_loss, epochs, [r.train_loss for r in reports])
        self._set(self.val_loss, epochs, [r.val_loss for r in reports])
        self._set(self.train_acc, epochs, [r.train_acc for r in reports])
        self._set(self.val_acc, epochs, [r.val_acc for r in reports])
        for plot in (self.loss_plot, self.acc_plot):
            axis = plot.getAxis("bottom")
            # Whole epochs only while they fit; beyond that pyqtgraph's own spacing reads better.
            if len(reports) <= 20:
                axis.setTickSpacing(5, 1)
            else:
                axis.setTickSpacing()

    @staticmethod
    def _set(curve: pg.PlotDataItem, xs: list[float], ys: list[float | None]) -> None:
        # Validation can be missing for an epoch (no held-out tracks); keep only the points that exist.
        points = [(x, float(y)) for x, y in zip(xs, ys) if y is not None and math.isfinite(float(y))]
        curve.setData([p[0] for p in points], [p[1] for p in points])

    def point_counts(self) -> dict[str, int]:
        return {
            "train_loss": _count(self.train_loss),
            "val_loss": _count(self.val_loss),
            "train_acc": _count(self.train_acc),
            "val_acc": _count(self.val_acc),
        }


def _count(curve: pg.PlotDataItem) -> int:
    xs, _ = curve.getData()
    return 0 if xs is None else len(xs)
