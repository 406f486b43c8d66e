"""Choices and defaults of the analysis functions, in a module without torch: the command line and the desk
show them without loading the taggers or the genre models."""

from __future__ import annotations

from dataclasses import dataclass

from mixdesk.config import Settings

TAG_MODELS = ("msd_musicnn", "mtt_musicnn")  # the musicnn taggers of mixdesk.analysis.tagger
DEFAULT_TAG_MODEL = "msd_musicnn"  # genres, moods and eras (mtt_musicnn: instruments and moods)
TOP_TAGS = 5  # tags reported per analysed file
GENRE_MODEL_KINDS = ("knn", "cnn", "lstm")  # the genre classifiers of mixdesk.analysis.genre_models


@dataclass(frozen=True)
class GenreExperimentConfig(Settings):
    """The genre classifier experiment: which models, how long they train, and the held-out share."""

    models: tuple[str, ...] = GENRE_MODEL_KINDS
    epochs: int = 20
    test_fraction: float = 0.25
    seed: int = 0


GENRE_EXPERIMENT = GenreExperimentConfig()
