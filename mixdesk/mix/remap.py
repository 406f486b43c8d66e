"""Keeping a playlist playable after a re-cut: items follow their audio onto the new chunks.

A re-cut deletes a track's chunks and writes new ones under new ids (ids are never reused), so a playlist
made before it names chunks that no longer exist. Each such item is moved onto the new chunk of the same
track that shares the most audio with the item's excerpt; an item whose excerpt no new chunk touches (the
track is gone, or the new cut left that stretch out as silence) is reported as gone and kept as it was,
so the user decides what replaces it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from mixdesk.mix.playlist import Playlist, PlaylistItem


@dataclass(frozen=True)
class Remap:
    """The playlist after a re-cut and what happened to it, by item position."""

    playlist: Playlist
    moved: tuple[int, ...] = ()  # items now on a new chunk
    gone: tuple[int, ...] = ()  # items whose chunk is gone with nothing in its place

    @property
    def changed(self) -> bool:
        return bool(self.moved)

    def summary(self) -> str:
        """One line for a status bar or a log; empty when nothing had to change."""
        parts = []
        if self.moved:
            parts.append(
                f"{len(self.moved)} playlist item{'s' if len(self.moved) != 1 else ''} moved to the new chunks"
            )
        if self.gone:
            rows = ", ".join(str(i + 1) for i in self.gone[:5]) + (", …" if len(self.gone) > 5 else "")
            parts.append(f"chunk gone for item{'s' if len(self.gone) != 1 else ''} {rows}")
        return "; ".join(parts)


def overlap_ms(a_start: int, a_end: int, b_start: int, b_end: int) -> int:
    return max(0, min(a_end, b_end) - max(a_start, b_start))


def covering_chunk(item: PlaylistItem, track_chunks: Iterable[Any]) -> Any | None:
    """The chunk sharing the most audio with ``item``'s excerpt (the earlier one on a tie), or None."""
    best, best_overlap = None, 0
    for chunk in sorted(track_chunks, key=lambda c: c.start_ms):
        shared = overlap_ms(item.in_ms, item.out_ms, chunk.start_ms, chunk.end_ms)
        if shared > best_overlap:
            best, best_overlap = chunk, shared
    return best


def remap_playlist(playlist: Playlist, chunks: Iterable[Any]) -> Remap:
    """``playlist`` with every item whose chunk is missing from ``chunks`` moved onto its covering chunk.

    ``chunks`` are the project's chunks now (objects with ``id``, ``track_id``, ``start_ms``, ``end_ms``).
    A moved item plays its whole new chunk and keeps its transition, lock and tempo; its score, and the
    score of the item after it, are cleared because the pair they rated no longer exists.
    """
    by_id = {int(c.id): c for c in chunks}
    by_track: dict[int, list[Any]] = {}
    for chunk in by_id.values():
        by_track.setdefault(int(chunk.track_id), []).append(chunk)
    items = list(playlist.items)
    moved, gone = [], []
    for i, item in enumerate(items):
        current = by_id.get(int(item.chunk_id))
        if current is not None and int(current.track_id) == int(item.track_id):
            continue
        target = covering_chunk(item, by_track.get(int(item.track_id), ()))
        if target is None:
            gone.append(i)
            continue
        items[i] = item.with_(
            chunk_id=int(target.id), in_ms=int(target.start_ms), out_ms=int(target.end_ms), score=None
        )
        moved.append(i)
    for i in moved:
        if i + 1 < len(items):
            items[i + 1] = items[i + 1].with_(score=None)
    if not moved:
        return Remap(playlist, (), tuple(gone))
    return Remap(playlist.replace_items(items), tuple(moved), tuple(gone))
