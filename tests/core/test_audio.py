"""Decoding every supported format, resampling, and clear errors for files that cannot be read."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from audio_fixtures import make_track, write_wav
from mixdesk.core.audio import AudioError, decode, probe, resample

SR = 44100


def tone(seconds=1.0, sr=SR, channels=2, freq=440.0):
    t = np.arange(int(seconds * sr)) / sr
    mono = 0.5 * np.sin(2 * np.pi * freq * t)
    return np.stack([mono] * channels, axis=1).astype(np.float32)


def dominant_freq(x: np.ndarray, sr: int) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.argmax(spectrum) * sr / len(x))


@pytest.mark.parametrize(
    "suffix, fmt, subtype, lossless",
    [
        (".wav", "WAV", "PCM_16", True),
        (".flac", "FLAC", "PCM_16", True),
        (".aiff", "AIFF", "PCM_16", True),
        (".ogg", "OGG", "VORBIS", False),
        (".opus", "OGG", "OPUS", False),
        (".mp3", "MP3", "MPEG_LAYER_III", False),
    ],
)
def test_round_trip_through_soundfile(tmp_path, suffix, fmt, subtype, lossless):
    sr = 48000 if subtype == "OPUS" else SR
    original = tone(1.0, sr)
    path = tmp_path / f"t{suffix}"
    sf.write(str(path), original, sr, format=fmt, subtype=subtype)
    audio = decode(path)
    assert audio.samples.dtype == np.float32 and audio.channels == 2 and audio.sample_rate == sr
    if lossless:
        np.testing.assert_allclose(audio.samples, original, atol=1 / 32768)
    else:
        # Lossy codecs add delay and padding; the tone and its length must survive.
        assert abs(audio.duration_s - 1.0) < 0.1
        assert abs(dominant_freq(audio.mono(), sr) - 440.0) < 3.0
    info = probe(path)
    assert info.channels == 2 and info.sample_rate == sr and abs(info.duration_s - audio.duration_s) < 0.1


def test_mono_and_resampled_decode(tmp_path):
    path = write_wav(tmp_path / "a.wav", tone(2.0, SR, freq=1000.0))
    audio = decode(path, sample_rate=22050, mono=True)
    assert audio.sample_rate == 22050 and audio.channels == 1
    assert audio.frames == 44100
    assert abs(dominant_freq(audio.mono(), 22050) - 1000.0) < 2.0
    assert resample(np.zeros((100, 2), np.float32), 44100, 44100).shape == (100, 2)


def test_m4a_goes_through_ffmpeg(tmp_path):
    import imageio_ffmpeg

    wav = write_wav(tmp_path / "src.wav", tone(1.0))
    m4a = tmp_path / "song.m4a"
    subprocess.run(
        [
            imageio_ffmpeg.get_ffmpeg_exe(),
            "-y",
            "-loglevel",
            "error",
            "-i",
            str(wav),
            "-c:a",
            "aac",
            "-b:a",
            "128k",
            str(m4a),
        ],
        check=True,
    )
    audio = decode(m4a)
    assert audio.channels == 2 and audio.sample_rate == SR
    assert abs(audio.duration_s - 1.0) < 0.1
    assert abs(dominant_freq(audio.mono(), SR) - 440.0) < 3.0
    assert probe(m4a).format == "m4a"


def _put(path, data):
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    "make, reason",
    [
        (lambda p: p / "missing.wav", "not found"),
        (lambda p: _put(p / "empty.wav", b""), "empty"),
        (lambda p: _put(p / "noise.wav", np.random.default_rng(0).bytes(5000)), "not a readable WAV"),
        (lambda p: _put(p / "notes.txt", b"hello"), "unsupported file type"),
        (lambda p: _put(p / "fake.flac", b"RIFF" + bytes(100)), "not a readable FLAC"),
        (lambda p: _put(p / "broken.m4a", b"\x00\x00\x00\x18ftypM4A " + bytes(64)), "audio stream"),
    ],
)
def test_bad_files_raise_one_clear_error(tmp_path, make, reason):
    path = make(tmp_path)
    with pytest.raises(AudioError) as err:
        decode(path)
    assert err.value.path == str(path)
    assert reason in err.value.reason
    assert str(err.value).startswith(str(path))


def test_info_cli_reports_good_and_bad_files(tmp_path):
    good = write_wav(tmp_path / "good.wav", make_track([(1.5, -10.0)], channels=1))
    bad = tmp_path / "bad.mp3"
    bad.write_bytes(b"this is not audio" * 10)
    proc = subprocess.run(
        [sys.executable, "-m", "mixdesk", "info", str(good), str(bad), "--json"], capture_output=True, text=True
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    records = [json.loads(line) for line in proc.stdout.splitlines()]
    assert records[0] == {"path": str(good), "duration_s": 1.5, "sample_rate": 44100, "channels": 1, "format": "wav"}
    assert records[1]["path"] == str(bad) and records[1]["error"]


@pytest.mark.parametrize("suffix, fmt", [(".wav", "WAV"), (".aiff", "AIFF"), (".flac", "FLAC"), (".mp3", "MP3")])
def test_truncated_files_are_refused(tmp_path, suffix, fmt):
    path = tmp_path / f"cut{suffix}"
    sf.write(str(path), tone(2.0), SR, format=fmt)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(AudioError) as err:
        decode(path)
    assert err.value.path == str(path)
    assert "truncated" in err.value.reason or "lost sync" in err.value.reason
