"""A project: one SQLite file for tracks, chunks, analysis, playlists, models and runs, plus a cache folder.

Every write is one transaction, so a crash at any point leaves the file as it was before or after that
write. Each thread gets its own connection (the desk reads while a worker imports); WAL mode lets them
work side by side.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections import OrderedDict
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator, Optional, Sequence

import numpy as np

from mixdesk.config import LIBRARY_CHUNKING, ChunkingConfig
from mixdesk.core.audio import Audio, decode
from mixdesk.core.chunking import Envelope, chunk_ranges
from mixdesk.library import envelopes
from mixdesk.library.schema import (CHUNK_COLUMNS, TRACK_COLUMNS, Chunk, Track, chunk_from_row, initialise,
                                    track_from_row)
from mixdesk.progress import ProgressFn, StopFn, check_stop, report

_AUDIO_CACHE_SIZE = 4
# Envelopes cost about 1 MB per minute of audio in memory; the rest stay on disk until needed again.
_ENVELOPE_CACHE_SIZE = 32


class Project:
    def __init__(self, path: Path) -> None:
        self.path = Path(path).resolve()
        self.cache_dir = Path(str(self.path) + ".cache")
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._audio_cache: OrderedDict[tuple, Audio] = OrderedDict()
        self._envelopes: OrderedDict[int, Envelope] = OrderedDict()

    # ----- opening and connections
    @classmethod
    def open(cls, path: str | Path) -> "Project":
        path = Path(path)
        if path.is_dir():
            raise ValueError(f"{path} is a folder; a project is a file such as {path / 'project.mixdesk'}")
        path.parent.mkdir(parents=True, exist_ok=True)
        project = cls(path)
        project.cache_dir.mkdir(parents=True, exist_ok=True)
        try:
            initialise(project._conn())
        except sqlite3.DatabaseError as exc:
            project.close()
            raise ValueError(f"{path} is not a mixdesk project ({exc})") from None
        return project

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
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

    def __enter__(self) -> "Project":
        return self

    def __exit__(self, *exc) -> None:
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
            rows = self._conn().execute(f"SELECT {CHUNK_COLUMNS} FROM chunks WHERE track_id = ? ORDER BY idx",
                                        (track_id,)).fetchall()
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

    def import_paths(self, paths: Iterable[str | Path], chunking: ChunkingConfig = LIBRARY_CHUNKING,
                     on_progress: Optional[ProgressFn] = None, should_stop: Optional[StopFn] = None):
        from mixdesk.library.importer import import_paths

        return import_paths(self, paths, chunking, on_progress, should_stop)

    def replace_chunks(self, conn: sqlite3.Connection, track_id: int, ranges: Sequence[tuple[int, int]],
                       chunking: ChunkingConfig) -> None:
        """Swap a track's chunks inside the caller's transaction."""
        conn.execute("DELETE FROM chunks WHERE track_id = ?", (track_id,))
        conn.executemany("INSERT INTO chunks(track_id, idx, start_ms, end_ms) VALUES (?, ?, ?, ?)",
                         [(track_id, i, int(s), int(e)) for i, (s, e) in enumerate(ranges)])
        conn.execute("UPDATE tracks SET chunking = ? WHERE id = ?", (json.dumps(chunking.to_dict()), track_id))
        conn.execute("DELETE FROM analysis WHERE track_id = ? AND chunk_key != -1", (track_id,))

    def remove_tracks(self, track_ids: Sequence[int]) -> None:
        """Forget tracks with their chunks and analysis (the audio files are not touched)."""
        with self.transaction() as conn:
            conn.executemany("DELETE FROM tracks WHERE id = ?", [(int(t),) for t in track_ids])
        with self._lock:
            for track_id in track_ids:
                self._envelopes.pop(int(track_id), None)

    def rechunk(self, chunking: ChunkingConfig, track_ids: Optional[Sequence[int]] = None,
                on_progress: Optional[ProgressFn] = None, should_stop: Optional[StopFn] = None) -> int:
        """Re-cut tracks from their cached envelopes; returns the new total chunk count of those tracks."""
        ids = list(track_ids) if track_ids is not None else [t.id for t in self.tracks()]
        total = 0
        for done, track_id in enumerate(ids):
            check_stop(should_stop)
            ranges = chunk_ranges(self.envelope(track_id), chunking)
            with self.transaction() as conn:
                self.replace_chunks(conn, track_id, ranges, chunking)
            total += len(ranges)
            report(on_progress, done + 1, len(ids), f"re-cut {done + 1}/{len(ids)} tracks")
        return total

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
            conn.execute("INSERT OR REPLACE INTO analysis(kind, track_id, chunk_key, data) VALUES (?, ?, ?, ?)",
                         (kind, track_id, -1 if chunk_id is None else chunk_id, json.dumps(data)))

    def analysis(self, kind: str) -> dict[tuple[int, Optional[int]], dict]:
        rows = self._conn().execute("SELECT track_id, chunk_key, data FROM analysis WHERE kind = ?", (kind,))
        return {(int(t), None if c == -1 else int(c)): json.loads(d) for t, c, d in rows}

    def save_playlist(self, name: str, data: dict) -> None:
        with self.transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO playlists(name, data, updated_at)"
                         " VALUES (?, ?, strftime('%Y-%m-%d %H:%M:%f', 'now'))",
                         (name, json.dumps(data)))

    def load_playlist(self, name: str) -> Optional[dict]:
        row = self._conn().execute("SELECT data FROM playlists WHERE name = ?", (name,)).fetchone()
        return None if row is None else json.loads(row[0])

    def playlists(self) -> list[str]:
        return [r[0] for r in self._conn().execute("SELECT name FROM playlists ORDER BY rowid DESC")]

    def add_model(self, name: str, path: str, meta: dict) -> int:
        with self.transaction() as conn:
            cur = conn.execute("INSERT INTO models(name, path, meta) VALUES (?, ?, ?)", (name, str(path),
                                                                                       json.dumps(meta)))
            return int(cur.lastrowid)

    def models(self) -> list[dict]:
        rows = self._conn().execute("SELECT id, name, path, meta, created_at FROM models ORDER BY id")
        return [{"id": i, "name": n, "path": p, "meta": json.loads(m), "created_at": c} for i, n, p, m, c in rows]

    def add_run(self, kind: str, config: dict) -> int:
        with self.transaction() as conn:
            cur = conn.execute("INSERT INTO runs(kind, config) VALUES (?, ?)", (kind, json.dumps(config)))
            return int(cur.lastrowid)

    def finish_run(self, run_id: int, status: str, metrics: dict) -> None:
        with self.transaction() as conn:
            conn.execute("UPDATE runs SET status = ?, metrics = ?, finished_at = datetime('now') WHERE id = ?",
                         (status, json.dumps(metrics), run_id))

    def runs(self) -> list[dict]:
        rows = self._conn().execute("SELECT id, kind, config, status, metrics, started_at, finished_at FROM runs")
        return [{"id": i, "kind": k, "config": json.loads(c), "status": s, "metrics": json.loads(m),
                 "started_at": a, "finished_at": f} for i, k, c, s, m, a, f in rows]
