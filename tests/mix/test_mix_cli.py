import json

import soundfile as sf

from mixdesk.cli import main


def test_mix_command_writes_audio_tracklist_and_cue(tmp_path, small_project, capsys):
    out = tmp_path / "cli mix.mp3"
    tracklist = tmp_path / "list.json"
    code = main(
        [
            "mix",
            "--project",
            str(small_project.path),
            "--similarity",
            "--minutes",
            "0.3",
            "--out",
            str(out),
            "--tracklist",
            str(tracklist),
            "--strategy",
            "beam",
            "--beam-width",
            "3",
            "--crossfade-ms",
            "250",
            "--seed",
            "1",
            "--bitrate",
            "128",
            "--json",
            "--quiet",
        ]
    )
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["path"] == str(out) and summary["items"] >= 3
    assert summary["scorer"] == "similarity baseline"
    info = sf.info(str(out))
    assert abs(info.duration - summary["duration_s"]) < 0.1
    items = json.loads(tracklist.read_text())["items"]
    assert len(items) == summary["items"]
    assert {
        "chunk_id",
        "source_path",
        "source_start_ms",
        "source_end_ms",
        "mix_start_ms",
        "mix_end_ms",
        "score",
    } <= set(items[0])
    assert out.with_suffix(".cue").read_text().startswith('REM COMMENT "mixdesk"')

    code = main(["seams", str(out), "--tracklist", str(tracklist), "--json", "--quiet"])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert report["summary"]["transitions"] == summary["items"] - 1
    assert report["summary"]["natural_boundaries"] > 0


def test_mix_command_reports_user_errors_in_one_line(tmp_path, capsys):
    code = main(
        [
            "mix",
            "--project",
            str(tmp_path / "missing.mixdesk"),
            "--minutes",
            "1",
            "--out",
            str(tmp_path / "x.mp3"),
            "--quiet",
        ]
    )
    assert code == 1
    err = capsys.readouterr().err.strip()
    assert "no project" in err and len(err.splitlines()) == 1
    code = main(["seams", str(tmp_path / "none.mp3"), "--tracklist", str(tmp_path / "t.json")])
    assert code == 1
