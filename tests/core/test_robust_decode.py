"""Damaged or hostile audio files: each is refused with one AudioError naming the file and the reason."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from mixdesk.core.audio import AudioError, decode, probe

SR = 44100


def _tone(seconds: float = 1.0) -> np.ndarray:
    t = np.arange(int(SR * seconds)) / SR
    return (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)


def _float_wav(path, samples):
    sf.write(str(path), samples, SR, subtype="FLOAT")
    return path


def test_float_wav_with_nan_or_inf_is_refused_at_decode(tmp_path):
    for bad in (np.nan, np.inf, -np.inf):
        samples = _tone()
        samples[1000] = bad
        path = _float_wav(tmp_path / f"bad_{bad}.wav", samples)
        with pytest.raises(AudioError) as err:
            decode(path)
        assert err.value.path == str(path) and err.value.reason.startswith("non-finite samples")


def test_float_wav_with_absurd_sample_values_is_refused(tmp_path):
    samples = _tone()
    samples[500] = 3.0e38
    path = _float_wav(tmp_path / "huge.wav", samples)
    with pytest.raises(AudioError, match="far outside"):
        decode(path)
    # Slightly over full scale is ordinary in float files and still decodes.
    fine = _float_wav(tmp_path / "hot.wav", _tone() * 4.0)
    assert np.isfinite(decode(fine).samples).all()


def test_import_skips_a_nan_file_with_its_reason(tmp_path):
    from mixdesk.library.project import Project

    folder = tmp_path / "songs"
    folder.mkdir()
    sf.write(str(folder / "good.wav"), _tone(2.0), SR)
    samples = _tone(2.0)
    samples[10:20] = np.nan
    _float_wav(folder / "nan.wav", samples)
    with Project.open(tmp_path / "p.mixdesk") as project:
        result = project.import_paths([folder])
        assert [os.path.basename(p) for p in result.added] == ["good.wav"]
        ((path, reason),) = project.import_errors()
        assert path.endswith("nan.wav") and reason.startswith("non-finite samples")


def _wav_with_rate(path, rate: int):
    sf.write(str(path), _tone(), SR)
    data = bytearray(path.read_bytes())
    assert data[12:16] == b"fmt "
    block_align = struct.unpack("<H", data[32:34])[0]
    data[24:28] = struct.pack("<I", rate)
    data[28:32] = struct.pack("<I", rate * block_align)
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("rate", [1, 999, 768001, 4_000_000])
def test_absurd_sample_rate_in_a_header_is_refused(tmp_path, rate):
    path = _wav_with_rate(tmp_path / "rate.wav", rate)
    for read in (probe, decode):
        with pytest.raises(AudioError, match=f"implausible sample rate {rate} Hz"):
            read(path)


def test_truncated_flac_is_refused_by_probe_and_decode(tmp_path):
    whole = tmp_path / "whole.flac"
    sf.write(str(whole), np.tile(_tone(6.0)[:, None], (1, 2)), SR)
    assert probe(whole).duration_s == pytest.approx(6.0)
    data = whole.read_bytes()
    for size in (120, len(data) // 2):
        cut = tmp_path / f"cut{size}.flac"
        cut.write_bytes(data[:size])
        for read in (probe, decode):
            with pytest.raises(AudioError) as err:
                read(cut)
            assert err.value.path == str(cut)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are a POSIX feature")
def test_named_pipe_is_refused_without_opening_it(tmp_path):
    fifo = tmp_path / "pipe.wav"
    os.mkfifo(fifo)
    for read in (probe, decode):
        with pytest.raises(AudioError, match="not a regular file"):
            read(fifo)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are a POSIX feature")
def test_import_of_a_folder_with_a_named_pipe_finishes(tmp_path):
    folder = tmp_path / "songs"
    folder.mkdir()
    sf.write(str(folder / "a.wav"), _tone(2.0), SR)
    os.mkfifo(folder / "stuck.wav")
    os.mkfifo(tmp_path / "named.mp3")
    project = tmp_path / "p.mixdesk"
    # A child process, so that a regression hangs only it, and the timeout ends the test.
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mixdesk",
            "import",
            str(folder),
            str(tmp_path / "named.mp3"),
            "--project",
            str(project),
            "--quiet",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "stuck.wav" not in proc.stdout + proc.stderr  # a pipe inside a folder is passed over quietly
    assert f"skipped {tmp_path / 'named.mp3'}: not a regular file" in proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["added"] == 1 and summary["tracks"] == 1
