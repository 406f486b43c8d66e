"""Training loop: ``fit(config, data, on_progress, should_stop) -> FitResult``.

One function serves the CLI and the desk's worker thread. Each epoch ends with an atomic checkpoint
holding the best weights so far and the state to resume from, so a cancel, a crash or a closed laptop
loses at most the epoch in progress. A loss that turns NaN or infinite stops training with
``NonFiniteLossError`` before that epoch is saved, so the file keeps the last good epoch.

Inside a process group (``mixdesk.ml.distributed``) each worker trains on its share of every batch
and DistributedDataParallel averages the gradients; rank 0 alone writes the file and reports.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Mapping

import torch
from torch import nn
from torch.nn import functional as F

from mixdesk.ml import distributed
from mixdesk.ml.batches import (
    Batch,
    DeviceTable,
    EpochStats,
    batch_count,
    evaluate_pairs,
    pair_batches,
    pair_and_grid_logits,
    shard_pairs,
)
from mixdesk.ml.checkpoint import load_checkpoint, save_checkpoint
from mixdesk.ml.models import ModelConfig, TransitionModel, build_model
from mixdesk.ml.pairs import PairData
from mixdesk.ml.runtime import torch_threads
from mixdesk.progress import Progress, ProgressFn, StopFn, check_stop

REPORT_INTERVAL_S = 0.25  # at most four step reports a second; epoch ends are always reported


class NonFiniteLossError(ValueError):
    """The training or validation loss became NaN or infinite; the model file keeps the last good epoch."""


@dataclass(frozen=True)
class TrainConfig:
    model: ModelConfig = ModelConfig()
    epochs: int = 30
    # Adam for cnn_lstm. On held-out tracks of 79 Debian music tracks lr 1e-3 / batch 64 did as well
    # as 3e-3 / 32 (AUC 0.88 vs 0.87, MRR 0.63 vs 0.61) and trains faster. The seed network keeps the
    # seed's RMSprop (Keras defaults).
    batch_size: int = 0  # pairs per optimiser step; 0 = cpu_batch_size or cuda_batch_size by device
    cpu_batch_size: int = 64
    # A batch of 64 leaves a GPU mostly idle between kernel launches; 256 keeps it busy. Not yet
    # measured for model quality at the same learning rate.
    cuda_batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 1e-5
    # In-batch ranking beside the pair loss: every true pair of a batch is scored against the other
    # true pairs' starts (and ends), and the truth must win in both directions (cross-entropy over the
    # grid's rows and columns). It trains the scores to rank a successor above many plausible chunks,
    # which is how suggestions use them; 0 turns it off. Models without a cheap grid ignore it.
    # Weight 1 ranked three whole Debian packages never trained on better than 0.5 (MRR 0.941 against
    # 0.935) and every package fold a little better (models/recipe/FINDINGS.md).
    contrastive_weight: float = 1.0
    seed_lr: float = 1e-3  # RMSprop learning rate of the seed network (Keras' default)
    grad_clip: float = 5.0
    patience: int = 8  # epochs without a better validation loss before stopping
    # The model returned is the mean of the weights at the end of every epoch from this one (1-based)
    # to the last, rather than the weights of the best validation epoch; 0 keeps the best epoch's.
    # Measured on three whole Debian packages never trained on, three seeds: held-out MRR +0.006 and
    # ROC-AUC +0.002 to +0.005 for every seed (models/recipe/FINDINGS.md). A run shorter than this
    # keeps the best epoch's weights.
    average_from: int = 3
    min_delta: float = 1e-4
    device: str = "auto"
    amp: bool = True  # mixed precision, on CUDA only
    seed: int = 0
    num_threads: int = 0  # 0 = mixdesk.ml.runtime.default_threads()
    max_pairs_per_epoch: int = 0  # 0 = all training pairs of the epoch
    out: str | None = None  # checkpoint path; None trains in memory only
    resume: bool = False

    def resolved_batch_size(self, device: torch.device) -> int:
        if self.batch_size > 0:
            return self.batch_size
        return self.cuda_batch_size if device.type == "cuda" else self.cpu_batch_size

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["model"] = self.model.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        if isinstance(values.get("model"), Mapping):
            values["model"] = ModelConfig.from_dict(values["model"])
        return cls(**values)


@dataclass(frozen=True)
class EpochReport(Progress):
    """Progress of training: ``done``/``total`` count optimiser steps over the whole run."""

    epoch: int = 0  # 1-based
    epochs: int = 0
    step: int = 0  # within the epoch
    steps: int = 0
    train_loss: float = float("nan")
    train_acc: float = float("nan")
    val_loss: float | None = None  # set once the epoch's validation ran
    val_acc: float | None = None
    eta_s: float | None = None


@dataclass
class FitResult:
    model: TransitionModel
    configs: dict[str, Any]
    history: list[dict[str, float]]
    best_epoch: int
    best_val_loss: float
    stopped_early: bool
    device: str
    threads: int
    seconds: float
    pairs_per_s: float
    checkpoint: Path | None = None
    meta: dict[str, Any] = field(default_factory=dict)


def in_batch_ranking_loss(grid: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of the diagonal of a K x K grid of logits (end i followed by start j) over its
    rows (which start follows end i?) and its columns (which end leads into start j?), averaged."""
    target = torch.arange(grid.shape[0], device=grid.device)
    return 0.5 * (F.cross_entropy(grid, target) + F.cross_entropy(grid.t(), target))


def resolve_model_config(config: TrainConfig, data: PairData) -> ModelConfig:
    """The model config completed from the data: input shape, and the seed's edge size."""
    table = data.table
    model = replace(config.model, n_mels=table.config.n_mels, window_frames=table.config.window_frames)
    if model.arch == "seed" and model.edge_size <= 0:
        from mixdesk.ml.features import SEED_SAMPLE_RATE

        # The seed used the shortest chunk; capped so one LSTM pass stays affordable on a CPU.
        cap = int(model.seed_max_edge_s * SEED_SAMPLE_RATE) if model.seed_max_edge_s > 0 else 10**9
        shortest = int(table.raw_length.min())
        model = replace(model, edge_size=max(2, min(shortest, cap, table.config.raw_edge_samples)))
    return model


def _optimizer(model: TransitionModel, config: TrainConfig) -> torch.optim.Optimizer:
    if config.model.arch == "seed":
        # Keras RMSprop defaults: rho 0.9, epsilon 1e-7.
        return torch.optim.RMSprop(model.parameters(), lr=config.seed_lr, alpha=0.9, eps=1e-7)
    return torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)


@dataclass
class _State:
    """Everything that changes during training and is saved for resuming."""

    epoch: int = 0  # epochs finished
    best_val: float = float("inf")
    best_epoch: int = 0
    bad_epochs: int = 0
    best_weights: dict[str, torch.Tensor] | None = None
    history: list[dict[str, float]] = field(default_factory=list)
    mean_weights: dict[str, torch.Tensor] | None = None  # running mean from TrainConfig.average_from on
    averaged: int = 0  # epochs in mean_weights

    def add_to_mean(self, weights: dict[str, torch.Tensor]) -> None:
        self.averaged += 1
        if self.mean_weights is None:
            self.mean_weights = weights
            return
        for key, value in weights.items():
            mean = self.mean_weights[key]
            if mean.is_floating_point():
                mean += (value - mean) / self.averaged
            else:  # counters such as a batch norm's: the latest value
                self.mean_weights[key] = value

    @property
    def result_weights(self) -> dict[str, torch.Tensor] | None:
        return self.mean_weights if self.mean_weights is not None else self.best_weights

    @property
    def averaged_epochs(self) -> list[int]:
        return [self.epoch - self.averaged + 1, self.epoch] if self.averaged else []


def _cpu_weights(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}


def _configs(config: TrainConfig, model_config: ModelConfig, data: PairData) -> dict[str, Any]:
    return {
        "feature": data.table.config.to_dict(),
        "model": model_config.to_dict(),
        "train": replace(config, model=model_config).to_dict(),
        "pairs": data.config.to_dict(),
    }


def _split_keys(data: PairData) -> dict[str, list[str]]:
    keys = data.table.track_keys
    return {name: [keys.get(int(t), f"track{int(t)}") for t in tracks] for name, tracks in data.splits.items()}


class _Trainer:
    def __init__(
        self, config: TrainConfig, data: PairData, on_progress: ProgressFn | None, should_stop: StopFn | None
    ) -> None:
        self.config, self.data = config, data
        self.group = distributed.current()
        self.device = distributed.worker_device(config.device)
        # Every worker gets the same batches (same seed) and trains on its share of each one, so the
        # batch size and the steps per epoch are those of a single process.
        self.batch_size = config.resolved_batch_size(self.device)
        self.config = config = replace(config, batch_size=self.batch_size)
        self.on_progress = on_progress if self.group.leader else None
        self.should_stop = should_stop
        self.model_config = resolve_model_config(config, data)
        torch.manual_seed(config.seed)
        self.model = build_model(self.model_config).to(self.device)
        if self.group.rank:
            # Dropout masks differ between workers, as they would between the pairs of one batch.
            torch.manual_seed(config.seed * 1_000_003 + self.group.rank)
        self.optimizer = _optimizer(self.model, config)
        self.amp = config.amp and self.device.type == "cuda"
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True  # fixed input shapes: pick the fastest kernels once
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp)
        self.table = DeviceTable(data.table, self.device, self.model_config.descriptor_dim)
        train_rows = torch.from_numpy(data.rows("train")).to(self.device)
        self.model.fit_input_stats(self.table, train_rows)
        self.forward = distributed.wrap(self.model, self.device, self.group)
        self.state = _State()
        self.configs = _configs(config, self.model_config, data)
        self.last_report = 0.0
        self.pairs_seen = 0
        self.train_seconds = 0.0

    def resume_from(self, path: Path) -> None:
        payload = load_checkpoint(path, map_location=self.device)
        if payload["configs"]["model"] != self.model_config.to_dict():
            raise ValueError(f"{path}: was trained with another model config; cannot resume")
        last = payload.get("last")
        if not last:
            raise ValueError(f"{path}: holds no resume state")
        self.model.load_state_dict(last["model"])
        self.optimizer.load_state_dict(last["optimizer"])
        if last.get("scaler"):
            self.scaler.load_state_dict(last["scaler"])
        if last.get("rng") is not None and self.group.rank == 0:
            torch.set_rng_state(last["rng"].cpu())
        elif self.group.rank:
            torch.manual_seed(self.config.seed * 1_000_003 + self.group.rank + 7919 * int(last["epoch"]))
        if last.get("cuda_rng") is not None and self.device.type == "cuda":
            torch.cuda.set_rng_state(last["cuda_rng"].cpu(), self.device)
        self.state = _State(
            epoch=int(last["epoch"]),
            best_val=float(last["best_val"]),
            best_epoch=int(last["best_epoch"]),
            bad_epochs=int(last["bad_epochs"]),
            best_weights={k: v.cpu() for k, v in (last.get("best_model") or payload["model"]).items()},
            history=list(payload.get("history", [])),
            mean_weights={k: v.cpu() for k, v in last["mean_model"].items()} if last.get("mean_model") else None,
            averaged=int(last.get("averaged", 0)),
        )

    # -- one epoch -------------------------------------------------------------------------
    def train_epoch(self, epoch: int, total_steps: int, steps_before: int) -> EpochStats:
        config, data = self.config, self.data
        pairs = data.pairs("train", epoch)
        steps = batch_count(pairs, config.batch_size, config.max_pairs_per_epoch)
        generator = torch.Generator().manual_seed(config.seed * 1000 + epoch)
        stats = EpochStats()
        self.model.train()
        started = time.perf_counter()
        batches = pair_batches(
            pairs,
            config.batch_size,
            self.device,
            config.seed * 1000 + epoch,
            config.max_pairs_per_epoch,
            self.group.rank,
            self.group.world,
        )
        for step, batch in enumerate(batches, start=1):
            check_stop(self.should_stop)
            self.optimizer.zero_grad(set_to_none=True)
            with torch.autocast("cuda", enabled=self.amp):
                grid = self._grid(batch)
                logits, matrix = pair_and_grid_logits(
                    self.forward,
                    self.table,
                    batch.a,
                    batch.b,
                    grid,
                    data.config,
                    generator,
                    batch.slots,
                    batch.total,
                )
                logits = logits.float()
                loss, report_loss = self._loss(logits, batch)
                if matrix is not None:
                    loss = loss + config.contrastive_weight * in_batch_ranking_loss(matrix.float())
            self.scaler.scale(loss).backward()
            if config.grad_clip > 0:
                self.scaler.unscale_(self.optimizer)
                nn.utils.clip_grad_norm_(self.model.parameters(), config.grad_clip)
            self.scaler.step(self.optimizer)
            self.scaler.update()
            stats.add(logits, batch.label, report_loss, batch.weight, batch.count)
            # On the CPU the loss is ready anyway: stop at the first bad step. On a GPU, reading it
            # would stall the pipeline; it is checked when reported and at the epoch's end. Workers
            # of a group check together at the epoch's end so that they all stop at once.
            if self.group.world == 1 and self.device.type == "cpu":
                _check_finite(float(report_loss.detach()), "training", epoch)
            self.pairs_seen += batch.count
            self._report_step(epoch, step, steps, stats, steps_before + step, total_steps, started)
        self.train_seconds += time.perf_counter() - started
        return stats

    def _grid(self, batch: Batch) -> torch.Tensor | None:
        """Batch indices of the true pairs to rank against each other, or None."""
        if self.config.contrastive_weight <= 0 or not self.model.grid_capable:
            return None
        real = batch.label > 0.5
        if batch.weight is not None:
            real &= batch.weight > 0
        grid = torch.nonzero(real).squeeze(1)
        return grid if grid.numel() >= 2 else None

    def _loss(self, logits: torch.Tensor, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        """(loss to differentiate, loss to report) for a batch or a worker's share of one."""
        if batch.weight is None:
            loss = F.binary_cross_entropy_with_logits(logits, batch.label)
            return loss, loss
        per_pair = F.binary_cross_entropy_with_logits(logits, batch.label, reduction="none") * batch.weight
        summed = per_pair.sum()
        # DDP averages gradients over the workers; scaling by world / batch size turns that average
        # into the gradient of the whole batch's mean loss, whatever the shares' sizes.
        return summed * (self.group.world / batch.total), summed

    def _eta(self, done: int, total: int) -> float | None:
        elapsed = time.perf_counter() - self.run_started
        return elapsed / done * (total - done) if done else None

    def _report_step(
        self, epoch: int, step: int, steps: int, stats: EpochStats, done: int, total: int, started: float
    ) -> None:
        now = time.perf_counter()
        if self.on_progress is None or (now - self.last_report < REPORT_INTERVAL_S and step < steps):
            return
        self.last_report = now
        if self.group.world == 1:
            _check_finite(stats, "training", epoch)
        self.on_progress(
            EpochReport(
                done=done,
                total=total,
                message=f"epoch {epoch + 1}/{self.config.epochs} step {step}/{steps}",
                epoch=epoch + 1,
                epochs=self.config.epochs,
                step=step,
                steps=steps,
                train_loss=stats.loss,
                train_acc=stats.accuracy,
                eta_s=self._eta(done - self.steps_at_start, total - self.steps_at_start),
            )
        )

    def validate(self) -> EpochStats:
        """Validation loss over every worker's share of the validation pairs."""
        pairs = shard_pairs(self.data.pairs("val"), self.group.rank, self.group.world)
        stats = evaluate_pairs(self.model, self.table, pairs, amp=self.amp)[0] if len(pairs) else EpochStats()
        return stats.all_reduce()

    # -- the run ---------------------------------------------------------------------------
    def run(self) -> FitResult:
        config = self.config
        out = Path(config.out) if config.out else None
        if config.resume and out is not None and out.is_file():
            self.resume_from(out)
        steps_per_epoch = batch_count(self.data.pairs("train", 0), config.batch_size, config.max_pairs_per_epoch)
        total = steps_per_epoch * config.epochs
        self.steps_at_start = steps_per_epoch * self.state.epoch
        self.run_started = time.perf_counter()
        stopped_early = self.state.bad_epochs >= config.patience
        for epoch in range(self.state.epoch, config.epochs):
            if stopped_early:
                break
            epoch_started = time.perf_counter()
            train = self.train_epoch(epoch, total, steps_per_epoch * epoch).all_reduce()
            _check_finite(train, "training", epoch)
            check_stop(self.should_stop)
            val = self.validate()
            _check_finite(val, "validation", epoch)
            self._end_epoch(epoch, train, val, time.perf_counter() - epoch_started)
            if out is not None and self.group.leader:
                save_checkpoint(out, self._payload(resume=True))
            self._report_epoch(epoch, train, val, steps_per_epoch, total)
            stopped_early = self.state.bad_epochs >= config.patience
        return self._result(out, stopped_early)

    def _end_epoch(self, epoch: int, train: EpochStats, val: EpochStats, seconds: float) -> None:
        state = self.state
        # Without validation pairs, the training loss is the only signal left for early stopping.
        score = val.loss if val.count else train.loss
        if score < state.best_val - self.config.min_delta or state.best_weights is None:
            state.best_val, state.best_epoch, state.bad_epochs = float(score), epoch + 1, 0
            state.best_weights = _cpu_weights(self.model)
        else:
            state.bad_epochs += 1
        if self.config.average_from and epoch + 1 >= self.config.average_from:
            state.add_to_mean(_cpu_weights(self.model))
        state.epoch = epoch + 1
        state.history.append(
            {
                "epoch": epoch + 1,
                "train_loss": float(train.loss),
                "train_acc": float(train.accuracy),
                "val_loss": float(val.loss),
                "val_acc": float(val.accuracy),
                "seconds": float(seconds),
            }
        )

    def _report_epoch(self, epoch: int, train: EpochStats, val: EpochStats, steps: int, total: int) -> None:
        if self.on_progress is None:
            return
        done = steps * (epoch + 1)
        self.on_progress(
            EpochReport(
                done=done,
                total=total,
                message=f"epoch {epoch + 1}/{self.config.epochs}: loss {train.loss:.3f}, val loss {val.loss:.3f}",
                epoch=epoch + 1,
                epochs=self.config.epochs,
                step=steps,
                steps=steps,
                train_loss=train.loss,
                train_acc=train.accuracy,
                val_loss=val.loss,
                val_acc=val.accuracy,
                eta_s=self._eta(done - self.steps_at_start, total - self.steps_at_start),
            )
        )

    def _payload(self, resume: bool) -> dict[str, Any]:
        state = self.state
        payload = {
            "configs": self.configs,
            "model": state.result_weights,
            "history": state.history,
            "split": _split_keys(self.data),
            "meta": self._meta(),
        }
        if resume:
            payload["last"] = {
                "model": _cpu_weights(self.model),
                "optimizer": self.optimizer.state_dict(),
                "scaler": self.scaler.state_dict() if self.amp else {},
                "epoch": state.epoch,
                "best_val": state.best_val,
                "best_epoch": state.best_epoch,
                "bad_epochs": state.bad_epochs,
                # Only where "model" holds the mean: otherwise it is the best epoch's weights already.
                "best_model": state.best_weights if state.mean_weights is not None else None,
                "mean_model": state.mean_weights,
                "averaged": state.averaged,
                # Dropout draws from the global generator; restoring it makes a resumed run repeat an
                # uninterrupted one exactly (on the CPU).
                "rng": torch.get_rng_state(),
                "cuda_rng": torch.cuda.get_rng_state(self.device) if self.device.type == "cuda" else None,
            }
        return payload

    def _meta(self) -> dict[str, Any]:
        return {
            "device": str(self.device),
            "threads": torch.get_num_threads(),
            "processes": self.group.world,
            "train_seconds": round(self.train_seconds, 3),
            "best_epoch": self.state.best_epoch,
            "averaged_epochs": self.state.averaged_epochs,
            "pairs_per_s": round(self._pairs_per_s(), 1),
            "train_tracks": int(self.data.splits["train"].size),
            "val_tracks": int(self.data.splits["val"].size),
            "test_tracks": int(self.data.splits["test"].size),
            "torch": str(torch.__version__),
        }

    def _pairs_per_s(self) -> float:
        """Training pairs per second of all workers together (they run side by side)."""
        if not self.train_seconds:
            return 0.0
        return self.pairs_seen * self.group.world / self.train_seconds

    def _result(self, out: Path | None, stopped_early: bool) -> FitResult:
        state = self.state
        if state.result_weights is not None:
            self.model.load_state_dict(state.result_weights)
        self.model.eval()
        configs = {**self.configs, "split": _split_keys(self.data)}
        return FitResult(
            model=self.model,
            configs=configs,
            history=list(state.history),
            best_epoch=state.best_epoch,
            best_val_loss=state.best_val,
            stopped_early=stopped_early,
            device=str(self.device),
            threads=torch.get_num_threads(),
            seconds=self.train_seconds,
            pairs_per_s=self._pairs_per_s(),
            checkpoint=out,
            meta=self._meta(),
        )


def fit(
    config: TrainConfig, data: PairData, on_progress: ProgressFn | None = None, should_stop: StopFn | None = None
) -> FitResult:
    """Train a transition model on ``data``'s train split, early-stopping on its validation split.

    With ``config.out`` set, every finished epoch rewrites that file atomically (best weights + resume
    state); ``config.resume`` continues from it. ``should_stop`` is polled every batch; a stop raises
    ``Cancelled`` and leaves the file as the last finished epoch wrote it.
    """
    device = distributed.worker_device(config.device)
    threads = 0 if device.type == "cuda" else distributed.worker_threads(config.num_threads)
    with torch_threads(threads):
        return _Trainer(config, data, on_progress, should_stop).run()


def _check_finite(loss: float | EpochStats, what: str, epoch: int) -> None:
    """Raise ``NonFiniteLossError`` for a NaN or infinite loss (an epoch without pairs has none)."""
    if isinstance(loss, EpochStats):
        if not loss.count:
            return
        loss = loss.loss
    if not math.isfinite(loss):
        raise NonFiniteLossError(
            f"the {what} loss became {loss} in epoch {epoch + 1}; training stopped and the model file "
            "keeps the last finished epoch (try a lower learning rate, or training on the CPU to rule "
            "out mixed precision)"
        )
