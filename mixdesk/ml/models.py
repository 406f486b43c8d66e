"""Transition models: P(B follows A) from the end of A and the start of B.

Every model splits into ``encode_end`` (A's side), ``encode_start`` (B's side) and ``seam`` (the pair).
The encodings depend on one chunk only, so the ranking code computes them once per chunk; only
``seam`` runs per candidate pair. For ``cnn_lstm`` the seam is two LSTM steps and a small head;
for the ``seed`` port (which sees raw audio across the seam) the encodings are just the raw edges.

How ``cnn_lstm`` got its shape, measured on 79 Debian music tracks (1231 silence-cut chunks; held-out
test tracks; 50 candidates; similarity baseline AUC 0.815, MRR 0.555):
- conv front end + LSTM across the seam + dense head only: AUC 0.76, MRR 0.25 (it underfitted;
  batch norm also made training and ranking disagree, as A and B are encoded in separate calls);
- + learned bilinear match of A's end summary and B's start summary: AUC 0.81, MRR 0.31;
- + fixed MFCC/chroma edge statistics (the baseline's evidence) into the head: AUC 0.88, MRR 0.60-0.63;
- 2 instead of 4 seam steps: same numbers (AUC 0.883, MRR 0.63), half the per-candidate LSTM work.
Same-track and reversed-order negatives stay hard (AUC about 0.69 and 0.62 against positives, where
other-track negatives reach 0.96).
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from itertools import chain
from typing import Any, Mapping, Protocol, cast

import torch
from torch import nn

from mixdesk.config import Settings
from mixdesk.ml.features import FeatureConfig

ARCHS = ("cnn_lstm", "seed")


@dataclass(frozen=True)
class ModelConfig(Settings):
    arch: str = "cnn_lstm"
    n_mels: int = 128
    window_frames: int = 65
    conv_channels: int = 64
    hidden: int = 64
    pool: int = 4  # frames averaged into one LSTM step (4 x 23 ms)
    seam_steps: int = 2  # LSTM steps taken into B's start per candidate
    head_hidden: int = 64
    dropout: float = 0.3
    descriptor_dim: int = 0
    # Frames nearest the seam (23 ms each) summarised on their own beside the whole edge window, so
    # the head can compare the timbre right before the cut with the timbre right after it; 0 = off
    # (model files from before this input load with 0).
    seam_frames: int = 8
    # The seed network (raw audio at 1260 Hz); edge_size 0 means "shortest chunk", capped below.
    edge_size: int = 0
    seed_max_edge_s: float = 1.0
    seed_filters: int = 1024
    seed_lstm: int = 256
    seed_dense: int = 256
    seed_dropout: float = 0.25

    def __post_init__(self) -> None:
        if self.arch not in ARCHS:
            raise ValueError(f"architecture must be one of {ARCHS}, not {self.arch!r}")
        if self.arch == "seed" and self.descriptor_dim:
            raise ValueError("the seed network takes no descriptor input")
        for name, low, high in _SIZE_LIMITS:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise ValueError(f"{name} must be a whole number from {low} to {high}, not {value!r}")
        for name in ("dropout", "seed_dropout"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
                raise ValueError(f"{name} must lie in [0, 1), not {value!r}")
        if not isinstance(self.seed_max_edge_s, (int, float)) or not 0.0 < self.seed_max_edge_s <= 60.0:
            raise ValueError(f"seed_max_edge_s must lie in (0, 60], not {self.seed_max_edge_s!r}")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "ModelConfig":
        """A config as saved in a model file; inputs added since the file was written are off."""
        return super().from_dict({**LEGACY_INPUTS, **data})


# Inputs that model files from before them lack: such a file was trained without them.
LEGACY_INPUTS = {"seam_frames": 0}

# Far beyond any model this project trains, and small enough that a damaged or hostile model file cannot
# make building the network allocate gigabytes.
_SIZE_LIMITS = (
    ("n_mels", 8, 512),
    ("window_frames", 4, 4096),
    ("conv_channels", 1, 2048),
    ("hidden", 1, 2048),
    ("pool", 1, 64),
    ("seam_steps", 0, 64),
    ("head_hidden", 1, 4096),
    ("descriptor_dim", 0, 4096),
    ("seam_frames", 0, 4096),
    ("edge_size", 0, 1_000_000),
    ("seed_filters", 1, 4096),
    ("seed_lstm", 1, 2048),
    ("seed_dense", 1, 4096),
)


Encoding = tuple[torch.Tensor, ...]


class ChunkTensors(Protocol):
    """The per-chunk tensors a model reads, row by row: a ``table.FeatureTable``, or a
    ``batches.DeviceTable`` (the same tensors on one device)."""

    config: FeatureConfig
    start: torch.Tensor  # (N, n_mels, frames) log-mel at each chunk's start
    end: torch.Tensor
    raw_start: torch.Tensor  # (N, raw_edge_samples) raw audio at 1260 Hz
    raw_end: torch.Tensor


class DeviceTensors(ChunkTensors, Protocol):
    """Chunk tensors on one device, with the descriptor inputs shaped for the model (``batches.DeviceTable``)."""

    device: torch.device

    def desc(self, rows: torch.Tensor) -> torch.Tensor | None: ...


class TransitionModel(nn.Module):
    """Base: ``forward(a_end, b_start) == seam(encode_end(a_end), encode_start(b_start))`` (logits)."""

    input_kind = "mel"  # which edges of the feature table the model reads: "mel" or "raw"

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config

    def encode_end(self, x: torch.Tensor, desc: torch.Tensor | None = None) -> Encoding:
        raise NotImplementedError

    def encode_start(self, x: torch.Tensor, desc: torch.Tensor | None = None) -> Encoding:
        raise NotImplementedError

    def seam(self, end: Encoding, start: Encoding) -> torch.Tensor:
        """Logits (N,); ``end`` may hold one chunk, broadcast against N starts."""
        raise NotImplementedError

    # Whether ``forward`` can score every A of a batch against every B (``grid``) at a cost that
    # training can afford; the seed network's seam is a whole conv + LSTM pass per pair.
    grid_capable = False

    def forward(
        self,
        a_end: torch.Tensor,
        b_start: torch.Tensor,
        desc_a: torch.Tensor | None = None,
        desc_b: torch.Tensor | None = None,
        grid: torch.Tensor | None = None,
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Logits of the pairs (a_end[i], b_start[i]); with ``grid`` (indices into the batch) also the
        K x K logits of every A in ``grid`` followed by every B in ``grid``, from the same encodings.

        Both come from one call so that a data-parallel wrapper sees one forward pass per step.
        """
        end, start = self.encode_end(a_end, desc_a), self.encode_start(b_start, desc_b)
        logits = self.seam(end, start)
        if grid is None:
            return logits
        return logits, self.seam_grid(tuple(t[grid] for t in end), tuple(t[grid] for t in start))

    def seam_grid(self, end: Encoding, start: Encoding) -> torch.Tensor:
        """Logits (K, K): row i is end i followed by each of the K starts."""
        k = end[0].shape[0]
        ends = tuple(t.repeat_interleave(k, dim=0) for t in end)
        starts = tuple(t.repeat(k, *([1] * (t.dim() - 1))) for t in start)
        return self.seam(ends, starts).reshape(k, k)

    @property
    def device(self) -> torch.device:
        """Where the weights live; inputs are moved here, wherever the caller's tensors are."""
        first = next(chain(self.parameters(), self.buffers()), None)
        return first.device if first is not None else torch.device("cpu")

    def fit_input_stats(self, table: ChunkTensors, rows: torch.Tensor) -> None:
        """Learn input normalisation from training chunks (a no-op for models without one)."""

    def edges(self, table: ChunkTensors, rows: torch.Tensor, side: str) -> torch.Tensor:
        """This model's input for table ``rows`` on ``side`` ("end" of A or "start" of B), on the
        model's device. The table may live elsewhere (a CPU table for a GPU model, or the reverse):
        rows are gathered where the table is and only the gathered batch crosses devices."""
        if self.input_kind == "raw":
            source = table.raw_end if side == "end" else table.raw_start
        else:
            source = table.end if side == "end" else table.start
        return to_device(source[rows.to(source.device)], self.device)

    def descriptors(self, table: DeviceTensors, rows: torch.Tensor) -> torch.Tensor | None:
        """Descriptor inputs of table ``rows`` on the model's device (None without descriptors)."""
        desc = table.desc(rows.to(table.device))
        return None if desc is None else to_device(desc, self.device)


def _no_autocast(device_type: str) -> AbstractContextManager[object]:
    """Mixed precision off for a block, on devices that have it (the "meta" device used in tests has not)."""
    available = getattr(torch.amp, "is_autocast_available", lambda kind: kind in ("cpu", "cuda"))
    return torch.autocast(device_type, enabled=False) if available(device_type) else nullcontext()


def to_device(x: torch.Tensor, device: torch.device) -> torch.Tensor:
    """``x`` on ``device``; host-to-GPU copies from pinned memory overlap with GPU work."""
    if x.device == device:
        return x
    return x.to(device, non_blocking=x.device.type == "cpu" and x.is_pinned())


class ConvFrontEnd(nn.Module):
    """Log-mel window (B, n_mels, T) -> pooled frame embeddings (B, T // pool, channels).

    Inputs are standardised per mel band with statistics of the training data, stored as buffers so
    that a model file carries them. No batch norm: A's end and B's start are encoded in separate
    calls, and batch statistics would then differ between training and ranking.
    """

    input_mean: torch.Tensor  # buffers (registered in __init__)
    input_std: torch.Tensor

    def __init__(self, n_mels: int, channels: int, pool: int) -> None:
        super().__init__()
        self.register_buffer("input_mean", torch.zeros(n_mels, 1))
        self.register_buffer("input_std", torch.ones(n_mels, 1))
        self.net = nn.Sequential(
            nn.Conv1d(n_mels, channels, 3, padding=1),
            nn.ReLU(),
            nn.Conv1d(channels, channels, 3, padding=1),
            nn.ReLU(),
            nn.AvgPool1d(pool, pool),
        )

    def set_input_stats(self, windows: torch.Tensor) -> None:
        """Per-band mean and std of a sample of log-mel windows (N, n_mels, T)."""
        flat = windows.transpose(0, 1).reshape(windows.shape[1], -1).float()
        self.input_mean.copy_(flat.mean(dim=1, keepdim=True))
        self.input_std.copy_(flat.std(dim=1, keepdim=True).clamp_min(1e-3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net((x - self.input_mean) / self.input_std).transpose(1, 2)


class EdgeStats(nn.Module):
    """Fixed timbre and pitch-class statistics of a log-mel window: 20 MFCC means (DCT of the
    log-mel, standardised on training data) and 12 unit-norm chroma values folded from the mel bands,
    plus, with ``seam_frames``, the MFCC means of just the frames nearest the seam (the window's last
    frames at A's end, its first at B's start).

    These are what the similarity baseline compares; handing them to the model means it starts from
    that baseline's evidence and learns how much to trust each part of it. The near-seam part is what
    the baseline cannot see: whether the sound right before the cut goes on right after it.
    """

    N_MFCC = 20
    dct: torch.Tensor  # buffers (registered in __init__)
    chroma: torch.Tensor
    mfcc_mean: torch.Tensor
    mfcc_std: torch.Tensor

    def __init__(self, n_mels: int, seam_frames: int = 0) -> None:
        super().__init__()
        from mixdesk.ml.baselines import dct_matrix

        self.seam_frames = seam_frames
        self.width = self.N_MFCC + 12 + (self.N_MFCC if seam_frames else 0)
        self.register_buffer("dct", torch.as_tensor(dct_matrix(n_mels, self.N_MFCC), dtype=torch.float32))
        self.register_buffer("chroma", torch.zeros(n_mels, 12))
        self.register_buffer("mfcc_mean", torch.zeros(self.N_MFCC))
        self.register_buffer("mfcc_std", torch.ones(self.N_MFCC))

    def fit(self, windows: torch.Tensor, feature_config: FeatureConfig) -> None:
        from mixdesk.ml.baselines import chroma_matrix

        self.chroma.copy_(torch.as_tensor(chroma_matrix(feature_config), dtype=torch.float32))
        mfcc = self._mfcc(windows.float())
        self.mfcc_mean.copy_(mfcc.mean(dim=0))
        self.mfcc_std.copy_(mfcc.std(dim=0).clamp_min(1e-3))

    def _mfcc(self, x: torch.Tensor) -> torch.Tensor:
        return torch.einsum("bmt,mk->bk", x, self.dct) / x.shape[-1]

    def forward(self, x: torch.Tensor, at_end: bool = True) -> torch.Tensor:
        # Linear mel power reaches 1e8: far beyond float16, so mixed precision stops here (on
        # devices without autocast there is nothing to stop).
        with _no_autocast(x.device.type):
            x = x.float()
            mfcc = (self._mfcc(x) - self.mfcc_mean) / self.mfcc_std
            chroma = torch.expm1(x).mean(dim=-1) @ self.chroma
            chroma = chroma / (chroma.norm(dim=1, keepdim=True) + 1e-6)
            parts = [mfcc, chroma]
            if self.seam_frames:
                near = x[..., -self.seam_frames :] if at_end else x[..., : self.seam_frames]
                parts.append((self._mfcc(near) - self.mfcc_mean) / self.mfcc_std)
            return torch.cat(parts, dim=1)


class CnnLstm(TransitionModel):
    """Conv front end per window; one LSTM runs over A's end and continues a few steps into B's start.

    Three kinds of evidence meet in the head: the LSTM state after stepping ``seam_steps`` pooled
    frames into B (does B continue A's sequence?), a learned bilinear match between A's end summary
    and B's whole start window (do they sound alike?), and the products and gaps of fixed timbre/chroma
    statistics (plus descriptors, when given) of both edges. Everything that depends on one chunk only
    is in its encoding; per candidate pair the seam runs ``seam_steps`` recurrent steps of size
    hidden x 4*hidden and three small matrix products into the head.

    Encodings: end = (h, c, head_a, query, side), start = (proj, head_b, key, side), where ``side``
    holds the edge statistics followed by the descriptors.
    """

    grid_capable = True

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        c = config
        self.front = ConvFrontEnd(c.n_mels, c.conv_channels, c.pool)
        self.stats = EdgeStats(c.n_mels, c.seam_frames)
        side = self.stats.width + c.descriptor_dim
        self.lstm = nn.LSTM(c.conv_channels, c.hidden, batch_first=True)
        self.query = nn.Linear(c.hidden + c.conv_channels, c.hidden)
        self.key = nn.Linear(c.conv_channels, c.hidden)
        self.from_seam = nn.Linear(c.hidden, c.head_hidden)
        self.from_end = nn.Linear(c.hidden + side, c.head_hidden, bias=False)
        self.from_start = nn.Linear(c.hidden + side, c.head_hidden, bias=False)
        self.from_match = nn.Linear(c.hidden, c.head_hidden, bias=False)
        self.from_side = nn.Linear(2 * side, c.head_hidden, bias=False)
        self.dropout = nn.Dropout(c.dropout)
        self.out = nn.Linear(c.head_hidden, 1)

    def fit_input_stats(self, table: ChunkTensors, rows: torch.Tensor) -> None:
        with torch.no_grad():
            windows = torch.cat([table.start[rows], table.end[rows]])
            self.front.set_input_stats(windows)
            self.stats.fit(windows, table.config)

    def _side(self, x: torch.Tensor, desc: torch.Tensor | None, at_end: bool) -> torch.Tensor:
        stats = self.stats(x, at_end)
        if self.config.descriptor_dim == 0:
            return stats
        if desc is None:
            desc = stats.new_zeros(stats.shape[0], self.config.descriptor_dim)
        return torch.cat([stats, desc.to(stats.dtype)], dim=1)

    def encode_end(self, x: torch.Tensor, desc: torch.Tensor | None = None) -> Encoding:
        steps = x.shape[-1] // self.config.pool
        x = x[..., x.shape[-1] - steps * self.config.pool :]  # keep the frames nearest the seam
        frames = self.front(x)
        _, (h, c) = self.lstm(frames)
        h, c = h[0], c[0]
        side = self._side(x, desc, at_end=True)
        # The query sees the whole window's average as well as the LSTM's (recency-weighted) state.
        query = self.query(torch.cat([h, frames.mean(dim=1)], dim=1))
        return h, c, self.from_end(torch.cat([h, side], dim=1)), query, side

    def _gate_order(self, weight: torch.Tensor) -> torch.Tensor:
        """Rows of an LSTM weight reordered from torch's (i, f, g, o) to (i, f, o, g), with the g rows
        doubled: tanh(x) = 2 * sigmoid(2x) - 1, and torch's CPU sigmoid is several times faster than
        its tanh, so one sigmoid call covers all four gates of the seam."""
        i, f, g, o = weight.chunk(4, dim=0)
        return torch.cat([i, f, o, 2.0 * g], dim=0)

    def encode_start(self, x: torch.Tensor, desc: torch.Tensor | None = None) -> Encoding:
        frames = self.front(x)
        seam_frames = frames[:, : self.config.seam_steps]
        # The LSTM's parameters are registered by name at run time; the stubs type them as Tensor | Module.
        lstm = self.lstm
        weight = self._gate_order(cast(torch.Tensor, lstm.weight_ih_l0))
        bias = self._gate_order(cast(torch.Tensor, lstm.bias_ih_l0) + cast(torch.Tensor, lstm.bias_hh_l0))
        proj = torch.matmul(seam_frames, weight.t()) + bias  # (B, steps, 4 * hidden), gates (i, f, o, 2g)
        key = self.key(frames.mean(dim=1))
        side = self._side(x, desc, at_end=False)
        return proj, self.from_start(torch.cat([key, side], dim=1)), key, side

    def seam(self, end: Encoding, start: Encoding) -> torch.Tensor:
        h, c, head_a, query, side_a = end
        proj, head_b, key, side_b = start
        n = self.config.hidden
        w_hh = self._gate_order(cast(torch.Tensor, self.lstm.weight_hh_l0)).t()
        for t in range(proj.shape[1]):
            gates = torch.sigmoid(proj[:, t] + h @ w_hh)
            g = gates[:, 3 * n :] * 2.0 - 1.0
            c = torch.addcmul(gates[:, n : 2 * n] * c, gates[:, :n], g)
            h = gates[:, 2 * n : 3 * n] * (torch.sigmoid(c * 2.0) * 2.0 - 1.0)
        side_a = side_a.expand(side_b.shape[0], -1)
        pre = (
            self.from_seam(h)
            + head_a
            + head_b
            + self.from_match(key * query)
            + self.from_side(torch.cat([side_a * side_b, (side_a - side_b).abs()], dim=1))
        )
        return self.out(self.dropout(torch.relu(pre))).squeeze(1)


class SeedNet(TransitionModel):
    """The seed's Keras network, layer for layer, on the last/first ``edge_size`` raw samples.

    Conv1D(1024, 2) -> MaxPool1D(2, 2) -> LSTM(256, return_sequences) -> Dense(256) -> Dropout(0.25)
    -> Flatten -> Dense(1, sigmoid). Keras' Conv1D and Dense have no activation by default, so none
    here either; the sigmoid lives in the loss (BCE with logits) and in ``predict``.
    """

    input_kind = "raw"

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        if config.edge_size <= 0:
            raise ValueError("the seed network needs edge_size (samples at 1260 Hz) set from the data")
        c = config
        steps = (2 * c.edge_size - 1) // 2
        self.conv = nn.Conv1d(1, c.seed_filters, 2)
        self.pool = nn.MaxPool1d(2, 2)
        self.lstm = nn.LSTM(c.seed_filters, c.seed_lstm, batch_first=True)
        self.dense = nn.Linear(c.seed_lstm, c.seed_dense)
        self.dropout = nn.Dropout(c.seed_dropout)
        self.out = nn.Linear(steps * c.seed_dense, 1)

    def encode_end(self, x: torch.Tensor, desc: torch.Tensor | None = None) -> Encoding:
        return (x[..., x.shape[-1] - self.config.edge_size :],)

    def encode_start(self, x: torch.Tensor, desc: torch.Tensor | None = None) -> Encoding:
        return (x[..., : self.config.edge_size],)

    def seam(self, end: Encoding, start: Encoding) -> torch.Tensor:
        b = start[0]
        a = end[0].expand(b.shape[0], -1)
        x = torch.cat([a, b], dim=1).unsqueeze(1)  # (N, 1, 2 * edge)
        x = self.pool(self.conv(x)).transpose(1, 2)
        x, _ = self.lstm(x)
        x = self.dropout(self.dense(x))
        return self.out(x.flatten(1)).squeeze(1)


def build_model(config: ModelConfig) -> TransitionModel:
    return CnnLstm(config) if config.arch == "cnn_lstm" else SeedNet(config)


def predict(
    model: TransitionModel,
    a_end: torch.Tensor,
    b_start: torch.Tensor,
    desc_a: torch.Tensor | None = None,
    desc_b: torch.Tensor | None = None,
) -> torch.Tensor:
    """Probabilities in (0, 1) for a batch of pairs (eval mode, no gradients), computed on the model's
    device whatever device the inputs are on."""
    model.eval()
    device = model.device
    a_end, b_start = to_device(a_end, device), to_device(b_start, device)
    desc_a = None if desc_a is None else to_device(desc_a, device)
    desc_b = None if desc_b is None else to_device(desc_b, device)
    with torch.no_grad():
        return torch.sigmoid(model(a_end, b_start, desc_a, desc_b))
