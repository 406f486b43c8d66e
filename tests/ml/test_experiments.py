"""The research experiments: held-out splits per condition, and the chunking table end to end."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest
import torch
from audio_fixtures import make_track, song_sections, write_wav

from mixdesk.cli.experiments import register_chunking_and_genre
from mixdesk.ml.experiments import CHUNKINGS, GENRE_CONDITIONS, genre_splits


def _per_genre() -> dict[str, dict[str, np.ndarray]]:
    ids = iter(range(1, 100))
    sizes = {"ambient": (6, 2, 2), "house": (5, 1, 2), "classical": (8, 2, 3)}
    return {
        g: {k: np.array([next(ids) for _ in range(n)]) for k, n in zip(("train", "val", "test"), s)}
        for g, s in sizes.items()
    }


@pytest.mark.parametrize("condition", GENRE_CONDITIONS)
def test_genre_conditions_hold_out_the_target_and_train_on_as_many_tracks(condition):
    per_genre = _per_genre()
    for target, mine in per_genre.items():
        splits = genre_splits(per_genre, target, condition, seed=3)
        assert np.array_equal(splits["test"], mine["test"])
        everything_held_out = np.concatenate([s["test"] for s in per_genre.values()])
        assert not np.isin(splits["train"], everything_held_out).any()
        assert not np.isin(splits["val"], splits["train"]).any()
        assert splits["train"].size == mine["train"].size
        genre_of = {int(t): g for g, s in per_genre.items() for v in s.values() for t in v}
        genres = {genre_of[int(t)] for t in splits["train"]}
        if condition == "same genre":
            assert genres == {target}
        elif condition == "other genres":
            assert target not in genres
        else:
            assert target in genres and len(genres) > 1


def test_chunking_experiment_prints_one_row_per_chunking_and_architecture(tmp_path, capsys):
    torch.set_num_threads(1)
    song_folder = tmp_path / "songs"
    for i in range(3):
        track = make_track(song_sections(i, seconds=10.0), freq=110.0 * (i + 2), seed=i)
        write_wav(song_folder / f"song{i}.wav", track)
    parser = argparse.ArgumentParser()
    register_chunking_and_genre(parser.add_subparsers(dest="experiment"))
    out = tmp_path / "result.json"
    args = parser.parse_args(
        [
            "chunking",
            str(song_folder),
            "--epochs",
            "1",
            "--max-pairs",
            "48",
            "--candidates",
            "5",
            "--seed-edge",
            "0.05",
            "--max-queries",
            "8",
            "--device",
            "cpu",
            "--work",
            str(tmp_path / "work"),
            "--out",
            str(out),
            "--quiet",
        ]
    )
    assert args.handler(args) == 0
    table = capsys.readouterr().out.strip().splitlines()
    assert len(table) == 2 + len(CHUNKINGS) * 2
    assert table[0].startswith("| chunking | arch |")
    result = json.loads(out.read_text())
    assert result["experiment"] == "chunking"
    assert {(r["chunking"], r["arch"]) for r in result["rows"]} == {
        (name, arch) for name in CHUNKINGS for arch in ("cnn_lstm", "seed")
    }
    held_out = set(result["data"]["split"]["test"])
    assert held_out and not held_out & set(result["data"]["split"]["train"])
    for row in result["rows"]:
        assert {"auc", "accuracy", "hit1", "hit5", "mrr", "baselines", "chunks", "train_seconds"} <= row.keys()
        assert set(row["baselines"]) == {"random", "similarity"}
        assert 0.0 <= row["hit1"] <= row["hit5"] <= 1.0
    fixed = {r["chunking"]: r["mean_chunk_s"] for r in result["rows"]}
    assert fixed["fixed 1 s"] < fixed["fixed 3 s"] < fixed["fixed 5 s"]


def test_chunking_experiment_rejects_a_missing_folder(tmp_path, capsys):
    parser = argparse.ArgumentParser()
    register_chunking_and_genre(parser.add_subparsers(dest="experiment"))
    args = parser.parse_args(["chunking", str(tmp_path / "nothing"), "--work", str(tmp_path / "w")])
    assert args.handler(args) == 1
    err = capsys.readouterr().err
    assert "not a folder" in err and "Traceback" not in err


def test_bundled_model_is_small_loads_and_its_card_reports_heldout_metrics():
    from mixdesk.ml.bundle import default_model_card, default_model_path, describe_default_model
    from mixdesk.ml.checkpoint import load_model

    path = default_model_path()
    assert path.is_file() and path.stat().st_size < 20_000_000
    card = default_model_card()
    for key in ("auc", "accuracy", "hit1", "hit5", "mrr"):
        assert 0.0 <= card["metrics"][key] <= 1.0
        assert set(card["metrics"]["baselines"]) == {"random", "similarity"}
    held_out, trained = set(card["split"]["test"]["tracks"]), set(card["split"]["train"]["tracks"])
    assert held_out and trained and not held_out & trained
    model, configs = load_model(path)
    assert configs["model"].arch == card["arch"]
    assert "held-out" in describe_default_model()
