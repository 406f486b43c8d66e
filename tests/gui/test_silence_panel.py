"""Tuning the silence cut: live preview lines and counts, then applying it all-or-nothing as a job."""

from __future__ import annotations

import pytest

from mixdesk.gui.silence_panel import SilencePanel, recut
from mixdesk.gui.track_view import TrackView


@pytest.fixture
def tuned(qtbot, desk_state, small_project):
    panel = SilencePanel(desk_state)
    track_view = TrackView(desk_state)
    qtbot.addWidget(panel)
    qtbot.addWidget(track_view)
    panel.threshold_shown.connect(track_view.set_threshold)
    desk_state.set_project(small_project)
    track_id = small_project.tracks()[0].id
    desk_state.select_track(track_id)
    qtbot.waitUntil(lambda: track_id in panel.envelopes, timeout=5000)
    return panel, track_view, track_id


def test_threshold_change_redraws_cut_lines(qtbot, tuned, small_project):
    panel, track_view, track_id = tuned
    committed = len(small_project.chunks(track_id))
    assert track_view.line_count()[0] > committed  # a start and an end line per chunk, shared edges once
    assert track_view.line_count()[1] == 0  # the library cut is what is shown: no preview yet
    panel.min_chunk.setValue(0)
    panel.max_chunk.setValue(0)
    panel.relative.setChecked(False)  # the seed's absolute dBFS threshold
    panel.set_threshold_db(-70.0)  # below every gap of the synthesised songs: one chunk
    assert len(panel.preview) == 1
    assert track_view.line_count()[1] == 2
    panel.set_threshold_db(-20.0)
    assert len(panel.preview) > committed - 2
    assert track_view.line_count()[1] > 2
    assert f"{len(panel.preview)} chunks" in panel.count_label.text()
    assert track_view.thresholds[0].isVisible()
    assert track_view.thresholds[0].value() == pytest.approx(10 ** (-20 / 20))


def test_fixed_mode_and_relative_threshold(qtbot, tuned):
    panel, _view, _track = tuned
    panel.mode.setCurrentIndex(panel.mode.findData("fixed"))
    panel.fixed_length.setValue(2.0)
    panel.max_chunk.setValue(0)
    panel.min_chunk.setValue(0)
    assert not panel.threshold.isEnabled()
    lengths = [e - s for s, e in panel.preview]
    assert max(lengths) <= 2000 and len(panel.preview) >= 9
    panel.mode.setCurrentIndex(panel.mode.findData("silence"))
    panel.relative.setChecked(False)
    before = panel.config().silence_thresh_db
    panel.relative.setChecked(True)
    config = panel.config()
    assert config.relative and config.silence_thresh_db != before


def test_apply_to_all_tracks_changes_pool(qtbot, tuned, small_project):
    from mixdesk.gui.pool_view import PoolView

    panel, _view, _track = tuned
    pool = PoolView(panel.state)
    qtbot.addWidget(pool)
    pool.reload()
    before = pool.proxy.rowCount()
    panel.mode.setCurrentIndex(panel.mode.findData("fixed"))
    panel.fixed_length.setValue(1.0)
    panel.min_chunk.setValue(0)
    panel.max_chunk.setValue(0)
    panel.apply_all.click()
    assert not panel.apply_all.isEnabled()
    qtbot.waitUntil(lambda: pool.proxy.rowCount() != before, timeout=10000)
    assert pool.proxy.rowCount() == len(small_project.chunks()) > before
    assert panel.apply_all.isEnabled()


def test_failed_recut_leaves_project_as_it_was(qtbot, desk_state, small_project, monkeypatch):
    import mixdesk.gui.silence_panel as silence
    import mixdesk.library.project as project_module

    before = [(c.track_id, c.start_ms, c.end_ms) for c in small_project.chunks()]
    calls = []
    real = project_module.chunk_ranges

    def flaky(env, config, downbeats=None):
        calls.append(1)
        if len(calls) == 3:
            raise ValueError("envelope damaged")
        return real(env, config, downbeats)

    monkeypatch.setattr(project_module, "chunk_ranges", flaky)
    config = silence.LIBRARY_CHUNKING.with_(mode="fixed", fixed_length_s=1.0, min_chunk_ms=0, max_chunk_ms=0)
    job = desk_state.jobs.run("Re-cutting tracks", lambda p, s: recut(small_project, config, None, p, s))
    with qtbot.waitSignal(job.failed, timeout=5000) as failed:
        pass
    assert failed.args == ["envelope damaged"]
    assert [(c.track_id, c.start_ms, c.end_ms) for c in small_project.chunks()] == before
