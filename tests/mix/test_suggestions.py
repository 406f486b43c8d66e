import numpy as np
import pytest

from mix_helpers import scorer_for_project
from mixdesk.mix.config import SequenceConfig
from mixdesk.mix.sequencing import sequence
from mixdesk.mix.suggestions import suggestions
from mixdesk.ml.ranking import rank_successors
from mixdesk.ml.scoring import ScorerBase


def test_suggestions_rank_candidates_and_explain_them(small_project):
    tracks = small_project.tracks()
    bpms = [120.0, 124.0, 90.0, 175.0]
    keys = ["8A", "9A", "3B", "8B"]
    for track, bpm, key in zip(tracks, bpms, keys):
        small_project.put_analysis("descriptors", {"bpm": bpm, "camelot": key}, track.id)
    scorer = scorer_for_project(small_project)
    playlist = sequence(small_project, scorer, SequenceConfig(minutes=0.4, seed=5, max_same_track=2))
    position = 1
    anchor = playlist[position]
    found = suggestions(small_project, scorer, playlist, position, k=5)
    assert len(found) == 5
    assert [s.score for s in found] == sorted((s.score for s in found), reverse=True)
    assert anchor.chunk_id not in [s.chunk_id for s in found]
    chunk = {c.id: c for c in small_project.chunks()}
    best = found[0]
    if chunk[anchor.chunk_id].index + 1 < len(small_project.chunks(anchor.track_id)):
        assert best.reasons["natural_successor"] and best.reasons["same_track"]
    for s in found:
        assert s.reasons["model_score"] == pytest.approx(s.score, abs=1e-4)
        assert "score_into_next" in s.reasons
        assert "bpm_diff_pct" in s.reasons
        same = chunk[s.chunk_id].track_id == anchor.track_id
        assert s.reasons["same_track"] == same
        if same:
            assert s.reasons["bpm_diff_pct"] == 0 and s.reasons["key_steps"] == 0
    used = playlist[0].chunk_id
    flagged = [s for s in suggestions(small_project, scorer, playlist, position, k=40) if s.chunk_id == used]
    assert flagged and flagged[0].reasons["recently_used"] == 1


def test_position_outside_the_playlist_is_refused(small_project):
    scorer = scorer_for_project(small_project)
    playlist = sequence(small_project, scorer, SequenceConfig(minutes=0.2, seed=1))
    with pytest.raises(IndexError):
        suggestions(small_project, scorer, playlist, len(playlist), k=3)


class _JoinsAndRankings(ScorerBase):
    """Joins favour high chunk ids, rankings within the pool favour low ones."""

    def successor_scores(self, a_id, candidate_ids):
        return np.array([c / 1000.0 for c in candidate_ids])

    def pool_scores(self, a_id, candidate_ids):
        return np.array([1.0 - c / 1000.0 for c in candidate_ids])


def test_suggestions_rank_within_the_pool_and_score_joins_as_the_sequencer(small_project):
    scorer = _JoinsAndRankings()
    playlist = sequence(small_project, scorer, SequenceConfig(minutes=0.3, seed=2))
    found = suggestions(small_project, scorer, playlist, 0, k=4)
    others = sorted(c.id for c in small_project.chunks() if c.id != playlist[0].chunk_id)
    assert [s.chunk_id for s in found] == others[:4]
    assert [s.score for s in found] == pytest.approx([1.0 - c / 1000.0 for c in others[:4]])
    following = playlist[1].chunk_id
    assert all(s.reasons["score_into_next"] == pytest.approx(following / 1000.0) for s in found)
    assert [c for c, _ in rank_successors(playlist[0].chunk_id, others, 3, scorer)] == others[:3]
