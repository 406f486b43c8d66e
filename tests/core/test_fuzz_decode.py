"""Mutation fuzzing of the decoder: every damaged file decodes to finite samples or raises AudioError.

Seed files (WAV, float WAV, FLAC, OGG Vorbis, MP3) are synthesised here and mutated with a seeded RNG
(bit flips, truncations, overwritten header fields, zeroed or duplicated spans), so each run tests
the same few hundred files. They are decoded in a child process: a crash or a hang in a native
decoder then fails this test, naming the file, instead of taking the test run down with it.
"""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

SEED = 20261127
MUTANTS_PER_SEED = 150
SR = 22050
TIME_LIMIT_S = 40

# (name, container, subtype) of each seed file; libsndfile writes all of them.
SEEDS = (
    ("pcm.wav", "WAV", "PCM_16"),
    ("float.wav", "WAV", "FLOAT"),
    ("tone.flac", "FLAC", "PCM_16"),
    ("tone.ogg", "OGG", "VORBIS"),
    ("tone.mp3", "MP3", "MPEG_LAYER_III"),
)

# Header values that break naive readers: zero, one, all bits set, sign bit, just past 16 bits.
EXTREMES = (0, 1, 0xFF, 0x7F, 0x80, 0xFFFF, 0x10000, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF)

_WORKER = r"""
import json, sys
import numpy as np
from mixdesk.core.audio import AudioError, decode, probe

MIN_SAMPLE_RATE, MAX_SAMPLE_RATE = 1000, 768000  # no real recording lies outside

for path in sys.argv[1:]:
    print(json.dumps({"start": path}), flush=True)
    outcome = {"path": path}
    for name, read in (("probe", probe), ("decode", decode)):
        try:
            result = read(path)
        except AudioError as exc:
            outcome[name] = "refused"
            if exc.path != path or not exc.reason or "\n" in exc.reason:
                outcome[name] = f"BAD ERROR TEXT: {exc!r}"
            continue
        except BaseException as exc:
            outcome[name] = f"UNEXPECTED {type(exc).__name__}: {exc}"
            continue
        if not MIN_SAMPLE_RATE <= result.sample_rate <= MAX_SAMPLE_RATE:
            outcome[name] = f"ABSURD RATE {result.sample_rate}"
        elif name == "decode" and (result.samples.dtype != np.float32 or result.samples.ndim != 2
                                   or result.frames == 0 or not np.isfinite(result.samples).all()):
            outcome[name] = f"BAD SAMPLES {result.samples.dtype} {result.samples.shape}"
        else:
            outcome[name] = "ok"
    print(json.dumps(outcome), flush=True)
"""


def _seed_audio(seconds: float = 0.6) -> np.ndarray:
    rng = np.random.default_rng(SEED)
    t = np.arange(int(SR * seconds)) / SR
    mono = 0.4 * np.sin(2 * np.pi * 330 * t) + 0.05 * rng.standard_normal(t.size)
    return np.stack([mono, 0.7 * mono], axis=1).astype(np.float32)


def _seeds(folder: Path) -> dict[str, bytes]:
    audio = _seed_audio()
    out = {}
    for name, fmt, subtype in SEEDS:
        path = folder / name
        sf.write(str(path), audio, SR, format=fmt, subtype=subtype)
        out[name] = path.read_bytes()
    return out


def _header_span(data: bytes) -> int:
    """Bytes at the start that hold the container's header fields (where a lie does the most harm)."""
    if data[:4] == b"fLaC":
        return 42  # marker + STREAMINFO: rates, channels, total samples, MD5
    if data[:4] in (b"RIFF", b"FORM"):
        return 44
    return 64  # Ogg page header / ID3 tag + first MPEG frame header


def _mutate(data: bytes, rng: np.random.Generator) -> bytes:
    buf = bytearray(data)
    kind = int(rng.integers(6))
    if kind == 0:  # a few flipped bits anywhere
        for _ in range(int(rng.integers(1, 9))):
            pos = int(rng.integers(len(buf)))
            buf[pos] ^= 1 << int(rng.integers(8))
    elif kind == 1:  # truncated, often inside the header
        cut = int(rng.integers(1, 200)) if rng.random() < 0.4 else int(rng.integers(1, len(buf)))
        del buf[cut:]
    elif kind == 2:  # a header field overwritten with an extreme value
        width = int(rng.choice([1, 2, 3, 4]))
        pos = int(rng.integers(0, max(1, _header_span(data) - width)))
        value = int(rng.choice(EXTREMES)) & ((1 << (8 * width)) - 1)
        order = "big" if data[:4] in (b"fLaC", b"FORM") else "little"
        buf[pos : pos + width] = value.to_bytes(width, order)
    elif kind == 3:  # random bytes over a span of the header
        pos = int(rng.integers(0, _header_span(data)))
        span = int(rng.integers(1, 9))
        buf[pos : pos + span] = rng.integers(0, 256, span, dtype=np.uint8).tobytes()
    elif kind == 4:  # a span zeroed (a hole left by a failed copy)
        pos = int(rng.integers(len(buf)))
        span = int(rng.integers(1, 4096))
        buf[pos : pos + span] = bytes(min(span, len(buf) - pos))
    else:  # a span duplicated (a sector written twice)
        pos = int(rng.integers(len(buf)))
        span = int(rng.integers(1, 2048))
        buf[pos:pos] = buf[pos : pos + span]
    return bytes(buf)


def _wav_rate_lies(data: bytes) -> list[bytes]:
    """The WAV fields that made a 1 Hz header read as 12 hours, set to lies on purpose."""
    out = []
    for rate in (0, 1, 999, 768001, 0x7FFFFFFF):
        buf = bytearray(data)
        buf[24:28] = struct.pack("<I", rate)
        out.append(bytes(buf))
    for channels in (0, 255, 0xFFFF):
        buf = bytearray(data)
        buf[22:24] = struct.pack("<H", channels)
        out.append(bytes(buf))
    return out


def _mutants(folder: Path) -> list[Path]:
    rng = np.random.default_rng(SEED)
    paths = []
    for name, data in _seeds(folder).items():
        stem, suffix = name.rsplit(".", 1)
        variants = [_mutate(data, rng) for _ in range(MUTANTS_PER_SEED)]
        if suffix == "wav":
            variants += _wav_rate_lies(data)
        for i, variant in enumerate(variants):
            path = folder / f"{stem}-{i:03d}.{suffix}"
            path.write_bytes(variant)
            paths.append(path)
    return paths


def test_mutated_files_decode_to_finite_samples_or_raise_audio_error(tmp_path):
    paths = _mutants(tmp_path)
    assert len(paths) >= 5 * MUTANTS_PER_SEED
    started: list[str] = []
    outcomes: list[dict] = []
    try:
        proc = subprocess.run(
            [sys.executable, "-c", _WORKER, *map(str, paths)], capture_output=True, text=True, timeout=TIME_LIMIT_S
        )
    except subprocess.TimeoutExpired as exc:
        lines = (
            (exc.stdout or b"").decode(errors="replace").splitlines()
            if isinstance(exc.stdout, bytes)
            else (exc.stdout or "").splitlines()
        )
        last = [json.loads(line)["start"] for line in lines if '"start"' in line][-1:]
        pytest.fail(f"decoding hung (over {TIME_LIMIT_S} s); last file started: {last}")
    for line in proc.stdout.splitlines():
        record = json.loads(line)
        (started if "start" in record else outcomes).append(record.get("start") or record)
    assert proc.returncode == 0, f"decoder crashed (exit {proc.returncode}) on {started[-1:]}: {proc.stderr[-2000:]}"
    assert len(outcomes) == len(paths)
    bad = [o for o in outcomes if o["probe"] not in ("ok", "refused") or o["decode"] not in ("ok", "refused")]
    assert not bad, json.dumps(bad, indent=1)
    # What decodes, probes: ``info`` must not call a file damaged that ``import`` then accepts.
    assert not [o["path"] for o in outcomes if o["decode"] == "ok" and o["probe"] != "ok"]
    # The mutations must bite: a good share of them is refused, and some still decode.
    refused = sum(o["decode"] == "refused" for o in outcomes)
    assert 0.2 * len(outcomes) < refused < len(outcomes)
