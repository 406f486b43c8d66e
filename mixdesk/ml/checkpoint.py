"""Model files: weights plus every config needed to rebuild the model and its inputs from the file alone.

Layout of the dict saved with ``torch.save``:
  format: 1
  configs: {"feature": FeatureConfig dict, "model": ModelConfig dict, "train": TrainConfig dict,
            "pairs": PairConfig dict}
  model: state dict of the weights training settled on so far (what ``load_model`` returns): the mean
         of the epochs' weights from TrainConfig.average_from on, or the best validation epoch's
  last: state for resuming: {"model", "optimizer", "scaler", "epoch", "best_val", "best_epoch",
        "bad_epochs", "best_model", "mean_model", "averaged"} (absent in exported models)
  history: list of per-epoch dicts (train/val loss and accuracy, seconds)
  split: {"train"|"val"|"test": [track content hashes]} so evaluation can find held-out tracks
  meta: free-form (training time, device, metrics)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from mixdesk.ml.features import FeatureConfig
from mixdesk.ml.models import ModelConfig, TransitionModel, build_model
from mixdesk.progress import atomic_path

FORMAT = 1


class ModelFileError(ValueError):
    """A model file that cannot be read or is not a mixdesk transition model."""


def save_checkpoint(path: Path | str, payload: dict[str, Any]) -> Path:
    """Write ``payload`` atomically: a crash or cancel mid-write keeps the previous file intact."""
    path = Path(path)
    with atomic_path(path) as tmp:
        torch.save({"format": FORMAT, **payload}, tmp)
    return path


def load_checkpoint(path: Path | str, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such model file")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch raises several unrelated types for a damaged file
        raise ModelFileError(f"{path}: not a readable model file ({exc.__class__.__name__})") from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT or "configs" not in payload:
        raise ModelFileError(f"{path}: not a mixdesk transition model")
    return payload


def configs_of(payload: dict[str, Any]) -> dict[str, Any]:
    """Configs of a checkpoint as objects where mixdesk has a class for them (feature, model)."""
    raw = payload["configs"]
    if not isinstance(raw, dict) or not all(isinstance(raw.get(k), dict) for k in ("feature", "model")):
        raise ModelFileError("the model file's settings are damaged (feature and model settings missing)")
    configs = dict(raw)
    try:
        configs["feature"] = FeatureConfig.from_dict(raw["feature"])
        configs["model"] = ModelConfig.from_dict(raw["model"])
    except (TypeError, ValueError) as exc:
        raise ModelFileError(f"the model file's settings are damaged ({exc})") from None
    return configs


def load_model(path: Path | str, device: str | torch.device = "cpu") -> tuple[TransitionModel, dict[str, Any]]:
    """The model stored in ``path`` (in eval mode, on ``device``) and its configs.

    ``configs`` holds FeatureConfig under "feature", ModelConfig under "model", plain dicts for
    "train" and "pairs", plus "split", "history" and "meta" from the file.
    """
    payload = load_checkpoint(path)
    try:
        configs = configs_of(payload)
    except ModelFileError as exc:
        raise ModelFileError(f"{path}: {exc}") from None
    weights = payload.get("model") or {}
    damaged = [k for k, v in weights.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if damaged:
        raise ModelFileError(f"{path}: weights {damaged[0]!r} hold NaN or infinite values; train it again")
    model = build_model(configs["model"])
    try:
        model.load_state_dict(payload["model"])
    except RuntimeError as exc:
        raise ModelFileError(f"{path}: written by another version of the model code; train it again") from exc
    model.to(device).eval()
    for key in ("split", "history", "meta"):
        configs[key] = payload.get(key, {} if key != "history" else [])
    return model, configs


def export_model(source: Path | str, target: Path | str, meta: dict[str, Any] | None = None) -> Path:
    """Copy of a checkpoint without its resume state (smaller, for shipping), with ``meta`` merged in."""
    payload = load_checkpoint(source)
    payload.pop("last", None)
    payload.pop("format", None)
    payload["meta"] = {**payload.get("meta", {}), **(meta or {})}
    return save_checkpoint(target, payload)
