import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import mutagen
import numpy as np
import pytest
import soundfile as sf

from mix_helpers import scorer_for_project
from mixdesk.mix.config import EXPORT_FORMATS, MP3_BITRATES, ExportConfig, SequenceConfig
from mixdesk.mix.export import export_mix
from mixdesk.mix.playlist import Playlist, PlaylistItem, Transition
from mixdesk.mix.sequencing import sequence
from mixdesk.mix.sources import ArraySource
from mixdesk.mix.tracklist import cue_sheet, cue_time, read_tracklist
from mixdesk.progress import Cancelled

SR = 44100
MP3_SLACK = 1152 + 1105  # one MP3 frame plus LAME's encoder delay and padding


def noisy_tracks(seconds=6, n=3):
    rng = np.random.default_rng(1)
    t = np.arange(seconds * SR) / SR
    tracks = {}
    for k in range(1, n + 1):
        mono = 0.3 * np.sin(2 * np.pi * 110 * (k + 1) * t) + 0.05 * rng.standard_normal(len(t))
        tracks[k] = np.stack([mono, 0.8 * mono], axis=1).astype(np.float32)
    return tracks


def short_playlist(count=4, length_ms=1500):
    items = [
        PlaylistItem(
            chunk_id=i + 1,
            track_id=i % 3 + 1,
            source_path=f"/music/t{i % 3 + 1}.wav",
            in_ms=500 + 100 * i,
            out_ms=500 + 100 * i + length_ms,
            transition=Transition("crossfade", 300),
            score=0.5,
        )
        for i in range(count)
    ]
    return Playlist(tuple(items))


@pytest.mark.parametrize(
    "fmt,mode,kbps,encoder",
    [
        ("mp3", "cbr", 128, "soundfile"),
        ("mp3", "cbr", 320, "ffmpeg"),
        ("mp3", "vbr", 192, "auto"),
        ("wav", "cbr", 192, "auto"),
        ("flac", "cbr", 192, "auto"),
    ],
)
def test_export_decodes_back_to_the_rendered_length_with_tags(tmp_path, fmt, mode, kbps, encoder):
    config = ExportConfig(
        format=fmt,
        bitrate_mode=mode,
        bitrate_kbps=kbps,
        encoder=encoder,
        title="Night Mix",
        artist="Desk",
        comment="made from chunks",
    )
    target = tmp_path / f"mix.{fmt}"
    result = export_mix(ArraySource(noisy_tracks()), short_playlist(), target, config)
    expected = int(round(result.duration_s * SR))
    assert abs(expected - (4 * 1500 - 3 * 300) * SR / 1000) < 0.02 * SR
    data, sr = sf.read(str(target), dtype="float32")
    assert sr == SR and data.shape[1] == 2
    slack = MP3_SLACK if fmt == "mp3" else 0
    assert abs(len(data) - expected) <= slack
    assert np.max(np.abs(data)) <= 1.0
    raw = mutagen.File(str(target))
    if fmt == "flac":
        tags = {k: raw.tags[k] for k in ("title", "artist", "comment")}
    else:
        tags = {"title": raw.tags["TIT2"].text, "artist": raw.tags["TPE1"].text, "comment": raw.tags["COMM::eng"].text}
    assert tags == {"title": ["Night Mix"], "artist": ["Desk"], "comment": ["made from chunks"]}
    if fmt == "mp3":
        assert str(raw.info.bitrate_mode).endswith("CBR" if mode == "cbr" else "VBR")
        if mode == "cbr":
            assert abs(raw.info.bitrate / 1000 - kbps) < 2
    assert not [p for p in tmp_path.iterdir() if ".part" in p.name]


def test_cue_sheet_is_well_formed_and_times_are_in_cd_frames():
    assert cue_time(0) == "00:00:00"
    assert cue_time(61_500) == "01:01:37"
    assert cue_time(3_725_990) == "62:05:74"
    for count in (5, 250):
        items = [
            {
                "chunk_id": i,
                "source_path": f"/m/song {i}.wav",
                "source_start_ms": 1000.0 * i,
                "source_end_ms": 1000.0 * i + 2500,
                "mix_start_ms": 2000.0 * i,
            }
            for i in range(count)
        ]
        cue = cue_sheet({"title": 'A "quoted" title', "artist": "x", "audio": "mix.mp3", "items": items})
        lines = cue.splitlines()
        assert re.fullmatch(r'FILE "mix\.mp3" MP3', lines[3])
        tracks = [int(m.group(1)) for m in (re.fullmatch(r"  TRACK (\d\d) AUDIO", ln) for ln in lines) if m]
        assert tracks == list(range(1, len(tracks) + 1)) and len(tracks) <= 99
        indices = [
            re.fullmatch(r"    INDEX (\d\d) (\d\d+):(\d\d):(\d\d)", ln)
            for ln in lines
            if ln.strip().startswith("INDEX")
        ]
        assert len(indices) == count and all(indices)
        frames = [(int(m[2]) * 60 + int(m[3])) * 75 + int(m[4]) for m in indices]
        assert all(int(m[4]) < 75 and int(m[3]) < 60 for m in indices)
        assert frames == sorted(frames) and frames[0] == 0
        for line in lines:
            assert line.count('"') in (0, 2, 4), line
        assert sum(1 for ln in lines if ln.strip().startswith("REM SOURCE")) == count


def test_one_table_of_export_formats_drives_the_config_the_cue_and_the_command_line():
    from mixdesk.cli import build_parser

    mix = build_parser()._subparsers._group_actions[0].choices["mix"]
    options = {a.dest: a for a in mix._actions}
    assert tuple(options["format"].choices) == tuple(EXPORT_FORMATS)
    assert (
        tuple(options["bitrate"].choices) == MP3_BITRATES and options["bitrate"].default == ExportConfig().bitrate_kbps
    )
    for name, fmt in EXPORT_FORMATS.items():
        assert ExportConfig(format=name).format == name
        cue = cue_sheet({"audio": f"mix.{name}", "items": []}, name)
        assert cue.splitlines()[3].endswith(f" {fmt.cue_file_type}")
    with pytest.raises(ValueError, match="mp3"):
        ExportConfig(format="ogg")


def test_project_export_writes_tracklist_with_sources(tmp_path, small_project):
    scorer = scorer_for_project(small_project)
    playlist = sequence(small_project, scorer, SequenceConfig(minutes=0.25, seed=3, crossfade_ms=300))
    target = tmp_path / "out" / "mix.mp3"
    result = export_mix(small_project, playlist, target, ExportConfig(bitrate_kbps=128))
    tracklist = read_tracklist(result.tracklist_path)
    assert len(tracklist["items"]) == len(playlist)
    keys = {"chunk_id", "source_path", "source_start_ms", "source_end_ms", "mix_start_ms", "mix_end_ms", "score"}
    assert keys <= set(tracklist["items"][0])
    starts = [it["mix_start_ms"] for it in tracklist["items"]]
    assert starts == sorted(starts)
    assert abs(tracklist["items"][-1]["mix_end_ms"] - result.duration_s * 1000) < 1
    for path, info in tracklist["sources"].items():
        assert Path(path).exists() and info["chunks"]
    assert result.cue_path.read_text().count("INDEX 01") >= 1
    assert json.loads(result.tracklist_path.read_text())["audio"] == "mix.mp3"


def test_cancelled_or_failed_export_leaves_no_file_and_keeps_the_old_one(tmp_path):
    target = tmp_path / "mix.wav"
    with pytest.raises(Cancelled):
        export_mix(ArraySource(noisy_tracks()), short_playlist(), target, should_stop=lambda: True)
    assert list(tmp_path.iterdir()) == []
    target.write_bytes(b"previous mix")
    broken = Playlist((short_playlist()[0].with_(track_id=99),))  # a track the source does not have
    with pytest.raises(KeyError):
        export_mix(ArraySource(noisy_tracks()), broken, target)
    assert target.read_bytes() == b"previous mix"
    assert [p.name for p in tmp_path.iterdir()] == ["mix.wav"]


_KILLED_EXPORT = """
import sys
import numpy as np
from mixdesk.mix.config import ExportConfig
from mixdesk.mix.export import export_mix
from mixdesk.mix.playlist import Playlist, PlaylistItem
from mixdesk.mix.sources import ArraySource

rng = np.random.default_rng(0)
tracks = {1: (0.2 * rng.standard_normal((44100 * 20, 2))).astype(np.float32)}
items = [PlaylistItem(i, 1, "t.wav", 1000 * (i % 15), 1000 * (i % 15) + 4000) for i in range(3000)]
print("ready", flush=True)
export_mix(ArraySource(tracks), Playlist(tuple(items)), sys.argv[1], ExportConfig(encoder="soundfile"))
"""


def test_killed_export_leaves_nothing_under_the_target_name(tmp_path):
    target = tmp_path / "mix.mp3"
    proc = subprocess.Popen([sys.executable, "-c", _KILLED_EXPORT, str(target)], stdout=subprocess.PIPE)
    try:
        assert proc.stdout.readline().strip() == b"ready"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            parts = [p for p in tmp_path.iterdir() if ".part" in p.name]
            if parts and parts[0].stat().st_size > 50_000:
                break
            assert proc.poll() is None, "the export ended before it could be killed"
            time.sleep(0.05)
        else:
            pytest.fail("the export never started writing")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert not target.exists()


def test_settings_round_trip_through_plain_dicts():
    from mixdesk.mix.config import RenderConfig

    export = ExportConfig(format="flac", render=RenderConfig(gain_match=False, block_frames=4096))
    assert ExportConfig.from_dict(json.loads(json.dumps(export.to_dict()))) == export
    seq = SequenceConfig(strategy="beam", beam_width=3, max_bpm_diff_pct=4.0)
    assert SequenceConfig.from_dict(seq.to_dict()) == seq
    with pytest.raises(ValueError):
        ExportConfig(bitrate_kbps=100)
    with pytest.raises(ValueError):
        SequenceConfig(strategy="random")
