"""The metadata experiment trains with and without descriptor inputs on the same held-out tracks."""

from __future__ import annotations

import argparse
import json

import torch

from mixdesk.ml.experiment_metadata import METADATA_CONFIG, VARIANTS
from mixdesk.cli.analysis import register_experiments


def test_metadata_experiment_prints_a_row_per_variant(song_folder, tmp_path, capsys):
    torch.set_num_threads(1)
    parser = argparse.ArgumentParser()
    register_experiments(parser.add_subparsers(dest="experiment"))
    args = parser.parse_args(
        [
            "metadata",
            str(song_folder),
            "--epochs",
            "1",
            "--max-pairs",
            "96",
            "--candidates",
            "5",
            "--device",
            "cpu",
            "--work",
            str(tmp_path / "work"),
            "--quiet",
        ]
    )
    assert args.handler(args) == 0
    out = capsys.readouterr().out
    table, _, payload = out.partition("\n\n")
    lines = table.strip().splitlines()
    assert lines[0].startswith("| variant | repeat | descriptor_dim |") and len(lines) == 2 + len(VARIANTS)
    result = json.loads(payload)
    dims = [row["descriptor_dim"] for row in result["rows"]]
    assert dims[0] == 0 and 0 < dims[1] < dims[2]
    assert all(0.0 <= row["auc"] <= 1.0 for row in result["rows"])
    assert set(result["split"]["test"]).isdisjoint(result["split"]["train"])


def test_metadata_options_show_the_experiments_own_defaults():
    parser = argparse.ArgumentParser()
    register_experiments(parser.add_subparsers(dest="experiment"))
    args = parser.parse_args(["metadata", "songs"])
    assert (args.epochs, args.candidates, args.max_tracks, args.max_pairs, args.seed, args.device) == (
        METADATA_CONFIG.epochs,
        METADATA_CONFIG.candidates,
        METADATA_CONFIG.max_tracks,
        METADATA_CONFIG.max_pairs_per_epoch,
        METADATA_CONFIG.seed,
        METADATA_CONFIG.device,
    )
