"""A small project of tagged FLAC files, one of them loud like mastered dance music."""

from __future__ import annotations

import numpy as np
import pytest

SR = 44100


def mastered_loop(seconds: float = 12.0, bpm: float = 124.0, seed: int = 0) -> np.ndarray:
    """Kick, bass and pad pushed into a limiter: about -9 dBFS RMS with the kicks at full scale, the
    loudness of a mastered club track, where a decibel-scaled thumbnail is a flat bar."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    beat = 60.0 / bpm
    phase = t % beat
    kick = np.sin(2 * np.pi * 55.0 * phase) * np.exp(-phase / 0.06)
    bass = 0.35 * np.sign(np.sin(2 * np.pi * 55.0 * t)) * (phase > beat / 2)
    pad = 0.12 * (np.sin(2 * np.pi * 220.0 * t) + np.sin(2 * np.pi * 277.2 * t)) + 0.03 * rng.standard_normal(t.size)
    mix = np.tanh(2.2 * (kick + bass + pad)) * 0.98
    return np.stack([mix, mix], axis=1).astype(np.float32)


def write_flac(path, samples, **tags):
    import soundfile as sf
    from mutagen.flac import FLAC

    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), samples, SR, format="FLAC")
    if tags:
        audio = FLAC(str(path))
        for key, value in tags.items():
            audio[key] = value
        audio.save()
    return path


@pytest.fixture
def tagged_project(tmp_path):
    """``Night Drive`` by ``Lena K`` (loud), and an untagged ``untitled take.flac``."""
    from audio_fixtures import make_track, song_sections

    from mixdesk.config import LIBRARY_CHUNKING
    from mixdesk.library.project import Project

    folder = tmp_path / "music"
    write_flac(folder / "01 night drive.flac", mastered_loop(), title="Night Drive", artist="Lena K")
    write_flac(folder / "untitled take.flac", make_track(song_sections(1, 8.0), freq=330.0, seed=1))
    project = Project.open(tmp_path / "tagged.mixdesk")
    project.import_paths([folder], LIBRARY_CHUNKING)
    yield project
    project.close()
