"""The SQLite schema of a project file and the row types read from it."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tracks (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,
    hash TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    duration_s REAL NOT NULL,
    sample_rate INTEGER NOT NULL,
    channels INTEGER NOT NULL,
    format TEXT NOT NULL,
    title TEXT NOT NULL DEFAULT '',
    artist TEXT NOT NULL DEFAULT '',
    album TEXT NOT NULL DEFAULT '',
    genre TEXT NOT NULL DEFAULT '',
    chunking TEXT NOT NULL,
    added_at TEXT NOT NULL DEFAULT (datetime('now'))
);
CREATE TABLE IF NOT EXISTS chunks (
    -- AUTOINCREMENT: a re-cut never hands an old chunk's id to new audio, so caches keyed by id stay valid
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    track_id INTEGER NOT NULL REFERENCES tracks(id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    start_ms INTEGER NOT NULL,
    end_ms INTEGER NOT NULL,
    UNIQUE (track_id, idx)
);
CREATE TABLE IF NOT EXISTS analysis (
    kind TEXT NOT NULL,
    track_id INTEGER NOT NULL REFERENCES tracks(id) ON DELETE CASCADE,
    chunk_key INTEGER NOT NULL,  -- chunk id, or -1 for the whole track
    data TEXT NOT NULL,
    PRIMARY KEY (kind, track_id, chunk_key)
);
CREATE TABLE IF NOT EXISTS playlists (
    name TEXT PRIMARY KEY,
    data TEXT NOT NULL,
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now'))
);
CREATE TABLE IF NOT EXISTS models (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    path TEXT NOT NULL,
    meta TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (datetime('now'))
);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    config TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'running',
    metrics TEXT NOT NULL DEFAULT '{}',
    started_at TEXT NOT NULL DEFAULT (datetime('now')),
    finished_at TEXT
);
CREATE TABLE IF NOT EXISTS import_errors (
    path TEXT PRIMARY KEY,
    reason TEXT NOT NULL,
    at TEXT NOT NULL DEFAULT (datetime('now'))
);
CREATE INDEX IF NOT EXISTS chunks_by_track ON chunks(track_id, idx);
"""


@dataclass(frozen=True)
class Track:
    id: int
    path: str
    hash: str
    duration_s: float
    sample_rate: int
    channels: int
    format: str
    title: str
    artist: str
    album: str
    genre: str
    folder: str

    @property
    def display_name(self) -> str:
        return self.title or self.path.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class Chunk:
    id: int
    track_id: int
    index: int
    start_ms: int
    end_ms: int

    @property
    def duration_ms(self) -> int:
        return self.end_ms - self.start_ms


TRACK_COLUMNS = "id, path, hash, duration_s, sample_rate, channels, format, title, artist, album, genre"
CHUNK_COLUMNS = "id, track_id, idx, start_ms, end_ms"


def track_from_row(row: sqlite3.Row | tuple) -> Track:
    path = row[1]
    folder = path.replace("\\", "/").rsplit("/", 2)[-2] if "/" in path.replace("\\", "/") else ""
    return Track(
        int(row[0]),
        path,
        row[2],
        float(row[3]),
        int(row[4]),
        int(row[5]),
        row[6],
        row[7],
        row[8],
        row[9],
        row[10],
        folder,
    )


def chunk_from_row(row: sqlite3.Row | tuple) -> Chunk:
    return Chunk(int(row[0]), int(row[1]), int(row[2]), int(row[3]), int(row[4]))


def initialise(conn: sqlite3.Connection) -> None:
    conn.executescript(SCHEMA)
    # OR IGNORE: two processes creating the same project at once both find no version row.
    conn.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
    conn.commit()
    check_schema(conn)


def check_schema(conn: sqlite3.Connection) -> None:
    """Refuse a file that is not a project, or one written by a newer mixdesk; writes nothing."""
    found = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    if found is None:
        raise sqlite3.DatabaseError("no schema version")
    if int(found[0]) > SCHEMA_VERSION:
        raise ValueError(f"project was written by a newer mixdesk (schema {found[0]} > {SCHEMA_VERSION})")


def inserted_id(cursor: sqlite3.Cursor) -> int:
    """The row id an INSERT through ``cursor`` gave its new row."""
    if cursor.lastrowid is None:  # only a statement that inserted nothing leaves it unset
        raise sqlite3.DatabaseError("the INSERT did not add a row")
    return cursor.lastrowid
