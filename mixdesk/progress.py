"""Progress reporting, cooperative cancellation and atomic file writes shared by every long job."""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Optional


@dataclass(frozen=True)
class Progress:
    done: float
    total: float
    message: str = ""

    @property
    def fraction(self) -> float:
        if self.total <= 0:
            return 0.0
        return max(0.0, min(1.0, self.done / self.total))


ProgressFn = Callable[[Progress], None]
StopFn = Callable[[], bool]


class Cancelled(Exception):
    """Raised inside a long job when its caller asked it to stop."""


class DiskFullError(OSError):
    """No space left on the disk (or quota) where a file or the project was being written.

    An OSError with errno ENOSPC, so every handler of OSError still catches it; its text is one line
    a user can act on, without the errno prefix.
    """

    # What a long job (an import) had finished before this stopped it, for the caller's summary.
    report: object | None = None

    def __init__(self, where: Path | str) -> None:
        super().__init__(errno.ENOSPC, f"disk full: no space left to write {where}")
        self.where = str(where)

    def __str__(self) -> str:
        return str(self.strerror)


_FULL_ERRNOS = frozenset({errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)})
_SQLITE_FULL = 13


def is_disk_full(exc: BaseException) -> bool:
    """True when ``exc`` means the disk (or the user's quota) is full, from the OS or from SQLite."""
    if isinstance(exc, OSError):
        return exc.errno in _FULL_ERRNOS
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        return (code is not None and code & 0xFF == _SQLITE_FULL) or "disk is full" in str(exc)
    return False


# Below this much free space a failed write is taken to have failed for want of space.
_LOW_SPACE_BYTES = 1 << 20


def _no_space_left(exc: BaseException, target: Path) -> bool:
    """Whether a write failed because its disk is full, even where the writer hid the errno.

    Some writers (torch.save, for one) turn ENOSPC into a RuntimeError with an internal message;
    the free space left on the target's disk tells what happened.
    """
    if isinstance(exc, (Cancelled, KeyboardInterrupt)):
        return False
    try:
        return shutil.disk_usage(target.parent).free < _LOW_SPACE_BYTES
    except OSError:
        return False


def report(on_progress: Optional[ProgressFn], done: float, total: float, message: str = "") -> None:
    if on_progress is not None:
        on_progress(Progress(done, total, message))


def check_stop(should_stop: Optional[StopFn]) -> None:
    if should_stop is not None and should_stop():
        raise Cancelled()


def _fsync_dir(folder: Path) -> None:
    # The rename is only durable once the directory entry is on disk.
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _final_mode(target: Path) -> int:
    # mkstemp creates 0600 files; the result should look like any file the user writes (or keep the old mode).
    try:
        return target.stat().st_mode & 0o777
    except FileNotFoundError:
        mask = os.umask(0o022)
        os.umask(mask)
        return 0o666 & ~mask


@contextmanager
def atomic_path(target: Path | str, suffix: Optional[str] = None) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; it replaces ``target`` only if the block succeeds.

    The temp file keeps the target's suffix (or ``suffix``) so that encoders choosing a format by
    extension still work. A failure, a cancel or an interrupt removes the temp file and leaves any
    previous file under the target name untouched. A full disk is raised as DiskFullError.
    """
    target = Path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(
            prefix=f".{target.name}.",
            suffix=".part" + (suffix if suffix is not None else target.suffix),
            dir=target.parent,
        )
    except OSError as exc:
        if is_disk_full(exc):
            raise DiskFullError(target) from exc
        raise
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.chmod(tmp, _final_mode(target))
        os.replace(tmp, target)
        _fsync_dir(target.parent)
    except BaseException as exc:
        full = isinstance(exc, Exception) and _no_space_left(exc, target)
        try:
            tmp.unlink()
        except FileNotFoundError:
            pass
        if not isinstance(exc, (DiskFullError, Cancelled)) and (is_disk_full(exc) or full):
            raise DiskFullError(target) from exc
        raise


# A temp file older than this is not being written any more: its writer was killed.
STALE_PART_AGE_S = 600.0


def remove_stale_parts(
    folder: Path | str,
    target_name: Optional[str] = None,
    recursive: bool = False,
    older_than_s: float = STALE_PART_AGE_S,
) -> list[Path]:
    """Delete temp files that ``atomic_path`` left behind when its process was killed; returns them.

    Only hidden ``.*.part*`` files older than ``older_than_s`` go, so a write still in progress (in
    this process or another) keeps its file. With ``target_name``, only the temp files of that target.
    """
    folder = Path(folder)
    prefix = f".{target_name}." if target_name else "."
    limit = time.time() - older_than_s
    removed: list[Path] = []
    try:
        candidates = folder.rglob(".*.part*") if recursive else folder.glob(".*.part*")
        for path in candidates:
            if not path.name.startswith(prefix) or ".part" not in path.name[len(prefix) :]:
                continue
            try:
                if path.is_file() and not path.is_symlink() and path.stat().st_mtime < limit:
                    path.unlink()
                    removed.append(path)
            except OSError:
                continue  # another process removed it first, or the folder is read-only
    except OSError:
        pass
    return removed
