"""Exports that meet hostile names and a previous export killed half-way."""

from __future__ import annotations

import os
import time

import mutagen
import numpy as np

from mixdesk.mix.config import ExportConfig
from mixdesk.mix.export import export_mix
from mixdesk.mix.playlist import Playlist, PlaylistItem, Transition
from mixdesk.mix.sources import ArraySource
from mixdesk.mix.tracklist import cue_sheet

SR = 44100
CUE_COMMANDS = ("REM ", "PERFORMER ", "TITLE ", "FILE ", "TRACK ", "INDEX ")
FORGED = '\r\nFILE "../../x" WAVE\r\n'


def _tracks(seconds: int = 4) -> dict[int, np.ndarray]:
    t = np.arange(seconds * SR) / SR
    return {k: np.stack([0.3 * np.sin(2 * np.pi * 110 * (k + 1) * t)] * 2, axis=1).astype(np.float32) for k in (1, 2)}


def _playlist(source_path: str) -> Playlist:
    return Playlist(
        tuple(
            PlaylistItem(
                chunk_id=i + 1,
                track_id=i % 2 + 1,
                source_path=source_path if i == 0 else f"/music/t{i}.wav",
                in_ms=500,
                out_ms=2000,
                transition=Transition("crossfade", 200),
                score=0.5,
            )
            for i in range(3)
        )
    )


def _assert_cue_lines_are_its_own(text: str) -> None:
    assert "\r" not in text
    lines = text.splitlines()
    assert all(line.strip().startswith(CUE_COMMANDS) for line in lines), lines
    (file_line,) = [line for line in lines if line.startswith("FILE ")]
    # Every quoted field is one field: exactly two quotes per line that quotes anything.
    assert all(line.count('"') in (0, 2) for line in lines), lines
    assert file_line.endswith(('" MP3', '" WAVE'))


def test_control_characters_cannot_forge_cue_lines_or_tags(tmp_path):
    config = ExportConfig(
        format="flac",
        title=f"Night{FORGED}Mix",
        artist=f"DJ\x00\x1b[31m{FORGED}",
        comment="line one\nline two\u2028three",
    )
    out = tmp_path / "mix.flac"
    result = export_mix(ArraySource(_tracks()), _playlist(f"/music/evil{FORGED}name.wav"), out, config)
    text = result.cue_path.read_text(encoding="utf-8")
    _assert_cue_lines_are_its_own(text)
    assert "TITLE \"Night  FILE '../../x' WAVE  Mix\"" in text
    tags = mutagen.File(str(out))
    for key in ("title", "artist", "comment"):
        value = tags[key][0]
        assert not any(ord(c) < 32 or c in "\x7f\u2028\u2029" for c in value), (key, value)


def test_cue_sheet_cleans_the_audio_file_name(tmp_path):
    tracklist = {
        "title": "t",
        "artist": "a",
        "audio": f"mix{FORGED}.mp3",
        "items": [
            {
                "chunk_id": 1,
                "source_path": f"/m/a{FORGED}.wav",
                "source_start_ms": 0,
                "source_end_ms": 1000,
                "mix_start_ms": 0,
            }
        ],
    }
    _assert_cue_lines_are_its_own(cue_sheet(tracklist, "mp3"))


def test_export_removes_the_stale_temp_file_of_a_killed_export(tmp_path):
    out = tmp_path / "mix.wav"
    stale = [
        tmp_path / ".mix.wav.k1ll3d00.part.wav",
        tmp_path / ".mix.cue.k1ll3d00.part.cue",
        tmp_path / ".mix.json.k1ll3d00.part.json",
    ]
    running = tmp_path / ".mix.wav.running.part.wav"  # another export, writing right now
    unrelated = tmp_path / ".other.wav.k1ll3d00.part.wav"
    old = time.time() - 3600
    for path in stale + [running, unrelated]:
        path.write_bytes(b"half a mix")
    for path in stale + [unrelated]:
        os.utime(path, (old, old))
    export_mix(ArraySource(_tracks()), _playlist("/music/t0.wav"), out, ExportConfig(format="wav"))
    assert out.exists() and running.exists() and unrelated.exists()
    assert not any(path.exists() for path in stale)
