"""Tempo and key compatibility and the Camelot notation."""

from __future__ import annotations

import pytest

from mixdesk.analysis.compat import (
    camelot_distance,
    chunk_tempo_key,
    chunk_tempo_keys,
    filter_by_range,
    filter_by_tags,
    filter_compatible,
    key_compatible,
    tempo_ratio_ok,
)
from mixdesk.analysis.tonal import PITCH_NAMES, camelot_to_key, key_to_camelot


def test_tempo_ratio_within_percentage_and_half_double():
    assert tempo_ratio_ok(120, 126)
    assert not tempo_ratio_ok(120, 130)
    assert tempo_ratio_ok(120, 61)
    assert tempo_ratio_ok(70, 140)
    assert not tempo_ratio_ok(70, 140, allow_half_double=False)
    assert tempo_ratio_ok(120, 123, tolerance_pct=3.0) and not tempo_ratio_ok(120, 124, tolerance_pct=3.0)
    assert tempo_ratio_ok(None, 120) and tempo_ratio_ok(0.0, 120) and tempo_ratio_ok(float("nan"), 120)


def test_camelot_codes_of_known_keys():
    assert key_to_camelot("A minor") == "8A"
    assert key_to_camelot("C major") == "8B"
    assert key_to_camelot("G major") == "9B"
    assert key_to_camelot("F# minor") == "11A"
    assert key_to_camelot("Db major") == "3B"
    assert key_to_camelot("B major") == "1B"
    for pitch in PITCH_NAMES:
        for mode in ("major", "minor"):
            assert camelot_to_key(key_to_camelot(f"{pitch} {mode}")) == f"{pitch} {mode}"


def test_camelot_distance():
    assert camelot_distance("8A", "8A") == 0
    assert camelot_distance("8A", "8B") == 1
    assert camelot_distance("8A", "9A") == 1
    assert camelot_distance("12B", "1B") == 1
    assert camelot_distance("8A", "9B") == 2
    assert camelot_distance("1A", "7A") == 6
    with pytest.raises(ValueError):
        camelot_distance("13A", "1A")


def test_key_compatible():
    assert key_compatible("8A", "7A") and key_compatible("8A", "8B")
    assert not key_compatible("8A", "10A")
    assert key_compatible("8A", "10A", max_steps=2)
    assert key_compatible("", "5B") and key_compatible(None, "5B")


def test_filters():
    docs = {
        1: {"bpm": 120, "camelot": "8A", "lufs": -10},
        2: {"bpm": 124, "camelot": "9A", "lufs": -20},
        3: {"bpm": 60, "camelot": "3B", "lufs": -8},
        4: {"bpm": 100, "camelot": "8A"},
        5: {},
    }
    assert filter_compatible(1, [2, 3, 4, 5], docs) == [2, 5]
    assert filter_compatible(1, [2, 3, 4], docs, max_key_steps=None) == [2, 3]
    assert filter_by_range([1, 2, 3, 4], docs, "lufs", low=-12) == [1, 3, 4]
    tags = {1: {"House": 0.6, "rock": 0.1}, 2: {"rock": 0.7}}
    assert filter_by_tags([1, 2, 3], tags, ["house"]) == [1, 3]


def test_a_chunk_inherits_what_it_lacks_from_its_track():
    descriptors = {
        (1, None): {"bpm": 124.0, "camelot": "8A"},
        (1, 10): {"bpm": 126.0, "camelot": "9A"},  # its own values win
        (1, 11): {"bpm": 0.0, "camelot": None},  # no tempo or key found in the chunk: the track's
        (1, 12): {"bpm": float("nan"), "camelot": "3B"},  # each value on its own
        (2, 20): {"bpm": 90.0},  # a track without analysis of its own: nothing to inherit
    }
    assert chunk_tempo_key(descriptors, 1, 10) == (126.0, "9A")
    assert chunk_tempo_key(descriptors, 1, 11) == (124.0, "8A")
    assert chunk_tempo_key(descriptors, 1, 12) == (124.0, "3B")
    assert chunk_tempo_key(descriptors, 1, 13) == (124.0, "8A")  # not analysed at all
    assert chunk_tempo_key(descriptors, 2, 20) == (90.0, "")
    assert chunk_tempo_key(descriptors, 3, 30) == (None, "")
    bpm, keys = chunk_tempo_keys(descriptors, [1, 1, 3], [10, 11, 30])
    assert bpm[:2].tolist() == [126.0, 124.0] and bpm[2] != bpm[2] and keys == ["9A", "8A", ""]
