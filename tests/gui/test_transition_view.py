"""The transition view: renders the seam of the selected item, edits its crossfade, plays it."""

from __future__ import annotations

import numpy as np
import pytest

from panel_fixtures import playlist_of, shared_project  # noqa: F401 - fixture


@pytest.fixture
def view(qtbot, desk_state, shared_project):
    from mixdesk.gui.transition_view import TransitionView

    desk_state.set_project(shared_project)
    ids = [c.id for c in shared_project.chunks()][:4]
    desk_state.set_playlist(playlist_of(shared_project, ids, crossfade_ms=400))
    widget = TransitionView(desk_state)
    qtbot.addWidget(widget)
    widget.resize(900, 520)
    return widget


def test_selecting_an_item_shows_its_seam(qtbot, desk_state, view):
    with qtbot.waitSignal(view.rendered, timeout=10000) as blocker:
        desk_state.select_playlist_item(1)
    seam = blocker.args[0]
    assert seam.samples.shape[1] == 2 and seam.samples.shape[0] > seam.sample_rate
    assert seam.fade_end_s - seam.fade_start_s == pytest.approx(0.4, abs=0.01)
    assert "→" in view.heading.text() and "2." in view.heading.text()
    assert view.crossfade_spin.value() == 400 and view.play_button.isEnabled()
    # The waveform is split at the seam (A before, B after) and the fade curves span the crossfade.
    a_x, _ = view.plots.a_wave.getData()
    b_x, _ = view.plots.b_wave.getData()
    assert a_x.max() <= 0.0 < b_x.min()
    fade_x, fade_y = view.plots.fade_out.getData()
    assert fade_x[-1] - fade_x[0] == pytest.approx(0.4, abs=0.01)
    assert fade_y[0] == pytest.approx(1.0) and fade_y[-1] == pytest.approx(0.0, abs=1e-6)
    assert view.plots.image.image is not None and view.plots.region.isVisible()


def test_crossfade_change_updates_the_item_and_the_render(qtbot, desk_state, view):
    with qtbot.waitSignal(view.rendered, timeout=10000):
        desk_state.select_playlist_item(0)
    with qtbot.waitSignal(view.rendered, timeout=10000) as blocker:
        view.set_crossfade_ms(1000)
    assert desk_state.playlist.items[0].transition.length_ms == 1000
    assert desk_state.playlist.items[1].transition.length_ms == 400
    seam = blocker.args[0]
    # The renderer caps a crossfade at half the shorter neighbour.
    shorter_s = min(it.duration_ms for it in desk_state.playlist.items[:2]) / 1000.0
    expected = min(1.0, (shorter_s - 0.006) / 2)
    assert expected > 0.5
    assert seam.fade_end_s - seam.fade_start_s == pytest.approx(expected, abs=0.02)
    saved = desk_state.project.load_playlist(desk_state.playlist.name)
    assert saved["items"][0]["transition"]["length_ms"] == 1000
    # The slider and spin box stay in step; the edit is committed once the user settles.
    view.crossfade_slider.setValue(600)
    assert view.crossfade_spin.value() == 600
    qtbot.waitUntil(lambda: desk_state.playlist.items[0].transition.length_ms == 600, timeout=3000)


def test_play_sends_the_rendered_seam_to_the_player(qtbot, desk_state, view, monkeypatch):
    played = []
    monkeypatch.setattr(
        desk_state.player, "play_samples", lambda samples, sr, label="": played.append((samples, sr, label))
    )
    with qtbot.waitSignal(view.rendered, timeout=10000):
        desk_state.select_playlist_item(2)
    view.play()
    samples, sr, label = played[0]
    assert sr == view.seam.sample_rate and np.array_equal(samples, view.seam.samples)
    assert label.startswith("transition ")


def test_last_item_shows_the_seam_before_it(qtbot, desk_state, view):
    with qtbot.waitSignal(view.rendered, timeout=10000):
        desk_state.select_playlist_item(3)
    assert view.row == 2


def test_playhead_follows_the_transition_playback(qtbot, desk_state, view):
    with qtbot.waitSignal(view.rendered, timeout=10000):
        desk_state.select_playlist_item(0)
    assert not view.plots.playheads[0].isVisible()
    view.play()
    qtbot.waitUntil(lambda: view.plots.playheads[0].isVisible(), timeout=3000)
    desk_state.player.stop()
    assert not view.plots.playheads[0].isVisible()


def test_arrows_step_through_the_transitions(qtbot, desk_state, view):
    with qtbot.waitSignal(view.rendered, timeout=10000):
        desk_state.select_playlist_item(0)
    with qtbot.waitSignal(view.rendered, timeout=10000):
        view.next_button.click()
    assert view.row == 1 and desk_state.selected_playlist_item == 1
    with qtbot.waitSignal(view.rendered, timeout=10000):
        view.prev_button.click()
    assert view.row == 0
