"""musicnn music auto-tagger (Pons & Serra, ISMIR 2019 LBD) as a torch module.

The graph follows musicnn 0.1.0 exactly: log-compressed mel patches of 3 s, a musically motivated
front end (timbral filters spanning 40 % and 70 % of the mel axis, temporal filters of 128/64/32
frames, each max-pooled over frequency), a dense mid end of three 1-D convolutions with residual
connections, and a back end of max + mean pooling over time and two dense layers. Batch norm runs in
inference mode with TensorFlow's epsilon. The weights are converted once from the published TF
checkpoints by ``models/musicnn/convert_musicnn.py``; see ``models/musicnn/README.md``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from mixdesk.analysis.options import DEFAULT_TAG_MODEL, TAG_MODELS

SAMPLE_RATE = 16000
N_FFT = 512
HOP = 256
N_MELS = 96
PATCH_FRAMES = 187  # 3 s at 16 kHz, hop 256, as librosa.time_to_frames(3) + 1 in musicnn
BN_EPS = 1e-3
MODEL_NAMES = TAG_MODELS

MTT_LABELS = (
    "guitar", "classical", "slow", "techno", "strings", "drums", "electronic", "rock", "fast", "piano",
    "ambient", "beat", "violin", "vocal", "synth", "female", "indian", "opera", "male", "singing",
    "vocals", "no vocals", "harpsichord", "loud", "quiet", "flute", "woman", "male vocal", "no vocal",
    "pop", "soft", "sitar", "solo", "man", "classic", "choir", "voice", "new age", "dance",
    "male voice", "female vocal", "beats", "harp", "cello", "no voice", "weird", "country", "metal",
    "female voice", "choral",
)  # fmt: skip
MSD_LABELS = (
    "rock", "pop", "alternative", "indie", "electronic", "female vocalists", "dance", "00s",
    "alternative rock", "jazz", "beautiful", "metal", "chillout", "male vocalists", "classic rock",
    "soul", "indie rock", "Mellow", "electronica", "80s", "folk", "90s", "chill", "instrumental", "punk",
    "oldies", "blues", "hard rock", "ambient", "acoustic", "experimental", "female vocalist", "guitar",
    "Hip-Hop", "70s", "party", "country", "easy listening", "sexy", "catchy", "funk", "electro",
    "heavy metal", "Progressive rock", "60s", "rnb", "indie pop", "sad", "House", "happy",
)  # fmt: skip
LABELS = {"msd_musicnn": MSD_LABELS, "mtt_musicnn": MTT_LABELS}


def _bn(channels: int) -> nn.BatchNorm1d:
    return nn.BatchNorm1d(channels, eps=BN_EPS)


def _same_pad(kernel: int) -> tuple[int, int]:
    """TensorFlow 'same' padding puts the odd extra sample after the signal."""
    total = kernel - 1
    return total // 2, total - total // 2


def _bn_relu_freq_max(z: torch.Tensor, bn: nn.Module) -> torch.Tensor:
    """max over frequency of bn(relu(z)) for z (B, C, T, F), without touching the big tensor twice.

    In inference batch norm is a per-channel affine map a*x + b, and relu is monotonic, so the maximum
    is taken before both: of z where a >= 0 and of -z (the minimum) where a < 0. Same values, about a
    third less time than the literal order. Training (and any other module) uses the literal order.
    """
    if not isinstance(bn, nn.BatchNorm2d) or bn.training or bn.running_var is None or bn.running_mean is None:
        return bn(F.relu(z)).amax(dim=3)
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    shift = bn.bias - bn.running_mean * scale
    low, high = torch.aminmax(z, dim=3)
    picked = torch.where((scale >= 0)[None, :, None], high, low)
    return F.relu(picked) * scale[None, :, None] + shift[None, :, None]


class MusiCNN(nn.Module):
    def __init__(self, n_classes: int = 50, n_mels: int = N_MELS, midend: int = 64, backend: int = 200):
        super().__init__()
        self.input_bn = nn.BatchNorm2d(1, eps=BN_EPS)
        timbral_f = (int(0.4 * n_mels), int(0.7 * n_mels))
        self.timbral = nn.ModuleList(nn.Conv2d(1, 204, (7, f)) for f in timbral_f)
        self.timbral_bn = nn.ModuleList(nn.BatchNorm2d(204, eps=BN_EPS) for _ in timbral_f)
        self.temporal_kernels = (128, 64, 32)
        self.temporal = nn.ModuleList(nn.Conv2d(1, 51, (k, 1)) for k in self.temporal_kernels)
        self.temporal_bn = nn.ModuleList(nn.BatchNorm2d(51, eps=BN_EPS) for _ in self.temporal_kernels)
        front = 2 * 204 + 3 * 51
        self.mid = nn.ModuleList(
            [nn.Conv1d(front, midend, 7), nn.Conv1d(midend, midend, 7), nn.Conv1d(midend, midend, 7)]
        )
        self.mid_bn = nn.ModuleList(_bn(midend) for _ in range(3))
        pooled = 2 * (front + 3 * midend)
        self.pool_bn = _bn(pooled)
        self.dense = nn.Linear(pooled, backend)
        self.dense_bn = _bn(backend)
        self.out = nn.Linear(backend, n_classes)

    def _front_end(self, x: torch.Tensor) -> torch.Tensor:
        x = self.input_bn(x.unsqueeze(1))  # (B, 1, T, F)
        padded = F.pad(x, (0, 0, 3, 3))
        maps = [_bn_relu_freq_max(conv(padded), bn) for conv, bn in zip(self.timbral, self.timbral_bn)]
        for kernel, conv, bn in zip(self.temporal_kernels, self.temporal, self.temporal_bn):
            maps.append(_bn_relu_freq_max(conv(F.pad(x, (0, 0) + _same_pad(kernel))), bn))
        return torch.cat(maps, dim=1)  # (B, C, T)

    def forward(self, patches: torch.Tensor) -> torch.Tensor:
        """Logits (B, classes) for log-mel patches (B, frames, mels)."""
        front = self._front_end(patches)
        h1 = self.mid_bn[0](F.relu(self.mid[0](F.pad(front, (3, 3)))))
        h2 = self.mid_bn[1](F.relu(self.mid[1](F.pad(h1, (3, 3))))) + h1
        h3 = self.mid_bn[2](F.relu(self.mid[2](F.pad(h2, (3, 3))))) + h2
        features = torch.cat([front, h1, h2, h3], dim=1)  # (B, C, T)
        # TF flattens (C, [max, mean]) so the two pools interleave per channel.
        pooled = torch.stack([features.amax(dim=2), features.mean(dim=2)], dim=2).flatten(1)
        hidden = self.dense_bn(F.relu(self.dense(self.pool_bn(pooled))))
        return self.out(hidden)


def log_mel(mono_16k: np.ndarray) -> np.ndarray:
    """(frames, 96) float32 input representation, including musicnn's float16 rounding of the mel power."""
    import librosa

    mono_16k = np.asarray(mono_16k, dtype=np.float32)
    if len(mono_16k) < N_FFT:
        mono_16k = np.pad(mono_16k, (0, N_FFT - len(mono_16k)))
    mel = librosa.feature.melspectrogram(y=mono_16k, sr=SAMPLE_RATE, hop_length=HOP, n_fft=N_FFT, n_mels=N_MELS).T
    # musicnn rounds the power to float16, then (numpy 1.x value-based casting) scales it in float32.
    mel = mel.astype(np.float16).astype(np.float32)
    return np.log10(10000 * mel + 1)


def patches(mel: np.ndarray, frames: int = PATCH_FRAMES) -> np.ndarray:
    """Non-overlapping patches (n, frames, mels); a spectrogram shorter than one patch is repeat-padded."""
    if mel.shape[0] == 0:
        return np.zeros((0, frames, mel.shape[1]), dtype=np.float32)
    if mel.shape[0] < frames:
        mel = np.tile(mel, (int(np.ceil(frames / mel.shape[0])), 1))[:frames]
    n = (mel.shape[0] - frames) // frames + 1
    return np.stack([mel[i * frames : (i + 1) * frames] for i in range(n)])


def model_path(name: str) -> Path:
    from mixdesk.paths import models_dir

    return models_dir() / "musicnn" / f"{name}.pt"


@lru_cache(maxsize=4)
def load_model(name: str = "msd_musicnn") -> MusiCNN:
    """The converted network in eval mode (float32 compute from the bundled float16 weights)."""
    if name not in LABELS:
        raise ValueError(f"unknown tagger {name!r}; choose one of {', '.join(MODEL_NAMES)}")
    path = model_path(name)
    if not path.exists():
        raise FileNotFoundError(f"{path}: tagger weights missing (run models/musicnn/convert_musicnn.py)")
    state = torch.load(path, map_location="cpu", weights_only=True)
    model = MusiCNN(n_classes=len(LABELS[name]))
    model.load_state_dict({k: v.float() for k, v in state.items()})
    return model.eval()


@torch.no_grad()
def patch_scores(patch_batch: np.ndarray, name: str = "msd_musicnn", batch_size: int = 1) -> np.ndarray:
    """Sigmoid tag scores (n, classes) per patch.

    One patch at a time by default: the front end's activations take about 17 MB a patch, so a batch
    of 24 held 400 MB, and on a CPU single patches are also the fastest (their activations stay in cache).
    """
    model = load_model(name)
    out = [
        torch.sigmoid(model(torch.from_numpy(patch_batch[i : i + batch_size]))).numpy()
        for i in range(0, len(patch_batch), batch_size)
    ]
    if not out:
        return np.zeros((0, len(LABELS[name])), dtype=np.float32)
    return np.concatenate(out)


def tag_scores(mono_16k: np.ndarray, name: str = "msd_musicnn") -> dict[str, float]:
    """Tag -> score averaged over the 3 s patches of a mono 16 kHz signal."""
    scores = patch_scores(patches(log_mel(mono_16k)), name)
    mean = scores.mean(axis=0) if len(scores) else np.zeros(len(LABELS[name]))
    return {label: float(s) for label, s in zip(LABELS[name], mean)}


def top_tags(scores: dict[str, float], k: int = 5) -> dict[str, float]:
    best = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)[:k]
    return {name: round(score, 4) for name, score in best}


MAX_PATCHES = 24  # 72 s of audio: enough for a track's average, bounded cost for long tracks
PATCH_S = PATCH_FRAMES * HOP / SAMPLE_RATE


def chosen_patches(n_patches: int, max_patches: int | None = MAX_PATCHES) -> np.ndarray:
    """Indices of the patches scored: all of them, or `max_patches` spread evenly over the track."""
    index = np.arange(n_patches)
    if max_patches and len(index) > max_patches:
        index = np.unique(np.linspace(0, len(index) - 1, max_patches).round().astype(int))
    return index


def _summaries(
    index: np.ndarray,
    scores: np.ndarray,
    ranges_s: Sequence[tuple[float, float]] | None,
    labels: Sequence[str],
) -> tuple[dict[str, float], list[dict[str, float]]]:
    """Track scores and per-range scores from the scores of the patches at `index`."""
    starts = index * PATCH_S

    def summary(weights: np.ndarray) -> dict[str, float]:
        mean = weights @ scores / weights.sum()
        return {label: round(float(v), 4) for label, v in zip(labels, mean)}

    out = []
    for start, end in ranges_s or []:
        overlap = np.clip(np.minimum(end, starts + PATCH_S) - np.maximum(start, starts), 0.0, None)
        if overlap.sum() <= 0:
            overlap = np.zeros(len(scores))
            overlap[int(np.argmin(np.abs(starts + PATCH_S / 2 - (start + end) / 2)))] = 1.0
        out.append(summary(overlap))
    return summary(np.ones(len(scores))), out


def tag_track(
    mono_16k: np.ndarray,
    ranges_s: list[tuple[float, float]] | None = None,
    name: str = "msd_musicnn",
    max_patches: int | None = MAX_PATCHES,
) -> tuple[dict[str, float], list[dict[str, float]]]:
    """(track scores, scores per time range) from one forward pass over the track's patches.

    Tracks longer than `max_patches` patches are scored on that many patches spread evenly over the
    track (None scores all, as musicnn does). A range's scores are the mean of the scored patches
    weighted by how much of each the range covers, so chunks cost no extra inference; a range that
    covers no scored patch takes the nearest one's scores.
    """
    all_patches = patches(log_mel(mono_16k))
    if len(all_patches) == 0:
        empty = {label: 0.0 for label in LABELS[name]}
        return empty, [dict(empty) for _ in ranges_s or []]
    index = chosen_patches(len(all_patches), max_patches)
    return _summaries(index, patch_scores(all_patches[index], name), ranges_s, LABELS[name])


class TagWindows:
    """What ``tag_track`` computes, from native-rate mono blocks, holding only the patches it scores.

    Given the track's exact length, the scored patches are known before the audio arrives; each one
    needs 3 s of 16 kHz audio (plus half an FFT window either side). Their native-rate samples, with
    room for the resampling kernel, are copied out of the blocks as they pass, then resampled one
    window at a time, so their samples equal those of the whole track resampled. A track shorter
    than one patch is kept whole and goes through ``tag_track``.
    """

    def __init__(self, sample_rate: int, frames: int, max_patches: int | None = MAX_PATCHES) -> None:
        from math import gcd

        self.sample_rate = int(sample_rate)
        divisor = gcd(self.sample_rate, SAMPLE_RATE)
        self.up, self.down = SAMPLE_RATE // divisor, self.sample_rate // divisor
        self.frames = int(frames)
        self.fed = 0
        self.length = -(-self.frames * self.up // self.down)  # resample_poly's output length
        n_mel = 1 + max(self.length, N_FFT) // HOP
        self.whole = n_mel < PATCH_FRAMES
        if self.whole:
            self.index = np.zeros(0, dtype=int)
            self.windows = [(0, self.frames, np.zeros(self.frames, dtype=np.float32))]
            return
        self.index = chosen_patches((n_mel - PATCH_FRAMES) // PATCH_FRAMES + 1, max_patches)
        context = (10 * max(self.up, self.down)) // self.up + 2  # resample_poly's kernel, in input samples
        self.windows = []
        for i in self.index:
            first, stop = self._span(int(i))
            lo = max(0, (max(first, 0) * self.down // self.up - context) // self.down * self.down)
            hi = min(self.frames, -(-stop * self.down // self.up) + context)
            self.windows.append((lo, hi, np.zeros(hi - lo, dtype=np.float32)))

    @staticmethod
    def _span(i: int) -> tuple[int, int]:
        """16 kHz samples under patch i's mel frames (a centred STFT: half a window either side)."""
        return i * PATCH_FRAMES * HOP - N_FFT // 2, ((i + 1) * PATCH_FRAMES - 1) * HOP + N_FFT // 2

    def push(self, mono: np.ndarray) -> None:
        start, stop = self.fed, self.fed + mono.size
        for lo, hi, buf in self.windows:
            a, b = max(lo, start), min(hi, stop)
            if a < b:
                buf[a - lo : b - lo] = mono[a - start : b - start]
        self.fed = stop

    def _patch(self, i: int, lo: int, native: np.ndarray) -> np.ndarray:
        """Power spectrogram (bins, PATCH_FRAMES) of patch i from its native-rate window."""
        import librosa
        from scipy.signal import resample_poly

        first, stop = self._span(i)
        y = resample_poly(native, self.up, self.down).astype(np.float32, copy=False)
        offset = lo * self.up // self.down
        window = np.zeros(stop - first, dtype=np.float32)  # zeros outside the track, as center=True pads
        a, b = max(first, 0, offset), min(stop, self.length, offset + y.size)
        window[a - first : b - first] = y[a - offset : b - offset]
        return np.abs(librosa.stft(window, n_fft=N_FFT, hop_length=HOP, center=False)) ** 2  # (bins, frames)

    def tags(
        self, ranges_s: list[tuple[float, float]] | None = None, name: str = DEFAULT_TAG_MODEL
    ) -> tuple[dict[str, float], list[dict[str, float]]]:
        """(track scores, scores per time range), as ``tag_track`` gives for the whole 16 kHz track."""
        import librosa

        if self.whole:
            from mixdesk.core.audio import resample

            return tag_track(resample(self.windows[0][2], self.sample_rate, SAMPLE_RATE), ranges_s, name)
        power = np.concatenate(
            [self._patch(int(i), lo, buf) for i, (lo, _, buf) in zip(self.index, self.windows)], axis=1
        )
        # One product for all patches: the values melspectrogram gives, without its per-call set-up.
        mel = power.T @ librosa.filters.mel(sr=SAMPLE_RATE, n_fft=N_FFT, n_mels=N_MELS).T
        mel = mel.astype(np.float16).astype(np.float32)  # musicnn's rounding, as in log_mel
        logs = np.log10(10000 * mel + 1).reshape(len(self.index), PATCH_FRAMES, N_MELS)
        return _summaries(self.index, patch_scores(logs, name), ranges_s, LABELS[name])
