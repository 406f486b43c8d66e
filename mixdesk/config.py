"""Frozen settings for chunking; other rooms keep their own settings beside their code."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Mapping, TypeVar

_T = TypeVar("_T", bound="Settings")

CHUNK_MODES = ("bars", "silence", "fixed")
BARS_PER_CHUNK_CHOICES = (1, 2, 4, 8, 16)


@dataclass(frozen=True)
class Settings:
    """Base of every frozen settings dataclass: plain-dict round trip that ignores unknown keys.

    Unknown keys are dropped so that files written by a newer mixdesk (projects, checkpoints) still load.
    A frozen dataclass without fields itself, so every subclass must be a frozen dataclass too.
    """

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls: type[_T], data: Mapping[str, Any]) -> _T:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def with_(self: _T, **changes: Any) -> _T:
        return replace(self, **changes)


@dataclass(frozen=True)
class ChunkingConfig(Settings):
    """How tracks are cut into chunks.

    ``bars`` mode cuts on the track's downbeats into chunks of ``bars_per_chunk`` bars; a track without
    a confident beat grid is cut on silence instead (see :func:`effective_chunking`). ``silence`` mode
    follows pydub's ``split_on_silence``: a stretch of at least ``min_silence_ms`` whose RMS stays at or
    below ``silence_thresh_db`` dBFS is silence; with ``relative`` (the default) the threshold is taken
    relative to the track's own loudness (pydub's ``seg.dBFS - 16`` idiom), so loud mastered music is
    not cut to slivers; ``relative=False`` is the seed's pydub-exact absolute threshold. ``keep_all``
    cuts in the middle of each silence instead of dropping it, so every sample stays in some chunk.
    ``min_chunk_ms`` and ``max_chunk_ms`` (0 = off) merge tiny fragments and split long stretches.
    """

    mode: str = "silence"
    bars_per_chunk: int = 4
    silence_thresh_db: float = -16.0
    relative: bool = True
    keep_all: bool = False
    min_silence_ms: int = 300
    keep_silence_ms: int = 0
    seek_step_ms: int = 1
    fixed_length_s: float = 3.0
    min_chunk_ms: int = 0
    max_chunk_ms: int = 0

    def __post_init__(self) -> None:
        if self.mode not in CHUNK_MODES:
            raise ValueError(f"chunk mode must be one of {CHUNK_MODES}, not {self.mode!r}")
        if self.bars_per_chunk not in BARS_PER_CHUNK_CHOICES:
            raise ValueError(f"bars per chunk must be one of {BARS_PER_CHUNK_CHOICES}")
        if self.min_silence_ms < 1:
            raise ValueError("minimum silence must be at least 1 ms")
        if self.seek_step_ms < 1:
            raise ValueError("seek step must be at least 1 ms")
        if self.keep_silence_ms < 0:
            raise ValueError("keep-silence cannot be negative")
        if self.fixed_length_s <= 0:
            raise ValueError("fixed chunk length must be positive")
        if self.min_chunk_ms < 0 or self.max_chunk_ms < 0:
            raise ValueError("chunk length limits cannot be negative")
        if self.max_chunk_ms and self.min_chunk_ms > self.max_chunk_ms:
            raise ValueError("minimum chunk length exceeds the maximum")

    @property
    def silence_fallback(self) -> "ChunkingConfig":
        """What ``bars`` mode does to a track without a confident beat grid: cut on silence, keep all."""
        return self.with_(mode="silence", keep_all=True) if self.mode == "bars" else self


def effective_chunking(config: ChunkingConfig, has_grid: bool) -> ChunkingConfig:
    """The chunking actually applied to a track: ``bars`` needs a confident beat grid."""
    return config if config.mode != "bars" or has_grid else config.silence_fallback


# Library imports cut beat-driven music on bars and everything else on relative silence keeping every
# sample; the guards merge fragments too short to learn from and split stretches too long to mix with.
LIBRARY_CHUNKING = ChunkingConfig(mode="bars", min_chunk_ms=1000, max_chunk_ms=20000)
# The import default before beat grids: tracks cut with it were cut automatically, not by hand.
LEGACY_LIBRARY_CHUNKING = ChunkingConfig(mode="silence", relative=False, min_chunk_ms=1000, max_chunk_ms=20000)
# `mixdesk chunk`: the seed's pydub-exact silence cut (absolute dBFS threshold, no guards).
PYDUB_CHUNKING = ChunkingConfig(mode="silence", relative=False)
