"""What the desk calls a track and draws for it: readable pool thumbnails of loud music, the track's
title and artist while it plays, and the artist as each CUE track's performer."""

from __future__ import annotations

import numpy as np

from panel_fixtures import playlist_of
from tagged_project import tagged_project  # noqa: F401 - fixture

ROW_WIDTH, ROW_HEIGHT = 84, 18


def body_heights(image) -> np.ndarray:
    """Per pixel column, how many pixels are drawn at full strength (the solid body of the waveform)."""
    ptr = image.constBits()
    rgba = np.frombuffer(ptr, dtype=np.uint8).reshape(image.height(), image.bytesPerLine() // 4, 4)
    return (rgba[:, : image.width(), 3] >= 230).sum(axis=0)


def test_pool_thumbnail_of_loud_music_shows_its_beats(qtbot, desk_state, tagged_project):
    from PySide6.QtGui import QColor

    from mixdesk.gui.pool_model import STRIP_ROLE
    from mixdesk.gui.pool_view import PoolView, strip_image

    pool = PoolView(desk_state)
    qtbot.addWidget(pool)
    desk_state.set_project(tagged_project)
    loud = next(t for t in tagged_project.tracks() if t.title == "Night Drive")
    row = next(r for r in range(pool.proxy.rowCount()) if pool.proxy.index(r, 0).data() == "Night Drive")
    wave = pool.model.column_of("wave")
    pool.proxy.index(row, wave).data(STRIP_ROLE)  # asking paints it later, as the view does
    qtbot.waitUntil(lambda: pool.proxy.index(row, wave).data(STRIP_ROLE) is not None, timeout=10000)
    strip = pool.proxy.index(row, wave).data(STRIP_ROLE)
    heights = body_heights(strip_image(strip, ROW_WIDTH, ROW_HEIGHT, QColor("#4fc3f7")))
    assert loud.id in {c.track_id for c in tagged_project.chunks()}
    # Kicks and the gaps between them differ by several pixels; a flat bar would not.
    assert heights.max() - heights.min() >= 6
    assert np.median(heights) <= 0.75 * ROW_HEIGHT


def test_playing_a_chunk_names_title_and_artist_or_the_file(qtbot, desk_state, tagged_project):
    from mixdesk.gui.transport import Transport

    transport = Transport(desk_state)
    qtbot.addWidget(transport)
    desk_state.set_project(tagged_project)
    for track, expected in (("Night Drive", "Night Drive - Lena K"), ("", "untitled take.flac")):
        chunk = next(c for c in tagged_project.chunks() if tagged_project.track(c.track_id).title == track)
        with qtbot.waitSignal(desk_state.player.state_changed, timeout=5000):
            transport.play_chunk(chunk.id)
        assert transport.now_playing.text() == f"{expected} · chunk {chunk.index + 1}"
        assert "/" not in transport.now_playing.text()
        transport.stop()


def test_cue_sheet_names_each_tracks_artist(qtbot, tmp_path, desk_state, tagged_project):
    from mixdesk.gui.export_dialog import ExportDialog

    desk_state.set_project(tagged_project)
    by_title = {tagged_project.track(c.track_id).title: c.id for c in tagged_project.chunks()}
    desk_state.set_playlist(playlist_of(tagged_project, [by_title["Night Drive"], by_title[""]]))
    dialog = ExportDialog(desk_state)
    qtbot.addWidget(dialog)
    target = tmp_path / "set.wav"
    dialog.format_combo.setCurrentIndex(dialog.format_combo.findData("wav"))
    dialog.destination_edit.setText(str(target))
    dialog.artist_edit.setText("DJ Test")
    dialog.cue_check.setChecked(True)
    with qtbot.waitSignal(dialog.exported, timeout=30000):
        dialog.export_button.click()
    lines = target.with_suffix(".cue").read_text().splitlines()
    performers = [line.strip() for line in lines if line.startswith("    PERFORMER")]
    assert performers == ['PERFORMER "Lena K"', 'PERFORMER "DJ Test"']  # untagged: the mix's artist
    assert 'PERFORMER "DJ Test"' in lines  # the sheet's own performer is the mix's artist
    assert not any("mixdesk" in p for p in performers)
