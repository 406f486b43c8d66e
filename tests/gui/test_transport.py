"""Transport: the selected chunk plays (silently when there is no audio device) and stops."""

from __future__ import annotations

import numpy as np

from mixdesk.gui.playback import to_pcm16
from mixdesk.gui.transport import Transport


def test_pcm16_interleaves_and_clips():
    data, channels = to_pcm16(np.array([[0.5, -2.0], [1.0, 0.0]], dtype=np.float32))
    assert channels == 2
    assert np.frombuffer(data, "<i2").tolist() == [16383, -32767, 32767, 0]


def test_play_pause_stop_selected_chunk(qtbot, desk_state, small_project):
    transport = Transport(desk_state)
    qtbot.addWidget(transport)
    desk_state.set_project(small_project)
    chunk = small_project.chunks()[0]
    desk_state.select_chunk(chunk.id)
    player = desk_state.player
    with qtbot.waitSignal(player.state_changed, timeout=5000):
        transport.play_button.click()
    assert player.state == "playing"
    assert abs(player.duration_s - chunk.duration_ms / 1000) < 0.01
    assert player.track_id == chunk.track_id
    qtbot.waitUntil(lambda: transport.position.value() > 0, timeout=3000)
    transport.play_pause()
    assert player.state == "paused"
    paused_at = player.position_s()
    qtbot.wait(100)
    assert player.position_s() == paused_at
    transport.play_pause()
    assert player.state == "playing"
    transport.stop_button.click()
    assert player.state == "stopped" and transport.now_playing.text() == "Nothing playing"


def test_nothing_selected_says_so(qtbot, desk_state):
    messages = []
    desk_state.status.connect(messages.append)
    transport = Transport(desk_state)
    qtbot.addWidget(transport)
    transport.play_pause()
    assert messages == ["Select a chunk to play."]


def test_play_mix_from_item_follows_the_playlist(qtbot, desk_state, small_project):
    from panel_fixtures import playlist_of

    transport = Transport(desk_state)
    qtbot.addWidget(transport)
    desk_state.set_project(small_project)
    ids = [c.id for c in small_project.chunks()][:4]
    desk_state.set_playlist(playlist_of(small_project, ids, crossfade_ms=300))
    desk_state.select_playlist_item(1)
    with qtbot.waitSignal(desk_state.player.state_changed, timeout=20000):
        transport.mix_button.click()
    excerpt = transport.excerpt
    assert excerpt.first_row == 1 and len(excerpt.starts_s) == 3
    expected_s = sum(small_project.chunk(i).duration_ms for i in ids[1:]) / 1000 - 2 * 0.3
    assert abs(desk_state.player.duration_s - expected_s) < 0.2
    assert excerpt.row_at(excerpt.starts_s[2] + 0.01) == 3
    transport._follow_mix(excerpt.starts_s[1] + 0.05)
    assert desk_state.selected_playlist_item == 2
    transport.stop()
