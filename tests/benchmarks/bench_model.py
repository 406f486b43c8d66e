"""Transition-model speed: training pairs/s per architecture, device and thread count, and the time to
rank a 10,000-chunk pool for one chunk through the real scorer.

    python tests/benchmarks/bench_model.py                 # CPU, 1 and 2 threads, both architectures
    python tests/benchmarks/bench_model.py --device cuda   # adds GPU figures
    python tests/benchmarks/bench_model.py --json out.json

Inputs are random log-mel windows and raw edges of the production shapes (128 mels x 65 frames,
1 s raw edges at 1260 Hz): speed does not depend on what the audio sounds like.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np
import torch

from mixdesk.ml.features import FeatureConfig
from mixdesk.ml.models import ModelConfig
from mixdesk.ml.pairs import PairConfig, PairData
from mixdesk.ml.ranking import TransitionScorer, rank_successors
from mixdesk.ml.runtime import default_threads
from mixdesk.ml.table import FeatureTable
from mixdesk.ml.training import TrainConfig, fit


def random_table(n_tracks: int, chunks_per_track: int, seed: int = 0, first_id: int = 1) -> FeatureTable:
    config = FeatureConfig()
    n = n_tracks * chunks_per_track
    gen = torch.Generator().manual_seed(seed)
    frames = config.window_frames
    return FeatureTable(
        config=config,
        chunk_ids=np.arange(first_id, first_id + n, dtype=np.int64),
        track_ids=np.repeat(np.arange(n_tracks), chunks_per_track) + first_id,
        positions=np.tile(np.arange(chunks_per_track), n_tracks),
        start=torch.rand(n, config.n_mels, frames, generator=gen) * 10,
        end=torch.rand(n, config.n_mels, frames, generator=gen) * 10,
        mean=torch.rand(n, config.n_mels, generator=gen) * 10,
        raw_start=torch.randn(n, config.raw_edge_samples, generator=gen) * 0.1,
        raw_end=torch.randn(n, config.raw_edge_samples, generator=gen) * 0.1,
        raw_length=np.full(n, 10 * 1260),
    )


def train_speed(arch: str, device: str, threads: int, epochs: int, batch_size: int) -> dict:
    data = PairData(random_table(20, 30), PairConfig())
    limit = 256 if arch == "seed" and device == "cpu" else 0
    config = TrainConfig(model=ModelConfig(arch=arch), epochs=epochs, device=device, num_threads=threads,
                         max_pairs_per_epoch=limit, patience=100, batch_size=batch_size)
    fit(TrainConfig(**{**config.__dict__, "epochs": 1, "max_pairs_per_epoch": 128}), data)  # warm-up
    result = fit(config, data)
    return {"arch": arch, "device": result.device, "threads": threads if device == "cpu" else None,
            "batch_size": batch_size,
            "pairs_per_s": round(result.pairs_per_s, 1), "pairs": int(result.pairs_per_s * result.seconds)}


def ranking_speed(pool: int, device: str, repeats: int = 15) -> dict:
    torch.manual_seed(0)
    from mixdesk.ml.models import build_model

    config = ModelConfig()
    scorer = TransitionScorer(build_model(config), {"feature": FeatureConfig(), "model": config}, device)
    started = time.perf_counter()
    step = 1000
    for lo in range(0, pool, step):
        scorer.prepare_table(random_table(step // 20, 20, seed=lo, first_id=lo + 1))
    encode_s = time.perf_counter() - started
    ids = list(range(1, pool + 1))
    times, cpu_times = [], []
    for i in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        top = rank_successors(ids[i], ids, 10, scorer)
        times.append(time.perf_counter() - t0)
        cpu_times.append(time.process_time() - c0)
    assert len(top) == 10
    # The scorer picks its own CPU thread count (mixdesk.ml.runtime.default_threads).
    return {"pool": pool, "device": str(scorer.device), "threads": default_threads(),
            "encode_pool_s": round(encode_s, 2),
            "rank_top10_ms_median": round(1000 * statistics.median(times), 2),
            "rank_top10_ms_min": round(1000 * min(times), 2),
            # CPU time of this process: what the ranking costs when no other process competes for the cores
            "rank_top10_cpu_ms_median": round(1000 * statistics.median(cpu_times), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--device", default="cpu", help="cpu, cuda or both")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--archs", default="cnn_lstm,seed")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--pool", type=int, default=10000)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    devices = ["cpu", "cuda"] if args.device == "both" else [args.device]
    rows = []
    for device in devices:
        threads = [int(t) for t in args.threads.split(",")] if device == "cpu" else [torch.get_num_threads()]
        for t in threads:
            torch.set_num_threads(t)
            for arch in args.archs.split(","):
                rows.append({"bench": "train", **train_speed(arch, device, t, args.epochs, args.batch_size)})
                print(json.dumps(rows[-1]), flush=True)
        rows.append({"bench": "rank", **ranking_speed(args.pool, device)})
        print(json.dumps(rows[-1]), flush=True)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(rows, handle, indent=1)


if __name__ == "__main__":
    main()
