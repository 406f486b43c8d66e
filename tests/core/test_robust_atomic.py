"""Atomic writes on a full disk, and the temp files a killed writer leaves behind."""

from __future__ import annotations

import errno
import os
import time
from collections import namedtuple

import pytest

import mixdesk.progress as progress
from mixdesk.progress import DiskFullError, atomic_path, remove_stale_parts

_Usage = namedtuple("_Usage", "total used free")


def test_enospc_inside_an_atomic_write_becomes_one_clear_disk_full_error(tmp_path):
    target = tmp_path / "model.pt"
    with pytest.raises(DiskFullError) as err:
        with atomic_path(target):
            raise OSError(errno.ENOSPC, "No space left on device")
    assert str(err.value) == f"disk full: no space left to write {target}"
    assert err.value.errno == errno.ENOSPC and isinstance(err.value, OSError)
    assert list(tmp_path.iterdir()) == []


def test_a_writer_that_hides_enospc_is_still_reported_as_disk_full(tmp_path, monkeypatch):
    # torch.save reports a full disk as RuntimeError("[enforce fail at inline_container.cc] ...").
    monkeypatch.setattr(progress.shutil, "disk_usage", lambda path: _Usage(10 << 30, 10 << 30, 0))
    with pytest.raises(DiskFullError):
        with atomic_path(tmp_path / "model.pt"):
            raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 704 vs 598")


def test_other_failures_keep_their_type_when_space_is_left(tmp_path):
    with pytest.raises(RuntimeError):
        with atomic_path(tmp_path / "model.pt"):
            raise RuntimeError("something else")


def test_stale_temp_files_are_removed_and_fresh_ones_kept(tmp_path):
    old = time.time() - 3600
    stale = tmp_path / ".mix.mp3.abcd1234.part.mp3"
    other_stale = tmp_path / ".mix.json.abcd1234.part.json"
    fresh = tmp_path / ".mix.mp3.efgh5678.part.mp3"
    visible = tmp_path / "mix.mp3"
    for path in (stale, other_stale, fresh, visible):
        path.write_bytes(b"x")
    for path in (stale, other_stale, visible):
        os.utime(path, (old, old))
    assert remove_stale_parts(tmp_path, "mix.mp3") == [stale]
    assert other_stale.exists() and fresh.exists() and visible.exists()
    assert remove_stale_parts(tmp_path) == [other_stale]
    assert remove_stale_parts(tmp_path / "missing") == []
