"""Analysis speed (x realtime) on a folder, and accuracy on synthesised sets with known answers.

Run: python tests/benchmarks/bench_analysis.py [--tracks 8] [--seconds 120] [--real DIR] [--no-demo]

Sections: (1) tempo of click tracks 60-180 BPM, (2) key of synthesised cadences in all 24 keys,
(3) LUFS of pink noise against pyloudnorm, (4) a folder of synthesised stereo 44.1 kHz tracks
imported into a project and analysed (descriptors, and descriptors + tags, per track and chunk),
(5) the demo tracks against their recipes' tempo and key, (6) optionally every file in DIR.
"""

from __future__ import annotations

import argparse
import json
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
    return {"n": len(tempi), "within_1_bpm_or_half_double": float((errors <= 1.0).mean()),
            "same_octave": exact / len(tempi), "max_error_bpm": round(float(errors.max()), 3)}


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
        for tags in (False, True):
            with Project.open(Path(tmp) / f"p{int(tags)}.mixdesk") as project:
                # Relative threshold: the synthetic mixes are quieter than -16 dBFS between hits.
                project.import_paths([folder], replace(LIBRARY_CHUNKING, relative=True))
                start, cpu_start = time.perf_counter(), time.process_time()
                analyse_project(project, tags=tags)
                wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
                chunks = len(project.chunks())
            key = "descriptors_and_tags" if tags else "descriptors"
            # CPU time is what the work costs on one core; wall time also counts other processes' load.
            out[key] = {"audio_s": audio_s, "wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
                        "x_realtime_wall": round(audio_s / wall, 1), "x_realtime_cpu": round(audio_s / cpu, 1),
                        "chunks": chunks}
    return out


def demo_accuracy() -> list[dict]:
    from mixdesk.analysis.project_analysis import analyse_file
    from mixdesk.core.demo import DEMO_TRACKS, ensure_demo_tracks

    rows = []
    for track, path in zip(DEMO_TRACKS, ensure_demo_tracks()):
        est = analyse_file(path, top_k=3)
        rows.append({"title": track.title, "bpm_true": track.bpm, "bpm": est["bpm"], "key_true": track.key,
                     "key": est["key"], "lufs": est["lufs"], "tags": est.get("tags")})
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
        rows.append({"path": path.name, **{k: est[k] for k in ("duration_s", "bpm", "bpm_confidence", "key",
                                                                "camelot", "lufs", "lra", "tags")},
                     "x_realtime_cpu": round(est["duration_s"] / elapsed, 1)})
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tracks", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--real", type=Path, help="also analyse every audio file under this folder")
    parser.add_argument("--no-demo", action="store_true")
    parser.add_argument("--no-accuracy", action="store_true", help="skip the synthetic accuracy sets")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
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
