"""Projects under stress: concurrent imports, a full disk, a read-only file, and a killed process."""

from __future__ import annotations

import errno
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from mixdesk.cli import main
from mixdesk.library.errors import ReadOnlyProjectError
from mixdesk.library.project import Project
from mixdesk.progress import DiskFullError

SR = 22050


def _folder(root: Path, n: int = 3) -> Path:
    folder = root / "songs"
    folder.mkdir()
    for i in range(n):
        t = np.arange(SR * 2) / SR
        sf.write(str(folder / f"t{i}.wav"), (0.3 * np.sin(2 * np.pi * 110 * (i + 2) * t)).astype(np.float32), SR)
    return folder


def _track_paths(path: Path) -> list[str]:
    with sqlite3.connect(path) as conn:
        return [r[0] for r in conn.execute("SELECT path FROM tracks ORDER BY path")]


# ----- two imports of one folder at the same time


def test_an_import_racing_another_on_the_same_files_finishes(tmp_path, monkeypatch):
    import mixdesk.library.importer as importer

    folder = _folder(tmp_path)
    path = tmp_path / "p.mixdesk"
    first, second = Project.open(path), Project.open(path)
    real_read_tags = importer.read_tags
    raced = {}

    def read_tags_while_another_import_runs(file):
        # The first import has decoded its first file but not inserted it: the second import runs now.
        if not raced:
            raced["started"] = True
            raced["result"] = second.import_paths([folder])
        return real_read_tags(file)

    monkeypatch.setattr(importer, "read_tags", read_tags_while_another_import_runs)
    result = first.import_paths([folder])
    assert len(raced["result"].added) == 3 and not raced["result"].failed
    assert not result.failed and len(result.added) + len(result.unchanged) == 3
    assert len(first.tracks()) == 3 and len(first.chunks()) == len(second.chunks())
    first.close()
    second.close()


def test_two_import_processes_on_one_folder_both_succeed(tmp_path):
    folder = _folder(tmp_path, n=6)
    path = tmp_path / "p.mixdesk"
    cmd = [sys.executable, "-m", "mixdesk", "import", str(folder), "--project", str(path), "--quiet", "--json"]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=180) for p in procs]
    for proc, (out, err) in zip(procs, outputs):
        assert proc.returncode == 0, err
        assert json.loads(out)["failed"] == []
    assert len(_track_paths(path)) == 6


# ----- a full disk


def _fail_on_second(monkeypatch, module, name, error):
    real = getattr(module, name)
    calls = []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) >= 2:
            raise error
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, flaky)


def _assert_stopped_once_for_a_full_disk(tmp_path, capsys, path):
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "disk full" in lines[0] and "Traceback" not in err
    assert "1 added" in lines[0]
    with Project.open(path) as project:
        assert len(project.tracks()) == 1
        assert project.import_errors() == []  # the good files were not recorded as broken


def test_disk_full_while_writing_the_cache_stops_the_import_in_one_line(tmp_path, monkeypatch, capsys):
    import mixdesk.library.envelopes as envelopes

    folder = _folder(tmp_path)
    path = tmp_path / "p.mixdesk"
    _fail_on_second(monkeypatch, envelopes.np, "savez_compressed", OSError(errno.ENOSPC, "No space left on device"))
    assert main(["import", str(folder), "--project", str(path), "--quiet"]) == 1
    _assert_stopped_once_for_a_full_disk(tmp_path, capsys, path)


def test_disk_full_in_the_database_stops_the_import_in_one_line(tmp_path, monkeypatch, capsys):
    folder = _folder(tmp_path)
    path = tmp_path / "p.mixdesk"
    _fail_on_second(monkeypatch, Project, "replace_chunks", sqlite3.OperationalError("database or disk is full"))
    assert main(["import", str(folder), "--project", str(path), "--quiet"]) == 1
    _assert_stopped_once_for_a_full_disk(tmp_path, capsys, path)


def test_finishing_a_run_on_a_full_disk_raises_disk_full(tmp_path, monkeypatch):
    with Project.open(tmp_path / "p.mixdesk") as project:
        run_id = project.add_run("train", {})

        def full(*args, **kwargs):
            raise sqlite3.OperationalError("database or disk is full")

        monkeypatch.setattr(Project, "transaction", full)
        with pytest.raises(DiskFullError, match="disk full"):
            project.finish_run(run_id, "failed", {})


# ----- a read-only project


@pytest.fixture
def read_only(monkeypatch):
    """Make chosen paths unwritable to the project code (chmod does not stop root, who runs CI)."""
    locked: set[str] = set()
    real_access = os.access

    def access(path, mode, *args, **kwargs):
        if mode & os.W_OK and str(Path(path).resolve()) in locked:
            return False
        return real_access(path, mode, *args, **kwargs)

    monkeypatch.setattr(os, "access", access)
    return lambda path: locked.add(str(Path(path).resolve()))


def test_read_only_project_is_reported_as_read_only(small_project, read_only, capsys, tmp_path):
    path = small_project.path
    small_project.close()
    read_only(path)
    with Project.open(path) as project:
        assert project.read_only and len(project.tracks()) == 4
        with pytest.raises(ReadOnlyProjectError, match="read-only"):
            project.save_playlist("x", {})
    assert main(["import", str(tmp_path / "songs"), "--project", str(path), "--quiet"]) == 1
    err = capsys.readouterr().err.strip()
    assert "read-only" in err and "not a mixdesk project" not in err and len(err.splitlines()) == 1


def test_mix_reads_a_read_only_project(small_project, read_only, capsys, tmp_path):
    path = small_project.path
    small_project.close()
    read_only(path)
    read_only(small_project.cache_dir)
    out = tmp_path / "out" / "mix.wav"
    code = main(
        [
            "mix",
            "--project",
            str(path),
            "--similarity",
            "--minutes",
            "0.2",
            "--out",
            str(out),
            "--seed",
            "1",
            "--quiet",
            "--json",
        ]
    )
    assert code == 0, capsys.readouterr().err
    assert sf.info(str(out)).duration > 5
    # Saving the playlist is a write: it fails in one line naming the reason.
    code = main(
        [
            "mix",
            "--project",
            str(path),
            "--similarity",
            "--minutes",
            "0.2",
            "--out",
            str(out),
            "--seed",
            "1",
            "--quiet",
            "--save-playlist",
            "keep",
        ]
    )
    err = capsys.readouterr().err.strip()
    assert code == 1 and "read-only" in err and len(err.splitlines()) == 1


def test_eval_reads_a_read_only_project(small_project, read_only, capsys):
    pytest.importorskip("torch")
    path, cache = small_project.path, small_project.cache_dir
    small_project.close()
    read_only(path)
    read_only(cache)
    before = sorted(cache.rglob("*"))
    code = main(
        [
            "eval",
            "--project",
            str(path),
            "--candidates",
            "5",
            "--max-queries",
            "10",
            "--device",
            "cpu",
            "--json",
            "--quiet",
        ]
    )
    assert code == 0, capsys.readouterr().err
    assert json.loads(capsys.readouterr().out)["n_pairs"] > 0
    assert sorted(cache.rglob("*")) == before  # its features were cached elsewhere


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root writes read-only files")
def test_project_with_read_only_permissions_opens_for_reading(small_project):
    path = small_project.path
    small_project.close()
    os.chmod(path, 0o444)
    try:
        with Project.open(path) as project:
            assert project.read_only and len(project.tracks()) == 4
    finally:
        os.chmod(path, 0o644)


# ----- after kill -9


def _age(path: Path, seconds: float) -> None:
    old = time.time() - seconds
    os.utime(path, (old, old))


def test_opening_a_project_removes_stale_temp_files_from_its_cache(tmp_path):
    path = tmp_path / "p.mixdesk"
    Project.open(path).close()
    cache = Path(str(path) + ".cache")
    (cache / "envelopes").mkdir(exist_ok=True)
    stale = cache / "envelopes" / ".abc.v2.npz.k2j4h5g6.part.npz"
    fresh = cache / "envelopes" / ".def.v2.npz.q9w8e7r6.part.npz"
    kept = cache / "envelopes" / "abc.v2.npz"
    for file in (stale, fresh, kept):
        file.write_bytes(b"x")
    _age(stale, 3600)
    _age(kept, 3600)
    Project.open(path).close()
    assert not stale.exists() and fresh.exists() and kept.exists()


def test_a_run_whose_process_was_killed_is_marked_interrupted(tmp_path):
    path = tmp_path / "p.mixdesk"
    Project.open(path).close()
    code = (
        "import sys, time\n"
        "from mixdesk.library.project import Project\n"
        "p = Project.open(sys.argv[1])\n"
        "p.add_run('train', {'epochs': 3})\n"
        "print('started', flush=True)\n"
        "time.sleep(120)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "started"
        with Project.open(path) as project:
            (run,) = project.runs()
            assert run["status"] == "running"  # its process is alive: left alone
            assert run["config"]["process"]["pid"] == proc.pid
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    with Project.open(path) as project:
        mine = project.add_run("train", {})  # this process is alive: stays running
        (killed, alive) = project.runs()
        assert killed["status"] == "interrupted" and killed["finished_at"]
    with Project.open(path) as project:
        assert {r["id"]: r["status"] for r in project.runs()}[mine] == "running"


def test_a_descriptor_model_scores_a_read_only_project_without_analysing_it(small_project, read_only):
    import torch

    from mixdesk.analysis.project_analysis import DESCRIPTOR_VECTOR_NAMES
    from mixdesk.ml.features import FeatureConfig
    from mixdesk.ml.models import ModelConfig, build_model
    from mixdesk.ml.ranking import TransitionScorer

    path = small_project.path
    small_project.close()
    read_only(path)
    read_only(small_project.cache_dir)
    config = ModelConfig(conv_channels=16, hidden=16, head_hidden=16, descriptor_dim=len(DESCRIPTOR_VECTOR_NAMES))
    torch.manual_seed(0)
    scorer = TransitionScorer(
        build_model(config).eval(), {"feature": FeatureConfig(window_s=0.5), "model": config}, "cpu"
    )
    seen = []
    with Project.open(path) as project:
        assert project.read_only
        scorer.prepare(project, on_progress=lambda p: seen.append(p.message))
        ids = [c.id for c in project.chunks()]
        assert len(scorer.successor_scores(ids[0], ids[1:])) == len(ids) - 1
        assert project.analysis("descriptors") == {}
    assert not any("analys" in m for m in seen)
