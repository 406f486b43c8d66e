"""Frozen settings for chunking; other rooms keep their own settings beside their code."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Mapping, TypeVar

_T = TypeVar("_T", bound="Settings")

CHUNK_MODES = ("silence", "fixed")


class Settings:
    """Base of every frozen settings dataclass: plain-dict round trip that ignores unknown keys.

    Unknown keys are dropped so that files written by a newer mixdesk (projects, checkpoints) still load.
    """

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)  # type: ignore[call-overload]

    @classmethod
    def from_dict(cls: type[_T], data: Mapping[str, Any]) -> _T:
        known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        return cls(**{k: v for k, v in data.items() if k in known})

    def with_(self: _T, **changes: Any) -> _T:
        return replace(self, **changes)  # type: ignore[type-var]


@dataclass(frozen=True)
class ChunkingConfig(Settings):
    """How tracks are cut into chunks.

    ``silence`` mode follows pydub's ``split_on_silence``: a stretch of at least ``min_silence_ms`` whose
    RMS stays at or below ``silence_thresh_db`` dBFS is silence; with ``relative`` the threshold is taken
    relative to the track's own loudness (pydub's ``seg.dBFS - 16`` idiom). ``min_chunk_ms`` and
    ``max_chunk_ms`` (0 = off) merge tiny fragments and split long silence-free stretches.
    """

    mode: str = "silence"
    silence_thresh_db: float = -16.0
    relative: bool = False
    min_silence_ms: int = 300
    keep_silence_ms: int = 0
    seek_step_ms: int = 1
    fixed_length_s: float = 3.0
    min_chunk_ms: int = 0
    max_chunk_ms: int = 0

    def __post_init__(self) -> None:
        if self.mode not in CHUNK_MODES:
            raise ValueError(f"chunk mode must be one of {CHUNK_MODES}, not {self.mode!r}")
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



# Library imports guard against fragments too short to learn from and stretches too long to mix with.
LIBRARY_CHUNKING = ChunkingConfig(min_chunk_ms=1000, max_chunk_ms=20000)
