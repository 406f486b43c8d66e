import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mixdesk.analysis.compat import camelot_distance, tempo_ratio_ok
from mixdesk.ml.pairs import (
    KINDS,
    PairConfig,
    PairData,
    augment_edges,
    split_tracks,
    tempo_key_from_analysis,
)


@settings(max_examples=40, deadline=None)
@given(n_tracks=st.integers(2, 30), seed=st.integers(0, 1000), val=st.floats(0.05, 0.4), test=st.floats(0.0, 0.4))
def test_split_never_shares_a_track(n_tracks, seed, val, test):
    track_ids = np.repeat(np.arange(100, 100 + n_tracks), 3)
    splits = split_tracks(track_ids, PairConfig(seed=seed, val_fraction=val, test_fraction=test))
    sets = [set(splits[k].tolist()) for k in ("train", "val", "test")]
    assert not (sets[0] & sets[1]) and not (sets[0] & sets[2]) and not (sets[1] & sets[2])
    assert set().union(*sets) == set(range(100, 100 + n_tracks))
    assert sets[0] and sets[1]


def test_split_needs_two_tracks():
    with pytest.raises(ValueError):
        split_tracks(np.array([1, 1, 1]), PairConfig())


def test_pairs_stay_inside_their_split(tiny_data):
    table = tiny_data.table
    for split in ("train", "val", "test"):
        pairs = tiny_data.pairs(split)
        allowed = set(tiny_data.splits[split].tolist())
        assert set(table.track_ids[pairs.a]) <= allowed and set(table.track_ids[pairs.b]) <= allowed


def test_negatives_never_equal_the_true_successor(tiny_data):
    succ = tiny_data.successor
    for epoch in range(5):
        pairs = tiny_data.pairs("train", epoch)
        neg = pairs.label == 0
        assert neg.any() and (~neg).any()
        assert np.all(succ[pairs.a[neg]] != pairs.b[neg])
        assert np.all(pairs.a[neg] != pairs.b[neg])
        assert np.all(succ[pairs.a[~neg]] == pairs.b[~neg])


def test_negative_kinds_and_ratio(tiny_data):
    pairs = tiny_data.pairs("train", 0)
    kinds = {KINDS[k] for k in pairs.kind}
    assert {"positive", "other_track"} <= kinds
    assert np.sum(pairs.label == 0) == 2 * np.sum(pairs.label == 1)
    reversed_ = pairs.kind == KINDS.index("reversed")
    assert np.all(tiny_data.successor[pairs.b[reversed_]] == pairs.a[reversed_])
    same = pairs.kind == KINDS.index("same_track")
    t = tiny_data.table
    assert np.all(t.track_ids[pairs.a[same]] == t.track_ids[pairs.b[same]])
    assert np.all(np.abs(t.positions[pairs.a[same]] - t.positions[pairs.b[same]]) >= 2)


def test_sampling_is_deterministic_and_redrawn_per_epoch(tiny_data, synthetic_table):
    again = PairData(synthetic_table, tiny_data.config)
    assert np.array_equal(tiny_data.pairs("train", 1).b, again.pairs("train", 1).b)
    assert not np.array_equal(tiny_data.pairs("train", 1).b, tiny_data.pairs("train", 2).b)
    assert np.array_equal(tiny_data.pairs("val", 0).b, tiny_data.pairs("val", 9).b)


def test_hard_negatives_have_compatible_tempo_and_key(synthetic_table):
    ids = synthetic_table.chunk_ids
    tracks = synthetic_table.track_ids
    # Tracks 1 and 2 share tempo and key; the others are far off.
    far = {3: (100.0, "1B"), 4: (140.0, "4B"), 5: (170.0, "11B")}
    info = {int(c): ((120.0, "8A") if t in (1, 2) else far[int(t)]) for c, t in zip(ids, tracks)}
    config = PairConfig(neg_other_track=0, neg_same_track=0, neg_reversed=0, neg_hard=1, seed=1)
    data = PairData(
        synthetic_table,
        config,
        info,
        splits={"train": np.array([1, 2, 3, 4, 5]), "val": np.array([], int), "test": np.array([], int)},
    )
    pairs = data.pairs("train")
    hard = pairs.kind == KINDS.index("hard")
    assert hard.any()
    assert set(tracks[pairs.a[hard]]) <= {1, 2}
    assert np.all(tracks[pairs.a[hard]] != tracks[pairs.b[hard]])
    assert set(tracks[pairs.b[hard]]) <= {1, 2}


def test_tempo_and_key_rules():
    # Hard negatives use the same rules as the mix room's compatibility limits.
    assert tempo_ratio_ok(120, 124, 6) and tempo_ratio_ok(120, 61, 6) and not tempo_ratio_ok(120, 100, 6)
    assert tempo_ratio_ok(None, 120, 6) is True
    assert camelot_distance("8A", "8A") == 0 and camelot_distance("8A", "9A") == 1 and camelot_distance("8A", "8B") == 1
    assert camelot_distance("12A", "1A") == 1 and camelot_distance("8A", "2A") == 6
    with pytest.raises(ValueError):
        camelot_distance("x", "8A")
    analysis = {(1, None): {"bpm": 100.0, "camelot": "5A"}, (1, 7): {"camelot": "6A"}}
    assert tempo_key_from_analysis(analysis) == {7: (100.0, "6A")}


def test_tempo_and_key_are_inherited_by_the_one_rule():
    from mixdesk.analysis.compat import chunk_tempo_key

    analysis = {
        (1, None): {"bpm": 100.0, "camelot": "5A"},
        (1, 7): {"bpm": float("nan")},  # no tempo found in the chunk: the track's
        (1, 8): {"bpm": 50.0, "camelot": "6A"},
        (2, 9): {"lufs": -9.0},  # nothing known, no track values
    }
    got = tempo_key_from_analysis(analysis)
    assert got == {7: (100.0, "5A"), 8: (50.0, "6A"), 9: (None, "")}
    assert all(got[c] == chunk_tempo_key(analysis, t, c) for t, c in analysis if c is not None)


def test_hard_pools_treat_an_empty_key_as_unknown(synthetic_table):
    from mixdesk.ml.pairs import hard_pools

    ids, tracks = synthetic_table.chunk_ids, synthetic_table.track_ids
    a, b, c = (int(np.flatnonzero(tracks == t)[0]) for t in np.unique(tracks)[:3])
    for unknown in ((None, ""), (None, None)):
        info = {int(ids[a]): unknown, int(ids[b]): (120.0, "8A"), int(ids[c]): (121.0, "8A")}
        pools = hard_pools(synthetic_table, info, PairConfig())
        assert a not in pools  # nothing known about it: no compatible chunks
        assert pools[b].tolist() == [c] and pools[c].tolist() == [b]


def test_augmentation_keeps_shapes_and_changes_values():
    x = torch.rand(4, 8, 20) * 5
    g = torch.Generator().manual_seed(0)
    y = augment_edges(x, True, 6.0, 3, g, log_mel=True)
    assert y.shape == x.shape and not torch.equal(x, y)
    z = augment_edges(x, False, 0.0, 0, g, log_mel=True)
    assert torch.equal(x, z)
