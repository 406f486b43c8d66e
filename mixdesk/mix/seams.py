"""The seam report: how each transition of a mix measures against the boundaries inside its sources.

A natural boundary is the place where one chunk of a source track ends and the next one begins, as the
track plays it: the last ``window_ms`` of the first chunk against the first ``window_ms`` of the next, the
pause between them included. Such boundaries go unnoticed by definition, so their level jumps, flux
peaks and click counts are the reference a mix transition is judged against.

Across every boundary the rhythm is measured too (:mod:`mixdesk.mix.seam_rhythm`): the beat grid of the
seconds before, carried on past the seam, against the grid after it (beat-phase error), the tempo jump,
the loudness step and, where the tracks' keys are known, the key distance in Camelot steps.

Clicks are counted on the residual of a short linear predictor rather than on raw sample steps: busy
material (hi-hats, noise) has raw steps as large as a splice's, but it is the splice the predictor cannot
follow.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import numpy as np
import soundfile as sf

from mixdesk.mix.seam_rhythm import WINDOW_S, key_steps, rhythm_summaries, signal_boundary_rhythm
from mixdesk.mix.seam_stats import (
    PREDICTION_ORDER,
    FrameFeatures,
    SeamSettings,
    click_positions,
    level_db,
    peak_flux,
    prediction_residual,
)
from mixdesk.progress import ProgressFn, StopFn, check_stop, report

_BLOCK = 1 << 16


def _median(values: Sequence[float]) -> float | None:
    return float(np.median(values)) if len(values) else None


class _Regions:
    """Collects the raw samples of a few sorted regions while the signal streams past."""

    def __init__(self, regions: Sequence[tuple[int, int]]) -> None:
        self.regions = list(regions)
        self.parts: dict[int, list[np.ndarray]] = {}
        self._next = 0

    def feed(self, block: np.ndarray, offset: int) -> list[tuple[int, np.ndarray]]:
        """Regions completed by this block, as (region number, samples)."""
        end = offset + len(block)
        done = []
        for k in range(self._next, len(self.regions)):
            lo, hi = self.regions[k]
            if lo >= end:
                break
            if hi > offset:
                self.parts.setdefault(k, []).append(block[max(lo, offset) - offset : min(hi, end) - offset])
        while self._next < len(self.regions) and self.regions[self._next][1] <= end:
            k = self._next
            parts = self.parts.pop(k, [])
            done.append((k, np.concatenate(parts) if parts else np.zeros((0, block.shape[1]), np.float32)))
            self._next += 1
        return done


def _measure(
    features: FrameFeatures,
    steps_by_region: Mapping[int, tuple[np.ndarray, int]],
    k: int,
    start: int,
    stop: int,
    sr: int,
    median_flux: float,
    settings: SeamSettings,
) -> dict[str, Any]:
    """Statistics of one boundary spanning samples [start, stop) of a signal."""
    window = int(settings.window_ms * sr / 1000)
    energy, hop = features.energy, settings.hop
    before = level_db(energy, start - window, start, hop)
    after = level_db(energy, stop, stop + window, hop)
    flux = peak_flux(features.flux, start, stop, settings.n_fft, hop)
    steps, first = steps_by_region.get(k, (np.zeros(0), start))
    # A splice can only step the waveform where a side enters or leaves: inside an equal-power overlap
    # both sides are continuous, and the drum hits there are music, not clicks. Each edge is judged on
    # its own, as a natural boundary (a single point) is.
    edges = [start] if stop - start <= 2 * int(settings.click_guard_ms * sr / 1000) else [start, stop]
    found = [click_positions(steps, edge - first, edge - first, sr, settings) for edge in edges]
    at = [first + n for positions, _ in found for n in positions]
    return {
        "level_before_db": round(before, 2),
        "level_after_db": round(after, 2),
        "level_jump_db": round(abs(after - before), 2),
        "flux_jump": round(flux / median_flux, 3) if median_flux > 0 else None,
        "clicks": len(at),
        "click_ms": [round(1000 * n / sr, 2) for n in at],
        "max_step_ratio": round(max(r for _, r in found), 2),
    }


def _scan(
    stream: Iterator[np.ndarray],
    boundaries: Sequence[tuple[int, int]],
    sr: int,
    settings: SeamSettings,
    should_stop: StopFn | None = None,
) -> list[dict[str, Any]]:
    """One pass over a signal (an iterator of blocks) measuring every boundary in it."""
    context = int(settings.click_context_ms * sr / 1000)
    regions = _Regions([(max(0, a - context), b + context) for a, b in boundaries])
    # the rhythm either side needs seconds, not milliseconds, of audio around each boundary
    reach = int(WINDOW_S * sr)
    wide = _Regions([(max(0, a - reach), b + reach) for a, b in boundaries])
    features = FrameFeatures(settings.n_fft, settings.hop)
    steps: dict[int, tuple[np.ndarray, int]] = {}
    rhythm: dict[int, dict[str, Any]] = {}

    def take(block: np.ndarray, offset: int) -> None:
        for k, samples in regions.feed(block, offset):
            steps[k] = (prediction_residual(samples), regions.regions[k][0])
        for k, samples in wide.feed(block, offset):
            lo = wide.regions[k][0]
            a, b = boundaries[k]
            rhythm[k] = signal_boundary_rhythm(samples, sr, a - lo, b - lo)

    offset = 0
    for block in stream:
        check_stop(should_stop)
        block = block if block.ndim == 2 else block[:, None]
        features.feed(block)
        take(block, offset)
        offset += len(block)
    take(np.zeros((0, 1), np.float32), offset)
    flux = features.flux
    median_flux = float(np.median(flux)) if flux.size else 0.0
    return [
        {**_measure(features, steps, k, a, b, sr, median_flux, settings), **rhythm.get(k, {})}
        for k, (a, b) in enumerate(boundaries)
    ]


def mix_seams(
    mix_path: str | Path, items: Sequence[Mapping[str, Any]], settings: SeamSettings, should_stop: StopFn | None = None
) -> list[dict[str, Any]]:
    with sf.SoundFile(str(mix_path)) as f:
        sr = f.samplerate
        spans = []
        for a, b in zip(items, items[1:]):
            lo, hi = sorted((b["mix_start_ms"], a["mix_end_ms"]))
            spans.append((int(round(lo * sr / 1000)), int(round(hi * sr / 1000))))
        order = np.argsort([s[0] for s in spans], kind="stable")
        measured = _scan(
            f.blocks(_BLOCK, dtype="float32", always_2d=True), [spans[i] for i in order], sr, settings, should_stop
        )
    out: list[dict[str, Any]] = [{}] * len(spans)
    for rank, i in enumerate(order):
        a, b = items[i], items[i + 1]
        out[i] = {
            "index": int(i),
            "from_chunk": a.get("chunk_id"),
            "to_chunk": b.get("chunk_id"),
            "mix_start_ms": b["mix_start_ms"],
            "mix_end_ms": a["mix_end_ms"],
            "score": b.get("score"),
            "key_steps": key_steps(a, b),
            **measured[rank],
        }
    return out


def source_position_ms(item: Mapping[str, Any], mix_ms: float) -> float | None:
    """Where in its source the item plays at ``mix_ms`` of the mix (stretching followed), or None."""
    if item.get("source_start_ms") is None or item.get("mix_start_ms") is None:
        return None
    mix_bpm, source_bpm = item.get("mix_bpm"), item.get("source_bpm")
    speed = float(mix_bpm) / float(source_bpm) if mix_bpm and source_bpm else 1.0
    return float(item["source_start_ms"]) + (mix_ms - float(item["mix_start_ms"])) * speed


def _source_has_spike(samples: np.ndarray, sr: int, at_ms: float, settings: SeamSettings) -> bool:
    """Whether a source stands out near ``at_ms`` as a click does: its prediction residual within
    ``click_source_tolerance_ms`` rises past ``click_factor`` times the 99.9th percentile of the
    ``click_context_ms`` around. No isolation test and no floor here: a spike the mix shows only faintly
    after stretching or gain, the recording still has."""
    at = int(round(at_ms * sr / 1000))
    context = int(settings.click_context_ms * sr / 1000)
    tolerance = int(settings.click_source_tolerance_ms * sr / 1000)
    lo = max(0, at - context)
    steps = prediction_residual(samples[lo : at + context])
    if lo == 0:
        steps[: 2 * PREDICTION_ORDER] = 0.0  # the predictor starting from silence at the file's first sample
    near = steps[max(0, at - lo - tolerance) : at - lo + tolerance]
    around = np.concatenate([steps[: max(0, at - lo - tolerance)], steps[at - lo + tolerance :]])
    if near.size == 0 or around.size == 0:
        return False
    return float(near.max()) > settings.click_factor * float(np.percentile(around, 99.9))


def separate_source_clicks(
    rows: list[dict[str, Any]],
    items: Sequence[Mapping[str, Any]],
    sr: int,
    settings: SeamSettings,
    should_stop: StopFn | None = None,
) -> None:
    """Move each transition's clicks that its sources have at the same place (a drum hit out of
    silence, a ticking synth in a quiet passage) from ``clicks`` to ``source_clicks``.

    A splice click is a spike the recordings do not have; the residual detector alone cannot tell a
    sharp attack in the music from one, and a mix whose seams land on the beat lands them on attacks.
    Each click is looked for in the source of every item playing at that moment, where that file can be
    read; clicks nowhere to be checked stay the mix's.
    """
    from mixdesk.core.audio import AudioError, decode

    # the two sources of the seam at hand (seams come in mix order, so neighbours share one): a long mix
    # of many sources never holds more than two decoded tracks
    decoded: OrderedDict[str, np.ndarray | None] = OrderedDict()
    for row in rows:
        if not row.get("click_ms"):
            row["source_clicks"], row["source_click_ms"] = 0, []
            continue
        check_stop(should_stop)
        a, b = items[row["index"]], items[row["index"] + 1]
        kept: list[float] = []
        theirs: list[float] = []
        for at_ms in row["click_ms"]:
            found = False
            for item in (a, b):
                if not float(item["mix_start_ms"]) <= at_ms <= float(item["mix_end_ms"]):
                    continue
                path = str(item.get("source_path") or "")
                where = source_position_ms(item, at_ms)
                if not path or where is None:
                    continue
                if path not in decoded:
                    try:
                        decoded[path] = decode(path, sample_rate=sr).samples if Path(path).exists() else None
                    except (AudioError, OSError):
                        decoded[path] = None
                    while len(decoded) > 2:
                        decoded.popitem(last=False)
                decoded.move_to_end(path)
                samples = decoded[path]
                if samples is not None and _source_has_spike(samples, sr, where, settings):
                    found = True
                    break
            (theirs if found else kept).append(at_ms)
        row["clicks"], row["click_ms"] = len(kept), kept
        row["source_clicks"], row["source_click_ms"] = len(theirs), theirs


def _natural_pairs(sources: Mapping[str, Mapping[str, Any]], limit: int) -> dict[str, list[tuple[int, int]]]:
    """Up to ``limit`` consecutive-chunk boundaries, spread evenly over all sources."""
    pairs = [
        (path, int(a[1]), int(b[0]))
        for path, info in sources.items()
        for a, b in zip(sorted(info.get("chunks", [])), sorted(info.get("chunks", []))[1:])
    ]
    if len(pairs) > limit:
        pairs = [pairs[i] for i in np.linspace(0, len(pairs) - 1, limit).round().astype(int)]
    grouped: dict[str, list[tuple[int, int]]] = {}
    for path, end_ms, start_ms in pairs:
        grouped.setdefault(path, []).append((end_ms, start_ms))
    return grouped


def natural_seams(
    sources: Mapping[str, Mapping[str, Any]],
    sr: int,
    settings: SeamSettings,
    on_progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
) -> list[dict]:
    from mixdesk.core.audio import decode

    grouped = _natural_pairs(sources, settings.max_natural)
    out: list[dict[str, Any]] = []
    for n, (path, pairs) in enumerate(grouped.items()):
        check_stop(should_stop)
        if not Path(path).exists():
            continue
        samples = decode(path, sample_rate=sr).samples
        spans = [(int(round(a * sr / 1000)), int(round(b * sr / 1000))) for a, b in pairs]
        blocks = (samples[i : i + _BLOCK] for i in range(0, len(samples), _BLOCK))
        for (end_ms, start_ms), stats in zip(pairs, _scan(blocks, spans, sr, settings, should_stop)):
            out.append({"source_path": path, "end_ms": end_ms, "next_start_ms": start_ms, **stats})
        report(on_progress, n + 1, len(grouped), f"measured boundaries in {Path(path).name}")
    return out


def _summary(mix: list[dict[str, Any]], natural: list[dict[str, Any]]) -> dict[str, Any]:
    def med(rows: list[dict[str, Any]], key: str) -> float | None:
        median = _median([r[key] for r in rows if r.get(key) is not None])
        return None if median is None else round(median, 3)

    mix_jump, nat_jump = med(mix, "level_jump_db"), med(natural, "level_jump_db")
    summary: dict[str, Any] = {
        "transitions": len(mix),
        "natural_boundaries": len(natural),
        "median_level_jump_db": {"mix": mix_jump, "natural": nat_jump},
        "median_flux_jump": {"mix": med(mix, "flux_jump"), "natural": med(natural, "flux_jump")},
        "clicks": {
            "mix": sum(r["clicks"] for r in mix),
            "natural": sum(r["clicks"] for r in natural),
            "mix_seams_with_clicks": sum(1 for r in mix if r["clicks"]),
            "mix_in_sources": sum(r.get("source_clicks", 0) for r in mix),
        },
    }
    summary["level_jump_excess_db"] = None if mix_jump is None or nat_jump is None else round(mix_jump - nat_jump, 3)
    summary["rhythm"] = rhythm_summaries({"mix": mix, "natural": natural})
    return summary


def seam_report(
    mix_path: str | Path,
    tracklist: Mapping[str, Any],
    settings: SeamSettings | None = None,
    on_progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
) -> dict[str, Any]:
    """Per-transition statistics of the mix, the same for natural boundaries, and a summary of both."""
    settings = settings or SeamSettings()
    sources = tracklist.get("sources") or {}
    items = [
        {**it, "camelot": it.get("camelot") or (sources.get(it.get("source_path")) or {}).get("camelot")}
        for it in sorted(tracklist["items"], key=lambda it: it["mix_start_ms"])
    ]
    report(on_progress, 0, 2, "measuring transitions")
    mix = mix_seams(mix_path, items, settings, should_stop)
    sr = sf.info(str(mix_path)).samplerate
    separate_source_clicks(mix, items, sr, settings, should_stop)
    report(on_progress, 1, 2, "measuring natural boundaries")
    natural = natural_seams(tracklist.get("sources") or {}, sr, settings, None, should_stop)
    report(on_progress, 2, 2, "done")
    return {"mix": str(mix_path), "summary": _summary(mix, natural), "transitions": mix, "natural": natural}
