"""Small synthetic chunk tables shared by the transition-model tests (built once per test run)."""

from __future__ import annotations

import pytest
import torch

torch.set_num_threads(1)


@pytest.fixture(scope="session")
def synthetic_table():
    from mixdesk.ml.synthetic import synthetic_chunks
    from mixdesk.ml.table import build_feature_table

    refs, source = synthetic_chunks(n_tracks=5, chunks_per_track=6, chunk_s=1.0, seed=11)
    return build_feature_table(refs, source)


@pytest.fixture
def tiny_data(synthetic_table):
    from mixdesk.ml.pairs import PairConfig, PairData

    return PairData(synthetic_table, PairConfig(val_fraction=0.2, test_fraction=0.2, seed=3))


@pytest.fixture
def tiny_model_config():
    from mixdesk.ml.models import ModelConfig

    return ModelConfig(conv_channels=16, hidden=16, head_hidden=16, dropout=0.2)
