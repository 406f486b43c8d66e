"""Shared test set-up: offscreen Qt, a private mixdesk home, and small synthesised projects."""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

from audio_fixtures import make_track, song_sections, write_wav  # noqa: E402


@pytest.fixture(autouse=True, scope="session")
def _private_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("mixdesk-home")
    os.environ["MIXDESK_HOME"] = str(home)
    yield home


@pytest.fixture
def song_folder(tmp_path) -> Path:
    """Four short synthesised tracks (about 20 s each, with gaps) in a folder."""
    folder = tmp_path / "songs"
    for i in range(4):
        write_wav(folder / f"song{i}.wav", make_track(song_sections(i), freq=110.0 * (i + 2), seed=i))
    return folder


@pytest.fixture
def small_project(tmp_path, song_folder):
    """A project with the four synthesised tracks imported and cut on silence (guards on)."""
    from mixdesk.config import LIBRARY_CHUNKING
    from mixdesk.library.project import Project

    project = Project.open(tmp_path / "small.mixdesk")
    project.import_paths([song_folder], LIBRARY_CHUNKING)
    yield project
    project.close()
