"""Incremental import of files and folders into a project: unchanged files are never decoded again.

The importer writes through the few project methods named by ``ImportTarget``; ``Project.import_paths``
calls it with the project itself, so this module never imports ``mixdesk.library.project``.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import sqlite3
import stat
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional, Protocol, Sequence

from mixdesk.config import ChunkingConfig, effective_chunking
from mixdesk.core.audio import AUDIO_EXTENSIONS, AudioError, decode
from mixdesk.core.beatgrid import BeatGrid
from mixdesk.core.beats import track_beats
from mixdesk.core.chunking import Envelope, chunk_ranges
from mixdesk.library import envelopes
from mixdesk.library.errors import ReadOnlyProjectError, is_read_only_error
from mixdesk.library.schema import inserted_id
from mixdesk.progress import DiskFullError, ProgressFn, StopFn, check_stop, is_disk_full, report

log = logging.getLogger(__name__)


class ImportTarget(Protocol):
    """What an import needs of a project (:class:`mixdesk.library.project.Project` is one)."""

    @property
    def path(self) -> Path: ...

    @property
    def cache_dir(self) -> Path: ...

    @property
    def read_only(self) -> bool: ...

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]: ...

    def stored_file(self, path: Path) -> Optional[tuple[int, str, int, int]]: ...

    def replace_chunks(
        self, conn: sqlite3.Connection, track_id: int, ranges: Sequence[tuple[int, int]], chunking: ChunkingConfig
    ) -> None: ...

    def store_beat_grid(self, conn: sqlite3.Connection, track_id: int, grid: BeatGrid) -> None: ...

    def remember_envelope(self, track_id: int, env: Envelope) -> None: ...


@dataclass
class ImportReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{len(self.added)} added, {len(self.updated)} updated, {len(self.unchanged)} unchanged, "
            f"{len(self.failed)} failed"
        )


def collect_audio_files(paths: Iterable[str | Path]) -> tuple[list[Path], list[tuple[str, str]]]:
    """Audio files under the given files/folders, sorted; plus explicit paths that cannot be imported."""
    found: list[Path] = []
    rejected: list[tuple[str, str]] = []
    for raw in paths:
        path = Path(raw).expanduser().resolve()
        if path.is_dir():
            seen: set[str] = set()
            # Linked sub-folders are followed (libraries are often assembled from links); each real
            # folder is walked once, so a link loop cannot recurse forever.
            for root, dirs, files in os.walk(path, followlinks=True):
                real = os.path.realpath(root)
                if real in seen:
                    dirs[:] = []
                    continue
                seen.add(real)
                dirs[:] = sorted(d for d in dirs if not d.startswith(".") and not d.endswith(".cache"))
                # Pipes, sockets and devices found in a folder are passed over silently: reading a
                # named pipe blocks until something writes to it, so one would stall the import.
                found.extend(
                    Path(root) / f
                    for f in sorted(files)
                    if Path(f).suffix.lower() in AUDIO_EXTENSIONS
                    and not f.startswith(".")
                    and not _is_special(Path(root) / f)
                )
        elif path.exists():
            if not _is_special(path):
                found.append(path)  # an explicitly named file is tried whatever its extension, and reported
            else:
                rejected.append((str(path), "not a regular file (a named pipe, socket or device)"))
        else:
            rejected.append((str(path), "file not found"))
    return sorted(dict.fromkeys(found)), rejected


def _is_special(path: Path) -> bool:
    """True for a pipe, socket or device (following links), judged without opening it.

    A path that cannot be examined counts as ordinary, so the import tries it and reports why it failed.
    """
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def file_hash(path: Path) -> str:
    digest = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_tags(path: Path) -> dict[str, str]:
    try:
        import mutagen

        tagged = mutagen.File(path, easy=True)
    except Exception:  # tags are a nicety: a file with broken tags is still imported
        return {}
    if tagged is None or not tagged.tags:
        return {}
    out = {}
    for key in ("title", "artist", "album", "genre"):
        value = tagged.tags.get(key)
        if value:
            out[key] = str(value[0] if isinstance(value, list) else value)
    return out


def _import_one(project: ImportTarget, path: Path, chunking: ChunkingConfig, report_: ImportReport) -> None:
    stat = path.stat()
    row = project.stored_file(path)
    if row is not None and row[2] == stat.st_size and row[3] == stat.st_mtime_ns:
        report_.unchanged.append(str(path))
        return
    digest = file_hash(path)
    if row is not None and row[1] == digest:
        with project.transaction() as conn:
            conn.execute(
                "UPDATE tracks SET size = ?, mtime_ns = ? WHERE id = ?", (stat.st_size, stat.st_mtime_ns, row[0])
            )
        report_.unchanged.append(str(path))
        return
    audio = decode(path)
    env = Envelope.from_audio(audio)
    envelopes.save(project.cache_dir, digest, env)
    grid = track_beats(audio.samples, audio.sample_rate)
    downbeats = grid.bar_lines_ms()
    chunking = effective_chunking(chunking, downbeats is not None)
    ranges = chunk_ranges(env, chunking, downbeats)
    tags = read_tags(path)
    values = (
        digest,
        stat.st_size,
        stat.st_mtime_ns,
        audio.duration_s,
        audio.sample_rate,
        audio.channels,
        audio.format,
        tags.get("title", ""),
        tags.get("artist", ""),
        tags.get("album", ""),
        tags.get("genre", ""),
        json.dumps(chunking.to_dict()),
    )
    with project.transaction() as conn:
        if row is None:
            cur = conn.execute(
                "INSERT INTO tracks(hash, size, mtime_ns, duration_s, sample_rate, channels, format, title, artist,"
                " album, genre, chunking, path) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                values + (str(path),),
            )
            track_id = inserted_id(cur)
        else:
            track_id = row[0]
            conn.execute(
                "UPDATE tracks SET hash = ?, size = ?, mtime_ns = ?, duration_s = ?, sample_rate = ?,"
                " channels = ?, format = ?, title = ?, artist = ?, album = ?, genre = ?, chunking = ?"
                " WHERE id = ?",
                values + (track_id,),
            )
            conn.execute("DELETE FROM analysis WHERE track_id = ?", (track_id,))
        project.replace_chunks(conn, track_id, ranges, chunking)
        project.store_beat_grid(conn, track_id, grid)
        conn.execute("DELETE FROM import_errors WHERE path = ?", (str(path),))
    project.remember_envelope(track_id, env)
    (report_.added if row is None else report_.updated).append(str(path))


def _record_failure(project: ImportTarget, path: str, reason: str, report_: ImportReport) -> None:
    log.warning("skipped %s: %s", path, reason)
    report_.failed.append((path, reason))
    with project.transaction() as conn:
        conn.execute("INSERT OR REPLACE INTO import_errors(path, reason) VALUES (?, ?)", (path, reason))


def import_paths(
    project: ImportTarget,
    paths: Iterable[str | Path],
    chunking: ChunkingConfig,
    on_progress: Optional[ProgressFn] = None,
    should_stop: Optional[StopFn] = None,
) -> ImportReport:
    """Import audio files (folders recursively); a broken file is reported and the rest still imported.

    A full disk or a read-only project stops the import at once with DiskFullError or
    ReadOnlyProjectError (both OSError): every further file would fail the same way, and recording
    good files as broken would mislead. What was imported before stays in the project.
    """
    if project.read_only:
        raise ReadOnlyProjectError(project.path)
    files, rejected = collect_audio_files(paths)
    result = ImportReport()
    try:
        for name, reason in rejected:
            _record_failure(project, name, reason, result)
        for done, path in enumerate(files):
            check_stop(should_stop)
            report(on_progress, done, len(files), f"importing {path.name}")
            try:
                _import_settled(project, path, chunking, result)
            except AudioError as exc:
                _record_failure(project, str(path), exc.reason, result)
            except OSError as exc:
                if _storage_problem(project, exc) is not None:
                    raise
                _record_failure(project, str(path), exc.strerror or str(exc), result)
    except (OSError, sqlite3.Error) as exc:
        problem = _storage_problem(project, exc)
        if problem is None:
            raise
        problem.report = result  # what was done before it stopped, for the caller's summary
        raise problem from None
    report(on_progress, len(files), len(files), result.summary())
    return result


def _import_settled(project: ImportTarget, path: Path, chunking: ChunkingConfig, report_: ImportReport) -> None:
    """Import one file; when another import recorded the same file meanwhile, take its row as found."""
    try:
        _import_one(project, path, chunking, report_)
    except sqlite3.IntegrityError:
        # Two imports of one folder both looked the path up before either inserted it; the other one's
        # row is complete now (it was written in one transaction), so a second pass finds it.
        _import_one(project, path, chunking, report_)


def _storage_problem(project: ImportTarget, exc: BaseException) -> DiskFullError | ReadOnlyProjectError | None:
    """The disk-full or read-only condition behind ``exc`` as the error to stop with; None for others."""
    if isinstance(exc, (DiskFullError, ReadOnlyProjectError)):
        return exc
    if is_disk_full(exc):
        return DiskFullError(getattr(exc, "filename", None) or project.path)
    if isinstance(exc, sqlite3.Error) and is_read_only_error(exc):
        return ReadOnlyProjectError(project.path)
    if isinstance(exc, OSError) and exc.errno == errno.EROFS:
        return ReadOnlyProjectError(project.path)
    return None
