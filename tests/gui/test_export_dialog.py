"""The export dialog: writes a decodable MP3 with tracklist and CUE, and a cancel leaves nothing behind."""

from __future__ import annotations

import json

import pytest

from panel_fixtures import playlist_of, shared_project  # noqa: F401 - fixture


@pytest.fixture
def dialog(qtbot, desk_state, shared_project):
    from mixdesk.gui.export_dialog import ExportDialog

    desk_state.set_project(shared_project)
    ids = [c.id for c in shared_project.chunks()]
    desk_state.set_playlist(playlist_of(shared_project, ids[:3] + ids[-3:]))
    widget = ExportDialog(desk_state)
    qtbot.addWidget(widget)
    return widget


def test_export_writes_an_mp3_that_decodes(qtbot, tmp_path, desk_state, dialog):
    import soundfile as sf
    from mutagen.id3 import ID3

    target = tmp_path / "out" / "my mix.mp3"
    dialog.destination_edit.setText(str(target))
    dialog.rate_combo.setCurrentIndex(dialog.rate_combo.findData(128))
    dialog.title_edit.setText("Night drive")
    with qtbot.waitSignal(dialog.exported, timeout=30000) as blocker:
        dialog.export_button.click()
    result = blocker.args[0]
    assert target.is_file() and dialog.progress_bar.value() == 1000
    info = sf.info(str(target))
    from mixdesk.gui.mix_calls import planned_seconds

    planned_s = planned_seconds(desk_state.project, desk_state.playlist)
    assert info.samplerate == 44100 and abs(info.frames / info.samplerate - planned_s) < 0.5
    assert ID3(str(target))["TIT2"].text == ["Night drive"]
    tracklist = json.loads(target.with_suffix(".json").read_text())
    assert [i["chunk_id"] for i in tracklist["items"]] == desk_state.playlist.chunk_ids
    assert target.with_suffix(".cue").read_text().count("TRACK ") == len(desk_state.playlist)
    assert result.path == target and dialog.cancel_button.text() == "Close"
    assert str(target) in dialog.status_label.text()


def test_format_choice_enables_only_what_applies(dialog):
    dialog.format_combo.setCurrentIndex(dialog.format_combo.findData("flac"))
    assert dialog.destination().suffix == ".flac"
    assert not dialog.rate_combo.isEnabled() and not dialog.mode_combo.isEnabled()
    dialog.format_combo.setCurrentIndex(dialog.format_combo.findData("mp3"))
    dialog.mode_combo.setCurrentIndex(dialog.mode_combo.findData("vbr"))
    assert dialog.vbr_spin.isEnabled() and not dialog.rate_combo.isEnabled()
    config = dialog.export_config()
    assert config.bitrate_mode == "vbr" and config.format == "mp3"


def test_cancel_leaves_no_file(qtbot, tmp_path, dialog):
    target = tmp_path / "cancelled.wav"
    dialog.format_combo.setCurrentIndex(dialog.format_combo.findData("wav"))
    dialog.destination_edit.setText(str(target))
    dialog.start_export()
    dialog.cancel()
    qtbot.waitUntil(lambda: not dialog.job.is_running(), timeout=10000)
    assert dialog.job.state == "cancelled"
    assert not target.exists() and not list(tmp_path.glob(".cancelled*"))
    assert "cancelled" in dialog.status_label.text().lower()
