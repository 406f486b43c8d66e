"""Per-track loudness envelopes cached on disk, keyed by the file's content hash."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np

from mixdesk.core.chunking import Envelope
from mixdesk.progress import atomic_path

_VERSION = 1


def _path(cache_dir: Path, file_hash: str) -> Path:
    return cache_dir / "envelopes" / f"{file_hash}.v{_VERSION}.npz"


def save(cache_dir: Path, file_hash: str, env: Envelope) -> None:
    target = _path(cache_dir, file_hash)
    with atomic_path(target) as tmp:
        with open(tmp, "wb") as handle:
            np.savez(handle, cum_energy=env.cum_energy, edges=env.edges,
                     meta=np.array([env.channels, env.sample_rate, env.total_energy, env.total_frames], dtype=np.int64))


def load(cache_dir: Path, file_hash: str) -> Optional[Envelope]:
    path = _path(cache_dir, file_hash)
    if not path.exists():
        return None
    try:
        with np.load(path) as data:
            channels, rate, energy, frames = (int(v) for v in data["meta"])
            return Envelope(data["cum_energy"], data["edges"], channels, rate, energy, frames)
    except (OSError, ValueError, KeyError):
        return None  # a damaged cache entry is rebuilt from the audio
