"""BS.1770 loudness and EBU Tech 3342 loudness range against independent references."""

from __future__ import annotations

import numpy as np
import pyloudnorm
import pytest

from mixdesk.analysis.loudness import LoudnessGrid, k_weighting_sos
from mixdesk.analysis.synthetic import pink_noise, sine


def test_k_weighting_matches_published_48k_coefficients():
    sos = k_weighting_sos(48000)
    # ITU-R BS.1770-4, tables 1 and 2.
    np.testing.assert_allclose(sos[0, :3], [1.53512485958697, -2.69169618940638, 1.19839281085285], atol=1e-10)
    np.testing.assert_allclose(sos[0, 4:], [-1.69065929318241, 0.73248077421585], atol=1e-10)
    np.testing.assert_allclose(sos[1, :3], [1.0, -2.0, 1.0])
    np.testing.assert_allclose(sos[1, 4:], [-1.99004745483398, 0.99007225036621], atol=1e-10)


@pytest.mark.parametrize("sr", [48000, 44100])
def test_1khz_sine_at_minus_20_dbfs_reads_minus_23_lufs(sr):
    grid = LoudnessGrid.from_samples(sine(997.0, 10.0, sr, -20.0), sr)
    assert grid.integrated_lufs() == pytest.approx(-23.0, abs=0.1)


@pytest.mark.parametrize("sr,gain_db,channels", [(48000, 0.0, 1), (44100, -12.0, 2), (44100, -30.0, 1)])
def test_pink_noise_matches_pyloudnorm(sr, gain_db, channels):
    noise = pink_noise(8.0, sr, seed=channels, channels=channels) * 10 ** (gain_db / 20)
    ours = LoudnessGrid.from_samples(noise.astype(np.float32), sr).integrated_lufs()
    reference = pyloudnorm.Meter(sr).integrated_loudness(noise)
    assert ours == pytest.approx(reference, abs=0.5)


def test_gating_ignores_silence_and_floors_at_the_absolute_gate():
    sr = 48000
    tone = sine(997.0, 5.0, sr, -20.0)
    with_gap = np.concatenate([tone, np.zeros(5 * sr), tone])
    ours = LoudnessGrid.from_samples(with_gap, sr).integrated_lufs()
    # Blocks straddling the edges are partly silent, so the reading sits a little under -23.
    assert ours == pytest.approx(pyloudnorm.Meter(sr).integrated_loudness(with_gap), abs=0.05)
    assert -23.3 < ours < -23.0
    assert LoudnessGrid.from_samples(np.zeros(sr), sr).integrated_lufs() == -70.0


def test_loudness_range_of_two_level_test_signal():
    # EBU Tech 3342 test signal 1: 20 s at -20 dBFS then 20 s at -30 dBFS (stereo 1 kHz) -> LRA 10 +- 1 LU.
    sr = 48000
    mono = np.concatenate([sine(1000.0, 20.0, sr, -20.0), sine(1000.0, 20.0, sr, -30.0)])
    grid = LoudnessGrid.from_samples(np.stack([mono, mono], axis=1), sr)
    assert grid.lra() == pytest.approx(10.0, abs=1.0)
    assert grid.lra(0.0, 20.0) < 0.5
    assert grid.rms_db(0.0, 20.0) == pytest.approx(-23.01, abs=0.05)
