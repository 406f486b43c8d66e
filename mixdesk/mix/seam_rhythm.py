"""Rhythm across a boundary: beat phase, tempo and loudness either side, measured from onsets alone.

A transition that keeps the beat leaves the pulse of the outgoing music running on into the incoming
music: the beat grid fitted to the seconds before the seam, carried on across the crossfade, lands on
the beats of the seconds after it. This module fits a grid on each side of a boundary (onset-envelope
autocorrelation for the period, a pulse-train comb and a least-squares line through the beat onsets for
period and phase), carries the grid from before the boundary across it, and reports how far the onsets
after it sit from that grid, how much the tempo changes, and how much the loudness steps.

Where the onsets sit is judged by their pattern, not by a single beat: the onset strength of the low,
mid and high bands folded onto the grid over each side, and the shift that lines the after-pattern up
with the before-pattern. A lone pulse train locks onto the beat on one stretch and onto the off-beat
hats on the next; two stretches of the same music share their pattern wherever the grid's beats fall.

The measurement is deliberately self-contained (nothing shared with the mixer's own beat tracking), so
that a mixer error is not hidden by the same error in the yardstick. Inputs are plain sample arrays;
where they come from is the caller's business.
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
from scipy import ndimage, signal

from mixdesk.analysis.compat import camelot_distance
from mixdesk.analysis.loudness import k_weighting_sos

HOP_S = 0.005  # onset envelope resolution: a 5 ms step is 1 % of a beat at 120 BPM
WINDOW_S = 7.0  # audio analysed on each side of a boundary
MIN_SIDE_S = 3.0  # less than this on a side and no grid is fitted
LOUDNESS_S = 3.0  # EBU short-term loudness window
MIN_BPM, MAX_BPM = 60.0, 200.0
PRIOR_BPM, PRIOR_OCTAVES = 120.0, 1.0  # mild preference that settles beat-versus-bar period ambiguity
CONFIDENT = 0.35  # pulse clarity below which a side is taken to have no usable beat
ON_BEAT = 0.1  # beats: phase error under which a seam counts as "on the beat"
TEMPO_KEPT_PCT = 2.0
OCTAVE_TOLERANCE = 0.08  # a tempo ratio this close to 2 or 1/2 is reported as double or half time
_FLOOR_LUFS = -70.0  # BS.1770 absolute gate; silence reads as this rather than minus infinity
_BANDS = 36
_GROUPS_HZ = (200.0, 2000.0)  # kick / body / hats: patterns are compared like with like
PATTERN_BINS = 48
SAME_PERIOD = 0.04  # candidates this close count as the same period when the sides are matched
HARMONICS = 4  # a beat period is backed by the periodicity at its first few multiples too
MATCH_SLACK = 0.85  # a matching pair of periods may score this much less than the two sides' favourites
GROUP_WEIGHTS = (2.0, 1.0, 0.5)  # low / mid / high: the kick anchors the beat, hats decorate it


# ----------------------------------------------------------------------------------------------------
# onset envelope


def _mono(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    return x.mean(axis=1) if x.ndim == 2 else x


def onset_envelopes(x: np.ndarray, sr: int) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Band-wise log spectral flux on a ~5 ms grid.

    Returns (envelope, group envelopes (3, frames) for low / mid / high bands, hop in s, time of frame 0
    in s). Log band energies make the envelope independent of level, and summing rises over log-spaced
    bands keeps a kick drum's few low bins from being outvoted by hundreds of hi-hat bins.
    """
    mono = _mono(x)
    hop = max(1, int(round(sr * HOP_S)))
    n_fft = 1 << int(round(math.log2(sr * 0.023)))  # ~23 ms: sharp enough in time, enough bass bins
    if len(mono) < n_fft + 3 * hop:
        return np.zeros(0), np.zeros((3, 0)), hop / sr, n_fft / 2 / sr
    frames = np.lib.stride_tricks.sliding_window_view(mono, n_fft)[::hop]
    power = np.abs(np.fft.rfft(frames * np.hanning(n_fft).astype(np.float32), axis=1)) ** 2
    freqs = np.fft.rfftfreq(n_fft, 1 / sr)
    edges_hz = np.geomspace(30.0, min(16000.0, sr / 2 * 0.95), _BANDS + 1)
    edges = np.searchsorted(freqs, edges_hz)
    keep = np.concatenate([[True], np.diff(edges) > 0])  # bands narrower than a bin merge upwards
    edges, edges_hz = edges[keep], edges_hz[keep]
    bands = np.add.reduceat(power, edges[:-1], axis=1) / np.diff(edges)
    floor = max(float(bands.max()) * 1e-8, 1e-20)  # 80 dB below the loudest band: silence stays flat
    level = 10 * np.log10(bands + floor)
    lag = max(1, int(round(0.010 / (hop / sr))))  # 10 ms: a rise spread over two hops still counts once
    rises = np.concatenate([np.zeros((lag, level.shape[1])), np.maximum(level[lag:] - level[:-lag], 0.0)])
    groups = np.split(rises, np.searchsorted(edges_hz[:-1], _GROUPS_HZ), axis=1)
    width = max(3, int(round(0.4 / (hop / sr))))

    def peaks_only(flux: np.ndarray) -> np.ndarray:
        # Slow swells (a filter opening, a build) are not beats: keep what stands above the local mean.
        return np.maximum(flux - ndimage.uniform_filter1d(flux, width, mode="nearest"), 0.0)

    return (
        peaks_only(rises.sum(axis=1)),
        np.stack([peaks_only(g.sum(axis=1)) for g in groups]),
        hop / sr,
        n_fft / 2 / sr,
    )


# ----------------------------------------------------------------------------------------------------
# beat grid on one side


def _autocorrelation(env: np.ndarray) -> np.ndarray:
    """Normalised, overlap-corrected autocorrelation (1.0 at lag 0)."""
    e = env - env.mean()
    n = len(e)
    ac = np.fft.irfft(np.abs(np.fft.rfft(e, 2 * n)) ** 2)[:n]
    if ac[0] <= 0:
        return np.zeros(n)
    return ac / ac[0] * n / (n - np.arange(n))


def _parabolic(y: np.ndarray, k: int) -> float:
    """Offset in [-0.5, 0.5] of the vertex of the parabola through y[k-1], y[k], y[k+1] (cyclic)."""
    a, b, c = y[k - 1], y[k], y[(k + 1) % len(y)]
    denom = a - 2 * b + c
    return 0.0 if denom >= 0 else float(np.clip(0.5 * (a - c) / denom, -0.5, 0.5))


def period_candidates(env: np.ndarray, hop_s: float) -> list[tuple[float, float, float]]:
    """Autocorrelation peaks in the tempo range as (period in frames, clarity, score), best score first.

    Clarity is the autocorrelation at the peak. The score averages the autocorrelation over the period's
    first few multiples and weighs it by a mild tempo prior, which settles the usual beat-versus-bar
    ambiguity the same way on both sides of a boundary.
    """
    if len(env) < 16:
        return []
    ac = _autocorrelation(env)
    lo = max(2, int(math.floor(60.0 / MAX_BPM / hop_s)))
    hi = min(len(ac) // 2, int(math.ceil(60.0 / MIN_BPM / hop_s)))
    if hi <= lo + 2:
        return []
    lags = np.arange(lo, hi + 1)
    peaks = lags[(ac[lags] >= ac[lags - 1]) & (ac[lags] >= ac[lags + 1]) & (ac[lags] > 0)]
    prior = np.exp(-0.5 * (np.log2(60.0 / (peaks * hop_s) / PRIOR_BPM) / PRIOR_OCTAVES) ** 2)
    lags_all = np.arange(len(ac))
    found = []
    for k, weight in zip(peaks, prior):
        period = k + _parabolic(ac, int(k))
        # A dotted or syncopated period repeats at its first multiple but not at the third or fourth,
        # where the true beat period still does; multiples past 3/4 of the window are too noisy to use.
        multiples = [m * period for m in range(1, HARMONICS + 1) if m * period < 0.75 * len(ac)]
        support = float(np.mean(np.interp(multiples, lags_all, ac)))
        found.append((period, float(min(ac[k], 1.0)), support * weight))
    return sorted(found, key=lambda c: -c[2])


def _comb_phase(env: np.ndarray, period: float) -> float:
    """Frame (in [0, period)) where a pulse train of the given period collects the most onset energy."""
    idx = np.arange(len(env), dtype=float)
    phases = np.arange(0.0, period, 0.25)
    beats = np.arange(0.0, len(env) - 1, period)
    score = np.array([np.interp(p + beats[p + beats <= len(env) - 1], idx, env).sum() for p in phases])
    return float(phases[int(np.argmax(score))])


def _refine(env: np.ndarray, period: float, phase: float) -> tuple[float, float, int]:
    """Least-squares beat grid through the onset peaks found near each comb beat: (phase, period, beats).

    The autocorrelation gives the period to a fraction of a frame at best; a straight line through a
    dozen measured beat times pins it down to a few tenths of a millisecond, which is what carrying the
    grid a dozen beats across a crossfade needs.
    """
    n = len(env)
    found = 0
    for reach in (0.12, 0.08):  # a second, narrower pass around the corrected grid
        ks = np.arange(math.ceil(-phase / period), math.floor((n - 1 - phase) / period) + 1)
        half = max(1, int(round(reach * period)))
        index, times, weights = [], [], []
        for k in ks:
            centre = int(round(phase + k * period))
            lo, hi = max(0, centre - half), min(n, centre + half + 1)
            if hi - lo < 3:
                continue
            j = lo + int(np.argmax(env[lo:hi]))
            # A maximum on the window's edge is the slope of something outside it, not an onset here.
            if env[j] <= 0 or j in (lo, hi - 1):
                continue
            index.append(k)
            times.append(j + _parabolic(env, j))
            weights.append(env[j])
        found = len(times)
        if found < 4:
            return phase, period, found
        slope, intercept = np.polyfit(np.array(index, float), np.array(times), 1, w=np.sqrt(weights))
        if not (0.9 * period < slope < 1.1 * period):
            return phase, period, found
        period, phase = float(slope), float(intercept)
    return phase, period, found


class Side:
    """The onset analysis of the audio on one side of a boundary."""

    def __init__(self, x: np.ndarray, sr: int) -> None:
        self.env, self.groups, self.hop_s, self.t0 = onset_envelopes(x, sr)
        self.smooth = ndimage.gaussian_filter1d(self.env, 1.0) if len(self.env) else self.env
        long_enough = len(self.env) * self.hop_s >= MIN_SIDE_S * 0.9
        self.candidates = period_candidates(self.env, self.hop_s) if long_enough else []

    def grid(self, candidate: tuple[float, float, float]) -> dict[str, float]:
        """Beat grid for one period candidate: first beat and period in seconds from the side's start."""
        period, clarity, _ = candidate
        phase, period, beats = _refine(self.smooth, period, _comb_phase(self.smooth, period))
        return {
            "phase_s": self.t0 + (phase % period) * self.hop_s,
            "period_s": period * self.hop_s,
            "bpm": 60.0 / (period * self.hop_s),
            "clarity": clarity if beats >= 4 else 0.0,
        }

    def pattern(self, origin_s: float, anchor_s: float, unit_s: float) -> np.ndarray:
        """Mean onset strength of each band group at each phase of a beat grid: (3, PATTERN_BINS).

        `origin_s` is the time of this side's first sample and `anchor_s` a beat of the grid, both on
        the caller's clock; `unit_s` is the grid's period.
        """
        times = origin_s + self.t0 + np.arange(self.groups.shape[1]) * self.hop_s
        index = np.floor((times - anchor_s) / unit_s % 1.0 * PATTERN_BINS).astype(int) % PATTERN_BINS
        counts = np.maximum(np.bincount(index, minlength=PATTERN_BINS), 1)
        return np.stack([np.bincount(index, weights=g, minlength=PATTERN_BINS) / counts for g in self.groups])


def beat_grid(x: np.ndarray, sr: int) -> dict[str, float]:
    """Beat grid of a stretch of audio: first beat and period in seconds from its start, bpm, clarity."""
    side = Side(x, sr)
    if not side.candidates:
        return {"phase_s": float("nan"), "period_s": float("nan"), "bpm": float("nan"), "clarity": 0.0}
    return side.grid(side.candidates[0])


def _pick_periods(before: Side, after: Side) -> tuple[tuple, tuple]:
    """The period candidate of each side: each side's best, unless the two disagree and a pair that
    agrees scores nearly as well.

    Syncopated music offers several strong periods (a beat, a dotted beat, a bar); which one wins on a
    given 7 s can flip from one stretch of the same track to the next. Where both sides offer the same
    period among their strong candidates, that period is taken, so a flip is not reported as a tempo
    jump; a real change leaves no matching candidate and is reported.
    """
    best_b, best_a = before.candidates[0], after.candidates[0]
    if abs(best_a[0] / best_b[0] - 1.0) < SAME_PERIOD:
        return best_b, best_a
    pairs = [
        (b[2] + a[2], b, a) for b in before.candidates for a in after.candidates if abs(a[0] / b[0] - 1.0) < SAME_PERIOD
    ]
    if pairs:
        total, b, a = max(pairs, key=lambda p: p[0])
        if total >= MATCH_SLACK * (best_b[2] + best_a[2]):
            return b, a
    return best_b, best_a


def _pattern_offset(pattern_b: np.ndarray, pattern_a: np.ndarray) -> float:
    """Shift in beats, in [-0.5, 0.5], that best lines the after-pattern up with the before-pattern."""
    pb = pattern_b - pattern_b.mean(axis=1, keepdims=True)
    pa = pattern_a - pattern_a.mean(axis=1, keepdims=True)
    xc = np.fft.irfft(np.conj(np.fft.rfft(pb, axis=1)) * np.fft.rfft(pa, axis=1), n=PATTERN_BINS, axis=1)
    # Each band group's correlation is normalised so that its shape counts, not its loudness; the weights
    # then let the kick decide where a backbeat or off-beat hats would leave the shift ambiguous.
    xc = xc / (np.sqrt((pb**2).sum(axis=1) * (pa**2).sum(axis=1))[:, None] + 1e-12)
    xc = (xc * np.array(GROUP_WEIGHTS)[:, None]).sum(axis=0)
    k = int(np.argmax(xc))
    offset = (k + _parabolic(xc, k)) / PATTERN_BINS
    return offset - round(offset)


# ----------------------------------------------------------------------------------------------------
# loudness


def short_term_loudness(x: np.ndarray, sr: int, skip: int = 0) -> float:
    """K-weighted loudness (LUFS) of `x` after its first `skip` samples; silence reads -70.

    Meant for a 3 s stretch (EBU short-term loudness). The skipped lead-in lets the K-weighting
    filters settle on the audio that precedes the measured stretch.
    """
    x = np.asarray(x, dtype=np.float64)
    x = x[:, None] if x.ndim == 1 else x
    weighted = signal.sosfilt(k_weighting_sos(sr), x, axis=0)[skip:]
    power = float(np.square(weighted).sum(axis=1).mean()) if len(weighted) else 0.0
    return max(_FLOOR_LUFS, -0.691 + 10 * math.log10(power)) if power > 0 else _FLOOR_LUFS


def loudness_step(before: np.ndarray, after: np.ndarray, sr: int) -> float:
    """Short-term loudness of the first 3 s of `after` minus that of the last 3 s of `before`, in LU."""
    n, settle = int(LOUDNESS_S * sr), int(0.5 * sr)
    tail = np.asarray(before)[-(n + settle) :]
    return short_term_loudness(after[:n], sr) - short_term_loudness(tail, sr, skip=max(0, len(tail) - n))


# ----------------------------------------------------------------------------------------------------
# one boundary


def tempo_relation(before_bpm: float, after_bpm: float) -> str:
    """How the after-tempo relates to the before-tempo: "same", "double" (twice as fast), "half", "other"."""
    q = after_bpm / before_bpm
    for name, ratio in (("same", 1.0), ("double", 2.0), ("half", 0.5)):
        if abs(q / ratio - 1.0) < OCTAVE_TOLERANCE:
            return name
    return "other"


def boundary_rhythm(
    before: np.ndarray, after: np.ndarray, sr: int, gap: int = 0, window_s: float = WINDOW_S
) -> dict[str, Any]:
    """Beat phase, tempo and loudness across a boundary.

    `before` is audio ending where the boundary region starts, `after` audio starting where it ends, and
    `gap` the length in samples of the region between them (a crossfade; 0 for a cut), which is not
    analysed: the grid fitted to `before` is carried across it. Only the last / first `window_s` seconds
    of each side are used.

    Returns ``beat_phase_error`` (beats, 0 to 0.5: how far the onsets after the boundary sit from where
    the grid carried on from before puts them), ``tempo_jump_pct`` (after against before, raw: a change
    to double time reads +100), ``tempo_jump_folded_pct`` (the same after undoing a half/double
    relation), ``tempo_relation``, ``before_bpm``, ``after_bpm``, ``loudness_step_lu`` (short-term
    loudness of the first 3 s after minus the last 3 s before), ``rhythm_confidence`` (the lower pulse
    clarity of the two sides, 0 to 1; below `CONFIDENT` the phase and tempo figures mean little) and
    ``gap_beats`` (how far the grid was carried).
    """
    w = int(window_s * sr)
    before, after = np.asarray(before)[-w:], np.asarray(after)[:w]
    step = loudness_step(before, after, sr) if len(before) and len(after) else None
    out: dict[str, Any] = {
        "beat_phase_error": None,
        "tempo_jump_pct": None,
        "tempo_jump_folded_pct": None,
        "tempo_relation": None,
        "before_bpm": None,
        "after_bpm": None,
        "loudness_step_lu": None if step is None else round(step, 2),
        "rhythm_confidence": 0.0,
        "gap_beats": None,
    }
    if min(len(before), len(after)) < MIN_SIDE_S * sr:
        return out
    side_b, side_a = Side(before, sr), Side(after, sr)
    if not (side_b.candidates and side_a.candidates):
        return out
    pick_b, pick_a = _pick_periods(side_b, side_a)
    grid_b, grid_a = side_b.grid(pick_b), side_a.grid(pick_a)
    tb, ta = grid_b["period_s"], grid_a["period_s"]
    relation = tempo_relation(grid_b["bpm"], grid_a["bpm"])
    # One clock for both sides, its zero at the first sample of `after`; the before-grid carried on to
    # the beat nearest that point is where the after side's beats are expected.
    origin_b = -(gap + len(before)) / sr
    first_b = origin_b + grid_b["phase_s"]
    anchor = first_b + round(-first_b / tb) * tb
    # Double or half time: the coarser grid's beats should fall on every other beat of the finer one,
    # so both sides are compared on the finer grid.
    unit_b = tb / 2 if relation == "double" else tb
    unit_a = ta / 2 if relation == "half" else ta
    offset = _pattern_offset(side_b.pattern(origin_b, anchor, unit_b), side_a.pattern(0.0, anchor, unit_a))
    fold = {"double": 0.5, "half": 2.0}.get(relation, 1.0)
    out.update(
        {
            "beat_phase_error": round(abs(offset - round(offset)), 4),
            "tempo_jump_pct": round(100.0 * (grid_a["bpm"] / grid_b["bpm"] - 1.0), 3),
            "tempo_jump_folded_pct": round(100.0 * (fold * grid_a["bpm"] / grid_b["bpm"] - 1.0), 3),
            "tempo_relation": relation,
            "before_bpm": round(grid_b["bpm"], 3),
            "after_bpm": round(grid_a["bpm"], 3),
            "rhythm_confidence": round(min(grid_b["clarity"], grid_a["clarity"]), 3),
            "gap_beats": round(gap / sr / tb, 2),
        }
    )
    return out


def signal_boundary_rhythm(x: np.ndarray, sr: int, start: int, stop: int, window_s: float = WINDOW_S) -> dict[str, Any]:
    """`boundary_rhythm` for the region [start, stop) of one signal (a mix, or a source track)."""
    w = int(window_s * sr)
    start, stop = max(0, int(start)), max(int(start), int(stop))
    return boundary_rhythm(x[max(0, start - w) : start], x[stop : stop + w], sr, gap=stop - start, window_s=window_s)


# ----------------------------------------------------------------------------------------------------
# key and summary


def key_steps(item_a: Mapping[str, Any], item_b: Mapping[str, Any]) -> int | None:
    """Camelot steps between two tracklist items' "camelot" fields; None when either is missing or bad."""
    code_a, code_b = item_a.get("camelot"), item_b.get("camelot")
    if not code_a or not code_b:
        return None
    try:
        return camelot_distance(code_a, code_b)
    except ValueError:
        return None


def tracklist_key_steps(items: Sequence[Mapping[str, Any]]) -> list[int | None]:
    """Key steps of each consecutive pair of items, in mix order."""
    ordered = sorted(items, key=lambda it: it.get("mix_start_ms", 0))
    return [key_steps(a, b) for a, b in zip(ordered, ordered[1:])]


def _median(values: Iterable[float]) -> float | None:
    values = [v for v in values if v is not None]
    return round(float(np.median(values)), 4) if values else None


def _share(flags: Sequence[bool]) -> float | None:
    return round(sum(flags) / len(flags), 4) if flags else None


def rhythm_summary(rows: Sequence[Mapping[str, Any]], min_confidence: float = CONFIDENT) -> dict[str, Any]:
    """Medians and shares over per-seam dicts from `boundary_rhythm` (plus "key_steps" where known).

    Phase and tempo figures count only seams whose both sides have a clear pulse; how many were left out
    is reported. Loudness counts every seam, since it needs no pulse.
    """
    sure = [
        r
        for r in rows
        if r.get("beat_phase_error") is not None and (r.get("rhythm_confidence") or 0.0) >= min_confidence
    ]
    errors = [r["beat_phase_error"] for r in sure]
    jumps = [abs(r["tempo_jump_pct"]) for r in sure]
    folded = [abs(r["tempo_jump_folded_pct"]) for r in sure]
    steps = [step for r in rows if (step := r.get("loudness_step_lu")) is not None]
    keys = [key for r in rows if (key := r.get("key_steps")) is not None]
    return {
        "seams": len(rows),
        "confident": len(sure),
        "excluded_low_confidence": len(rows) - len(sure),
        "median_beat_phase_error": _median(errors),
        "mean_beat_phase_error": round(float(np.mean(errors)), 4) if errors else None,
        "on_beat_share": _share([e < ON_BEAT for e in errors]),
        "median_abs_tempo_jump_pct": _median(jumps),
        "tempo_kept_share": _share([j < TEMPO_KEPT_PCT for j in jumps]),
        "tempo_kept_share_folded": _share([j < TEMPO_KEPT_PCT for j in folded]),
        "half_or_double": sum(1 for r in sure if r.get("tempo_relation") in ("half", "double")),
        "median_abs_loudness_step_lu": _median(abs(s) for s in steps),
        "median_key_steps": _median(keys),
        "key_compatible_share": _share([k <= 1 for k in keys]),
    }


def rhythm_summaries(
    groups: Mapping[str, Sequence[Mapping[str, Any]]], min_confidence: float = CONFIDENT
) -> dict[str, dict[str, Any]]:
    """`rhythm_summary` of each named list of seams, e.g. {"mix": [...], "natural": [...]}."""
    return {name: rhythm_summary(rows, min_confidence) for name, rows in groups.items()}
