"""Beat tracker on real recordings with reference tempi: octave, confidence and beat phase per track.

Run: python tests/benchmarks/bench_beats_real.py [MANIFEST] [--windows 4] [--window-seconds 10]

MANIFEST (default /work/realmusic/beat/manifest.json) lists tracks under "files", each with its
"path", a reference "bpm" and a "pulse" strength; the run is skipped with a message when it is missing.

Columns: the reference tempo, the tracker's tempo, whether it is within 2 % of the reference (an
octave error fails), the confidence, and two phase checks on a few windows spread over the track:

* meter: share of windows where the independent meter :func:`mixdesk.mix.seam_rhythm.beat_grid`
  puts its beats within 0.1 beat of the tracker's (the meter's own period may be half or double;
  at half the tracker's period only the on-beat half of its beats is compared, which cannot tell
  beat from off-beat, so such windows are counted separately in the "half" column; windows where
  the meter settles on some other period are left out). The meter looks at 10 s at a time and
  can take the off-beat itself, so a low share is a prompt to look, not a verdict;
* kick: mean low-band (< 150 Hz) onset strength at the tracker's beats over that halfway between
  them. Above 1 the beats sit on the kicks; below 1 the grid is on the off-beat.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from mixdesk.core.beatgrid import CONFIDENT
from mixdesk.core.beats import track_beats

DEFAULT_MANIFEST = "/work/realmusic/beat/manifest.json"
TEMPO_TOLERANCE = 0.02
PHASE_TOLERANCE = 0.1  # beats
PULSE_FOR_CONFIDENCE = 0.7  # tracks with at least this reference pulse should be tracked confidently


def _read(path: str) -> tuple[np.ndarray, int]:
    import soundfile as sf

    y, sr = sf.read(path, dtype="float32", always_2d=True)
    return y.mean(axis=1), int(sr)


def _low_onsets(x: np.ndarray, sr: int) -> tuple[np.ndarray, float]:
    """Low-band (< 150 Hz, kick drums) onset strength, as librosa computes it (log-power flux), and its
    frame rate."""
    import librosa

    hop, n_fft = 256, 2048
    spec = np.abs(librosa.stft(x, n_fft=n_fft, hop_length=hop)) ** 2
    low = spec[: int(150.0 * n_fft / sr) + 1]
    db = librosa.power_to_db(low, ref=float(spec.max()) + 1e-12)
    env = np.maximum(db[:, 2:] - db[:, :-2], 0.0).mean(axis=0)
    return np.concatenate([np.zeros(2), env]), sr / hop


def phase_checks(x: np.ndarray, sr: int, beats: np.ndarray, windows: int, seconds: float) -> dict:
    """Meter agreement and kick ratio over ``windows`` windows spread over the track's middle."""
    from mixdesk.mix.seam_rhythm import beat_grid

    agree = half = judged = 0
    on, off = [], []
    dur = x.size / sr
    if beats.size < 8 or dur < seconds + 2.0:
        return {"meter": float("nan"), "half": 0, "kick": float("nan")}
    starts = np.linspace(0.15 * dur, 0.85 * dur - seconds, windows)
    period = float(np.median(np.diff(beats)))
    for s in starts:
        seg = x[int(s * sr) : int((s + seconds) * sr)]
        meter = beat_grid(seg, sr)
        inside = beats[(beats >= s) & (beats < s + seconds)]
        if inside.size < 4:
            continue
        ratio = meter["period_s"] / period if np.isfinite(meter["period_s"]) and meter["clarity"] > 0 else 0.0
        # A meter period that is no octave of the tracker's (a dotted beat, a triplet grouping:
        # syncopated music offers several) says nothing about which phase is the beat.
        if ratio > 0 and min(abs(ratio / r - 1.0) for r in (0.5, 1.0, 2.0)) <= 0.08:
            judged += 1
            half += ratio < 0.75
            m_times = s + meter["phase_s"] + meter["period_s"] * np.arange(int(seconds / meter["period_s"]) + 1)
            m_times = m_times[m_times < s + seconds]
            # Distance, in tracker beats, from each meter beat to the nearest tracker beat (or half
            # beat when the meter counts twice as fast).
            unit = 0.5 if ratio < 0.75 else 1.0
            pos = np.interp(m_times, inside, np.arange(inside.size, dtype=np.float64))
            dist = np.abs(pos / unit - np.round(pos / unit)) * unit
            agree += float(np.median(dist)) < PHASE_TOLERANCE
        env, efps = _low_onsets(seg, sr)
        f = np.round((inside - s) * efps).astype(int)
        mids = np.round(((inside[:-1] + inside[1:]) / 2 - s) * efps).astype(int)
        ok = lambda i: i[(i >= 1) & (i < env.size - 1)]  # noqa: E731
        peak = np.maximum(np.maximum(env[:-2], env[1:-1]), env[2:])  # +-1 frame: timing slack
        on.append(float(peak[ok(f) - 1].mean()))
        off.append(float(peak[ok(mids) - 1].mean()))
    kick = float(np.mean(on) / max(np.mean(off), 1e-9)) if on else float("nan")
    return {"meter": agree / judged if judged else float("nan"), "half": half, "kick": kick}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("manifest", nargs="?", default=DEFAULT_MANIFEST)
    parser.add_argument("--windows", type=int, default=4, help="phase-check windows per track")
    parser.add_argument("--window-seconds", type=float, default=10.0)
    parser.add_argument("--no-phase", action="store_true", help="skip the phase checks (faster)")
    args = parser.parse_args(argv)
    path = Path(args.manifest)
    if not path.is_file():
        print(f"skipped: no manifest at {path}")
        return 0
    files = json.loads(path.read_text())["files"]
    print(
        f"{'track':28s} {'ref':>7s} {'bpm':>7s} {'oct':>4s} {'conf':>5s} {'pulse':>5s} "
        f"{'meter':>5s} {'half':>4s} {'kick':>5s} {'s':>5s}"
    )
    n_ok = n_conf = n_pulse = 0
    for item in files:
        name = Path(item["path"]).stem
        if not Path(item["path"]).is_file():
            print(f"{name:28s} missing")
            continue
        x, sr = _read(item["path"])
        t0 = time.perf_counter()
        grid = track_beats(x, sr)
        took = time.perf_counter() - t0
        ok = abs(grid.bpm / item["bpm"] - 1.0) <= TEMPO_TOLERANCE
        n_ok += ok
        if item["pulse"] >= PULSE_FOR_CONFIDENCE:
            n_pulse += 1
            n_conf += grid.confidence >= CONFIDENT
        ph = (
            {"meter": float("nan"), "half": 0, "kick": float("nan")}
            if args.no_phase
            else phase_checks(x, sr, grid.beats, args.windows, args.window_seconds)
        )
        print(
            f"{name[:28]:28s} {item['bpm']:7.2f} {grid.bpm:7.2f} {'ok' if ok else 'NO':>4s} "
            f"{grid.confidence:5.2f} {item['pulse']:5.2f} {ph['meter']:5.2f} {ph['half']:4d} {ph['kick']:5.2f} "
            f"{took:5.1f}",
            flush=True,
        )
    print(
        f"\ntempo within {TEMPO_TOLERANCE:.0%}: {n_ok}/{len(files)}; confidence >= {CONFIDENT} on tracks with "
        f"pulse >= {PULSE_FOR_CONFIDENCE}: {n_conf}/{n_pulse}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
