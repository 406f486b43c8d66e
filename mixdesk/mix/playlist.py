"""The playlist: an ordered list of chunk excerpts and how each one hands over to the next."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Iterable, Iterator, Mapping, Sequence

from mixdesk.library.project import Project
from mixdesk.mix.config import TRANSITION_KINDS

PLAYLIST_VERSION = 1


@dataclass(frozen=True)
class Transition:
    """How an item hands over to the next one.

    ``length_ms`` is the overlap of a crossfade; ``beats``, when set, is its length in beats of the mix
    tempo instead, used wherever both sides have a beat grid (``length_ms`` stays the fallback).
    """

    kind: str = "crossfade"
    length_ms: int = 400
    beats: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in TRANSITION_KINDS:
            raise ValueError(f"transition must be one of {TRANSITION_KINDS}, not {self.kind!r}")
        if self.length_ms < 0 or (self.beats is not None and self.beats < 0):
            raise ValueError("transition length cannot be negative")

    @property
    def overlap_ms(self) -> int:
        return self.length_ms if self.kind == "crossfade" else 0

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "length_ms": int(self.length_ms)}
        if self.beats is not None:
            out["beats"] = float(self.beats)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Transition":
        beats = data.get("beats")
        return cls(
            kind=str(data.get("kind", "crossfade")),
            length_ms=int(data.get("length_ms", 0)),
            beats=None if beats is None else float(beats),
        )


@dataclass(frozen=True)
class PlaylistItem:
    """One excerpt of a source track; ``score`` is the model's P(this item follows the previous one).

    ``relaxed`` names the sequencing limits that had to be dropped to place this item (empty when every
    limit held); a locked item is kept in place when the playlist is regenerated. ``tempo_bpm`` is the
    tempo the item plays at in the mix (time-stretched, pitch kept); None plays it at its own tempo.
    """

    chunk_id: int
    track_id: int
    source_path: str
    in_ms: int
    out_ms: int
    transition: Transition = Transition()
    score: float | None = None
    locked: bool = False
    relaxed: tuple[str, ...] = ()
    tempo_bpm: float | None = None

    def __post_init__(self) -> None:
        if self.out_ms <= self.in_ms:
            raise ValueError(f"item for chunk {self.chunk_id} ends before it starts")
        if self.tempo_bpm is not None and not 20.0 <= self.tempo_bpm <= 400.0:
            raise ValueError(f"mix tempo {self.tempo_bpm} BPM is outside 20-400")

    @property
    def duration_ms(self) -> int:
        return self.out_ms - self.in_ms

    def with_(self, **changes: Any) -> "PlaylistItem":
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "chunk_id": int(self.chunk_id),
            "track_id": int(self.track_id),
            "source_path": self.source_path,
            "in_ms": int(self.in_ms),
            "out_ms": int(self.out_ms),
            "transition": self.transition.to_dict(),
            "score": None if self.score is None else float(self.score),
            "locked": bool(self.locked),
            "relaxed": list(self.relaxed),
            "tempo_bpm": None if self.tempo_bpm is None else round(float(self.tempo_bpm), 4),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "PlaylistItem":
        score = data.get("score")
        return cls(
            chunk_id=int(data["chunk_id"]),
            track_id=int(data["track_id"]),
            source_path=str(data["source_path"]),
            in_ms=int(data["in_ms"]),
            out_ms=int(data["out_ms"]),
            transition=Transition.from_dict(data.get("transition", {})),
            score=None if score is None else float(score),
            locked=bool(data.get("locked", False)),
            relaxed=tuple(data.get("relaxed", ())),
            tempo_bpm=None if data.get("tempo_bpm") is None else float(data["tempo_bpm"]),
        )


@dataclass(frozen=True)
class Playlist:
    """Items in play order plus how they were made (strategy, scorer, settings) for reproducibility."""

    items: tuple[PlaylistItem, ...] = ()
    name: str = "mix"
    meta: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.items, tuple):
            object.__setattr__(self, "items", tuple(self.items))

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[PlaylistItem]:
        return iter(self.items)

    def __getitem__(self, index: int) -> PlaylistItem:
        return self.items[index]

    @property
    def chunk_ids(self) -> list[int]:
        return [item.chunk_id for item in self.items]

    @property
    def duration_ms(self) -> int:
        """Planned length: item lengths minus the crossfade overlaps between neighbours."""
        if not self.items:
            return 0
        total = sum(item.duration_ms for item in self.items)
        overlaps = sum(item.transition.overlap_ms for item in self.items[:-1])
        return max(0, total - overlaps)

    @property
    def mean_score(self) -> float | None:
        scores = [item.score for item in self.items[1:] if item.score is not None]
        return float(sum(scores) / len(scores)) if scores else None

    def replace_items(self, items: Iterable[PlaylistItem]) -> "Playlist":
        return replace(self, items=tuple(items))

    def with_locked(self, indices: Sequence[int], locked: bool = True) -> "Playlist":
        chosen = set(indices)
        items = [it.with_(locked=locked) if i in chosen else it for i, it in enumerate(self.items)]
        return self.replace_items(items)

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": PLAYLIST_VERSION,
            "name": self.name,
            "meta": dict(self.meta),
            "items": [item.to_dict() for item in self.items],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Playlist":
        items = tuple(PlaylistItem.from_dict(d) for d in data.get("items", ()))
        return cls(items=items, name=str(data.get("name", "mix")), meta=dict(data.get("meta", {})))

    def save(self, project: Project, name: str | None = None) -> str:
        key = name or self.name
        project.save_playlist(key, self.to_dict())
        return key

    @classmethod
    def load(cls, project: Project, name: str) -> "Playlist | None":
        data = project.load_playlist(name)
        return None if data is None else cls.from_dict(data)
