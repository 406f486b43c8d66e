"""Mix benchmarks: sequencing a 60-minute mix from 10,000 chunks (with and without weighing each join's
level step), reading the chunks' edge levels, render + export speed, render memory, and beat-synchronous
rendering (time-stretched to one tempo) against plain rendering in the same run.

Run: python tests/benchmarks/bench_mix.py [--quick] [--json]
Targets: sequencing < 5 s; render + MP3 export >= 50x realtime; render with stretching >= 20x realtime;
render memory independent of mix length.
"""

from __future__ import annotations

import os

# One BLAS thread: on a shared two-core machine, BLAS worker threads contend and a 10k x 64 product
# takes ten times longer than on one thread.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "mix"))

from audio_fixtures import make_track, song_sections, write_wav  # noqa: E402
from beat_fixtures import drum_track  # noqa: E402

from mixdesk.mix.config import ExportConfig, SequenceConfig  # noqa: E402
from mixdesk.mix.export import export_mix  # noqa: E402
from mixdesk.mix.pool import ChunkPool  # noqa: E402
from mixdesk.mix.rendering import Renderer  # noqa: E402
from mixdesk.mix.sequencing import sequence, sequence_pool  # noqa: E402


class CachedVectorScorer:
    """P(b follows a) = sigmoid(k * <end_a, start_b>) over fixed random encodings: the cost profile of a
    scorer with cached per-chunk encodings (one gather and one matrix-vector product per call)."""

    def __init__(self, chunk_ids, dim: int = 64, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.ids = np.sort(np.asarray(chunk_ids, dtype=np.int64))
        unit = lambda m: m / np.linalg.norm(m, axis=1, keepdims=True)  # noqa: E731
        self.ends = unit(rng.standard_normal((len(self.ids), dim))).astype(np.float32)
        self.starts = unit(rng.standard_normal((len(self.ids), dim))).astype(np.float32)

    def _rows(self, ids) -> np.ndarray:
        return np.searchsorted(self.ids, np.asarray(ids, dtype=np.int64))

    def successor_scores(self, a_id, candidate_ids) -> np.ndarray:
        logits = self.starts[self._rows(candidate_ids)] @ self.ends[self._rows([a_id])[0]]
        return 1.0 / (1.0 + np.exp(-6.0 * logits))

    def score_matrix(self, a_ids, b_ids) -> np.ndarray:
        logits = self.ends[self._rows(a_ids)] @ self.starts[self._rows(b_ids)].T
        return 1.0 / (1.0 + np.exp(-6.0 * logits))


def synthetic_pool(n_chunks: int = 10_000, per_track: int = 40, seed: int = 0) -> ChunkPool:
    rng = np.random.default_rng(seed)
    ids = np.arange(1, n_chunks + 1)
    tracks = (ids - 1) // per_track + 1
    index = (ids - 1) % per_track
    lengths = rng.integers(1000, 6000, n_chunks)  # the library's silence cut gives 1-20 s, mostly short
    starts = index * 6500
    return ChunkPool(
        ids, tracks, index, starts, starts + lengths, {int(t): f"/music/{t}.flac" for t in np.unique(tracks)}
    )


def bench_sequencing(minutes: float) -> dict:
    """Each strategy with the scores alone, and with each join's level step weighed too (edge levels
    given: the cost of the term inside the search, apart from reading the levels)."""
    pool = synthetic_pool()
    scorer = CachedVectorScorer(pool.ids)
    rng = np.random.default_rng(5)
    levels = (rng.normal(-16.0, 5.0, len(pool)), rng.normal(-16.0, 5.0, len(pool)))
    out = {}
    for strategy, width in (("greedy", 1), ("beam", 8), ("sample", 1)):
        config = SequenceConfig(minutes=minutes, strategy=strategy, beam_width=width, seed=1, min_chunk_ms=0)
        for name, given in ((strategy, None), (f"{strategy}_with_levels", levels)):
            started, cpu = time.perf_counter(), time.process_time()
            playlist = sequence_pool(pool, scorer, config, levels=given)
            out[name] = {
                "seconds": round(time.perf_counter() - started, 3),
                "cpu_seconds": round(time.process_time() - cpu, 3),
                "items": len(playlist),
                "minutes": round(playlist.duration_ms / 60000, 2),
            }
        out[f"{strategy}_with_levels"]["time_ratio"] = round(
            out[f"{strategy}_with_levels"]["seconds"] / max(out[strategy]["seconds"], 1e-9), 2
        )
    return out


def bench_edge_levels(project) -> dict:
    """Reading every chunk's edge levels from the track envelopes: the first time (envelopes from the
    project's disk cache) and again (the levels kept in memory)."""
    from mixdesk.mix import join_levels
    from mixdesk.mix.pool import pool_from_project

    pool = pool_from_project(project)
    join_levels._LEVELS.clear()
    times = []
    for _ in range(2):
        started = time.perf_counter()
        join_levels.edge_levels(project, pool, SequenceConfig().level_window_ms)
        times.append(time.perf_counter() - started)
    return {
        "tracks": len(set(pool.track_ids.tolist())),
        "chunks": len(pool),
        "first_s": round(times[0], 3),
        "again_s": round(times[1], 4),
    }


def build_project(folder: Path, n_tracks: int, seconds: float):
    from mixdesk.config import LIBRARY_CHUNKING
    from mixdesk.library.project import Project

    songs = folder / "songs"
    for i in range(n_tracks):
        write_wav(songs / f"song{i:02d}.flac", make_track(song_sections(i, seconds), freq=90.0 + 23 * i, seed=i))
    project = Project.open(folder / "bench.mixdesk")
    project.import_paths([songs], LIBRARY_CHUNKING)
    return project


def mix_of(project, minutes: float):
    scorer = CachedVectorScorer([c.id for c in project.chunks()])
    config = SequenceConfig(minutes=minutes, seed=2, no_repeat_within=20, max_same_track=2)
    return sequence(project, scorer, config)


def bench_export(project, minutes: float, folder: Path) -> dict:
    playlist = mix_of(project, minutes)
    out = {}
    for label, config in (
        ("mp3 ffmpeg 192k", ExportConfig(encoder="ffmpeg")),
        ("mp3 soundfile 192k", ExportConfig(encoder="soundfile")),
        ("flac", ExportConfig(format="flac")),
        ("wav", ExportConfig(format="wav")),
    ):
        started, cpu = time.perf_counter(), time.process_time()
        result = export_mix(project, playlist, folder / f"bench.{config.format}", config)
        wall = time.perf_counter() - started
        out[label] = {
            "x_realtime": round(result.duration_s / wall, 1),
            "seconds": round(wall, 2),
            "process_cpu_s": round(time.process_time() - cpu, 2),
            "audio_s": round(result.duration_s, 1),
        }
    started = time.perf_counter()
    frames = sum(len(b) for b in Renderer(project, playlist).blocks())
    out["render only"] = {"x_realtime": round(frames / 44100 / (time.perf_counter() - started), 1)}
    return out


def render_memory(project, minutes: float) -> dict:
    playlist = mix_of(project, minutes)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    frames = 0
    for block in Renderer(project, playlist).blocks():
        frames += len(block)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "minutes": round(frames / 44100 / 60, 1),
        "items": len(playlist),
        "traced_peak_mb": round(peak / 2**20, 1),
        "maxrss_growth_mb": round((rss_after - rss_before) / 1024, 1),
    }


def build_drum_project(folder: Path, tempi: tuple[float, ...], seconds: float):
    """Drum tracks at different tempi, imported with their beat grids (so the mix stretches them)."""
    from mixdesk.config import LIBRARY_CHUNKING
    from mixdesk.library.project import Project

    songs = folder / "drums"
    for i, bpm in enumerate(tempi):
        audio, _ = drum_track(bpm, seconds, 44100, first_beat_s=0.25 + 0.05 * i, seed=i)
        write_wav(songs / f"drums{i:02d}.flac", audio)
    project = Project.open(folder / "drums.mixdesk")
    project.import_paths([songs], LIBRARY_CHUNKING)
    return project


def bench_beat_sync(project, minutes: float) -> dict:
    """Render x realtime with and without stretching, same playlist, same process."""
    from mixdesk.mix.config import RenderConfig

    playlist = mix_of(project, minutes)
    out = {}
    for label, config in (
        ("beat-synchronous (stretched)", RenderConfig()),
        ("plain (no stretching)", RenderConfig(beat_sync=False)),
    ):
        renderer = Renderer(project, playlist, config)
        started = time.perf_counter()
        frames = sum(len(b) for b in renderer.blocks())
        wall = time.perf_counter() - started
        stretched = sum(1 for t in renderer.timings if t.synced and abs(t.ratio - 1) > 1e-4)
        out[label] = {
            "x_realtime": round(frames / 44100 / wall, 1),
            "seconds": round(wall, 2),
            "items": len(playlist),
            "stretched_items": stretched,
        }
    first, second = out.values()
    out["speed ratio (stretched / plain)"] = round(first["x_realtime"] / second["x_realtime"], 3)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="shorter mixes (for a smoke run)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    results = {"sequencing_60min_10k_pool": bench_sequencing(60.0)}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        project = build_project(folder, n_tracks=10, seconds=60.0)
        try:
            results["edge_levels"] = bench_edge_levels(project)
            results["export_10min"] = bench_export(project, 3.0 if args.quick else 10.0, folder)
            short, long_ = (5.0, 20.0) if args.quick else (30.0, 120.0)
            results["render_memory"] = [render_memory(project, short), render_memory(project, long_)]
        finally:
            project.close()
        drums = build_drum_project(folder, (118.0, 122.0, 124.0, 126.0, 128.0, 131.0), 90.0)
        try:
            results["beat_sync_render"] = bench_beat_sync(drums, 3.0 if args.quick else 10.0)
            results["stretched_render_memory"] = [render_memory(drums, short), render_memory(drums, long_)]
        finally:
            drums.close()
    if args.json:
        print(json.dumps(results, indent=1))
    else:
        for section, value in results.items():
            print(section)
            rows = value.items() if isinstance(value, dict) else enumerate(value)
            for name, row in rows:
                print(f"  {name}: {row}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
