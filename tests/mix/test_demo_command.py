"""`mixdesk demo`: the whole path on the built-in material, from synthesis to an MP3 with its tracklist."""

from __future__ import annotations

import json
import subprocess
import sys

import soundfile as sf


def test_demo_command_builds_a_mix_with_the_bundled_model(tmp_path):
    out = tmp_path / "demo.mp3"
    proc = subprocess.run(
        [sys.executable, "-m", "mixdesk", "demo", "--minutes", "0.5", "--out", str(out), "--quiet"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "pool: 4 tracks" in proc.stdout and f"mix: {out}" in proc.stdout
    assert "bundled transition model" in proc.stdout
    info = sf.info(str(out))
    assert 28.0 <= info.duration <= 45.0 and info.channels == 2
    tracklist = json.loads(out.with_suffix(".json").read_text())
    items = tracklist["items"]
    assert len(items) >= 3
    assert all(
        set(item)
        >= {"chunk_id", "source_path", "source_start_ms", "source_end_ms", "mix_start_ms", "mix_end_ms", "score"}
        for item in items
    )
    assert [i["mix_start_ms"] for i in items] == sorted(i["mix_start_ms"] for i in items)
    assert out.with_suffix(".cue").read_text().startswith(("REM", "TITLE", "PERFORMER", "FILE"))
