"""Decoding audio files into float32 arrays, with one clear error type for everything that can go wrong.

libsndfile (through soundfile) reads WAV, FLAC, OGG Vorbis, Opus, MP3 and AIFF directly; anything else
(M4A/AAC, WMA, ...) goes through pydub driving the ffmpeg binary that imageio-ffmpeg ships, so no system
ffmpeg is needed. ``read_blocks`` yields the samples ``decode`` returns a block at a time, with the same
checks, for work whose memory must not grow with the length of a track.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
import tempfile
from dataclasses import dataclass
from math import gcd
from pathlib import Path
from typing import Iterator, Literal

import numpy as np
import soundfile as sf

SOUNDFILE_EXTENSIONS = frozenset({".wav", ".wave", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aiff", ".aif", ".aifc"})
FFMPEG_EXTENSIONS = frozenset({".m4a", ".mp4", ".aac", ".wma", ".webm", ".mka", ".ac3", ".alac", ".caf", ".ape", ".wv"})
AUDIO_EXTENSIONS = SOUNDFILE_EXTENSIONS | FFMPEG_EXTENSIONS

# Formats whose header frame count is exact; MP3's is an estimate, checked with some slack below.
_EXACT_LENGTH_FORMATS = frozenset({"WAV", "WAVEX", "AIFF", "FLAC", "W64", "RF64", "CAF"})

# No real recording is outside these rates; a header outside them is damaged and would turn a few
# kilobytes into hours (1 Hz) or into a resampling job that exhausts memory.
MIN_SAMPLE_RATE = 1000
MAX_SAMPLE_RATE = 768000
# Float files may exceed full scale a little; values beyond this are damage, and their squares
# overflow the float32 arithmetic of every analysis downstream.
MAX_ABS_SAMPLE = 1.0e6
# Above this many bytes of samples, a header's length is not taken on trust for one allocation.
_TRUSTED_ALLOCATION = 4 << 30
_BLOCK_FRAMES = 1 << 20
# Blocks of read_blocks: about 1.5 s at 44.1 kHz, small next to any analysis buffer.
BLOCK_FRAMES = 1 << 16


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


def _special_kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "a special file"


def _check_readable(path: Path) -> None:
    try:
        info = path.stat()
    except FileNotFoundError:
        raise AudioError(path, "file not found") from None
    except OSError as exc:
        raise AudioError(path, f"cannot be read ({exc.strerror or exc})") from None
    mode = info.st_mode
    if stat.S_ISDIR(mode):
        raise AudioError(path, "is a folder, not an audio file")
    if not stat.S_ISREG(mode):
        # Opening a named pipe blocks until something writes to it; a device may never end.
        raise AudioError(path, f"not a regular file ({_special_kind(mode)})")
    if info.st_size == 0:
        raise AudioError(path, "file is empty (0 bytes)")
    if path.suffix.lower() not in AUDIO_EXTENSIONS:
        raise AudioError(path, f"unsupported file type '{path.suffix or '(none)'}'")


def _soundfile_error(path: Path, exc: Exception) -> AudioError:
    text = str(exc).split(": ", 1)[-1] if str(exc) else type(exc).__name__
    return AudioError(path, f"not a readable {_format_name(path).upper()} file ({text.strip()})")


def _check_rate(path: Path, rate: int) -> None:
    if not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
        raise AudioError(
            path, f"implausible sample rate {rate} Hz in its header (expected {MIN_SAMPLE_RATE}-{MAX_SAMPLE_RATE} Hz)"
        )


def _check_samples(path: Path, samples: np.ndarray, block_start_s: float | None = None) -> None:
    """Refuse NaN, infinity and absurd magnitudes: one such sample poisons every sum computed over the track.

    ``block_start_s`` says where a block read by ``read_blocks`` starts, so that its error can say so.
    """
    if not samples.size:
        return
    where = "" if block_start_s is None else f" (in the block from {block_start_s:.1f} s)"
    # max and min propagate NaN and infinity, and unlike isfinite or abs they need no copy of a long track.
    high, low = float(samples.max()), float(samples.min())
    if not (np.isfinite(high) and np.isfinite(low)):
        bad = int(samples.size - np.count_nonzero(np.isfinite(samples)))
        raise AudioError(path, f"non-finite samples (NaN or infinity) in {bad} of {samples.size} samples{where}")
    peak = max(high, -low)
    if peak > MAX_ABS_SAMPLE:
        raise AudioError(path, f"sample values up to {peak:.3g}, far outside the range [-1, 1] of audio{where}")


def _check_flac_end(path: Path, handle: sf.SoundFile) -> None:
    """A FLAC header states the length of the whole stream; seeking to its last frame shows whether it is there.

    A seek can also fail on a damaged frame in the middle that sequential decoding skips over, so a
    failed seek is settled by counting the frames that decode, as ``decode`` would.
    """
    if handle.frames <= 0:
        return
    try:
        handle.seek(handle.frames - 1)
        if handle.read(1, dtype="float32", always_2d=True).shape[0] == 1:
            return
    except Exception:  # libsndfile reports a missing tail as a failed seek or read
        pass
    present = 0
    with sf.SoundFile(str(path)) as fresh:  # a failed seek leaves the first handle unusable
        while True:
            got = fresh.read(_BLOCK_FRAMES, dtype="float32", always_2d=True).shape[0]
            present += got
            if got < _BLOCK_FRAMES:
                break
    if present < handle.frames:
        raise AudioError(
            path,
            f"truncated: its header announces {handle.frames / handle.samplerate:.1f} s, "
            f"only {present / handle.samplerate:.1f} s decode",
        )


def _probe_soundfile(path: Path) -> AudioInfo:
    try:
        with sf.SoundFile(str(path)) as handle:
            frames, rate, channels, fmt = handle.frames, handle.samplerate, handle.channels, handle.format
            if rate <= 0 or channels <= 0:
                raise AudioError(path, "header has no sample rate or channels")
            _check_rate(path, rate)
            if fmt == "FLAC":
                _check_flac_end(path, handle)
    except AudioError:
        raise
    except Exception as exc:  # libsndfile raises several types for damaged headers
        raise _soundfile_error(path, exc) from None
    return AudioInfo(str(path), frames / float(rate), int(rate), int(channels), fmt.lower())


def _container_shortfall(path: Path) -> int:
    """Bytes missing from a WAV or AIFF sample chunk; libsndfile silently shortens such files instead of failing."""
    size = path.stat().st_size
    order: Literal["little", "big"]
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


def _read_all(handle: sf.SoundFile) -> np.ndarray:
    """Every frame as float32 (frames, channels); memory follows the audio present, not the header's claim."""
    if handle.frames * handle.channels * 4 <= _TRUSTED_ALLOCATION:
        return handle.read(dtype="float32", always_2d=True)
    blocks = []
    while True:
        block = handle.read(_BLOCK_FRAMES, dtype="float32", always_2d=True)
        if block.shape[0]:
            blocks.append(block.copy())  # the slice would pin the whole block buffer
        if block.shape[0] < _BLOCK_FRAMES:
            break
    return np.concatenate(blocks) if blocks else np.zeros((0, handle.channels), np.float32)


def _check_length(path: Path, fmt: str, rate: int, announced: int, got: int) -> None:
    """Refuse a file with fewer frames than its header announces (or none at all)."""
    if got == 0:
        raise AudioError(path, "contains no audio frames")
    missing = _container_shortfall(path) if fmt in ("WAV", "WAVEX", "AIFF") else 0
    if missing > 1:
        raise AudioError(path, f"truncated: the data chunk lacks {missing} bytes its header announces")
    if fmt == "MP3" and got < 0.98 * announced:
        raise AudioError(
            path, f"truncated: its header announces {announced / rate:.1f} s, only {got / rate:.1f} s decode"
        )
    if fmt in _EXACT_LENGTH_FORMATS and got < announced:
        raise AudioError(path, f"truncated: header announces {announced} frames, only {got} present")


def _decode_soundfile(path: Path) -> Audio:
    try:
        with sf.SoundFile(str(path)) as handle:
            announced = handle.frames
            fmt = handle.format
            rate = handle.samplerate
            _check_rate(path, rate)
            samples = _read_all(handle)
    except AudioError:
        raise
    except MemoryError:
        raise AudioError(path, "its header announces more audio than fits in memory") from None
    except Exception as exc:
        raise _soundfile_error(path, exc) from None
    if samples.shape[0] == 0:
        raise AudioError(path, "contains no audio frames")
    _check_samples(path, samples)
    _check_length(path, fmt, rate, announced, samples.shape[0])
    return Audio(np.ascontiguousarray(samples), int(rate), str(path), fmt.lower())


def _soundfile_blocks(path: Path, block_frames: int) -> Iterator[np.ndarray]:
    """``_decode_soundfile`` a block at a time; the length checks run when the last block has been read."""
    got = 0
    try:
        with sf.SoundFile(str(path)) as handle:
            announced, fmt, rate = handle.frames, handle.format, handle.samplerate
            _check_rate(path, rate)
            while True:
                try:
                    block = handle.read(block_frames, dtype="float32", always_2d=True)
                except Exception as exc:
                    raise _soundfile_error(path, exc) from None
                if block.shape[0]:
                    _check_samples(path, block, got / float(rate))
                    got += block.shape[0]
                    yield block
                if block.shape[0] < block_frames:
                    break
    except AudioError:
        raise
    except Exception as exc:  # opening: libsndfile raises several types for damaged headers
        raise _soundfile_error(path, exc) from None
    _check_length(path, fmt, rate, announced, got)


_STREAM_RE = re.compile(r"Stream #\S+.*?Audio: (?P<codec>[\w-]+).*?, (?P<rate>\d+) Hz, (?P<layout>[^,]+)")
_LAYOUT_CHANNELS = {"mono": 1, "stereo": 2, "2.1": 3, "quad": 4, "5.0": 5, "5.1": 6, "6.1": 7, "7.1": 8}


def _ffmpeg_exe() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def ffmpeg_local_path(path: str | Path) -> str:
    """``path`` as ffmpeg must see it: a local file, never a protocol URL.

    ffmpeg reads ``tcp:host:port.m4a`` (or ``http:...``, ``concat:...``) as a URL to open, so a file that
    merely has such a name would make it connect out. An absolute path starts with a separator (or a
    drive letter, which ffmpeg treats as a path), which no protocol name can.
    """
    return os.path.abspath(os.fspath(path))


def _probe_ffmpeg(path: Path) -> tuple[AudioInfo, str]:
    """Read codec, rate and layout from ffmpeg's stream banner (imageio-ffmpeg ships no ffprobe)."""
    try:
        proc = subprocess.run(
            [_ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", ffmpeg_local_path(path)],
            capture_output=True,
            text=True,
            timeout=60,
        )
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
    rate = int(match.group("rate"))
    _check_rate(path, rate)
    info = AudioInfo(str(path), duration, rate, channels, _format_name(path))
    return info, match.group("codec")


def _decode_ffmpeg(path: Path) -> Audio:
    from pydub import AudioSegment

    info, codec = _probe_ffmpeg(path)
    AudioSegment.converter = _ffmpeg_exe()
    try:
        # A codec= argument makes pydub skip ffprobe, which imageio-ffmpeg does not ship.
        segment = AudioSegment.from_file(ffmpeg_local_path(path), format=path.suffix.lstrip(".").lower(), codec=codec)
    except Exception as exc:
        raise AudioError(path, f"ffmpeg could not decode it ({str(exc).strip().splitlines()[-1:] or exc})") from None
    raw = np.array(segment.get_array_of_samples())
    if raw.size == 0:
        raise AudioError(path, "contains no audio frames")
    scale = float(1 << (8 * segment.sample_width - 1))
    samples = (raw.astype(np.float32) / scale).reshape(-1, segment.channels)
    _check_rate(path, int(segment.frame_rate))
    return Audio(np.ascontiguousarray(samples), int(segment.frame_rate), str(path), info.format)


_PYDUB_FORMAT_ALIASES = {"m4a": "mp4", "wave": "wav"}


def _ffmpeg_blocks(path: Path, block_frames: int) -> Iterator[np.ndarray]:
    """``_decode_ffmpeg`` a block at a time: ffmpeg's 16-bit PCM (what pydub asks it for) read through a pipe."""
    info, codec = _probe_ffmpeg(path)
    channels = max(1, info.channels)
    # The input options are pydub's (its alias included), so the samples equal decode()'s; -ac fixes
    # the framing of the raw stream.
    fmt = _PYDUB_FORMAT_ALIASES.get(path.suffix.lstrip(".").lower(), path.suffix.lstrip(".").lower())
    command = [
        _ffmpeg_exe(),
        "-hide_banner",
        "-nostdin",
        "-loglevel",
        "error",
        "-f",
        fmt,
        "-acodec",
        codec,
        "-i",
        ffmpeg_local_path(path),
        "-vn",
        "-ac",
        str(channels),
        "-f",
        "s16le",
        "-acodec",
        "pcm_s16le",
        "-",
    ]
    block_bytes = block_frames * channels * 2
    got = 0
    # stderr goes to a file: a pipe nobody reads would stall ffmpeg once it fills with complaints.
    with tempfile.TemporaryFile() as errors:
        try:
            proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=errors)
        except OSError as exc:
            raise AudioError(path, f"ffmpeg could not be run ({exc})") from None
        output = proc.stdout
        assert output is not None  # stdout=PIPE
        try:
            while True:
                data = output.read(block_bytes)
                usable = len(data) - len(data) % (2 * channels)
                if usable:
                    raw = np.frombuffer(data[:usable], dtype="<i2").reshape(-1, channels)
                    got += raw.shape[0]
                    yield raw.astype(np.float32) / np.float32(32768.0)
                if len(data) < block_bytes:
                    break
            code = proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            raise AudioError(path, "ffmpeg did not finish after its output ended") from None
        finally:
            if proc.poll() is None:  # the reader stopped early or failed: do not leave ffmpeg running
                proc.kill()
                proc.wait()
            output.close()
        if code != 0 or got == 0:
            errors.seek(0)
            last = errors.read().decode(errors="replace").strip().splitlines()[-1:]
            if code == 0:
                raise AudioError(path, "contains no audio frames")
            raise AudioError(path, f"ffmpeg could not decode it ({last[0].strip() if last else f'exit code {code}'})")


def read_blocks(path: str | Path, block_frames: int = BLOCK_FRAMES) -> Iterator[np.ndarray]:
    """The samples ``decode(path)`` returns, as float32 (frames, channels) blocks at the file's own rate.

    Memory stays at one block whatever the length of the file. The same files are refused for the same
    reasons as by ``decode``; a check that needs the whole file (truncation) raises after the last block.
    """
    path = Path(path)
    _check_readable(path)
    if path.suffix.lower() in SOUNDFILE_EXTENSIONS:
        return _soundfile_blocks(path, int(block_frames))
    return _ffmpeg_blocks(path, int(block_frames))


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
