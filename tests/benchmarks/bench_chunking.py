"""Silence cutting against pydub on a 4-minute stereo 44.1 kHz track, re-cut speed, and folder throughput.

Run: python tests/benchmarks/bench_chunking.py
"""

from __future__ import annotations

import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from audio_fixtures import make_track, song_sections, write_wav  # noqa: E402

from mixdesk.config import ChunkingConfig  # noqa: E402
from mixdesk.core.audio import decode  # noqa: E402
from mixdesk.core.chunking import Envelope, chunk_ranges, detect_nonsilent  # noqa: E402


def best_of(fn, repeats: int) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def compare_with_pydub(samples: np.ndarray, sr: int) -> None:
    warnings.filterwarnings("ignore")
    from pydub import AudioSegment, silence

    ints = np.clip(np.rint(samples * 32768), -32768, 32767).astype(np.int16)
    seg = AudioSegment(ints.tobytes(), frame_rate=sr, sample_width=2, channels=ints.shape[1])
    floats = ints.astype(np.float32) / 32768
    t_pydub, ref = best_of(lambda: silence.detect_nonsilent(seg, 300, -16, 1), 1)
    t_full, ours = best_of(lambda: detect_nonsilent(Envelope.from_samples(floats, sr), 300, -16, 1), 5)
    env = Envelope.from_samples(floats, sr)
    t_recut, _ = best_of(lambda: detect_nonsilent(env, 300, -16, 1), 20)
    print(f"4-min stereo 44.1 kHz track, silence -16 dBFS / 300 ms, seek_step 1 ({len(ref)} ranges)")
    print(f"  pydub detect_nonsilent          {t_pydub * 1000:9.1f} ms")
    print(f"  mixdesk (envelope + cut)        {t_full * 1000:9.1f} ms   {t_pydub / t_full:7.0f}x faster")
    print(f"  mixdesk re-cut, cached envelope {t_recut * 1000:9.2f} ms   {t_pydub / t_recut:7.0f}x faster")
    print(f"  identical ranges: {ours == ref}")
    for thresh, min_sil in ((-20.0, 200), (-30.0, 500), (-12.0, 1000)):
        cfg = ChunkingConfig(silence_thresh_db=thresh, min_silence_ms=min_sil, min_chunk_ms=1000, max_chunk_ms=20000)
        t, ranges = best_of(lambda: chunk_ranges(env, cfg), 10)
        print(f"  re-cut {thresh:5.1f} dB / {min_sil:4d} ms with guards: {t * 1000:6.2f} ms, {len(ranges)} chunks")


def folder_throughput(folder: Path) -> None:
    files = sorted(folder.glob("*.flac"))
    audio_s, start = 0.0, time.perf_counter()
    for path in files:
        audio = decode(path)
        chunk_ranges(Envelope.from_audio(audio), ChunkingConfig())
        audio_s += audio.duration_s
    elapsed = time.perf_counter() - start
    print(
        f"decode + chunk over {len(files)} FLAC files ({audio_s / 60:.1f} min): {elapsed:.2f} s, "
        f"{audio_s / elapsed:.0f}x realtime"
    )


def main() -> None:
    sr = 44100
    track = make_track(song_sections(7, seconds=240.0), sr=sr, seed=7)[: 240 * sr]
    compare_with_pydub(track, sr)
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(6):
            write_wav(Path(tmp) / f"t{i}.flac", make_track(song_sections(i, seconds=60.0), sr=sr, seed=i))
        folder_throughput(Path(tmp))


if __name__ == "__main__":
    main()
