"""Long work off the GUI thread: a plain function runs on a worker QThread and reports through signals.

The function receives ``(on_progress, should_stop)`` like every long function in mixdesk. Progress is
coalesced in a mailbox so a chatty function (a training step per millisecond) cannot flood the event
loop: the GUI side delivers at most one progress signal per ``PROGRESS_INTERVAL_MS`` and always
delivers the last one before ``finished``/``failed``/``cancelled``.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
import traceback
from typing import Any, Callable

from PySide6.QtCore import QObject, QThread, QTimer, Signal, Slot

from mixdesk.core.audio import AudioError
from mixdesk.mix.encoders import EncoderError
from mixdesk.progress import Cancelled, Progress, ProgressFn, StopFn

log = logging.getLogger(__name__)

PROGRESS_INTERVAL_MS = 50
JobFn = Callable[[ProgressFn, StopFn], Any]


# Errors whose text mixdesk writes for the person at the desk (a file and what is wrong with it).
_READABLE = (OSError, ValueError, AudioError, EncoderError)
_MAX_MESSAGE = 200


def _first_line(text: str) -> str:
    line = " ".join(text.strip().splitlines()[0].split()) if text.strip() else ""
    return line if len(line) <= _MAX_MESSAGE else line[: _MAX_MESSAGE - 1] + "…"


def user_message(exc: BaseException) -> str:
    """One line a user can act on, never an exception's raw text; the traceback goes to the log instead."""
    if isinstance(exc, OSError) and exc.strerror:
        where = exc.filename if exc.filename is not None else ""
        return f"{exc.strerror}: {where}" if where else str(exc.strerror)
    if isinstance(exc, _READABLE) and _first_line(str(exc)):
        return _first_line(str(exc))
    if isinstance(exc, (KeyError, IndexError)):
        return "it refers to a chunk or track that is no longer in the project (removed or re-cut)"
    if isinstance(exc, MemoryError):
        return "there was not enough memory for it"
    return "an unexpected error stopped it; the details are in the log"


class _Mailbox:
    """Latest progress from the worker, handed over under a lock; only one wake-up per take."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._latest: Progress | None = None
        self._waiting = False

    def put(self, progress: Progress) -> bool:
        with self._lock:
            self._latest = progress
            first = not self._waiting
            self._waiting = True
            return first

    def take(self) -> Progress | None:
        with self._lock:
            progress, self._latest, self._waiting = self._latest, None, False
            return progress


class _Worker(QObject):
    """Lives on the worker thread; touches no widget, only emits."""

    progress_ready = Signal()
    succeeded = Signal(object)
    errored = Signal(str)
    stopped = Signal()

    def __init__(self, fn: JobFn, mailbox: _Mailbox, stop_flag: threading.Event) -> None:
        super().__init__()
        self._fn = fn
        self._mailbox = mailbox
        self._stop_flag = stop_flag

    def _on_progress(self, progress: Progress) -> None:
        if self._mailbox.put(progress):
            self.progress_ready.emit()

    @Slot()
    def run(self) -> None:
        try:
            result = self._fn(self._on_progress, self._stop_flag.is_set)
        except Cancelled:
            self.stopped.emit()
        except BaseException as exc:  # noqa: BLE001 - every failure must reach the user, not kill the thread
            log.error("job failed:\n%s", traceback.format_exc())
            self.errored.emit(user_message(exc))
        else:
            if self._stop_flag.is_set() and result is None:
                self.stopped.emit()
            else:
                self.succeeded.emit(result)
        finally:
            # Quit from inside the thread: a queued quit would wait for a GUI thread blocked in shutdown().
            QThread.currentThread().quit()


class Job(QObject):
    """Handle on one running function, owned by the GUI thread."""

    progress = Signal(object)
    finished = Signal(object)
    failed = Signal(str)
    cancelled = Signal()
    _thread_ended = Signal()

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self.state = "running"  # running | finished | failed | cancelled
        self.result: Any = None
        self.error: str | None = None
        self.last_progress: Progress | None = None
        self._stop_flag = threading.Event()
        self._mailbox = _Mailbox()
        self._last_delivery = 0.0
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._deliver)

    def stop(self) -> None:
        self._stop_flag.set()

    def stop_requested(self) -> bool:
        return self._stop_flag.is_set()

    def is_running(self) -> bool:
        return self.state == "running"

    @Slot()
    def _on_progress_ready(self) -> None:
        if self._timer.isActive():
            return
        wait_ms = PROGRESS_INTERVAL_MS - (time.monotonic() - self._last_delivery) * 1000.0
        if wait_ms <= 0:
            self._deliver()
        else:
            self._timer.start(int(wait_ms) + 1)

    @Slot()
    def _deliver(self) -> None:
        progress = self._mailbox.take()
        if progress is None:
            return
        self._last_delivery = time.monotonic()
        self.last_progress = progress
        self.progress.emit(progress)

    def _flush(self) -> None:
        self._timer.stop()
        self._deliver()

    @Slot()
    def _on_thread_finished(self) -> None:
        # Connected as a slot of this GUI-thread object so the bookkeeping runs on the GUI thread.
        self._thread_ended.emit()

    @Slot(object)
    def _on_succeeded(self, result: Any) -> None:
        self._flush()
        self.state, self.result = "finished", result
        self.finished.emit(result)

    @Slot(str)
    def _on_errored(self, message: str) -> None:
        self._flush()
        self.state, self.error = "failed", message
        self.failed.emit(message)

    @Slot()
    def _on_stopped(self) -> None:
        self._flush()
        self.state = "cancelled"
        self.cancelled.emit()


_ORPHANS: list[tuple] = []


def _adopt(job: "Job", thread: QThread, worker: QObject) -> None:
    job.blockSignals(True)
    _ORPHANS.append((job, thread, worker))
    if len(_ORPHANS) == 1:
        atexit.register(wait_for_unfinished_jobs)


def wait_for_unfinished_jobs(timeout_ms: int = 30000) -> None:
    """A QThread destroyed while running aborts the process; let stragglers finish first."""
    for _job, thread, _worker in _ORPHANS:
        thread.wait(timeout_ms)


class JobRunner(QObject):
    """Starts jobs on their own QThreads and keeps every Python reference alive until the thread ends."""

    started = Signal(str)
    ended = Signal(str)
    job_started = Signal(object)  # the Job itself, for views that follow its progress

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._running: dict[Job, tuple[QThread, _Worker]] = {}

    def run(self, name: str, fn: JobFn) -> Job:
        job = Job(name, self)
        worker = _Worker(fn, job._mailbox, job._stop_flag)
        thread = QThread()
        thread.setObjectName(f"job:{name}")
        worker.moveToThread(thread)
        worker.progress_ready.connect(job._on_progress_ready)
        worker.succeeded.connect(job._on_succeeded)
        worker.errored.connect(job._on_errored)
        worker.stopped.connect(job._on_stopped)
        thread.started.connect(worker.run)
        thread.finished.connect(job._on_thread_finished)
        job._thread_ended.connect(lambda: self._forget(job))
        self._running[job] = (thread, worker)
        self.started.emit(name)
        self.job_started.emit(job)
        thread.start()
        return job

    def active(self) -> list[Job]:
        return [job for job in self._running if job.is_running()]

    def _forget(self, job: Job) -> None:
        entry = self._running.pop(job, None)
        if entry is None:
            return
        thread, worker = entry
        worker.deleteLater()
        thread.deleteLater()
        self.ended.emit(job.name)

    def shutdown(self, timeout_ms: int = 3000) -> None:
        """Ask every job to stop and wait for its thread; used when the window closes."""
        for job in list(self._running):
            job.stop()
        deadline = time.monotonic() + timeout_ms / 1000.0
        for job, (thread, _worker) in list(self._running.items()):
            remaining = max(0, int((deadline - time.monotonic()) * 1000))
            if not thread.wait(remaining):
                # Killing a thread mid-import or mid-write corrupts far more than a late stop costs:
                # keep it referenced until it ends on its own, and wait for it at exit.
                log.warning("job %r did not stop within %d ms; leaving it to finish", job.name, timeout_ms)
                _adopt(job, thread, _worker)
                del self._running[job]
                self.ended.emit(job.name)
        for job in list(self._running):
            # Results still queued for delivery would reach panels that are closing or gone.
            job.blockSignals(True)
            self._forget(job)
