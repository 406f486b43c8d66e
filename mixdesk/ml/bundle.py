"""The transition model shipped with mixdesk: where it lives and what its model card says about it.

The card (``models/default/model_card.json``) is written by ``models/recipe/build_default_model.py``
beside the weights; the desk and the command line show its one-line summary so a user knows what the
suggestions they get before training a model of their own are based on.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

MODEL_FILE = "transition.pt"
CARD_FILE = "model_card.json"


def default_model_dir() -> Path:
    from mixdesk.paths import models_dir

    return models_dir() / "default"


def default_model_path() -> Path:
    return default_model_dir() / MODEL_FILE


def default_model_card() -> dict[str, Any] | None:
    """The bundled model's card, or None when there is no (readable) card."""
    try:
        return json.loads((default_model_dir() / CARD_FILE).read_text())
    except (OSError, ValueError):
        return None


def describe_card(card: dict[str, Any] | None) -> str:
    """One line: what the model was trained on and how it did on tracks it never heard."""
    if not card:
        return "no bundled transition model"
    data, metrics = card.get("data", {}), card.get("metrics", {})
    similarity = metrics.get("baselines", {}).get("similarity", {})
    return (
        f"{card.get('arch', 'model')} trained on {data.get('tracks', '?')} tracks "
        f"({data.get('hours', 0):.1f} h) of free game music from Debian; on held-out tracks "
        f"ROC-AUC {metrics.get('auc', float('nan')):.2f}, MRR {metrics.get('mrr', float('nan')):.2f} "
        f"(similarity baseline {similarity.get('mrr', float('nan')):.2f})"
    )


def describe_default_model() -> str:
    return describe_card(default_model_card())
