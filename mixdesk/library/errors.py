"""The errors a project's storage raises, shared by the project and its importer (neither imports the other
for them)."""

from __future__ import annotations

import errno
import sqlite3
from pathlib import Path

_SQLITE_READONLY = 8


class ReadOnlyProjectError(PermissionError):
    """A write to a project that was opened for reading only (its file or folder is not writable)."""

    # What a long job (an import) had finished before this stopped it, for the caller's summary.
    report: object | None = None

    def __init__(self, path: Path | str) -> None:
        super().__init__(errno.EROFS, f"{path}: the project is read-only; nothing can be saved to it")

    def __str__(self) -> str:
        return str(self.strerror)


def is_read_only_error(exc: sqlite3.Error) -> bool:
    """True when SQLite refused a write because the database (file or folder) is read-only."""
    code = getattr(exc, "sqlite_errorcode", None)
    return (code is not None and code & 0xFF == _SQLITE_READONLY) or "readonly database" in str(exc)
