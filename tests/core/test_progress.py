"""Atomic writes: a failed or cancelled write never leaves anything under the target name."""

from __future__ import annotations

import os
import stat

import pytest

from mixdesk.progress import Cancelled, Progress, atomic_path, check_stop


def test_atomic_write_replaces_only_on_success(tmp_path):
    target = tmp_path / "mix.mp3"
    with atomic_path(target) as tmp:
        assert tmp.suffix == ".mp3" and tmp.parent == tmp_path
        tmp.write_bytes(b"first")
    assert target.read_bytes() == b"first"
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~_umask()
    with pytest.raises(Cancelled):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"half")
            check_stop(lambda: True)
    assert target.read_bytes() == b"first"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mix.mp3"]


def test_progress_fraction_is_clamped():
    assert Progress(5, 10).fraction == 0.5
    assert Progress(3, 0).fraction == 0.0 and Progress(12, 10).fraction == 1.0


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
