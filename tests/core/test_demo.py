"""The built-in demo tracks: cached, deterministic, and shaped for the default silence cut."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from mixdesk.core import demo
from mixdesk.progress import Cancelled

SR = demo.SAMPLE_RATE


@pytest.fixture(scope="module")
def demo_set(_private_home):
    # The session's home, so that later tests (desk, demo mix) reuse these renders instead of repeating them.
    reports = []
    paths = demo.ensure_demo_tracks(on_progress=reports.append)
    return {"home": _private_home, "paths": paths, "reports": reports}


@pytest.fixture(scope="module")
def decoded(demo_set):
    return [sf.read(str(p), dtype="float32", always_2d=True) for p in demo_set["paths"]]


def _window_db(samples: np.ndarray, hop_ms: int = 10, win_ms: int = 300) -> np.ndarray:
    # RMS over both channels together, as pydub measures a stereo segment.
    power = np.concatenate([[0.0], np.cumsum((samples.astype(np.float64) ** 2).mean(axis=1))])
    win, hop = SR * win_ms // 1000, SR * hop_ms // 1000
    starts = np.arange(0, len(samples) - win, hop)
    return 10 * np.log10((power[starts + win] - power[starts]) / win + 1e-20)


def _quiet_runs(db: np.ndarray, thresh: float) -> list[np.ndarray]:
    below = np.concatenate([[0], (db < thresh).astype(np.int8), [0]])
    edges = np.flatnonzero(np.diff(below))
    return [db[s:e] for s, e in zip(edges[::2], edges[1::2])]


def test_files_created_with_versioned_names(demo_set):
    paths = demo_set["paths"]
    assert [p.name for p in paths] == [t.filename for t in demo.DEMO_TRACKS]
    assert len(paths) == 4
    for p in paths:
        assert p.is_file() and p.parent.parent.parent == demo_set["home"]
        assert demo.RECIPE_VERSION in p.name and p.suffix == ".flac"
    assert not list(paths[0].parent.glob("*.part*"))


def test_progress_reaches_the_end(demo_set):
    reports = demo_set["reports"]
    assert len(reports) >= len(demo.DEMO_TRACKS)
    assert reports[-1].fraction == 1.0
    assert [r.done for r in reports] == sorted(r.done for r in reports)


def test_format_tags_and_metadata(demo_set):
    from mutagen.flac import FLAC

    bpms = set()
    for path, track in zip(demo_set["paths"], demo.DEMO_TRACKS):
        info = sf.info(str(path))
        assert (info.samplerate, info.channels, info.format, info.subtype) == (SR, 2, "FLAC", "PCM_16")
        assert 75.0 <= info.duration <= 120.0
        assert abs(info.duration - track.duration_s) < 0.05
        tags = FLAC(path)
        assert tags["title"] == [track.title]
        assert tags["artist"] == ["mixdesk demo"]
        assert tags["genre"] == [track.genre]
        assert track.key.split()[1] in ("major", "minor")
        bpms.add(track.bpm)
    assert len(bpms) == len(demo.DEMO_TRACKS)


def test_second_call_reuses_files(demo_set):
    before = [p.stat().st_mtime_ns for p in demo_set["paths"]]
    again = demo.ensure_demo_tracks()
    assert again == demo_set["paths"]
    assert [p.stat().st_mtime_ns for p in again] == before


def test_files_of_older_recipes_are_removed(demo_set):
    folder = demo_set["paths"][0].parent
    stale = folder / "demo-v0-01-old.flac"
    stale.write_bytes(b"not audio")
    demo.ensure_demo_tracks()
    assert not stale.exists()


def test_rendering_is_deterministic(demo_set, tmp_path):
    track = demo.DEMO_TRACKS[-1]
    again = tmp_path / "again.flac"
    sf.write(str(again), demo.render_track(track), SR, format="FLAC", subtype="PCM_16")
    first, _ = sf.read(str(demo_set["paths"][-1]), dtype="int16")
    second, _ = sf.read(str(again), dtype="int16")
    assert np.array_equal(first, second)


def test_no_clipping(decoded):
    for samples, _ in decoded:
        peak_db = 20 * np.log10(np.abs(samples).max())
        assert -3.0 < peak_db <= -0.5


def test_loud_phrases_and_quiet_gaps(decoded):
    for samples, _ in decoded:
        db = _window_db(samples)
        loud = db[db > -16.0]
        assert loud.size > 0.6 * db.size
        assert np.median(loud) > -12.0
        assert np.percentile(loud, 10) > -14.0
        gaps = _quiet_runs(db, -16.0)
        assert 6 <= len(gaps) <= 20
        deep = [g for g in gaps if g.min() < -30.0]
        assert len(deep) >= 5


def test_cancel_before_rendering_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("MIXDESK_HOME", str(tmp_path))
    with pytest.raises(Cancelled):
        demo.ensure_demo_tracks(should_stop=lambda: True)
    assert not list(tmp_path.rglob("*.flac*"))


def test_default_silence_cut_finds_phrases(demo_set):
    chunking = pytest.importorskip("mixdesk.core.chunking")
    audio = pytest.importorskip("mixdesk.core.audio")
    from mixdesk.config import ChunkingConfig

    for path in demo_set["paths"]:
        ranges = chunking.chunk_ranges(chunking.Envelope.from_audio(audio.decode(path)), ChunkingConfig())
        assert 6 <= len(ranges) <= 40
