"""After training: results where they are seen, a warning when the untrained baseline does better, and a
"Use this model" that makes the desk score with it and says so."""

from __future__ import annotations

import numpy as np
import pytest

from panel_fixtures import shared_project  # noqa: F401 - fixture

torch = pytest.importorskip("torch")

BELOW = {
    "auc": 0.70,
    "accuracy": 0.6,
    "hit1": 0.2,
    "hit5": 0.5,
    "mrr": 0.30,
    "heldout_tracks": 2,
    "baselines": {"random": {"auc": 0.5, "mrr": 0.1}, "similarity": {"auc": 0.75, "mrr": 0.45}},
}
ABOVE = {**BELOW, "auc": 0.90, "mrr": 0.60}


from mixdesk.ml.ranking import TransitionScorer  # noqa: E402 - after torch is known to be there


class FakeModel(TransitionScorer):
    """Stands in for a trained model file loaded as a scorer: the desk knows a model by its file, and
    these tests never ask it to encode, so no network is built."""

    def __init__(self, path):  # no super().__init__: there is no network to load
        self.path = path

    def prepare(self, *_args, **_kwargs) -> None:
        pass

    def successor_scores(self, _a, candidates):
        return np.full(len(candidates), 0.5, dtype=np.float32)


@pytest.fixture
def panel(qtbot, desk_state, shared_project, monkeypatch, tmp_path):
    from mixdesk.gui import training_run as run
    from mixdesk.gui.training_panel import TrainingPanel

    desk_state.set_project(shared_project)
    widget = TrainingPanel(desk_state)
    qtbot.addWidget(widget)
    widget.resize(420, 900)  # docked: a narrow, tall column
    widget.show()
    model_path = str(tmp_path / "night.pt")
    monkeypatch.setattr(run, "load_scorer", lambda _project, path, _device, _p, _s: FakeModel(path))
    widget.fake_model_path = model_path
    return widget


def finish_with(qtbot, panel, monkeypatch, metrics):
    from mixdesk.gui import training_run as run

    outcome = run.TrainOutcome(panel.fake_model_path, "night", False, metrics)
    monkeypatch.setattr(run, "run_training", lambda *_args: outcome)
    with qtbot.waitSignal(panel.training_finished, timeout=10000):
        panel.start_training()
    return outcome


def test_results_come_first_with_a_warning_below_the_baseline(qtbot, panel, monkeypatch):
    assert not panel.results_box.isVisible()
    finish_with(qtbot, panel, monkeypatch, BELOW)
    assert panel.results_box.isVisible()
    # Above the settings and the curves, so a narrow dock shows it without scrolling.
    assert panel.results_box.geometry().bottom() < panel.splitter.geometry().top()
    assert panel.results_box.geometry().bottom() < 500
    assert "MRR 0.300, AUC 0.700" in panel.result_label.text()
    warning = panel.baseline_warning
    assert warning.isVisible()
    assert "below the similarity baseline" in warning.text()
    assert "MRR 0.300 < 0.450" in warning.text() and "AUC 0.700 < 0.750" in warning.text()
    assert panel.metrics_table.item(0, 0).text() == "0.700"


def test_no_warning_when_the_model_beats_the_baseline(qtbot, panel, monkeypatch):
    finish_with(qtbot, panel, monkeypatch, ABOVE)
    assert panel.results_box.isVisible() and not panel.baseline_warning.isVisible()


def test_use_this_model_makes_the_desk_score_with_it(qtbot, panel, desk_state, monkeypatch):
    outcome = finish_with(qtbot, panel, monkeypatch, ABOVE)
    button = panel.use_trained_button
    assert button.isVisible() and button.isEnabled() and button.text() == "Use this model"
    with qtbot.waitSignal(desk_state.scorer_changed, timeout=10000):
        button.click()
    assert desk_state.scorer.path == outcome.model_path
    assert panel.in_use_label.text() == "Model in use: night"
    assert panel.model_status.text() == "In use: night"
    assert button.text() == "In use" and not button.isEnabled()


def test_status_names_a_model_chosen_elsewhere(qtbot, panel, desk_state):
    from mixdesk.mix.scorers import similarity_scorer

    desk_state.set_scorer(similarity_scorer())
    assert panel.in_use_label.text() == "Model in use: Similarity baseline (no training)"


def test_training_uses_train_configs_batch_size(qtbot, desk_state, shared_project, monkeypatch):
    """Batch size 0 lets training pick by device (256 on CUDA, 64 on a CPU); the desk must not pin 64."""
    import mixdesk.ml.pipeline as pipeline
    from mixdesk.gui import training_run as run
    from mixdesk.gui.training_panel import TrainingPanel
    from mixdesk.ml.training import TrainConfig

    seen = {}

    def fake_train(_project, config, *_args, **_kwargs):
        seen["config"] = config
        return None

    monkeypatch.setattr(pipeline, "train_on_project", fake_train)
    monkeypatch.setattr(run, "evaluate_model", lambda *_args: {})
    desk_state.set_project(shared_project)
    panel = TrainingPanel(desk_state)
    qtbot.addWidget(panel)
    assert panel.batch_spin.text() == "Auto (by device)"
    with qtbot.waitSignal(panel.training_finished, timeout=10000):
        panel.start_training()
    assert seen["config"].batch_size == TrainConfig().batch_size == 0
    assert seen["config"].lr == TrainConfig().lr
