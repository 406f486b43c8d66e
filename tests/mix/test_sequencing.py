import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mix_helpers import make_pool, scorer_for_pool, scorer_for_project
from mixdesk.mix.config import SequenceConfig
from mixdesk.mix.playlist import Playlist
from mixdesk.mix.pool import attach_descriptors, chunk_tempi_and_keys, pool_from_project
from mixdesk.mix.sequencing import batch_scores, fixed_items, regenerate, sequence, sequence_pool
from mixdesk.ml.scoring import Scorer, ScorerBase, as_scorer
from mixdesk.progress import Cancelled


def assert_limits_hold(playlist: Playlist, repeat: int, max_run: int) -> None:
    chunks = playlist.chunk_ids
    tracks = [it.track_id for it in playlist.items]
    for j, item in enumerate(playlist.items):
        if item.relaxed or item.locked:
            continue
        window = chunks[max(0, j - repeat) : j]
        assert item.chunk_id not in window, f"chunk {item.chunk_id} repeats within {repeat} at {j}"
        run = 1
        while j - run >= 0 and tracks[j - run] == item.track_id:
            run += 1
        assert run <= max_run, f"run of {run} items from track {item.track_id} at {j}"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n_tracks=st.integers(2, 5),
    per_track=st.integers(2, 12),
    repeat=st.integers(0, 12),
    max_run=st.integers(1, 4),
    strategy=st.sampled_from(["greedy", "beam", "sample"]),
    seed=st.integers(0, 1000),
    minutes=st.floats(0.2, 1.5),
)
def test_limits_hold_on_generated_playlists(n_tracks, per_track, repeat, max_run, strategy, seed, minutes):
    pool = make_pool(n_tracks, per_track, seed=seed)
    config = SequenceConfig(
        minutes=minutes,
        strategy=strategy,
        beam_width=4,
        seed=seed,
        no_repeat_within=repeat,
        max_same_track=max_run,
        min_chunk_ms=0,
    )
    playlist = sequence_pool(pool, scorer_for_pool(pool), config)
    assert playlist.duration_ms >= config.target_ms
    assert_limits_hold(playlist, repeat, max_run)
    if len(pool) - per_track > repeat:
        assert not any(it.relaxed for it in playlist.items), "limits relaxed although the pool allowed them"
    assert all(0.0 < it.score < 1.0 for it in playlist.items[1:])


def test_dead_end_relaxes_instead_of_failing():
    pool = make_pool(1, 3)
    config = SequenceConfig(minutes=0.5, no_repeat_within=10, max_same_track=1, min_chunk_ms=0, seed=0)
    playlist = sequence_pool(pool, scorer_for_pool(pool), config)
    assert playlist.duration_ms >= config.target_ms
    relaxed = {name for it in playlist.items for name in it.relaxed}
    assert "same_track" in relaxed
    ids = playlist.chunk_ids
    assert all(a != b for a, b in zip(ids, ids[1:])), "a chunk never follows itself"


def test_greedy_takes_the_best_scored_successor():
    pool = make_pool(3, 10)
    config = SequenceConfig(minutes=0.3, no_repeat_within=0, max_same_track=99, min_chunk_ms=0)
    playlist = sequence_pool(pool, scorer_for_pool(pool), config, start_chunk=1)
    assert playlist.chunk_ids[:4] == [1, 2, 3, 4]


def test_beam_scores_at_least_as_well_as_greedy_per_item():
    pool = make_pool(4, 10, seed=3)
    scorer = scorer_for_pool(pool)
    base = SequenceConfig(minutes=0.6, no_repeat_within=8, max_same_track=2, min_chunk_ms=0)
    greedy = sequence_pool(pool, scorer, base, start_chunk=5)
    beam = sequence_pool(pool, scorer, base.with_(strategy="beam", beam_width=8), start_chunk=5)

    def mean_log(p):
        return np.mean([np.log(it.score) for it in p.items[1:]])

    assert mean_log(beam) >= mean_log(greedy) - 1e-9
    assert beam.meta["strategy"] == "beam"


def test_sampling_is_reproducible_per_seed():
    pool = make_pool(4, 10)
    scorer = scorer_for_pool(pool)
    config = SequenceConfig(minutes=0.5, strategy="sample", temperature=2.0, seed=7, min_chunk_ms=0)
    first = sequence_pool(pool, scorer, config)
    assert first.chunk_ids == sequence_pool(pool, scorer, config).chunk_ids
    others = {tuple(sequence_pool(pool, scorer, config.with_(seed=s)).chunk_ids) for s in range(5)}
    assert len(others) > 1


def test_locked_items_survive_regeneration(small_project):
    scorer = scorer_for_project(small_project)
    config = SequenceConfig(minutes=0.6, no_repeat_within=4, max_same_track=2, seed=1)
    playlist = sequence(small_project, scorer, config)
    keep = [1, len(playlist) // 2]
    locked = playlist.with_locked(keep)
    again = regenerate(small_project, scorer, locked, config.with_(strategy="sample", seed=99))
    for i in keep:
        assert again[i].chunk_id == playlist[i].chunk_id and again[i].locked
        assert (again[i].in_ms, again[i].out_ms) == (playlist[i].in_ms, playlist[i].out_ms)
    assert again.duration_ms >= config.target_ms
    assert_limits_hold(again, 4, 2)


def test_regenerate_from_index_keeps_the_prefix(small_project):
    scorer = scorer_for_project(small_project)
    config = SequenceConfig(minutes=0.6, seed=2, strategy="sample")
    playlist = sequence(small_project, scorer, config)
    again = regenerate(small_project, scorer, playlist, config.with_(seed=3), from_index=3)
    assert again.chunk_ids[:3] == playlist.chunk_ids[:3]
    assert again.chunk_ids != playlist.chunk_ids


def test_playlist_round_trips_through_the_project(small_project):
    scorer = scorer_for_project(small_project)
    playlist = sequence(small_project, scorer, SequenceConfig(minutes=0.3, seed=4)).with_locked([0])
    playlist.save(small_project, "first")
    loaded = Playlist.load(small_project, "first")
    assert loaded == playlist
    assert loaded.items[0].locked and loaded.items[0].source_path.endswith(".wav")


def test_sequencing_can_be_cancelled():
    pool = make_pool(3, 10)
    with pytest.raises(Cancelled):
        sequence_pool(pool, scorer_for_pool(pool), SequenceConfig(minutes=5, min_chunk_ms=0), should_stop=lambda: True)


def test_tempo_limit_uses_analysis_descriptors():
    compat = pytest.importorskip("mixdesk.analysis.compat")
    pool = make_pool(4, 8)
    bpms = {1: 90.0, 2: 120.0, 3: 126.0, 4: 174.0}
    attach_descriptors(
        pool, {(int(t), None): {"bpm": bpms[int(t)], "camelot": "8A"} for t in np.unique(pool.track_ids)}
    )
    config = SequenceConfig(
        minutes=0.5, max_bpm_diff_pct=6.0, max_same_track=2, no_repeat_within=4, min_chunk_ms=0, seed=0
    )
    playlist = sequence_pool(pool, scorer_for_pool(pool), config, start_chunk=9)
    for a, b in zip(playlist.items, playlist.items[1:]):
        if not b.relaxed:
            assert compat.tempo_ratio_ok(bpms[a.track_id], bpms[b.track_id], tolerance_pct=6.0)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    n_locked=st.integers(1, 4),
    from_index=st.integers(0, 6),
    strategy=st.sampled_from(["greedy", "beam", "sample"]),
)
def test_regeneration_keeps_locked_items_and_the_prefix(seed, n_locked, from_index, strategy):
    pool = make_pool(5, 10, seed=seed)
    scorer = scorer_for_pool(pool)
    config = SequenceConfig(
        minutes=0.8, seed=seed, no_repeat_within=6, max_same_track=2, min_chunk_ms=0, strategy=strategy, beam_width=3
    )
    first = sequence_pool(pool, scorer, config.with_(strategy="sample"))
    rng = np.random.default_rng(seed)
    locked_at = sorted(rng.choice(len(first), size=min(n_locked, len(first)), replace=False).tolist())
    locked = first.with_locked(locked_at)
    kept = fixed_items(locked, from_index)
    again = sequence_pool(pool, scorer, config.with_(seed=seed + 1), fixed=kept)
    for position, item in kept.items():
        assert again[position] == item.with_(score=again[position].score)
    assert again.duration_ms >= config.target_ms
    assert_limits_hold(again, 6, 2)


def test_key_limit_uses_analysis_descriptors():
    compat = pytest.importorskip("mixdesk.analysis.compat")
    pool = make_pool(4, 8)
    keys = {1: "8A", 2: "9A", 3: "3B", 4: "8B"}
    attach_descriptors(pool, {(int(t), None): {"camelot": keys[int(t)]} for t in np.unique(pool.track_ids)})
    config = SequenceConfig(minutes=0.5, max_key_steps=1, max_same_track=2, no_repeat_within=4, min_chunk_ms=0, seed=0)
    playlist = sequence_pool(pool, scorer_for_pool(pool), config, start_chunk=1)
    pairs = list(zip(playlist.items, playlist.items[1:]))
    assert any(a.track_id != b.track_id for a, b in pairs)
    for a, b in pairs:
        if not b.relaxed:
            assert compat.key_compatible(keys[a.track_id], keys[b.track_id], max_steps=1)
    assert 3 not in {it.track_id for it in playlist.items if not it.relaxed}


class _OnlySuccessors:
    """A scorer written without ScorerBase: it knows ``successor_scores`` and nothing else."""

    def __init__(self, inner):
        self.inner = inner

    def successor_scores(self, a_id, candidate_ids):
        return self.inner.successor_scores(a_id, candidate_ids)


def test_a_scorer_with_only_successor_scores_chains_like_a_whole_one():
    pool = make_pool(3, 8)
    whole = scorer_for_pool(pool)
    partial = _OnlySuccessors(whole)
    assert isinstance(whole, Scorer) and as_scorer(whole) is whole
    assert not isinstance(partial, Scorer) and isinstance(as_scorer(partial), Scorer)
    config = SequenceConfig(minutes=0.4, strategy="beam", beam_width=4, min_chunk_ms=0, seed=3)
    assert sequence_pool(pool, partial, config).chunk_ids == sequence_pool(pool, whole, config).chunk_ids
    ids = pool.ids[:3].tolist()
    assert np.allclose(batch_scores(partial, ids, pool.ids), whole.score_matrix(ids, pool.ids.tolist()))
    assert sequence_pool(pool, partial, config).meta["scorer"] == "_OnlySuccessors"


def test_sequencing_prepares_the_scorer_on_the_pool(small_project):
    class Counting(ScorerBase):
        def __init__(self, project):
            self.inner = scorer_for_project(project)
            self.prepared: list[list[int]] = []

        def prepare(self, project, chunk_ids=None, on_progress=None, should_stop=None):
            self.prepared.append(list(chunk_ids or []))

        def successor_scores(self, a_id, candidate_ids):
            return self.inner.successor_scores(a_id, candidate_ids)

    scorer = Counting(small_project)
    playlist = sequence(small_project, scorer, SequenceConfig(minutes=0.3, seed=5))
    assert len(scorer.prepared) == 1 and set(playlist.chunk_ids) <= set(scorer.prepared[0])


def test_the_pool_and_the_desk_read_one_tempo_and_key_per_chunk(small_project):
    track = small_project.tracks()[0]
    first, second = small_project.chunks(track.id)[:2]
    small_project.put_analysis("descriptors", {"bpm": 100.0, "camelot": "5A"}, track.id)
    small_project.put_analysis("descriptors", {"bpm": 0.0, "camelot": "6A"}, track.id, first.id)
    chunks = small_project.chunks()
    bpm, keys = chunk_tempi_and_keys(small_project, chunks)
    row = {c.id: i for i, c in enumerate(chunks)}
    grids = small_project.beat_grids()
    if track.id not in grids or not grids[track.id].confident:  # the analysis speaks where no grid is trusted
        assert bpm[row[first.id]] == 100.0 and bpm[row[second.id]] == 100.0
    assert keys[row[first.id]] == "6A" and keys[row[second.id]] == "5A"
    pool = pool_from_project(small_project)
    assert pool.ids.tolist() == [c.id for c in chunks]
    assert np.array_equal(pool.bpm, bpm, equal_nan=True) and list(pool.keys) == keys


@pytest.mark.parametrize("mode", ["first", "path", "native"])
def test_an_item_put_in_by_hand_follows_the_tempo_plan_like_a_generated_one(small_project, mode):
    from mixdesk.mix.sequencing import follow_tempo_plan, tempo_plan
    from mixdesk.mix.tempo import with_mix_tempo

    chunks = small_project.chunks()
    for i, chunk in enumerate(chunks):  # tempi 100-130 BPM wherever no beat grid is trusted
        small_project.put_analysis("descriptors", {"bpm": 100.0 + (7 * i) % 31}, chunk.track_id, chunk.id)
    scorer = scorer_for_project(small_project)
    config = SequenceConfig(minutes=0.5, seed=3, tempo_mode=mode, tempo_step_pct=2.0)
    playlist = sequence(small_project, scorer, config)
    assert tempo_plan(playlist) == config
    # a chunk put in at position 2 by hand, with no mix tempo of its own yet
    by_hand = playlist.items[0].with_(chunk_id=chunks[-1].id, track_id=chunks[-1].track_id, tempo_bpm=None)
    by_hand = by_hand.with_(in_ms=chunks[-1].start_ms, out_ms=chunks[-1].end_ms, locked=False)
    edited = playlist.replace_items([*playlist.items[:2], by_hand, *playlist.items[2:]])
    followed = follow_tempo_plan(small_project, edited, 2)
    # the sequencer, given that very order to keep, plans the same tempi
    generated = sequence(
        small_project, scorer, config.with_(minutes=0.01), locked=edited.with_locked(range(len(edited)))
    )
    assert generated.chunk_ids == edited.chunk_ids
    assert [it.tempo_bpm for it in followed] == [it.tempo_bpm for it in generated]
    assert [it.tempo_bpm for it in followed][:2] == [it.tempo_bpm for it in playlist][:2]
    if mode != "native":
        assert followed[2].tempo_bpm is not None
    # a mix tempo set by hand becomes the plan that later items follow
    fixed = with_mix_tempo(playlist, 111.0)
    assert tempo_plan(fixed).tempo_mode == "fixed" and tempo_plan(fixed).mix_bpm == 111.0
    refollowed = follow_tempo_plan(small_project, fixed.replace_items([*fixed.items[:2], by_hand, *fixed.items[2:]]), 2)
    assert all(it.tempo_bpm == 111.0 for it in refollowed)
