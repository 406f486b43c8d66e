"""``mixdesk analyze`` on hostile input: one line per failure, and the batch goes on."""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest
import soundfile as sf

from mixdesk.cli import main

SR = 22050


def _tone(seconds: float = 3.0, freq: float = 220.0) -> np.ndarray:
    t = np.arange(int(SR * seconds)) / SR
    return (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def _poisoned(path, value: float):
    samples = _tone()
    samples[1000:1010] = value
    sf.write(str(path), samples, SR, subtype="FLOAT")
    return path


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def test_analyze_files_reports_each_bad_file_in_one_line_and_goes_on(tmp_path, capsys):
    nan = _poisoned(tmp_path / "nan.wav", np.nan)
    inf = _poisoned(tmp_path / "inf.wav", np.inf)
    huge = _poisoned(tmp_path / "huge.wav", 1e30)
    good = tmp_path / "good.wav"
    sf.write(str(good), _tone(), SR)
    code = main(["analyze", str(nan), str(inf), str(huge), str(good), "--no-tags", "--json"])
    out = capsys.readouterr()
    assert code == 1
    records = [json.loads(line) for line in _lines(out.out)]
    assert [r["path"] for r in records] == [str(nan), str(inf), str(huge), str(good)]
    assert records[0]["error"].startswith("non-finite samples") and records[1]["error"].startswith("non-finite")
    assert "far outside" in records[2]["error"]
    assert "error" not in records[3] and records[3]["duration_s"] == pytest.approx(3.0)


def test_analyze_files_survives_a_library_exception(tmp_path, monkeypatch, capsys):
    from librosa.util.exceptions import ParameterError

    import mixdesk.analysis.project_analysis as pa

    real = pa.analyse_samples

    def fussy(samples, rate, ranges=None, tag_model=None):
        if samples.shape[0] < SR * 2:
            raise ParameterError("Audio buffer is not finite everywhere\nsecond line")
        return real(samples, rate, ranges, tag_model)

    monkeypatch.setattr(pa, "analyse_samples", fussy)
    short, long = tmp_path / "short.wav", tmp_path / "long.wav"
    sf.write(str(short), _tone(1.0), SR)
    sf.write(str(long), _tone(3.0), SR)
    code = main(["analyze", str(short), str(long), "--no-tags"])
    out = capsys.readouterr().out
    assert code == 1
    first, second = _lines(out)
    assert first == f"{short}: error: analysis failed (ParameterError: Audio buffer is not finite everywhere)"
    assert second.startswith(f"{long}: ") and "BPM" in second


@pytest.fixture
def analysed_project(tmp_path):
    from mixdesk.library.project import Project

    folder = tmp_path / "songs"
    folder.mkdir()
    for i in range(3):
        sf.write(str(folder / f"t{i}.wav"), _tone(3.0, 220.0 * (i + 1)), SR, subtype="FLOAT")
    path = tmp_path / "p.mixdesk"
    with Project.open(path) as project:
        assert len(project.import_paths([folder]).added) == 3
    return path, folder


def test_analyze_project_records_a_failing_track_and_finishes_the_rest_on_every_run(analysed_project, capsys):
    path, folder = analysed_project
    _poisoned(folder / "t0.wav", np.nan)  # the file went bad after its import
    for analysed in (2, 0):
        code = main(["analyze", "--project", str(path), "--no-tags", "--quiet", "--json"])
        summary = json.loads(capsys.readouterr().out)
        assert code == 1
        assert summary["analysed"] == analysed and summary["skipped"] == 2 - analysed
        (failure,) = summary["failed"]
        assert failure["error"].startswith("non-finite samples")


def test_analyze_project_survives_a_library_exception(analysed_project, monkeypatch, capsys):
    from librosa.util.exceptions import ParameterError

    import mixdesk.analysis.project_analysis as pa

    real = pa.analyse_samples
    calls = []

    def fussy(samples, rate, ranges=None, tag_model=None):
        calls.append(1)
        if len(calls) == 1:
            raise ParameterError("Audio buffer is not finite everywhere")
        return real(samples, rate, ranges, tag_model)

    monkeypatch.setattr(pa, "analyse_samples", fussy)
    path, _ = analysed_project
    code = main(["analyze", "--project", str(path), "--no-tags", "--quiet"])
    lines = _lines(capsys.readouterr().out)
    assert code == 1
    assert lines[0] == f"{path}: 2 tracks analysed, 0 already done, 1 failed"
    assert "Audio buffer is not finite everywhere" in lines[1] and len(lines) == 2


def test_analyze_reports_a_damaged_project_in_one_line(tmp_path, analysed_project, capsys):
    garbage = tmp_path / "garbage.mixdesk"
    garbage.write_bytes(b"not a database at all" * 100)
    assert main(["analyze", "--project", str(garbage), "--no-tags", "--quiet"]) == 1
    err = capsys.readouterr().err
    assert len(_lines(err)) == 1 and "not a mixdesk project" in err

    path, _ = analysed_project
    broken = tmp_path / "broken.mixdesk"
    shutil.copyfile(path, broken)
    data = bytearray(broken.read_bytes())
    page = 4096
    data[page:] = b"\xa5" * (len(data) - page)  # keep the header page, wreck every table page
    broken.write_bytes(bytes(data))
    assert main(["analyze", "--project", str(broken), "--no-tags", "--quiet"]) == 1
    err = capsys.readouterr().err
    assert len(_lines(err)) == 1 and str(broken) in err


def test_analyze_reports_a_read_only_project_in_one_line(analysed_project, monkeypatch, capsys):
    import mixdesk.library.project as project_module

    path, _ = analysed_project
    real_access = os.access
    monkeypatch.setattr(
        project_module.os, "access", lambda p, mode: False if str(p) == str(path) else real_access(p, mode)
    )
    assert main(["analyze", "--project", str(path), "--no-tags", "--quiet"]) == 1
    err = capsys.readouterr().err
    assert len(_lines(err)) == 1 and "read-only" in err and "not a mixdesk project" not in err
