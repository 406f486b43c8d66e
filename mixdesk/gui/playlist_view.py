"""Playlist panel: generate a mix with the model, then reorder, delete, lock and regenerate items, and set
the tempo the whole mix plays at."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Callable, Hashable, Optional

from PySide6.QtCore import QEvent, QItemSelectionModel, QModelIndex, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from mixdesk.gui import mix_calls
from mixdesk.gui import playlist_items as items_api
from mixdesk.gui.jobs import Job, user_message
from mixdesk.gui.panel_widgets import ClippedLabel, int_spin
from mixdesk.gui.playlist_model import COL_SOURCE, PlaylistTableModel
from mixdesk.gui.state import DeskState
from mixdesk.mix import tempo
from mixdesk.mix.config import (
    CROSSFADE_BEATS_STEP,
    MAX_CROSSFADE_BEATS,
    MIX_BPM_RANGE,
    STRATEGIES,
    TEMPO_MODE_LABELS,
    TEMPO_MODES,
)
from mixdesk.mix.playlist import Playlist
from mixdesk.mix.remap import remap_playlist
from mixdesk.progress import Progress, ProgressFn, StopFn

if TYPE_CHECKING:
    from mixdesk.library.project import Project
    from mixdesk.ml.scoring import Scorer

    JobResult = tuple[Playlist, Scorer]  # a generated playlist and the scorer that made it


class PlaylistView(QWidget):
    """The auto-generated playlist: a Generate form above a table the user edits by hand."""

    generated = Signal(object)  # the new playlist

    def __init__(self, state: DeskState, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.setObjectName("playlistView")
        self.state = state
        self.job: Job | None = None
        self._echo = False
        self.model = PlaylistTableModel(self)
        self.model.edited.connect(self._on_edited)
        self._build()
        state.playlist_changed.connect(self._on_state_playlist)
        state.project_changed.connect(self._on_project)
        state.chunk_selected.connect(self._on_chunk_selected)
        state.playlist_item_selected.connect(self._on_item_selected)
        state.chunks_changed.connect(self.model.forget_labels)
        state.chunks_changed.connect(self._show_mix_tempo)
        self._on_state_playlist()

    # ---- layout -------------------------------------------------------------------------------
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self._build_generate())
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        self.table.setDragEnabled(True)
        self.table.setAcceptDrops(True)
        self.table.setDropIndicatorShown(True)
        self.table.setDragDropOverwriteMode(False)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(22)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(COL_SOURCE, QHeaderView.ResizeMode.Stretch)
        self.table.selectionModel().currentRowChanged.connect(self._on_current_row)
        layout.addWidget(self.table, 1)
        layout.addLayout(self._build_actions())
        self.summary = ClippedLabel("No playlist yet: press Generate.")
        layout.addWidget(self.summary)
        self.table.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if (
            watched is self.table
            and isinstance(event, QKeyEvent)
            and event.type() == QEvent.Type.KeyPress
            and event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace)
        ):
            self.delete_selected()
            return True
        return super().eventFilter(watched, event)

    def _build_generate(self) -> QWidget:
        box = QGroupBox("Generate")
        box.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        outer = QVBoxLayout(box)
        defaults = mix_calls.GenerateOptions()
        self.minutes_spin = QDoubleSpinBox(
            decimals=1, minimum=0.5, maximum=240.0, value=defaults.minutes, suffix=" min"
        )
        self.minutes_spin.setToolTip("Length of the mix")
        self.strategy_combo = QComboBox()
        for key in STRATEGIES:
            self.strategy_combo.addItem(mix_calls.STRATEGY_LABELS.get(key, key), key)
        self.strategy_combo.setCurrentIndex(STRATEGIES.index(defaults.strategy))
        self.strategy_combo.setToolTip(
            "Greedy takes the best next chunk each time, beam search the best "
            "sum of scores, sampling picks by probability for variety"
        )
        self.generate_button = QPushButton("Generate")
        self.generate_button.clicked.connect(self.generate)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setEnabled(False)
        self.stop_button.setVisible(False)
        self.stop_button.clicked.connect(self.stop)
        self.options_button = QToolButton()
        self.options_button.setText("Options")
        self.options_button.setCheckable(True)
        self.options_button.setToolTip("Start chunk, crossfade and the sequencing constraints")
        self.options_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.options_button.setArrowType(Qt.ArrowType.RightArrow)
        top = QHBoxLayout()
        top.addWidget(self.minutes_spin)
        top.addWidget(self.strategy_combo)
        top.addStretch(1)
        for button in (self.options_button, self.generate_button, self.stop_button):
            top.addWidget(button)
        self.options_box = self._build_options()
        self.options_box.setVisible(False)
        self.options_button.toggled.connect(self._show_options)
        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.setVisible(False)
        outer.addLayout(top)
        outer.addWidget(self.options_box)
        outer.addWidget(self.progress_bar)
        return box

    def _build_options(self) -> QWidget:
        widget = QWidget()
        grid = QGridLayout(widget)
        grid.setContentsMargins(0, 0, 0, 0)
        self.start_combo = QComboBox()
        self.start_combo.addItem("Random chunk", None)
        self.start_combo.addItem("Chunk selected in the pool", "selected")
        defaults = mix_calls.GenerateOptions()
        self.repeat_spin = int_spin(0, 1000, defaults.no_repeat_within, "No chunk reused within this many items")
        self.same_track_spin = int_spin(
            1, 100, defaults.max_same_track, "At most this many consecutive chunks of one track"
        )
        self.temperature_spin = QDoubleSpinBox(decimals=2, minimum=0.05, maximum=5.0, value=defaults.temperature)
        self.temperature_spin.setToolTip("Sampling only: higher picks less likely chunks more often")
        self.seed_spin = int_spin(0, 1_000_000, defaults.seed, "Random seed: the same seed gives the same mix")
        self.crossfade_spin = int_spin(
            0, 10_000, defaults.crossfade_ms, "Default crossfade where a side has no beat grid", " ms", 50
        )
        self.crossfade_beats_spin = QDoubleSpinBox(
            decimals=2, minimum=0.0, maximum=MAX_CROSSFADE_BEATS, singleStep=CROSSFADE_BEATS_STEP, suffix=" beats"
        )
        self.crossfade_beats_spin.setValue(defaults.crossfade_beats)
        self.crossfade_beats_spin.setToolTip("Default crossfade where both sides have a beat grid")
        self.level_weight_spin = QDoubleSpinBox(decimals=2, minimum=0.0, maximum=5.0, singleStep=0.05)
        self.level_weight_spin.setValue(defaults.level_step_weight)
        self.level_weight_spin.setToolTip(
            "How much a level step at a join counts against the model's score: nats per dB past "
            f"{mix_calls.DESK_SEQUENCE.level_step_tolerance_db:g} dB (0: the model alone)"
        )
        self.tempo_key_check = QCheckBox("Respect tempo and key")
        self.tempo_key_check.setToolTip("Needs analysis data; limits are relaxed where nothing fits")
        self.tempo_mode_combo = QComboBox()
        for mode in TEMPO_MODES:
            self.tempo_mode_combo.addItem(TEMPO_MODE_LABELS[mode], mode)
        self.tempo_mode_combo.setCurrentIndex(TEMPO_MODES.index(defaults.tempo_mode))
        self.tempo_mode_combo.setToolTip(
            "The tempo the mix plays at; items on a beat grid are stretched to it (pitch kept) and join on the beat"
        )
        self.tempo_bpm_spin = _bpm_spin("Mix tempo for a fixed tempo")
        self.tempo_bpm_spin.setValue(defaults.mix_bpm or sum(MIX_BPM_RANGE) / 2)
        self.tempo_mode_combo.currentIndexChanged.connect(self._on_tempo_mode)
        self._on_tempo_mode()
        grid.addWidget(QLabel("Start"), 0, 0)
        grid.addWidget(self.start_combo, 0, 1, 1, 3)
        cells: tuple[tuple[str, QWidget], ...] = (
            ("No repeat within", self.repeat_spin),
            ("Max same track", self.same_track_spin),
            ("Crossfade", self.crossfade_spin),
            ("Temperature", self.temperature_spin),
            ("Seed", self.seed_spin),
        )
        for i, (label, field) in enumerate(cells):
            row, col = 1 + i // 2, (i % 2) * 2
            grid.addWidget(QLabel(label), row, col)
            grid.addWidget(field, row, col + 1)
        grid.addWidget(self.tempo_key_check, 3, 2, 1, 2)
        grid.addWidget(QLabel("Tempo"), 4, 0)
        grid.addWidget(self.tempo_mode_combo, 4, 1)
        grid.addWidget(QLabel("BPM"), 4, 2)
        grid.addWidget(self.tempo_bpm_spin, 4, 3)
        grid.addWidget(QLabel("Crossfade on the beat"), 5, 0)
        grid.addWidget(self.crossfade_beats_spin, 5, 1)
        grid.addWidget(QLabel("Level steps"), 5, 2)
        grid.addWidget(self.level_weight_spin, 5, 3)
        return widget

    def _on_tempo_mode(self, _index: int = 0) -> None:
        self.tempo_bpm_spin.setEnabled(self.tempo_mode_combo.currentData() == "fixed")

    def _show_options(self, shown: bool) -> None:
        self.options_box.setVisible(shown)
        self.options_button.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)

    def _build_actions(self) -> QVBoxLayout:
        # two rows: in one the edit buttons, the mix tempo and export would need 580 px, more than the
        # playlist column has on a 1366 px screen
        actions = QVBoxLayout()
        row, second = QHBoxLayout(), QHBoxLayout()
        actions.addLayout(row)
        actions.addLayout(second)
        self.delete_button = QPushButton("Delete")
        self.lock_button = QPushButton("Lock")
        self.lock_button.setToolTip("Lock or unlock the selected items: locked items survive regeneration")
        self.regen_button = QPushButton("Regenerate from here")
        self.regen_button.setToolTip("Keep the items above and every locked item; fill the rest anew")
        self.delete_button.clicked.connect(self.delete_selected)
        self.lock_button.clicked.connect(self.toggle_lock_selected)
        self.regen_button.clicked.connect(lambda: self.regenerate_from(self.current_row()))
        self.export_button = QPushButton("Export…")
        self.export_button.setToolTip("Render the playlist to MP3, WAV or FLAC with a tracklist")
        self.export_button.clicked.connect(self.open_export_dialog)
        for button in (self.delete_button, self.lock_button, self.regen_button):
            row.addWidget(button)
        row.addStretch(1)
        self.mix_tempo_spin = _bpm_spin(
            "The tempo every item plays at (time-stretched, pitch kept); items without a beat grid keep their own"
        )
        self.mix_tempo_spin.setEnabled(False)
        self.mix_tempo_spin.valueChanged.connect(self.set_mix_tempo)
        second.addWidget(QLabel("Mix tempo"))
        second.addWidget(self.mix_tempo_spin)
        second.addStretch(1)
        second.addWidget(self.export_button)
        return actions

    # ---- state --------------------------------------------------------------------------------
    def _on_project(self) -> None:
        """A project opens with the playlist the user last worked on."""
        project = self.state.project
        self.model.set_playlist(None, project)
        typical = tempo.typical_bpm(self.model.grids)
        if typical is not None:
            self.tempo_bpm_spin.setValue(typical)
        self._update_summary()
        if project is None or self.state.playlist is not None:
            return
        names = project.playlists()
        if names:
            try:
                saved = Playlist.load(project, names[0])
            except (KeyError, TypeError, ValueError) as exc:
                self.state.show_status(f"Could not read the saved playlist {names[0]!r}: {user_message(exc)}")
                return
            if saved is not None:
                # chunks may have been re-cut since it was saved (another session, the command line)
                remap = remap_playlist(saved, project.chunks())
                self.state.set_playlist(remap.playlist)
                if remap.summary():
                    self.state.show_status(f"Saved playlist {names[0]!r}: {remap.summary()}")

    def _on_state_playlist(self) -> None:
        if self._echo:
            return
        self.model.set_playlist(self.state.playlist, self.state.project)
        self._update_summary()
        # A reset clears the table's selection; an undone edit keeps the item the user was on.
        self.select_row(self.state.selected_playlist_item)

    def _on_chunk_selected(self, chunk_id: int) -> None:
        if chunk_id >= 0:
            label = items_api.chunk_label(self.state.project, chunk_id)
            self.start_combo.setItemText(1, f"Chunk selected in the pool ({label})")

    def _on_edited(self, playlist: Playlist, what: str, merge_key: Hashable = None) -> None:
        previous = self.state.playlist
        if previous is not None and self.state.scorer is not None:
            # A move or a delete gives items new predecessors; their scores are asked again.
            moved = mix_calls.new_neighbours(previous.items, playlist.items)
            if moved:
                playlist = playlist.replace_items(mix_calls.rescore_at(self.state.scorer, list(playlist.items), moved))
                self.model.update_scores(playlist)
        # The table already shows the edit: the state's announcement must not reset it.
        self._echo = True
        try:
            self.state.edit_playlist(playlist, what, merge_key)
        finally:
            self._echo = False
        self._update_summary()

    def _show_mix_tempo(self) -> None:
        bpm = self.model.mix_tempo()
        self.mix_tempo_spin.setEnabled(bpm is not None)
        if bpm is not None and not self.mix_tempo_spin.hasFocus():
            self.mix_tempo_spin.blockSignals(True)
            self.mix_tempo_spin.setValue(bpm)
            self.mix_tempo_spin.blockSignals(False)

    def set_mix_tempo(self, bpm: float) -> None:
        """Play every item at ``bpm``: one edit of the playlist, saved to the project."""
        playlist = self.state.playlist
        if playlist is None or not len(playlist):
            return
        if all(item.tempo_bpm is not None and abs(item.tempo_bpm - bpm) < 1e-3 for item in playlist.items):
            return
        new = tempo.with_mix_tempo(playlist, bpm)
        self.model.set_playlist(new, self.state.project)
        # Stepping the spin box makes one step to undo, as a dragged crossfade does.
        self._on_edited(new, f"mix tempo {bpm:.1f} BPM", merge_key="mix tempo")
        self.state.show_status(f"Mix tempo: every item plays at {bpm:.1f} BPM")

    def _update_summary(self) -> None:
        self._show_mix_tempo()
        playlist = self.model.playlist
        if playlist is None or not len(playlist):
            self.summary.setText("No playlist yet: press Generate.")
            return
        total_s = mix_calls.planned_seconds(self.state.project, playlist)
        mean = playlist.mean_score
        locked = sum(items_api.locked(i) for i in playlist.items)
        text = f"{len(playlist)} items, {int(total_s // 60)}:{total_s % 60:04.1f}"
        text += "" if mean is None else f", mean score {mean:.3f}"
        self.summary.setText(text + (f", {locked} locked" if locked else ""))

    def current_row(self) -> int:
        index = self.table.currentIndex()
        return index.row() if index.isValid() else -1

    def selected_rows(self) -> list[int]:
        return sorted({index.row() for index in self.table.selectionModel().selectedRows()})

    def select_row(self, row: int) -> None:
        if 0 <= row < self.model.rowCount():
            self.table.selectionModel().setCurrentIndex(
                self.model.index(row, 0),
                QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows,
            )

    def _on_current_row(self, current: QModelIndex, _previous: QModelIndex) -> None:
        row = current.row() if current.isValid() else -1
        if row != self.state.selected_playlist_item:
            self.state.select_playlist_item(row)

    def _on_item_selected(self, row: int) -> None:
        if row != self.current_row():
            self.select_row(row)

    # ---- actions ------------------------------------------------------------------------------
    def delete_selected(self) -> None:
        rows = self.selected_rows() or ([self.current_row()] if self.current_row() >= 0 else [])
        if rows:
            self.model.remove_rows(rows)

    def toggle_lock_selected(self) -> None:
        self.model.toggle_locks(self.selected_rows() or [self.current_row()])

    def open_export_dialog(self) -> None:
        from mixdesk.gui.export_dialog import ExportDialog

        if self.state.playlist is None or not len(self.state.playlist):
            self.state.show_status("Generate a playlist first: there is nothing to export yet.")
            return
        dialog = ExportDialog(self.state, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()

    def options(self) -> mix_calls.GenerateOptions:
        start = None
        if self.start_combo.currentData() == "selected" and self.state.selected_chunk >= 0:
            start = self.state.selected_chunk
        return mix_calls.GenerateOptions(
            minutes=self.minutes_spin.value(),
            start_chunk=start,
            strategy=self.strategy_combo.currentData(),
            no_repeat_within=self.repeat_spin.value(),
            max_same_track=self.same_track_spin.value(),
            temperature=self.temperature_spin.value(),
            seed=self.seed_spin.value(),
            use_tempo_key=self.tempo_key_check.isChecked(),
            crossfade_ms=self.crossfade_spin.value(),
            crossfade_beats=self.crossfade_beats_spin.value(),
            tempo_mode=self.tempo_mode_combo.currentData(),
            mix_bpm=self.tempo_bpm_spin.value(),
            level_step_weight=self.level_weight_spin.value(),
        )

    def generate(self) -> None:
        project = self._project_to_generate()
        if project is None:
            return
        fn = partial(mix_calls.generate, project, self.state.scorer, self.options())
        self._start_job("Generating the mix", fn, "generate the mix")

    def regenerate_from(self, row: int) -> None:
        project = self._project_to_generate() if row >= 0 else None
        playlist = self.state.playlist
        if project is None or playlist is None:
            return
        fn = partial(mix_calls.regenerate_from, project, self.state.scorer, playlist, row, self.options())
        self._start_job(f"Regenerating from item {row + 1}", fn, f"regenerate from item {row + 1}")

    def stop(self) -> None:
        if self.job is not None and self.job.is_running():
            self.job.stop()

    def _project_to_generate(self) -> Project | None:
        """The open project when a generation may start now, else None (saying why when none is open)."""
        project = self.state.project
        if project is None:
            self.state.show_status("Open a project before generating a mix.")
            return None
        return project if self.job is None or not self.job.is_running() else None

    def _start_job(self, name: str, fn: Callable[[ProgressFn, StopFn], JobResult], what: str) -> None:
        """Run ``fn`` (generate or regenerate) as a job; its playlist becomes an edit named ``what``."""
        job = self.job = self.state.jobs.run(name, fn)
        job.progress.connect(self._on_progress)
        job.finished.connect(partial(self._on_generated, what))
        job.failed.connect(self._on_failed)
        job.cancelled.connect(lambda: self._job_ended("Generating stopped; the playlist is unchanged."))
        self.generate_button.setEnabled(False)
        self.regen_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        self.stop_button.setVisible(True)
        self.progress_bar.setValue(0)
        self.progress_bar.setVisible(True)
        self.state.show_status(f"{name}…")

    def _on_progress(self, progress: Progress) -> None:
        self.progress_bar.setValue(int(progress.fraction * 1000))
        message = progress.message
        self.progress_bar.setFormat(f"{message}  %p%" if message else "%p%")

    def _on_generated(self, what: str, result: JobResult) -> None:
        playlist, scorer = result
        if scorer is not None and scorer is not self.state.scorer:
            self.state.set_scorer(scorer)
        self.state.edit_playlist(playlist, what)
        self._job_ended(f"Mix ready: {self.summary.text()}")
        self.select_row(0)
        self.generated.emit(playlist)

    def _on_failed(self, message: str) -> None:
        self._job_ended(f"Generating failed: {message}")
        self.summary.setText(f"Generating failed: {message}")

    def _job_ended(self, message: str) -> None:
        self.generate_button.setEnabled(True)
        self.regen_button.setEnabled(True)
        self.stop_button.setEnabled(False)
        self.stop_button.setVisible(False)
        self.progress_bar.setVisible(False)
        self.state.show_status(message)


def _bpm_spin(tip: str) -> QDoubleSpinBox:
    spin = QDoubleSpinBox(decimals=1, minimum=MIX_BPM_RANGE[0], maximum=MIX_BPM_RANGE[1], singleStep=0.5, suffix=" BPM")
    spin.setToolTip(tip)
    spin.setKeyboardTracking(False)
    return spin
