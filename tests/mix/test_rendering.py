import numpy as np
import pytest

from mixdesk.mix.config import RenderConfig
from mixdesk.mix.playlist import Playlist, PlaylistItem, Transition
from mixdesk.mix.rendering import Renderer, render
from mixdesk.mix.sources import ArraySource
from mixdesk.mix.transitions import crossfade, equal_power_curves, nearest_zero_crossing, soft_limit
from mixdesk.progress import Cancelled

SR = 44100


def sine(freq, seconds, phase, level=0.5):
    t = np.arange(int(seconds * SR)) / SR
    mono = level * np.sin(2 * np.pi * freq * t + phase)
    return np.stack([mono, mono], axis=1).astype(np.float32)


def item(track, in_ms, out_ms, kind="crossfade", length=0):
    return PlaylistItem(
        chunk_id=track * 100 + in_ms,
        track_id=track,
        source_path=f"t{track}.wav",
        in_ms=in_ms,
        out_ms=out_ms,
        transition=Transition(kind, length),
    )


def render_all(source, playlist, **cfg):
    renderer = Renderer(source, playlist, RenderConfig(**cfg))
    mix = np.concatenate(list(renderer.blocks()))
    return mix, renderer


def max_step(x):
    return float(np.max(np.abs(np.diff(x[:, 0]))))


@pytest.mark.parametrize("kind,length", [("cut", 0), ("crossfade", 200)])
def test_seam_between_sines_of_different_phase_has_no_click(kind, length):
    source = ArraySource({1: sine(440, 2, 0.0), 2: sine(440, 2, 2.0)})
    # in/out points that land mid-cycle: a raw splice there would step the waveform
    playlist = Playlist((item(1, 0, 1003, kind, length), item(2, 508, 1800)))
    mix, renderer = render_all(source, playlist, gain_match=False)
    smooth = 2 * np.pi * 440 / SR * 0.5  # the largest step a 0.5-amplitude 440 Hz sine takes
    assert max_step(mix) <= 1.3 * smooth
    naive = np.concatenate([sine(440, 2, 0.0)[: int(1.003 * SR)], sine(440, 2, 2.0)[int(0.508 * SR) :]])
    assert max_step(naive) > 5 * smooth  # the test material does click when glued naively
    overlap = length if kind == "crossfade" else 3
    assert abs(renderer.placements[1].mix_start_ms - (1003 - overlap)) <= 7


def test_equal_power_crossfade_keeps_the_level_of_uncorrelated_noise():
    rng = np.random.default_rng(0)
    n = SR
    a = rng.standard_normal((n, 2)).astype(np.float32) * 0.1
    b = rng.standard_normal((n, 2)).astype(np.float32) * 0.1
    mixed = crossfade(a, b)
    middle = mixed[n // 2 - 2000 : n // 2 + 2000]
    level_db = 20 * np.log10(np.sqrt(np.mean(middle**2)) / 0.1)
    assert abs(level_db) < 0.5
    linear = a * np.linspace(1, 0, n)[:, None] + b * np.linspace(0, 1, n)[:, None]
    dip_db = 20 * np.log10(np.sqrt(np.mean(linear[n // 2 - 2000 : n // 2 + 2000] ** 2)) / 0.1)
    assert -3.5 < dip_db < -2.5
    out, inn = equal_power_curves(1000)
    assert np.allclose(out**2 + inn**2, 1.0, atol=1e-6)


def test_rendered_length_matches_the_plan_and_placements_are_contiguous():
    source = ArraySource({1: sine(220, 5, 0.3), 2: sine(330, 5, 1.0), 3: sine(550, 5, 2.0)})
    playlist = Playlist(
        (item(1, 0, 2000, "crossfade", 300), item(2, 1000, 3000, "cut"), item(3, 500, 2500, "crossfade", 300))
    )
    mix, renderer = render_all(source, playlist, block_frames=4096)
    expected_ms = 6000 - 300 - 3
    assert abs(len(mix) / SR * 1000 - expected_ms) < 10
    p = renderer.placements
    assert p[0].mix_start_ms == 0
    assert abs(p[1].mix_start_ms - (p[0].mix_end_ms - 300)) < 1
    assert abs(p[2].mix_start_ms - (p[1].mix_end_ms - 3)) < 1
    assert abs(p[-1].mix_end_ms - len(mix) / SR * 1000) < 1
    assert abs(p[1].source_start_ms - 1000) <= 3


def test_gain_matching_brings_the_next_item_to_the_outgoing_level():
    source = ArraySource({1: sine(300, 4, 0.0, level=0.4), 2: sine(300, 4, 1.0, level=0.1)})
    playlist = Playlist((item(1, 0, 3000, "crossfade", 100), item(2, 0, 3000)))
    mix, renderer = render_all(source, playlist, gain_match=True, max_gain_db=12.0, gain_ramp_ms=2000)
    after = mix[int(3.0 * SR) : int(3.2 * SR), 0]
    before = mix[int(2.6 * SR) : int(2.8 * SR), 0]
    jump_db = 20 * np.log10(np.sqrt(np.mean(after**2)) / np.sqrt(np.mean(before**2)))
    assert abs(jump_db) < 1.5
    assert renderer.placements[1].gain_db == pytest.approx(12.0, abs=0.5)


def test_output_never_clips():
    loud = sine(100, 3, 0.0, level=0.99)
    source = ArraySource({1: loud, 2: loud.copy()})  # correlated sides add up to +3 dB mid-fade
    playlist = Playlist((item(1, 0, 2000, "crossfade", 1000), item(2, 0, 2000)))
    mix, renderer = render_all(source, playlist, gain_match=False, master_gain_db=6.0)
    assert np.max(np.abs(mix)) < 1.0
    assert renderer.peak < 1.0
    assert np.all(np.abs(soft_limit(np.array([0.5, 2.0, -50.0], np.float32), 0.9)) < 1.0)


def test_zero_crossing_is_the_nearest_sign_change():
    x = sine(100, 0.1, 0.0)
    period = SR // 100
    assert nearest_zero_crossing(x, period // 2 + 7, 30) in (period // 2, period // 2 + 1)


def test_render_reports_progress_and_can_be_cancelled():
    source = ArraySource({1: sine(220, 5, 0.0)})
    playlist = Playlist(tuple(item(1, s, s + 1000) for s in range(0, 4000, 1000)))
    seen = []
    list(render(source, playlist, on_progress=seen.append))
    assert seen[-1].done == seen[-1].total == 4
    calls = iter(range(100))
    with pytest.raises(Cancelled):
        list(render(source, playlist, should_stop=lambda: next(calls) >= 2))


@pytest.mark.parametrize("rate", [44100, 22050, 48000])
def test_file_source_reads_the_same_frames_as_a_whole_decode(tmp_path, rate):
    import soundfile as sf

    from mixdesk.core.audio import decode
    from mixdesk.mix.sources import FileSource

    t = np.arange(3 * rate) / rate
    mono = 0.4 * np.sin(2 * np.pi * 330 * t) + 0.2 * np.sin(2 * np.pi * 1234 * t)
    path = tmp_path / f"tone{rate}.flac"
    sf.write(str(path), np.stack([mono, -mono], axis=1), rate)
    whole = decode(str(path), sample_rate=SR).samples
    source = FileSource(SR, 2)
    entry = PlaylistItem(1, 1, str(path), 0, 1000)
    for start, stop in [(-500, 3000), (40000, 52000), (len(whole) - 1000, len(whole) + 700)]:
        got = source.frames(entry, start, stop)
        want = np.zeros((stop - start, 2), np.float32)
        lo, hi = max(start, 0), min(stop, len(whole))
        want[lo - start : hi - start] = whole[lo:hi]
        assert got.shape == want.shape
        inside = slice(lo - start, hi - start)  # outside the file only the resampler's ringing differs
        assert np.max(np.abs(got[inside] - want[inside])) < 2e-3
        assert np.max(np.abs(got)) < 0.62
    source.close()
