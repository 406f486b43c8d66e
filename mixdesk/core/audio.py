"""Decoding audio files into float32 arrays, with one clear error type for everything that can go wrong.

libsndfile (through soundfile) reads WAV, FLAC, OGG Vorbis, Opus, MP3 and AIFF directly; anything else
(M4A/AAC, WMA, ...) goes through pydub driving the ffmpeg binary that imageio-ffmpeg ships, so no system
ffmpeg is needed.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from math import gcd
from pathlib import Path

import numpy as np
import soundfile as sf

SOUNDFILE_EXTENSIONS = frozenset({".wav", ".wave", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aiff", ".aif", ".aifc"})
FFMPEG_EXTENSIONS = frozenset({".m4a", ".mp4", ".aac", ".wma", ".webm", ".mka", ".ac3", ".alac", ".caf", ".ape", ".wv"})
AUDIO_EXTENSIONS = SOUNDFILE_EXTENSIONS | FFMPEG_EXTENSIONS

# Formats whose header frame count is exact; MP3's is an estimate, checked with some slack below.
_EXACT_LENGTH_FORMATS = frozenset({"WAV", "WAVEX", "AIFF", "FLAC", "W64", "RF64", "CAF"})


class AudioError(Exception):
    """A file that cannot be decoded; names the file and the reason."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


@dataclass(frozen=True)
class AudioInfo:
    path: str
    duration_s: float
    sample_rate: int
    channels: int
    format: str

    def to_dict(self) -> dict:
        return {
            "path": self.path,
            "duration_s": round(self.duration_s, 3),
            "sample_rate": self.sample_rate,
            "channels": self.channels,
            "format": self.format,
        }


@dataclass(frozen=True, eq=False)
class Audio:
    """Samples as float32 in [-1, 1], shape (frames, channels)."""

    samples: np.ndarray
    sample_rate: int
    path: str | None = None
    format: str = ""

    @property
    def frames(self) -> int:
        return int(self.samples.shape[0])

    @property
    def channels(self) -> int:
        return int(self.samples.shape[1])

    @property
    def duration_s(self) -> float:
        return self.frames / float(self.sample_rate)

    def mono(self) -> np.ndarray:
        if self.channels == 1:
            return self.samples[:, 0]
        return self.samples.mean(axis=1, dtype=np.float32)


def _format_name(path: Path) -> str:
    return path.suffix.lower().lstrip(".") or "unknown"


def _check_readable(path: Path) -> None:
    if not path.exists():
        raise AudioError(path, "file not found")
    if path.is_dir():
        raise AudioError(path, "is a folder, not an audio file")
    if path.stat().st_size == 0:
        raise AudioError(path, "file is empty (0 bytes)")
    if path.suffix.lower() not in AUDIO_EXTENSIONS:
        raise AudioError(path, f"unsupported file type '{path.suffix or '(none)'}'")


def _soundfile_error(path: Path, exc: Exception) -> AudioError:
    text = str(exc).split(": ", 1)[-1] if str(exc) else type(exc).__name__
    return AudioError(path, f"not a readable {_format_name(path).upper()} file ({text.strip()})")


def _probe_soundfile(path: Path) -> AudioInfo:
    try:
        info = sf.info(str(path))
    except Exception as exc:  # libsndfile raises several types for damaged headers
        raise _soundfile_error(path, exc) from None
    if info.samplerate <= 0 or info.channels <= 0:
        raise AudioError(path, "header has no sample rate or channels")
    return AudioInfo(str(path), info.frames / float(info.samplerate), int(info.samplerate), int(info.channels),
                     info.format.lower())


def _container_shortfall(path: Path) -> int:
    """Bytes missing from a WAV or AIFF sample chunk; libsndfile silently shortens such files instead of failing."""
    size = path.stat().st_size
    with open(path, "rb") as handle:
        magic = handle.read(12)
        if magic[:4] == b"RIFF":
            data_id, order = b"data", "little"
        elif magic[:4] == b"FORM":
            data_id, order = b"SSND", "big"
        else:
            return 0
        offset = 12
        while offset + 8 <= size:
            handle.seek(offset)
            header = handle.read(8)
            chunk_size = int.from_bytes(header[4:8], order)
            if header[:4] == data_id:
                return max(0, offset + 8 + chunk_size - size) if chunk_size != 0xFFFFFFFF else 0
            offset += 8 + chunk_size + (chunk_size & 1)
    return 0


def _decode_soundfile(path: Path) -> Audio:
    try:
        with sf.SoundFile(str(path)) as handle:
            announced = handle.frames
            fmt = handle.format
            samples = handle.read(dtype="float32", always_2d=True)
            rate = handle.samplerate
    except Exception as exc:
        raise _soundfile_error(path, exc) from None
    if samples.shape[0] == 0:
        raise AudioError(path, "contains no audio frames")
    missing = _container_shortfall(path) if fmt in ("WAV", "WAVEX", "AIFF") else 0
    if missing > 1:
        raise AudioError(path, f"truncated: the data chunk lacks {missing} bytes its header announces")
    if fmt == "MP3" and samples.shape[0] < 0.98 * announced:
        raise AudioError(path, f"truncated: its header announces {announced / rate:.1f} s, "
                               f"only {samples.shape[0] / rate:.1f} s decode")
    if fmt in _EXACT_LENGTH_FORMATS and samples.shape[0] < announced:
        raise AudioError(path, f"truncated: header announces {announced} frames, only {samples.shape[0]} present")
    return Audio(np.ascontiguousarray(samples), int(rate), str(path), fmt.lower())


_STREAM_RE = re.compile(r"Stream #\S+.*?Audio: (?P<codec>[\w-]+).*?, (?P<rate>\d+) Hz, (?P<layout>[^,]+)")
_LAYOUT_CHANNELS = {"mono": 1, "stereo": 2, "2.1": 3, "quad": 4, "5.0": 5, "5.1": 6, "6.1": 7, "7.1": 8}


def _ffmpeg_exe() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def _probe_ffmpeg(path: Path) -> tuple[AudioInfo, str]:
    """Read codec, rate and layout from ffmpeg's stream banner (imageio-ffmpeg ships no ffprobe)."""
    try:
        proc = subprocess.run([_ffmpeg_exe(), "-hide_banner", "-i", str(path)], capture_output=True, text=True,
                              timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise AudioError(path, f"ffmpeg could not be run ({exc})") from None
    match = _STREAM_RE.search(proc.stderr)
    if not match:
        last = proc.stderr.strip().splitlines()[-1:] or ["no audio stream found"]
        raise AudioError(path, f"no decodable audio stream ({last[0].strip()})")
    layout = match.group("layout").strip().split("(")[0].strip()
    channels = _LAYOUT_CHANNELS.get(layout) or int(re.sub(r"\D", "", layout) or 2)
    duration = 0.0
    dur = re.search(r"Duration: (\d+):(\d+):(\d+(?:\.\d+)?)", proc.stderr)
    if dur:
        duration = int(dur.group(1)) * 3600 + int(dur.group(2)) * 60 + float(dur.group(3))
    info = AudioInfo(str(path), duration, int(match.group("rate")), channels, _format_name(path))
    return info, match.group("codec")


def _decode_ffmpeg(path: Path) -> Audio:
    from pydub import AudioSegment

    info, codec = _probe_ffmpeg(path)
    AudioSegment.converter = _ffmpeg_exe()
    try:
        # A codec= argument makes pydub skip ffprobe, which imageio-ffmpeg does not ship.
        segment = AudioSegment.from_file(str(path), format=path.suffix.lstrip(".").lower(), codec=codec)
    except Exception as exc:
        raise AudioError(path, f"ffmpeg could not decode it ({str(exc).strip().splitlines()[-1:] or exc})") from None
    raw = np.array(segment.get_array_of_samples())
    if raw.size == 0:
        raise AudioError(path, "contains no audio frames")
    scale = float(1 << (8 * segment.sample_width - 1))
    samples = (raw.astype(np.float32) / scale).reshape(-1, segment.channels)
    return Audio(np.ascontiguousarray(samples), int(segment.frame_rate), str(path), info.format)


def probe(path: str | Path) -> AudioInfo:
    """Duration, rate, channels and format without decoding the whole file."""
    path = Path(path)
    _check_readable(path)
    if path.suffix.lower() in SOUNDFILE_EXTENSIONS:
        info = _probe_soundfile(path)
        if info.duration_s <= 0:
            raise AudioError(path, "contains no audio frames")
        return info
    return _probe_ffmpeg(path)[0]


def decode(path: str | Path, sample_rate: int | None = None, mono: bool = False) -> Audio:
    """Decode a file to float32 (frames, channels), optionally resampled and/or mixed down to one channel."""
    path = Path(path)
    _check_readable(path)
    if path.suffix.lower() in SOUNDFILE_EXTENSIONS:
        audio = _decode_soundfile(path)
    else:
        audio = _decode_ffmpeg(path)
    samples = audio.samples
    if mono and audio.channels > 1:
        samples = audio.mono()[:, None]
    rate = audio.sample_rate
    if sample_rate and sample_rate != rate:
        samples = resample(samples, rate, sample_rate)
        rate = sample_rate
    if samples is audio.samples:
        return audio
    return Audio(np.ascontiguousarray(samples, dtype=np.float32), int(rate), audio.path, audio.format)


def resample(samples: np.ndarray, sr_from: int, sr_to: int) -> np.ndarray:
    """Band-limited polyphase resampling along axis 0."""
    if sr_from == sr_to:
        return samples
    from scipy.signal import resample_poly

    divisor = gcd(int(sr_from), int(sr_to))
    up, down = int(sr_to) // divisor, int(sr_from) // divisor
    return resample_poly(samples, up, down, axis=0).astype(np.float32, copy=False)
