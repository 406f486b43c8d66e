"""Beat grids in the project: tracked on import, cut on bars, kept through re-cuts, filled in for old
projects without touching chunks that were tuned by hand."""

from __future__ import annotations

import numpy as np
import pytest

from audio_fixtures import write_wav
from drum_fixtures import drum_track
from mixdesk.config import LEGACY_LIBRARY_CHUNKING, LIBRARY_CHUNKING, ChunkingConfig
from mixdesk.core.chunking import coverage
from mixdesk.library.project import Project

SR = 22050


@pytest.fixture
def drums(tmp_path):
    paths = []
    for i, bpm in enumerate((124.0, 128.0)):
        audio, truth = drum_track(bpm, 40.0, SR, seed=i)
        paths.append((write_wav(tmp_path / f"drums{i}.wav", audio, SR), truth))
    return paths


def test_import_tracks_beats_and_cuts_on_bars_keeping_all_audio(tmp_path, drums):
    with Project.open(tmp_path / "p.mixdesk") as project:
        project.import_paths([p for p, _ in drums], LIBRARY_CHUNKING)
        for track, (_, truth) in zip(project.tracks(), drums):
            grid = project.beat_grid(track.id)
            assert grid is not None and grid.confident
            assert grid.bpm == pytest.approx(truth.bpm, rel=0.01)
            chunks = project.chunks(track.id)
            starts = np.array([c.start_ms for c in chunks[1:]]) / 1000.0
            # every chunk after the lead-in starts on a true downbeat, 4 bars after the previous one
            assert all(np.min(np.abs(truth.downbeats - s)) < 0.015 for s in starts)
            assert np.allclose(np.diff(starts)[:-1], 4 * 4 * 60.0 / truth.bpm, atol=0.015)
            ranges = [(c.start_ms, c.end_ms) for c in chunks]
            assert coverage(ranges, int(track.duration_s * 1000)) == pytest.approx(1.0, abs=1e-3)
            assert project.chunking_of(track.id).mode == "bars"


def test_old_projects_get_grids_and_only_automatic_cuts_are_redone(tmp_path, drums):
    hand_tuned = ChunkingConfig(mode="fixed", fixed_length_s=2.5)
    with Project.open(tmp_path / "p.mixdesk") as project:
        project.import_paths([drums[0][0]], LEGACY_LIBRARY_CHUNKING)
        project.import_paths([drums[1][0]], hand_tuned)
        legacy, tuned = project.tracks()
        # a project from before beat grids: no grid is stored
        with project.transaction() as conn:
            conn.execute("DELETE FROM analysis WHERE kind = 'beats'")
        tuned_chunks = project.chunks(tuned.id)
        assert project.beat_grids() == {}
        recut = project.refresh_chunking(LIBRARY_CHUNKING)
        assert recut == 1
        assert set(project.beat_grids()) == {legacy.id, tuned.id}
        assert project.chunking_of(legacy.id).mode == "bars"
        assert project.chunks(tuned.id) == tuned_chunks  # the user's own cut stays
        assert project.refresh_chunking(LIBRARY_CHUNKING) == 0


def test_rechunk_in_bars_mode_uses_the_stored_grid(tmp_path, drums):
    with Project.open(tmp_path / "p.mixdesk") as project:
        project.import_paths([drums[0][0]], LIBRARY_CHUNKING)
        track = project.tracks()[0]
        four = len(project.chunks(track.id))
        project.rechunk(LIBRARY_CHUNKING.with_(bars_per_chunk=2))
        assert len(project.chunks(track.id)) >= 2 * four - 2
        assert project.beat_grid(track.id) is not None  # a re-cut keeps the track's grid
