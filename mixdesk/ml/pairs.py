"""Labelled (A, B) chunk pairs, split by track so that held-out numbers mean something.

Positives are a chunk and its successor in the same track. Negatives come in kinds that each teach
something: a random chunk of another track (the seed's only kind), a chunk of the same track that is
not adjacent, the true pair in reversed order, and, when tempo/key descriptors exist, a chunk of
another track with compatible tempo and key (hard: the easy cues are gone).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
import torch

from mixdesk.analysis.compat import Descriptors, chunk_tempo_key
from mixdesk.analysis.tonal import parse_camelot
from mixdesk.config import Settings
from mixdesk.ml.table import FeatureTable

KINDS = ("positive", "other_track", "same_track", "reversed", "hard")
SPLITS = ("train", "val", "test")

# A chunk's (tempo in BPM, Camelot key); None or "" where unknown.
TempoKey = tuple[float | None, str | None]


@dataclass(frozen=True)
class PairConfig(Settings):
    negatives_per_positive: int = 2
    neg_other_track: float = 0.5
    neg_same_track: float = 0.2
    neg_reversed: float = 0.1
    neg_hard: float = 0.2  # given to other-track negatives when no descriptors exist
    val_fraction: float = 0.15
    test_fraction: float = 0.15
    seed: int = 0
    gain_db: float = 3.0  # augmentation: random gain of each side within +-gain_db
    shift_frames: int = 2  # augmentation: drop up to this many frames at the seam
    bpm_tolerance_pct: float = 6.0
    max_key_steps: int = 1


@dataclass(frozen=True)
class PairSet:
    """Rows into the feature table: pair i is (a[i] -> b[i]) with label[i] and kind index kind[i]."""

    a: np.ndarray
    b: np.ndarray
    label: np.ndarray
    kind: np.ndarray

    def __len__(self) -> int:
        return int(self.a.shape[0])


def split_tracks(track_ids: np.ndarray, config: PairConfig) -> dict[str, np.ndarray]:
    """Tracks shuffled by the seed and dealt into train/val/test; every split gets whole tracks."""
    tracks = np.unique(track_ids)
    if tracks.size < 2:
        raise ValueError("training needs at least 2 tracks so that validation uses a held-out track")
    order = np.random.default_rng(config.seed).permutation(tracks)
    n = order.size
    n_test = max(1, int(round(n * config.test_fraction))) if n >= 3 and config.test_fraction > 0 else 0
    n_val = max(1, int(round(n * config.val_fraction)))
    n_val = min(n_val, n - n_test - 1)
    return {
        "test": np.sort(order[:n_test]),
        "val": np.sort(order[n_test : n_test + n_val]),
        "train": np.sort(order[n_test + n_val :]),
    }


def _camelot(code: str | None) -> tuple[int, str] | None:
    try:
        return parse_camelot(code) if code else None
    except ValueError:
        return None


def tempo_key_from_analysis(analysis: Descriptors) -> dict[int, tuple[float | None, str]]:
    """(bpm, camelot) per analysed chunk from ``project.analysis("descriptors")``, each value the chunk's own
    or else its track's (``chunk_tempo_key``, the one inheritance rule); unknown ones are None and ""."""
    return {int(c): chunk_tempo_key(analysis, int(t), int(c)) for (t, c) in analysis if c is not None}


def hard_pools(table: FeatureTable, tempo_key: Mapping[int, TempoKey], config: PairConfig) -> dict[int, np.ndarray]:
    """For each row, rows of other tracks whose tempo and key both fit (where known; one must be known)."""
    info = [tempo_key.get(int(c)) or (None, None) for c in table.chunk_ids]
    bpm = np.array([float(i[0]) if i[0] else np.nan for i in info])
    keys = [_camelot(i[1]) for i in info]
    num = np.array([k[0] if k else -100 for k in keys])
    minor = np.array([k[1] == "A" if k else False for k in keys])
    has_key = np.array([k is not None for k in keys])
    tol = config.bpm_tolerance_pct / 100.0
    pools: dict[int, np.ndarray] = {}
    for i in range(len(table)):
        if np.isnan(bpm[i]) and not has_key[i]:
            continue
        ratio = bpm / bpm[i]
        tempo_ok = np.min(np.abs(np.stack([ratio, ratio * 0.5, ratio * 2.0]) - 1.0), axis=0) <= tol
        tempo_known = ~np.isnan(ratio)
        around = np.abs(num - num[i]) % 12
        steps = np.minimum(around, 12 - around) + (minor != minor[i])
        key_known = has_key & has_key[i]
        key_ok = steps <= config.max_key_steps
        fits = (~tempo_known | tempo_ok) & (~key_known | key_ok) & (tempo_known | key_known)
        fits &= table.track_ids != table.track_ids[i]
        if fits.any():
            pools[i] = np.flatnonzero(fits)
    return pools


class PairData:
    """A feature table, its track split, and the pair sampler for each split.

    Training negatives are re-drawn each epoch (``pairs("train", epoch)``), validation and test pairs
    are fixed; both are deterministic functions of the seed.
    """

    def __init__(
        self,
        table: FeatureTable,
        config: PairConfig = PairConfig(),
        tempo_key: Mapping[int, TempoKey] | None = None,
        splits: Mapping[str, np.ndarray] | None = None,
    ) -> None:
        self.table = table
        self.config = config
        chosen = splits if splits is not None else split_tracks(table.track_ids, config)
        self.splits = {name: np.asarray(chosen.get(name, ()), dtype=np.int64) for name in SPLITS}
        self.successor = table.successors()
        self.hard = hard_pools(table, tempo_key, config) if tempo_key else {}
        self._cache: dict[tuple[str, int], PairSet] = {}

    def rows(self, split: str) -> np.ndarray:
        """Table rows of the chunks in ``split``'s tracks."""
        return np.flatnonzero(np.isin(self.table.track_ids, self.splits[split]))

    def pairs(self, split: str, epoch: int = 0) -> PairSet:
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}")
        epoch = epoch if split == "train" else 0
        key = (split, epoch)
        if key not in self._cache:
            seed = [self.config.seed, SPLITS.index(split), epoch]
            self._cache = {k: v for k, v in self._cache.items() if k[0] != "train" or k == key}
            self._cache[key] = self._sample(self.rows(split), np.random.default_rng(seed))
        return self._cache[key]

    def _weights(self) -> np.ndarray:
        c = self.config
        w = np.array([c.neg_other_track, c.neg_same_track, c.neg_reversed, c.neg_hard], dtype=float)
        if not self.hard:
            w[0], w[3] = w[0] + w[3], 0.0
        if w.sum() <= 0:
            w[0] = 1.0
        return w / w.sum()

    def _sample(self, rows: np.ndarray, rng: np.random.Generator) -> PairSet:
        anchors = rows[self.successor[rows] >= 0]
        by_track = {t: rows[self.table.track_ids[rows] == t] for t in np.unique(self.table.track_ids[rows])}
        a: list[int] = []
        b: list[int] = []
        label: list[float] = []
        kind: list[int] = []
        weights = self._weights()
        for row in anchors:
            a.append(row)
            b.append(self.successor[row])
            label.append(1.0)
            kind.append(0)
            for choice in rng.choice(4, size=self.config.negatives_per_positive, p=weights):
                pair = self._negative(int(row), int(choice) + 1, rows, by_track, rng)
                if pair is not None:
                    a.append(pair[0])
                    b.append(pair[1])
                    label.append(0.0)
                    kind.append(pair[2])
        return PairSet(
            np.array(a, dtype=np.int64),
            np.array(b, dtype=np.int64),
            np.array(label, dtype=np.float32),
            np.array(kind, dtype=np.int8),
        )

    def _negative(
        self, row: int, kind: int, rows: np.ndarray, by_track: Mapping[Any, np.ndarray], rng: np.random.Generator
    ) -> tuple[int, int, int] | None:
        """One negative for anchor ``row``; falls back to an easier kind when the split cannot supply it."""
        track = self.table.track_ids[row]
        if kind == 4:
            pool = self.hard.get(row)
            pool = None if pool is None else pool[np.isin(pool, rows)]
            if pool is not None and pool.size:
                return row, int(rng.choice(pool)), 4
            kind = 1
        if kind == 1:
            others = rows[self.table.track_ids[rows] != track]
            if others.size:
                return row, int(rng.choice(others)), 1
            kind = 2
        if kind == 2:
            mine = by_track[track]
            gap = np.abs(self.table.positions[mine] - self.table.positions[row])
            far = mine[gap >= 2]
            if far.size:
                return row, int(rng.choice(far)), 2
        nxt = int(self.successor[row])
        # Reversed order: the successor followed by its own predecessor.
        return (nxt, row, 3) if nxt >= 0 else None


def augment_edges(
    x: torch.Tensor,
    at_start: bool,
    gain_db: float,
    shift: int,
    generator: torch.Generator | None,
    log_mel: bool,
    slots: torch.Tensor | None = None,
    total: int = 0,
) -> torch.Tensor:
    """Random gain and a small gap at the seam, applied to a batch of edges (B, ..., T).

    With ``slots``, ``x`` is one process's share of a batch of ``total`` pairs split over data-parallel
    processes: the gains are drawn for the whole batch and ``slots`` picks this share's, so the split
    batch is augmented exactly as the whole batch would be in one process.
    """
    if gain_db > 0:
        rows = total if slots is not None else x.shape[0]
        shape = (rows,) + (1,) * (x.dim() - 1)
        db = (torch.rand(shape, generator=generator) * 2 - 1) * gain_db
        if slots is not None:
            db = db[slots.to(db.device)]
        db = db.to(x.device)
        # log(1 + k * mel): a power gain g scales expm1(x) by g.
        factor = (10.0 ** (db / 10.0)) if log_mel else (10.0 ** (db / 20.0))
        x = torch.log1p(torch.expm1(x) * factor) if log_mel else x * factor
    if shift > 0:
        s = int(torch.randint(0, shift + 1, (1,), generator=generator))
        if s:
            # Drop s frames at the seam and repeat the far edge, keeping the window length.
            if at_start:
                x = torch.cat([x[..., s:], x[..., -1:].expand(*x.shape[:-1], s)], dim=-1)
            else:
                x = torch.cat([x[..., :1].expand(*x.shape[:-1], s), x[..., :-s]], dim=-1)
    return x
