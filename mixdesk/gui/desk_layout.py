"""How the desk's window is shared between its three columns of docks, on any screen and through resizes.

The waveform column in the middle is what the desk is looked at for: it takes whatever the side columns
leave, and is never put in a scroll area, so it cannot be squeezed below its own minimum. Each side
column keeps its share of the window width through resizes (the default share, or the one the user
dragged it to), widened where it can be to what its panels need to show every control; a panel below
another is given the height it needs the same way, from the panel above it, which scrolls instead.
"""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QEvent, QObject, QSize, Qt, QTimer
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QDockWidget, QMainWindow, QWidget

CENTRE_PANELS = ("trackView", "transitionView")
# Each side column's default share of the window width, by its top dock; the left one comes first when
# there is too little room for both (it is tuned while listening; the right one's table scrolls well).
SIDE_SHARES = {"poolView": 0.21, "playlistView": 0.24}
SIDE_COLUMNS = {"poolView": ("poolView", "silencePanel"), "playlistView": ("playlistView", "suggestionsView")}
# (above, below): the one below gets the height it needs from the one above.
STACKS = (("poolView", "silencePanel"), ("playlistView", "suggestionsView"))
VERTICAL_SHARES = {
    ("poolView", "silencePanel"): (0.55, 0.4),
    ("trackView", "transitionView"): (0.52, 0.4),
    ("playlistView", "suggestionsView"): (0.55, 0.4),
}
DOCK_SEPARATOR_PX = 6
FIT_TRIES = 4


class ColumnKeeper(QObject):
    """Sizes a main window's docks; ``active`` says when the docks are on show (not the welcome page)."""

    def __init__(
        self,
        window: QMainWindow,
        docks: dict[str, QDockWidget],
        panels: dict[str, QWidget | None],
        active: Callable[[], bool],
    ) -> None:
        super().__init__(window)
        self.window, self.docks, self.panels, self.active = window, docks, panels, active
        self.shares: dict[str, float] = {}  # side column -> share of the window width, once laid out
        self._laid_out_width = 0
        window.installEventFilter(self)

    # ----- what the window calls
    def fix_centre_minimum(self) -> None:
        """The waveform column's minimum is what its panels need as built, not what they ask as their
        titles grow: a long track name must not widen it until the side panels no longer fit."""
        panels = [panel for name in CENTRE_PANELS if (panel := self.panels.get(name)) is not None]
        width = max((panel.minimumSizeHint().width() for panel in panels), default=0)
        for panel in panels:
            panel.setMinimumWidth(width)

    def apply_defaults(self) -> None:
        """The default shares; only meaningful once the window has its real size."""
        height = max(self.window.height(), 600)
        self.shares = dict(SIDE_SHARES)
        self.apply_column_widths()
        for (upper, lower), (a, b) in VERTICAL_SHARES.items():
            self.window.resizeDocks(
                [self.docks[upper], self.docks[lower]], [int(height * a), int(height * b)], Qt.Orientation.Vertical
            )
        QTimer.singleShot(0, self.fit_heights)

    def keep_restored(self) -> None:
        """A restored layout keeps its widths as its shares; only missing heights are given."""
        self.record_shares()
        self.fit_heights()

    def docks_shown(self) -> None:
        """The docks are back after the welcome page, which may have had a resize of the window meanwhile."""
        if self.shares:
            QTimer.singleShot(0, self.apply_column_widths)
            QTimer.singleShot(0, self.fit_heights)

    # ----- widths
    def side_widths(self, width: int) -> dict[str, int]:
        """Each side column's width for a window ``width`` wide: its share, widened to what its panels
        need where the waveform column keeps at least its own minimum."""
        centre = max(self.docks[name].minimumSizeHint().width() for name in CENTRE_PANELS)
        room = max(0, width - centre - DOCK_SEPARATOR_PX * 2)
        columns = [column for column in SIDE_SHARES if column in self.shares]
        widths = {}
        for i, column in enumerate(columns):
            share = int(width * self.shares[column])
            usable = max(self._usable_size(name).width() for name in SIDE_COLUMNS[column])
            reserve = sum(int(width * self.shares[later]) for later in columns[i + 1 :])
            widths[column] = max(0, min(max(share, usable), max(room - reserve, share)))
            room -= widths[column]
        return widths

    def apply_column_widths(self) -> None:
        width = self.window.width()
        widths = self.side_widths(width)
        # The waveform column is named too: with no central widget, Qt keeps a column it is not told about
        # at its minimum and gives the rest to the side columns.
        widths[CENTRE_PANELS[0]] = max(0, width - sum(widths.values()) - DOCK_SEPARATOR_PX * 2)
        names = list(widths)
        self.window.resizeDocks([self.docks[n] for n in names], [widths[n] for n in names], Qt.Orientation.Horizontal)
        self._laid_out_width = width

    def record_shares(self) -> None:
        """Take the side columns' present widths as their shares of the window from now on."""
        width = self.window.width()
        if width > 0 and self.active():
            self.shares = {name: self.docks[name].width() / width for name in SIDE_SHARES}
            self._laid_out_width = width

    # ----- heights
    def fit_heights(self, tries: int = FIT_TRIES, asked: dict[str, int] | None = None) -> None:
        """Give a panel below another the height it needs to show every control (the silence panel's
        Apply buttons), taken from the panel above it, which scrolls instead."""
        asked = dict(asked or {})
        for above, below in STACKS:
            upper, lower = self.docks[above], self.docks[below]
            if not (upper.isVisible() and lower.isVisible()) or lower.isFloating() or upper.isFloating():
                continue
            deficit = self._usable_size(below).height() - lower.widget().height()
            spare = upper.widget().height() - self._usable_size(above).height()
            if deficit <= 0 or spare <= 0:
                asked.pop(below, None)
                continue
            # A tabbed dock's size counts its tab bar, so a request can fall short: the next one asks more.
            total = upper.height() + lower.height()
            asked[below] = min(asked.get(below, lower.height()) + min(deficit, spare), total)
            self.window.resizeDocks([upper, lower], [total - asked[below], asked[below]], Qt.Orientation.Vertical)
        if asked and tries > 1:
            QTimer.singleShot(0, lambda: self.fit_heights(tries - 1, asked))

    def _usable_size(self, name: str) -> QSize:
        """The smallest size at which a panel shows all its controls (a lazy panel not built yet: none)."""
        panel: QWidget | None = self.panels.get(name)
        return panel.minimumSizeHint().expandedTo(panel.minimumSize()) if panel is not None else QSize(0, 0)

    # ----- following the window
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if watched is self.window and self.shares and self.active():
            if isinstance(event, QResizeEvent):
                # Left alone, Qt hands a change of window width to the side columns and squeezes the
                # waveforms; keep every column's share instead.
                if self.window.width() != self._laid_out_width:
                    self.apply_column_widths()
                if event.oldSize().height() != event.size().height():
                    QTimer.singleShot(0, self.fit_heights)
            elif event.type() == QEvent.Type.MouseButtonRelease:
                # The separators between docks are dragged with the window's own mouse events: once the
                # drag is over the columns have the widths the user wants.
                QTimer.singleShot(0, self.record_shares)
        return False
