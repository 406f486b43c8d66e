import numpy as np
import pytest
import torch

from mixdesk.ml.features import FeatureCache, FeatureConfig, compute_chunk_features, log_mel, mel_filterbank, mel_power
from mixdesk.ml.table import ArraySource, ChunkRef, build_feature_table


def _noise(seconds: float, seed: int = 0, sr: int = 22050) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal(int(seconds * sr)) * 0.1).astype(np.float32)


@pytest.mark.parametrize("scale,norm", [("htk", None), ("slaney", "slaney")])
def test_filterbank_matches_librosa(scale, norm):
    librosa = pytest.importorskip("librosa")
    config = FeatureConfig(mel_scale=scale, mel_norm=norm)
    ours = mel_filterbank(config).numpy().T
    theirs = librosa.filters.mel(
        sr=22050, n_fft=2048, n_mels=128, htk=scale == "htk", norm=norm, fmin=0.0, fmax=11025.0
    )
    assert np.allclose(ours, theirs, atol=1e-4 * theirs.max())


def test_mel_matches_torchaudio_defaults():
    torchaudio = pytest.importorskip("torchaudio")
    x = _noise(1.3)
    for scale, norm in [("htk", None), ("slaney", "slaney")]:
        config = FeatureConfig(mel_scale=scale, mel_norm=norm)
        ref = torchaudio.transforms.MelSpectrogram(
            sample_rate=22050,
            n_fft=2048,
            hop_length=512,
            n_mels=128,
            mel_scale=scale,
            norm=norm,
        )(torch.from_numpy(x))
        assert torch.allclose(mel_power(x, config), ref, rtol=1e-4, atol=1e-6)


def test_mel_power_matches_librosa_spectrogram():
    librosa = pytest.importorskip("librosa")
    x = _noise(1.0, seed=2)
    theirs = librosa.feature.melspectrogram(
        y=x,
        sr=22050,
        n_fft=2048,
        hop_length=512,
        n_mels=128,
        htk=True,
        norm=None,
        center=True,
        pad_mode="reflect",
        power=2.0,
    )
    ours = mel_power(x, FeatureConfig()).numpy()
    assert ours.shape == theirs.shape
    assert np.allclose(ours, theirs, rtol=1e-3, atol=1e-3 * theirs.max())


def test_log_mel_shape_and_scale():
    config = FeatureConfig()
    frames = log_mel(_noise(2.0), config)
    assert frames.shape == (128, 2 * 22050 // 512 + 1)
    assert torch.all(frames >= 0)
    assert config.window_frames == 129


def test_edges_come_from_the_right_ends_and_short_chunks_are_padded():
    config = FeatureConfig(window_s=0.5)
    loud_then_quiet = np.concatenate([_noise(1.0), _noise(1.0) * 0.001])
    feats = compute_chunk_features(loud_then_quiet, config)
    assert feats.start.shape == feats.end.shape == (128, config.window_frames)
    assert feats.start.mean() > feats.end.mean() + 3.0
    short = compute_chunk_features(_noise(0.2), config)
    assert short.start.shape == (128, config.window_frames)
    assert np.all(short.start[:, -3:] == 0) and np.all(short.end[:, :3] == 0)
    assert feats.raw_start.shape == (config.raw_edge_samples,)
    assert abs(feats.raw_length - 2 * 1260) <= 1


class CountingSource(ArraySource):
    calls = 0

    def chunk_audio(self, chunk_id, sample_rate=None, mono=False):
        CountingSource.calls += 1
        return super().chunk_audio(chunk_id, sample_rate, mono)


def test_cache_computes_each_chunk_once(tmp_path):
    refs = [ChunkRef(1, 1, 0, 0, 1000, "abc"), ChunkRef(2, 1, 1, 1000, 2000, "abc")]
    source = CountingSource({1: _noise(1.0, 1), 2: _noise(1.0, 2)}, 22050)
    first = build_feature_table(refs, source, FeatureConfig(), tmp_path)
    assert CountingSource.calls == 2
    second = build_feature_table(refs, source, FeatureConfig(), tmp_path)
    assert CountingSource.calls == 2
    assert torch.equal(first.start, second.start) and torch.equal(first.raw_end, second.raw_end)
    cache = FeatureCache(tmp_path, FeatureConfig())
    assert cache.path("abc", 0, 1000).is_file()
    # another window length is another cache
    build_feature_table(refs, source, FeatureConfig(window_s=1.0), tmp_path)
    assert CountingSource.calls == 4


def test_damaged_cache_file_is_recomputed(tmp_path):
    refs = [ChunkRef(1, 1, 0, 0, 1000, "abc")]
    source = ArraySource({1: _noise(1.0)}, 22050)
    table = build_feature_table(refs, source, FeatureConfig(), tmp_path)
    FeatureCache(tmp_path, FeatureConfig()).path("abc", 0, 1000).write_bytes(b"broken")
    again = build_feature_table(refs, source, FeatureConfig(), tmp_path)
    assert torch.equal(table.end, again.end)


def test_features_computed_in_several_processes_fill_the_cache(small_project):
    from mixdesk.ml.table import project_chunk_refs, project_feature_table

    config = FeatureConfig()
    refs = project_chunk_refs(small_project)
    cache = FeatureCache(small_project.cache_dir / "features", config)
    assert not any(cache.path(r.track_key, r.start_ms, r.end_ms).is_file() for r in refs)
    parallel = project_feature_table(small_project, config, jobs=2)
    assert all(cache.path(r.track_key, r.start_ms, r.end_ms).is_file() for r in refs)
    serial = project_feature_table(small_project, config)  # now read from the cache alone
    assert parallel.chunk_ids.tolist() == serial.chunk_ids.tolist() == [r.id for r in refs]
    assert torch.equal(parallel.start, serial.start) and torch.equal(parallel.raw_end, serial.raw_end)
