"""Analysis of a whole project, its cache, the descriptor vectors and the analyze command."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mixdesk.analysis.descriptors import DESCRIPTOR_KEYS
from mixdesk.analysis.project_analysis import (
    DESCRIPTOR_VECTOR_NAMES,
    analyse_project,
    chunk_descriptor_vectors,
    chunk_descriptors,
    chunk_tags,
    track_descriptors,
)
from mixdesk.analysis.synthetic import click_track, key_piece
from mixdesk.cli import main
from mixdesk.progress import Cancelled


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_analyse_project_fills_every_track_and_chunk(small_project):
    seen = []
    report = analyse_project(small_project, on_progress=seen.append)
    tracks, chunks = small_project.tracks(), small_project.chunks()
    assert sorted(report.analysed) == sorted(t.id for t in tracks) and not report.failed
    assert set(track_descriptors(small_project)) == {t.id for t in tracks}
    docs = chunk_descriptors(small_project)
    assert set(docs) == {c.id for c in chunks}
    assert all(set(DESCRIPTOR_KEYS) <= set(d) for d in docs.values())
    assert set(chunk_tags(small_project)) == {c.id for c in chunks}
    assert seen and seen[-1].fraction == 1.0
    vectors = chunk_descriptor_vectors(small_project)
    assert set(vectors) == {c.id for c in chunks}
    stacked = np.stack(list(vectors.values()))
    assert stacked.dtype == np.float32 and stacked.shape[1] == len(DESCRIPTOR_VECTOR_NAMES)
    assert np.isfinite(stacked).all() and np.abs(stacked).max() <= 5.0
    with_tags = chunk_descriptor_vectors(small_project, include_tags=True)
    assert with_tags[chunks[0].id].shape == (len(DESCRIPTOR_VECTOR_NAMES) + 50,)
    again = analyse_project(small_project)
    assert not again.analysed and len(again.skipped) == len(tracks)


def test_analyse_project_can_be_cancelled(small_project):
    with pytest.raises(Cancelled):
        analyse_project(small_project, tags=False, should_stop=lambda: True)


def test_analyze_command_reports_each_file_and_fails_on_a_bad_one(tmp_path, capsys):
    import soundfile as sf

    good = tmp_path / "good.wav"
    y = click_track(124, 10.0, 22050) + key_piece(9, True, 10.0, 22050)
    sf.write(good, np.stack([y, y], axis=1), 22050)
    bad = tmp_path / "bad.mp3"
    bad.write_bytes(b"not audio at all")
    code = main(["analyze", str(good), str(bad), "--json"])
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 1 and len(lines) == 2
    assert lines[0]["path"] == str(good)
    assert abs(lines[0]["bpm"] - 124) < 1.0 and lines[0]["key"] == "A minor" and lines[0]["camelot"] == "8A"
    assert isinstance(lines[0]["lufs"], float) and 1 <= len(lines[0]["tags"]) <= 5
    assert lines[1]["path"] == str(bad) and lines[1]["error"]


def test_analyze_project_command(small_project, capsys):
    path = str(small_project.path)
    small_project.close()
    assert main(["analyze", "--project", path, "--no-tags", "--json", "--quiet"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["analysed"] == 4 and summary["failed"] == []
    assert main(["analyze"]) == 1


def test_descriptor_vector_encoding():
    from mixdesk.analysis.project_analysis import descriptor_vector

    names = list(DESCRIPTOR_VECTOR_NAMES)
    a = descriptor_vector({"bpm": 120.0, "bpm_confidence": 0.8, "camelot": "8A", "lufs": -14.0, "centroid_hz": 1500.0})
    b = descriptor_vector({"bpm": 240.0, "camelot": "9A"})
    c = descriptor_vector({"bpm": 120.0, "camelot": "2A"})
    unknown = descriptor_vector({})
    assert a[names.index("tempo_octave")] == 0.0 and b[names.index("tempo_octave")] == pytest.approx(1.0)
    assert a[names.index("lufs")] == 0.0 and a[names.index("centroid_octave")] == 0.0
    key = [names.index("key_sin"), names.index("key_cos")]
    # Camelot neighbours sit closer than opposite keys on the wheel.
    assert np.linalg.norm(a[key] - b[key]) < np.linalg.norm(a[key] - c[key])
    assert unknown[names.index("tempo_known")] == 0.0 and unknown[names.index("key_known")] == 0.0


def test_silent_and_tiny_inputs_give_empty_values_not_errors():
    from mixdesk.analysis.project_analysis import analyse_samples

    silent = analyse_samples(np.zeros((44100 * 4, 2), np.float32), 44100, [(0, 100)], tag_model=None)
    assert silent.descriptors["bpm"] == 0.0 and silent.descriptors["key"] == "" and silent.descriptors["lufs"] == -70.0
    tiny = analyse_samples(np.full(10, 0.1, np.float32), 44100, None)
    assert tiny.descriptors["bpm"] == 0.0 and set(tiny.tags) and np.isfinite(tiny.descriptors["lufs"])


def test_only_tracks_whose_chunks_lack_descriptors_are_analysed(small_project):
    from mixdesk.analysis.project_analysis import analyse_missing_chunks

    tracks = small_project.tracks()
    first = [c.id for c in small_project.chunks(tracks[0].id)]
    report = analyse_missing_chunks(small_project, first)
    assert report.analysed == [tracks[0].id]
    assert set(chunk_descriptor_vectors(small_project)) == set(first)
    assert chunk_tags(small_project) == {}  # no tagger run for the model's inputs
    report = analyse_missing_chunks(small_project)
    assert sorted(report.analysed) == sorted(t.id for t in tracks[1:])
    assert analyse_missing_chunks(small_project).analysed == []


def test_analysis_in_two_processes_stores_what_one_process_does(small_project, tmp_path, capsys):
    import shutil

    from mixdesk.library.project import Project

    small_project.close()
    copy = tmp_path / "copy.mixdesk"
    shutil.copy(small_project.path, copy)
    with Project.open(small_project.path) as one:
        analyse_project(one, tags=False)
        expected = chunk_descriptors(one), track_descriptors(one)
    assert main(["analyze", "--project", str(copy), "--no-tags", "--jobs", "2", "--json", "--quiet"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["analysed"] == len(expected[1]) and summary["failed"] == []
    with Project.open(copy) as two:
        assert (chunk_descriptors(two), track_descriptors(two)) == expected
