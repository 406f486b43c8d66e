"""``mixdesk train`` on a full disk: one line saying so, a non-zero exit, and the run recorded as failed."""

from __future__ import annotations

import errno
from collections import namedtuple

import pytest

from mixdesk.cli import main

_Usage = namedtuple("_Usage", "total used free")


@pytest.mark.parametrize("hidden", [False, True], ids=["enospc", "runtime-error-on-full-disk"])
def test_train_on_a_full_disk_reports_it_in_one_line(small_project, tmp_path, monkeypatch, capsys, hidden):
    torch = pytest.importorskip("torch")
    import mixdesk.progress as progress

    def full_save(*args, **kwargs):
        if hidden:
            # What torch.save really raises when the disk fills up under it.
            monkeypatch.setattr(progress.shutil, "disk_usage", lambda path: _Usage(1 << 30, 1 << 30, 0))
            raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 704 vs 598")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(torch, "save", full_save)
    path = small_project.path
    small_project.close()
    out = tmp_path / "model.pt"
    code = main(
        [
            "train",
            "--project",
            str(path),
            "--epochs",
            "1",
            "--device",
            "cpu",
            "--threads",
            "1",
            "--quiet",
            "--out",
            str(out),
        ]
    )
    err = capsys.readouterr().err
    assert code == 1
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "disk full" in lines[0] and str(out) in lines[0], err
    assert not out.exists()
    from mixdesk.library.project import Project

    with Project.open(path) as project:
        assert project.runs()[-1]["status"] == "failed"
