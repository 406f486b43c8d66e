"""Data-parallel training over several processes with torch.distributed.

Processes are started by torch's own launcher: ``launch_local`` (``mixdesk train --nproc N``) runs
it in-process for one machine, and ``torchrun`` runs the same ``mixdesk train`` on each node of a
cluster. Either way each worker finds its rank in the environment the launcher sets (RANK,
WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT) and joins the group in ``worker_group``. Gradients
are averaged with DistributedDataParallel; gloo carries them between CPU processes, NCCL between GPUs.
"""

from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from types import ModuleType
from typing import Any, Callable, Iterator

import torch

from mixdesk.ml.runtime import cpu_count, default_threads, resolve_device

# A worker that waits longer than this for the others (one of them crashed, or is still extracting
# features for a huge library) gives up instead of hanging forever.
GROUP_TIMEOUT = timedelta(minutes=60)


@dataclass(frozen=True)
class Group:
    """This process's place among the data-parallel workers (rank 0 of 1 when training alone)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0
    local_world: int = 1

    @property
    def leader(self) -> bool:
        """Rank 0 alone writes files and project records."""
        return self.rank == 0


def _dist() -> ModuleType | None:
    """``torch.distributed``, where this build of torch has it."""
    import torch.distributed as dist

    return dist if dist.is_available() else None


def current() -> Group:
    dist = _dist()
    if dist is None or not dist.is_initialized():
        return Group()
    env = os.environ
    return Group(
        dist.get_rank(), dist.get_world_size(), int(env.get("LOCAL_RANK", 0)), int(env.get("LOCAL_WORLD_SIZE", 1))
    )


def launched() -> bool:
    """Whether torch's launcher started this process as one of several workers."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1 and "RANK" in os.environ


def worker_device(name: str | torch.device) -> torch.device:
    """The device for this worker: with CUDA, the GPU of its local rank."""
    device = resolve_device(name)
    if device.type == "cuda" and launched() and device.index is None:
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
    return device


def worker_threads(requested: int = 0) -> int:
    """CPU threads for one worker: the machine's cores shared among the workers started on it."""
    if requested > 0:
        return requested
    local_world = max(1, int(os.environ.get("LOCAL_WORLD_SIZE", 1))) if launched() else 1
    return default_threads(max(1, cpu_count() // local_world))


@contextmanager
def worker_group(device: str | torch.device = "auto") -> Iterator[Group]:
    """Join the launcher's process group for the block (a single-process ``Group`` when not launched)."""
    dist = _dist()
    if not launched() or dist is None or dist.is_initialized():
        yield current()
        return
    resolved = worker_device(device)
    if resolved.type == "cuda":
        torch.cuda.set_device(resolved)
    dist.init_process_group("nccl" if resolved.type == "cuda" else "gloo", timeout=GROUP_TIMEOUT)
    try:
        yield current()
    finally:
        dist.destroy_process_group()


@contextmanager
def leader_first(group: Group) -> Iterator[None]:
    """Run the block on each machine's local rank 0 first, then on the other local ranks.

    Feature extraction fills an on-disk cache: the first worker computes, the others then read.
    """
    if group.world == 1:
        yield
        return
    dist = _dist()
    if dist is None:  # several workers joined a group, so this cannot happen
        raise RuntimeError("torch.distributed is not available")
    if group.local_rank != 0:
        dist.barrier()
    yield
    if group.local_rank == 0:
        dist.barrier()


def collective_device(device: torch.device | None) -> torch.device:
    """Where tensors for a collective must be: NCCL reduces GPU tensors, gloo CPU ones."""
    dist = _dist()
    if dist is not None and dist.is_initialized() and dist.get_backend() == "nccl":
        if device is not None and device.type == "cuda":
            return device
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def all_sum(tensor: torch.Tensor) -> torch.Tensor:
    """Sum ``tensor`` in place over every worker (no-op when training alone)."""
    dist = _dist()
    if dist is not None and dist.is_initialized():
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor


def wrap(model: torch.nn.Module, device: torch.device, group: Group) -> torch.nn.Module:
    """``model`` wrapped to average gradients across workers (itself when training alone)."""
    if group.world == 1:
        return model
    from torch.nn.parallel import DistributedDataParallel

    return DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)


def check_workers(nproc: int, device: str | torch.device) -> None:
    """Refuse a worker count this machine cannot serve: each CUDA worker needs a GPU of its own."""
    if nproc < 1:
        raise ValueError(f"--nproc must be at least 1, not {nproc}")
    if resolve_device(device).type == "cuda" and nproc > torch.cuda.device_count():
        raise ValueError(
            f"{nproc} processes on CUDA need {nproc} GPUs; this machine has "
            f"{torch.cuda.device_count()} (use --device cpu or fewer processes)"
        )


class Interrupted(Exception):
    """The launcher was interrupted (Ctrl-C, SIGTERM) and stopped its workers."""


def launch_local(nproc: int, entry: Callable[..., Any], *args: Any) -> dict[int, Any]:
    """Run ``entry(*args)`` in ``nproc`` worker processes on this machine through torch's elastic
    launcher (as ``torchrun --standalone`` does); returns each local rank's return value.

    ``entry`` must be a module-level function: workers are started with ``spawn`` and import it.
    A worker that fails stops the others and raises ``ChildFailedError`` here; an interrupt raises
    ``Interrupted`` once the workers are stopped.
    """
    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.launcher.api import LaunchConfig, elastic_launch

    config = LaunchConfig(
        min_nodes=1,
        max_nodes=1,
        nproc_per_node=nproc,
        run_id=uuid.uuid4().hex,
        rdzv_backend="c10d",
        rdzv_endpoint="localhost:0",
        max_restarts=0,
        monitor_interval=0.1,
        start_method="spawn",
    )
    try:
        return elastic_launch(config, entry)(*args)
    except (SignalException, KeyboardInterrupt) as exc:
        raise Interrupted(str(exc)) from exc
