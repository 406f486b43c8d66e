"""Data-parallel training: batch sharing between workers, and `mixdesk train --nproc 2` on the CPU."""

import json

import numpy as np
import torch

from mixdesk.ml.batches import pair_batches
from mixdesk.ml.pairs import augment_edges


def test_workers_share_out_exactly_the_batches_of_one_process(tiny_data):
    pairs = tiny_data.pairs("train", 0)
    cpu = torch.device("cpu")
    alone = list(pair_batches(pairs, 16, cpu, seed=5))
    shares = [list(pair_batches(pairs, 16, cpu, seed=5, rank=r, world=3)) for r in range(3)]
    assert all(len(s) == len(alone) for s in shares)  # every worker takes every step
    for step, batch in enumerate(alone):
        parts = [s[step] for s in shares]
        assert sum(p.count for p in parts) == batch.count == batch.total
        got = {(int(a), int(b)) for p in parts for a, b, w in zip(p.a, p.b, p.weight) if w > 0}
        assert got == {(int(a), int(b)) for a, b in zip(batch.a, batch.b)}


def test_a_worker_with_nothing_left_gets_a_weightless_pair(tiny_data):
    pairs = tiny_data.pairs("train", 0)
    last = list(pair_batches(pairs, len(pairs) - 1, torch.device("cpu"), seed=1, rank=1, world=2))[-1]
    assert last.total == 1 and last.count == 0 and last.weight.tolist() == [0.0]


def test_a_shared_batch_is_augmented_as_the_whole_batch(synthetic_table):
    x = synthetic_table.end[:6]
    whole = augment_edges(x, False, 6.0, 2, torch.Generator().manual_seed(3), True)
    slots = torch.tensor([1, 3, 5])
    share = augment_edges(x[slots], False, 6.0, 2, torch.Generator().manual_seed(3), True, slots, 6)
    assert torch.allclose(share, whole[slots])


def test_two_cpu_workers_train_a_model_that_scores_like_one_process(small_project, tmp_path, capsys):
    """One epoch in one process and in two (gloo) must give nearly the same model: the same batches
    are seen and the gradients are averaged; only dropout draws differ between the runs."""
    from mixdesk.cli import main
    from mixdesk.library.project import Project
    from mixdesk.ml.checkpoint import load_model
    from mixdesk.ml.ranking import TransitionScorer
    from mixdesk.ml.table import project_feature_table

    small_project.close()
    path = str(small_project.path)
    common = ["train", "--project", path, "--epochs", "1", "--device", "cpu", "--threads", "1", "--quiet", "--json"]
    assert main(common + ["--out", str(tmp_path / "one.pt")]) == 0
    capsys.readouterr()
    assert main(common + ["--nproc", "2", "--out", str(tmp_path / "two.pt")]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["processes"] == 2 and summary["model"] == str(tmp_path / "two.pt")

    one, one_configs = load_model(tmp_path / "one.pt")
    two, two_configs = load_model(tmp_path / "two.pt")
    assert two_configs["meta"]["processes"] == 2 and two_configs["split"] == one_configs["split"]
    assert two_configs["train"]["batch_size"] == one_configs["train"]["batch_size"]
    with Project.open(path) as project:
        table = project_feature_table(project, one_configs["feature"])
        assert len(project.models()) == 2 and [r["status"] for r in project.runs()] == ["done", "done"]
    ids = [int(c) for c in table.chunk_ids]
    scores = []
    for model, configs in ((one, one_configs), (two, two_configs)):
        scorer = TransitionScorer(model, configs, "cpu")
        scorer.prepare_table(table)
        scores.append(scorer.score_matrix(ids, ids))
    assert np.all(np.isfinite(scores[1]))
    assert np.abs(scores[0] - scores[1]).max() < 0.05
    assert not list(tmp_path.glob("*.part*"))


def test_a_worker_count_the_machine_cannot_serve_is_one_clear_line(small_project, tmp_path, capsys):
    from mixdesk.cli import main

    small_project.close()
    args = ["train", "--project", str(small_project.path), "--device", "cpu", "--out", str(tmp_path / "m.pt")]
    assert main(args + ["--nproc", "0"]) == 1
    err = capsys.readouterr().err
    assert "--nproc must be at least 1" in err and err.count("\n") == 1
