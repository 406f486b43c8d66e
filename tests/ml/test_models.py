import pytest
import torch

from mixdesk.ml.models import ModelConfig, SeedNet, build_model


def test_seam_on_cached_encodings_equals_full_forward(tiny_model_config):
    torch.manual_seed(0)
    config = ModelConfig(**{**tiny_model_config.to_dict(), "descriptor_dim": 3})
    model = build_model(config).eval()
    x = torch.rand(6, 128, 65) * 8
    desc = torch.rand(6, 3)
    with torch.no_grad():
        full = model(x[:1].expand(6, -1, -1), x, desc[:1].expand(6, -1), desc)
        cached = model.seam(model.encode_end(x[:1], desc[:1]), model.encode_start(x, desc))
    assert torch.allclose(full, cached, atol=1e-5)


def test_seed_port_layers_and_shapes():
    config = ModelConfig(arch="seed", edge_size=50)
    model = build_model(config)
    assert isinstance(model, SeedNet)
    assert model.conv.out_channels == 1024 and model.conv.kernel_size == (2,)
    assert model.lstm.hidden_size == 256 and model.dense.out_features == 256
    assert model.dropout.p == 0.25 and model.out.in_features == 49 * 256
    raw = torch.rand(3, 300)
    assert model(raw, raw).shape == (3,)
    with pytest.raises(ValueError):
        build_model(ModelConfig(arch="seed"))
    with pytest.raises(ValueError):
        ModelConfig(arch="seed", descriptor_dim=4)


def test_tiny_model_overfits_a_tiny_set(tiny_data, tiny_model_config):
    """A fixed batch of 36 pairs is learned perfectly within 300 steps."""
    from mixdesk.ml.batches import DeviceTable, pair_logits

    torch.manual_seed(0)
    model = build_model(ModelConfig(**{**tiny_model_config.to_dict(), "dropout": 0.0}))
    pairs = tiny_data.pairs("train", 0)
    table = DeviceTable(tiny_data.table, torch.device("cpu"))
    model.fit_input_stats(table, torch.from_numpy(tiny_data.rows("train")))
    a, b = torch.from_numpy(pairs.a[:36]), torch.from_numpy(pairs.b[:36])
    y = torch.from_numpy(pairs.label[:36])
    opt = torch.optim.Adam(model.parameters(), lr=5e-3)
    for _ in range(300):
        opt.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(pair_logits(model, table, a, b), y)
        loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        correct = ((pair_logits(model, table, a, b) > 0).float() == y).float().mean()
    assert loss.item() < 0.1
    assert correct == 1.0


def test_the_frames_nearest_the_seam_are_summarised_from_the_side_that_touches_it():
    from mixdesk.ml.models import EdgeStats
    from mixdesk.ml.features import FeatureConfig

    stats = EdgeStats(128, seam_frames=8)
    windows = torch.rand(16, 128, 65) * 3
    stats.fit(windows, FeatureConfig())
    # Quiet everywhere but the last 8 frames: only A's near-seam part (its end) hears the loud frames.
    x = torch.zeros(2, 128, 65)
    x[..., -8:] = 5.0
    end, start = stats(x, at_end=True), stats(x, at_end=False)
    assert end.shape[1] == stats.width == 20 + 12 + 20
    assert torch.allclose(end[:, :32], start[:, :32])
    assert end[:, 32:].sum() > start[:, 32:].sum() + 10


def test_model_files_from_before_the_seam_input_load_without_it():
    from mixdesk.ml.models import ModelConfig

    assert ModelConfig().seam_frames > 0
    assert ModelConfig.from_dict({"arch": "cnn_lstm"}).seam_frames == 0
    assert ModelConfig.from_dict(ModelConfig().to_dict()) == ModelConfig()
