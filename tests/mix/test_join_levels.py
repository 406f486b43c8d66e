"""The level step at a join: edge levels read from the envelope, and the sequencer weighing them."""

from pathlib import Path

import numpy as np
import pytest

from audio_fixtures import make_track, write_wav
from mixdesk.config import ChunkingConfig
from mixdesk.core.chunking import Envelope
from mixdesk.library.project import Project
from mixdesk.mix.config import SequenceConfig
from mixdesk.mix.join_levels import SILENT_DB, edge_levels, join_cost
from mixdesk.mix.pool import pool_from_project
from mixdesk.mix.sequencing import sequence, sequence_pool
from mixdesk.ml.scoring import ScorerBase
from mix_helpers import make_pool, scorer_for_pool

SR = 44100


def test_span_levels_read_the_envelope_in_dbfs():
    quiet_then_loud = make_track([(2.0, -30.0), (2.0, -10.0), (1.0, None)], sr=SR, channels=1)
    env = Envelope.from_samples(quiet_then_loud, SR)
    levels = env.span_dbfs(np.array([200, 2200, 4200, 3000]), np.array([1800, 3800, 4800, 3000]))
    assert levels[0] == pytest.approx(-30.0, abs=0.3)
    assert levels[1] == pytest.approx(-10.0, abs=0.3)
    assert levels[2] == -np.inf  # digital silence
    assert levels[3] == -np.inf  # an empty span
    # spans past the end are clipped to the track, not read out of bounds
    assert env.span_dbfs(np.array([2200]), np.array([10**6]))[0] < -10.0


def test_join_cost_grows_past_the_tolerance_and_ignores_unknown_levels():
    cost = join_cost(-20.0, np.array([-20.0, -22.0, -26.0, -8.0, np.nan]), tolerance_db=3.0, weight=0.1)
    assert cost == pytest.approx([0.0, 0.0, 0.3, 0.9, 0.0])


@pytest.fixture
def level_project(tmp_path):
    """Three one-chunk tracks: one that ends in a long quiet break, one that starts loud, one that starts
    quiet (long enough that the crossfade, however long, leaves the break in the windows read)."""
    folder = tmp_path / "music"
    shapes = {
        "a_break_at_the_end.wav": [(6.0, -10.0), (10.0, -34.0)],
        "b_loud_start.wav": [(16.0, -10.0)],
        "c_quiet_start.wav": [(10.0, -34.0), (6.0, -10.0)],
    }
    for i, (name, sections) in enumerate(shapes.items()):
        write_wav(folder / name, make_track(sections, freq=150.0 + 40 * i, seed=i))
    project = Project.open(tmp_path / "levels.mixdesk")
    project.import_paths([folder], ChunkingConfig(mode="fixed", fixed_length_s=16.0))
    by_name = {Path(project.track(c.track_id).path).name: c.id for c in project.chunks()}
    yield project, by_name
    project.close()


class _PrefersTheLoudStart(ScorerBase):
    """Every chunk follows every other at 0.5, the loud-start chunk at 0.6."""

    def __init__(self, loud_id: int) -> None:
        self.loud_id = loud_id

    def successor_scores(self, a_id, candidate_ids):
        return np.array([0.6 if int(c) == self.loud_id else 0.5 for c in candidate_ids])


def test_edge_levels_are_each_chunks_first_and_last_seconds(level_project):
    project, ids = level_project
    pool = pool_from_project(project)
    head, tail = edge_levels(project, pool, window_ms=2500)
    at = {name: pool.position(ids[name]) for name in ids}
    assert head[at["a_break_at_the_end.wav"]] == pytest.approx(-10.4, abs=1.0)
    assert tail[at["a_break_at_the_end.wav"]] == pytest.approx(-34.4, abs=1.0)
    assert head[at["c_quiet_start.wav"]] == pytest.approx(-34.4, abs=1.0)
    assert tail[at["b_loud_start.wav"]] == pytest.approx(-10.4, abs=1.0)
    assert (head >= SILENT_DB).all() and (tail >= SILENT_DB).all()


@pytest.mark.parametrize("strategy", ["greedy", "beam"])
def test_a_join_into_a_break_is_kept_level_when_the_weight_says_so(level_project, strategy):
    project, ids = level_project
    start = ids["a_break_at_the_end.wav"]
    scorer = _PrefersTheLoudStart(ids["b_loud_start.wav"])
    config = SequenceConfig(minutes=0.4, min_chunk_ms=0, strategy=strategy, max_same_track=1)
    by_model = sequence(project, scorer, config.with_(level_step_weight=0.0), start_chunk=start)
    level = sequence(project, scorer, config, start_chunk=start)
    assert by_model.chunk_ids[:2] == [start, ids["b_loud_start.wav"]]  # 24 dB louder after the break
    assert level.chunk_ids[:2] == [start, ids["c_quiet_start.wav"]]  # the quiet start carries the break on
    assert level.items[1].score == pytest.approx(0.5)  # the score shown stays the scorer's


def test_without_levels_or_weight_the_order_is_the_scorers():
    pool = make_pool(3, 10)
    config = SequenceConfig(minutes=0.3, no_repeat_within=0, max_same_track=99, min_chunk_ms=0)
    flat = (np.full(len(pool), -20.0), np.full(len(pool), -20.0))
    plain = sequence_pool(pool, scorer_for_pool(pool), config, start_chunk=1)
    assert sequence_pool(pool, scorer_for_pool(pool), config, start_chunk=1, levels=flat).chunk_ids == plain.chunk_ids
    assert plain.chunk_ids[:4] == [1, 2, 3, 4]


def test_a_level_weight_that_makes_no_sense_is_refused():
    with pytest.raises(ValueError, match="level-step"):
        SequenceConfig(level_step_weight=-1.0)


def test_a_track_that_cannot_be_read_weighs_nothing(level_project, tmp_path):
    import shutil

    project, ids = level_project
    gone = project.track(project.chunk(ids["b_loud_start.wav"]).track_id)
    Path(gone.path).unlink()
    shutil.rmtree(project.cache_dir / "envelopes", ignore_errors=True)
    project._envelopes.clear()
    pool = pool_from_project(project)
    head, tail = edge_levels(project, pool, window_ms=2999)  # a window no earlier call has cached
    lost = pool.position(ids["b_loud_start.wav"])
    assert np.isnan(head[lost]) and np.isnan(tail[lost])
    assert np.isfinite(np.delete(head, lost)).all()


def test_suggestions_say_how_much_louder_each_candidate_starts(level_project):
    from mixdesk.mix.playlist import Playlist
    from mixdesk.mix.suggestions import suggestions

    project, ids = level_project
    start = ids["a_break_at_the_end.wav"]
    scorer = _PrefersTheLoudStart(ids["b_loud_start.wav"])
    playlist = sequence(project, scorer, SequenceConfig(minutes=0.4, min_chunk_ms=0), start_chunk=start)
    found = {s.chunk_id: s.reasons for s in suggestions(project, scorer, Playlist(playlist.items[:1]), 0, k=2)}
    assert found[ids["b_loud_start.wav"]]["level_step_db"] == pytest.approx(24.0, abs=1.5)
    assert found[ids["c_quiet_start.wav"]]["level_step_db"] == pytest.approx(0.0, abs=1.5)
