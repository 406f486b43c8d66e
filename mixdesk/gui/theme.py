"""The desk's look: a dark Fusion palette, the bundled style sheet, and matching plot colours."""

from __future__ import annotations

import logging

import pyqtgraph as pg
from PySide6.QtGui import QColor, QIcon, QPalette
from PySide6.QtWidgets import QApplication

from mixdesk import paths

log = logging.getLogger(__name__)

BACKGROUND = "#1e1f22"
PANEL = "#2b2d31"
TEXT = "#dcdde0"
ACCENT = "#4fc3f7"


def dark_palette() -> QPalette:
    palette = QPalette()
    colours = {
        QPalette.ColorRole.Window: PANEL,
        QPalette.ColorRole.WindowText: TEXT,
        QPalette.ColorRole.Base: BACKGROUND,
        QPalette.ColorRole.AlternateBase: "#25272b",
        QPalette.ColorRole.ToolTipBase: PANEL,
        QPalette.ColorRole.ToolTipText: TEXT,
        QPalette.ColorRole.Text: TEXT,
        QPalette.ColorRole.Button: "#34373c",
        QPalette.ColorRole.ButtonText: TEXT,
        QPalette.ColorRole.BrightText: "#ff5252",
        QPalette.ColorRole.Highlight: "#2f6f8f",
        QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.Link: ACCENT,
        QPalette.ColorRole.PlaceholderText: "#80838a",
    }
    for role, colour in colours.items():
        palette.setColor(role, QColor(colour))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText, QPalette.ColorRole.WindowText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor("#6b6e75"))
    return palette


def app_icon() -> QIcon:
    icon = QIcon()
    folder = paths.resources_dir() / "icons"
    for name in ("mixdesk.svg", "mixdesk-256.png", "mixdesk-64.png"):
        if (folder / name).is_file():
            icon.addFile(str(folder / name))
    return icon


def welcome_style_sheet() -> str:
    qss = paths.resources_dir() / "mixdesk.qss"
    try:
        return qss.read_text(encoding="utf-8")
    except OSError:
        log.info("no style sheet at %s", qss)
        return ""


def apply_theme(app: QApplication) -> None:
    app.setStyle("Fusion")
    app.setPalette(dark_palette())
    app.setWindowIcon(app_icon())
    pg.setConfigOptions(background=BACKGROUND, foreground="#a9abb0", antialias=False)
