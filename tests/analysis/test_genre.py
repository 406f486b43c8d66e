"""The trainable genre classifier learns a trivially separable synthetic two-genre set."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mixdesk.analysis.genre_data import GenreFeatureConfig, build_dataset, split_tracks
from mixdesk.analysis.genre_models import (
    GenreClassifier,
    GenreTrainConfig,
    classification_metrics,
    compare_genre_models,
    train_genre_classifier,
)
from mixdesk.analysis.synthetic import genre_clip

SR = 16000
FEATURES = GenreFeatureConfig(sample_rate=SR, n_fft=1024, hop=512, n_mels=32, slice_s=1.0)


@pytest.fixture(scope="module")
def two_genres():
    torch.set_num_threads(1)
    items = [(f"{g}{i}", g) for g in ("drone", "pulse") for i in range(6)]
    clips = {name: genre_clip(label, 3.0, SR, seed=i) for i, (name, label) in enumerate(items)}
    data, failed = build_dataset(items, lambda name: (clips[name], SR), FEATURES)
    assert not failed
    return data


def test_track_split_keeps_each_track_on_one_side(two_genres):
    train, test = split_tracks(two_genres, test_fraction=0.34, seed=1)
    assert not set(train) & set(test) and len(train) + len(test) == 12
    assert sorted({int(two_genres.y[two_genres.track == t][0]) for t in test}) == [0, 1]


@pytest.mark.parametrize("model,epochs", [("knn", 0), ("cnn", 6), ("lstm", 8)])
def test_classifiers_separate_the_synthetic_genres(two_genres, model, epochs, tmp_path):
    train, test = split_tracks(two_genres, test_fraction=0.34, seed=1)
    config = GenreTrainConfig(model=model, epochs=epochs, hidden=16, k=3, pca_components=4, learning_rate=3e-3)
    result = compare_genre_models(two_genres, train, test, [config])[0]
    assert result["tracks"]["accuracy"] == 1.0, result
    assert result["slices"]["accuracy"] >= 0.9
    clf = train_genre_classifier(two_genres, train, config)
    again = GenreClassifier.load(clf.save(tmp_path / f"{model}.pt"))
    np.testing.assert_allclose(again.predict_slices(two_genres.x[:4]), clf.predict_slices(two_genres.x[:4]), atol=1e-5)


def test_metrics_by_hand():
    m = classification_metrics(np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1]), ("a", "b"))
    assert m["accuracy"] == 0.75 and m["confusion"] == [[1, 1], [0, 2]]
    assert m["per_class"]["a"] == {"precision": 1.0, "recall": 0.5, "support": 2}
    assert m["per_class"]["b"]["precision"] == pytest.approx(2 / 3, abs=1e-4)


def test_genre_model_experiment_command_on_sub_folders(tmp_path, capsys):
    import argparse
    import json

    import soundfile as sf

    from mixdesk.cli.analysis import register_experiments

    for genre in ("drone", "pulse"):
        (tmp_path / genre).mkdir()
        for i in range(4):
            sf.write(tmp_path / genre / f"{genre}{i}.wav", genre_clip(genre, 7.0, 22050, seed=i), 22050)
    (tmp_path / "pulse" / "broken.wav").write_bytes(b"RIFF....WAVEfmt nonsense")
    parser = argparse.ArgumentParser()
    register_experiments(parser.add_subparsers(dest="experiment"))
    args = parser.parse_args(["genre-model", str(tmp_path), "--models", "knn", "--json", "--quiet"])
    assert args.handler(args) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["classes"] == ["drone", "pulse"] and result["rows"][0]["tracks"]["accuracy"] == 1.0
    assert [f["path"].endswith("broken.wav") for f in result["failed"]] == [True]
    assert set(result["test_tracks"]).isdisjoint(result["train_tracks"])


def test_pca_axes_match_an_svd():
    from mixdesk.analysis.genre_models import _fit_knn

    rng = np.random.default_rng(0)
    z = (rng.standard_normal((30, 4, 10)) * np.linspace(3, 0.1, 40).reshape(4, 10)).astype(np.float32)
    basis = _fit_knn(z, np.zeros(30, int), 3)["basis"]
    flat = z.reshape(30, -1).astype(np.float64)
    reference = np.linalg.svd(flat - flat.mean(axis=0), full_matrices=False)[2][:3]
    np.testing.assert_allclose(np.abs((basis * reference).sum(axis=1)), 1.0, atol=1e-6)
