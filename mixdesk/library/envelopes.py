"""Per-track loudness envelopes cached on disk, keyed by the file's content hash."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np

from mixdesk.core.chunking import Envelope, ms_edges
from mixdesk.progress import atomic_path

_VERSION = 2


def _path(cache_dir: Path, file_hash: str) -> Path:
    return cache_dir / "envelopes" / f"{file_hash}.v{_VERSION}.npz"


def save(cache_dir: Path, file_hash: str, env: Envelope) -> None:
    target = _path(cache_dir, file_hash)
    # Per-millisecond energies compress far better than their running sum, and the frame edges follow
    # from the sample rate, so only the energies are stored.
    with atomic_path(target) as tmp:
        with open(tmp, "wb") as handle:
            np.savez_compressed(
                handle,
                energy=np.diff(env.cum_energy),
                meta=np.array([env.channels, env.sample_rate, env.total_energy, env.total_frames], dtype=np.int64),
            )


def load(cache_dir: Path, file_hash: str) -> Optional[Envelope]:
    path = _path(cache_dir, file_hash)
    if not path.exists():
        return None
    try:
        with np.load(path) as data:
            channels, rate, total, frames = (int(v) for v in data["meta"])
            cum = np.concatenate(([0], np.cumsum(data["energy"], dtype=np.int64)))
        return Envelope(cum, ms_edges(np.arange(cum.shape[0]), rate), channels, rate, total, frames)
    except (OSError, ValueError, KeyError):
        return None  # a damaged cache entry is rebuilt from the audio
