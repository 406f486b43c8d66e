"""Feeding pairs to a model: the feature table on the training device, batching, loss and accuracy."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np
import torch
from torch.nn import functional as F

from mixdesk.ml.models import TransitionModel
from mixdesk.ml.pairs import PairConfig, PairSet, augment_edges
from mixdesk.ml.table import FeatureTable


class DeviceTable:
    """The tensors of a feature table on one device, with descriptors shaped for the model."""

    def __init__(self, table: FeatureTable, device: torch.device, descriptor_dim: int = 0):
        self.source = table
        self.device = device
        self.start = table.start.to(device)
        self.end = table.end.to(device)
        self.raw_start = table.raw_start.to(device)
        self.raw_end = table.raw_end.to(device)
        self.descriptors = None
        if descriptor_dim > 0:
            desc = torch.zeros(len(table), descriptor_dim)
            if table.descriptors is not None:
                width = min(descriptor_dim, table.descriptors.shape[1])
                desc[:, :width] = table.descriptors[:, :width]
            self.descriptors = desc.to(device)

    def desc(self, rows: torch.Tensor) -> torch.Tensor | None:
        return None if self.descriptors is None else self.descriptors[rows]


def pair_batches(pairs: PairSet, batch_size: int, device: torch.device, seed: int | None = None,
                 limit: int = 0) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """(a rows, b rows, labels) batches; shuffled when ``seed`` is given, cut to ``limit`` pairs if set."""
    order = np.arange(len(pairs))
    if seed is not None:
        order = np.random.default_rng(seed).permutation(order)
    if limit:
        order = order[:limit]
    for start in range(0, order.size, batch_size):
        idx = order[start : start + batch_size]
        yield (torch.from_numpy(pairs.a[idx]).to(device), torch.from_numpy(pairs.b[idx]).to(device),
               torch.from_numpy(pairs.label[idx]).to(device))


def batch_count(pairs: PairSet, batch_size: int, limit: int = 0) -> int:
    n = min(len(pairs), limit) if limit else len(pairs)
    return (n + batch_size - 1) // batch_size


def pair_logits(model: TransitionModel, table: DeviceTable, a: torch.Tensor, b: torch.Tensor,
                augment: PairConfig | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
    xa = model.edges(table, a, "end")
    xb = model.edges(table, b, "start")
    if augment is not None and (augment.gain_db > 0 or augment.shift_frames > 0):
        mel = model.input_kind == "mel"
        xa = augment_edges(xa, False, augment.gain_db, augment.shift_frames, generator, mel)
        xb = augment_edges(xb, True, augment.gain_db, augment.shift_frames, generator, mel)
    return model(xa, xb, table.desc(a), table.desc(b))


@dataclass
class EpochStats:
    loss_sum: float = 0.0
    correct: int = 0
    count: int = 0

    def add(self, logits: torch.Tensor, labels: torch.Tensor, loss: torch.Tensor) -> None:
        n = int(labels.shape[0])
        self.loss_sum += float(loss.detach()) * n
        self.correct += int(((logits.detach() > 0).float() == labels).sum())
        self.count += n

    @property
    def loss(self) -> float:
        return self.loss_sum / self.count if self.count else float("nan")

    @property
    def accuracy(self) -> float:
        return self.correct / self.count if self.count else float("nan")


def evaluate_pairs(model: TransitionModel, table: DeviceTable, pairs: PairSet, batch_size: int = 512,
                   amp: bool = False) -> tuple[EpochStats, np.ndarray]:
    """Loss/accuracy over ``pairs`` and the probability of each pair, in eval mode."""
    stats = EpochStats()
    probs = []
    model.eval()
    with torch.no_grad(), torch.autocast(table.device.type, enabled=amp):
        for a, b, y in pair_batches(pairs, batch_size, table.device):
            logits = pair_logits(model, table, a, b).float()
            stats.add(logits, y, F.binary_cross_entropy_with_logits(logits, y))
            probs.append(torch.sigmoid(logits).cpu().numpy())
    return stats, (np.concatenate(probs) if probs else np.zeros(0, dtype=np.float32))
