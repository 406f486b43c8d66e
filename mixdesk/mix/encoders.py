"""Streaming audio encoders: libsndfile for every format, the bundled ffmpeg as the faster MP3 path.

libsndfile's LAME runs at a fixed (high) algorithm quality in the rendering process; ffmpeg's libmp3lame
runs in its own process at its default quality, so on two cores rendering and encoding overlap and an
export runs several times faster. Both produce gapless CBR/VBR MP3 that decodes to the rendered length.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Protocol

import numpy as np
import soundfile as sf

from mixdesk.mix.config import EXPORT_FORMATS, MP3_BITRATE_RANGE, VBR_QUALITY_RANGE, ExportConfig


class EncoderError(RuntimeError):
    pass


class Encoder(Protocol):
    name: str

    def write(self, block: np.ndarray) -> None: ...

    def close(self) -> None: ...

    def abort(self) -> None: ...


def mp3_settings(config: ExportConfig) -> dict[str, object]:
    """libsndfile's LAME knobs: CBR maps 320..32 kbps onto compression 0..1, VBR quality 0..9 onto 0..0.9."""
    if config.bitrate_mode == "vbr":
        return {"bitrate_mode": "VARIABLE", "compression_level": config.vbr_quality / (VBR_QUALITY_RANGE[1] + 1)}
    lowest, highest = MP3_BITRATE_RANGE
    return {"bitrate_mode": "CONSTANT", "compression_level": (highest - config.bitrate_kbps) / (highest - lowest)}


class SoundFileEncoder:
    name = "soundfile"

    def __init__(self, path: Path, config: ExportConfig) -> None:
        fmt = EXPORT_FORMATS[config.format]
        extra = mp3_settings(config) if config.format == "mp3" else {}
        render = config.render
        self._file = sf.SoundFile(
            str(path),
            "w",
            samplerate=render.sample_rate,
            channels=render.channels,
            format=fmt.soundfile_format,
            subtype=fmt.soundfile_subtype,
            **extra,
        )

    def write(self, block: np.ndarray) -> None:
        self._file.write(block)

    def close(self) -> None:
        self._file.close()

    def abort(self) -> None:
        self._file.close()


def ffmpeg_exe() -> str | None:
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except Exception:  # no bundled binary for this platform: fall back to one on PATH, if any
        return shutil.which("ffmpeg")


def _local_path(path: Path) -> str:
    # Absolute, so that ffmpeg never reads a name such as "tcp:host:port/..." as a URL to connect to.
    return os.path.abspath(os.fspath(path))


class FfmpegMp3Encoder:
    name = "ffmpeg"

    def __init__(self, path: Path, config: ExportConfig, exe: str) -> None:
        render = config.render
        rate = (
            ["-q:a", f"{config.vbr_quality:g}"] if config.bitrate_mode == "vbr" else ["-b:a", f"{config.bitrate_kbps}k"]
        )
        cmd = [
            exe,
            "-hide_banner",
            "-nostdin",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "f32le",
            "-ar",
            str(render.sample_rate),
            "-ac",
            str(render.channels),
            "-i",
            "pipe:0",
            "-c:a",
            "libmp3lame",
            *rate,
            "-id3v2_version",
            "3",
            "-f",
            "mp3",
            _local_path(path),
        ]
        self._proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        stdin, stderr = self._proc.stdin, self._proc.stderr
        assert stdin is not None and stderr is not None  # both are pipes
        self._stdin, self._stderr = stdin, stderr

    def write(self, block: np.ndarray) -> None:
        try:
            self._stdin.write(np.ascontiguousarray(block, dtype="<f4").tobytes())
        except (BrokenPipeError, OSError):
            self._fail()

    def close(self) -> None:
        try:
            self._stdin.close()
        except (BrokenPipeError, OSError):
            pass
        if self._proc.wait() != 0:
            self._fail()

    def abort(self) -> None:
        self._proc.kill()
        self._proc.wait()

    def _fail(self) -> None:
        self._proc.kill()
        self._proc.wait()
        detail = self._stderr.read().decode(errors="replace").strip().splitlines()
        raise EncoderError(f"MP3 encoder failed: {detail[-1] if detail else 'no output'}")


def open_encoder(path: Path, config: ExportConfig) -> Encoder:
    """The configured encoder; ``auto`` takes ffmpeg for MP3 when a binary is at hand."""
    if config.format == "mp3" and config.encoder in ("auto", "ffmpeg"):
        exe = ffmpeg_exe()
        if exe:
            return FfmpegMp3Encoder(path, config, exe)
        if config.encoder == "ffmpeg":
            raise EncoderError("no ffmpeg binary found for MP3 encoding")
    return SoundFileEncoder(path, config)
