"""Damaged model files are refused with one clear error, never a traceback or a huge allocation."""

from __future__ import annotations

import subprocess
import sys

import pytest

from mixdesk.ml.checkpoint import ModelFileError, load_model, save_checkpoint
from mixdesk.ml.features import FeatureConfig
from mixdesk.ml.models import ModelConfig


def _write(path, model_config):
    configs = {"feature": FeatureConfig().to_dict(), "model": model_config, "train": {}, "pairs": {}}
    return save_checkpoint(path, {"configs": configs, "model": {}})


@pytest.mark.parametrize(
    "bad, words",
    [
        ({**ModelConfig().to_dict(), "hidden": 10**9}, "hidden must be a whole number"),
        ({**ModelConfig().to_dict(), "conv_channels": "64"}, "conv_channels must be a whole number"),
        ({**ModelConfig().to_dict(), "dropout": 5.0}, "dropout must lie in"),
        ("cnn_lstm", "settings are damaged"),
    ],
)
def test_malformed_model_settings_are_refused_clearly(tmp_path, bad, words):
    path = _write(tmp_path / "bad.pt", bad)
    with pytest.raises(ModelFileError) as info:
        load_model(path)
    assert words in str(info.value) and str(path) in str(info.value)


def test_eval_reports_a_malformed_model_in_one_line(tmp_path, small_project):
    path = _write(tmp_path / "bad.pt", {**ModelConfig().to_dict(), "seed_lstm": -3})
    small_project.close()
    run = subprocess.run(
        [sys.executable, "-m", "mixdesk", "eval", "--project", str(small_project.path), "--model", str(path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode != 0
    assert "Traceback" not in run.stderr
    assert "seed_lstm" in run.stderr and len(run.stderr.strip().splitlines()) == 1
