"""Incremental import of files and folders into a project: unchanged files are never decoded again."""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Optional

from mixdesk.config import ChunkingConfig
from mixdesk.core.audio import AUDIO_EXTENSIONS, AudioError, decode
from mixdesk.core.chunking import Envelope, chunk_ranges
from mixdesk.library import envelopes
from mixdesk.progress import ProgressFn, StopFn, check_stop, report

if TYPE_CHECKING:
    from mixdesk.library.project import Project

log = logging.getLogger(__name__)


@dataclass
class ImportReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)

    def summary(self) -> str:
        return (f"{len(self.added)} added, {len(self.updated)} updated, {len(self.unchanged)} unchanged, "
                f"{len(self.failed)} failed")


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
                found.extend(Path(root) / f for f in sorted(files)
                             if Path(f).suffix.lower() in AUDIO_EXTENSIONS and not f.startswith("."))
        elif path.exists():
            found.append(path)  # an explicitly named file is tried whatever its extension, and reported
        else:
            rejected.append((str(path), "file not found"))
    return sorted(dict.fromkeys(found)), rejected


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


def _existing(project: "Project", path: Path) -> Optional[tuple]:
    return project._conn().execute("SELECT id, hash, size, mtime_ns FROM tracks WHERE path = ?",
                                    (str(path),)).fetchone()


def _import_one(project: "Project", path: Path, chunking: ChunkingConfig, report_: ImportReport) -> None:
    stat = path.stat()
    row = _existing(project, path)
    if row is not None and row[2] == stat.st_size and row[3] == stat.st_mtime_ns:
        report_.unchanged.append(str(path))
        return
    digest = file_hash(path)
    if row is not None and row[1] == digest:
        with project.transaction() as conn:
            conn.execute("UPDATE tracks SET size = ?, mtime_ns = ? WHERE id = ?", (stat.st_size, stat.st_mtime_ns,
                                                                                  row[0]))
        report_.unchanged.append(str(path))
        return
    audio = decode(path)
    env = Envelope.from_audio(audio)
    envelopes.save(project.cache_dir, digest, env)
    ranges = chunk_ranges(env, chunking)
    tags = read_tags(path)
    values = (digest, stat.st_size, stat.st_mtime_ns, audio.duration_s, audio.sample_rate, audio.channels,
              audio.format, tags.get("title", ""), tags.get("artist", ""), tags.get("album", ""),
              tags.get("genre", ""), json.dumps(chunking.to_dict()))
    with project.transaction() as conn:
        if row is None:
            cur = conn.execute(
                "INSERT INTO tracks(hash, size, mtime_ns, duration_s, sample_rate, channels, format, title, artist,"
                " album, genre, chunking, path) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", values + (str(path),))
            track_id = int(cur.lastrowid)
        else:
            track_id = int(row[0])
            conn.execute("UPDATE tracks SET hash = ?, size = ?, mtime_ns = ?, duration_s = ?, sample_rate = ?,"
                         " channels = ?, format = ?, title = ?, artist = ?, album = ?, genre = ?, chunking = ?"
                         " WHERE id = ?", values + (track_id,))
            conn.execute("DELETE FROM analysis WHERE track_id = ?", (track_id,))
        project.replace_chunks(conn, track_id, ranges, chunking)
        conn.execute("DELETE FROM import_errors WHERE path = ?", (str(path),))
    project.remember_envelope(track_id, env)
    (report_.added if row is None else report_.updated).append(str(path))


def _record_failure(project: "Project", path: str, reason: str, report_: ImportReport) -> None:
    log.warning("skipped %s: %s", path, reason)
    report_.failed.append((path, reason))
    with project.transaction() as conn:
        conn.execute("INSERT OR REPLACE INTO import_errors(path, reason) VALUES (?, ?)", (path, reason))


def import_paths(project: "Project", paths: Iterable[str | Path], chunking: ChunkingConfig,
                 on_progress: Optional[ProgressFn] = None, should_stop: Optional[StopFn] = None) -> ImportReport:
    """Import audio files (folders recursively); a broken file is reported and the rest still imported."""
    files, rejected = collect_audio_files(paths)
    result = ImportReport()
    for path, reason in rejected:
        _record_failure(project, path, reason, result)
    for done, path in enumerate(files):
        check_stop(should_stop)
        report(on_progress, done, len(files), f"importing {path.name}")
        try:
            _import_one(project, path, chunking, result)
        except AudioError as exc:
            _record_failure(project, str(path), exc.reason, result)
        except OSError as exc:
            _record_failure(project, str(path), exc.strerror or str(exc), result)
    report(on_progress, len(files), len(files), result.summary())
    return result
