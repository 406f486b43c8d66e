"""Data for the trainable genre classifier: labelled tracks, 3 s log-mel slices, track-level splits.

Labels come from sub-folder names (``root/House/a.mp3`` is House) or from the files' genre tags.
Slices of one track never appear on both sides of a split, so the scores measure unseen tracks.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

from mixdesk.config import Settings
from mixdesk.library.project import Project
from mixdesk.progress import ProgressFn, StopFn, check_stop, report


@dataclass(frozen=True)
class GenreFeatureConfig(Settings):
    sample_rate: int = 22050
    n_fft: int = 2048
    hop: int = 512
    n_mels: int = 64
    slice_s: float = 3.0
    max_slices_per_track: int = 40

    @property
    def slice_frames(self) -> int:
        return int(round(self.slice_s * self.sample_rate / self.hop))


@dataclass(frozen=True)
class GenreData:
    """x: (slices, frames, mels) float32; y: class index per slice; track: track index per slice."""

    x: np.ndarray
    y: np.ndarray
    track: np.ndarray
    classes: tuple[str, ...]
    track_names: tuple[str, ...]
    config: GenreFeatureConfig

    def subset(self, track_indices: Sequence[int] | np.ndarray) -> "GenreData":
        mask = np.isin(self.track, np.asarray(track_indices))
        return GenreData(self.x[mask], self.y[mask], self.track[mask], self.classes, self.track_names, self.config)


def log_mel_slices(mono: np.ndarray, sample_rate: int, config: GenreFeatureConfig = GenreFeatureConfig()) -> np.ndarray:
    """(n, frames, mels) float32 log-mel slices of `slice_s`; at most `max_slices_per_track`, evenly spread."""
    import librosa

    from mixdesk.core.audio import resample

    y = resample(np.asarray(mono, dtype=np.float32), sample_rate, config.sample_rate)
    mel = librosa.feature.melspectrogram(
        y=y, sr=config.sample_rate, n_fft=config.n_fft, hop_length=config.hop, n_mels=config.n_mels
    )
    logmel = librosa.power_to_db(mel, ref=1.0, top_db=None).T.astype(np.float32)
    frames = config.slice_frames
    n = logmel.shape[0] // frames
    if n == 0:
        return np.zeros((0, frames, config.n_mels), dtype=np.float32)
    picks = np.unique(np.linspace(0, n - 1, min(n, config.max_slices_per_track)).round().astype(int))
    return np.stack([logmel[i * frames : (i + 1) * frames] for i in picks])


def folder_labels(root: str | Path, extensions: Iterable[str] | None = None) -> list[tuple[Path, str]]:
    """(file, label) for audio files directly inside each sub-folder of `root`; label = folder name."""
    from mixdesk.core.audio import AUDIO_EXTENSIONS

    exts = set(extensions or AUDIO_EXTENSIONS)
    out = []
    for folder in sorted(p for p in Path(root).iterdir() if p.is_dir()):
        out += [(f, folder.name) for f in sorted(folder.rglob("*")) if f.is_file() and f.suffix.lower() in exts]
    return out


def project_labels(project: Project, source: str = "folder") -> list[tuple[int, str]]:
    """(track id, label) from each track's parent folder name or its genre tag; unlabelled tracks left out."""
    if source not in ("folder", "genre"):
        raise ValueError("source must be 'folder' or 'genre'")
    return [(t.id, getattr(t, source)) for t in project.tracks() if getattr(t, source)]


def build_dataset(
    items: Sequence[tuple[str, str]],
    load: Callable[[str], tuple[np.ndarray, int]],
    config: GenreFeatureConfig = GenreFeatureConfig(),
    on_progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
) -> tuple[GenreData, list[tuple[str, str]]]:
    """Slices of every (name, label) item; `load(name)` returns (mono samples, sample rate).

    Returns the data and the (name, reason) of items that could not be loaded or were too short.
    """
    from mixdesk.core.audio import AudioError

    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    tracks: list[np.ndarray] = []
    names: list[str] = []
    failed: list[tuple[str, str]] = []
    classes = tuple(sorted({label for _, label in items}))
    for i, (name, label) in enumerate(items):
        check_stop(should_stop)
        report(on_progress, i, len(items), f"slicing {Path(str(name)).name}")
        try:
            mono, sr = load(name)
        except AudioError as exc:
            failed.append((name, exc.reason))
            continue
        slices = log_mel_slices(mono, sr, config)
        if len(slices) == 0:
            failed.append((name, f"shorter than one {config.slice_s:g} s slice"))
            continue
        xs.append(slices)
        ys.append(np.full(len(slices), classes.index(label)))
        tracks.append(np.full(len(slices), len(names)))
        names.append(str(name))
    report(on_progress, len(items), len(items), "slices ready")
    if not xs:
        raise ValueError("no usable tracks to build a genre data set from")
    data = GenreData(np.concatenate(xs), np.concatenate(ys), np.concatenate(tracks), classes, tuple(names), config)
    return data, failed


def split_tracks(data: GenreData, test_fraction: float = 0.25, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(train track indices, test track indices), stratified by class, at least one test track per class
    that has two or more tracks."""
    rng = np.random.default_rng(seed)
    track_label = {int(t): int(y) for t, y in zip(data.track, data.y)}
    train, test = [], []
    for c in range(len(data.classes)):
        members = np.array(sorted(t for t, y in track_label.items() if y == c))
        rng.shuffle(members)
        n_test = int(round(len(members) * test_fraction))
        n_test = min(max(n_test, 1 if len(members) >= 2 else 0), len(members) - 1) if len(members) else 0
        test += members[:n_test].tolist()
        train += members[n_test:].tolist()
    return np.array(sorted(train), dtype=int), np.array(sorted(test), dtype=int)
