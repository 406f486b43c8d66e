"""Reading and copying the mix room's playlist items for the desk's views (no sequencing logic here)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:
    from mixdesk.library.project import Project
    from mixdesk.library.schema import Chunk
    from mixdesk.mix.playlist import Playlist, PlaylistItem


def items_of(playlist: Playlist | None) -> list[PlaylistItem]:
    return [] if playlist is None else list(playlist.items)


def with_items(playlist: Playlist, items: list[PlaylistItem]) -> Playlist:
    return playlist.replace_items(items)


def chunk_id(item: PlaylistItem) -> int:
    return int(item.chunk_id)


def start_ms(item: PlaylistItem) -> int:
    return int(item.in_ms)


def end_ms(item: PlaylistItem) -> int:
    return int(item.out_ms)


def score(item: PlaylistItem) -> Optional[float]:
    return None if item.score is None else float(item.score)


def locked(item: PlaylistItem) -> bool:
    return bool(item.locked)


def with_locked(item: PlaylistItem, value: bool) -> PlaylistItem:
    return item.with_(locked=bool(value))


def crossfade_ms(item: PlaylistItem) -> int:
    return int(item.transition.length_ms)


def with_crossfade(item: PlaylistItem, length_ms: int) -> PlaylistItem:
    """A crossfade of ``length_ms`` after ``item``; zero means a plain cut."""
    kind = "crossfade" if length_ms > 0 else "cut"
    transition = dataclasses.replace(item.transition, kind=kind, length_ms=int(length_ms))
    return item.with_(transition=transition)


def crossfade_beats(item: PlaylistItem) -> Optional[float]:
    """The crossfade in beats (None: the item has none set, its milliseconds apply); 0 for a cut."""
    if item.transition.kind != "crossfade":
        return 0.0
    beats = item.transition.beats
    return None if beats is None else float(beats)


def with_crossfade_beats(item: PlaylistItem, beats: float) -> PlaylistItem:
    """A crossfade of ``beats`` beats after ``item`` where both sides have a beat grid; zero is a cut."""
    kind = "crossfade" if beats > 0 else "cut"
    transition = dataclasses.replace(item.transition, kind=kind, beats=float(beats))
    return item.with_(transition=transition)


def source_label(project: Project | None, item: PlaylistItem) -> str:
    """Like :func:`chunk_label`, but true to the item's own excerpt even after its chunk was re-cut."""
    if project is None:
        return f"chunk {chunk_id(item)}"
    try:
        track = project.track(int(item.track_id))
    except Exception:  # noqa: BLE001 - a removed track still gets a row
        return f"{Path(item.source_path).stem} (missing)"
    name = track.title or Path(track.path).stem
    chunk: Chunk | None
    try:
        chunk = project.chunk(chunk_id(item))
    except Exception:  # noqa: BLE001
        chunk = None
    if chunk is not None and chunk.track_id == track.id and chunk.start_ms == item.in_ms:
        return f"{name} #{chunk.index + 1}"
    seconds = item.in_ms / 1000.0
    where = f"{name} @ {int(seconds // 60)}:{seconds % 60:04.1f}"
    return where if chunk is not None else f"{where} (chunk gone)"


def chunk_label(project: Project | None, chunk_id_value: int) -> str:
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
