"""The page shown while no project is open: the demo first, then new/open and the recent projects."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QListWidget, QListWidgetItem, QProgressBar, QPushButton, QVBoxLayout, QWidget

from mixdesk.gui.jobs import Job
from mixdesk.gui.mix_calls import GenerateOptions
from mixdesk.gui.theme import app_icon, welcome_style_sheet
from mixdesk.progress import Progress

# Measured on a 2-core machine: about 12 s for the tracks and 4 s for the mix the first time, under a
# second to reopen; a slow or busy machine takes a few times longer.
DEMO_TEXT = (
    "No music at hand? The demo synthesises four tracks, cuts them into chunks, finds their beats "
    "and then builds a {minutes:g}-minute mix with the bundled model. The first time this takes "
    "15 seconds to a minute; after that the demo opens in seconds."
)


def demo_text() -> str:
    return DEMO_TEXT.format(minutes=GenerateOptions().minutes)


class WelcomePage(QWidget):
    demo_requested = Signal()
    new_requested = Signal()
    open_requested = Signal()
    recent_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("welcomePage")
        self.setStyleSheet(welcome_style_sheet())
        title = QLabel("Welcome to mixdesk")
        title.setObjectName("welcomeTitle")
        logo = QLabel()
        logo.setPixmap(app_icon().pixmap(72, 72))
        intro = QLabel(
            "Cut music into chunks, let a model learn which chunk may follow which, and build a "
            "continuous mix.\nYou can drop audio files or folders anywhere on this window."
        )
        intro.setWordWrap(True)
        self.demo_note = QLabel(demo_text())
        self.demo_note.setObjectName("demoNote")
        self.demo_note.setWordWrap(True)
        self.demo_button = QPushButton("Open the demo project")
        self.demo_button.setObjectName("openDemo")
        self.demo_button.setDefault(True)
        self.demo_progress = QProgressBar()
        self.demo_progress.setObjectName("demoProgress")
        self.demo_progress.setRange(0, 1000)
        self.demo_progress.hide()
        self.demo_step = QLabel()
        self.demo_step.setObjectName("demoStep")
        self.demo_step.setWordWrap(True)
        self.demo_step.hide()
        new_button = QPushButton("New project…")
        open_button = QPushButton("Open project…")
        self.recent = QListWidget()
        self.recent.setMaximumHeight(140)
        card = QWidget(self)
        card.setMaximumWidth(620)
        column = QVBoxLayout(card)
        column.setSpacing(10)
        for widget in (
            logo,
            title,
            intro,
            self.demo_note,
            self.demo_button,
            self.demo_progress,
            self.demo_step,
            new_button,
            open_button,
        ):
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

    def follow_demo(self, job: Job) -> None:
        """Show how far the demo's preparation is, step by step, until its project opens or it fails."""
        self.demo_button.setEnabled(False)
        self.demo_progress.setValue(0)
        self.demo_progress.show()
        self._demo_step("Preparing the demo tracks…")
        job.progress.connect(self._demo_progress)
        # Once the project opens the page gives way to the desk; it is back as new if the project closes.
        job.finished.connect(lambda _project: self._demo_reset())
        job.failed.connect(self._demo_failed)
        job.cancelled.connect(self._demo_reset)

    def _demo_progress(self, progress: Progress) -> None:
        self.demo_progress.setValue(int(1000 * progress.fraction))
        message = progress.message
        if message:
            self._demo_step(f"Preparing the demo: {message}")

    def _demo_step(self, text: str) -> None:
        self.demo_step.setText(text)
        self.demo_step.show()

    def _demo_failed(self, message: str) -> None:
        self._demo_reset()
        self._demo_step(f"The demo could not be prepared: {message}")

    def _demo_reset(self) -> None:
        self.demo_button.setEnabled(True)
        self.demo_progress.hide()
        self.demo_step.hide()

    def set_recent(self, paths: list[str]) -> None:
        self.recent.clear()
        for path in paths:
            item = QListWidgetItem(f"{Path(path).stem}   —   {path}")
            item.setData(Qt.ItemDataRole.UserRole, path)
            self.recent.addItem(item)
