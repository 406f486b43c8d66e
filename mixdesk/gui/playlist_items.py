"""Reading and copying the mix room's playlist items for the desk's views (no sequencing logic here)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Optional


def items_of(playlist: Any) -> list:
    return [] if playlist is None else list(playlist.items)


def with_items(playlist: Any, items: list) -> Any:
    return playlist.replace_items(items)


def chunk_id(item: Any) -> int:
    return int(item.chunk_id)


def start_ms(item: Any) -> int:
    return int(item.in_ms)


def end_ms(item: Any) -> int:
    return int(item.out_ms)


def score(item: Any) -> Optional[float]:
    value = getattr(item, "score", None)
    return None if value is None else float(value)


def locked(item: Any) -> bool:
    return bool(getattr(item, "locked", False))


def with_locked(item: Any, value: bool) -> Any:
    return item.with_(locked=bool(value))


def crossfade_ms(item: Any) -> int:
    return int(item.transition.length_ms)


def with_crossfade(item: Any, length_ms: int) -> Any:
    """A crossfade of ``length_ms`` after ``item``; zero means a plain cut."""
    kind = "crossfade" if length_ms > 0 else "cut"
    transition = dataclasses.replace(item.transition, kind=kind, length_ms=int(length_ms))
    return item.with_(transition=transition)


def crossfade_beats(item: Any) -> Optional[float]:
    """The crossfade in beats (None: the item has none set, its milliseconds apply); 0 for a cut."""
    if item.transition.kind != "crossfade":
        return 0.0
    beats = item.transition.beats
    return None if beats is None else float(beats)


def with_crossfade_beats(item: Any, beats: float) -> Any:
    """A crossfade of ``beats`` beats after ``item`` where both sides have a beat grid; zero is a cut."""
    kind = "crossfade" if beats > 0 else "cut"
    transition = dataclasses.replace(item.transition, kind=kind, beats=float(beats))
    return item.with_(transition=transition)


def source_label(project: Any, item: Any) -> str:
    """Like :func:`chunk_label`, but true to the item's own excerpt even after its chunk was re-cut."""
    if project is None:
        return f"chunk {chunk_id(item)}"
    try:
        track = project.track(int(item.track_id))
    except Exception:  # noqa: BLE001 - a removed track still gets a row
        return f"{Path(item.source_path).stem} (missing)"
    name = track.title or Path(track.path).stem
    try:
        chunk = project.chunk(chunk_id(item))
    except Exception:  # noqa: BLE001
        chunk = None
    if chunk is not None and chunk.track_id == track.id and chunk.start_ms == item.in_ms:
        return f"{name} #{chunk.index + 1}"
    seconds = item.in_ms / 1000.0
    where = f"{name} @ {int(seconds // 60)}:{seconds % 60:04.1f}"
    return where if chunk is not None else f"{where} (chunk gone)"


def chunk_label(project: Any, chunk_id_value: int) -> str:
    """Track title (or file name) and the chunk's position in it, e.g. ``Lounge Walk #12``."""
    if project is None:
        return f"chunk {chunk_id_value}"
    try:
        chunk = project.chunk(int(chunk_id_value))
        track = project.track(chunk.track_id)
    except Exception:  # noqa: BLE001 - a chunk removed by a re-cut still gets a row
        return f"chunk {chunk_id_value} (missing)"
    name = track.title or Path(track.path).stem
    return f"{name} #{chunk.index + 1}"
