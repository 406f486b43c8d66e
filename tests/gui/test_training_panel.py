"""The training panel: a tiny run draws curves per epoch, ends with metrics, and lists its model."""

from __future__ import annotations

import pytest

from panel_fixtures import shared_project  # noqa: F401 - fixture

torch = pytest.importorskip("torch")


@pytest.fixture
def panel(qtbot, desk_state, shared_project):
    from mixdesk.gui.training_panel import TrainingPanel

    torch.set_num_threads(1)
    desk_state.set_project(shared_project)
    widget = TrainingPanel(desk_state)
    qtbot.addWidget(widget)
    widget.resize(1000, 560)
    return widget


def tiny_run(panel, epochs=2):
    panel.epochs_spin.setValue(epochs)
    panel.batch_spin.setValue(32)
    panel.window_spin.setValue(0.5)
    panel.device_combo.setCurrentIndex(panel.device_combo.findData("cpu"))


def test_cuda_choice_explains_why_it_is_disabled(panel):
    from PySide6.QtCore import Qt

    index = panel.device_combo.findData("cuda")
    item = panel.device_combo.model().item(index)
    if torch.cuda.is_available():
        assert item.isEnabled()
    else:
        assert not item.isEnabled()
        assert "CUDA" in panel.device_combo.itemData(index, Qt.ToolTipRole)


def test_training_draws_curves_and_registers_the_model(qtbot, panel, desk_state):
    tiny_run(panel, epochs=3)
    panel.start_training()
    assert not panel.start_button.isEnabled() and panel.stop_button.isEnabled()
    with qtbot.waitSignal(panel.training_finished, timeout=90000) as blocker:
        pass
    outcome = blocker.args[0]
    counts = panel.curves.point_counts()
    epochs_run = len(panel.history.snapshot())
    assert 1 <= epochs_run <= 3
    assert counts["train_loss"] == counts["train_acc"] == epochs_run
    assert counts["val_loss"] == epochs_run
    assert panel.start_button.isEnabled()
    assert panel.progress_bar.value() == 1000
    # Held-out metrics for the model and both baselines, one row each.
    labels = [panel.metrics_table.verticalHeaderItem(r).text() for r in range(panel.metrics_table.rowCount())]
    assert labels[:1] == ["model"] and {"random", "similarity"} <= set(labels)
    assert panel.metrics_table.item(0, 0).text() != "—"
    paths = [row["path"] for row in desk_state.project.models()]
    assert outcome.model_path in paths
    assert panel.models_list.currentItem().data(256) == outcome.model_path


def test_stop_keeps_the_last_checkpoint(qtbot, panel, desk_state):
    tiny_run(panel, epochs=200)
    seen = []
    panel.start_training()

    def first_epoch_done():
        seen[:] = panel.history.snapshot()
        return len(seen) >= 1

    qtbot.waitUntil(first_epoch_done, timeout=60000)
    panel.stop_training()
    with qtbot.waitSignal(panel.training_finished, timeout=30000) as blocker:
        pass
    outcome = blocker.args[0]
    assert outcome.stopped
    assert len(panel.history.snapshot()) < 200
    assert outcome.model_path in [row["path"] for row in desk_state.project.models()]
    assert panel.progress_bar.format() == "stopped"


def test_models_list_offers_the_baseline_and_a_recut_reloads_the_scorer(qtbot, panel, desk_state):
    from mixdesk.gui.training_run import BASELINE_KEY

    keys = [panel.models_list.item(i).data(256) for i in range(panel.models_list.count())]
    assert BASELINE_KEY in keys
    panel.models_list.setCurrentRow(keys.index(BASELINE_KEY))
    with qtbot.waitSignal(desk_state.scorer_changed, timeout=20000):
        panel.use_button.click()
    first = desk_state.scorer
    assert hasattr(first, "successor_scores") and "Similarity" in panel.model_status.text()
    with qtbot.waitSignal(desk_state.scorer_changed, timeout=20000):
        desk_state.notify_chunks_changed()
    assert desk_state.scorer is not first
