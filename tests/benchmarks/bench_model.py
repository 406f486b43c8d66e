"""Transition-model speed: training pairs/s per architecture, device and thread count, the time to
rank a 10,000-chunk pool for one chunk through the real scorer, and data-parallel scaling (the same
training in 1 and in 2 worker processes started by torch's launcher).

    python tests/benchmarks/bench_model.py                 # CPU, plus the GPU in the same run if torch sees one
    python tests/benchmarks/bench_model.py --device cpu    # CPU only
    python tests/benchmarks/bench_model.py --nproc 1,2,4 --ddp-device cpu
    python tests/benchmarks/bench_model.py --json out.json

Inputs are random log-mel windows and raw edges of the production shapes (128 mels x 129 frames,
1 s raw edges at 1260 Hz): speed does not depend on what the audio sounds like.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np
import torch

from mixdesk.ml import distributed
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


def train_speed(
    arch: str, device: str, threads: int, epochs: int, batch_size: int, contrastive: float | None = None
) -> dict:
    """batch_size 0 takes the training default for the device (larger on a GPU); ``contrastive`` None
    keeps the default weight of the in-batch ranking objective."""
    data = PairData(random_table(20, 30), PairConfig())
    limit = 256 if arch == "seed" and device == "cpu" else 0
    config = TrainConfig(
        model=ModelConfig(arch=arch),
        epochs=epochs,
        device=device,
        num_threads=threads,
        max_pairs_per_epoch=limit,
        patience=100,
        batch_size=batch_size,
        **({} if contrastive is None else {"contrastive_weight": contrastive}),
    )
    # Warm-up: one epoch of the same run, so that every batch shape it meets (full, last, validation)
    # has had its kernels chosen (cuDNN's benchmark mode times each new shape once) before the clock runs.
    fit(TrainConfig(**{**config.__dict__, "epochs": 1}), data)
    result = fit(config, data)
    return {
        "arch": arch,
        "device": result.device,
        "threads": threads if device == "cpu" else None,
        "batch_size": result.configs["train"]["batch_size"],
        "contrastive_weight": result.configs["train"]["contrastive_weight"],
        "pairs_per_s": round(result.pairs_per_s, 1),
        "pairs": int(result.pairs_per_s * result.seconds),
    }


def _ddp_worker(arch: str, device: str, epochs: int, batch_size: int) -> dict | None:
    """One worker of the data-parallel benchmark (module level: the launcher imports it by name)."""
    with distributed.worker_group(device) as group:
        data = PairData(random_table(20, 30), PairConfig())
        config = TrainConfig(
            model=ModelConfig(arch=arch), epochs=epochs, device=device, patience=100, batch_size=batch_size
        )
        result = fit(config, data)
        if not group.leader:
            return None
        return {
            "pairs_per_s": round(result.pairs_per_s, 1),
            "threads_per_process": result.threads,
            "device": result.device,
            "batch_size": result.configs["train"]["batch_size"],
        }


def ddp_speed(nproc: int, arch: str, device: str, epochs: int, batch_size: int) -> dict:
    """Training pairs/s of all workers together, each started through torch's launcher (1 included,
    so that both figures pay the same start-up)."""
    distributed.check_workers(nproc, device)
    started = time.perf_counter()
    result = distributed.launch_local(nproc, _ddp_worker, arch, device, epochs, batch_size)[0]
    return {"arch": arch, "processes": nproc, **result, "wall_s": round(time.perf_counter() - started, 1)}


def ranking_speed(pool: int, device: str, repeats: int = 15) -> dict:
    torch.manual_seed(0)
    from mixdesk.ml.models import build_model

    config = ModelConfig()
    scorer = TransitionScorer(build_model(config), {"feature": FeatureConfig(), "model": config}, device)
    started = time.perf_counter()
    step = 1000
    for lo in range(0, pool, step):
        scorer.prepare_table(random_table(step // 20, 20, seed=lo, first_id=lo + 1), pool=False)
    encode_s = time.perf_counter() - started
    ids = list(range(1, pool + 1))
    scorer.set_pool(ids)
    started = time.perf_counter()
    scorer.weigh_pool()
    weigh_s = time.perf_counter() - started
    times, cpu_times = [], []
    for i in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        top = rank_successors(ids[i], ids, 10, scorer)
        times.append(time.perf_counter() - t0)
        cpu_times.append(time.process_time() - c0)
    assert len(top) == 10
    # The scorer picks its own CPU thread count (mixdesk.ml.runtime.default_threads).
    return {
        "pool": pool,
        "device": str(scorer.device),
        "threads": default_threads(),
        "encode_pool_s": round(encode_s, 2),
        # once per pool: each start's log-sum-exp over the pool's ends (ranking.POOL_REFERENCE)
        "weigh_pool_s": round(weigh_s, 2),
        "rank_top10_ms_median": round(1000 * statistics.median(times), 2),
        "rank_top10_ms_min": round(1000 * min(times), 2),
        # CPU time of this process: what the ranking costs when no other process competes for the cores
        "rank_top10_cpu_ms_median": round(1000 * statistics.median(cpu_times), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--device", default="auto", help="auto (CPU, and the GPU when there is one), cpu, cuda")
    parser.add_argument("--threads", default="1,2", help="CPU thread counts to measure")
    parser.add_argument("--archs", default="cnn_lstm,seed", help="'' skips the training figures")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=0, help="0 = the training default per device")
    parser.add_argument("--pool", type=int, default=10000, help="chunks to rank among (0 skips it)")
    parser.add_argument("--nproc", default="1,2", help="worker counts for data-parallel scaling ('' skips it)")
    parser.add_argument("--ddp-device", default="cpu", help="device of the data-parallel workers")
    parser.add_argument("--ddp-arch", default="cnn_lstm")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    if args.device == "auto":
        devices = ["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"]
    else:
        devices = ["cpu", "cuda"] if args.device == "both" else [args.device]
    rows = []

    def emit(row: dict) -> None:
        rows.append(row)
        print(json.dumps(row), flush=True)

    for device in devices:
        threads = [int(t) for t in args.threads.split(",")] if device == "cpu" else [torch.get_num_threads()]
        for t in threads:
            torch.set_num_threads(t)
            for arch in [a for a in args.archs.split(",") if a]:
                row = train_speed(arch, device, t, args.epochs, args.batch_size)
                emit({"bench": "train", **row})
                if arch == "cnn_lstm" and row["contrastive_weight"] > 0:
                    # What the in-batch ranking objective costs: the same run with the pair loss alone.
                    plain = train_speed(arch, device, t, args.epochs, args.batch_size, contrastive=0.0)
                    ratio = round(row["pairs_per_s"] / plain["pairs_per_s"], 3) if plain["pairs_per_s"] else None
                    emit({"bench": "train", **plain, "ranking_objective_speed_ratio": ratio})
        if args.pool:
            emit({"bench": "rank", **ranking_speed(args.pool, device)})
    for nproc in [int(n) for n in args.nproc.split(",") if n]:
        emit({"bench": "ddp", **ddp_speed(nproc, args.ddp_arch, args.ddp_device, args.epochs, args.batch_size)})
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(rows, handle, indent=1)


if __name__ == "__main__":
    main()
