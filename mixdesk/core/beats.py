"""Beat tracking: a track's beats, downbeats, tempo and a confidence, as a :class:`BeatGrid`.

The pipeline, in the order the data flows:

1. A streaming front end (:class:`mixdesk.core.onsets.Frontend`) turns audio blocks into spectral flux on 5 ms frames in
   three band groups (kick, body, cymbals), a frame energy and a coarse chroma every 80 ms. Only these
   small per-frame series are kept (well under 1 MB per minute of audio); no full-length spectrogram
   ever exists, so a 60-minute track costs what its envelopes cost.
2. Windowed autocorrelation of the onset envelope gives the beat period (refined from its multiples to
   a fraction of a BPM) and how it drifts from window to window.
3. Dynamic programming (Ellis 2007) picks the beat sequence that best trades onset strength against
   regular spacing, twice: once holding the track's period firmly (one steady tempo) and once
   following the local period (drift). A slow result is checked for being half the real tempo
   (kicks between its beats, or, below 82 BPM, clear onsets of any kind there: a kick-snare
   backbeat repeats every two beats but is counted per beat); both hypotheses share that decision.
4. Each tracked beat is moved onto the start of the onset next to it with sub-frame interpolation, and
   a robust regression fits a constant-tempo grid to them (Mixxx's constant beat grid) when the music
   is steady, or a local regression that follows the drift when it is not. Averaging over many beats
   is what makes the phase precise to about a millisecond on steady electronic music.
5. Bar starts are the beat phase with the most bar-start evidence (kick strength, harmonic change,
   onset strength); bars of three are reported only when they stand out clearly over bars of four.
6. The confidence multiplies evidence that a steady pulse explains the onsets (see :func:`_confidence`).

No learned model is involved: everything is signal processing on the envelopes.
"""

from __future__ import annotations

import math
from typing import Optional

import numpy as np
import scipy.fft
import scipy.sparse
from scipy.ndimage import maximum_filter1d, median_filter, uniform_filter1d

from mixdesk.core.beatgrid import BeatGrid
from mixdesk.core.onsets import CHROMA_EVERY, GROUP_WEIGHTS, HOP_S, Frontend
from mixdesk.progress import ProgressFn, StopFn, check_stop, report

MIN_BPM, MAX_BPM = 50.0, 220.0
# Tempo prior: flat over the range dance music lives in (so a 174 BPM track is not pulled to 116 by
# a prior centred on 120), falling off by PRIOR_OCTAVES outside it.
PRIOR_RANGE_BPM, PRIOR_OCTAVES = (78.0, 180.0), 0.5
TEMPO_WINDOW_S, TEMPO_HOP_S = 12.0, 4.0
REFINE_LAG_S = 5.0  # the period is refined from autocorrelation peaks at its multiples up to this lag
LOCAL_DRIFT = 0.08  # a window's period may differ this much from the track's
DOUBLE_BELOW_BPM = 95.0  # slower tempi are checked for being half the real one
HALF_TIME_RATIO = 0.8  # kicks between the beats this strong (relative to on them) mean double time
# Slower than this, a beat with onsets between its beats is read at double tempo (see _half_time):
# a DJ rarely counts beat-driven music slower, while real 83-90 BPM grooves are left to the kick test.
DOUBLE_TIME_BPM, HALF_BEAT_SHARE = 82.0, 0.3
# How strongly the DP holds beat spacing to the period: loosely when following the local period
# (drift, rubato), firmly when testing the hypothesis of one steady tempo.
TIGHTNESS, STEADY_TIGHTNESS = 100.0, 2000.0
STEADY_SCORE_SHARE = 0.92  # the steady hypothesis wins unless the drifting one aligns this much better
# A 23 ms window centred on a frame starts to see an onset half a window early, so the rising edge
# of the flux leads a percussive onset by a constant amount; measured on drum hits with
# tests/benchmarks/bench_beats.py (negative: the estimate is early and is moved later).
LATENCY_S = -0.013
EDGE_LEVEL = 0.25  # the fraction of the peak's rise that marks the edge
# The edge is extrapolated from its 25 % and 75 % crossings back to where the rise began: the same
# few ms before a drum's flux peak, but tens of ms for a string's or a voice's slow swell.
EXTRAPOLATE = 0.5
EDGE_SEARCH_S = 0.08  # how far before an onset peak its rising edge is looked for
STEADY_TOLERANCE_S = 0.012  # a constant grid is kept while no local fit strays further than this
STEADY_RESIDUAL_RATIO = 1.3  # ... or while local fits explain the onsets hardly better than the line
BAR_EVIDENCE_WEIGHTS = (1.0, 1.0, 0.5)  # kick strength, harmonic change, onset strength at a beat
THREE_FOUR_MARGIN = 1.5  # bars of three need this much more contrast than bars of four
# Onsets on the grid's subdivisions (see _on_grid_share): within this tolerance, and counting fully from
# this share above chance. Busy or loosely played music (arpeggios, swung fills) can sit near chance
# while its pulse is plain, so the share only scales the confidence from ON_GRID_FLOOR up; pulse-less
# audio is told apart mainly by the autocorrelation peak and the beats' spread.
ON_GRID_SUBDIVISIONS, ON_GRID_TOLERANCE_S = (2, 3, 4), 0.02
ON_GRID_FLOOR, ON_GRID_FULL = 0.3, 0.4
PEAK_FLOOR = 1.0  # a group's onset peak (log-magnitude flux) that counts as "no onsets at all"
FEED_SECONDS = 10.0  # track_beats hands the tracker blocks of this length


# -------------------------------------------------------------------------------------------- tempo
def _parabolic(values: np.ndarray, i: int) -> float:
    """Sub-sample position of the peak at ``i`` from the parabola through it and its neighbours."""
    if i <= 0 or i >= values.size - 1:
        return float(i)
    a, b, c = float(values[i - 1]), float(values[i]), float(values[i + 1])
    denom = a - 2.0 * b + c
    if denom >= 0.0:
        return float(i)
    return i + float(np.clip(0.5 * (a - c) / denom, -0.5, 0.5))


def _tempogram(env: np.ndarray, fps: float, max_lag: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Normalised autocorrelation of overlapping windows: (windows, lags), window centres (frames),
    and each window's weight (its onset activity; zero for silent windows)."""
    win = max(int(TEMPO_WINDOW_S * fps), 2 * max_lag + 2)
    hop = max(1, int(TEMPO_HOP_S * fps))
    starts = list(range(0, max(env.size - win, 0) + 1, hop)) or [0]
    if starts[-1] + win < env.size:
        starts.append(env.size - win)
    size = int(scipy.fft.next_fast_len(2 * win))
    taper = np.hanning(min(win, env.size) + 2)[1:-1]
    rows, weights = [], []
    overlap = None
    for s in starts:
        x = env[s : s + win].astype(np.float64)
        n = x.size
        x = (x - x.mean()) * taper[:n]
        spec = scipy.fft.rfft(x, size)
        acf = scipy.fft.irfft(spec * np.conj(spec), size)[: max_lag + 1]
        if overlap is None or overlap.size != acf.size:
            overlap = np.maximum(1.0 - np.arange(acf.size) / max(n, 1), 0.25)
        if acf[0] <= 1e-12:
            rows.append(np.zeros(max_lag + 1))
            weights.append(0.0)
            continue
        rows.append(acf / acf[0] / overlap)
        weights.append(float(np.mean(env[s : s + win])))
    centres = np.asarray(starts, dtype=np.float64) + min(win, env.size) / 2.0
    return np.vstack(rows), centres, np.asarray(weights)


def _pick_period(acf: np.ndarray, fps: float) -> tuple[float, float]:
    """Beat period in frames from a (mean) autocorrelation, and the autocorrelation there.

    Each lag scores its own peak plus half its double (a real beat period repeats at two beats too),
    weighted by a tempo prior that is flat over the usual range and falls off outside it.
    """
    lo = int(math.floor(60.0 * fps / MAX_BPM))
    hi = min(int(math.ceil(60.0 * fps / MIN_BPM)), (acf.size - 1) // 2)
    if hi <= lo + 2:
        return 0.0, 0.0
    lags = np.arange(lo, hi + 1)
    smooth = maximum_filter1d(acf, size=3)
    score = np.maximum(acf[lags], 0.0) + 0.5 * np.maximum(smooth[2 * lags], 0.0)
    bpm = 60.0 * fps / lags
    outside = np.maximum(np.log2(PRIOR_RANGE_BPM[0] / bpm), np.log2(bpm / PRIOR_RANGE_BPM[1]))
    prior = np.exp(-0.5 * (np.maximum(outside, 0.0) / PRIOR_OCTAVES) ** 2)
    peak = (acf[lags] >= acf[lags - 1]) & (acf[lags] >= acf[lags + 1])
    score = np.where(peak, score * prior, -np.inf)
    if not np.isfinite(score).any():
        return 0.0, 0.0
    best = int(lags[int(np.argmax(score))])
    return _parabolic(acf, best), float(acf[best])


def _refine_period(acf: np.ndarray, lag: float, fps: float) -> float:
    """Least-squares period from the peaks near m * lag (m = 1, 2, ...): the m-th peak pins the period
    m times more finely than the first, which turns 5 ms frames into a fraction of a BPM."""
    ms, lags = [], []
    m = 1
    while m * lag < min(acf.size - 2, REFINE_LAG_S * fps):
        centre = m * lag
        reach = max(2, int(round(0.03 * centre / m + 1)))
        lo, hi = max(1, int(round(centre)) - reach), min(acf.size - 1, int(round(centre)) + reach + 1)
        i = lo + int(np.argmax(acf[lo:hi]))
        if lo < i < hi - 1 and acf[i] > 0.05:
            ms.append(m)
            lags.append(_parabolic(acf, i))
            lag = float(np.dot(ms, lags) / np.dot(ms, ms))  # later multiples search around the update
        m += 1
    return lag


def _local_periods(gram: np.ndarray, weights: np.ndarray, period: float, fps: float) -> np.ndarray:
    """Each window's period, searched near the track's (drift, not octave jumps); a window without a
    clear peak there keeps the track's period."""
    out = np.full(gram.shape[0], period)
    lo = int(math.floor(period * (1.0 - LOCAL_DRIFT)))
    hi = min(int(math.ceil(period * (1.0 + LOCAL_DRIFT))), gram.shape[1] - 2)
    for k in range(gram.shape[0]):
        if weights[k] <= 0 or hi <= lo:
            continue
        i = lo + int(np.argmax(gram[k, lo : hi + 1]))
        if gram[k, i] > 0.2 and lo < i < hi:
            out[k] = _refine_period(gram[k], _parabolic(gram[k], i), fps)
    if out.size >= 3:
        out = median_filter(out, size=5, mode="nearest")
    return out


# ------------------------------------------------------------------------------------------ tracking
def _dp_beats(onset: np.ndarray, period: np.ndarray, tightness: float) -> np.ndarray:
    """Ellis's dynamic programme with a per-frame period; returns beat frames.

    A frame's best predecessor lies between half and two periods back, so every frame of a block
    shorter than half the shortest period depends only on earlier blocks: each block is one
    vectorised step.
    """
    n = onset.size
    pmin = float(period.min())
    dmin, dmax = max(1, int(math.floor(pmin / 2.0))), int(math.ceil(2.0 * float(period.max())))
    offsets = np.arange(dmin, dmax + 1, dtype=np.float64)
    cum = onset.astype(np.float64).copy()
    back = np.full(n, -1, dtype=np.int32)
    block = dmin
    for start in range(0, n, block):
        t = np.arange(start, min(start + block, n))
        prev = t[:, None] - offsets[None, :].astype(np.int64)
        p = period[t][:, None]
        penalty = -tightness * np.log(offsets[None, :] / p) ** 2
        valid = (prev >= 0) & (offsets[None, :] >= p / 2.0) & (offsets[None, :] <= 2.0 * p)
        cand = np.where(valid, cum[np.maximum(prev, 0)] + penalty, -np.inf)
        j = np.argmax(cand, axis=1)
        best = cand[np.arange(t.size), j]
        has = np.isfinite(best)
        cum[t[has]] += best[has]
        back[t[has]] = prev[np.arange(t.size), j][has]
    # End on the best-scoring frame within the last period of the envelope.
    tail = max(1, int(round(period[-1])))
    i = n - tail + int(np.argmax(cum[n - tail :]))
    beats = []
    while i >= 0:
        beats.append(i)
        i = int(back[i])
    return np.asarray(beats[::-1], dtype=np.int64)


def _half_time(frames: np.ndarray, fps: float, flux: np.ndarray, onset: np.ndarray) -> bool:
    """Whether a slow beat sequence is half the real tempo.

    Below DOUBLE_BELOW_BPM: when the kick band hits halfway between its beats about as hard as on
    them (a 174 BPM four-on-the-floor with claps on 2 and 4 is as periodic at 87 as at 174, and the
    tempo prior prefers 87). Only the kick band counts here, and in either direction (whichever of
    the two interleaved sequences the tracker took): offbeat hats, and bass notes on eighths, are
    what a slow beat normally has.

    Below DOUBLE_TIME_BPM, also when the halfway points carry clear onsets of any kind: a 140 BPM
    beat with the kick on 1 and 3 and the snare on 2 and 4 repeats every two beats, so its
    autocorrelation peaks at 70 BPM, but a DJ counts the kicks and snares, not their pairs. Music
    whose pulse really is that slow leaves the halfway points nearly empty.
    """
    if frames.size < 8:
        return False
    bpm = 60.0 * fps / float(np.median(np.diff(frames)))
    if bpm >= DOUBLE_BELOW_BPM:
        return False
    reach = 2 * max(1, int(round(0.015 * fps))) + 1
    mids = (frames[:-1] + frames[1:]) // 2
    peak = maximum_filter1d(flux[:, 0], size=reach)
    on, mid = float(peak[frames].mean()), float(peak[mids].mean())
    if min(on, mid) >= HALF_TIME_RATIO * max(on, mid, 1e-9):
        return True
    if bpm >= DOUBLE_TIME_BPM:
        return False
    peak = maximum_filter1d(onset, size=reach)
    return float(peak[mids].mean()) >= HALF_BEAT_SHARE * float(peak[frames].mean())


def _crossing(onset: np.ndarray, start: int, peak: int, level: float) -> float:
    """Where the envelope last rises through ``level`` before ``peak`` (frames, interpolated)."""
    j = peak
    while j > start and onset[j - 1] > level:
        j -= 1
    if j == start:
        return float(j)
    step = float(onset[j] - onset[j - 1])
    return j - (float(onset[j]) - level) / step if step > 0 else float(j)


def _refine(onset: np.ndarray, frames: np.ndarray, periods: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Move each beat to the onset next to it; returns (positions in frames, weights).

    The position is where the onset peak's rise begins (its rising edge above the trough before it,
    interpolated between frames and extrapolated to the start of the rise), not the peak: a drum's
    flux peaks a frame after the hit, but a bowed string or a voice takes 50-100 ms to swell and its
    peak comes that much late. A weight is the peak's
    height, so beats over silence or breakdowns hardly pull the grid.
    """
    pos = frames.astype(np.float64)
    w = np.zeros(frames.size)
    back = int(round(EDGE_SEARCH_S / HOP_S))
    for k, f in enumerate(frames):
        reach = max(1, int(round(min(0.12 * periods[k], 0.05 / HOP_S))))
        lo, hi = max(0, f - reach), min(onset.size, f + reach + 1)
        i = lo + int(np.argmax(onset[lo:hi]))
        if not lo < i < hi - 1:
            w[k] = 0.05 * onset[i]
            continue
        w[k] = onset[i]
        start = max(0, i - back)
        base = float(onset[start : i + 1].min())
        rise = float(onset[i]) - base
        low = _crossing(onset, start, i, base + EDGE_LEVEL * rise)
        high = _crossing(onset, start, i, base + (1.0 - EDGE_LEVEL) * rise)
        pos[k] = low - EXTRAPOLATE * (high - low)
    return pos, w


def _robust_line(n: np.ndarray, t: np.ndarray, w: np.ndarray, scale0: float) -> tuple[np.ndarray, np.ndarray]:
    """Weighted line t = a + b n with iterative down-weighting of outliers; (coefs, final weights)."""
    ww = w.copy()
    coef = np.zeros(2)
    for _ in range(5):
        if ww.sum() <= 0 or np.count_nonzero(ww) < 2:
            break
        X = np.stack([np.ones_like(n), n], axis=1)
        sw = np.sqrt(ww)
        coef, *_ = np.linalg.lstsq(X * sw[:, None], t * sw, rcond=None)
        r = t - X @ coef
        s = max(1.4826 * float(np.median(np.abs(r[ww > 0]))), scale0)
        ww = w * np.clip(1.0 - (r / (4.0 * s)) ** 2, 0.0, 1.0) ** 2  # Tukey biweight
    return coef, ww


def _local_fit(n: np.ndarray, t: np.ndarray, w: np.ndarray, half: int) -> np.ndarray:
    """Locally weighted line through (n, t) within ``half`` beats either side of each beat."""
    out = t.copy()
    for k in range(n.size):
        sel = slice(max(0, k - half), min(n.size, k + half + 1))
        nk, tk, wk = n[sel], t[sel], w[sel]
        d = np.abs(nk - n[k]) / (half + 1.0)
        wk = wk * (1.0 - d**3) ** 3
        if wk.sum() <= 0 or np.count_nonzero(wk) < 2:
            continue
        sw = np.sqrt(wk)
        X = np.stack([np.ones_like(nk), nk - n[k]], axis=1)
        coef, *_ = np.linalg.lstsq(X * sw[:, None], tk * sw, rcond=None)
        out[k] = coef[0]
    return out


def _fit_grid(pos_s: np.ndarray, w: np.ndarray, periods_s: np.ndarray) -> tuple[np.ndarray, bool, float]:
    """Beat times from refined beats: a constant grid if the music is steady, else a drifting one.

    Also returns the weighted median distance (s) of the refined beats from the grid: small when the
    onsets really sit on a regular grid.
    """
    steps = np.maximum(1, np.round(np.diff(pos_s) / periods_s[1:]).astype(int))
    n = np.concatenate([[0], np.cumsum(steps)]).astype(np.float64)
    coef, ww = _robust_line(n, pos_s, w, scale0=0.004)
    full_n = np.arange(n[-1] + 1)
    const = coef[0] + coef[1] * full_n
    if n.size < 16:
        return const, True, _weighted_median(np.abs(pos_s - const[n.astype(int)]), w)
    local = _local_fit(n, pos_s, np.maximum(ww, 1e-3 * w.max()), half=8)
    dev = uniform_filter1d(local - (coef[0] + coef[1] * n), size=9, mode="nearest")
    r_const = _weighted_median(np.abs(pos_s - const[n.astype(int)]), w)
    r_local = _weighted_median(np.abs(pos_s - local), w)
    # Steady: the local fits never stray far from the line, or they stray only because the onsets
    # scatter (soft attacks), which they then fit little better than the line does.
    if np.max(np.abs(dev)) <= STEADY_TOLERANCE_S or r_const <= STEADY_RESIDUAL_RATIO * r_local + 0.002:
        return const, True, r_const
    return np.interp(full_n, n, local), False, r_local


def _cover_span(times: np.ndarray, span_s: tuple[float, float]) -> np.ndarray:
    """Extend the grid by whole beats to the first and last onsets (within a quarter beat): the
    tracker can stop a beat short at either end, a doubled tempo always does at the start."""
    if times.size < 2:
        return times
    head, tail = times[1] - times[0], times[-1] - times[-2]
    n_head = max(0, int(math.floor((times[0] - span_s[0]) / head + 0.25)))
    n_tail = max(0, int(math.floor((span_s[1] - times[-1]) / tail + 0.25)))
    return np.concatenate(
        [times[0] - head * np.arange(n_head, 0, -1), times, times[-1] + tail * np.arange(1, n_tail + 1)]
    )


def _weighted_median(x: np.ndarray, w: np.ndarray) -> float:
    if x.size == 0 or w.sum() <= 0:
        return float("inf")
    order = np.argsort(x)
    c = np.cumsum(w[order])
    return float(x[order][np.searchsorted(c, 0.5 * c[-1])])


# ------------------------------------------------------------------------------------------ downbeats
def _beat_features(times: np.ndarray, fps: float, onset: np.ndarray, low: np.ndarray, chroma: np.ndarray) -> np.ndarray:
    """(beats, 3) bar-start evidence per beat: kick strength, harmonic change, onset strength."""
    f = np.clip(np.round(times * fps).astype(int), 0, onset.size - 1)
    reach = max(1, int(round(0.02 * fps)))
    low_max = maximum_filter1d(low, size=2 * reach + 1)[f]
    on_max = maximum_filter1d(onset, size=2 * reach + 1)[f]
    # Beat-synchronous chroma: mean over each beat interval, then the change across each beat
    # between the two beats before and the two after it.
    cfps = fps / CHROMA_EVERY
    cidx = np.clip(np.round(times * cfps).astype(int), 0, max(chroma.shape[0] - 1, 0))
    change = np.zeros(times.size)
    if chroma.shape[0] > 1:
        c = np.sqrt(chroma.astype(np.float64))
        csum = np.vstack([np.zeros(12), np.cumsum(c, axis=0)])
        bounds = np.append(cidx, chroma.shape[0])
        sync = csum[np.maximum(bounds[1:], bounds[:-1] + 1).clip(max=chroma.shape[0])] - csum[bounds[:-1]]
        sync /= np.linalg.norm(sync, axis=1, keepdims=True) + 1e-9
        for k in range(2, times.size - 1):
            before = sync[k - 2] + sync[k - 1]
            after = sync[k] + sync[min(k + 1, times.size - 1)]
            change[k] = 1.0 - float(before @ after) / (np.linalg.norm(before) * np.linalg.norm(after) + 1e-9)
    feats = np.stack([low_max, change, on_max], axis=1)
    sd = feats.std(axis=0)
    return (feats - feats.mean(axis=0)) / np.where(sd > 1e-9, sd, 1.0)


def _bar_phase(feats: np.ndarray, beats_per_bar: int) -> tuple[int, float]:
    """The beat phase whose beats carry the most bar-start evidence, and its contrast: how far that
    phase's mean evidence stands above the other phases' (in standard deviations of the evidence)."""
    score = feats @ np.asarray(BAR_EVIDENCE_WEIGHTS)
    phases = np.array(
        [score[p::beats_per_bar].mean() if score[p::beats_per_bar].size else -np.inf for p in range(beats_per_bar)]
    )
    best = int(np.argmax(phases))
    others = np.delete(phases, best)
    return best, float(phases[best] - others[np.isfinite(others)].mean()) if np.isfinite(others).any() else 0.0


def _meter_and_phase(feats: np.ndarray) -> tuple[int, int]:
    """(beats per bar, phase of the first downbeat): 4/4 unless bars of three stand out clearly more.

    A 4/4 piece shows almost no three-beat pattern (its bar starts cycle through all three phases),
    while a waltz's evidence repeats every three beats; the margin keeps 4/4, the common case and the
    one a DJ mix expects, whenever the evidence is not clear.
    """
    phase4, contrast4 = _bar_phase(feats, 4)
    if feats.shape[0] >= 12:
        phase3, contrast3 = _bar_phase(feats, 3)
        if contrast3 > THREE_FOUR_MARGIN * max(contrast4, 0.0) and contrast3 > 0.5:
            return 3, phase3
    return 4, phase4


# ------------------------------------------------------------------------------------------ tracker
class BeatTracker:
    """Streaming beat tracker: :meth:`feed` audio blocks in order, then :meth:`finish` for the grid.

    Blocks are float arrays, (frames, channels) or 1-D mono, at the ``sample_rate`` given here. Memory
    held between blocks is the small per-frame envelopes plus a window's worth of samples.
    """

    def __init__(self, sample_rate: int) -> None:
        if sample_rate <= 0:
            raise ValueError("sample rate must be positive")
        self.sample_rate = int(sample_rate)
        self._front = Frontend(self.sample_rate)
        self._finished = False

    @property
    def seconds_fed(self) -> float:
        return self._front.samples / self.sample_rate

    def feed(self, block: np.ndarray) -> None:
        if self._finished:
            raise RuntimeError("the tracker has finished")
        block = np.asarray(block)
        if block.ndim == 2:
            # Column by column: numpy's mean over a short last axis is several times slower.
            mono = block[:, 0].astype(np.float32)
            for c in range(1, block.shape[1]):
                mono += block[:, c]
            if block.shape[1] > 1:
                mono *= np.float32(1.0 / block.shape[1])
        elif block.ndim == 1:
            mono = block
        else:
            raise ValueError("a block is (frames,) or (frames, channels)")
        mono = np.nan_to_num(mono.astype(np.float32, copy=False), nan=0.0, posinf=0.0, neginf=0.0)
        self._front.push(mono)

    def finish(self) -> BeatGrid:
        if not self._finished:
            self._front.close()
            self._finished = True
        flux, energy, chroma = self._front.envelopes()
        return _grid_from_envelopes(flux, energy, chroma, self._front.frame_rate)


def _active_span(onset: np.ndarray, energy: np.ndarray) -> tuple[int, int] | None:
    """First and last frame with real onsets in audible signal; None for silence."""
    if energy.size == 0 or float(energy.max()) < 1e-10:
        return None
    loud = energy > float(np.percentile(energy, 95)) * 1e-4
    strong = (onset > 0.1 * float(np.percentile(onset, 99.5))) & loud
    if not strong.any():
        return None
    idx = np.flatnonzero(strong)
    return int(idx[0]), int(idx[-1])


def _combine_groups(flux: np.ndarray) -> np.ndarray:
    """One onset envelope from band-group fluxes, each group scaled by its own strong onsets (99th
    percentile) and then weighted, so that the kick group leads whatever its loudness.

    The relative floor (a tenth of the groups' average) keeps a group that carries almost nothing (no
    highs in a bass-heavy mix) from having its noise amplified to full weight; the absolute floor does
    the same for a whole signal without onsets (a sustained tone's flux is rounding noise).
    """
    peaks = np.percentile(flux, 99, axis=0).astype(np.float64)
    scale = np.asarray(GROUP_WEIGHTS) / (peaks + 0.1 * peaks.mean() + PEAK_FLOOR)
    return (flux @ (scale / scale.size)).astype(np.float64)


def _track(
    norm: np.ndarray,
    periods: np.ndarray,
    tightness: float,
    seg: slice,
    span: tuple[int, int],
    period: float,
    fps: float,
    onset: np.ndarray,
    flux: np.ndarray,
    double: Optional[bool] = None,
) -> tuple[np.ndarray, float, bool] | None:
    """One tracking hypothesis: DP beats, tempo-octave check, onset refinement and grid fit.
    Returns (beat times, spread of the onsets around them, whether the DP's beats were doubled) or
    None when too few beats. ``double`` imposes another hypothesis's octave decision."""
    lo, hi = span
    frames = _dp_beats(norm, periods, tightness) + seg.start
    keep = (frames >= lo - int(0.25 * period)) & (frames <= hi + int(0.25 * period))
    beat_periods = periods[frames[keep] - seg.start]
    frames = frames[keep]
    if frames.size < 4:
        return None
    if double is None:
        double = _half_time(frames, fps, flux, onset)
    if double:
        mids = (frames[:-1] + frames[1:]) // 2
        order = np.argsort(np.concatenate([frames, mids]), kind="stable")
        frames = np.concatenate([frames, mids])[order]
        beat_periods = np.concatenate([beat_periods, beat_periods[1:]])[order] / 2.0
    pos, w = _refine(onset, frames, beat_periods)
    times, _, spread = _fit_grid(pos / fps - LATENCY_S, w, beat_periods / fps)
    times = _cover_span(times, (lo / fps - LATENCY_S, hi / fps - LATENCY_S))
    times = times[(times >= 0.0)]
    times = times[np.concatenate([[True], np.diff(times) > 1e-3])] if times.size else times
    return (times, spread, double) if times.size >= 4 else None


def _grid_from_envelopes(flux: np.ndarray, energy: np.ndarray, chroma: np.ndarray, fps: float) -> BeatGrid:
    """The whole analysis after the front end. Per-frame work arrays are float32 and dropped early:
    they are what memory grows with on long tracks."""
    min_frames = int(4.0 * fps)
    if flux.shape[0] < min_frames:
        return BeatGrid.empty()
    # Light smoothing steadies the peaks that sub-frame refinement interpolates.
    kernel = np.array([0.25, 0.5, 0.25], dtype=np.float32)
    onset = np.convolve(_combine_groups(flux).astype(np.float32), kernel, mode="same")
    span = _active_span(onset, energy)
    if span is None or span[1] - span[0] < min_frames // 2:
        return BeatGrid.empty()
    max_lag = max(int(math.ceil(60.0 * fps / MIN_BPM)) * 2 + 2, int(REFINE_LAG_S * fps))
    # Periodicity on a smoothed envelope: 5 ms peaks would miss each other at the slightest drift.
    taper = np.hanning(int(0.05 * fps) | 1).astype(np.float32)
    smooth = np.convolve(onset, taper / taper.sum(), mode="same")
    gram, centres, weights = _tempogram(smooth, fps, max_lag)
    if weights.sum() <= 0:
        return BeatGrid.empty()
    mean_acf = (gram * weights[:, None]).sum(axis=0) / weights.sum()
    period, strength = _pick_period(mean_acf, fps)
    if period <= 0:
        return BeatGrid.empty()
    period = _refine_period(mean_acf, period, fps)
    local = _local_periods(gram, weights, period, fps)

    # The DP's envelope is normalised by its local level: loud and quiet sections both carry beats.
    lo, hi = span
    seg = slice(max(0, lo - int(period)), min(onset.size, hi + int(period)))
    per_frame = np.interp(np.arange(seg.start, seg.stop, dtype=np.float32), centres, local).astype(np.float32)
    level = uniform_filter1d(onset[seg], size=int(2.0 * fps), mode="nearest")
    norm = smooth[seg] / (level + np.float32(0.1 * float(onset.mean()) + 1e-9))
    del smooth, level
    norm /= norm.std() + 1e-9
    # Two hypotheses: one steady tempo (the track's period, held firmly), and a tempo that follows
    # the local periods. Steady wins unless the drifting grid sits clearly better on the onsets.
    peaks = maximum_filter1d(onset, size=2 * max(1, int(round(0.015 * fps))) + 1)
    steady_fit = _track(norm, np.full_like(per_frame, period), STEADY_TIGHTNESS, seg, span, period, fps, onset, flux)
    # The octave is decided once, on the steady beats: the alignment score below favours whichever
    # grid has fewer (stronger) beats, so it must not be what settles half against double time.
    drift_fit = _track(
        norm, per_frame, TIGHTNESS, seg, span, period, fps, onset, flux, None if steady_fit is None else steady_fit[2]
    )
    del norm, per_frame
    if steady_fit is None or drift_fit is None:
        only = steady_fit if steady_fit is not None else drift_fit
        if only is None:
            return BeatGrid.empty()
        times, spread, _ = only
    else:

        def alignment(times: np.ndarray) -> float:
            return float(peaks[np.clip(np.round(times * fps).astype(int), 0, onset.size - 1)].mean())

        steady_score, drift_score = alignment(steady_fit[0]), alignment(drift_fit[0])
        times, spread, _ = steady_fit if steady_score >= STEADY_SCORE_SHARE * drift_score else drift_fit

    raw = np.convolve(flux.sum(axis=1, dtype=np.float32), kernel, mode="same")
    confidence = _confidence(onset, raw, fps, times, strength, spread)
    del raw
    low = np.convolve(flux[:, 0], kernel, mode="same")
    beats_per_bar, phase = _meter_and_phase(_beat_features(times, fps, onset, low, chroma))
    bpm = 60.0 / float(np.median(np.diff(times)))
    return BeatGrid(times, times[phase::beats_per_bar], bpm, confidence, beats_per_bar)


def _on_grid_share(onset: np.ndarray, fps: float, times: np.ndarray) -> float:
    """How much more of the clear onsets (by strength) fall on the grid's subdivisions than chance
    would put there: 0 for onsets that ignore the grid, 1 when all of them sit on it.

    A grid can always be laid through a few well-placed notes of pulse-less music; what it cannot do
    is explain most of the other onsets too. The subdivision is the one that explains most: eighths,
    sixteenths (dance music's hats, arpeggios and bass lines) or eighth-note triplets (shuffle). Finer
    subdivisions catch more onsets by chance, so each share is measured against its chance level (the
    share of the beat that the tolerance covers) rather than against a fixed bar.
    """
    inner = onset[1:-1]
    is_peak = (inner > onset[:-2]) & (inner >= onset[2:])
    idx = np.flatnonzero(is_peak) + 1
    if idx.size == 0 or times.size < 2:
        return 0.0
    heights = onset[idx]
    strong = heights >= 0.3 * float(np.percentile(heights, 95))
    idx, heights = idx[strong], heights[strong]
    t = idx / fps
    inside = (t >= times[0]) & (t <= times[-1])
    if not inside.any():
        return 0.0
    t, heights = t[inside], heights[inside]
    k = np.clip(np.searchsorted(times, t) - 1, 0, times.size - 2)
    period = times[k + 1] - times[k]
    best = 0.0
    for sub in ON_GRID_SUBDIVISIONS:
        x = sub * (t - times[k]) / period
        dist = np.abs(x - np.round(x)) * period / sub
        share = float(heights[dist <= ON_GRID_TOLERANCE_S].sum() / heights.sum())
        chance = float(np.mean(np.minimum(2.0 * ON_GRID_TOLERANCE_S * sub / period, 1.0)))
        if chance < 1.0:
            best = max(best, (share - chance) / (1.0 - chance))
    return best


def _confidence(
    onset: np.ndarray, raw: np.ndarray, fps: float, times: np.ndarray, acf_peak: float, spread: float
) -> float:
    """How much a steady pulse explains the onsets, in [0, 1].

    Each part is near zero for one kind of pulse-less audio: the autocorrelation peak (noise,
    speech), the on-beat contrast (onset strength on beats against between them), the spread of the
    beats' onsets around the fitted grid (irregular or rubato notes), and the raw flux on beats (a
    sustained tone, whose only "onsets" are the interference of its partials). The share of onsets
    on the grid's subdivisions only scales the result (see ON_GRID_FLOOR): on busy real music it can
    sit near chance while the pulse is plain.
    """
    f = np.clip(np.round(times * fps).astype(int), 0, onset.size - 1)
    reach = max(1, int(round(0.015 * fps)))
    peak = maximum_filter1d(onset, size=2 * reach + 1)
    mids = np.round(0.5 * (times[1:] + times[:-1]) * fps).astype(int)
    quarter = np.round((0.75 * times[:-1] + 0.25 * times[1:]) * fps).astype(int)
    off = np.concatenate([peak[np.clip(mids, 0, onset.size - 1)], peak[np.clip(quarter, 0, onset.size - 1)]])
    contrast = float(np.mean(peak[f])) / (float(np.mean(off)) + 1e-9)
    strength = float(np.median(maximum_filter1d(raw, size=2 * reach + 1)[f]))
    on_grid = _on_grid_share(onset, fps, times)
    c_grid = np.clip(ON_GRID_FLOOR + on_grid / ON_GRID_FULL, 0.0, 1.0)
    c_contrast = np.clip((contrast - 1.0) / 1.5, 0.0, 1.0)
    # Beat-driven recordings show autocorrelation peaks of 0.4 and more and beats within 5 ms of the
    # grid; notes at random intervals reach about 0.2 and 10-20 ms. With the on-grid share no longer
    # able to veto, these two carry the distinction and are set between those figures.
    c_period = np.clip((acf_peak - 0.15) / 0.3, 0.0, 1.0)
    c_spread = np.clip(1.0 - (spread - 0.005) / 0.012, 0.0, 1.0)
    c_strength = np.clip(strength / 2.0, 0.0, 1.0)
    return float((c_contrast * c_period * c_spread * c_grid) ** 0.25 * c_strength)


# ------------------------------------------------------------------------------------------- driver
def track_beats(
    samples: np.ndarray,
    sample_rate: int,
    on_progress: Optional[ProgressFn] = None,
    should_stop: Optional[StopFn] = None,
) -> BeatGrid:
    """The beat grid of a whole track, fed to a :class:`BeatTracker` in blocks of a few seconds."""
    samples = np.asarray(samples)
    if samples.ndim not in (1, 2) or samples.shape[0] == 0 or sample_rate <= 0:
        return BeatGrid.empty()
    tracker = BeatTracker(sample_rate)
    total = samples.shape[0]
    step = max(1, int(FEED_SECONDS * sample_rate))
    for start in range(0, total, step):
        check_stop(should_stop)
        tracker.feed(samples[start : start + step])
        report(on_progress, min(start + step, total), total, "beats")
    check_stop(should_stop)
    return tracker.finish()
