"""Waveform and log-mel spectrogram of the selected track, with chunk boundaries, cut preview, playhead,
the track's beat grid (beat ticks and numbered bar lines) and shading over audio that no chunk covers.

Both plots share the time axis; the mouse wheel zooms and dragging scrolls. Boundaries, beats and bars are
each a single ``connect='pairs'`` curve per plot, so redrawing a thousand lines is one ``setData`` call;
the grid is drawn for the visible span only and thinned out when zoomed out so that it stays readable.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget

from mixdesk.gui.jobs import Job
from mixdesk.gui.spectrum import mel_band_edges_hz
from mixdesk.gui.state import DeskState
from mixdesk.gui.track_picture import (
    N_MEL_BANDS,
    TrackPicture,
    boundary_segments,
    grid_marks,
    load_track_picture,
    uncovered_spans,
)

if TYPE_CHECKING:
    from mixdesk.core.beatgrid import BeatGrid

BOUNDARY_PEN = pg.mkPen((255, 255, 255, 110), width=1)
PREVIEW_PEN = pg.mkPen("#ffb74d", width=1.5, style=Qt.PenStyle.DashLine)
PLAYHEAD_PEN = pg.mkPen("#ff5252", width=2)
WAVE_PEN = pg.mkPen("#4fc3f7", width=1)
THRESHOLD_PEN = pg.mkPen((255, 183, 77, 150), width=1, style=Qt.PenStyle.DotLine)
BEAT_PEN = pg.mkPen((255, 255, 255, 170), width=1)
BAR_COLOUR = (255, 213, 79)
BAR_PEN = pg.mkPen(BAR_COLOUR + (190,), width=1.5)
BAR_SPEC_PEN = pg.mkPen(BAR_COLOUR + (90,), width=1)
# A grid the tracker doubts is drawn faint and unnumbered: neither bars nor tempo are used from it.
UNSURE_BAR_PEN = pg.mkPen(BAR_COLOUR + (90,), width=1, style=Qt.PenStyle.DashLine)
UNSURE_BAR_SPEC_PEN = pg.mkPen(BAR_COLOUR + (45,), width=1, style=Qt.PenStyle.DashLine)
UNCOVERED_BRUSH = pg.mkBrush(0, 0, 0, 150)
UNCOVERED_SPEC_BRUSH = pg.mkBrush(0, 0, 0, 170)
FREQ_TICKS_HZ = (100, 250, 500, 1000, 2000, 4000, 8000)
# The grid has a band of its own above the waveform (loud masters fill -1..1): beat ticks and bar numbers.
GRID_TOP = 1.32
BEAT_TICK = (1.02, 1.12)
MIN_TICK_PX = 5.0  # closer than this, ticks merge into a grey band: draw fewer
MIN_LABEL_PX = 34.0  # room for a bar number
MAX_LABELS = 64


class MelAxis(pg.AxisItem):
    """Left axis of the spectrogram: mel band index shown as the frequency at that band."""

    def __init__(self, sample_rate: int = 22050) -> None:
        super().__init__("left")
        self.centres = mel_band_edges_hz(sample_rate, N_MEL_BANDS)

    def tickValues(self, minVal, maxVal, size):
        bands = np.interp(FREQ_TICKS_HZ, self.centres, np.arange(len(self.centres)))
        return [(1.0, [float(b) + 0.5 for b in bands if minVal <= b <= maxVal])]

    def tickStrings(self, values, scale, spacing):
        hz = np.interp(np.asarray(values) - 0.5, np.arange(len(self.centres)), self.centres)
        return [f"{h / 1000:.0f}k" if h >= 1000 else f"{h:.0f}" for h in hz]


class TrackView(QWidget):
    def __init__(self, state: DeskState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("trackView")
        self.state = state
        self.picture: TrackPicture | None = None
        self.track_id = -1
        self.chunk_ranges: list[tuple[int, int]] = []
        self.preview_ranges: list[tuple[int, int]] | None = None
        self.grid: BeatGrid | None = None  # None when the track has none
        self.duration_s = 0.0
        self._job: Job | None = None
        self.title = QLabel("Select a chunk in the pool to see its track.", self)
        self.title.setObjectName("trackTitle")
        self.canvas = pg.GraphicsLayoutWidget(self)
        self._build_plots()
        self.whole_button = QToolButton(self)
        self.whole_button.setText("Whole track")
        self.whole_button.setToolTip("Zoom out to the whole track (the mouse wheel zooms, dragging scrolls)")
        self.whole_button.clicked.connect(self.show_whole_track)
        self.chunk_button = QToolButton(self)
        self.chunk_button.setText("Selected chunk")
        self.chunk_button.setToolTip("Zoom to the selected chunk")
        self.chunk_button.clicked.connect(self._frame_selection)
        header = QHBoxLayout()
        header.addWidget(self.title, 1)
        header.addWidget(self.whole_button)
        header.addWidget(self.chunk_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(header)
        layout.addWidget(self.canvas)
        state.track_selected.connect(self.show_track)
        state.chunk_selected.connect(self.show_chunk)
        state.chunks_changed.connect(self._reload_chunks)
        state.project_changed.connect(self.clear)
        state.cut_preview.connect(self.set_preview)
        state.player.position_changed.connect(self._move_playhead)

    def _build_plots(self) -> None:
        self.wave_plot = self.canvas.addPlot(row=0, col=0)
        self.spec_plot = self.canvas.addPlot(row=1, col=0, axisItems={"left": MelAxis()})
        self.canvas.ci.layout.setRowStretchFactor(0, 2)
        self.canvas.ci.layout.setRowStretchFactor(1, 3)
        self.spec_plot.setXLink(self.wave_plot)
        self.wave_plot.getAxis("left").setWidth(44)
        self.spec_plot.getAxis("left").setWidth(44)
        self.wave_plot.hideAxis("bottom")
        self.spec_plot.setLabel("bottom", "time", units="s")
        self.wave_plot.setYRange(-1.0, GRID_TOP, padding=0.02)
        self.wave_plot.getAxis("left").setTicks([[(v, f"{v:g}") for v in (-1.0, -0.5, 0.0, 0.5, 1.0)]])
        self.spec_plot.setYRange(0, N_MEL_BANDS, padding=0)
        for plot in (self.wave_plot, self.spec_plot):
            plot.setMouseEnabled(x=True, y=False)
            plot.setMenuEnabled(False)
            plot.hideButtons()
        self.wave_curve = pg.PlotDataItem(pen=WAVE_PEN)
        self.wave_curve.setDownsampling(auto=True, method="peak")
        self.wave_curve.setClipToView(True)
        self.wave_plot.addItem(self.wave_curve)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setColorMap(pg.colormap.get("inferno"))
        self.spec_plot.addItem(self.image)
        self.region = pg.LinearRegionItem(movable=False, brush=pg.mkBrush(79, 195, 247, 40), pen=pg.mkPen(None))
        self.wave_plot.addItem(self.region)
        self.region.hide()
        self.bounds = [self._pairs_curve(p, BOUNDARY_PEN) for p in (self.wave_plot, self.spec_plot)]
        self.previews = [self._pairs_curve(p, PREVIEW_PEN) for p in (self.wave_plot, self.spec_plot)]
        self.thresholds = [pg.InfiniteLine(angle=0, pen=THRESHOLD_PEN) for _ in range(2)]
        for line in self.thresholds:
            self.wave_plot.addItem(line)
            line.hide()
        self.playheads = [pg.InfiniteLine(angle=90, pen=PLAYHEAD_PEN) for _ in range(2)]
        for plot, line in zip((self.wave_plot, self.spec_plot), self.playheads):
            plot.addItem(line)
            line.hide()
        self._build_grid_items()

    def _build_grid_items(self) -> None:
        self.beat_ticks = self._pairs_curve(self.wave_plot, BEAT_PEN)
        self.bar_lines = [self._pairs_curve(self.wave_plot, BAR_PEN), self._pairs_curve(self.spec_plot, BAR_SPEC_PEN)]
        self.bar_labels: list[pg.TextItem] = []
        self.uncovered = []
        for plot, (low, high), brush in (
            (self.wave_plot, (-1.0, GRID_TOP), UNCOVERED_BRUSH),
            (self.spec_plot, (0.0, N_MEL_BANDS), UNCOVERED_SPEC_BRUSH),
        ):
            shade = pg.BarGraphItem(x0=[0.0], x1=[0.0], y0=[low], height=[high - low], brush=brush, pen=pg.mkPen(None))
            shade.setZValue(5)
            shade.hide()
            plot.addItem(shade)
            self.uncovered.append(shade)
        self.wave_plot.sigXRangeChanged.connect(lambda *_: self._draw_grid())
        self.wave_plot.vb.sigResized.connect(lambda *_: self._draw_grid())

    @staticmethod
    def _pairs_curve(plot, pen) -> pg.PlotCurveItem:
        curve = pg.PlotCurveItem(pen=pen, connect="pairs")
        plot.addItem(curve)
        return curve

    # ----- what is shown
    def clear(self) -> None:
        self.picture, self.track_id, self.chunk_ranges, self.preview_ranges = None, -1, [], None
        self.grid, self.duration_s = None, 0.0
        self.wave_curve.setData([], [])
        self.image.clear()
        self.region.hide()
        self._draw_lines()
        self._draw_grid()
        self.title.setText("Select a chunk in the pool to see its track.")

    def show_track(self, track_id: int) -> None:
        project = self.state.project
        if project is None or track_id < 0 or track_id == self.track_id:
            return
        self.track_id = track_id
        self.preview_ranges = None
        self._reload_chunks()
        if self._job is not None:
            self._job.stop()
        self.title.setText(f"Loading {project.track(track_id).title or 'track'}…")
        job = self.state.jobs.run(
            "Loading track",
            lambda on_progress, should_stop: load_track_picture(project, track_id, on_progress, should_stop),
        )
        job.finished.connect(self._picture_ready)
        self._job = job

    def _picture_ready(self, picture: TrackPicture) -> None:
        if picture.track_id != self.track_id:
            return
        self._job = None
        self.picture = picture
        xs = np.arange(picture.mono.size, dtype=np.float64) / picture.display_rate
        self.wave_curve.setData(xs, picture.mono)
        mel = picture.mel_db.T
        top = float(mel.max()) if mel.size else 0.0
        self.image.setImage(mel, levels=(top - 80.0, top))
        self.image.setRect(QRectF(0.0, 0.0, mel.shape[1] * picture.mel_frame_s, N_MEL_BANDS))
        for plot in (self.wave_plot, self.spec_plot):
            plot.setLimits(xMin=0.0, xMax=picture.duration_s, minXRange=0.05)
        self._update_title()
        self._frame_selection()
        self._draw_grid()

    def _update_title(self) -> None:
        picture = self.picture
        if picture is None:
            return
        text = f"{picture.title} · {picture.duration_s:.1f} s · {len(self.chunk_ranges)} chunks · "
        grid = self.grid
        if grid is None or not grid.usable:
            text += "no beat grid"
        elif grid.confident:
            text += f"{grid.bpm:.1f} BPM (grid confidence {grid.confidence:.2f})"
        else:
            text += f"~{grid.bpm:.1f} BPM, beat grid unsure (confidence {grid.confidence:.2f})"
        self.title.setText(text)

    def _reload_chunks(self) -> None:
        project = self.state.project
        if project is None or self.track_id < 0:
            return
        self.chunk_ranges = [(c.start_ms, c.end_ms) for c in project.chunks(self.track_id)]
        self.grid = project.beat_grid(self.track_id)
        self.duration_s = float(project.track(self.track_id).duration_s)
        self._draw_lines()
        self._draw_uncovered()
        self._draw_grid()
        self._update_title()

    def show_chunk(self, chunk_id: int) -> None:
        project = self.state.project
        if project is None or chunk_id < 0:
            self.region.hide()
            return
        try:
            chunk = project.chunk(chunk_id)
        except KeyError:
            self.region.hide()
            return
        self.show_track(chunk.track_id)
        self.region.setRegion((chunk.start_ms / 1000.0, chunk.end_ms / 1000.0))
        self.region.show()
        if self.picture is not None:
            self._frame_selection()

    def _frame_selection(self) -> None:
        if self.region.isVisible():
            start, end = self.region.getRegion()
            margin = max(1.0, (end - start) * 0.5)
            self.wave_plot.setXRange(max(0.0, start - margin), end + margin, padding=0)
        elif self.picture is not None:
            self.wave_plot.setXRange(0.0, self.picture.duration_s, padding=0)

    def show_whole_track(self) -> None:
        if self.picture is not None:
            self.wave_plot.setXRange(0.0, self.picture.duration_s, padding=0)

    # ----- lines
    def set_preview(
        self, track_id: int, ranges: Sequence[tuple[int, int]] | None, threshold_dbfs: float | None = None
    ) -> None:
        if track_id != self.track_id:
            return
        self.preview_ranges = None if ranges is None else list(ranges)
        self._draw_lines()

    def set_threshold(self, dbfs: float | None) -> None:
        """Show the silence threshold as an amplitude band on the waveform (None hides it)."""
        for sign, line in zip((1.0, -1.0), self.thresholds):
            if dbfs is None:
                line.hide()
            else:
                line.setPos(sign * 10.0 ** (dbfs / 20.0))
                line.show()

    def _draw_lines(self) -> None:
        for curve, (low, high) in zip(self.bounds, ((-1.0, 1.0), (0.0, N_MEL_BANDS))):
            curve.setData(*boundary_segments(self.chunk_ranges, low, high))
        preview = self.preview_ranges or []
        for curve, (low, high) in zip(self.previews, ((-1.0, 1.0), (0.0, N_MEL_BANDS))):
            curve.setData(*boundary_segments(preview, low, high))

    def _draw_uncovered(self) -> None:
        """Shade what no chunk covers (a silence cut left it out), so the user sees what was dropped."""
        spans = uncovered_spans(self.chunk_ranges, self.duration_s * 1000.0) if self.chunk_ranges else []
        for shade, (low, high) in zip(self.uncovered, ((-1.0, GRID_TOP), (0.0, N_MEL_BANDS))):
            if not spans:
                shade.hide()
                continue
            x0 = np.array([a for a, _ in spans]) / 1000.0
            x1 = np.array([b for _, b in spans]) / 1000.0
            shade.setOpts(x0=x0, x1=x1, y0=np.full(x0.size, low), height=np.full(x0.size, high - low))
            shade.show()

    def uncovered_count(self) -> int:
        """Spans of audio outside every chunk that are shaded (for checks)."""
        shade = self.uncovered[0]
        return len(shade.opts["x0"]) if shade.isVisible() else 0

    def _draw_grid(self) -> None:
        """Beat ticks and numbered bar lines for the visible span, thinned to stay readable and fast."""
        grid = self.grid
        if grid is None or not grid.usable or self.track_id < 0:
            self.beat_ticks.setData([], [])
            for curve in self.bar_lines:
                curve.setData([], [])
            self._place_labels([], [])
            return
        low, high = self.wave_plot.viewRange()[0]
        width_px = max(1.0, float(self.wave_plot.vb.width()))
        marks = grid_marks(grid, low, high, width_px / max(high - low, 1e-6), MIN_TICK_PX, MIN_LABEL_PX)
        xs = np.repeat(marks.beats, 2)
        self.beat_ticks.setData(xs, np.tile(np.array(BEAT_TICK), marks.beats.size))
        pens = (BAR_PEN, BAR_SPEC_PEN) if grid.confident else (UNSURE_BAR_PEN, UNSURE_BAR_SPEC_PEN)
        for curve, pen, (y0, y1) in zip(self.bar_lines, pens, ((-1.0, GRID_TOP), (0.0, N_MEL_BANDS))):
            curve.setPen(pen)
            curve.setData(np.repeat(marks.bars, 2), np.tile(np.array([y0, y1]), marks.bars.size))
        if grid.confident:
            self._place_labels(marks.label_times[:MAX_LABELS], marks.label_numbers[:MAX_LABELS])
        else:
            self._place_labels([], [])

    def _place_labels(self, times, numbers) -> None:
        """Reuse a small pool of text items for the bar numbers in view."""
        while len(self.bar_labels) < len(times):
            label = pg.TextItem(color=BAR_COLOUR, anchor=(-0.05, 0.0))
            label.setZValue(10)
            self.wave_plot.addItem(label)
            self.bar_labels.append(label)
        for i, label in enumerate(self.bar_labels):
            if i < len(times):
                label.setText(str(int(numbers[i])))
                label.setPos(float(times[i]), GRID_TOP)
                label.show()
            else:
                label.hide()

    def grid_counts(self) -> tuple[int, int, int]:
        """Beat ticks, bar lines and bar numbers currently drawn (for checks)."""
        beats = self.beat_ticks.getData()[0]
        bars = self.bar_lines[0].getData()[0]
        labels = sum(1 for label in self.bar_labels if label.isVisible())
        return (0 if beats is None else len(beats) // 2, 0 if bars is None else len(bars) // 2, labels)

    def line_count(self) -> tuple[int, int]:
        """Committed and previewed boundary lines currently drawn (for checks and the status line)."""
        committed = self.bounds[0].getData()[0]
        preview = self.previews[0].getData()[0]
        return (0 if committed is None else len(committed) // 2, 0 if preview is None else len(preview) // 2)

    def _move_playhead(self, seconds: float) -> None:
        player = self.state.player
        if player.track_id != self.track_id or player.state == "stopped":
            for line in self.playheads:
                line.hide()
            return
        position = player.start_s + seconds
        for line in self.playheads:
            line.setPos(position)
            line.show()
