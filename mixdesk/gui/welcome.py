"""The page shown while no project is open: the demo first, then new/open and the recent projects."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QListWidget, QListWidgetItem, QPushButton, QVBoxLayout, QWidget

from mixdesk.gui.theme import app_icon, welcome_style_sheet


class WelcomePage(QWidget):
    demo_requested = Signal()
    new_requested = Signal()
    open_requested = Signal()
    recent_requested = Signal(str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("welcomePage")
        self.setStyleSheet(welcome_style_sheet())
        title = QLabel("Welcome to mixdesk")
        title.setObjectName("welcomeTitle")
        logo = QLabel()
        logo.setPixmap(app_icon().pixmap(72, 72))
        intro = QLabel("Cut music into chunks, let a model learn which chunk may follow which, and build a "
                       "continuous mix.\nNo music at hand? The demo project brings four tracks, a model and a "
                       "mix.\nYou can also drop audio files or folders anywhere on this window.")
        intro.setWordWrap(True)
        self.demo_button = QPushButton("Open the demo project")
        self.demo_button.setObjectName("openDemo")
        self.demo_button.setDefault(True)
        new_button = QPushButton("New project…")
        open_button = QPushButton("Open project…")
        self.recent = QListWidget()
        self.recent.setMaximumHeight(140)
        card = QWidget(self)
        card.setMaximumWidth(620)
        column = QVBoxLayout(card)
        column.setSpacing(10)
        for widget in (logo, title, intro, self.demo_button, new_button, open_button):
            column.addWidget(widget)
        column.addSpacing(8)
        column.addWidget(QLabel("Recent projects"))
        column.addWidget(self.recent)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        layout.addWidget(card, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(2)
        self.demo_button.clicked.connect(self.demo_requested)
        new_button.clicked.connect(self.new_requested)
        open_button.clicked.connect(self.open_requested)
        self.recent.itemActivated.connect(lambda item: self.recent_requested.emit(item.data(Qt.ItemDataRole.UserRole)))

    def set_recent(self, paths: list[str]) -> None:
        self.recent.clear()
        for path in paths:
            item = QListWidgetItem(f"{Path(path).stem}   —   {path}")
            item.setData(Qt.ItemDataRole.UserRole, path)
            self.recent.addItem(item)
