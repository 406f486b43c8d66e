"""Test doubles and builders for the working-panel tests: a deterministic scorer, ready-made playlists."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pytest

from mixdesk.ml.scoring import ScorerBase


class NextInTrackScorer(ScorerBase):
    """Prefers the true successor in the same track, then chunks of other tracks; deterministic.

    Stands in for a trained model where a test is about the desk, not about the model's quality: a whole
    scorer (``ScorerBase`` gives it ``score_matrix``), so the desk can call anything a scorer has.
    """

    def __init__(self, project) -> None:
        self._chunks = {c.id: c for c in project.chunks()}

    def prepare(self, project, chunk_ids=None, **_kwargs) -> None:
        """Like a model's encodings, the chunk table is read again when chunks it never saw are asked for."""
        if chunk_ids is None or not set(int(c) for c in chunk_ids) <= set(self._chunks):
            self._chunks = {c.id: c for c in project.chunks()}

    def successor_scores(self, a_id: int, candidate_ids: Sequence[int]) -> np.ndarray:
        a = self._chunks[int(a_id)]
        out = []
        for cid in candidate_ids:
            b = self._chunks.get(int(cid))
            if b is None:
                out.append(0.01)
            elif b.track_id == a.track_id and b.index == a.index + 1:
                out.append(0.95)
            elif b.track_id != a.track_id:
                out.append(0.3 + 0.4 * ((int(cid) * 7919) % 97) / 97.0)
            else:
                out.append(0.1)
        return np.asarray(out, dtype=np.float32)


def playlist_of(project, chunk_ids, crossfade_ms: int = 400):
    from mixdesk.mix.playlist import Playlist, PlaylistItem, Transition

    items = []
    for i, cid in enumerate(chunk_ids):
        chunk = project.chunk(int(cid))
        track = project.track(chunk.track_id)
        items.append(
            PlaylistItem(
                chunk_id=chunk.id,
                track_id=track.id,
                source_path=str(track.path),
                in_ms=chunk.start_ms,
                out_ms=chunk.end_ms,
                transition=Transition("crossfade", crossfade_ms),
                score=None if i == 0 else 0.5,
            )
        )
    return Playlist(items=tuple(items), name="test")


@pytest.fixture(scope="module")
def shared_project(tmp_path_factory):
    """The root ``small_project`` made once per test module: these panels only add playlists and models."""
    from audio_fixtures import make_track, song_sections, write_wav

    from mixdesk.config import LIBRARY_CHUNKING
    from mixdesk.library.project import Project

    root = tmp_path_factory.mktemp("panels")
    for i in range(4):
        write_wav(root / "songs" / f"song{i}.wav", make_track(song_sections(i), freq=110.0 * (i + 2), seed=i))
    project = Project.open(root / "small.mixdesk")
    project.import_paths([root / "songs"], LIBRARY_CHUNKING)
    yield project
    project.close()
