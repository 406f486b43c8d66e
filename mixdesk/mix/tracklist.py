"""The tracklist of a rendered mix: JSON for tools, and a CUE sheet for players."""

from __future__ import annotations

import json
import math
import unicodedata
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from mixdesk.library.project import Project
from mixdesk.mix.config import EXPORT_FORMATS
from mixdesk.mix.rendering import Placement
from mixdesk.progress import atomic_path

TRACKLIST_VERSION = 1
CUE_FRAMES_PER_SECOND = 75
CUE_MAX_TRACKS = 99  # the CUE format numbers tracks 01-99 and index points 01-99 within a track


def build_tracklist(
    placements: Sequence[Placement],
    *,
    title: str,
    artist: str,
    audio_path: str | Path,
    sample_rate: int,
    duration_ms: float,
    sources: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """The tracklist document; ``sources`` (path -> track id and chunk ranges) lets a seam report compare
    the mix with the boundaries inside each source track without opening the project."""
    items = [
        {
            "index": p.index,
            "chunk_id": p.chunk_id,
            "track_id": p.track_id,
            "source_path": p.source_path,
            "source_start_ms": round(p.source_start_ms, 2),
            "source_end_ms": round(p.source_end_ms, 2),
            "mix_start_ms": round(p.mix_start_ms, 2),
            "mix_end_ms": round(p.mix_end_ms, 2),
            "score": None if p.score is None else round(float(p.score), 6),
            "gain_db": round(p.gain_db, 2),
            "mix_bpm": None if p.mix_bpm is None else round(p.mix_bpm, 3),
            "source_bpm": None if p.source_bpm is None else round(p.source_bpm, 3),
        }
        for p in placements
    ]
    return {
        "version": TRACKLIST_VERSION,
        "title": title,
        "artist": artist,
        "audio": Path(audio_path).name,
        "sample_rate": int(sample_rate),
        "duration_ms": round(float(duration_ms), 2),
        "items": items,
        "sources": {path: dict(info) for path, info in (sources or {}).items()},
    }


def source_chunks(project: Project, track_ids: Iterable[int]) -> dict[str, dict[str, Any]]:
    """Chunk ranges, the track's artist and title tags and the Camelot key (each where known) of the given
    tracks, keyed by source path."""
    out: dict[str, dict[str, Any]] = {}
    try:
        descriptors = project.analysis("descriptors")
    except Exception:  # a project without analysis simply has no keys to report
        descriptors = {}
    for track_id in sorted(set(track_ids)):
        track = project.track(track_id)
        ranges = [[c.start_ms, c.end_ms] for c in project.chunks(track_id)]
        out[str(track.path)] = {
            "track_id": int(track_id),
            "chunks": ranges,
            "camelot": (descriptors.get((track_id, None)) or {}).get("camelot") or None,
            "artist": track.artist or None,
            "title": track.title or None,
        }
    return out


def write_json(path: str | Path, data: Mapping[str, Any]) -> Path:
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    return path


def read_tracklist(path: str | Path) -> dict[str, Any]:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("items"), list):
        raise ValueError(f"{path}: not a mixdesk tracklist (no 'items' list)")
    return data


def cue_time(ms: float) -> str:
    """mm:ss:ff with ff in CD frames of 1/75 s, rounded down so an index never points past its audio."""
    frames = int(math.floor(max(0.0, ms) * CUE_FRAMES_PER_SECOND / 1000 + 1e-9))
    minutes, rest = divmod(frames, 60 * CUE_FRAMES_PER_SECOND)
    seconds, ff = divmod(rest, CUE_FRAMES_PER_SECOND)
    return f"{minutes:02d}:{seconds:02d}:{ff:02d}"


def clean_text(text: Any) -> str:
    """``text`` on one line: control characters (CR, LF, tab, NUL, ...) and line separators become spaces.

    Titles and file names come from tags and the file system, and a line break in one would let it
    write lines of its own (``FILE "../../x" WAVE``) into a CUE sheet or a tag.
    """
    return "".join(" " if unicodedata.category(char) in ("Cc", "Zl", "Zp") else char for char in str(text))


def _quote(text: str, limit: int = 80) -> str:
    # The CUE format has no escape for a double quote inside a quoted string, so it becomes a single one.
    return '"' + clean_text(text).replace('"', "'")[:limit] + '"'


def _clock(ms: float) -> str:
    seconds = max(0.0, ms) / 1000
    return f"{int(seconds // 60):02d}:{seconds % 60:06.3f}"


def cue_sheet(tracklist: Mapping[str, Any], audio_format: str = "mp3") -> str:
    """A CUE sheet over the mix file; each item is a track, or an index point once there are over 99."""
    items = list(tracklist["items"])
    per_track = max(1, math.ceil(len(items) / CUE_MAX_TRACKS))
    lines = [
        'REM COMMENT "mixdesk"',
        f"PERFORMER {_quote(tracklist.get('artist', ''))}",
        f"TITLE {_quote(tracklist.get('title', ''))}",
        f"FILE {_quote(tracklist.get('audio', 'mix'), 255)} {_cue_file_type(audio_format)}",
    ]
    for start in range(0, len(items), per_track):
        group = items[start : start + per_track]
        first = group[0]
        lines += [
            f"  TRACK {start // per_track + 1:02d} AUDIO",
            f"    TITLE {_quote(_item_title(first, len(group)))}",
            f"    PERFORMER {_quote(_item_performer(tracklist, first))}",
        ]
        for number, item in enumerate(group, start=1):
            lines.append(
                f"    REM SOURCE {_quote(item['source_path'], 255)} "
                f"{_clock(item['source_start_ms'])}-{_clock(item['source_end_ms'])}"
            )
            lines.append(f"    INDEX {number:02d} {cue_time(item['mix_start_ms'])}")
    return "\n".join(lines) + "\n"


def _cue_file_type(audio_format: str) -> str:
    known = EXPORT_FORMATS.get(audio_format)
    return known.cue_file_type if known is not None else "WAVE"


def _item_performer(tracklist: Mapping[str, Any], item: Mapping[str, Any]) -> str:
    """The source track's artist where its tags name one, else the mix's artist."""
    source = (tracklist.get("sources") or {}).get(item["source_path"]) or {}
    return source.get("artist") or tracklist.get("artist", "")


def _item_title(item: Mapping[str, Any], count: int) -> str:
    name = Path(item["source_path"]).stem or "chunk"
    title = f"{name} (chunk {item['chunk_id']})"
    return title if count == 1 else f"{title} + {count - 1} more"


def write_cue(path: str | Path, tracklist: Mapping[str, Any], audio_format: str = "mp3") -> Path:
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(cue_sheet(tracklist, audio_format), encoding="utf-8")
    return path
