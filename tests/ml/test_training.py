import numpy as np
import pytest
import torch

from mixdesk.ml.checkpoint import ModelFileError, load_model
from mixdesk.ml.models import ModelConfig
from mixdesk.ml.runtime import DeviceError, default_threads, resolve_device
from mixdesk.ml.training import EpochReport, TrainConfig, fit
from mixdesk.progress import Cancelled, Progress


def _config(tiny_model_config, tmp_path=None, **kw) -> TrainConfig:
    # These tests compare runs number for number, which only the CPU promises; the GPU has its own tests.
    base = dict(model=tiny_model_config, epochs=3, batch_size=16, lr=5e-3, num_threads=1, patience=50, device="cpu")
    if tmp_path is not None:
        base["out"] = str(tmp_path / "model.pt")
    return TrainConfig(**{**base, **kw})


def _outputs(model, table):
    """Logits of the model (wherever it is) for pairs read from a table kept on the CPU."""
    from mixdesk.ml.batches import DeviceTable, pair_logits

    rows = torch.arange(len(table))
    with torch.no_grad():
        return pair_logits(
            model.eval(), DeviceTable(table, torch.device("cpu"), model.config.descriptor_dim), rows, rows.flip(0)
        ).cpu()


def test_fit_reports_progress_and_writes_a_self_contained_checkpoint(tiny_data, tiny_model_config, tmp_path):
    reports: list[Progress] = []
    result = fit(_config(tiny_model_config, tmp_path), tiny_data, on_progress=reports.append)
    assert len(result.history) == 3
    epochs = [r for r in reports if isinstance(r, EpochReport) and r.val_loss is not None]
    assert [r.epoch for r in epochs] == [1, 2, 3] and epochs[-1].fraction == 1.0
    assert epochs[-1].eta_s == 0.0 and np.isfinite(epochs[0].train_loss) and 0 <= epochs[0].val_acc <= 1
    model, configs = load_model(tmp_path / "model.pt")
    assert configs["model"].conv_channels == 16 and configs["feature"].window_frames == 129
    assert configs["split"]["test"] and configs["train"]["epochs"] == 3
    assert torch.allclose(_outputs(model, tiny_data.table), _outputs(result.model, tiny_data.table), atol=1e-6)


def test_training_is_deterministic(tiny_data, tiny_model_config):
    one = fit(_config(tiny_model_config, epochs=2), tiny_data)
    two = fit(_config(tiny_model_config, epochs=2), tiny_data)
    assert one.history[-1]["train_loss"] == two.history[-1]["train_loss"]


def test_cancel_keeps_last_epoch_and_resume_matches_an_uninterrupted_run(tiny_data, tiny_model_config, tmp_path):
    full = fit(_config(tiny_model_config, epochs=3), tiny_data)
    calls = {"n": 0}

    def stop_in_third_epoch() -> bool:
        calls["n"] += 1
        return calls["n"] > 2 * (steps + 1) + 1  # polled once per batch and once per epoch end

    steps = (len(tiny_data.pairs("train", 0)) + 15) // 16
    config = _config(tiny_model_config, tmp_path, epochs=3)
    with pytest.raises(Cancelled):
        fit(config, tiny_data, should_stop=stop_in_third_epoch)
    saved = torch.load(tmp_path / "model.pt", weights_only=True)
    assert saved["last"]["epoch"] == 2
    assert not list(tmp_path.glob("*.part*"))
    resumed = fit(TrainConfig(**{**config.__dict__, "resume": True}), tiny_data)
    assert [h["epoch"] for h in resumed.history] == [1, 2, 3]
    assert resumed.history[-1]["train_loss"] == pytest.approx(full.history[-1]["train_loss"], abs=1e-6)
    assert torch.allclose(_outputs(resumed.model, tiny_data.table), _outputs(full.model, tiny_data.table), atol=1e-5)


def test_kept_weights_are_the_mean_of_the_epochs_from_average_from(tiny_data, tiny_model_config, tmp_path):
    path = tmp_path / "model.pt"
    fit(_config(tiny_model_config, tmp_path, epochs=2, average_from=2), tiny_data)
    second = torch.load(path, weights_only=True)["last"]["model"]
    resumed = fit(_config(tiny_model_config, tmp_path, epochs=3, average_from=2, resume=True), tiny_data)
    saved = torch.load(path, weights_only=True)
    third = saved["last"]["model"]
    assert resumed.meta["averaged_epochs"] == [2, 3]
    for key, value in resumed.model.state_dict().items():
        if value.is_floating_point():
            assert torch.allclose(value, (second[key] + third[key]) / 2, atol=1e-6), key
            assert torch.equal(saved["model"][key], value), key
    whole = fit(_config(tiny_model_config, epochs=3, average_from=2), tiny_data)
    assert torch.allclose(_outputs(whole.model, tiny_data.table), _outputs(resumed.model, tiny_data.table), atol=1e-5)
    best_only = fit(_config(tiny_model_config, epochs=3, average_from=0), tiny_data)
    assert best_only.meta["averaged_epochs"] == []
    # A run that ends at the best epoch holds that epoch's weights as its last ones.
    fit(_config(tiny_model_config, tmp_path, epochs=best_only.best_epoch, average_from=0), tiny_data)
    best = torch.load(path, weights_only=True)["last"]["model"]
    assert all(torch.equal(best_only.model.state_dict()[k], v) for k, v in best.items())


def test_early_stopping_keeps_best_weights(tiny_data, tiny_model_config):
    result = fit(_config(tiny_model_config, epochs=10, lr=0.0, patience=2), tiny_data)
    assert result.stopped_early and len(result.history) == 3 and result.best_epoch == 1


def test_seed_architecture_trains_on_raw_edges(tiny_data):
    model = ModelConfig(arch="seed", seed_filters=8, seed_lstm=8, seed_dense=8, seed_max_edge_s=0.1)
    result = fit(TrainConfig(model=model, epochs=1, batch_size=32, num_threads=1, max_pairs_per_epoch=64), tiny_data)
    assert result.configs["model"]["edge_size"] == 126
    assert np.isfinite(result.history[0]["train_loss"])


def test_device_resolution(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto").type == "cuda"
    assert resolve_device("cpu").type == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto").type == "cpu"
    with pytest.raises(DeviceError):
        resolve_device("cuda")
    with pytest.raises(DeviceError):
        resolve_device("tpu")


def test_thread_policy():
    assert default_threads(1) == 1 and default_threads(2) == 1 and default_threads(8) == 8


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_fit_on_cuda_with_mixed_precision(tiny_data, tiny_model_config, tmp_path):
    result = fit(_config(tiny_model_config, tmp_path, epochs=2, device="cuda"), tiny_data)
    assert result.device.startswith("cuda")
    assert np.isfinite(result.history[-1]["val_loss"])
    model, _ = load_model(tmp_path / "model.pt", "cuda")
    assert next(model.parameters()).is_cuda
    # A GPU model fed from a CPU table (and the reverse) computes the same pairs; the GPU's TF32
    # convolutions differ from the CPU's float32 in the third decimal.
    cpu_model, _ = load_model(tmp_path / "model.pt", "cpu")
    on_gpu, on_cpu = _outputs(result.model, tiny_data.table), _outputs(cpu_model, tiny_data.table)
    assert torch.allclose(on_gpu, on_cpu, atol=5e-2, rtol=1e-2)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_scorer_on_cuda_scores_like_the_cpu(tiny_data, tiny_model_config, tmp_path):
    from mixdesk.ml.ranking import TransitionScorer

    fit(_config(tiny_model_config, tmp_path, epochs=1, device="cuda"), tiny_data)
    ids = [int(c) for c in tiny_data.table.chunk_ids]
    scores = []
    for device in ("cuda", "cpu"):
        scorer = TransitionScorer.load(tmp_path / "model.pt", device)
        scorer.prepare_table(tiny_data.table)  # a CPU table either way
        scores.append(scorer.successor_scores(ids[0], ids[1:]))
    assert np.allclose(scores[0], scores[1], atol=1e-2)


def test_unreadable_model_file(tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a model")
    with pytest.raises(ModelFileError):
        load_model(bad)
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "missing.pt")


def test_model_file_from_another_layout_is_a_clear_error(tiny_data, tiny_model_config, tmp_path):
    fit(_config(tiny_model_config, tmp_path, epochs=1), tiny_data)
    payload = torch.load(tmp_path / "model.pt", weights_only=True)
    payload["model"].pop(next(iter(payload["model"])))
    torch.save(payload, tmp_path / "old.pt")
    with pytest.raises(ModelFileError, match="train it again"):
        load_model(tmp_path / "old.pt")
