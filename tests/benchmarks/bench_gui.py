"""Desk responsiveness: first window, GUI-thread stalls under jobs, pool scrolling, cut-line redraw.

Run: QT_QPA_PLATFORM=offscreen python tests/benchmarks/bench_gui.py [--json]
Targets: first window with the demo under 3 s; no stall over 50 ms; re-cut redraw under 50 ms.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
TRAINING_SAMPLE_S = int(os.environ.get("BENCH_TRAINING_S", "60"))
STARTUP_STALLS: list[float] = []
HOME = Path(os.environ.setdefault("MIXDESK_HOME", tempfile.mkdtemp(prefix="mixdesk-bench-")))

FIRST_WINDOW_SCRIPT = r"""
import sys, time
t0 = time.perf_counter()
from PySide6.QtCore import QSettings, QTimer
from mixdesk.gui.app import application
from mixdesk.gui.main_window import MainWindow
from mixdesk.gui.state import DeskState
from mixdesk.library.demo import demo_project_path
from mixdesk.library.project import Project
app = application()
window = MainWindow(DeskState(QSettings(sys.argv[1], QSettings.Format.IniFormat)))
window.show()
shown = time.perf_counter() - t0
window.actions_.set_project(Project.open(demo_project_path()))
pool = window.panel("poolView")
def check():
    if pool.proxy.rowCount() and window.panel("trackView").isVisible():
        print(f"{shown:.3f} {time.perf_counter() - t0:.3f}")
        window.close()
    else:
        QTimer.singleShot(5, check)
QTimer.singleShot(0, check)
app.exec()
"""


class StallMeter:
    """Samples the event loop with a 5 ms timer; a late tick is time the GUI thread could not react."""

    def __init__(self) -> None:
        from PySide6.QtCore import QTimer

        self.worst_ms = 0.0
        self.ticks = 0
        self._last = time.perf_counter()
        self.timer = QTimer()
        self.timer.setInterval(5)
        self.timer.timeout.connect(self._tick)

    def _tick(self) -> None:
        now = time.perf_counter()
        self.worst_ms = max(self.worst_ms, (now - self._last) * 1000.0 - 5.0)
        self._last = now
        self.ticks += 1

    def start(self) -> None:
        self._last = time.perf_counter()
        self.timer.start()

    def stop(self) -> float:
        self.timer.stop()
        return self.worst_ms


def spin(app, condition, timeout_s: float) -> bool:
    deadline = time.perf_counter() + timeout_s
    while not condition():
        if time.perf_counter() > deadline:
            return False
        app.processEvents()
        time.sleep(0.001)
    return True


def first_window() -> tuple[float, float]:
    from mixdesk.library.demo import open_demo_project

    open_demo_project().close()  # synthesis and import are not part of start-up
    settings = Path(tempfile.mkdtemp()) / "desk.ini"
    times = []
    for _ in range(2):
        out = subprocess.run(
            [sys.executable, "-c", FIRST_WINDOW_SCRIPT, str(settings)],
            capture_output=True,
            text=True,
            timeout=120,
            env=os.environ.copy(),
        )
        line = [ln for ln in out.stdout.splitlines() if ln.strip()][-1]
        times.append(tuple(float(v) for v in line.split()))
    return min(times, key=lambda t: t[1])


def make_window(app):
    from PySide6.QtCore import QSettings

    from mixdesk.gui.main_window import MainWindow
    from mixdesk.gui.state import DeskState

    window = MainWindow(DeskState(QSettings(str(Path(tempfile.mkdtemp()) / "d.ini"), QSettings.Format.IniFormat)))
    window.resize(1600, 960)
    window.show()
    # Let the start-up work (loading the training libraries in a job) finish before measuring anything.
    meter = StallMeter()
    meter.start()
    spin(app, lambda: window.panels.get("trainingPanel") is not None and not window.state.jobs.active(), 120)
    STARTUP_STALLS.append(meter.stop())
    return window


def import_stall(app) -> tuple[float, float, int]:
    from mixdesk.core.demo import ensure_demo_tracks
    from mixdesk.library.project import Project

    window = make_window(app)
    folder = ensure_demo_tracks()[0].parent
    project = Project.open(Path(tempfile.mkdtemp()) / "import.mixdesk")
    window.actions_.set_project(project)
    spin(app, lambda: False, 0.5)  # opening the project repaints every panel; that is not the import's doing
    meter = StallMeter()
    meter.start()
    start = time.perf_counter()
    job = window.actions_.import_paths([folder])
    spin(app, lambda: not job.is_running() and window.panel("poolView").proxy.rowCount() > 0, 300)
    duration = time.perf_counter() - start
    spin(app, lambda: not window.state.jobs.active(), 30)
    worst = meter.stop()
    rows = window.panel("poolView").proxy.rowCount()
    window.close()
    return worst, duration, rows


def training_stall(app) -> tuple[float | None, str]:
    from mixdesk.library.demo import open_demo_project

    window = make_window(app)
    window.actions_.set_project(open_demo_project())
    panel = window.panel("trainingPanel")
    if not hasattr(panel, "start_training"):
        window.close()
        return None, "no training panel"
    panel.epochs_spin.setValue(1)
    spin(app, lambda: not window.state.jobs.active(), 30)
    spin(app, lambda: False, 0.5)
    meter = StallMeter()
    meter.start()
    panel.start_training()
    job = panel.job
    # The stall is what matters, not the model: a long run is sampled for a while, then stopped.
    ok = job is not None and spin(app, lambda: not job.is_running(), TRAINING_SAMPLE_S)
    worst = meter.stop()
    outcome = "n/a" if job is None else job.state if ok else f"sampled {TRAINING_SAMPLE_S} s, then stopped"
    if job is not None and job.is_running():
        job.stop()
        spin(app, lambda: not job.is_running(), 60)
    window.close()
    return worst, outcome


def pool_scroll(app, target_chunks: int = 10000) -> tuple[int, float, float, float]:
    from mixdesk.config import ChunkingConfig
    from mixdesk.gui.silence_panel import recut
    from mixdesk.library.demo import open_demo_project

    project = open_demo_project()
    total_s = sum(t.duration_s for t in project.tracks())
    recut(project, ChunkingConfig(mode="fixed", fixed_length_s=total_s / target_chunks))
    window = make_window(app)
    start = time.perf_counter()
    window.actions_.set_project(project)
    load_s = time.perf_counter() - start
    pool = window.panel("poolView")
    table = pool.table
    bar = table.verticalScrollBar()
    rows = pool.proxy.rowCount()
    spin(app, lambda: len(pool.thumbnails) >= rows or not window.state.jobs.active(), 60)
    frames = []
    for value in range(0, bar.maximum(), max(1, bar.maximum() // 300)):
        t0 = time.perf_counter()
        bar.setValue(value)
        table.viewport().repaint()
        frames.append((time.perf_counter() - t0) * 1000.0)
        app.processEvents()
    window.close()
    project.close()
    return rows, load_s, float(sum(frames) / len(frames)), float(max(frames))


def recut_redraw(app) -> tuple[float, float, int]:
    from mixdesk.library.demo import open_demo_project

    window = make_window(app)
    project = open_demo_project()
    window.actions_.set_project(project)
    state = window.state
    silence, track = window.panel("silencePanel"), window.panel("trackView")
    chunk = project.chunks()[1]
    state.select_chunk(chunk.id)
    window.docks["silencePanel"].raise_()
    spin(app, lambda: track.picture is not None and chunk.track_id in silence.envelopes, 60)
    times = []
    for i in range(40):
        t0 = time.perf_counter()
        silence.set_threshold_db(-30.0 + (i % 20))
        track.canvas.repaint()
        silence.histogram.repaint()
        times.append((time.perf_counter() - t0) * 1000.0)
    window.close()
    project.close()
    times.sort()
    return times[len(times) // 2], times[-1], len(silence.preview)


def main() -> int:
    from mixdesk.gui.app import application

    as_json = "--json" in sys.argv
    results = {}
    shown, loaded = first_window()
    results["first_window_s"] = shown
    results["first_window_with_demo_pool_s"] = loaded
    app = application()
    worst, duration, rows = import_stall(app)
    results.update(import_worst_stall_ms=worst, import_s=duration, import_rows=rows)
    worst, outcome = training_stall(app)
    results.update(training_worst_stall_ms=worst, training_outcome=outcome)
    rows, load_s, mean_ms, worst_ms = pool_scroll(app)
    results.update(pool_rows=rows, pool_load_s=load_s, pool_frame_mean_ms=mean_ms, pool_frame_worst_ms=worst_ms)
    median, worst, count = recut_redraw(app)
    results.update(recut_redraw_median_ms=median, recut_redraw_worst_ms=worst, recut_chunks=count)
    results["startup_library_loading_worst_stall_ms"] = max(STARTUP_STALLS)
    if as_json:
        print(json.dumps(results, indent=2))
    else:
        for key, value in results.items():
            print(f"{key:32s} {value:.3f}" if isinstance(value, float) else f"{key:32s} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
