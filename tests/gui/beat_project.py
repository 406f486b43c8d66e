"""A project of synthetic drum tracks, imported as the desk imports (beat grids on, cut on bars)."""

from __future__ import annotations

import numpy as np
import pytest

from drum_fixtures import drum_track

DRUM_TEMPI = (120.0, 126.0)
DRUM_SECONDS = 24.0
SR = 44100


def write_drums(folder, tempi=DRUM_TEMPI, seconds: float = DRUM_SECONDS) -> list:
    from audio_fixtures import write_wav

    paths = []
    for i, bpm in enumerate(tempi):
        audio, _truth = drum_track(bpm, seconds, SR, start=0.3 + 0.05 * i, seed=i)
        paths.append(write_wav(folder / f"drums{i}_{bpm:g}.wav", audio, SR))
    return paths


def import_drums(path, folder):
    from mixdesk.config import LIBRARY_CHUNKING
    from mixdesk.library.project import Project

    write_drums(folder)
    project = Project.open(path)
    project.import_paths([folder], LIBRARY_CHUNKING)
    return project


def bar_items_playlist(project, tempo_bpm: float | None = None, beats: float | None = 4.0):
    """One item per whole-bar chunk, alternating the tracks, so every seam joins two drum tracks on a
    downbeat (the lead-in before a track's first downbeat is left out)."""
    from mixdesk.mix.playlist import Playlist, PlaylistItem, Transition

    by_track: dict[int, list] = {}
    for chunk in project.chunks():
        if chunk.index > 0:
            by_track.setdefault(chunk.track_id, []).append(chunk)
    order = [c for pair in zip(*by_track.values()) for c in pair]
    items = []
    for i, chunk in enumerate(order):
        track = project.track(chunk.track_id)
        items.append(
            PlaylistItem(
                chunk_id=chunk.id,
                track_id=track.id,
                source_path=str(track.path),
                in_ms=chunk.start_ms,
                out_ms=chunk.end_ms,
                transition=Transition("crossfade", 400, beats),
                score=None if i == 0 else 0.5,
                tempo_bpm=tempo_bpm,
            )
        )
    return Playlist(items=tuple(items), name="beats")


@pytest.fixture(scope="module")
def drum_project(tmp_path_factory):
    root = tmp_path_factory.mktemp("drums")
    project = import_drums(root / "drums.mixdesk", root / "songs")
    assert all(g.confident for g in project.beat_grids().values())
    yield project
    project.close()


def known_grid(duration_s: float, bpm: float = 120.0, first_s: float = 0.3):
    """A grid with a beat every 60 / bpm s from ``first_s`` and a downbeat every fourth beat."""
    from mixdesk.core.beatgrid import BeatGrid

    beats = np.arange(first_s, duration_s - 0.1, 60.0 / bpm)
    return BeatGrid(beats, beats[::4], bpm, 0.9)
