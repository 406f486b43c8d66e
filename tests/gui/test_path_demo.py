"""The whole path through the desk on the demo material, as a user takes it.

Import the demo tracks, re-cut them with a new threshold, train a tiny model and use it, generate a
mix, take a suggestion, inspect and adjust a transition, and export an MP3 that decodes. Each step
checks what the user would see: rows in the pool and playlist, curve points, the file on disk.
"""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")


@pytest.fixture
def window(qtbot, desk_state):
    from mixdesk.gui.main_window import MainWindow

    torch.set_num_threads(1)
    win = MainWindow(desk_state)
    qtbot.addWidget(win)
    win.show()
    return win


def finish(qtbot, job, timeout=60000):
    qtbot.waitUntil(lambda: not job.is_running(), timeout=timeout)
    assert job.state == "finished", job.error


def import_demo(qtbot, window, project_path):
    from mixdesk.core.demo import ensure_demo_tracks

    state, pool = window.state, window.panel("poolView")
    files = ensure_demo_tracks()
    assert window.actions_.open_path(project_path, create=True)
    finish(qtbot, window.actions_.import_paths(files))
    count = len(state.project.chunks())
    assert len(state.project.tracks()) == len(files) and count > 0
    qtbot.waitUntil(lambda: pool.table.model().rowCount() == count, timeout=5000)
    return count


def recut(qtbot, window, threshold_db, chunks_before):
    state, silence, pool = window.state, window.panel("silencePanel"), window.panel("poolView")
    state.select_track(state.project.tracks()[0].id)
    silence.mode.setCurrentIndex(silence.mode.findData("silence"))  # the demo imports on bars
    silence.set_threshold_db(threshold_db)
    with qtbot.waitSignal(state.chunks_changed, timeout=20000):
        silence.apply(all_tracks=True)
    count = len(state.project.chunks())
    assert count != chunks_before
    qtbot.waitUntil(lambda: pool.table.model().rowCount() == count, timeout=5000)


def train_and_use(qtbot, window):
    state, training = window.state, window.panel("trainingPanel")
    training.epochs_spin.setValue(2)
    training.batch_spin.setValue(32)
    training.window_spin.setValue(0.5)
    with qtbot.waitSignal(training.training_finished, timeout=90000) as trained:
        training.start_button.click()
    epochs = len(training.history.snapshot())
    assert training.curves.point_counts()["train_loss"] == epochs >= 1
    assert training.metrics_table.rowCount() == 3  # the model and both baselines
    with qtbot.waitSignal(state.scorer_changed, timeout=30000):
        training.use_button.click()
    assert str(state.scorer.path) == trained.args[0].model_path


def generate(qtbot, window):
    view = window.panel("playlistView")
    view.minutes_spin.setValue(1.0)
    view.generate_button.click()
    qtbot.waitUntil(lambda: view.model.rowCount() > 2 and view.generate_button.isEnabled(), timeout=30000)
    assert view.model.rowCount() == len(window.state.playlist)
    return window.state.playlist.chunk_ids


def take_suggestion(qtbot, window, generated):
    state, view = window.state, window.panel("suggestionsView")
    state.select_playlist_item(0)
    qtbot.waitUntil(lambda: view.model.rowCount() > 0 and not view.job.is_running(), timeout=20000)
    chosen = view.model.rows[0].chunk_id
    view.table.selectRow(0)
    view.apply_current()
    assert state.playlist.chunk_ids == [generated[0], chosen, *generated[1:]]
    assert window.panel("playlistView").model.rowCount() == len(generated) + 1


def adjust_transition(qtbot, window):
    state, view = window.state, window.panel("transitionView")
    state.select_playlist_item(0)
    qtbot.waitUntil(lambda: view.seam is not None and view.row == 0 and not view.job.is_running(), timeout=20000)
    assert view.plots.image.image is not None
    assert view.in_beats  # the demo tracks have beat grids: the crossfade is set in beats
    with qtbot.waitSignal(view.rendered, timeout=20000) as rendered:
        view.beats_spin.setValue(2.0)
    assert state.playlist.items[0].transition.beats == 2.0
    assert rendered.args[0].fade_end_s > rendered.args[0].fade_start_s


def export_mp3(qtbot, window, target):
    from mixdesk.core.audio import decode
    from mixdesk.gui.export_dialog import ExportDialog

    dialog = ExportDialog(window.state, window)
    qtbot.addWidget(dialog)
    dialog.destination_edit.setText(str(target))
    with qtbot.waitSignal(dialog.exported, timeout=60000):
        dialog.export_button.click()
    audio = decode(target)
    from mixdesk.gui.mix_calls import planned_seconds

    # The rendered mix is the planned length to the frame; MP3 adds at most a few codec frames of padding.
    assert abs(audio.duration_s - planned_seconds(window.state.project, window.state.playlist)) < 0.1
    assert float(abs(audio.samples).max()) > 0.05
    assert target.with_suffix(".cue").is_file()


def test_demo_path(qtbot, tmp_path, window):
    chunks = import_demo(qtbot, window, tmp_path / "path.mixdesk")
    recut(qtbot, window, -30.0, chunks)
    train_and_use(qtbot, window)
    generated = generate(qtbot, window)
    take_suggestion(qtbot, window, generated)
    adjust_transition(qtbot, window)
    export_mp3(qtbot, window, tmp_path / "demo mix.mp3")
