"""Jobs run off the GUI thread, report throttled progress, and end in exactly one terminal signal."""

from __future__ import annotations

import threading
import time

from mixdesk.progress import Cancelled, Progress, check_stop


def test_job_delivers_throttled_progress_and_result(qtbot, desk_state):
    threads = []
    received = []

    def work(on_progress, should_stop):
        threads.append(threading.current_thread())
        for i in range(2000):
            on_progress(Progress(i + 1, 2000, "step"))
        time.sleep(0.12)
        return 42

    job = desk_state.jobs.run("count", work)
    job.progress.connect(received.append)
    with qtbot.waitSignal(job.finished, timeout=5000) as blocker:
        pass
    assert blocker.args == [42]
    assert threads[0] is not threading.main_thread()
    assert 1 <= len(received) <= 10
    assert received[-1].done == 2000
    qtbot.waitUntil(lambda: not desk_state.jobs.active() and not desk_state.jobs._running, timeout=3000)


def test_failing_job_reports_one_line(qtbot, desk_state):
    def work(on_progress, should_stop):
        raise ValueError("bad threshold\nsecond line")

    job = desk_state.jobs.run("broken", work)
    with qtbot.waitSignal(job.failed, timeout=5000) as blocker:
        pass
    assert blocker.args == ["bad threshold"]
    assert job.state == "failed"


def test_stop_cancels_cooperatively(qtbot, desk_state):
    ended = []
    desk_state.jobs.ended.connect(ended.append)

    def work(on_progress, should_stop):
        while True:
            check_stop(should_stop)
            time.sleep(0.005)

    job = desk_state.jobs.run("endless", work)
    assert desk_state.jobs.active() == [job]
    with qtbot.waitSignal(job.cancelled, timeout=5000):
        job.stop()
    qtbot.waitUntil(lambda: ended == ["endless"], timeout=3000)
    assert desk_state.jobs.active() == []


def test_shutdown_waits_for_running_jobs(qtbot, desk_state):
    def work(on_progress, should_stop):
        while not should_stop():
            time.sleep(0.005)
        raise Cancelled()

    desk_state.jobs.run("a", work)
    desk_state.jobs.run("b", work)
    desk_state.jobs.shutdown(3000)
    assert desk_state.jobs._running == {}


def test_shutdown_leaves_a_stubborn_job_running_instead_of_killing_it(qtbot, desk_state):
    import mixdesk.gui.jobs as jobs

    release = threading.Event()

    def stubborn(on_progress, should_stop):
        release.wait(5)
        return "done"

    job = desk_state.jobs.run("stubborn", stubborn)
    desk_state.jobs.shutdown(50)
    assert desk_state.jobs._running == {}
    orphan = [entry for entry in jobs._ORPHANS if entry[0] is job]
    assert orphan and orphan[0][1].isRunning()
    release.set()
    assert orphan[0][1].wait(5000)
