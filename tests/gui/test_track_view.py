"""The track view draws the selected track's waveform, spectrogram, chunk lines and the playhead."""

from __future__ import annotations

import numpy as np

from mixdesk.gui.spectrum import log_mel, mel_filterbank
from mixdesk.gui.track_view import TrackView


def test_log_mel_finds_a_tone():
    sr = 22050
    t = np.arange(sr) / sr
    mel = log_mel(np.sin(2 * np.pi * 1000 * t).astype(np.float32), sr)
    bank = mel_filterbank(sr)
    peak_band = int(np.argmax(mel.mean(axis=0)))
    freqs = np.fft.rfftfreq(1024, 1 / sr)
    assert abs(freqs[np.argmax(bank[peak_band])] - 1000) < 120
    assert mel.shape[1] == bank.shape[0]


def test_selecting_a_chunk_shows_its_track(qtbot, desk_state, small_project):
    view = TrackView(desk_state)
    qtbot.addWidget(view)
    view.resize(800, 500)
    desk_state.set_project(small_project)
    chunk = small_project.chunks()[2]
    desk_state.select_chunk(chunk.id)
    qtbot.waitUntil(lambda: view.picture is not None, timeout=10000)
    track = small_project.track(chunk.track_id)
    assert abs(view.picture.duration_s - track.duration_s) < 0.05
    assert view.image.image.shape[0] == 96 and view.image.image.shape[1] > 100
    assert view.region.isVisible()
    assert view.region.getRegion() == (chunk.start_ms / 1000, chunk.end_ms / 1000)
    low, high = view.wave_plot.viewRange()[0]
    assert low <= chunk.start_ms / 1000 and high >= chunk.end_ms / 1000
    assert view.line_count()[0] >= len(small_project.chunks(chunk.track_id))


def test_playhead_follows_player(qtbot, desk_state, small_project):
    view = TrackView(desk_state)
    qtbot.addWidget(view)
    desk_state.set_project(small_project)
    chunk = small_project.chunks()[1]
    desk_state.select_chunk(chunk.id)
    samples = np.zeros((22050, 2), dtype=np.float32)
    desk_state.player.play_samples(samples, 22050, "test", track_id=chunk.track_id, start_s=chunk.start_ms / 1000)
    qtbot.waitUntil(lambda: view.playheads[0].isVisible(), timeout=3000)
    assert view.playheads[0].value() >= chunk.start_ms / 1000
    desk_state.player.stop()
    assert not view.playheads[0].isVisible()


def test_zoom_buttons(qtbot, desk_state, small_project):
    view = TrackView(desk_state)
    qtbot.addWidget(view)
    desk_state.set_project(small_project)
    chunk = small_project.chunks()[1]
    desk_state.select_chunk(chunk.id)
    qtbot.waitUntil(lambda: view.picture is not None, timeout=10000)
    view.whole_button.click()
    low, high = view.wave_plot.viewRange()[0]
    assert low <= 0.01 and abs(high - view.picture.duration_s) < 0.05
    view.chunk_button.click()
    low, high = view.wave_plot.viewRange()[0]
    assert high - low < view.picture.duration_s
