"""Synthetic tracks cut into chunks, for tests and benchmarks that need no audio files.

Each track is a harmonic tone whose pitch glides smoothly and whose loudness drifts, so a chunk's
end and its successor's start agree (continuous pitch and level) while other chunks mostly do not:
a transition model can learn the difference in a few epochs.
"""

from __future__ import annotations

import numpy as np

from mixdesk.ml.table import ArraySource, ChunkRef


def _track(rng: np.random.Generator, seconds: float, sr: int) -> np.ndarray:
    n = int(seconds * sr)
    t = np.arange(n) / sr
    # Pitch wanders over about two octaves; loudness over about 20 dB; both stay continuous.
    semis = np.cumsum(rng.normal(0.0, 1.0, n // sr + 2)) * 3.0
    pitch = 110.0 * 2 ** ((np.interp(t, np.arange(semis.size), semis) + rng.uniform(0, 24)) / 12.0)
    phase = 2 * np.pi * np.cumsum(pitch) / sr
    harmonics = rng.uniform(0.1, 1.0, 6) ** 2
    tone = sum(h * np.sin((k + 1) * phase) for k, h in enumerate(harmonics))
    level_db = np.interp(t, np.linspace(0, seconds, 6), rng.uniform(-26, -6, 6))
    noise = rng.normal(0.0, rng.uniform(0.0, 0.05), n)
    out = (tone / np.abs(tone).max() + noise) * 10 ** (level_db / 20.0)
    return out.astype(np.float32)


def synthetic_chunks(
    n_tracks: int = 4, chunks_per_track: int = 8, chunk_s: float = 2.0, sample_rate: int = 22050, seed: int = 0
) -> tuple[list[ChunkRef], ArraySource]:
    """Chunk references and their audio; chunk ids are 1.., track ids 1.., lengths vary by +-25 %."""
    rng = np.random.default_rng(seed)
    refs: list[ChunkRef] = []
    audio: dict[int, np.ndarray] = {}
    next_id = 1
    for track in range(1, n_tracks + 1):
        lengths = chunk_s * rng.uniform(0.75, 1.25, chunks_per_track)
        samples = _track(rng, float(lengths.sum()) + 0.1, sample_rate)
        edges = np.concatenate([[0], np.cumsum(lengths)])
        for index in range(chunks_per_track):
            lo, hi = int(edges[index] * sample_rate), int(edges[index + 1] * sample_rate)
            start_ms, end_ms = int(edges[index] * 1000), int(edges[index + 1] * 1000)
            refs.append(ChunkRef(next_id, track, index, start_ms, end_ms, f"synthetic-{seed}-{track}"))
            audio[next_id] = samples[lo:hi]
            next_id += 1
    return refs, ArraySource(audio, sample_rate)
