"""Feeding pairs to a model: the feature table on the training device, batching, loss and accuracy."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.parallel import DistributedDataParallel

from mixdesk.ml import distributed
from mixdesk.ml.models import TransitionModel
from mixdesk.ml.pairs import PairConfig, PairSet, augment_edges
from mixdesk.ml.table import FeatureTable


class DeviceTable:
    """The tensors of a feature table on one device, with descriptors shaped for the model."""

    def __init__(self, table: FeatureTable, device: torch.device, descriptor_dim: int = 0) -> None:
        self.source = table
        self.config = table.config
        self.device = device
        self.start = table.start.to(device)
        self.end = table.end.to(device)
        self.raw_start = table.raw_start.to(device)
        self.raw_end = table.raw_end.to(device)
        self.descriptors: torch.Tensor | None = None
        if descriptor_dim > 0:
            desc = torch.zeros(len(table), descriptor_dim)
            if table.descriptors is not None:
                width = min(descriptor_dim, table.descriptors.shape[1])
                desc[:, :width] = table.descriptors[:, :width]
            self.descriptors = desc.to(device)

    def desc(self, rows: torch.Tensor) -> torch.Tensor | None:
        return None if self.descriptors is None else self.descriptors[rows]


@dataclass(frozen=True)
class Batch:
    """One batch of pairs on the training device, or one process's share of it.

    ``slots`` (None for a whole batch; a CPU tensor) are the share's positions within the batch of
    ``total`` pairs; ``weight`` (None when every pair counts) is 0 for a padding pair given to a
    process whose share would otherwise be empty, as every data-parallel process must take part in
    every step.
    """

    a: torch.Tensor
    b: torch.Tensor
    label: torch.Tensor
    slots: torch.Tensor | None = None
    weight: torch.Tensor | None = None
    total: int = 0
    count: int = 0  # real (weighted 1) pairs in this share


def _to(x: np.ndarray, device: torch.device) -> torch.Tensor:
    tensor = torch.from_numpy(np.ascontiguousarray(x))
    if device.type == "cuda":
        # One pinned, asynchronous copy per epoch instead of three small blocking copies per batch.
        return tensor.pin_memory().to(device, non_blocking=True)
    return tensor.to(device)


def pair_batches(
    pairs: PairSet,
    batch_size: int,
    device: torch.device,
    seed: int | None = None,
    limit: int = 0,
    rank: int = 0,
    world: int = 1,
) -> Iterator[Batch]:
    """Batches of ``pairs``; shuffled when ``seed`` is given, cut to ``limit`` pairs if set.

    With ``world`` > 1 every process sees the same sequence of batches (same seed) and takes every
    ``world``-th pair of each, starting at ``rank``: the processes together see exactly the batches
    one process would, and all of them take the same number of steps.
    """
    order = np.arange(len(pairs))
    if seed is not None:
        order = np.random.default_rng(seed).permutation(order)
    if limit:
        order = order[:limit]
    a, b, label = _to(pairs.a[order], device), _to(pairs.b[order], device), _to(pairs.label[order], device)
    for start in range(0, order.size, batch_size):
        stop = min(start + batch_size, order.size)
        if world == 1:
            yield Batch(a[start:stop], b[start:stop], label[start:stop], total=stop - start, count=stop - start)
            continue
        share = np.arange(rank, stop - start, world)
        weight = np.ones(share.size, dtype=np.float32)
        if share.size == 0:
            share, weight = np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.float32)
        slots = torch.from_numpy(share)  # stays on the CPU, where the augmentation draws are made
        index = slots.to(device)
        yield Batch(
            a[start:stop][index],
            b[start:stop][index],
            label[start:stop][index],
            slots,
            torch.from_numpy(weight).to(device),
            stop - start,
            int(weight.sum()),
        )


def shard_pairs(pairs: PairSet, rank: int, world: int) -> PairSet:
    """Every ``world``-th pair from ``rank`` on: one process's part of an evaluation."""
    if world == 1:
        return pairs
    return PairSet(pairs.a[rank::world], pairs.b[rank::world], pairs.label[rank::world], pairs.kind[rank::world])


def batch_count(pairs: PairSet, batch_size: int, limit: int = 0) -> int:
    n = min(len(pairs), limit) if limit else len(pairs)
    return (n + batch_size - 1) // batch_size


def _core(model: nn.Module) -> TransitionModel:
    """The transition model itself, also when ``model`` is a ``DistributedDataParallel`` wrapper of it."""
    core = model.module if isinstance(model, DistributedDataParallel) else model
    if not isinstance(core, TransitionModel):
        raise TypeError(f"expected a transition model, not {type(core).__name__}")
    return core


def _model_inputs(
    core: TransitionModel,
    table: DeviceTable,
    a: torch.Tensor,
    b: torch.Tensor,
    augment: PairConfig | None,
    generator: torch.Generator | None,
    slots: torch.Tensor | None,
    total: int,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
    """(A's ends, B's starts, A's descriptors, B's descriptors) on the model's device, augmented."""
    xa = core.edges(table, a, "end")
    xb = core.edges(table, b, "start")
    if augment is not None and (augment.gain_db > 0 or augment.shift_frames > 0):
        mel = core.input_kind == "mel"
        xa = augment_edges(xa, False, augment.gain_db, augment.shift_frames, generator, mel, slots, total)
        xb = augment_edges(xb, True, augment.gain_db, augment.shift_frames, generator, mel, slots, total)
    return xa, xb, core.descriptors(table, a), core.descriptors(table, b)


def pair_logits(
    model: nn.Module,
    table: DeviceTable,
    a: torch.Tensor,
    b: torch.Tensor,
    augment: PairConfig | None = None,
    generator: torch.Generator | None = None,
    slots: torch.Tensor | None = None,
    total: int = 0,
) -> torch.Tensor:
    """Logits of pairs (table rows ``a[i]`` -> ``b[i]``), computed on the model's device.

    ``model`` may be a ``DistributedDataParallel`` wrapper: inputs come from the wrapped model, the
    forward pass goes through the wrapper so that gradients are averaged across processes.
    """
    logits: torch.Tensor = model(*_model_inputs(_core(model), table, a, b, augment, generator, slots, total))
    return logits


def pair_and_grid_logits(
    model: nn.Module,
    table: DeviceTable,
    a: torch.Tensor,
    b: torch.Tensor,
    grid: torch.Tensor | None,
    augment: PairConfig | None = None,
    generator: torch.Generator | None = None,
    slots: torch.Tensor | None = None,
    total: int = 0,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``pair_logits`` and, with ``grid`` (batch indices), the grid of logits among those pairs (see
    ``TransitionModel.forward``), from one forward pass; (logits, None) without a grid."""
    inputs = _model_inputs(_core(model), table, a, b, augment, generator, slots, total)
    if grid is None:
        return model(*inputs), None
    logits, matrix = model(*inputs, grid=grid)
    return logits, matrix


class EpochStats:
    """Loss and accuracy summed over an epoch.

    The sums stay on the training device: reading a GPU number makes the CPU wait for the GPU, so
    they are only read when reported (a few times a second), not after every step.
    """

    def __init__(self) -> None:
        self._loss_sum: torch.Tensor | float = 0.0
        self._correct: torch.Tensor | int = 0
        self.count = 0

    def add(
        self,
        logits: torch.Tensor,
        labels: torch.Tensor,
        loss: torch.Tensor,
        weight: torch.Tensor | None = None,
        count: int | None = None,
    ) -> None:
        """Add a batch whose mean loss is ``loss`` (or, with ``weight``, a share of a split batch
        whose ``loss`` is the sum of its weighted per-pair losses over ``count`` real pairs)."""
        labels = labels.to(logits.device)
        hits = (logits.detach() > 0).float() == labels
        if weight is None:
            n = int(labels.shape[0])
            self._loss_sum = self._loss_sum + loss.detach().double() * n
            self._correct = self._correct + hits.sum()
        else:
            n = int(count if count is not None else weight.sum())
            self._loss_sum = self._loss_sum + loss.detach().double()
            self._correct = self._correct + (hits.float() * weight.to(hits.device)).sum().long()
        self.count += n

    def all_reduce(self) -> "EpochStats":
        """Sums over every data-parallel process (unchanged when training in one process)."""
        if distributed.current().world == 1:
            return self
        device = self._loss_sum.device if isinstance(self._loss_sum, torch.Tensor) else None
        device = distributed.collective_device(device)
        sums = torch.tensor(
            [float(self._loss_sum), float(self._correct), float(self.count)], dtype=torch.float64, device=device
        )
        distributed.all_sum(sums)
        total = EpochStats()
        total._loss_sum, total._correct, total.count = float(sums[0]), int(sums[1]), int(sums[2])
        return total

    @property
    def loss_sum(self) -> float:
        return float(self._loss_sum)

    @property
    def correct(self) -> int:
        return int(self._correct)

    @property
    def loss(self) -> float:
        return self.loss_sum / self.count if self.count else float("nan")

    @property
    def accuracy(self) -> float:
        return self.correct / self.count if self.count else float("nan")


def evaluate_pairs(
    model: TransitionModel, table: DeviceTable, pairs: PairSet, batch_size: int = 512, amp: bool = False
) -> tuple[EpochStats, np.ndarray]:
    """Loss/accuracy over ``pairs`` and the probability of each pair, in eval mode, on the model's device."""
    stats = EpochStats()
    probs = []
    model.eval()
    device = model.device
    with torch.no_grad(), torch.autocast(device.type, enabled=amp):
        for batch in pair_batches(pairs, batch_size, device):
            logits = pair_logits(model, table, batch.a, batch.b).float()
            stats.add(logits, batch.label, F.binary_cross_entropy_with_logits(logits, batch.label))
            probs.append(torch.sigmoid(logits).cpu().numpy())
    return stats, (np.concatenate(probs) if probs else np.zeros(0, dtype=np.float32))
