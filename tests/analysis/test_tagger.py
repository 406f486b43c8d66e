"""The torch port of musicnn reproduces the original TensorFlow model's tag scores."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from mixdesk.analysis import tagger

REPO = Path(__file__).resolve().parents[2]
REFERENCE = Path(__file__).resolve().parent / "data" / "musicnn_reference.json"
# Bundled weights are float16; the float32 port agrees with TensorFlow to 3e-6.
TOLERANCE = 5e-3


def _converter():
    spec = importlib.util.spec_from_file_location("convert_musicnn", REPO / "models" / "musicnn" / "convert_musicnn.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize("name", tagger.MODEL_NAMES)
def test_port_matches_tensorflow_reference(name):
    converter = _converter()
    reference = json.loads(REFERENCE.read_text())["models"][name]
    assert tuple(reference["labels"]) == tagger.LABELS[name]
    for kind, clip in reference["clips"].items():
        audio = converter.synth_clip(kind, seed=clip["seed"])
        scores = tagger.patch_scores(tagger.patches(tagger.log_mel(audio)), name)
        expected = np.asarray(clip["patch_scores"])
        assert scores.shape == expected.shape
        assert np.abs(scores - expected).max() < TOLERANCE, kind
    # The reference clips differ, and so do their scores: a constant output would not pass.
    clips = list(reference["clips"].values())
    assert np.abs(np.asarray(clips[0]["patch_scores"]) - np.asarray(clips[1]["patch_scores"])).max() > 0.1


def test_short_input_is_repeat_padded_to_one_patch():
    mel = np.arange(50 * tagger.N_MELS, dtype=np.float32).reshape(50, tagger.N_MELS)
    batch = tagger.patches(mel)
    assert batch.shape == (1, tagger.PATCH_FRAMES, tagger.N_MELS)
    np.testing.assert_array_equal(batch[0, 50:100], mel)
    assert tagger.patches(np.zeros((400, tagger.N_MELS))).shape[0] == 2


def test_tag_track_scores_track_and_ranges():
    audio = _converter().synth_clip("beat", seconds=8.0)
    track, ranges = tagger.tag_track(audio, [(0.0, 2.0), (2.0, 8.0)])
    assert set(track) == set(tagger.MSD_LABELS) and len(ranges) == 2
    assert all(0.0 <= s <= 1.0 for s in track.values())
    top = tagger.top_tags(track, 3)
    assert len(top) == 3 and list(top.values()) == sorted(top.values(), reverse=True)
