"""Chaining chunks into a playlist with a transition scorer: greedy, beam search or sampling.

A scorer is a :class:`~mixdesk.ml.scoring.Scorer`: ``successor_scores(a_id, candidate_ids) -> probabilities``,
``score_matrix(a_ids, b_ids)`` for all beams at once, and ``prepare`` before a run (an object with only
``successor_scores`` gets ``ScorerBase``'s defaults through ``as_scorer``). Each step scores the whole pool
in one call, so a step costs one vectorised scorer call plus a few boolean masks, whatever the pool size.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from mixdesk.library.project import Project
from mixdesk.library.schema import Chunk
from mixdesk.mix.config import SequenceConfig
from mixdesk.mix.constraints import Limits, SequenceState, run_after
from mixdesk.mix.join_levels import join_cost, pool_edge_levels
from mixdesk.mix.playlist import Playlist, PlaylistItem, Transition
from mixdesk.mix.pool import ChunkPool, chunk_tempi_and_keys, compat_tables, pool_from_project
from mixdesk.ml.scoring import Scorer, Successors, as_scorer, scorer_name
from mixdesk.progress import ProgressFn, StopFn, check_stop, report

_FLOOR = 1e-9  # log of a zero probability would make every later sum -inf


@dataclass
class _Step:
    parent: np.ndarray
    chosen: np.ndarray
    prob: np.ndarray
    relaxed: list[tuple[str, ...]]
    cost: np.ndarray | float = 0.0  # what the joins' level steps cost each beam, in nats


@dataclass
class _Beams:
    last: np.ndarray
    recent: np.ndarray
    run_track: np.ndarray
    run_len: np.ndarray
    duration: np.ndarray
    total: np.ndarray
    tempo: np.ndarray
    history: list[_Step] = field(default_factory=list)

    def state(self, b: int) -> SequenceState:
        return SequenceState(
            int(self.last[b]), self.recent[b], int(self.run_track[b]), int(self.run_len[b]), float(self.tempo[b])
        )


def prepare_scorer(
    scorer: Successors,
    project: Project,
    chunk_ids: Sequence[int],
    on_progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
) -> None:
    """Let a scorer that keeps per-chunk encodings compute the missing ones before a run."""
    as_scorer(scorer).prepare(project, chunk_ids=list(chunk_ids), on_progress=on_progress, should_stop=should_stop)


def batch_scores(scorer: Successors, a_ids: Sequence[int], b_ids: np.ndarray) -> np.ndarray:
    """P(b follows a) for every a (rows) and b (columns)."""
    if len(a_ids) > 1:
        out = np.asarray(as_scorer(scorer).score_matrix(list(a_ids), b_ids.tolist()), dtype=np.float64)
    else:
        candidates = b_ids.tolist()
        out = np.stack([np.asarray(scorer.successor_scores(int(a), candidates), dtype=np.float64) for a in a_ids])
    return out.reshape(len(a_ids), len(b_ids))


class _Search:
    def __init__(
        self,
        pool: ChunkPool,
        scorer: Scorer,
        config: SequenceConfig,
        fixed: Mapping[int, int],
        rng: np.random.Generator,
        levels: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> None:
        self.pool, self.scorer, self.config, self.fixed, self.rng = pool, scorer, config, dict(fixed), rng
        tempo, key, self.notes = compat_tables(pool, config.max_bpm_diff_pct, config.max_key_steps)
        stretch_limit = None if config.tempo_mode == "native" else config.max_stretch_pct
        self.limits = Limits(
            pool, config.no_repeat_within, config.max_same_track, self.fixed, tempo, key, stretch_limit
        )
        self.bpm = pool.bpm if pool.bpm is not None else np.full(len(pool), np.nan)
        self.width = config.beam_width if config.strategy == "beam" else 1
        self.durations = pool.durations_ms.astype(np.float64)
        self._lookahead: dict[int, np.ndarray] = {}
        self.levels = levels if config.level_step_weight > 0 else None

    def _join_cost(self, last: int) -> np.ndarray | float:
        """What following pool item ``last`` with each pool item costs for the level step (0.0: nothing)."""
        if self.levels is None or last < 0:
            return 0.0
        head, tail = self.levels
        c = self.config
        return join_cost(float(tail[last]), head, c.level_step_tolerance_db, c.level_step_weight)

    def _pair_costs(self, last: np.ndarray, chosen: np.ndarray) -> np.ndarray:
        """The level-step cost of each join (pool item ``last[i]`` followed by ``chosen[i]``)."""
        if self.levels is None:
            return np.zeros(len(chosen))
        head, tail = self.levels
        c = self.config
        cost = join_cost(tail[np.maximum(last, 0)], head[chosen], c.level_step_tolerance_db, c.level_step_weight)
        return np.where(last >= 0, cost, 0.0)

    def run(self, on_progress: ProgressFn | None, should_stop: StopFn | None) -> list[tuple[int, float, tuple]]:
        target = self.config.target_ms
        last_fixed = max(self.fixed, default=-1)
        beams = self._initial()
        position = 0
        while True:
            check_stop(should_stop)
            self._advance(beams, position)
            if position % 16 == 0:
                report(on_progress, min(float(beams.duration.max()), target), target, f"{position + 1} items")
            done = beams.duration >= target
            if position >= last_fixed and done.any():
                best = int(np.flatnonzero(done)[np.argmax(beams.total[done])])
                report(on_progress, target, target, f"{position + 1} items")
                return self._backtrack(beams, best)
            position += 1

    def _initial(self) -> _Beams:
        k = max(1, self.config.no_repeat_within)
        return _Beams(
            last=np.full(1, -1),
            recent=np.full((1, k), -1),
            run_track=np.full(1, -1),
            run_len=np.zeros(1, dtype=np.int64),
            duration=np.zeros(1),
            total=np.zeros(1),
            tempo=np.full(1, np.nan),
        )

    def _advance(self, beams: _Beams, position: int) -> None:
        n_beams = len(beams.last)
        if position in self.fixed:
            chosen = np.full(n_beams, self.fixed[position])
            probs = self._probs(beams, chosen)
            step = _Step(np.arange(n_beams), chosen, probs, [()] * n_beams, self._pair_costs(beams.last, chosen))
        elif position == 0:
            start = int(self.rng.integers(len(self.pool)))
            step = _Step(np.zeros(1, dtype=np.int64), np.array([start]), np.array([np.nan]), [()])
        else:
            step = self._expand(beams, position)
        self._apply(beams, step)

    def _probs(self, beams: _Beams, chosen: np.ndarray) -> np.ndarray:
        if beams.last[0] < 0:
            return np.full(len(chosen), np.nan)
        ids = self.pool.ids
        return np.array(
            [
                float(np.asarray(self.scorer.successor_scores(int(ids[a]), [int(ids[c])]))[0])
                for a, c in zip(beams.last, chosen)
            ]
        )

    def _expand(self, beams: _Beams, position: int) -> _Step:
        probs = batch_scores(self.scorer, self.pool.ids[beams.last].tolist(), self.pool.ids)
        bonus = self._bonus(position)
        parents, chosen, keys, relaxed = [], [], [], []
        for b in range(len(beams.last)):
            mask, why = self.limits.allowed(beams.state(b), position)
            relaxed.append(why)
            cost = self._join_cost(int(beams.last[b]))
            extra = bonus - cost
            # with nothing beside P, the order of P alone decides, so only the best few get a log
            row = np.log(np.clip(probs[b], _FLOOR, 1.0)) + extra if isinstance(extra, np.ndarray) else probs[b]
            if self.config.strategy == "sample":
                top = np.array([self._sample(np.log(np.clip(probs[b], _FLOOR, 1.0)) + extra, mask)])
            else:
                top = _top(np.where(mask, row, -np.inf), self.width)
            parents.append(np.full(len(top), b))
            chosen.append(top)
            gain = np.log(np.clip(probs[b, top], _FLOOR, 1.0)) + (
                extra[top] if isinstance(extra, np.ndarray) else extra
            )
            keys.append(beams.total[b] + gain)
        flat = np.concatenate(keys)
        best = _top(flat, self.width) if len(flat) > self.width else np.argsort(-flat, kind="stable")
        parent, pick = np.concatenate(parents)[best], np.concatenate(chosen)[best]
        joins = self._pair_costs(beams.last[parent], pick)
        return _Step(parent, pick, probs[parent, pick], [relaxed[p] for p in parent], joins)

    def _sample(self, logp: np.ndarray, mask: np.ndarray) -> int:
        allowed = np.flatnonzero(mask)
        logits = logp[allowed] / self.config.temperature
        weights = np.exp(logits - logits.max())
        return int(self.rng.choice(allowed, p=weights / weights.sum()))

    def _bonus(self, position: int) -> np.ndarray | float:
        """log P(candidate -> the kept item right after it), so that gaps are bridged, not just filled."""
        nxt = self.fixed.get(position + 1)
        if nxt is None or not self.config.lookahead_locked:
            return 0.0
        if nxt not in self._lookahead:
            into = np.asarray(self.scorer.score_matrix(self.pool.ids.tolist(), [int(self.pool.ids[nxt])]))
            self._lookahead[nxt] = np.log(np.clip(into.reshape(-1), _FLOOR, 1.0))
        return self._lookahead[nxt]

    def _apply(self, beams: _Beams, step: _Step) -> None:
        parent, chosen = step.parent, step.chosen
        prev_last = beams.last[parent]
        tempo = mix_tempi(beams.tempo[parent], self.bpm[chosen], self.config)
        # a stretched item lasts (its own tempo / the mix tempo) of its length in the source
        speed = np.where(np.isfinite(tempo) & np.isfinite(self.bpm[chosen]), tempo / self.bpm[chosen], 1.0)
        length = self.durations[chosen] / speed
        overlap: np.ndarray | float = 0.0
        if self.config.transition == "crossfade":
            prev_dur = np.where(prev_last >= 0, self.durations[np.maximum(prev_last, 0)], 0.0)
            # the renderer counts a crossfade in beats of the outgoing item's mix (or own) tempo
            beat_tempo = np.where(np.isfinite(tempo), tempo, self.bpm[chosen])
            fade = np.where(
                np.isfinite(beat_tempo), self.config.crossfade_beats * 60_000.0 / beat_tempo, self.config.crossfade_ms
            )
            overlap = np.where(prev_last >= 0, np.minimum(fade, np.minimum(prev_dur, length) / 2), 0.0)
        tracks = self.pool.track_ids[chosen]
        runs = [
            run_after(int(t0), int(l0), int(t))
            for t0, l0, t in zip(beams.run_track[parent], beams.run_len[parent], tracks)
        ]
        beams.run_track = np.array([r[0] for r in runs])
        beams.run_len = np.array([r[1] for r in runs])
        beams.recent = np.concatenate([beams.recent[parent, 1:], chosen[:, None]], axis=1)
        beams.duration = beams.duration[parent] + length - overlap
        beams.tempo = tempo
        gain = np.log(np.clip(np.nan_to_num(step.prob, nan=1.0), _FLOOR, 1.0)) - step.cost
        beams.total = beams.total[parent] + gain
        beams.last = chosen
        beams.history.append(step)

    def _backtrack(self, beams: _Beams, best: int) -> list[tuple[int, float, tuple]]:
        out = []
        b = best
        for step in reversed(beams.history):
            out.append((int(step.chosen[b]), float(step.prob[b]), step.relaxed[b]))
            b = int(step.parent[b])
        return out[::-1]


def mix_tempi(previous: np.ndarray, native: np.ndarray, config: SequenceConfig) -> np.ndarray:
    """The mix tempo of the next item of each beam, from the beam's tempo so far and the item's own.

    NaN means "play at its own tempo" (``native`` mode, or no tempo known yet nor now).
    """
    previous = np.asarray(previous, dtype=np.float64)
    native = np.asarray(native, dtype=np.float64)
    if config.tempo_mode == "native":
        return np.full(len(native), np.nan)
    if config.tempo_mode == "fixed":
        if config.mix_bpm is None:
            raise ValueError("a fixed mix tempo needs mix_bpm")
        return np.full(len(native), float(config.mix_bpm))
    start = np.isnan(previous)
    if config.tempo_mode == "first":
        return np.where(start, native, previous)
    step = config.tempo_step_pct / 100.0
    moved = np.clip(native, previous * (1 - step), previous * (1 + step))
    return np.where(start, native, np.where(np.isnan(native), previous, moved))


def tempo_chain(
    previous: float | None, native: Sequence[float] | np.ndarray, config: SequenceConfig
) -> list[float | None]:
    """The mix tempo of each of a run of items (``native``: their own tempi, NaN where unknown) after an
    item playing at ``previous`` (None: they open the mix), item by item by :func:`mix_tempi`; None plays
    an item at its own tempo."""
    tempo = np.array([np.nan if previous is None else float(previous)])
    out: list[float | None] = []
    for bpm in np.asarray(native, dtype=np.float64).tolist():
        tempo = mix_tempi(tempo, np.array([bpm]), config)
        out.append(None if np.isnan(tempo[0]) else round(float(tempo[0]), 4))
    return out


def tempo_plan(playlist: Playlist) -> SequenceConfig:
    """The settings whose tempo rule ``playlist`` follows: those it was sequenced with (its
    ``meta["config"]``, which :func:`mixdesk.mix.tempo.with_mix_tempo` keeps up to date), the defaults for
    a playlist made another way."""
    data: Any = playlist.meta.get("config")
    if isinstance(data, Mapping):
        try:
            return SequenceConfig.from_dict(data)
        except (TypeError, ValueError):
            pass  # settings this version cannot read: the defaults' rule
    return SequenceConfig()


def follow_tempo_plan(
    project: Project, playlist: Playlist, from_index: int = 0, config: SequenceConfig | None = None
) -> Playlist:
    """``playlist`` with the mix tempo of every item from ``from_index`` on planned again as the
    sequencer plans it (:func:`tempo_chain` from the tempo of the item before, under ``config`` or the
    playlist's own :func:`tempo_plan`), so that an item put there by hand plays at the mix tempo like a
    generated one. Each item's own tempo is read over its excerpt as the pool reads a chunk's."""
    items = list(playlist.items)
    if not 0 <= from_index < len(items):
        return playlist
    rest = items[from_index:]
    spans = [Chunk(int(it.chunk_id), int(it.track_id), 0, int(it.in_ms), int(it.out_ms)) for it in rest]
    native, _keys = chunk_tempi_and_keys(project, spans)
    previous = items[from_index - 1].tempo_bpm if from_index else None
    tempi = tempo_chain(previous, native, config or tempo_plan(playlist))
    items[from_index:] = [item.with_(tempo_bpm=bpm) for item, bpm in zip(rest, tempi)]
    return playlist.replace_items(items)


def _top(keys: np.ndarray, count: int) -> np.ndarray:
    """Indices of the ``count`` largest finite keys, best first."""
    if count == 1:
        best = int(np.argmax(keys))
        return np.array([best]) if np.isfinite(keys[best]) else np.zeros(0, dtype=np.int64)
    count = min(count, len(keys))
    top = np.argpartition(keys, len(keys) - count)[len(keys) - count :]
    top = top[np.isfinite(keys[top])]
    return top[np.argsort(-keys[top], kind="stable")]


def fixed_items(playlist: Playlist | None, from_index: int = 0) -> dict[int, PlaylistItem]:
    """The items a regeneration keeps: everything before ``from_index`` plus every locked item."""
    if playlist is None:
        return {}
    return {i: item for i, item in enumerate(playlist.items) if i < from_index or item.locked}


def sequence_pool(
    pool: ChunkPool,
    scorer: Successors,
    config: SequenceConfig,
    fixed: Mapping[int, PlaylistItem] | None = None,
    start_chunk: int | None = None,
    on_progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
    levels: tuple[np.ndarray, np.ndarray] | None = None,
) -> Playlist:
    """Chain chunks of ``pool``; ``fixed`` items stay at their positions with their in/out points.
    ``levels`` (head and tail dBFS per pool chunk, :func:`mixdesk.mix.join_levels.edge_levels`) let the
    level step of each join count beside the scores."""
    if len(pool) == 0:
        raise ValueError("the chunk pool is empty: import tracks first")
    kept = dict(fixed or {})
    if start_chunk is not None and start_chunk not in pool:
        raise ValueError(f"start chunk {start_chunk} is not in the pool")
    if start_chunk is not None and 0 not in kept:
        kept[0] = _item_for(pool, pool.position(start_chunk), config, None, ())
    missing = [item.chunk_id for item in kept.values() if item.chunk_id not in pool]
    if missing:
        raise ValueError(f"chunks {missing[:5]} are not in the pool")
    search = _Search(
        pool,
        as_scorer(scorer),
        config,
        {p: pool.position(it.chunk_id) for p, it in kept.items()},
        np.random.default_rng(config.seed),
        levels,
    )
    path = search.run(on_progress, should_stop)
    items = []
    tempi = tempo_chain(None, search.bpm[[index for index, _prob, _relaxed in path]], config)
    for position, ((index, prob, relaxed), bpm) in enumerate(zip(path, tempi)):
        score = None if np.isnan(prob) else prob
        if position in kept:
            items.append(kept[position].with_(score=score, tempo_bpm=bpm))
        else:
            items.append(_item_for(pool, index, config, score, relaxed).with_(tempo_bpm=bpm))
    meta = {
        "strategy": config.strategy,
        "scorer": scorer_name(scorer),
        "config": config.to_dict(),
        "notes": search.notes,
        "relaxed_items": sum(1 for it in items if it.relaxed),
    }
    return Playlist(items=tuple(items), meta=meta)


def _item_for(
    pool: ChunkPool, index: int, config: SequenceConfig, score: float | None, relaxed: tuple[str, ...]
) -> PlaylistItem:
    track = int(pool.track_ids[index])
    return PlaylistItem(
        chunk_id=int(pool.ids[index]),
        track_id=track,
        source_path=pool.paths.get(track, ""),
        in_ms=int(pool.start_ms[index]),
        out_ms=int(pool.end_ms[index]),
        transition=Transition(config.transition, config.crossfade_ms, config.crossfade_beats),
        score=score,
        relaxed=tuple(relaxed),
    )


def sequence(
    project: Project,
    scorer: Successors,
    config: SequenceConfig,
    start_chunk: int | None = None,
    locked: Playlist | None = None,
    from_index: int = 0,
    pool: Sequence[int] | None = None,
    on_progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
) -> Playlist:
    """A new playlist from the project's chunks (or ``pool``).

    With ``locked`` (an earlier playlist) its items before ``from_index`` and its locked items keep their
    places and everything else is generated again, so ``from_index=i`` regenerates from item i on.
    """
    kept = fixed_items(locked, from_index)
    always = [it.chunk_id for it in kept.values()] + ([start_chunk] if start_chunk is not None else [])
    chunk_pool = pool_from_project(project, pool, config.min_chunk_ms, always)
    prepare_scorer(scorer, project, chunk_pool.ids.tolist(), on_progress, should_stop)
    levels = pool_edge_levels(project, chunk_pool, config) if config.level_step_weight > 0 else None
    playlist = sequence_pool(chunk_pool, scorer, config, kept, start_chunk, on_progress, should_stop, levels)
    name = locked.name if locked is not None else playlist.name
    return Playlist(items=playlist.items, name=name, meta=playlist.meta)


def regenerate(
    project: Project,
    scorer: Successors,
    playlist: Playlist,
    config: SequenceConfig,
    from_index: int = 0,
    on_progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
) -> Playlist:
    """Generate ``playlist`` again from item ``from_index`` on, keeping its locked items in place."""
    return sequence(
        project,
        scorer,
        config,
        locked=playlist,
        from_index=from_index,
        on_progress=on_progress,
        should_stop=should_stop,
    )
