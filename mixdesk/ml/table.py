"""The in-memory table of chunk features that pair data, models, ranking and baselines index into.

A table is built from anything that can hand out a chunk's audio (a Project, or plain arrays in
tests), through the on-disk feature cache, so each chunk's audio is decoded and analysed once.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Protocol, Sequence

import numpy as np
import torch

from mixdesk.library.errors import ReadOnlyProjectError
from mixdesk.ml.features import (
    ChunkFeatures,
    FeatureCache,
    FeatureConfig,
    compute_chunk_features,
)
from mixdesk.ml.runtime import torch_threads
from mixdesk.progress import ProgressFn, StopFn, check_stop, report

if TYPE_CHECKING:
    from mixdesk.library.project import Project


@dataclass(frozen=True)
class ChunkRef:
    """Where a chunk sits: its track, its position there, its span, and a stable key for the track."""

    id: int
    track_id: int
    index: int
    start_ms: int
    end_ms: int
    track_key: str


class ChunkAudioSource(Protocol):
    """Where a table reads a chunk's audio: a Project, or an ArraySource."""

    def chunk_audio(self, chunk_id: int, /, sample_rate: int | None = None, mono: bool = False) -> np.ndarray:
        """Audio of one chunk, shape (frames, channels)."""


class ArraySource:
    """Chunk audio held in memory (mono arrays at ``sample_rate``), for tests and synthetic data."""

    def __init__(self, audio: Mapping[int, np.ndarray], sample_rate: int) -> None:
        self.audio = dict(audio)
        self.sample_rate = sample_rate

    def chunk_audio(self, chunk_id: int, sample_rate: int | None = None, mono: bool = False) -> np.ndarray:
        samples = np.asarray(self.audio[chunk_id], dtype=np.float32).reshape(-1)
        if sample_rate and sample_rate != self.sample_rate:
            from math import gcd

            from scipy.signal import resample_poly

            g = gcd(sample_rate, self.sample_rate)
            samples = resample_poly(samples, sample_rate // g, self.sample_rate // g).astype(np.float32)
        return samples[:, None]


def project_chunk_refs(project: Project, chunk_ids: Sequence[int] | None = None) -> list[ChunkRef]:
    """References to a project's chunks (all of them, or the given ids), in track order."""
    keys = {t.id: (t.hash or f"track{t.id}") for t in project.tracks()}
    wanted = None if chunk_ids is None else set(int(c) for c in chunk_ids)
    return [
        ChunkRef(c.id, c.track_id, c.index, c.start_ms, c.end_ms, keys[c.track_id])
        for c in project.chunks()
        if wanted is None or c.id in wanted
    ]


@dataclass
class FeatureTable:
    """Features of many chunks stacked into tensors; row i describes ``chunk_ids[i]``."""

    config: FeatureConfig
    chunk_ids: np.ndarray
    track_ids: np.ndarray
    positions: np.ndarray
    start: torch.Tensor  # (N, n_mels, frames)
    end: torch.Tensor
    mean: torch.Tensor  # (N, n_mels)
    raw_start: torch.Tensor  # (N, raw_edge_samples)
    raw_end: torch.Tensor
    raw_length: np.ndarray
    descriptors: torch.Tensor | None = None  # (N, D), optional metadata input
    track_keys: dict[int, str] = field(default_factory=dict)  # track id -> content hash
    _rows: dict[int, int] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._rows = {int(c): i for i, c in enumerate(self.chunk_ids)}

    def __len__(self) -> int:
        return int(self.chunk_ids.shape[0])

    def row(self, chunk_id: int) -> int:
        try:
            return self._rows[int(chunk_id)]
        except KeyError:
            raise KeyError(f"chunk {chunk_id} has no features here; prepare it first") from None

    def rows(self, chunk_ids: Sequence[int]) -> np.ndarray:
        return np.fromiter((self.row(c) for c in chunk_ids), dtype=np.int64, count=len(chunk_ids))

    def successors(self) -> np.ndarray:
        """Row of each chunk's true successor (next position in the same track), or -1."""
        lookup = {(int(t), int(p)): i for i, (t, p) in enumerate(zip(self.track_ids, self.positions))}
        return np.array(
            [lookup.get((int(t), int(p) + 1), -1) for t, p in zip(self.track_ids, self.positions)],
            dtype=np.int64,
        )

    def subset(self, rows: np.ndarray) -> "FeatureTable":
        rows = np.asarray(rows, dtype=np.int64)
        index = torch.as_tensor(rows)
        desc = None if self.descriptors is None else self.descriptors[index]
        return replace(
            self,
            chunk_ids=self.chunk_ids[rows],
            track_ids=self.track_ids[rows],
            positions=self.positions[rows],
            start=self.start[index],
            end=self.end[index],
            mean=self.mean[index],
            raw_start=self.raw_start[index],
            raw_end=self.raw_end[index],
            raw_length=self.raw_length[rows],
            descriptors=desc,
            _rows={},
        )

    def with_descriptors(self, descriptors: Mapping[int, np.ndarray] | None, dim: int = 0) -> "FeatureTable":
        """Attach per-chunk descriptor vectors (missing chunks get zeros)."""
        if dim <= 0:
            if not descriptors:
                return replace(self, descriptors=None, _rows={})
            dim = len(next(iter(descriptors.values())))
        stacked = np.zeros((len(self), dim), dtype=np.float32)
        for i, cid in enumerate(self.chunk_ids):
            vec = (descriptors or {}).get(int(cid))
            if vec is not None:
                stacked[i, : min(dim, len(vec))] = np.asarray(vec, dtype=np.float32)[:dim]
        return replace(self, descriptors=torch.from_numpy(stacked), _rows={})


def _features_for(
    ref: ChunkRef, source: ChunkAudioSource, config: FeatureConfig, cache: FeatureCache | None
) -> ChunkFeatures:
    feats = cache.load(ref.track_key, ref.start_ms, ref.end_ms) if cache else None
    if feats is None:
        audio = source.chunk_audio(ref.id, sample_rate=config.sample_rate, mono=True)
        feats = compute_chunk_features(np.asarray(audio).reshape(-1), config)
        if cache is not None:
            cache.store(ref.track_key, ref.start_ms, ref.end_ms, feats)
    return feats


def build_feature_table(
    refs: Sequence[ChunkRef],
    source: ChunkAudioSource,
    config: FeatureConfig = FeatureConfig(),
    cache_root: Path | str | None = None,
    descriptors: Mapping[int, np.ndarray] | None = None,
    on_progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
) -> FeatureTable:
    """Features of ``refs``, read from ``cache_root`` where present and computed (then stored) otherwise."""
    cache = FeatureCache(cache_root, config) if cache_root is not None else None
    items: list[ChunkFeatures] = []
    for i, ref in enumerate(refs):
        check_stop(should_stop)
        items.append(_features_for(ref, source, config, cache))
        report(on_progress, i + 1, len(refs), "chunk features")
    if not items:
        raise ValueError("no chunks to build features from")
    table = FeatureTable(
        config=config,
        chunk_ids=np.array([r.id for r in refs], dtype=np.int64),
        track_ids=np.array([r.track_id for r in refs], dtype=np.int64),
        positions=np.array([r.index for r in refs], dtype=np.int64),
        start=torch.from_numpy(np.stack([f.start for f in items])),
        end=torch.from_numpy(np.stack([f.end for f in items])),
        mean=torch.from_numpy(np.stack([f.mean for f in items])),
        raw_start=torch.from_numpy(np.stack([f.raw_start for f in items])),
        raw_end=torch.from_numpy(np.stack([f.raw_end for f in items])),
        raw_length=np.array([f.raw_length for f in items], dtype=np.int64),
        track_keys={r.track_id: r.track_key for r in refs},
    )
    return table.with_descriptors(descriptors) if descriptors else table


def project_descriptor_vectors(
    project: Project,
    chunk_ids: Sequence[int] | None = None,
    on_progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
    jobs: int = 1,
) -> dict[int, np.ndarray] | None:
    """Per-chunk descriptor vectors (tempo, key, loudness, brightness, onset rate); the tracks of
    ``chunk_ids`` (default: every chunk) never analysed are analysed first, in ``jobs`` processes, and
    the result kept in the project. A read-only project is not analysed (nothing could be kept): its
    chunks without descriptors read as zeros."""
    try:
        from mixdesk.analysis.compat import chunk_descriptor_vectors
        from mixdesk.analysis.project_analysis import analyse_missing_chunks
    except ImportError:
        return None
    if not project.read_only:
        try:
            analyse_missing_chunks(project, chunk_ids, on_progress, should_stop, jobs)
        except ReadOnlyProjectError:  # its folder or file turned read-only while open
            pass
    return chunk_descriptor_vectors(project) or None


def project_feature_table(
    project: Project,
    config: FeatureConfig = FeatureConfig(),
    chunk_ids: Sequence[int] | None = None,
    descriptors: Mapping[int, np.ndarray] | None = None,
    on_progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
    jobs: int = 1,
) -> FeatureTable:
    """Feature table of a project's chunks, cached in ``project.cache_dir / "features"``.

    With ``jobs`` > 1, chunks missing from the cache are computed in that many processes first.
    """
    refs = project_chunk_refs(project, chunk_ids)
    cache_root = Path(project.cache_dir) / "features"
    if jobs > 1:
        fill_feature_cache(refs, project.path, config, cache_root, jobs, on_progress, should_stop)
    # Same thread policy as training: extra intra-op threads only fight other work on small machines.
    with torch_threads():
        return build_feature_table(refs, project, config, cache_root, descriptors, on_progress, should_stop)


FILL_TASK_CHUNKS = 32  # chunks per task handed to a process: small enough for steady progress reports


def fill_feature_cache(
    refs: Sequence[ChunkRef],
    project_path: Path | str,
    config: FeatureConfig,
    cache_root: Path | str,
    jobs: int,
    on_progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
) -> int:
    """Compute the features of ``refs`` that the cache lacks in ``jobs`` processes; returns how many.

    Each process opens the project read-only and writes to the cache (atomically, one file per
    chunk), so a table built afterwards reads every chunk from the cache.
    """
    cache = FeatureCache(cache_root, config)
    missing = [r for r in refs if not cache.path(r.track_key, r.start_ms, r.end_ms).is_file()]
    if not missing:
        return 0
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    tasks = [missing[i : i + FILL_TASK_CHUNKS] for i in range(0, len(missing), FILL_TASK_CHUNKS)]
    done = 0
    # spawn: forking a process that already runs torch's thread pools can deadlock the child.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(jobs, len(tasks)), mp_context=context) as pool:
        pending = {
            pool.submit(_fill_task, str(project_path), config.to_dict(), str(cache_root), task): len(task)
            for task in tasks
        }
        try:
            while pending:
                check_stop(should_stop)
                finished, _ = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
                for future in finished:
                    future.result()  # a worker's error surfaces here
                    done += pending.pop(future)
                    report(on_progress, done, len(missing), "chunk features")
        except BaseException:
            for future in pending:
                future.cancel()
            raise
    return len(missing)


def _fill_task(project_path: str, config: dict[str, Any], cache_root: str, refs: Sequence[ChunkRef]) -> None:
    """One process's share of ``fill_feature_cache`` (module level: the process imports it by name)."""
    from mixdesk.library.project import Project

    torch.set_num_threads(1)  # the processes themselves are the parallelism
    feature_config = FeatureConfig.from_dict(config)
    cache = FeatureCache(cache_root, feature_config)
    with Project.open(project_path) as project:
        for ref in refs:
            _features_for(ref, project, feature_config, cache)
