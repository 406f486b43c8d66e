"""The in-batch ranking objective: every true pair of a batch against the other pairs' chunks."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from mixdesk.ml.batches import DeviceTable
from mixdesk.ml.models import ModelConfig, build_model
from mixdesk.ml.training import TrainConfig, fit, in_batch_ranking_loss


def test_the_grid_scores_every_end_against_every_start_as_single_pairs_would(synthetic_table, tiny_model_config):
    torch.manual_seed(0)
    model = build_model(tiny_model_config.with_(window_frames=synthetic_table.config.window_frames)).eval()
    table = DeviceTable(synthetic_table, torch.device("cpu"))
    model.fit_input_stats(table, torch.arange(len(synthetic_table)))
    rows = torch.arange(6)
    a, b = model.edges(table, rows, "end"), model.edges(table, rows + 6, "start")
    grid_rows = torch.tensor([0, 2, 3, 5])
    with torch.no_grad():
        logits, grid = model(a, b, grid=grid_rows)
        assert torch.allclose(logits, model(a, b))
        for i, ai in enumerate(grid_rows):
            for j, bj in enumerate(grid_rows):
                single = model(a[ai : ai + 1], b[bj : bj + 1])
                assert float(grid[i, j]) == pytest.approx(float(single), rel=1e-4, abs=1e-5)


def test_the_ranking_loss_rewards_a_winning_diagonal_in_both_directions():
    k = 8
    uniform = torch.zeros(k, k)
    assert float(in_batch_ranking_loss(uniform)) == pytest.approx(math.log(k))
    clear = torch.eye(k) * 20.0
    assert float(in_batch_ranking_loss(clear)) < 1e-6
    scores = torch.randn(k, k, generator=torch.Generator().manual_seed(1))
    rows = (torch.logsumexp(scores, dim=1) - scores.diagonal()).mean()  # which start follows end i?
    cols = (torch.logsumexp(scores, dim=0) - scores.diagonal()).mean()  # which end leads into start j?
    assert float(in_batch_ranking_loss(scores)) == pytest.approx(float(rows + cols) / 2, rel=1e-5)
    assert float(rows) != pytest.approx(float(cols))
    grid = torch.zeros(k, k, requires_grad=True)
    in_batch_ranking_loss(grid).backward()
    assert torch.all(grid.grad.diagonal() < 0) and torch.all(grid.grad.sum(dim=1).abs() < 1e-6)


def test_training_uses_the_ranking_objective_only_when_asked(tiny_data, tiny_model_config):
    common = dict(model=tiny_model_config, epochs=2, batch_size=16, num_threads=1, patience=50, device="cpu")
    plain = fit(TrainConfig(contrastive_weight=0.0, **common), tiny_data)
    again = fit(TrainConfig(contrastive_weight=0.0, **common), tiny_data)
    ranked = fit(TrainConfig(contrastive_weight=1.0, **common), tiny_data)
    weights = [dict(r.model.state_dict()) for r in (plain, again, ranked)]
    name = "out.weight"
    assert torch.equal(weights[0][name], weights[1][name])  # training is deterministic...
    assert not torch.allclose(weights[0][name], weights[2][name])  # ...so the difference is the objective
    assert np.isfinite([h["train_loss"] for h in ranked.history]).all()


def test_the_seed_network_trains_without_a_grid(tiny_data):
    config = ModelConfig(arch="seed", seed_filters=4, seed_lstm=4, seed_dense=4, seed_max_edge_s=0.05)
    result = fit(TrainConfig(model=config, epochs=1, batch_size=16, num_threads=1, contrastive_weight=1.0), tiny_data)
    assert not result.model.grid_capable and len(result.history) == 1
