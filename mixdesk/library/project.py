"""A project: one SQLite file for tracks, chunks, analysis, playlists, models and runs, plus a cache folder.

Every write is one transaction, so a crash at any point leaves the file as it was before or after that
write. Each thread gets its own connection (the desk reads while a worker imports); WAL mode lets them
work side by side. A project the user may not write is opened for reading: browsing, mixing from it and
evaluating on it work, and any write fails with ReadOnlyProjectError.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import sqlite3
import threading
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Optional, Sequence

import numpy as np

from mixdesk import paths
from mixdesk.config import LEGACY_LIBRARY_CHUNKING, LIBRARY_CHUNKING, ChunkingConfig, effective_chunking
from mixdesk.core.audio import Audio, decode
from mixdesk.core.beatgrid import BeatGrid
from mixdesk.core.chunking import Envelope, chunk_ranges
from mixdesk.library import envelopes
from mixdesk.library.errors import ReadOnlyProjectError, is_read_only_error
from mixdesk.library.importer import ImportReport, import_paths
from mixdesk.library.schema import (
    CHUNK_COLUMNS,
    TRACK_COLUMNS,
    Chunk,
    Track,
    check_schema,
    chunk_from_row,
    initialise,
    inserted_id,
    track_from_row,
)
from mixdesk.progress import (
    DiskFullError,
    ProgressFn,
    StopFn,
    atomic_path,
    check_stop,
    is_disk_full,
    remove_stale_parts,
    report,
)

BEATS_KIND = "beats"  # the analysis kind holding each track's beat grid
_AUDIO_CACHE_SIZE = 4
# Envelopes cost about 1 MB per minute of audio in memory; the rest stay on disk until needed again.
_ENVELOPE_CACHE_SIZE = 32


def _writable(path: Path) -> bool:
    # SQLite also writes -wal and -shm files beside the project, so its folder must be writable too.
    if path.exists() and not os.access(path, os.W_OK):
        return False
    return os.access(path.parent, os.W_OK)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, owned by someone else
    except OSError:
        return True  # cannot tell: keep the run as it is
    return True


@dataclass(frozen=True)
class TrackCut:
    """How one track is cut: its chunk ranges in order and the chunking that made them (ids are not kept,
    a re-cut never reuses them)."""

    ranges: tuple[tuple[int, int], ...]
    chunking: ChunkingConfig


class Project:
    def __init__(self, path: Path, read_only: bool = False) -> None:
        self.path = Path(path).resolve()
        self.cache_dir = Path(str(self.path) + ".cache")
        self.read_only = read_only
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._audio_cache: OrderedDict[tuple, Audio] = OrderedDict()
        self._envelopes: OrderedDict[int, Envelope] = OrderedDict()

    # ----- opening and connections
    @classmethod
    def open(cls, path: str | Path) -> "Project":
        """Open (or create) a project; one the user may not write opens read-only.

        Opening also tidies up after a killed process: stale temp files in the cache folder are removed
        and training runs whose process is gone are marked "interrupted".
        """
        path = Path(path)
        if path.is_dir():
            raise ValueError(f"{path} is a folder; a project is a file such as {path / 'project.mixdesk'}")
        if path.exists() and not _writable(path.resolve()):
            return cls._open_read_only(path)
        if not path.exists() and path.parent.is_dir() and not os.access(path.parent, os.W_OK):
            raise ValueError(f"{path}: cannot create a project there (its folder is read-only)")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ValueError(f"{path}: cannot create the project's folder ({exc.strerror or exc})") from None
        project = cls(path)
        try:
            initialise(project._conn())
        except sqlite3.DatabaseError as exc:
            project.close()
            if is_read_only_error(exc) and path.exists():
                return cls._open_read_only(path)
            if is_disk_full(exc):
                raise DiskFullError(path) from None
            raise ValueError(f"{path} is not a mixdesk project ({exc})") from None
        try:
            project.cache_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            project.close()
            if is_disk_full(exc):
                raise DiskFullError(project.cache_dir) from None
            raise ValueError(f"{path}: cannot create its cache folder ({exc.strerror or exc})") from None
        project._recover()
        return project

    @classmethod
    def _open_read_only(cls, path: Path) -> "Project":
        project = cls(path, read_only=True)
        try:
            check_schema(project._conn())
        except sqlite3.DatabaseError as exc:
            project.close()
            raise ValueError(f"{path} is not a mixdesk project ({exc})") from None
        cache = project.cache_dir
        if not os.access(cache if cache.exists() else cache.parent, os.W_OK):
            # Mixing and evaluating still cache envelopes and features; they go to the user's own cache.
            digest = hashlib.blake2b(str(project.path).encode(), digest_size=8).hexdigest()
            project.cache_dir = paths.cache_dir() / "read-only-projects" / digest
            project.cache_dir.mkdir(parents=True, exist_ok=True)
        return project

    def _recover(self) -> None:
        """Clear what a killed process left behind; a failure here never stops the project opening."""
        remove_stale_parts(self.cache_dir, recursive=True)
        try:
            self._mark_interrupted_runs()
        except sqlite3.Error:
            pass  # a busy or full database: the next opening tries again

    def _mark_interrupted_runs(self) -> None:
        rows = self._conn().execute("SELECT id, config FROM runs WHERE status = 'running'").fetchall()
        host = socket.gethostname()
        gone = []
        for run_id, config in rows:
            try:
                owner = json.loads(config).get("process") or {}
            except (ValueError, AttributeError):
                owner = {}
            pid = owner.get("pid")
            if owner.get("host", host) != host:
                continue  # started on another machine sharing this file: its process cannot be checked here
            if not isinstance(pid, int) or not _process_alive(pid):
                gone.append(run_id)
        if gone:
            with self.transaction() as conn:
                conn.executemany(
                    "UPDATE runs SET status = 'interrupted', finished_at = datetime('now')"
                    " WHERE id = ? AND status = 'running'",
                    [(r,) for r in gone],
                )

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            if self.read_only:
                conn = self._connect_read_only()
            else:
                conn = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA foreign_keys=ON")
                conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return conn

    def _connect_read_only(self) -> sqlite3.Connection:
        uri = self.path.as_uri()  # percent-encodes "?" and "#", which would end the path inside a URI
        conn = sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=30, check_same_thread=False)
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.OperationalError:
            # A WAL project in an unwritable folder cannot get its shared-memory file; read it as it
            # stands on disk (a cleanly closed project has everything in the main file).
            conn.close()
            conn = sqlite3.connect(f"{uri}?immutable=1", uri=True, timeout=30, check_same_thread=False)
        return conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        if self.read_only:
            raise ReadOnlyProjectError(self.path)
        conn = self._conn()
        with conn:
            yield conn

    def close(self) -> None:
        with self._lock:
            for conn in self._connections:
                try:
                    conn.close()
                except sqlite3.Error:
                    pass
            self._connections.clear()
        self._local = threading.local()

    def save_as(
        self, target: str | Path, on_progress: Optional[ProgressFn] = None, should_stop: Optional[StopFn] = None
    ) -> Path:
        """Write a consistent copy of the project to ``target`` and copy its cache folder beside it.

        The copy is taken with SQLite's backup API through this project's own connection, so it includes
        every committed change (also those still in the write-ahead log) while other threads keep working.
        It is written to a temporary file beside ``target`` and renamed onto it only when complete: a
        failure, a stop or a full disk leaves any earlier file at ``target`` as it was. The project stays
        open on its own file. Returns the copy's resolved path.
        """
        target = Path(target).resolve()
        if target == self.path:
            raise ValueError(f"{target} is this project's own file; every change is already saved in it")
        if target.is_dir():
            raise ValueError(f"{target} is a folder; a project is a file such as {target / 'project.mixdesk'}")
        report(on_progress, 0, 2, "copying the project")
        with atomic_path(target) as tmp:
            copy = sqlite3.connect(tmp)
            try:
                self._conn().backup(copy)
            except sqlite3.OperationalError as exc:
                if is_disk_full(exc):
                    raise DiskFullError(target) from None
                raise
            finally:
                copy.close()
            check_stop(should_stop)
        report(on_progress, 1, 2, "copying the cache")
        cache_target = Path(str(target) + ".cache")
        if self.cache_dir.is_dir() and cache_target.resolve() != self.cache_dir.resolve():
            shutil.copytree(self.cache_dir, cache_target, dirs_exist_ok=True)
        report(on_progress, 2, 2, "copied")
        return target

    def __enter__(self) -> "Project":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----- tracks and chunks
    def tracks(self) -> list[Track]:
        rows = self._conn().execute(f"SELECT {TRACK_COLUMNS} FROM tracks ORDER BY id").fetchall()
        return [track_from_row(r) for r in rows]

    def track(self, track_id: int) -> Track:
        row = self._conn().execute(f"SELECT {TRACK_COLUMNS} FROM tracks WHERE id = ?", (track_id,)).fetchone()
        if row is None:
            raise KeyError(f"no track {track_id} in {self.path.name}")
        return track_from_row(row)

    def chunks(self, track_id: Optional[int] = None) -> list[Chunk]:
        if track_id is None:
            rows = self._conn().execute(f"SELECT {CHUNK_COLUMNS} FROM chunks ORDER BY track_id, idx").fetchall()
        else:
            rows = (
                self._conn()
                .execute(f"SELECT {CHUNK_COLUMNS} FROM chunks WHERE track_id = ? ORDER BY idx", (track_id,))
                .fetchall()
            )
        return [chunk_from_row(r) for r in rows]

    def chunk(self, chunk_id: int) -> Chunk:
        row = self._conn().execute(f"SELECT {CHUNK_COLUMNS} FROM chunks WHERE id = ?", (chunk_id,)).fetchone()
        if row is None:
            raise KeyError(f"no chunk {chunk_id} in {self.path.name}")
        return chunk_from_row(row)

    def chunking_of(self, track_id: int) -> ChunkingConfig:
        row = self._conn().execute("SELECT chunking FROM tracks WHERE id = ?", (track_id,)).fetchone()
        if row is None:
            raise KeyError(f"no track {track_id} in {self.path.name}")
        return ChunkingConfig.from_dict(json.loads(row[0]))

    def import_errors(self) -> list[tuple[str, str]]:
        return [tuple(r) for r in self._conn().execute("SELECT path, reason FROM import_errors ORDER BY path")]

    def import_paths(
        self,
        paths: Iterable[str | Path],
        chunking: ChunkingConfig = LIBRARY_CHUNKING,
        on_progress: Optional[ProgressFn] = None,
        should_stop: Optional[StopFn] = None,
    ) -> ImportReport:
        """Import audio files and folders (see :func:`mixdesk.library.importer.import_paths`)."""
        return import_paths(self, paths, chunking, on_progress, should_stop)

    def stored_file(self, path: Path) -> Optional[tuple[int, str, int, int]]:
        """(track id, content hash, size, mtime_ns) of the track imported from ``path``; None if none was."""
        row = (
            self._conn().execute("SELECT id, hash, size, mtime_ns FROM tracks WHERE path = ?", (str(path),)).fetchone()
        )
        return None if row is None else (int(row[0]), str(row[1]), int(row[2]), int(row[3]))

    def replace_chunks(
        self, conn: sqlite3.Connection, track_id: int, ranges: Sequence[tuple[int, int]], chunking: ChunkingConfig
    ) -> None:
        """Swap a track's chunks inside the caller's transaction."""
        conn.execute("DELETE FROM chunks WHERE track_id = ?", (track_id,))
        conn.executemany(
            "INSERT INTO chunks(track_id, idx, start_ms, end_ms) VALUES (?, ?, ?, ?)",
            [(track_id, i, int(s), int(e)) for i, (s, e) in enumerate(ranges)],
        )
        conn.execute("UPDATE tracks SET chunking = ? WHERE id = ?", (json.dumps(chunking.to_dict()), track_id))
        conn.execute("DELETE FROM analysis WHERE track_id = ? AND chunk_key != -1", (track_id,))

    def remove_tracks(self, track_ids: Sequence[int]) -> None:
        """Forget tracks with their chunks and analysis (the audio files are not touched)."""
        with self.transaction() as conn:
            conn.executemany("DELETE FROM tracks WHERE id = ?", [(int(t),) for t in track_ids])
        with self._lock:
            for track_id in track_ids:
                self._envelopes.pop(int(track_id), None)

    def rechunk(
        self,
        chunking: ChunkingConfig,
        track_ids: Optional[Sequence[int]] = None,
        on_progress: Optional[ProgressFn] = None,
        should_stop: Optional[StopFn] = None,
    ) -> int:
        """Re-cut tracks from their cached envelopes (and beat grids); returns the new total chunk count.

        All or nothing: every track's cut is computed first and then written in one transaction, so a
        failure or a stop part-way leaves every track as it was.
        """
        ids = list(track_ids) if track_ids is not None else [t.id for t in self.tracks()]
        cuts = {}
        for done, track_id in enumerate(ids):
            check_stop(should_stop)
            cuts[track_id] = self.cut(track_id, chunking)
            report(on_progress, done + 1, len(ids) + 1, f"cut {done + 1}/{len(ids)} tracks")
        check_stop(should_stop)
        with self.transaction() as conn:
            for track_id, (ranges, applied) in cuts.items():
                self.replace_chunks(conn, track_id, ranges, applied)
        report(on_progress, len(ids) + 1, len(ids) + 1, "saved")
        return sum(len(ranges) for ranges, _ in cuts.values())

    def cuts(self, track_ids: Optional[Iterable[int]] = None) -> dict[int, TrackCut]:
        """How tracks (all, or those named that still exist) are cut now: a re-cut's record to undo it."""
        conn = self._conn()
        wanted = None if track_ids is None else {int(t) for t in track_ids}
        chunking = {
            int(t): c for t, c in conn.execute("SELECT id, chunking FROM tracks") if wanted is None or int(t) in wanted
        }
        out = {}
        for track_id, config in chunking.items():
            rows = conn.execute("SELECT start_ms, end_ms FROM chunks WHERE track_id = ? ORDER BY idx", (track_id,))
            ranges = tuple((int(start), int(end)) for start, end in rows)
            out[track_id] = TrackCut(ranges, ChunkingConfig.from_dict(json.loads(config)))
        return out

    def restore_cuts(self, cuts: dict[int, TrackCut]) -> int:
        """Cut tracks again as ``cuts`` recorded (undoing or redoing a re-cut), in one transaction.

        Restored chunks get new ids, as any re-cut's do; a track already cut that way keeps its chunks and
        a track removed since is skipped. Returns how many tracks were re-cut.
        """
        with self.transaction() as conn:
            now = self.cuts(cuts)
            changed = {t: cut for t, cut in cuts.items() if t in now and now[t] != cut}
            for track_id, cut in changed.items():
                self.replace_chunks(conn, track_id, cut.ranges, cut.chunking)
        return len(changed)

    def cut(self, track_id: int, chunking: ChunkingConfig) -> tuple[list[tuple[int, int]], ChunkingConfig]:
        """The chunks ``chunking`` gives a track (without saving them) and the chunking really applied:
        bars where the track has a confident grid, its silence fallback where not."""
        downbeats = None
        if chunking.mode == "bars":
            grid = self.beat_grid(track_id) or self.compute_beat_grid(track_id)
            downbeats = grid.bar_lines_ms()
        applied = effective_chunking(chunking, downbeats is not None)
        return chunk_ranges(self.envelope(track_id), applied, downbeats), applied

    def refresh_chunking(
        self, chunking: ChunkingConfig, on_progress: Optional[ProgressFn] = None, should_stop: Optional[StopFn] = None
    ) -> int:
        """Give every track a beat grid and re-cut the tracks that were cut automatically with another
        default (projects from before beat grids, or a silence fallback whose track now has a confident
        grid); chunks tuned by hand stay. Returns how many tracks were re-cut."""
        self.ensure_beat_grids(on_progress=on_progress, should_stop=should_stop)
        grids = self.beat_grids()
        automatic = (LEGACY_LIBRARY_CHUNKING, chunking, chunking.silence_fallback)
        stale = []
        for track in self.tracks():
            grid = grids.get(track.id)
            wanted = effective_chunking(chunking, grid is not None and grid.confident)
            current = self.chunking_of(track.id)
            if current != wanted and current in automatic:
                stale.append(track.id)
        if stale:
            self.rechunk(chunking, stale, on_progress, should_stop)
        return len(stale)

    # ----- beat grids
    def beat_grid(self, track_id: int) -> Optional[BeatGrid]:
        row = (
            self._conn()
            .execute(
                "SELECT data FROM analysis WHERE kind = ? AND track_id = ? AND chunk_key = -1", (BEATS_KIND, track_id)
            )
            .fetchone()
        )
        return None if row is None else BeatGrid.from_dict(json.loads(row[0]))

    def beat_grids(self) -> dict[int, BeatGrid]:
        return {t: BeatGrid.from_dict(d) for (t, c), d in self.analysis(BEATS_KIND).items() if c is None}

    @staticmethod
    def store_beat_grid(conn: sqlite3.Connection, track_id: int, grid: BeatGrid) -> None:
        """Write a track's grid inside the caller's transaction."""
        conn.execute(
            "INSERT OR REPLACE INTO analysis(kind, track_id, chunk_key, data) VALUES (?, ?, -1, ?)",
            (BEATS_KIND, track_id, json.dumps(grid.to_dict())),
        )

    def compute_beat_grid(self, track_id: int, should_stop: Optional[StopFn] = None) -> BeatGrid:
        """Track the beats of one track, reading its file block by block (an hour of audio never sits in
        memory), and store the grid."""
        from mixdesk.core.audio import read_blocks
        from mixdesk.core.beats import BeatTracker

        track = self.track(track_id)
        tracker = BeatTracker(track.sample_rate)
        for block in read_blocks(track.path):
            check_stop(should_stop)
            tracker.feed(block)
        grid = tracker.finish()
        with self.transaction() as conn:
            self.store_beat_grid(conn, track_id, grid)
        return grid

    def ensure_beat_grids(
        self,
        track_ids: Optional[Sequence[int]] = None,
        on_progress: Optional[ProgressFn] = None,
        should_stop: Optional[StopFn] = None,
    ) -> int:
        """Compute the grids that tracks lack (projects made before grids existed); returns how many."""
        have = set(self.beat_grids())
        todo = [t for t in (track_ids if track_ids is not None else [t.id for t in self.tracks()]) if t not in have]
        for done, track_id in enumerate(todo):
            check_stop(should_stop)
            report(on_progress, done, len(todo), f"beat grid {done + 1}/{len(todo)}")
            self.compute_beat_grid(track_id, should_stop)
        report(on_progress, len(todo), len(todo), "beat grids done")
        return len(todo)

    # ----- audio
    def envelope(self, track_id: int) -> Envelope:
        with self._lock:
            env = self._envelopes.get(track_id)
        if env is None:
            track = self.track(track_id)
            env = envelopes.load(self.cache_dir, track.hash)
            if env is None:
                env = Envelope.from_audio(self.track_audio(track_id))
                envelopes.save(self.cache_dir, track.hash, env)
        self.remember_envelope(track_id, env)
        return env

    def remember_envelope(self, track_id: int, env: Envelope) -> None:
        with self._lock:
            self._envelopes[track_id] = env
            self._envelopes.move_to_end(track_id)
            while len(self._envelopes) > _ENVELOPE_CACHE_SIZE:
                self._envelopes.popitem(last=False)

    def track_audio(self, track_id: int, sample_rate: Optional[int] = None, mono: bool = False) -> Audio:
        key = (track_id, sample_rate, mono)
        with self._lock:
            audio = self._audio_cache.get(key)
            if audio is not None:
                self._audio_cache.move_to_end(key)
                return audio
        audio = decode(self.track(track_id).path, sample_rate=sample_rate, mono=mono)
        with self._lock:
            self._audio_cache[key] = audio
            while len(self._audio_cache) > _AUDIO_CACHE_SIZE:
                self._audio_cache.popitem(last=False)
        return audio

    def chunk_audio(self, chunk: Chunk | int, sample_rate: Optional[int] = None, mono: bool = False) -> np.ndarray:
        if not isinstance(chunk, Chunk):
            chunk = self.chunk(int(chunk))
        audio = self.track_audio(chunk.track_id, sample_rate, mono)
        rate = audio.sample_rate
        start = int(chunk.start_ms * rate // 1000)
        end = min(audio.frames, int(chunk.end_ms * rate // 1000))
        return audio.samples[start:end]

    # ----- JSON documents of the other rooms
    def put_analysis(self, kind: str, data: dict, track_id: int, chunk_id: Optional[int] = None) -> None:
        with self.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO analysis(kind, track_id, chunk_key, data) VALUES (?, ?, ?, ?)",
                (kind, track_id, -1 if chunk_id is None else chunk_id, json.dumps(data)),
            )

    def analysis(self, kind: str) -> dict[tuple[int, Optional[int]], dict]:
        rows = self._conn().execute("SELECT track_id, chunk_key, data FROM analysis WHERE kind = ?", (kind,))
        return {(int(t), None if c == -1 else int(c)): json.loads(d) for t, c, d in rows}

    def save_playlist(self, name: str, data: dict) -> None:
        with self.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO playlists(name, data, updated_at)"
                " VALUES (?, ?, strftime('%Y-%m-%d %H:%M:%f', 'now'))",
                (name, json.dumps(data)),
            )

    def load_playlist(self, name: str) -> Optional[dict]:
        row = self._conn().execute("SELECT data FROM playlists WHERE name = ?", (name,)).fetchone()
        return None if row is None else json.loads(row[0])

    def delete_playlist(self, name: str) -> None:
        with self.transaction() as conn:
            conn.execute("DELETE FROM playlists WHERE name = ?", (name,))

    def playlists(self) -> list[str]:
        return [r[0] for r in self._conn().execute("SELECT name FROM playlists ORDER BY rowid DESC")]

    def add_model(self, name: str, path: str, meta: dict) -> int:
        with self.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO models(name, path, meta) VALUES (?, ?, ?)", (name, str(path), json.dumps(meta))
            )
            return inserted_id(cur)

    def models(self) -> list[dict]:
        rows = self._conn().execute("SELECT id, name, path, meta, created_at FROM models ORDER BY id")
        return [{"id": i, "name": n, "path": p, "meta": json.loads(m), "created_at": c} for i, n, p, m, c in rows]

    def add_run(self, kind: str, config: dict) -> int:
        """Record a run as "running"; the process is noted so that a later opening can tell it was killed."""
        config = {**config, "process": {"pid": os.getpid(), "host": socket.gethostname()}}
        with self._storage_errors(), self.transaction() as conn:
            cur = conn.execute("INSERT INTO runs(kind, config) VALUES (?, ?)", (kind, json.dumps(config)))
            return inserted_id(cur)

    def finish_run(self, run_id: int, status: str, metrics: dict) -> None:
        with self._storage_errors(), self.transaction() as conn:
            conn.execute(
                "UPDATE runs SET status = ?, metrics = ?, finished_at = datetime('now') WHERE id = ?",
                (status, json.dumps(metrics), run_id),
            )

    @contextmanager
    def _storage_errors(self) -> Iterator[None]:
        """SQLite's "database or disk is full" and "readonly database" as the errors users see elsewhere."""
        try:
            yield
        except sqlite3.OperationalError as exc:
            if is_disk_full(exc):
                raise DiskFullError(self.path) from None
            if is_read_only_error(exc):
                raise ReadOnlyProjectError(self.path) from None
            raise

    def runs(self) -> list[dict]:
        rows = self._conn().execute("SELECT id, kind, config, status, metrics, started_at, finished_at FROM runs")
        return [
            {
                "id": i,
                "kind": k,
                "config": json.loads(c),
                "status": s,
                "metrics": json.loads(m),
                "started_at": a,
                "finished_at": f,
            }
            for i, k, c, s, m, a, f in rows
        ]
