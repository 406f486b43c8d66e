import json

import pytest

from mixdesk.cli import main


@pytest.fixture
def trained(small_project, tmp_path):
    out = tmp_path / "model.pt"
    small_project.close()
    code = main(
        [
            "train",
            "--project",
            str(small_project.path),
            "--epochs",
            "2",
            "--device",
            "cpu",
            "--threads",
            "1",
            "--quiet",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    return small_project.path, out


def test_train_records_the_model_and_eval_prints_the_metrics(trained, capsys):
    from mixdesk.library.project import Project

    project_path, model = trained
    with Project.open(project_path) as project:
        assert [m["path"] for m in project.models()] == [str(model.resolve())]
        assert project.runs()[-1]["status"] == "done"
    capsys.readouterr()
    assert (
        main(["eval", "--project", str(project_path), "--model", str(model), "--candidates", "5", "--json", "--quiet"])
        == 0
    )
    result = json.loads(capsys.readouterr().out)
    keys = {"auc", "accuracy", "hit1", "hit5", "mrr", "n_pairs", "n_candidates"}
    assert keys <= set(result)
    assert set(result["baselines"]) == {"random", "similarity"}
    assert all(keys <= set(b) for b in result["baselines"].values())
    assert result["n_candidates"] <= 5 and result["n_pairs"] > 0


def test_cli_errors_are_one_line(tmp_path, capsys, monkeypatch):
    import mixdesk.paths

    assert main(["eval", "--project", str(tmp_path / "none.mixdesk"), "--json"]) == 1
    assert "no such project" in capsys.readouterr().err
    monkeypatch.setattr(mixdesk.paths, "models_dir", lambda: tmp_path)
    from mixdesk.library.project import Project

    Project.open(tmp_path / "p.mixdesk").close()
    assert main(["eval", "--project", str(tmp_path / "p.mixdesk"), "--json"]) == 1
    err = capsys.readouterr().err
    assert "mixdesk train" in err and err.count("\n") == 1


def test_the_ranking_weight_reaches_the_saved_training_config(small_project, tmp_path):
    from mixdesk.ml.checkpoint import load_model

    small_project.close()
    args = ["train", "--project", str(small_project.path), "--epochs", "1", "--device", "cpu", "--quiet"]
    assert main(args + ["--ranking-weight", "0", "--out", str(tmp_path / "plain.pt")]) == 0
    assert main(args + ["--out", str(tmp_path / "default.pt")]) == 0
    plain = load_model(tmp_path / "plain.pt")[1]["train"]["contrastive_weight"]
    default = load_model(tmp_path / "default.pt")[1]["train"]["contrastive_weight"]
    assert plain == 0.0 and default > 0.0


def test_train_json_reports_what_the_project_records(small_project, tmp_path, capsys):
    from mixdesk.library.project import Project

    out = tmp_path / "model.pt"
    small_project.close()
    args = ["train", "--project", str(small_project.path), "--epochs", "2", "--device", "cpu", "--threads", "1"]
    assert main([*args, "--average-from", "1", "--json", "--out", str(out)]) == 0
    printed = json.loads(capsys.readouterr().out)
    with Project.open(small_project.path) as project:
        recorded = project.runs()[-1]["metrics"]
    assert printed["model"] == str(out)
    assert {k: printed[k] for k in recorded} == recorded
    assert printed["epochs_run"] == 2 and printed["averaged_epochs"] == [1, 2]
    assert printed["val_loss"] is not None and printed["best_val_loss"] > 0
