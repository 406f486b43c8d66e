"""The project store: imports that skip broken files, incremental re-imports, re-cuts, crash safety."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time

import numpy as np
import pytest

from audio_fixtures import make_track, song_sections, write_wav
from mixdesk.config import LIBRARY_CHUNKING, ChunkingConfig
from mixdesk.library import importer
from mixdesk.library.project import Project
from mixdesk.progress import Cancelled


def count_decodes(monkeypatch) -> list:
    calls = []
    real = importer.decode

    def counting(path, *args, **kwargs):
        calls.append(str(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(importer, "decode", counting)
    return calls


def test_import_skips_broken_file_and_keeps_the_rest(tmp_path, song_folder):
    (song_folder / "broken.wav").write_bytes(b"RIFF....WAVEfmt garbage")
    (song_folder / "empty.flac").write_bytes(b"")
    with Project.open(tmp_path / "p.mixdesk") as project:
        result = project.import_paths([song_folder])
        assert len(result.added) == 4
        failed = dict(result.failed)
        assert set(failed) == {str(song_folder / "broken.wav"), str(song_folder / "empty.flac")}
        assert "empty" in failed[str(song_folder / "empty.flac")]
        assert len(project.tracks()) == 4
        assert dict(project.import_errors()) == failed
        for track in project.tracks():
            chunks = project.chunks(track.id)
            assert chunks and [c.index for c in chunks] == list(range(len(chunks)))
            assert all(c.duration_ms >= LIBRARY_CHUNKING.min_chunk_ms for c in chunks)
            assert chunks[-1].end_ms <= round(track.duration_s * 1000)


def test_reimport_is_incremental(tmp_path, song_folder, monkeypatch):
    with Project.open(tmp_path / "p.mixdesk") as project:
        project.import_paths([song_folder])
        chunk_ids = [c.id for c in project.chunks()]
        calls = count_decodes(monkeypatch)
        again = project.import_paths([song_folder])
        assert calls == [] and len(again.unchanged) == 4
        assert [c.id for c in project.chunks()] == chunk_ids
        # Touching a file without changing it costs a hash, not a decode.
        os.utime(song_folder / "song1.wav", ns=(1, 1))
        project.import_paths([song_folder])
        assert calls == []
        write_wav(song_folder / "song2.wav", make_track(song_sections(42), seed=42))
        changed = project.import_paths([song_folder])
        assert calls == [str(song_folder / "song2.wav")] and changed.updated == [str(song_folder / "song2.wav")]
        assert len(project.tracks()) == 4


def test_rechunk_uses_cached_envelopes_not_audio(tmp_path, song_folder, monkeypatch):
    with Project.open(tmp_path / "p.mixdesk") as project:
        project.import_paths([song_folder])
    reopened = Project.open(tmp_path / "p.mixdesk")  # fresh process state: envelopes come from the disk cache
    monkeypatch.setattr("mixdesk.library.project.decode", lambda *a, **k: pytest.fail("decoded again"))
    before = len(reopened.chunks())
    fixed = reopened.rechunk(ChunkingConfig(mode="fixed", fixed_length_s=2.0))
    assert fixed == len(reopened.chunks()) and fixed > before
    track = reopened.tracks()[0]
    assert reopened.chunking_of(track.id).mode == "fixed"
    assert reopened.chunks(track.id)[0].end_ms == 2000
    reopened.close()


def test_tags_and_audio_access(tmp_path, song_folder):
    import mutagen.flac

    flac = song_folder / "tagged.flac"
    write_wav(flac, make_track([(3.0, -10.0), (0.5, -200.0), (3.0, -10.0)]))
    tags = mutagen.flac.FLAC(flac)
    tags["title"], tags["artist"], tags["genre"] = "Night Drive", "Tester", "House"
    tags.save()
    with Project.open(tmp_path / "p.mixdesk") as project:
        project.import_paths([flac])
        track = project.tracks()[0]
        assert (track.title, track.artist, track.genre, track.folder) == ("Night Drive", "Tester", "House", "songs")
        chunk = project.chunks()[0]
        mono = project.chunk_audio(chunk, sample_rate=22050, mono=True)
        assert mono.shape == (chunk.duration_ms * 22050 // 1000, 1)
        assert project.chunk_audio(chunk.id).shape[1] == 2


def test_documents_round_trip(tmp_path):
    with Project.open(tmp_path / "p.mixdesk") as project:
        assert project.playlists() == [] and project.models() == []
        project.save_playlist("set 1", {"items": [1, 2, 3]})
        assert project.load_playlist("set 1") == {"items": [1, 2, 3]} and project.playlists() == ["set 1"]
        model_id = project.add_model("m", "/tmp/m.pt", {"auc": 0.9})
        assert project.models()[0]["id"] == model_id and project.models()[0]["meta"] == {"auc": 0.9}
        run = project.add_run("train", {"epochs": 2})
        project.finish_run(run, "done", {"loss": 0.1})
        assert project.runs()[0]["status"] == "done" and project.runs()[0]["metrics"] == {"loss": 0.1}
    with Project.open(tmp_path / "p.mixdesk") as project:
        assert project.load_playlist("set 1") == {"items": [1, 2, 3]}


def test_analysis_documents_are_dropped_when_chunks_change(small_project):
    track = small_project.tracks()[0]
    chunk = small_project.chunks(track.id)[0]
    small_project.put_analysis("descriptors", {"bpm": 120.0}, track.id)
    small_project.put_analysis("descriptors", {"bpm": 121.0}, track.id, chunk.id)
    assert small_project.analysis("descriptors") == {
        (track.id, None): {"bpm": 120.0},
        (track.id, chunk.id): {"bpm": 121.0},
    }
    small_project.rechunk(LIBRARY_CHUNKING.with_(min_silence_ms=200), [track.id])
    assert small_project.analysis("descriptors") == {(track.id, None): {"bpm": 120.0}}


def test_save_as_writes_a_complete_copy_beside_its_cache(small_project, tmp_path):
    small_project.save_playlist("set", {"items": [1]})  # committed, possibly still only in the WAL file
    target = tmp_path / "copies" / "copy.mixdesk"
    steps = []
    assert small_project.save_as(target, on_progress=steps.append) == target.resolve()
    assert steps[-1].done == steps[-1].total
    with Project.open(target) as copy:
        assert [t.path for t in copy.tracks()] == [t.path for t in small_project.tracks()]
        assert len(copy.chunks()) == len(small_project.chunks()) and copy.load_playlist("set") == {"items": [1]}
        assert copy.beat_grids().keys() == small_project.beat_grids().keys()
        assert sorted(p.name for p in copy.cache_dir.iterdir()) == sorted(
            p.name for p in small_project.cache_dir.iterdir()
        )
    small_project.save_playlist("after", {"items": []})  # the original stays open on its own file
    assert small_project.load_playlist("after") == {"items": []}


def test_save_as_is_all_or_nothing(small_project, tmp_path):
    target = tmp_path / "copy.mixdesk"
    target.write_bytes(b"an earlier file")
    with pytest.raises(Cancelled):
        small_project.save_as(target, should_stop=lambda: True)
    assert target.read_bytes() == b"an earlier file"
    assert [p.name for p in tmp_path.iterdir() if ".part" in p.name] == []
    with pytest.raises(ValueError, match="own file"):
        small_project.save_as(small_project.path)


def test_a_file_that_is_not_a_project_is_refused(tmp_path):
    bogus = tmp_path / "x.mixdesk"
    bogus.write_bytes(np.random.default_rng(1).bytes(4096))
    with pytest.raises(ValueError, match="not a mixdesk project"):
        Project.open(bogus)


def test_killed_import_leaves_a_valid_project(tmp_path):
    folder = tmp_path / "many"
    for i in range(24):
        write_wav(folder / f"t{i:02d}.wav", make_track(song_sections(i, seconds=40.0), seed=i))
    project_path = tmp_path / "killed.mixdesk"
    proc = subprocess.Popen(
        [sys.executable, "-m", "mixdesk", "import", str(folder), "--project", str(project_path), "--quiet"]
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
        try:
            with sqlite3.connect(project_path, timeout=5) as probe:
                if probe.execute("SELECT COUNT(*) FROM tracks").fetchone()[0] >= 3:
                    break
        except sqlite3.OperationalError:
            continue  # the schema is not there yet
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert sqlite3.connect(project_path).execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    with Project.open(project_path) as project:
        partial = project.tracks()
        assert 0 < len(partial) < 24
        assert all(project.chunks(t.id) for t in partial)  # no track without its chunks
        result = project.import_paths([folder])
        assert len(result.unchanged) == len(partial) and len(project.tracks()) == 24


def test_recut_never_reuses_chunk_ids(small_project):
    before = {c.id for c in small_project.chunks()}
    small_project.rechunk(ChunkingConfig(mode="fixed", fixed_length_s=1.5))
    assert before.isdisjoint({c.id for c in small_project.chunks()})


def test_most_recent_playlist_comes_first(small_project):
    for name in ("a", "b", "c"):
        small_project.save_playlist(name, {"items": []})
    small_project.save_playlist("a", {"items": [1]})
    assert small_project.playlists() == ["a", "c", "b"]


def test_demo_project_drops_tracks_of_an_older_recipe():
    from mixdesk.library.demo import open_demo_project

    with open_demo_project() as project:
        current = {t.path for t in project.tracks()}
        with project.transaction() as conn:
            conn.execute(
                "INSERT INTO tracks(path, hash, size, mtime_ns, duration_s, sample_rate, channels, format,"
                " chunking) VALUES ('/gone/demo-v0-01-old.flac', 'x', 1, 1, 1.0, 44100, 2, 'flac', '{}')"
            )
    with open_demo_project() as project:
        assert {t.path for t in project.tracks()} == current and len(current) == 4


def test_linked_folders_are_imported_once(tmp_path, song_folder):
    library = tmp_path / "library"
    library.mkdir()
    (library / "house").symlink_to(song_folder, target_is_directory=True)
    (library / "house" / "loop").symlink_to(library, target_is_directory=True)  # a link loop
    with Project.open(tmp_path / "p.mixdesk") as project:
        result = project.import_paths([library])
        assert len(result.added) == 4 and not result.failed
