import numpy as np
import pytest
import torch

from mixdesk.ml.baselines import RandomScorer, SimilarityScorer, dct_matrix
from mixdesk.ml.models import build_model
from mixdesk.ml.ranking import ModelNotFoundError, TransitionScorer, rank_successors


class FixedScorer:
    def __init__(self, scores: dict[int, float]):
        self.scores = scores

    def successor_scores(self, a_id, candidate_ids):
        return np.array([self.scores[c] for c in candidate_ids])


def test_rank_successors_best_first_without_self():
    scorer = FixedScorer({1: 0.9, 2: 0.1, 3: 0.5, 4: 0.7, 5: 0.3})
    assert rank_successors(1, [1, 2, 3, 4, 5], 3, scorer) == [(4, 0.7), (3, 0.5), (5, 0.3)]
    assert rank_successors(1, [1, 2, 3, 3], 10, scorer) == [(3, 0.5), (2, 0.1)]
    assert rank_successors(1, [1], 5, scorer) == [] and rank_successors(2, [1, 3], 0, scorer) == []


def _prepared_scorer(table, config):
    torch.manual_seed(0)
    model = build_model(config)
    model.fit_input_stats(table, torch.arange(len(table)))
    scorer = TransitionScorer(model, {"feature": table.config, "model": config}, "cpu")
    scorer.prepare_table(table)
    return scorer


@pytest.fixture
def scorer(synthetic_table, tiny_model_config):
    return _prepared_scorer(synthetic_table, tiny_model_config)


def test_scorer_matches_direct_pair_predictions(scorer, synthetic_table):
    from mixdesk.ml.models import predict

    ids = [int(c) for c in synthetic_table.chunk_ids]
    got = scorer.successor_scores(ids[0], ids[1:])
    direct = predict(scorer.model, synthetic_table.end[[0] * (len(ids) - 1)], synthetic_table.start[1:]).numpy()
    assert np.allclose(got, direct, atol=1e-5)
    few = scorer.successor_scores(ids[3], [ids[7], ids[2]])  # gathering path (small pool)
    assert np.allclose(few, scorer.successor_scores(ids[3], ids)[[7, 2]], atol=1e-6)
    assert np.all((got > 0) & (got < 1))
    matrix = scorer.score_matrix(ids[:2], ids[:5])
    assert matrix.shape == (2, 5) and np.allclose(matrix[0, 1:], got[:4], atol=1e-6)
    top = rank_successors(ids[0], ids, 5, scorer)
    assert len(top) == 5 and ids[0] not in [c for c, _ in top]
    assert [s for _, s in top] == sorted((s for _, s in top), reverse=True)


def test_scorer_reencodes_a_prepared_subset(scorer, synthetic_table):
    before = scorer.successor_scores(1, [2, 3, 4])
    scorer.prepare_table(synthetic_table.subset(np.array([1, 2])))
    assert len(scorer.prepared_ids) == len(synthetic_table)
    assert np.allclose(before, scorer.successor_scores(1, [2, 3, 4]), atol=1e-6)
    with pytest.raises(KeyError):
        scorer.successor_scores(1, [99999])


def test_missing_bundled_model_says_how_to_train(monkeypatch, tmp_path):
    import mixdesk.paths

    monkeypatch.setattr(mixdesk.paths, "models_dir", lambda: tmp_path)
    with pytest.raises(ModelNotFoundError, match="mixdesk train"):
        TransitionScorer.load(None)
    with pytest.raises(FileNotFoundError):
        TransitionScorer.load(tmp_path / "nope.pt")


def test_similarity_baseline_prefers_continuations(synthetic_table):
    scorer = SimilarityScorer(synthetic_table.config)
    scorer.prepare_table(synthetic_table)
    succ = synthetic_table.successors()
    ids = synthetic_table.chunk_ids
    wins = 0
    anchors = [i for i in range(len(ids)) if succ[i] >= 0]
    for i in anchors:
        scores = scorer.successor_scores(int(ids[i]), [int(c) for c in ids])
        assert np.all((scores > 0) & (scores < 1))
        wins += scores[succ[i]] > np.median(scores)
    assert wins / len(anchors) > 0.7
    with pytest.raises(KeyError):
        scorer.successor_scores(-5, [1])


def test_dct_is_orthonormal_and_random_scorer_is_reproducible():
    basis = dct_matrix(16, 16)
    assert np.allclose(basis.T @ basis, np.eye(16), atol=1e-9)
    r = RandomScorer(3)
    assert np.array_equal(r.successor_scores(1, [5, 2, 9]), r.successor_scores(1, [5, 2, 9]))
    assert np.array_equal(r.successor_scores(1, [5, 2])[1], r.successor_scores(1, [2])[0])


def test_prepare_on_a_project_follows_rechunking(small_project, tiny_model_config):
    from mixdesk.config import ChunkingConfig
    from mixdesk.ml.features import FeatureConfig

    torch.manual_seed(0)
    model = build_model(tiny_model_config).eval()
    configs = {"feature": FeatureConfig(window_s=0.5), "model": tiny_model_config}
    scorer = TransitionScorer(model, configs, "cpu")
    scorer.prepare(small_project)
    ids = [c.id for c in small_project.chunks()]
    assert sorted(scorer.prepared_ids) == sorted(ids)
    small_project.rechunk(ChunkingConfig(mode="fixed", fixed_length_s=1.5))
    new_ids = [c.id for c in small_project.chunks()]
    scorer.prepare(small_project)
    fresh = TransitionScorer(model, configs, "cpu")
    fresh.prepare(small_project)
    assert np.allclose(
        scorer.successor_scores(new_ids[0], new_ids[1:]), fresh.successor_scores(new_ids[0], new_ids[1:]), atol=1e-6
    )
    top = rank_successors(new_ids[0], new_ids, 3, scorer)
    assert len(top) == 3 and new_ids[0] not in [c for c, _ in top]


def test_every_scorer_has_the_whole_scorer_interface(scorer, synthetic_table):
    from mixdesk.ml.scoring import Scorer, ScorerBase, as_scorer, scorer_name

    similarity = SimilarityScorer(synthetic_table.config)
    similarity.prepare_table(synthetic_table)
    ids = [int(c) for c in synthetic_table.chunk_ids]
    for each in (scorer, similarity, RandomScorer(2)):
        assert isinstance(each, ScorerBase) and isinstance(each, Scorer)
        assert as_scorer(each) is each and scorer_name(each) == type(each).__name__
        matrix = each.score_matrix(ids[:3], ids[2:6])
        assert matrix.shape == (3, 4)
        assert np.allclose(matrix[1], each.successor_scores(ids[1], ids[2:6]))


def test_a_model_that_reads_descriptors_analyses_a_fresh_project_on_first_use(small_project, tiny_model_config):
    from dataclasses import replace

    from mixdesk.analysis.project_analysis import DESCRIPTOR_VECTOR_NAMES, chunk_descriptor_vectors
    from mixdesk.config import ChunkingConfig
    from mixdesk.ml.features import FeatureConfig
    from mixdesk.ml.table import project_feature_table

    config = replace(tiny_model_config, descriptor_dim=len(DESCRIPTOR_VECTOR_NAMES))
    torch.manual_seed(0)
    model = build_model(config).eval()
    configs = {"feature": FeatureConfig(window_s=0.5), "model": config}
    table = project_feature_table(small_project, configs["feature"])
    model.fit_input_stats(table, torch.arange(len(table)))
    assert chunk_descriptor_vectors(small_project) == {}
    seen = []
    scorer = TransitionScorer(model, configs, "cpu")
    scorer.prepare(small_project, on_progress=lambda p: seen.append(p.message))
    ids = [c.id for c in small_project.chunks()]
    stored = chunk_descriptor_vectors(small_project)
    assert set(stored) == set(ids) and any("analysing" in m for m in seen)
    # the scores are those of the analysed descriptors, not of blank ones
    blank = TransitionScorer(model, configs, "cpu")
    blank.prepare_table(table)
    zero = blank.successor_scores(ids[0], ids[1:])
    assert not np.allclose(scorer.successor_scores(ids[0], ids[1:]), zero, atol=1e-4)
    # a re-cut project is analysed again for its new chunks only
    small_project.rechunk(ChunkingConfig(mode="fixed", fixed_length_s=1.5))
    scorer.prepare(small_project)
    assert set(chunk_descriptor_vectors(small_project)) >= {c.id for c in small_project.chunks()}


@pytest.fixture
def pool_table():
    from mixdesk.ml.synthetic import synthetic_chunks
    from mixdesk.ml.table import build_feature_table

    refs, source = synthetic_chunks(n_tracks=8, chunks_per_track=10, chunk_s=1.0, seed=5)
    return build_feature_table(refs, source)


def _pool_matrix(scorer, ids):
    return np.stack([scorer.pool_scores(a, ids) for a in ids])


def test_rankings_are_normalised_over_the_pool(pool_table, tiny_model_config):
    from mixdesk.ml import ranking

    scorer = _prepared_scorer(pool_table, tiny_model_config)
    ids = [int(c) for c in pool_table.chunk_ids]
    assert len(ids) >= ranking.POOL_MIN
    p = scorer.score_matrix(ids, ids)  # joins: the model's own probabilities
    logits = np.log(p) - np.log1p(-p)
    np.fill_diagonal(logits, -np.inf)  # a chunk never follows itself
    hub = np.logaddexp(np.log(ranking.POOL_PRIOR), np.logaddexp.reduce(logits, axis=0))
    expected = 1 / (1 + np.exp(-(logits - hub + np.median(hub))))
    got = _pool_matrix(scorer, ids)
    off = ~np.eye(len(ids), dtype=bool)
    assert np.allclose(got[off], expected[off], atol=1e-6)
    # Each candidate moves by one amount whatever A, the start that follows the pool's ends most readily
    # loses most, and half the candidates go up, half down.
    shift = np.log(got) - np.log1p(-got) - (np.log(p) - np.log1p(-p))
    per_candidate = np.array([shift[off[:, j], j].mean() for j in range(len(ids))])
    assert np.allclose(shift[off], np.broadcast_to(per_candidate, shift.shape)[off], atol=1e-6)
    assert int(np.argmin(per_candidate)) == int(np.argmax(hub))
    assert abs(np.median(per_candidate)) < 1e-9
    # Ranked lists use the normalised scores; the same chunks given in another order make the same pool.
    top = rank_successors(ids[0], ids, 5, scorer)
    assert [c for c, _ in top] == [ids[j] for j in np.argsort(-np.where(off[0], got[0], -1))[:5]]
    scorer.set_pool(ids[::-1])
    assert np.allclose(_pool_matrix(scorer, ids)[off], got[off], atol=1e-9)
    # Chunks encoded after the pool was set are weighed against the same pool ends when first ranked.
    scorer.prepare_table(pool_table.subset(np.arange(3)), pool=False)
    assert np.allclose(_pool_matrix(scorer, ids)[off], got[off], atol=1e-6)


def test_a_small_pool_ranks_by_the_model_scores(pool_table, tiny_model_config):
    from mixdesk.ml import ranking

    scorer = _prepared_scorer(pool_table, tiny_model_config)
    ids = [int(c) for c in pool_table.chunk_ids]
    few = ids[: ranking.POOL_MIN - 1]
    scorer.set_pool(few)
    assert np.allclose(_pool_matrix(scorer, few), scorer.score_matrix(few, few), atol=1e-9)
    # Making the whole table the pool again weighs every start anew.
    scorer.prepare_table(pool_table)
    assert not np.allclose(_pool_matrix(scorer, few), scorer.score_matrix(few, few), atol=1e-3)


def test_going_back_to_the_last_pool_weighed_costs_nothing(pool_table, tiny_model_config, monkeypatch):
    from mixdesk.ml import ranking

    monkeypatch.setattr(ranking, "POOL_REFERENCE", 40)  # so that some pool chunks are no reference end
    scorer = _prepared_scorer(pool_table, tiny_model_config)
    ids = [int(c) for c in pool_table.chunk_ids]
    whole = _pool_matrix(scorer, ids[:5])
    part = ids[:70]
    scorer.set_pool(part)
    in_part = _pool_matrix(scorer, part[:5])
    assert not np.allclose(in_part, whole, atol=1e-4)  # another pool, other sums
    weighed = []
    real = scorer._hubs
    monkeypatch.setattr(scorer, "_hubs", lambda rows, *args: weighed.append(rows.size) or real(rows, *args))
    scorer.set_pool(ids[::-1])
    assert np.allclose(_pool_matrix(scorer, ids[:5]), whole, atol=1e-9) and weighed == []
    scorer.set_pool(part)
    assert np.allclose(_pool_matrix(scorer, part[:5]), in_part, atol=1e-9) and weighed == []
    # A re-encoded chunk is weighed again, alone; a re-encoded reference end has every start weighed again.
    scorer.set_pool(ids)
    outside = next(c for c in ids[5:] if c not in scorer._reference)
    scorer.prepare_table(pool_table.subset(np.array([ids.index(outside)])), pool=False)
    assert np.allclose(_pool_matrix(scorer, ids[:5]), whole, atol=1e-6) and weighed == []
    scorer.pool_scores(ids[0], [outside])
    assert weighed == [1]
    scorer.prepare_table(pool_table.subset(np.array([0])), pool=False)
    assert np.allclose(_pool_matrix(scorer, ids[:5]), whole, atol=1e-6) and weighed == [1, len(ids)]
