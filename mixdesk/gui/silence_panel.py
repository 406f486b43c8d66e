"""Silence tuning: every control change re-cuts the selected track from its cached envelope and shows the
new cut points at once; applying writes the cut to this track or to all tracks as a job.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Optional, Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from mixdesk.config import BARS_PER_CHUNK_CHOICES, CHUNK_MODES, LIBRARY_CHUNKING, ChunkingConfig
from mixdesk.core.chunking import Envelope, chunk_ranges
from mixdesk.gui.jobs import Job
from mixdesk.gui.panel_widgets import ClippedLabel
from mixdesk.gui.state import DeskState
from mixdesk.progress import ProgressFn, StopFn

if TYPE_CHECKING:
    from mixdesk.library.project import Project, TrackCut

SLIDER_STEPS_PER_DB = 2  # half-dB steps
ABSOLUTE_RANGE_DB = (-70.0, 0.0)
RELATIVE_RANGE_DB = (-40.0, 10.0)
# Switching "relative to track" on before the track's loudness is read converts the threshold as if the
# track were this loud (dBFS), typical of mastered music.
ASSUMED_LOUDNESS_DBFS = -16.0
# How the desk names each of the library's chunking modes (mixdesk.config.CHUNK_MODES).
MODE_LABELS = {"bars": "Bars (beat grid)", "silence": "Cut on silence", "fixed": "Fixed length"}

CutInputs = tuple[Envelope, Optional[list[float]]]  # a track's envelope and bar lines (None: no grid)


def _spin(low: int, high: int, step: int, suffix: str) -> QSpinBox:
    """A millisecond box; its value comes from :meth:`SilencePanel.set_config`, like every control's."""
    box = QSpinBox()
    box.setRange(low, high)
    box.setSingleStep(step)
    box.setSuffix(suffix)
    if low == 0:
        box.setSpecialValueText("off")
    return box


def recut(
    project: Project,
    config: ChunkingConfig,
    track_ids: Sequence[int] | None = None,
    on_progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
) -> int:
    """Re-cut tracks all or nothing (see :meth:`Project.rechunk`)."""
    return project.rechunk(config, track_ids, on_progress, should_stop)


def recut_recorded(
    project: Project,
    config: ChunkingConfig,
    track_ids: Sequence[int] | None = None,
    on_progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
) -> tuple[int, dict[int, TrackCut], dict[int, TrackCut]]:
    """:func:`recut`, with the tracks' cuts before and after it for the desk's undo (chunk count, before,
    after)."""
    before = project.cuts(track_ids)
    total = recut(project, config, track_ids, on_progress, should_stop)
    return total, before, project.cuts(track_ids)


def _cut_inputs(project: Project, track_id: int) -> CutInputs:
    """What a live re-cut of one track needs: its loudness envelope and its bar lines (None without a
    confident beat grid)."""
    grid = project.beat_grid(track_id)
    return project.envelope(track_id), None if grid is None else grid.bar_lines_ms()


class SilencePanel(QWidget):
    preview_changed = Signal(int)  # chunk count of the previewed cut
    threshold_shown = Signal(object)  # absolute dBFS of the threshold, or None in fixed mode

    def __init__(self, state: DeskState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("silencePanel")
        self.state = state
        self.track_id = -1
        self.envelopes: dict[int, CutInputs] = {}
        self.preview: list[tuple[int, int]] = []
        self._job: Job | None = None
        self._config_loaded = False
        self._build()
        self.set_config(LIBRARY_CHUNKING)
        state.track_selected.connect(self._track_selected)
        state.project_changed.connect(self._project_changed)
        # The counts compare with the cut in the project, which an applied or undone re-cut changes.
        state.chunks_changed.connect(self.update_preview)

    # ----- widgets
    def _build(self) -> None:
        self.mode = QComboBox()
        for mode in CHUNK_MODES:
            self.mode.addItem(MODE_LABELS.get(mode, mode), mode)
        self.bars = QComboBox()
        for count in BARS_PER_CHUNK_CHOICES:
            self.bars.addItem(f"{count} bar{'s' if count > 1 else ''}", count)
        self.bars.setToolTip("Chunk length in bars; tracks without a confident beat grid are cut on silence")
        self.keep_all = QCheckBox("keep all audio")
        self.keep_all.setToolTip("Cut in the middle of each silence instead of dropping it")
        self.threshold = QSlider(Qt.Orientation.Horizontal)
        self.threshold.setObjectName("thresholdSlider")
        self.threshold_label = QLabel()
        self.threshold_label.setMinimumWidth(70)
        self.relative = QCheckBox("relative to track")
        self.relative.setToolTip("Threshold in dB relative to the track's own loudness")
        self.min_silence = _spin(10, 5000, 10, " ms")
        self.keep_silence = _spin(0, 2000, 10, " ms")
        self.fixed_length = QDoubleSpinBox()
        self.fixed_length.setRange(0.25, 120.0)
        self.fixed_length.setSingleStep(0.25)
        self.fixed_length.setSuffix(" s")
        self.min_chunk = _spin(0, 30000, 250, " ms")
        self.max_chunk = _spin(0, 120000, 1000, " ms")
        self.min_silence.setToolTip("A quiet stretch must last this long to cut there")
        self.keep_silence.setToolTip("Silence kept at each side of a chunk")
        self.min_chunk.setToolTip("Chunks shorter than this are merged with a neighbour")
        self.max_chunk.setToolTip("Chunks longer than this are split")
        self._build_layout()
        self._connect_controls()

    def _controls_grid(self) -> QGridLayout:
        form = QGridLayout()
        form.setHorizontalSpacing(8)
        form.setVerticalSpacing(4)
        rows = (
            (("Mode", self.mode), ("Length", self.bars)),
            (("", self.relative), ("", self.keep_all)),
            (("Min silence", self.min_silence), ("Keep silence", self.keep_silence)),
            (("Merge under", self.min_chunk), ("Split over", self.max_chunk)),
            (("Fixed length", self.fixed_length), ("", None)),
        )
        form.addWidget(QLabel("Threshold"), 0, 0)
        form.addWidget(self.threshold, 0, 1, 1, 2)
        form.addWidget(self.threshold_label, 0, 3)
        for row, pairs in enumerate(rows, start=1):
            for column, (label, widget) in enumerate(pairs):
                if label:
                    form.addWidget(QLabel(label), row, column * 2)
                if widget is not None:
                    form.addWidget(widget, row, column * 2 + 1, 1, 1 if label else 2)
        form.setColumnStretch(1, 1)
        form.setColumnStretch(3, 1)
        return form

    def _build_layout(self) -> None:
        # Clipped: the counts line grows with the numbers and must not widen the docked panel.
        self.count_label = ClippedLabel("No track selected")
        self.count_label.setObjectName("chunkCount")
        self.histogram = pg.PlotWidget()
        self.histogram.setObjectName("chunkHistogram")
        self.histogram.setMinimumHeight(80)
        self.histogram.setMouseEnabled(False, False)
        self.histogram.hideButtons()
        self.histogram.setLabel("bottom", "chunk length", units="s")
        self.length_bars = pg.BarGraphItem(x=[], height=[], width=1.0, brush="#4fc3f7", pen=pg.mkPen(None))
        self.histogram.addItem(self.length_bars)
        self.apply_track = QPushButton("Apply to track")
        self.apply_all = QPushButton("Apply to all tracks")
        self.apply_all.setObjectName("applyAll")
        buttons = QHBoxLayout()
        buttons.addWidget(self.apply_track)
        buttons.addWidget(self.apply_all)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(self._controls_grid())
        layout.addWidget(self.count_label)
        layout.addWidget(self.histogram, 1)
        layout.addLayout(buttons)

    def _connect_controls(self) -> None:
        for signal in (
            self.mode.currentIndexChanged,
            self.bars.currentIndexChanged,
            self.keep_all.toggled,
            self.threshold.valueChanged,
            self.min_silence.valueChanged,
            self.keep_silence.valueChanged,
            self.fixed_length.valueChanged,
            self.min_chunk.valueChanged,
            self.max_chunk.valueChanged,
        ):
            signal.connect(self.update_preview)
        self.relative.toggled.connect(self._relative_toggled)
        self.apply_track.clicked.connect(lambda: self.apply(all_tracks=False))
        self.apply_all.clicked.connect(lambda: self.apply(all_tracks=True))

    # ----- configuration <-> controls
    def config(self) -> ChunkingConfig:
        return ChunkingConfig(
            mode=self.mode.currentData(),
            bars_per_chunk=self.bars.currentData(),
            keep_all=self.keep_all.isChecked(),
            silence_thresh_db=self.threshold_db(),
            relative=self.relative.isChecked(),
            min_silence_ms=self.min_silence.value(),
            keep_silence_ms=self.keep_silence.value(),
            fixed_length_s=self.fixed_length.value(),
            min_chunk_ms=self.min_chunk.value(),
            max_chunk_ms=max(self.max_chunk.value(), self.min_chunk.value()) if self.max_chunk.value() else 0,
        )

    def set_config(self, config: ChunkingConfig) -> None:
        widgets = (
            self.mode,
            self.bars,
            self.keep_all,
            self.threshold,
            self.relative,
            self.min_silence,
            self.keep_silence,
            self.fixed_length,
            self.min_chunk,
            self.max_chunk,
        )
        for widget in widgets:
            widget.blockSignals(True)
        self.mode.setCurrentIndex(max(0, self.mode.findData(config.mode)))
        self.bars.setCurrentIndex(max(0, self.bars.findData(config.bars_per_chunk)))
        self.keep_all.setChecked(config.keep_all)
        self.relative.setChecked(config.relative)
        self._set_threshold_range(config.relative)
        self.set_threshold_db(config.silence_thresh_db)
        self.min_silence.setValue(config.min_silence_ms)
        self.keep_silence.setValue(config.keep_silence_ms)
        self.fixed_length.setValue(config.fixed_length_s)
        self.min_chunk.setValue(config.min_chunk_ms)
        self.max_chunk.setValue(config.max_chunk_ms)
        for widget in widgets:
            widget.blockSignals(False)
        self.update_preview()

    def threshold_db(self) -> float:
        return self.threshold.value() / SLIDER_STEPS_PER_DB

    def set_threshold_db(self, db: float) -> None:
        self.threshold.setValue(int(round(db * SLIDER_STEPS_PER_DB)))

    def _set_threshold_range(self, relative: bool) -> None:
        low, high = RELATIVE_RANGE_DB if relative else ABSOLUTE_RANGE_DB
        self.threshold.setRange(int(low * SLIDER_STEPS_PER_DB), int(high * SLIDER_STEPS_PER_DB))

    def _relative_toggled(self, relative: bool) -> None:
        inputs = self.envelopes.get(self.track_id)
        env = inputs[0] if inputs is not None else None
        loudness = env.dbfs if env is not None and np.isfinite(env.dbfs) else ASSUMED_LOUDNESS_DBFS
        current = self.threshold_db()
        self.threshold.blockSignals(True)
        self._set_threshold_range(relative)
        self.set_threshold_db(current - loudness if relative else current + loudness)
        self.threshold.blockSignals(False)
        self.update_preview()

    # ----- preview
    def _project_changed(self) -> None:
        self.envelopes.clear()
        self.track_id = -1
        self._config_loaded = False
        self.preview = []
        self.count_label.setText("No track selected")
        self.length_bars.setOpts(x=[], height=[])

    def _track_selected(self, track_id: int) -> None:
        project = self.state.project
        self.track_id = track_id
        if project is None or track_id < 0:
            return
        if not self._config_loaded:
            # Start from how the project is cut now; later selections keep what the user is tuning.
            self._config_loaded = True
            try:
                self.set_config(project.chunking_of(track_id))
            except (KeyError, ValueError):
                pass
        if track_id in self.envelopes:
            self.update_preview()
            return
        self.count_label.setText("Reading loudness…")
        job = self.state.jobs.run(
            "Loudness envelope", lambda on_progress, should_stop: (track_id, _cut_inputs(project, track_id))
        )
        job.finished.connect(self._envelope_ready)

    def _envelope_ready(self, result: tuple[int, CutInputs]) -> None:
        track_id, inputs = result
        self.envelopes[track_id] = inputs
        if track_id == self.track_id:
            self.update_preview()

    def update_preview(self, *_args: object) -> None:
        mode = self.mode.currentData()
        fixed = mode == "fixed"
        # bars mode keeps the silence controls: they cut the tracks that have no confident beat grid
        for widget in (self.threshold, self.relative, self.min_silence, self.keep_silence, self.keep_all):
            widget.setEnabled(not fixed)
        self.fixed_length.setEnabled(fixed)
        self.bars.setEnabled(mode == "bars")
        self.threshold_label.setText(
            f"{self.threshold_db():+.1f} dB" if self.relative.isChecked() else f"{self.threshold_db():.1f} dBFS"
        )
        inputs = self.envelopes.get(self.track_id)
        if inputs is None:
            return
        env, downbeats = inputs
        config = self.config()
        self.preview = chunk_ranges(env, config, downbeats)
        committed = self._committed()
        self.state.cut_preview.emit(self.track_id, None if self.preview == committed else self.preview)
        absolute = config.silence_thresh_db + (env.dbfs if config.relative else 0.0)
        self.threshold_shown.emit(None if fixed or (mode == "bars" and downbeats) else absolute)
        self._show_counts(len(committed))
        self.preview_changed.emit(len(self.preview))

    def _committed(self) -> list[tuple[int, int]]:
        project = self.state.project
        if project is None or self.track_id < 0:
            return []
        return [(c.start_ms, c.end_ms) for c in project.chunks(self.track_id)]

    def _show_counts(self, current: int) -> None:
        lengths = np.array([(e - s) / 1000.0 for s, e in self.preview], dtype=np.float64)
        self.count_label.setText(
            f"{len(self.preview)} chunks with these settings (now {current})"
            + (f" · median {np.median(lengths):.1f} s" if lengths.size else "")
        )
        if lengths.size:
            top = max(1.0, float(np.ceil(lengths.max())))
            counts, edges = np.histogram(lengths, bins=min(30, max(5, int(top))), range=(0.0, top))
            width = edges[1] - edges[0]
            self.length_bars.setOpts(x=edges[:-1] + width / 2, height=counts, width=width * 0.9)
        else:
            self.length_bars.setOpts(x=[], height=[])

    # ----- apply
    def apply(self, all_tracks: bool) -> None:
        project = self.state.project
        if project is None or (not all_tracks and self.track_id < 0):
            return
        config = self.config()
        track_ids = None if all_tracks else [self.track_id]
        self._set_busy(True)
        job = self.state.jobs.run(
            "Re-cutting tracks" if all_tracks else "Re-cutting track",
            lambda on_progress, should_stop: recut_recorded(project, config, track_ids, on_progress, should_stop),
        )
        undo_text = "re-cut all tracks" if all_tracks else f"re-cut {self._track_name()}"
        job.finished.connect(partial(self._applied, all_tracks, undo_text))
        job.failed.connect(self._apply_ended)
        job.cancelled.connect(self._apply_ended)
        self._job = job

    def _apply_ended(self, *_args: object) -> None:
        self._set_busy(False)
        self._job = None

    def _applied(
        self, all_tracks: bool, undo_text: str, result: tuple[int, dict[int, TrackCut], dict[int, TrackCut]]
    ) -> None:
        total, before, after = result
        self._set_busy(False)
        self._job = None
        self.state.cut_preview.emit(self.track_id, None)
        self.state.notify_recut(before, after, undo_text)
        where = "all tracks" if all_tracks else "this track"
        self.state.show_status(f"Re-cut {where}: {total} chunks")

    def _track_name(self) -> str:
        project = self.state.project
        try:
            return project.track(self.track_id).display_name if project is not None else "the track"
        except KeyError:
            return "the track"

    def _set_busy(self, busy: bool) -> None:
        self.apply_track.setEnabled(not busy)
        self.apply_all.setEnabled(not busy)
