"""Where torch work runs: device choice and CPU thread count.

Thread count, measured on the 2-core build machine while other processes kept it busy (load average
about 9; cnn_lstm training, batch 64, tests/benchmarks/bench_model.py): one thread trained at
600-840 pairs/s, two threads at 55 pairs/s. Torch's intra-op threads wait for each other at every
operation, so one preempted thread stalls them all. On small machines mixdesk therefore uses one
thread fewer than the cores it sees (at least one); from 4 cores up it uses all of them, where one
preempted thread costs little.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Iterator

import torch


class DeviceError(ValueError):
    """A device was asked for that this machine does not have."""


def resolve_device(name: str | torch.device | None = "auto") -> torch.device:
    """ "auto" picks CUDA when torch sees a GPU, else the CPU; "cuda" without a GPU is an error."""
    if isinstance(name, torch.device):
        return name
    name = (name or "auto").lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise DeviceError("CUDA was asked for, but torch sees no GPU here (use --device cpu or auto)")
        return torch.device(name)
    if name == "cpu":
        return torch.device("cpu")
    raise DeviceError(f"unknown device {name!r}; use auto, cpu or cuda")


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def default_threads(cores: int | None = None) -> int:
    cores = cpu_count() if cores is None else cores
    if cores >= 4:
        return cores
    return max(1, cores - 1)


@contextmanager
def torch_threads(count: int = 0) -> Iterator[int]:
    """Run a block with ``count`` intra-op threads (0 = ``default_threads()``), restoring the old count."""
    chosen = count if count > 0 else default_threads()
    previous = torch.get_num_threads()
    torch.set_num_threads(chosen)
    try:
        yield chosen
    finally:
        torch.set_num_threads(previous)
