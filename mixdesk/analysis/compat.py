"""Mixing compatibility of tempo and key, and filters over analysed chunks.

An unknown value (no tempo found, no key found, chunk not analysed) never blocks a candidate: a limit
that cannot be checked is treated as met, so analysis gaps do not empty the sequencer's pool.
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Mapping, Sequence, TypeGuard

import numpy as np

from mixdesk.analysis.tonal import parse_camelot
from mixdesk.library.project import Project

_HALF_DOUBLE = (1.0, 0.5, 2.0)

# ``project.analysis("descriptors")``: (track id, chunk id or None for the whole track) -> descriptor dict
Descriptors = Mapping[tuple[int, int | None], Mapping[str, Any]]


def _known_tempo(bpm: object) -> TypeGuard[float]:
    return isinstance(bpm, (int, float)) and math.isfinite(bpm) and bpm > 0


def tempo_ratio_ok(
    bpm_a: float | None, bpm_b: float | None, tolerance_pct: float = 6.0, allow_half_double: bool = True
) -> bool:
    """True when `bpm_b` is within `tolerance_pct` percent of `bpm_a` (or of its half or double)."""
    if _known_tempo(bpm_a) and _known_tempo(bpm_b):
        factors = _HALF_DOUBLE if allow_half_double else _HALF_DOUBLE[:1]
        return any(abs(bpm_b - bpm_a * f) <= bpm_a * f * tolerance_pct / 100.0 + 1e-9 for f in factors)
    return True


def chunk_tempo_key(descriptors: Descriptors, track_id: int, chunk_id: int | None) -> tuple[float | None, str]:
    """A chunk's tempo (BPM) and Camelot key from its analysis: its own values, and for each one it lacks
    (not analysed, or no tempo or key found in it) its track's. Unknown stays None and "".

    The one rule for "a chunk inherits its track's tempo and key"; the pool, the pair sampler and the desk
    all read chunk tempi and keys through it (or :func:`chunk_tempo_keys`).
    """
    own = (descriptors.get((track_id, chunk_id)) or {}) if chunk_id is not None else {}
    track = descriptors.get((track_id, None)) or {}
    bpm = next((value for value in (own.get("bpm"), track.get("bpm")) if _known_tempo(value)), None)
    key = own.get("camelot") or track.get("camelot") or ""
    return (None if bpm is None else float(bpm)), str(key)


def chunk_tempo_keys(
    descriptors: Descriptors, track_ids: Sequence[int] | np.ndarray, chunk_ids: Sequence[int] | np.ndarray
) -> tuple[np.ndarray, list[str]]:
    """:func:`chunk_tempo_key` of many chunks: tempi as an array (NaN where unknown) and Camelot keys."""
    bpm = np.full(len(chunk_ids), np.nan)
    keys = [""] * len(chunk_ids)
    for i, (track_id, chunk_id) in enumerate(zip(np.asarray(track_ids).tolist(), np.asarray(chunk_ids).tolist())):
        tempo, keys[i] = chunk_tempo_key(descriptors, int(track_id), int(chunk_id))
        if tempo is not None:
            bpm[i] = tempo
    return bpm, keys


def camelot_distance(code_a: str, code_b: str) -> int:
    """Steps on the Camelot wheel: 0 same key, 1 adjacent number or relative major/minor, and so on.

    Moving around the wheel costs one step per number; switching between A (minor) and B (major)
    costs one more. Raises ValueError for a code that is not 1A..12B.
    """
    number_a, letter_a = parse_camelot(code_a)
    number_b, letter_b = parse_camelot(code_b)
    around = abs(number_a - number_b) % 12
    return min(around, 12 - around) + (letter_a != letter_b)


def key_compatible(code_a: str | None, code_b: str | None, max_steps: int = 1) -> bool:
    """True when the two keys are at most `max_steps` Camelot steps apart (or either is unknown)."""
    if not code_a or not code_b:
        return True
    try:
        return camelot_distance(code_a, code_b) <= max_steps
    except ValueError:
        return True


def descriptors_compatible(
    a: Mapping | None,
    b: Mapping | None,
    tempo_tolerance_pct: float | None = 6.0,
    allow_half_double: bool = True,
    max_key_steps: int | None = 1,
) -> bool:
    """Both limits on two descriptor dicts; a limit set to None is not applied."""
    if not a or not b:
        return True
    if tempo_tolerance_pct is not None and not tempo_ratio_ok(
        a.get("bpm"), b.get("bpm"), tempo_tolerance_pct, allow_half_double
    ):
        return False
    if max_key_steps is not None and not key_compatible(a.get("camelot"), b.get("camelot"), max_key_steps):
        return False
    return True


def filter_compatible(
    reference_id: int,
    candidate_ids: Sequence[int],
    descriptors: Mapping[int, Mapping],
    tempo_tolerance_pct: float | None = 6.0,
    allow_half_double: bool = True,
    max_key_steps: int | None = 1,
) -> list[int]:
    """The candidates (order kept) that may follow `reference_id` under the tempo and key limits.

    `descriptors` maps chunk id -> descriptor dict, e.g. from `chunk_descriptors(project)`.
    """
    ref = descriptors.get(reference_id)
    return [
        c
        for c in candidate_ids
        if descriptors_compatible(ref, descriptors.get(c), tempo_tolerance_pct, allow_half_double, max_key_steps)
    ]


def chunk_descriptor_vectors(project: Project, include_tags: bool = False) -> dict[int, np.ndarray]:
    """chunk id -> fixed-length float32 descriptor vector for the transition model's descriptor input.

    See `mixdesk.analysis.project_analysis.descriptor_vector` for the encoding; only analysed chunks
    appear (an empty dict before `analyse_project` has run).
    """
    from mixdesk.analysis.project_analysis import chunk_descriptor_vectors as vectors

    return vectors(project, include_tags=include_tags)


def filter_by_range(
    ids: Iterable[int],
    descriptors: Mapping[int, Mapping],
    key: str,
    low: float | None = None,
    high: float | None = None,
) -> list[int]:
    """Ids whose descriptor `key` (e.g. "bpm", "lufs", "centroid_hz") lies in [low, high]; unknown passes."""
    kept = []
    for i in ids:
        value = (descriptors.get(i) or {}).get(key)
        if not isinstance(value, (int, float)) or not math.isfinite(value):
            kept.append(i)
        elif (low is None or value >= low) and (high is None or value <= high):
            kept.append(i)
    return kept


def filter_by_tags(
    ids: Iterable[int],
    tags: Mapping[int, Mapping[str, float]],
    wanted: Sequence[str],
    min_score: float = 0.2,
) -> list[int]:
    """Ids with at least one of the `wanted` tags scoring `min_score` or more (case-insensitive)."""
    wanted_lower = {w.lower() for w in wanted}
    kept = []
    for i in ids:
        scores = tags.get(i)
        if scores is None:
            kept.append(i)
        elif any(name.lower() in wanted_lower and s >= min_score for name, s in scores.items()):
            kept.append(i)
    return kept
