"""Models and inputs on different devices, and non-finite losses and scores.

Without a GPU the mixed-device path runs on torch's "meta" device: a model moved there computes
shapes only, and fails exactly as a CUDA model does when handed CPU tensors.
"""

import numpy as np
import pytest
import torch

from mixdesk.ml.batches import DeviceTable, pair_logits
from mixdesk.ml.checkpoint import ModelFileError, load_model
from mixdesk.ml.metrics import NonFiniteScoreError
from mixdesk.ml.models import build_model, predict
from mixdesk.ml.ranking import TransitionScorer
from mixdesk.ml.training import NonFiniteLossError, TrainConfig, fit

META = torch.device("meta")


def _fitted_model(table, config):
    torch.manual_seed(0)
    model = build_model(config)
    model.fit_input_stats(table, torch.arange(len(table)))
    return model


def test_a_model_on_another_device_takes_inputs_from_a_cpu_table(synthetic_table, tiny_model_config):
    model = _fitted_model(synthetic_table, tiny_model_config).to(META).eval()
    cpu_table = DeviceTable(synthetic_table, torch.device("cpu"))
    rows = torch.arange(len(synthetic_table))
    with torch.no_grad():
        logits = pair_logits(model, cpu_table, rows, rows.flip(0))
    assert logits.device == META and logits.shape == (len(synthetic_table),)
    probs = predict(model, synthetic_table.end[:3], synthetic_table.start[:3])
    assert probs.device == META and probs.shape == (3,)


def test_a_model_with_descriptors_on_another_device(synthetic_table, tiny_model_config):
    from dataclasses import replace

    config = replace(tiny_model_config, descriptor_dim=3)
    table = synthetic_table.with_descriptors({}, dim=3)
    model = _fitted_model(table, config).to(META).eval()
    rows = torch.arange(4)
    with torch.no_grad():
        assert pair_logits(model, DeviceTable(table, torch.device("cpu"), 3), rows, rows).device == META


def test_the_scorer_encodes_on_the_models_device(synthetic_table, tiny_model_config):
    model = _fitted_model(synthetic_table, tiny_model_config)
    scorer = TransitionScorer(model, {"feature": synthetic_table.config, "model": tiny_model_config}, "cpu")
    scorer.model.to(META)  # moved after the scorer was made: the scorer follows the model
    scorer.prepare_table(synthetic_table)
    assert scorer.device == META and all(t.device == META for t in scorer._ends + scorer._starts)


def test_a_nan_loss_stops_training_and_keeps_the_last_good_epoch(tiny_data, tiny_model_config, tmp_path, monkeypatch):
    import mixdesk.ml.training as training

    steps = (len(tiny_data.pairs("train", 0)) + 15) // 16
    calls = {"n": 0}
    real = training.pair_and_grid_logits

    def poisoned_in_epoch_three(*args, **kwargs):
        calls["n"] += 1
        logits, grid = real(*args, **kwargs)
        return (logits * float("nan"), grid) if calls["n"] > 2 * steps else (logits, grid)

    monkeypatch.setattr(training, "pair_and_grid_logits", poisoned_in_epoch_three)
    config = TrainConfig(
        model=tiny_model_config, epochs=4, batch_size=16, num_threads=1, patience=50, out=str(tmp_path / "model.pt")
    )
    with pytest.raises(NonFiniteLossError, match="epoch 3"):
        fit(config, tiny_data)
    saved = torch.load(tmp_path / "model.pt", weights_only=True)
    assert saved["last"]["epoch"] == 2 and len(saved["history"]) == 2
    assert all(torch.isfinite(v).all() for v in saved["model"].values() if v.is_floating_point())
    load_model(tmp_path / "model.pt")  # still a usable model


def test_nan_weights_are_refused_not_reported_as_perfect(synthetic_table, tiny_model_config, tmp_path):
    from mixdesk.ml.checkpoint import save_checkpoint
    from mixdesk.ml.evaluation import evaluate_table

    model = _fitted_model(synthetic_table, tiny_model_config)
    with torch.no_grad():
        model.out.bias.fill_(float("nan"))
    scorer = TransitionScorer(model, {"feature": synthetic_table.config, "model": tiny_model_config}, "cpu")
    scorer.prepare_table(synthetic_table)
    ids = [int(c) for c in synthetic_table.chunk_ids]
    with pytest.raises(NonFiniteScoreError):
        scorer.successor_scores(ids[0], ids[1:])

    class NanScorer:
        def successor_scores(self, a_id, candidate_ids):
            return np.full(len(candidate_ids), np.nan)

    with pytest.raises(NonFiniteScoreError):
        evaluate_table(synthetic_table, [1, 2], NanScorer(), candidates=8)
    configs = {"feature": synthetic_table.config.to_dict(), "model": tiny_model_config.to_dict()}
    save_checkpoint(tmp_path / "nan.pt", {"configs": configs, "model": model.state_dict()})
    with pytest.raises(ModelFileError, match="NaN"):
        load_model(tmp_path / "nan.pt")
