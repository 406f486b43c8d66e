"""Genre classifiers on log-mel slices: a CNN, a bidirectional LSTM and the PCA + kNN baseline.

Every classifier scores 3 s slices; a track's genre is the mean of its slices' class probabilities.
Metrics are computed per slice and per track on held-out tracks (see genre_data.split_tracks).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from mixdesk.analysis.genre_data import GenreData, GenreFeatureConfig
from mixdesk.analysis.options import GENRE_EXPERIMENT, GENRE_MODEL_KINDS
from mixdesk.progress import ProgressFn, StopFn, atomic_path, check_stop, report

MODEL_KINDS = GENRE_MODEL_KINDS


@dataclass(frozen=True)
class GenreTrainConfig:
    model: str = "cnn"
    epochs: int = 20
    batch_size: int = 32
    learning_rate: float = 1e-3
    hidden: int = 64
    dropout: float = 0.25
    pca_components: int = 18
    k: int = 9
    seed: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


class GenreCNN(nn.Module):
    """Three conv blocks (batch norm, max pool, dropout), global average pooling, one dense layer."""

    def __init__(self, n_classes: int, channels: int = 64, dropout: float = 0.25):
        super().__init__()
        widths = (1, channels // 4, channels // 2, channels)
        blocks = []
        for c_in, c_out in zip(widths[:-1], widths[1:]):
            blocks += [
                nn.Conv2d(c_in, c_out, 3, padding=1),
                nn.BatchNorm2d(c_out),
                nn.ReLU(),
                nn.MaxPool2d(2),
                nn.Dropout(dropout),
            ]
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Linear(channels, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, T, M)
        return self.head(self.blocks(x.unsqueeze(1)).mean(dim=(2, 3)))


class GenreLSTM(nn.Module):
    """Bidirectional LSTM over the slice's frames; mean of its outputs feeds one dense layer."""

    def __init__(self, n_mels: int, n_classes: int, hidden: int = 64, dropout: float = 0.25):
        super().__init__()
        self.lstm = nn.LSTM(n_mels, hidden, batch_first=True, bidirectional=True)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(2 * hidden, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(x)
        return self.head(self.drop(out.mean(dim=1)))


class GenreClassifier:
    """A trained classifier with its input normalisation; `predict_slices` gives class probabilities."""

    def __init__(
        self,
        config: GenreTrainConfig,
        features: GenreFeatureConfig,
        classes: tuple[str, ...],
        mean: np.ndarray,
        std: np.ndarray,
        net: nn.Module | None = None,
        knn: dict | None = None,
    ):
        self.config, self.features, self.classes = config, features, classes
        self.mean, self.std, self.net, self.knn = mean, std, net, knn

    def _normalise(self, x: np.ndarray) -> np.ndarray:
        return ((x - self.mean) / self.std).astype(np.float32)

    @torch.no_grad()
    def predict_slices(self, x: np.ndarray) -> np.ndarray:
        if len(x) == 0:
            return np.zeros((0, len(self.classes)), dtype=np.float32)
        z = self._normalise(x)
        if self.knn is not None:
            return _knn_proba(self.knn, z.reshape(len(z), -1), len(self.classes), self.config.k)
        if self.net is None:
            raise ValueError("the classifier has neither a network nor a kNN memory")
        net = self.net.eval()
        out = [torch.softmax(net(torch.from_numpy(z[i : i + 256])), dim=1).numpy() for i in range(0, len(z), 256)]
        return np.concatenate(out)

    def predict_tracks(self, data: GenreData) -> dict[int, np.ndarray]:
        """track index -> mean class probabilities of its slices."""
        proba = self.predict_slices(data.x)
        return {int(t): proba[data.track == t].mean(axis=0) for t in np.unique(data.track)}

    def save(self, path: str | Path) -> Path:
        payload = {
            "format": "mixdesk-genre-classifier",
            "config": self.config.to_dict(),
            "features": self.features.to_dict(),
            "classes": list(self.classes),
            "mean": torch.from_numpy(np.asarray(self.mean)),
            "std": torch.from_numpy(np.asarray(self.std)),
            "state": None if self.net is None else self.net.state_dict(),
            "knn": None if self.knn is None else {k: torch.from_numpy(v) for k, v in self.knn.items()},
        }
        with atomic_path(Path(path)) as tmp:
            torch.save(payload, tmp)
        return Path(path)

    @classmethod
    def load(cls, path: str | Path) -> "GenreClassifier":
        payload = torch.load(path, map_location="cpu", weights_only=True)
        config = GenreTrainConfig(**payload["config"])
        features = GenreFeatureConfig.from_dict(payload["features"])
        classes = tuple(payload["classes"])
        net = None
        if payload["state"] is not None:
            net = _make_net(config, features, len(classes))
            net.load_state_dict(payload["state"])
        knn = None if payload["knn"] is None else {k: v.numpy() for k, v in payload["knn"].items()}
        return cls(config, features, classes, payload["mean"].numpy(), payload["std"].numpy(), net, knn)


def _make_net(config: GenreTrainConfig, features: GenreFeatureConfig, n_classes: int) -> nn.Module:
    if config.model == "cnn":
        return GenreCNN(n_classes, channels=config.hidden, dropout=config.dropout)
    if config.model == "lstm":
        return GenreLSTM(features.n_mels, n_classes, hidden=config.hidden, dropout=config.dropout)
    raise ValueError(f"unknown genre model {config.model!r}; choose one of {', '.join(MODEL_KINDS)}")


def _fit_knn(z: np.ndarray, y: np.ndarray, components: int) -> dict:
    """PCA by SVD of the centred training slices; the projected training set is the kNN memory."""
    flat = z.reshape(len(z), -1).astype(np.float64)
    centre = flat.mean(axis=0)
    centred = flat - centre
    k = min(components, len(flat))
    if len(flat) < flat.shape[1]:
        # Fewer slices than features: the eigenvectors of the small Gram matrix give the same principal
        # axes as an SVD of the data, about ten times faster.
        values, vectors = np.linalg.eigh(centred @ centred.T)
        top = np.argsort(values)[::-1][:k]
        basis = vectors[:, top].T @ centred
        basis /= np.maximum(np.linalg.norm(basis, axis=1, keepdims=True), 1e-12)
    else:
        basis = np.linalg.svd(centred, full_matrices=False)[2][:k]
    return {"centre": centre, "basis": basis, "memory": centred @ basis.T, "labels": y.astype(np.int64)}


def _knn_proba(knn: dict, flat: np.ndarray, n_classes: int, k: int) -> np.ndarray:
    points = (flat.astype(np.float64) - knn["centre"]) @ knn["basis"].T
    memory = knn["memory"]
    dist = (points**2).sum(1)[:, None] - 2 * points @ memory.T + (memory**2).sum(1)[None, :]
    k = min(k, len(memory))
    nearest = np.argpartition(dist, k - 1, axis=1)[:, :k]
    votes = np.zeros((len(points), n_classes))
    for col in range(k):
        np.add.at(votes, (np.arange(len(points)), knn["labels"][nearest[:, col]]), 1.0)
    return (votes / k).astype(np.float32)


def train_genre_classifier(
    data: GenreData,
    train_tracks: np.ndarray,
    config: GenreTrainConfig = GenreTrainConfig(),
    on_progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
) -> GenreClassifier:
    """Fit one classifier on the slices of `train_tracks` (torch models with Adam, cross-entropy)."""
    train = data.subset(train_tracks)
    mean = train.x.mean(axis=(0, 1), keepdims=True)[0]
    std = train.x.std(axis=(0, 1), keepdims=True)[0] + 1e-6
    clf = GenreClassifier(config, data.config, data.classes, mean, std)
    z = clf._normalise(train.x)
    if config.model == "knn":
        clf.knn = _fit_knn(z, train.y, config.pca_components)
        return clf
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    clf.net = net = _make_net(config, data.config, len(data.classes))
    optimiser = torch.optim.Adam(net.parameters(), lr=config.learning_rate)
    x_all, y_all = torch.from_numpy(z), torch.from_numpy(train.y.astype(np.int64))
    for epoch in range(config.epochs):
        net.train()
        order = rng.permutation(len(z))
        for start in range(0, len(order), config.batch_size):
            check_stop(should_stop)
            idx = torch.from_numpy(order[start : start + config.batch_size])
            loss = nn.functional.cross_entropy(net(x_all[idx]), y_all[idx])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        report(on_progress, epoch + 1, config.epochs, f"{config.model} epoch {epoch + 1}: loss {loss.item():.3f}")
    net.eval()
    return clf


def classification_metrics(y_true: np.ndarray, y_pred: np.ndarray, classes: tuple[str, ...]) -> dict:
    """Accuracy, per-class precision and recall, and the confusion matrix (rows: true, columns: predicted)."""
    n = len(classes)
    confusion = np.zeros((n, n), dtype=int)
    np.add.at(confusion, (np.asarray(y_true, int), np.asarray(y_pred, int)), 1)
    predicted, actual = confusion.sum(axis=0), confusion.sum(axis=1)
    diag = np.diag(confusion)
    per_class = {
        c: {
            "precision": round(float(diag[i] / predicted[i]), 4) if predicted[i] else 0.0,
            "recall": round(float(diag[i] / actual[i]), 4) if actual[i] else 0.0,
            "support": int(actual[i]),
        }
        for i, c in enumerate(classes)
    }
    accuracy = float(diag.sum() / max(confusion.sum(), 1))
    return {
        "accuracy": round(accuracy, 4),
        "per_class": per_class,
        "confusion": confusion.tolist(),
        "n": int(confusion.sum()),
    }


def evaluate_genre_classifier(clf: GenreClassifier, data: GenreData, test_tracks: np.ndarray) -> dict:
    """Slice-level and track-level metrics on the held-out tracks."""
    test = data.subset(test_tracks)
    slice_pred = clf.predict_slices(test.x).argmax(axis=1)
    by_track = clf.predict_tracks(test)
    track_ids = sorted(by_track)
    track_true = [int(test.y[test.track == t][0]) for t in track_ids]
    track_pred = [int(by_track[t].argmax()) for t in track_ids]
    return {
        "model": clf.config.model,
        "classes": list(data.classes),
        "slices": classification_metrics(test.y, slice_pred, data.classes),
        "tracks": classification_metrics(np.array(track_true), np.array(track_pred), data.classes),
    }


def compare_genre_models(
    data: GenreData,
    train_tracks: np.ndarray,
    test_tracks: np.ndarray,
    configs: list[GenreTrainConfig],
    on_progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
) -> list[dict]:
    """Train and evaluate each configuration on the same split; one metrics dict per model."""
    results = []
    for i, config in enumerate(configs):
        report(on_progress, i, len(configs), f"training {config.model}")
        started = time.perf_counter()
        clf = train_genre_classifier(data, train_tracks, config, should_stop=should_stop)
        result = evaluate_genre_classifier(clf, data, test_tracks)
        result["train_seconds"] = round(time.perf_counter() - started, 2)
        results.append(result)
    report(on_progress, len(configs), len(configs), "genre models done")
    return results


def genre_classifier_experiment(
    audio_dir: str | Path,
    models: tuple[str, ...] = GENRE_EXPERIMENT.models,
    epochs: int = GENRE_EXPERIMENT.epochs,
    test_fraction: float = GENRE_EXPERIMENT.test_fraction,
    seed: int = GENRE_EXPERIMENT.seed,
    features: GenreFeatureConfig = GenreFeatureConfig(),
    on_progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
) -> dict:
    """Labels from the sub-folders of `audio_dir`; every model trained and tested on the same track split."""
    from mixdesk.analysis.genre_data import build_dataset, folder_labels, split_tracks
    from mixdesk.core.audio import decode

    items = [(str(path), label) for path, label in folder_labels(audio_dir)]
    if len({label for _, label in items}) < 2:
        raise ValueError(f"{audio_dir}: needs audio in at least two sub-folders (one per genre)")

    def load(name: str) -> tuple[np.ndarray, int]:
        audio = decode(name, sample_rate=features.sample_rate, mono=True)
        return audio.samples[:, 0], audio.sample_rate

    data, failed = build_dataset(items, load, features, on_progress, should_stop)
    train, test = split_tracks(data, test_fraction, seed)
    configs = [GenreTrainConfig(model=m, epochs=epochs, seed=seed) for m in models]
    rows = compare_genre_models(data, train, test, configs, on_progress, should_stop)
    return {
        "experiment": "genre-model",
        "dir": str(audio_dir),
        "classes": list(data.classes),
        "train_tracks": [Path(data.track_names[t]).name for t in train],
        "test_tracks": [Path(data.track_names[t]).name for t in test],
        "failed": [{"path": p, "error": e} for p, e in failed],
        "rows": rows,
    }


def genre_markdown(result: dict) -> str:
    classes = result["classes"]
    header = ["model", "slice acc", "track acc"] + [f"{c} P/R" for c in classes] + ["train s"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in result["rows"]:
        per = row["tracks"]["per_class"]
        cells = [row["model"], f"{row['slices']['accuracy']:.3f}", f"{row['tracks']['accuracy']:.3f}"]
        cells += [f"{per[c]['precision']:.2f}/{per[c]['recall']:.2f}" for c in classes]
        lines.append("| " + " | ".join(cells + [str(row["train_seconds"])]) + " |")
    return "\n".join(lines)
