"""Beat tracker accuracy, speed and memory, against librosa.beat.beat_track in the same run.

Run: python tests/benchmarks/bench_beats.py [--no-scores] [--scores 10] [--score-seconds 90]

Sections: (1) synthesised drum tracks with exactly known beats and bars (several tempi, four-on-the-
floor and kick-on-1-and-3 patterns, bass lines, accents, tempo drift); (2) music21 corpus pieces
rendered with fluidsynth, whose beats come from the score and the MIDI tempo map; (3) speed on a
4-minute track; (4) tracemalloc peaks for 10- and 60-minute tracks fed block by block.

Metrics (mir_eval): beat F-measure (+-70 ms), downbeat F-measure, tempo within 4 % (and allowing half
or double), median absolute timing error of matched beats (ms). The scores need music21, mir_eval,
fluidsynth and the FluidR3 GM soundfont (pip install music21 mir_eval; apt-get install fluidsynth
fluid-soundfont-gm); they are evaluation tools only.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

from mixdesk.core.beats import BeatTracker, track_beats

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from drum_fixtures import SR, Truth, drum_track  # noqa: E402

SOUNDFONT = "/usr/share/sounds/sf2/FluidR3_GM.sf2"
CACHE = Path(tempfile.gettempdir()) / "mixdesk-bench-beats"


# --------------------------------------------------------------------------------- synthetic drums
SYNTH_CASES = [
    dict(bpm=90, pattern="onethree"),
    dict(bpm=118, pattern="four", pad=True),
    dict(bpm=124, pattern="four"),
    dict(bpm=128, pattern="four", bass=False, accent=False, pad=True),
    dict(bpm=128, pattern="onethree", drift=0.02),
    dict(bpm=140, pattern="onethree", pad=True),
    dict(bpm=174, pattern="four"),
    dict(bpm=100, pattern="four", drift=-0.04),
    dict(bpm=122.5, pattern="onethree", start=1.234),
    dict(bpm=150, pattern="waltz", pad=True),
]


def synth_set(seconds: float) -> list[tuple[str, np.ndarray, int, Truth]]:
    out = []
    for i, case in enumerate(SYNTH_CASES):
        y, truth = drum_track(seconds=seconds, seed=i, **case)
        name = f"{case['bpm']}bpm {case['pattern']}" + (f" drift{case['drift']:+.0%}" if case.get("drift") else "")
        out.append((name, y, SR, truth))
    return out


# ------------------------------------------------------------------------------------ scored music
SCORES = [
    "joplin/maple_leaf_rag.mxl",
    "mozart/k545/movement1_exposition.mxl",
    "mozart/k155/movement1.mxl",
    "haydn/opus74no1/movement1.mxl",
    "schumann_robert/opus41no1/movement2.mxl",
    "schumann_clara/polonaise_op1n1.mxl",
    "schubert/Lindenbaum.xml",
    "verdi/laDonnaEMobile.mxl",
    "haydn/opus1no1/movement1.mxl",
    "mozart/k80/movement4.mxl",
    "beach/prayer_of_a_tired_child.musicxml",
    "cpebach/h186.mxl",
    "johnson_j_r/lift_every_voice.mxl",
]

SCORE_CHILD = r"""
import json, sys, music21
s = music21.converter.parse(sys.argv[1])
s.write("midi", fp=sys.argv[2])
part = s.parts[0] if s.parts else s
beats, downs = [], []
ts = None
for m in part.getElementsByClass("Measure"):
    # A measure's own signature first: its context search starts before the measure.
    ts = m.timeSignature or ts or m.getContextByClass("TimeSignature")
    if ts is None:
        continue
    step = float(ts.beatDuration.quarterLength)
    start = float(m.offset) - float(m.paddingLeft)
    end = float(m.offset) + float(m.duration.quarterLength)
    k = 0
    while start + k * step < end - 1e-6:
        q = start + k * step
        if q >= float(m.offset) - 1e-6:
            beats.append(q)
            if k == 0:
                downs.append(q)
        k += 1
print(json.dumps({"beats": beats, "downbeats": downs}))
"""


def _varlen(data: bytes, i: int) -> tuple[int, int]:
    """A MIDI variable-length quantity at ``data[i]``: (value, index after it)."""
    value = 0
    while True:
        b = data[i]
        i += 1
        value = (value << 7) | (b & 0x7F)
        if b < 0x80:
            return value, i


def _midi_tempo_map(path: Path) -> tuple[int, list[tuple[int, int]]]:
    """(ticks per quarter, [(tick, microseconds per quarter)]) from a MIDI file's set-tempo events."""
    data = path.read_bytes()
    division = int.from_bytes(data[12:14], "big")
    tempos: list[tuple[int, int]] = []
    pos = 14
    while pos + 8 <= len(data):
        length = int.from_bytes(data[pos + 4 : pos + 8], "big")
        chunk, pos = data[pos + 8 : pos + 8 + length], pos + 8 + length
        i, tick, status = 0, 0, 0
        while i < len(chunk):
            delta, i = _varlen(chunk, i)
            tick += delta
            if chunk[i] >= 0x80:
                status = chunk[i]
                i += 1
            if status == 0xFF:
                kind = chunk[i]
                i += 1
                n, i = _varlen(chunk, i)
                if kind == 0x51:
                    tempos.append((tick, int.from_bytes(chunk[i : i + 3], "big")))
                i += n
                status = 0
            elif status in (0xF0, 0xF7):
                n, i = _varlen(chunk, i)
                i += n
            else:
                i += 1 if (status & 0xF0) in (0xC0, 0xD0) else 2
    return division, sorted(set(tempos)) or [(0, 500000)]


def _quarters_to_seconds(q: np.ndarray, tempos: list[tuple[int, int]], division: int) -> np.ndarray:
    ticks = np.asarray(q) * division
    out = np.zeros_like(ticks, dtype=np.float64)
    t_acc, prev_tick, prev_us = 0.0, 0, 500000
    bounds = []
    for tick, us in tempos:
        t_acc += (tick - prev_tick) * prev_us / 1e6 / division
        bounds.append((tick, t_acc, us))
        prev_tick, prev_us = tick, us
    if not bounds or bounds[0][0] > 0:
        bounds.insert(0, (0, 0.0, 500000))
    for j, (tick, t0, us) in enumerate(bounds):
        sel = ticks >= tick
        out[sel] = t0 + (ticks[sel] - tick) * us / 1e6 / division
    return out


def render_score(rel: str, python: str) -> tuple[np.ndarray, int, Truth] | None:
    """Render a corpus score (cached), its beats and downbeats in seconds; None if it fails."""
    import soundfile as sf
    import music21

    CACHE.mkdir(parents=True, exist_ok=True)
    stem = rel.rsplit(".", 1)[0].replace("/", "_")
    wav, meta = CACHE / f"{stem}.wav", CACHE / f"{stem}.json"
    if not (wav.exists() and meta.exists()):
        src = Path(music21.__file__).parent / "corpus" / rel
        midi = CACHE / f"{stem}.mid"
        try:
            done = subprocess.run(
                [python, "-c", SCORE_CHILD, str(src), str(midi)],
                capture_output=True,
                text=True,
                check=True,
                timeout=180,
            )
            if not wav.exists():
                subprocess.run(
                    [
                        "timeout",
                        "120",
                        "fluidsynth",
                        "-ni",
                        "-q",
                        "-g",
                        "0.7",
                        "-r",
                        "44100",
                        "-F",
                        str(wav),
                        SOUNDFONT,
                        str(midi),
                    ],
                    check=True,
                    capture_output=True,
                )
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, FileNotFoundError) as exc:
            # fluidsynth has been seen to render a score without end; its output is useless then.
            wav.unlink(missing_ok=True)
            print(f"  skipped {rel}: {type(exc).__name__}", file=sys.stderr)
            return None
        q = json.loads(done.stdout.strip().splitlines()[-1])
        division, tempos = _midi_tempo_map(midi)
        beats = _quarters_to_seconds(np.asarray(q["beats"]), tempos, division)
        downs = _quarters_to_seconds(np.asarray(q["downbeats"]), tempos, division)
        meta.write_text(json.dumps({"beats": beats.tolist(), "downbeats": downs.tolist()}))
    audio, sr = sf.read(str(wav), dtype="float32")
    m = json.loads(meta.read_text())
    beats, downs = np.asarray(m["beats"]), np.asarray(m["downbeats"])
    bpm = 60.0 / float(np.median(np.diff(beats))) if beats.size > 1 else 0.0
    return audio, sr, Truth(beats, downs, bpm)


def score_set(count: int, seconds: float) -> list[tuple[str, np.ndarray, int, Truth]]:
    out = []
    for rel in SCORES[:count]:
        got = render_score(rel, sys.executable)
        if got is None:
            continue
        audio, sr, truth = got
        n = min(audio.shape[0], int(seconds * sr))
        keep = truth.beats < n / sr
        downs = truth.downbeats[truth.downbeats < n / sr]
        out.append((rel.rsplit(".", 1)[0], audio[:n], sr, Truth(truth.beats[keep], downs, truth.bpm)))
    return out


# -------------------------------------------------------------------------------------- evaluation
def librosa_grid(samples: np.ndarray, sr: int) -> tuple[np.ndarray, float]:
    import librosa

    mono = samples.mean(axis=1) if samples.ndim == 2 else samples
    y = librosa.resample(mono.astype(np.float32), orig_sr=sr, target_sr=22050)
    tempo, beats = librosa.beat.beat_track(y=y, sr=22050, units="time")
    return np.asarray(beats), float(np.atleast_1d(tempo)[0])


def evaluate(est_beats: np.ndarray, est_down: np.ndarray | None, est_bpm: float, truth: Truth) -> dict:
    import mir_eval

    ref = truth.beats
    f = mir_eval.beat.f_measure(ref, est_beats, 0.07) if est_beats.size else 0.0
    errs = []
    for r in ref:
        if est_beats.size:
            d = est_beats[np.argmin(np.abs(est_beats - r))] - r
            if abs(d) <= 0.07:
                errs.append(d)
    ratio = est_bpm / truth.bpm if truth.bpm > 0 and est_bpm > 0 else 0.0
    out = {
        "F": f,
        "tempo": float(abs(ratio - 1.0) <= 0.04),
        "tempo_oct": float(any(abs(ratio / m - 1.0) <= 0.04 for m in (0.5, 1.0, 2.0, 1 / 3, 3.0)) if ratio else 0.0),
        "err_ms": 1000.0 * float(np.median(np.abs(errs))) if errs else float("nan"),
        "bias_ms": 1000.0 * float(np.median(errs)) if errs else float("nan"),
    }
    # The same F after removing the tracker's own median offset: beat-level correctness apart from
    # a constant latency (slow string and voice attacks put every tracker late against note-on).
    out["F_unbiased"] = mir_eval.beat.f_measure(ref, est_beats - np.median(errs), 0.07) if errs else out["F"]
    if est_down is not None:
        out["down_F"] = mir_eval.beat.f_measure(truth.downbeats, est_down, 0.07) if est_down.size else 0.0
    return out


def run_set(title: str, cases, verbose: bool = True) -> None:
    print(f"\n== {title}")
    print(f"{'track':36s} {'ours: F   tempo/truth  downF err bias conf':42s} | librosa: F  tempo  err  bias")
    ours, theirs = [], []
    for name, samples, sr, truth in cases:
        grid = track_beats(samples, sr)
        a = evaluate(grid.beats, grid.downbeats, grid.bpm, truth)
        a["conf"] = grid.confidence
        lb, lt = librosa_grid(samples, sr)
        b = evaluate(lb, None, lt, truth)
        ours.append(a)
        theirs.append(b)
        if verbose:
            print(
                f"{name[:36]:36s} {a['F']:.3f} {grid.bpm:6.1f}/{truth.bpm:5.1f} {a['down_F']:.2f} "
                f"{a['err_ms']:5.1f} {a['bias_ms']:+5.1f} {a['conf']:.2f} | {b['F']:.3f} {lt:6.1f} "
                f"{b['err_ms']:5.1f} {b['bias_ms']:+5.1f}"
            )

    def mean(rows, key):
        vals = [r[key] for r in rows if not np.isnan(r[key])]
        return float(np.mean(vals)) if vals else float("nan")

    print(
        f"{'MEAN':36s} F={mean(ours, 'F'):.3f} (bias removed {mean(ours, 'F_unbiased'):.3f}) "
        f"tempo={mean(ours, 'tempo'):.2f} (oct {mean(ours, 'tempo_oct'):.2f}) "
        f"downF={mean(ours, 'down_F'):.3f} err={np.nanmedian([r['err_ms'] for r in ours]):.1f} ms"
    )
    print(
        f"{'librosa MEAN':36s} F={mean(theirs, 'F'):.3f} (bias removed {mean(theirs, 'F_unbiased'):.3f}) "
        f"tempo={mean(theirs, 'tempo'):.2f} (oct {mean(theirs, 'tempo_oct'):.2f}) "
        f"err={np.nanmedian([r['err_ms'] for r in theirs]):.1f} ms"
    )


def negatives() -> None:
    """Confidence on material without a steady pulse (should be < 0.5)."""
    rng = np.random.default_rng(7)
    sr = 22050
    t = np.arange(20 * sr) / sr
    noise = 0.3 * rng.standard_normal(t.size)
    tone = 0.3 * np.sin(2 * np.pi * 220 * t) + 0.2 * np.sin(2 * np.pi * 330 * t)
    # Speech-like: syllable bursts at irregular intervals with varying pitch.
    speech = np.zeros(t.size)
    pos = 0.2
    while pos < 19.5:
        dur = rng.uniform(0.08, 0.3)
        i, m = int(pos * sr), int(dur * sr)
        f0 = rng.uniform(100, 220)
        seg = np.sin(2 * np.pi * f0 * np.arange(m) / sr) * np.hanning(m) + 0.1 * rng.standard_normal(m) * np.hanning(m)
        speech[i : i + m] += seg
        pos += dur + rng.exponential(0.15)
    # Rubato: piano-like notes at random intervals.
    rubato = np.zeros(t.size)
    pos = 0.1
    while pos < 19.5:
        i = int(pos * sr)
        m = min(int(1.0 * sr), t.size - i)
        f = 440 * 2 ** (rng.integers(-12, 12) / 12)
        rubato[i : i + m] += np.sin(2 * np.pi * f * np.arange(m) / sr) * np.exp(-np.arange(m) / sr / 0.3)
        pos += rng.uniform(0.2, 0.9)
    print("\n== confidence on pulse-less material (want < 0.5)")
    for name, y in (
        ("white noise", noise),
        ("sustained chord", tone),
        ("speech-like bursts", speech),
        ("random-interval notes", rubato),
    ):
        g = track_beats(y.astype(np.float32), sr)
        print(f"{name:24s} confidence {g.confidence:.2f}  bpm {g.bpm:.1f}")


def speed_and_memory() -> None:
    y, _ = drum_track(124, seconds=240.0, sr=SR, pad=True)
    stereo = np.stack([y, y], axis=1)
    t0 = time.perf_counter()
    track_beats(stereo, SR)
    dt = time.perf_counter() - t0
    import librosa  # noqa: F401  (import cost out of the timing)

    t0 = time.perf_counter()
    librosa_grid(stereo, SR)
    dl = time.perf_counter() - t0
    print(
        f"\n== speed, 4-minute stereo 44.1 kHz track: ours {dt:.2f} s ({240 / dt:.0f}x realtime), "
        f"librosa (incl. resampling) {dl:.2f} s ({240 / dl:.0f}x realtime)"
    )
    loop, _ = drum_track(124, seconds=60.0, sr=SR)
    t0 = time.perf_counter()
    tracker = BeatTracker(SR)
    for k in range(60 * 6):
        tracker.feed(np.stack([loop[(k % 6) * 10 * SR : ((k % 6) + 1) * 10 * SR]] * 2, axis=1))
    tracker.finish()
    dt = time.perf_counter() - t0
    print(f"== 60-minute stereo 44.1 kHz track fed in 10 s blocks: {dt:.1f} s ({3600 / dt:.0f}x realtime)")
    print("== peak memory (tracemalloc) feeding stereo 44.1 kHz blocks of 10 s; the audio itself is not held")
    for minutes in (10, 60):
        tracemalloc.start()
        tracker = BeatTracker(SR)
        for k in range(minutes * 6):
            tracker.feed(np.stack([loop[(k % 6) * 10 * SR : ((k % 6) + 1) * 10 * SR]] * 2, axis=1))
        grid = tracker.finish()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        full_stft = minutes * 60 * SR / 220 * 513 * 8
        print(
            f"{minutes:3d} min: peak {peak / 2**20:6.1f} MiB (a full 5 ms complex STFT would be "
            f"{full_stft / 2**20:,.0f} MiB); bpm {grid.bpm:.2f}; conf {grid.confidence:.2f}"
        )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-scores", action="store_true")
    parser.add_argument("--scores", type=int, default=len(SCORES))
    parser.add_argument("--score-seconds", type=float, default=90.0)
    parser.add_argument("--synth-seconds", type=float, default=45.0)
    parser.add_argument("--no-speed", action="store_true")
    args = parser.parse_args(argv)
    run_set("synthetic drum tracks (44.1 kHz)", synth_set(args.synth_seconds))
    if not args.no_scores:
        run_set("music21 scores rendered with fluidsynth", score_set(args.scores, args.score_seconds))
    negatives()
    if not args.no_speed:
        speed_and_memory()
    return 0


if __name__ == "__main__":
    sys.exit(main())
