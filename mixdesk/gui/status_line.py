"""The status bar's job corner: the newest running job's name, progress and a cancel button.

Short background jobs (drawing waveforms, reading a track) are shown only when they take a while, so the
corner does not flicker while the user clicks through the pool.
"""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QStatusBar, QToolButton, QWidget

from mixdesk.gui.jobs import Job
from mixdesk.gui.state import DeskState
from mixdesk.progress import Progress

QUIET_JOBS = frozenset(
    {"Waveforms", "Loudness envelope", "Loading track", "Loading audio", "Loading the training libraries"}
)
QUIET_DELAY_MS = 700
MESSAGE_MS = 8000
ERROR_MS = 20000
ERROR_COLOUR = "#ff8a80"
TEXT_COLOUR = "#dcdde0"


class JobStatus(QWidget):
    def __init__(self, state: DeskState, status_bar: QStatusBar, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("jobStatus")
        self.state = state
        self.status_bar = status_bar
        self.jobs: list[Job] = []
        self._started: dict[Job, float] = {}
        self.label = QLabel()
        self.label.setObjectName("jobLabel")
        self.bar = QProgressBar()
        self.bar.setObjectName("jobProgress")
        self.cancel = QToolButton()
        self.cancel.setText("✕")
        self.cancel.setToolTip("Stop this job")
        self.cancel.setAutoRaise(True)
        self.cancel.clicked.connect(self.cancel_current)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label)
        layout.addWidget(self.bar)
        layout.addWidget(self.cancel)
        # Showing and hiding must not change the status bar's size: a relayout repaints the whole desk.
        for widget in (self.bar, self.cancel):
            policy = widget.sizePolicy()
            policy.setRetainSizeWhenHidden(True)
            widget.setSizePolicy(policy)
        # Fixed sizes stop text and progress changes from re-laying out the window (a full repaint).
        self.label.setFixedSize(320, 18)
        self.bar.setFixedSize(160, 14)
        self.cancel.setFixedSize(20, 18)
        self.setFixedSize(520, 20)
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.timeout.connect(self._refresh)
        state.jobs.job_started.connect(self._job_started)
        state.status.connect(self.show_message)
        self._refresh()

    def current(self) -> Job | None:
        return self.jobs[-1] if self.jobs else None

    def _sender_job(self) -> Job:
        job = self.sender()
        assert isinstance(job, Job), "connected to jobs' signals only"
        return job

    def _job_started(self, job: Job) -> None:
        self.jobs.append(job)
        self._started[job] = time.monotonic()
        # Methods, not lambdas: a job can outlive this widget, and Qt only disconnects methods of the dead.
        job.progress.connect(self._on_progress)
        job.finished.connect(self._on_finished)
        job.cancelled.connect(self._on_cancelled)
        job.failed.connect(self._on_failed)
        if job.name in QUIET_JOBS:
            self._refresh_timer.start(QUIET_DELAY_MS)
        else:
            self._refresh()

    def _on_progress(self, progress: Progress) -> None:
        job = self._sender_job()
        if job is self._shown():
            self._show_progress(job, progress)

    def _on_finished(self, _result: object) -> None:
        self._ended(self._sender_job())

    def _on_cancelled(self) -> None:
        job = self._sender_job()
        self._ended(job, f"{job.name}: stopped")

    def _on_failed(self, message: str) -> None:
        job = self._sender_job()
        self._ended(job, f"{job.name} failed: {message}", error=True)

    def _shown(self) -> Job | None:
        now = time.monotonic()
        shown = [
            j for j in self.jobs if j.name not in QUIET_JOBS or now - self._started.get(j, now) >= QUIET_DELAY_MS / 1000
        ]
        return shown[-1] if shown else None

    def _show_progress(self, job: Job, progress: Progress) -> None:
        total = progress.total
        message = progress.message
        self._set_label(f"{job.name}: {message}" if message else job.name)
        if total > 0:
            self.bar.setRange(0, 1000)
            self.bar.setValue(int(1000 * max(0.0, min(1.0, progress.done / total))))
        else:
            self.bar.setRange(0, 0)

    def _ended(self, job: Job, message: str = "", error: bool = False) -> None:
        if job in self.jobs:
            self.jobs.remove(job)
        self._started.pop(job, None)
        if message:
            self.show_message(message, error=error)
        self._refresh()

    def _refresh(self) -> None:
        job = self._shown()
        self.bar.setVisible(job is not None)
        self.cancel.setVisible(job is not None)
        if job is None:
            self.label.clear()
            return
        self._set_label(job.name)
        self.bar.setRange(0, 0)
        if job.last_progress is not None:
            self._show_progress(job, job.last_progress)

    def _set_label(self, text: str) -> None:
        metrics = self.label.fontMetrics()
        self.label.setText(metrics.elidedText(text, Qt.TextElideMode.ElideRight, self.label.width()))
        self.label.setToolTip(text)

    def cancel_current(self) -> None:
        job = self._shown()
        if job is not None:
            job.stop()
            self.label.setText(f"{job.name}: stopping…")

    def is_busy(self) -> bool:
        return not self.bar.isHidden()

    def show_message(self, message: str, error: bool = False) -> None:
        palette = self.status_bar.palette()
        palette.setColor(QPalette.ColorRole.WindowText, QColor(ERROR_COLOUR if error else TEXT_COLOUR))
        self.status_bar.setPalette(palette)
        self.status_bar.showMessage(message, ERROR_MS if error else MESSAGE_MS)
