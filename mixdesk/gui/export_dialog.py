"""Export dialog: format, bitrate, tags, tracklist options and destination; the export runs as a job."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Optional

from PySide6.QtCore import Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from mixdesk.gui import mix_calls
from mixdesk.gui.jobs import Job, user_message
from mixdesk.gui.state import DeskState
from mixdesk.mix.config import BITRATE_MODES, EXPORT_FORMATS, MP3_BITRATES, VBR_QUALITY_RANGE, ExportConfig
from mixdesk.progress import Progress

if TYPE_CHECKING:
    from mixdesk.mix.export import ExportResult

# The formats, rates and every default come from the library (mixdesk.mix.config); only the words are the
# desk's. Names the desk does not know are shown as they are.
BITRATE_MODE_LABELS = {"cbr": "Constant (CBR)", "vbr": "Variable (VBR)"}
# The desk signs what it exports; the library's default comment is empty.
DESK_COMMENT = "Made with mixdesk"


class ExportDialog(QDialog):
    """Writes the desk's playlist to an audio file (and tracklist files) without blocking the window."""

    exported = Signal(object)  # the mix room's export result

    def __init__(self, state: DeskState, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.setObjectName("exportDialog")
        self.setWindowTitle("Export mix")
        self.state = state
        self.job: Job | None = None
        self.last_result: ExportResult | None = None
        self._build()
        self.destination_edit.setText(str(self._default_destination()))
        self._on_format()

    # ---- layout -------------------------------------------------------------------------------
    def _build(self) -> None:
        form = self._build_form()
        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.setValue(0)
        self.status_label = QLabel(self._summary())
        self.status_label.setWordWrap(True)
        self.buttons = QDialogButtonBox()
        self.export_button = self.buttons.addButton("Export", QDialogButtonBox.ButtonRole.AcceptRole)
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.export_button.clicked.connect(self.start_export)
        self.cancel_button.clicked.connect(self.cancel)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.status_label)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(520)

    def _build_form(self) -> QFormLayout:
        defaults = ExportConfig()
        form = QFormLayout()
        self.format_combo = QComboBox()
        for key, export_format in EXPORT_FORMATS.items():
            self.format_combo.addItem(export_format.label, key)
        self.format_combo.setCurrentIndex(self.format_combo.findData(defaults.format))
        self.format_combo.currentIndexChanged.connect(lambda _i: self._on_format())
        self.mode_combo = QComboBox()
        for mode in BITRATE_MODES:
            self.mode_combo.addItem(BITRATE_MODE_LABELS.get(mode, mode), mode)
        self.mode_combo.setCurrentIndex(BITRATE_MODES.index(defaults.bitrate_mode))
        self.mode_combo.currentIndexChanged.connect(lambda _i: self._on_format())
        self.rate_combo = QComboBox()
        for rate in MP3_BITRATES:
            self.rate_combo.addItem(f"{rate} kbps", rate)
        self.rate_combo.setCurrentIndex(MP3_BITRATES.index(defaults.bitrate_kbps))
        best, smallest = VBR_QUALITY_RANGE
        self.vbr_spin = QDoubleSpinBox(
            minimum=best, maximum=smallest, value=defaults.vbr_quality, singleStep=1.0, decimals=0
        )
        self.vbr_spin.setToolTip("VBR quality: 0 is best and largest, 9 smallest")
        bitrate_row = QHBoxLayout()
        for widget in (self.mode_combo, self.rate_combo, QLabel("quality"), self.vbr_spin):
            bitrate_row.addWidget(widget)
        self.title_edit = QLineEdit(self._playlist_title())
        self.artist_edit = QLineEdit(defaults.artist)
        self.comment_edit = QLineEdit(DESK_COMMENT)
        self.json_check = QCheckBox("Tracklist as JSON")
        self.cue_check = QCheckBox("CUE sheet")
        self.json_check.setChecked(defaults.write_tracklist)
        self.cue_check.setChecked(defaults.write_cue)
        tracklist_row = QHBoxLayout()
        tracklist_row.addWidget(self.json_check)
        tracklist_row.addWidget(self.cue_check)
        self.destination_edit = QLineEdit()
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        destination_row = QHBoxLayout()
        destination_row.addWidget(self.destination_edit, 1)
        destination_row.addWidget(browse)
        form.addRow("Format", self.format_combo)
        form.addRow("Bitrate", bitrate_row)
        form.addRow("Title", self.title_edit)
        form.addRow("Artist", self.artist_edit)
        form.addRow("Comment", self.comment_edit)
        form.addRow("Tracklist", tracklist_row)
        form.addRow("Save to", destination_row)
        return form

    def _playlist_name(self) -> str:
        playlist = self.state.playlist
        return playlist.name if playlist is not None and playlist.name else "mix"

    def _playlist_title(self) -> str:
        return f"mixdesk {self._playlist_name()}"

    def _summary(self) -> str:
        playlist = self.state.playlist
        if playlist is None or not len(playlist):
            return "There is no playlist to export yet: generate one first."
        seconds = mix_calls.planned_seconds(self.state.project, playlist)
        return f"{len(playlist)} items, {int(seconds // 60)}:{seconds % 60:04.1f} long."

    def _default_destination(self) -> Path:
        project = self.state.project
        folder = Path(project.path).parent if project is not None else Path.home()
        return folder / f"{self._playlist_name()}.{ExportConfig().format}"

    def _on_format(self) -> None:
        fmt = self.format_combo.currentData()
        lossy = EXPORT_FORMATS[fmt].lossy  # only a lossy format takes a bitrate
        vbr = self.mode_combo.currentData() == "vbr"
        self.mode_combo.setEnabled(lossy)
        self.rate_combo.setEnabled(lossy and not vbr)
        self.vbr_spin.setEnabled(lossy and vbr)
        text = self.destination_edit.text()
        if text:
            self.destination_edit.setText(str(Path(text).with_suffix(f".{fmt}")))

    def _browse(self) -> None:
        fmt = self.format_combo.currentData()
        path, _filter = QFileDialog.getSaveFileName(
            self, "Export mix to", self.destination_edit.text(), f"{fmt.upper()} files (*.{fmt})"
        )
        if path:
            self.destination_edit.setText(path)
            self._on_format()

    # ---- export -------------------------------------------------------------------------------
    def export_config(self) -> ExportConfig:
        return ExportConfig(
            format=self.format_combo.currentData(),
            bitrate_mode=self.mode_combo.currentData(),
            bitrate_kbps=int(self.rate_combo.currentData()),
            vbr_quality=float(self.vbr_spin.value()),
            title=self.title_edit.text(),
            artist=self.artist_edit.text(),
            comment=self.comment_edit.text(),
            write_tracklist=self.json_check.isChecked(),
            write_cue=self.cue_check.isChecked(),
        )

    def destination(self) -> Path:
        return Path(self.destination_edit.text()).expanduser()

    def start_export(self) -> None:
        state = self.state
        project, playlist = state.project, state.playlist
        if project is None or playlist is None or not len(playlist):
            self.status_label.setText("There is no playlist to export yet: generate one first.")
            return
        if self.job is not None and self.job.is_running():
            return
        try:
            config = self.export_config()
        except ValueError as exc:
            self.status_label.setText(user_message(exc))
            return
        destination = self.destination()
        job = self.job = state.jobs.run(
            "Exporting", lambda p, s: mix_calls.export(project, playlist, destination, config, p, s)
        )
        job.progress.connect(self._on_progress)
        job.finished.connect(self._on_finished)
        job.failed.connect(lambda message: self._ended(f"Export failed: {message}"))
        job.cancelled.connect(lambda: self._ended("Export cancelled; nothing was written."))
        self.export_button.setEnabled(False)
        self.status_label.setText(f"Exporting to {destination}…")

    def cancel(self) -> None:
        if self.job is not None and self.job.is_running():
            self.job.stop()
            self.status_label.setText("Cancelling…")
        else:
            self.reject()

    def _on_progress(self, progress: Progress) -> None:
        self.progress_bar.setValue(int(progress.fraction * 1000))

    def _on_finished(self, result: ExportResult) -> None:
        self.last_result = result
        self.progress_bar.setValue(1000)
        self._ended(f"Wrote {mix_calls.export_summary(result)}")
        self.cancel_button.setText("Close")
        self.state.show_status(self.status_label.text())
        self.exported.emit(result)

    def _ended(self, message: str) -> None:
        self.export_button.setEnabled(True)
        self.status_label.setText(message)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        if self.job is not None and self.job.is_running():
            self.job.stop()
        super().closeEvent(event)

    def reject(self) -> None:
        if self.job is not None and self.job.is_running():
            self.job.stop()
        super().reject()
