"""Analysis speed (x realtime) on a folder, and accuracy on synthesised sets with known answers.

Run: python tests/benchmarks/bench_analysis.py [--tracks 8] [--seconds 120] [--real DIR] [--no-demo]
     python tests/benchmarks/bench_analysis.py --memory [--minutes 10 30 60] [--old-minutes 10]

Sections: (1) tempo of click tracks 60-180 BPM, (2) key of synthesised cadences in all 24 keys,
(3) LUFS of pink noise against pyloudnorm, (4) a folder of synthesised stereo 44.1 kHz tracks
imported into a project and analysed (descriptors, descriptors + tags, and descriptors in 2 processes
with its wall-time speed-up over one, per track and chunk),
(5) the demo tracks against their recipes' tempo and key, (6) optionally every file in DIR.

--memory alone: peak memory and speed of ``analyse_file`` (descriptors, tags and beat grid, as
``mixdesk analyze`` runs it) on synthetic mono 44.1 kHz FLAC tracks of the given lengths, each in a
fresh process: the peak of Python/numpy allocations (tracemalloc) and the growth of the peak resident
set over the process after its imports and model load, and the speed (with tracemalloc running).
--old-minutes also measures the whole-array path the streaming one replaced (decode, whole-track
features, whole 16 kHz copy, tagger batches of 64, beat grid) on those lengths.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from mixdesk.analysis.descriptors import TrackFrames
from mixdesk.analysis.loudness import LoudnessGrid
from mixdesk.analysis.synthetic import click_track, key_name, key_piece, pink_noise

SR = 22050


def octave_error(estimate: float, truth: float) -> float:
    return min(abs(estimate - truth * f) for f in (1.0, 0.5, 2.0))


def tempo_accuracy() -> dict:
    tempi = np.arange(60.0, 181.0, 7.5)
    errors, exact = [], 0
    for i, bpm in enumerate(tempi):
        est = TrackFrames.compute(click_track(bpm, 20.0, SR, seed=i, accent=True), SR).describe()["bpm"]
        errors.append(octave_error(est, bpm))
        exact += abs(est - bpm) <= 1.0
    errors = np.array(errors)
    return {
        "n": len(tempi),
        "within_1_bpm_or_half_double": float((errors <= 1.0).mean()),
        "same_octave": exact / len(tempi),
        "max_error_bpm": round(float(errors.max()), 3),
    }


def key_accuracy() -> dict:
    from mixdesk.analysis.compat import camelot_distance
    from mixdesk.analysis.tonal import key_to_camelot

    hits, near = 0, 0
    for tonic in range(12):
        for minor in (False, True):
            est = TrackFrames.compute(key_piece(tonic, minor, 12.0, SR), SR).describe()
            truth = key_name(tonic, minor)
            hits += est["key"] == truth
            near += bool(est["camelot"]) and camelot_distance(est["camelot"], key_to_camelot(truth)) <= 1
    return {"n": 24, "exact": hits / 24, "within_one_camelot_step": near / 24}


def lufs_accuracy() -> dict:
    import pyloudnorm

    diffs = []
    for i, (sr, gain) in enumerate([(48000, 0), (44100, -6), (44100, -18), (22050, -10), (32000, -25)]):
        noise = pink_noise(10.0, sr, seed=i, channels=2) * 10 ** (gain / 20)
        ours = LoudnessGrid.from_samples(noise.astype(np.float32), sr).integrated_lufs()
        diffs.append(abs(ours - pyloudnorm.Meter(sr).integrated_loudness(noise)))
    return {"n": len(diffs), "max_abs_diff_vs_pyloudnorm_lu": round(float(max(diffs)), 3)}


def synth_folder(folder: Path, tracks: int, seconds: float) -> float:
    rng = np.random.default_rng(0)
    total = 0.0
    for i in range(tracks):
        sr = 44100
        bpm = float(rng.uniform(90, 140))
        y = click_track(bpm, seconds, sr, seed=i, accent=True) + key_piece(i % 12, bool(i % 2), seconds, sr)
        y = 0.95 * y / np.abs(y).max()
        y = y * np.where(np.arange(len(y)) // (4 * sr) % 3 == 2, 0.03, 1.0)  # quiet stretches: chunk seams
        sf.write(folder / f"synth{i:02d}.wav", np.stack([y, 0.9 * y], axis=1), sr, subtype="PCM_16")
        total += seconds
    return total


def folder_speed(tracks: int, seconds: float) -> dict:
    from mixdesk.analysis.project_analysis import analyse_project
    from mixdesk.config import LIBRARY_CHUNKING
    from mixdesk.library.project import Project

    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "music"
        folder.mkdir()
        audio_s = synth_folder(folder, tracks, seconds)
        for tags, jobs in ((False, 1), (True, 1), (False, 2)):
            with Project.open(Path(tmp) / f"p{int(tags)}{jobs}.mixdesk") as project:
                # Relative threshold: the synthetic mixes are quieter than -16 dBFS between hits.
                project.import_paths([folder], replace(LIBRARY_CHUNKING, relative=True))
                start, cpu_start = time.perf_counter(), time.process_time()
                analyse_project(project, tags=tags, jobs=jobs)
                wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
                chunks = len(project.chunks())
            key = ("descriptors_and_tags" if tags else "descriptors") + (f"_{jobs}_processes" if jobs > 1 else "")
            # CPU time is what the work costs on one core; wall time also counts other processes' load.
            # (With processes, this process's CPU time leaves out the workers': only wall time compares.)
            out[key] = {
                "audio_s": audio_s,
                "wall_s": round(wall, 2),
                "cpu_s": round(cpu, 2),
                "x_realtime_wall": round(audio_s / wall, 1),
                "x_realtime_cpu": round(audio_s / cpu, 1),
                "chunks": chunks,
            }
        out["descriptors_2_processes"]["speedup_wall"] = round(
            out["descriptors"]["wall_s"] / out["descriptors_2_processes"]["wall_s"], 2
        )
    return out


def demo_accuracy() -> list[dict]:
    from mixdesk.analysis.project_analysis import analyse_file
    from mixdesk.core.demo import DEMO_TRACKS, ensure_demo_tracks

    rows = []
    for track, path in zip(DEMO_TRACKS, ensure_demo_tracks()):
        est = analyse_file(path, top_k=3)
        rows.append(
            {
                "title": track.title,
                "bpm_true": track.bpm,
                "bpm": est["bpm"],
                "key_true": track.key,
                "key": est["key"],
                "lufs": est["lufs"],
                "tags": est.get("tags"),
            }
        )
    return rows


def real_folder(folder: Path) -> list[dict]:
    from mixdesk.analysis.project_analysis import analyse_file
    from mixdesk.core.audio import AUDIO_EXTENSIONS, AudioError

    rows = []
    for path in sorted(p for p in folder.rglob("*") if p.suffix.lower() in AUDIO_EXTENSIONS):
        start = time.process_time()
        try:
            est = analyse_file(path, top_k=3)
        except AudioError as exc:
            rows.append({"path": path.name, "error": exc.reason})
            continue
        elapsed = time.process_time() - start
        rows.append(
            {
                "path": path.name,
                **{k: est[k] for k in ("duration_s", "bpm", "bpm_confidence", "key", "camelot", "lufs", "lra", "tags")},
                "x_realtime_cpu": round(est["duration_s"] / elapsed, 1),
            }
        )
    return rows


# ------------------------------------------------------------------------------------------- memory
def write_long_flac(path: Path, minutes: float, sr: int = 44100) -> None:
    """A mono FLAC of clicks at 120 BPM over changing cadences, written 30 s at a time (30 s is a
    whole number of beats, so the pulse runs on across the joins)."""
    with sf.SoundFile(str(path), "w", samplerate=sr, channels=1, subtype="PCM_16") as out:
        for i in range(int(np.ceil(minutes * 2))):
            piece = click_track(120.0, 30.0, sr, seed=i) + key_piece(i % 12, bool(i % 2), 30.0, sr)
            gain = 0.6 + 0.3 * np.sin(i)  # sections of different loudness
            out.write((gain * piece / max(np.abs(piece).max(), 1e-9)).astype(np.float32))


def _old_analysis(path: str) -> None:
    """The whole-array analysis as it was: one decode, whole-track features, a whole 16 kHz copy."""
    from mixdesk.analysis import tagger
    from mixdesk.core.audio import decode, resample
    from mixdesk.core.beats import track_beats

    audio = decode(path)
    frames = TrackFrames.compute_whole(audio.samples, audio.sample_rate)
    frames.describe()
    mel = tagger.log_mel(resample(audio.mono(), audio.sample_rate, tagger.SAMPLE_RATE))
    batch = tagger.patches(mel)
    tagger.patch_scores(batch[tagger.chosen_patches(len(batch))], batch_size=64)  # the batch it used to run
    track_beats(audio.samples, audio.sample_rate)


def _peak_rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def _rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def measure_one(path: str, mode: str) -> dict:
    """Runs in a fresh process: warm up on a short clip, then analyse `path` once and report."""
    import tracemalloc

    from mixdesk.analysis.project_analysis import analyse_file

    with tempfile.TemporaryDirectory() as tmp:
        warm = Path(tmp) / "warm.flac"
        write_long_flac(warm, 0.5)
        analyse_file(warm)  # imports, model load and JIT compilation are not the track's cost
        _old_analysis(str(warm))
    base = _rss_kib()
    try:  # reset the peak resident set to the current one (Linux 4.0+)
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass
    tracemalloc.start()
    start, cpu_start = time.perf_counter(), time.process_time()
    if mode == "old":
        _old_analysis(path)
    else:
        analyse_file(path)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    traced = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {
        "tracemalloc_peak_mb": round(traced / 2**20, 1),
        "rss_growth_mb": round((_peak_rss_kib() - base) / 1024, 1),
        "wall_s": round(wall, 1),
        "cpu_s": round(cpu, 1),
    }


def memory_section(minutes: list[float], old_minutes: list[float]) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for length in minutes:
            path = Path(tmp) / f"long{length:g}.flac"
            write_long_flac(path, length)
            for mode in (["old"] if length in old_minutes else []) + ["streaming"]:
                proc = subprocess.run(
                    [sys.executable, __file__, "--measure-one", str(path), mode], capture_output=True, text=True
                )
                if proc.returncode != 0:
                    rows.append({"minutes": length, "path": mode, "error": proc.stderr.strip().splitlines()[-1:]})
                else:
                    row = {"minutes": length, "path": mode, **json.loads(proc.stdout.strip().splitlines()[-1])}
                    row["x_realtime_cpu"] = round(60.0 * length / max(row["cpu_s"], 1e-9), 1)
                    row["x_realtime_wall"] = round(60.0 * length / max(row["wall_s"], 1e-9), 1)
                    rows.append(row)
                print(json.dumps(rows[-1]), flush=True)
            path.unlink()
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tracks", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--real", type=Path, help="also analyse every audio file under this folder")
    parser.add_argument("--no-demo", action="store_true")
    parser.add_argument("--no-accuracy", action="store_true", help="skip the synthetic accuracy sets")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--memory", action="store_true", help="only the peak memory of long tracks")
    parser.add_argument("--minutes", type=float, nargs="+", default=[10.0, 30.0, 60.0])
    parser.add_argument(
        "--old-minutes",
        type=float,
        nargs="*",
        default=[10.0],
        help="lengths also measured on the whole-array path (it needs about 110 MB a minute)",
    )
    parser.add_argument("--measure-one", nargs=2, metavar=("PATH", "MODE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.measure_one:
        print(json.dumps(measure_one(*args.measure_one)), flush=True)
        return 0
    if args.memory:
        memory_section(args.minutes, args.old_minutes)
        return 0
    result = {}
    if not args.no_accuracy:
        result = {"tempo": tempo_accuracy(), "key": key_accuracy(), "lufs": lufs_accuracy()}
        print(json.dumps(result, indent=1), flush=True)
    result["folder"] = folder_speed(args.tracks, args.seconds)
    print(json.dumps(result["folder"], indent=1), flush=True)
    if not args.no_demo:
        result["demo"] = demo_accuracy()
        for row in result["demo"]:
            print(json.dumps(row), flush=True)
    if args.real:
        result["real"] = real_folder(args.real)
        for row in result["real"]:
            print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
