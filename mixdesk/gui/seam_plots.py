"""Waveform and spectrogram of a rendered seam, with the crossfade region, gain curves, both items' beat
grids and the bass swap drawn in.

The outgoing item's beats hang from the top of the waveform and the incoming item's stand on its bottom,
each in its own colour, so a join on the beat shows as ticks that line up across the middle.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QVBoxLayout, QWidget

from mixdesk.gui import spectrum

if TYPE_CHECKING:
    from mixdesk.gui.mix_calls import SeamAudio
    from mixdesk.mix.seam_excerpt import BeatMarks

A_COLOUR = "#4aa3ff"
B_COLOUR = "#ff9f43"
SEAM_COLOUR = "#f5f5f5"
SWAP_COLOUR = "#7ee787"
WAVE_POINTS = 3000
# Each item's beats get a band of their own outside the waveform (A's above, B's below): beats are short
# ticks, downbeats fill the band, so lined-up beats read across the crossfade at a glance.
WAVE_LIMIT = 1.05
BEAT_TICK = (1.12, 1.32)
DOWNBEAT_TICK = (1.07, 1.5)


def tick_segments(times: np.ndarray, low: float, high: float) -> tuple[np.ndarray, np.ndarray]:
    """x/y arrays for one ``connect='pairs'`` curve with a vertical tick from ``low`` to ``high`` per time."""
    times = np.asarray(times, dtype=np.float64)
    return np.repeat(times, 2), np.tile(np.array([low, high], dtype=np.float64), times.size)


def peak_envelope(mono: np.ndarray, points: int) -> tuple[np.ndarray, np.ndarray]:
    """(index of each slice start, max |x| per slice) so long excerpts draw as a filled outline."""
    points = max(1, min(points, mono.size))
    strip = spectrum.peak_strip(mono, points)
    return np.arange(points) * (mono.size / points), strip


def equal_power_curves(steps: int = 64) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fade position 0..1 with A's fade-out and B's fade-in gains, as drawn (not as rendered)."""
    t = np.linspace(0.0, 1.0, steps)
    return t, np.cos(0.5 * np.pi * t), np.sin(0.5 * np.pi * t)


@dataclass(frozen=True)
class SeamPicture:
    """A rendered seam with its display arrays, computed off the GUI thread."""

    seam: SeamAudio
    mono: np.ndarray
    mel: np.ndarray  # (frames, mels) dB


def seam_picture(seam: SeamAudio) -> SeamPicture:
    mono = seam.samples.mean(axis=1) if seam.samples.ndim == 2 else np.asarray(seam.samples)
    return SeamPicture(seam, mono.astype(np.float32, copy=False), spectrum.log_mel(mono, seam.sample_rate))


class SeamPlots(QWidget):
    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.layout_widget = pg.GraphicsLayoutWidget()
        self.layout_widget.setBackground("#1e1f22")
        layout.addWidget(self.layout_widget)
        self.wave = self.layout_widget.addPlot(row=0, col=0)
        self.spec = self.layout_widget.addPlot(row=1, col=0)
        self.spec.setXLink(self.wave)
        self.layout_widget.ci.layout.setRowStretchFactor(0, 1)
        self.layout_widget.ci.layout.setRowStretchFactor(1, 1)
        self.layout_widget.setMinimumHeight(190)
        self.wave.setLabel("left", "amplitude")
        self.wave.setYRange(-DOWNBEAT_TICK[1], DOWNBEAT_TICK[1], padding=0.02)
        self.wave.getAxis("left").setTicks([[(v, f"{v:g}") for v in (-1.0, -0.5, 0.0, 0.5, 1.0)]])
        self.wave.setMouseEnabled(y=False)
        self.spec.setLabel("left", "Hz")
        self.spec.setLabel("bottom", "seconds from the seam")
        self.spec.setMouseEnabled(y=False)
        self.a_wave = self.wave.plot([], [], pen=pg.mkPen(A_COLOUR), fillLevel=0, brush=(74, 163, 255, 90))
        self.a_wave_low = self.wave.plot([], [], pen=pg.mkPen(A_COLOUR), fillLevel=0, brush=(74, 163, 255, 90))
        self.b_wave = self.wave.plot([], [], pen=pg.mkPen(B_COLOUR), fillLevel=0, brush=(255, 159, 67, 90))
        self.b_wave_low = self.wave.plot([], [], pen=pg.mkPen(B_COLOUR), fillLevel=0, brush=(255, 159, 67, 90))
        self.fade_out = self.wave.plot([], [], pen=pg.mkPen(A_COLOUR, width=2, style=pg.QtCore.Qt.DashLine))
        self.fade_in = self.wave.plot([], [], pen=pg.mkPen(B_COLOUR, width=2, style=pg.QtCore.Qt.DashLine))
        self.region = pg.LinearRegionItem(movable=False, brush=(255, 255, 255, 35))
        self.wave.addItem(self.region)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setColorMap(pg.colormap.get("inferno"))
        self.spec.addItem(self.image)
        self.seam_lines = [pg.InfiniteLine(angle=90, pen=pg.mkPen(SEAM_COLOUR, width=2)) for _ in range(2)]
        self.spec_region = pg.LinearRegionItem(movable=False, brush=(255, 255, 255, 25))
        self.spec.addItem(self.spec_region)
        self.wave.addItem(self.seam_lines[0])
        self.spec.addItem(self.seam_lines[1])
        self._build_beats()
        self.playheads = [pg.InfiniteLine(angle=90, pen=pg.mkPen("#7CFC00", width=1)) for _ in range(2)]
        self.wave.addItem(self.playheads[0])
        self.spec.addItem(self.playheads[1])
        self.offset_s = 0.0
        self.clear()

    def _build_beats(self) -> None:
        """One pairs curve per item and kind of tick, so a long excerpt is still four draw calls."""

        def ticks(colour: str, width: float, alpha: int) -> pg.PlotCurveItem:
            faded = pg.mkColor(colour)
            faded.setAlpha(alpha)
            curve = pg.PlotCurveItem(pen=pg.mkPen(faded, width=width), connect="pairs")
            curve.setZValue(20)  # over the crossfade region's shading
            self.wave.addItem(curve)
            return curve

        self.a_beats, self.a_downbeats = ticks(A_COLOUR, 1, 190), ticks(A_COLOUR, 2.5, 255)
        self.b_beats, self.b_downbeats = ticks(B_COLOUR, 1, 190), ticks(B_COLOUR, 2.5, 255)
        swap_pen = pg.mkPen(SWAP_COLOUR, width=2, style=pg.QtCore.Qt.DashLine)
        self.swap_lines = [
            pg.InfiniteLine(
                angle=90,
                pen=swap_pen,
                label="bass swap",
                labelOpts={
                    "position": 0.22,
                    "color": SWAP_COLOUR,
                    "fill": (30, 31, 34, 200),
                    "anchors": [(0, 1), (0, 1)],
                },
            ),
            pg.InfiniteLine(angle=90, pen=swap_pen),
        ]
        self.wave.addItem(self.swap_lines[0])
        self.spec.addItem(self.swap_lines[1])
        # the crossover on the spectrogram: below it the low end belongs to A before the swap, to B after
        self.crossover = pg.PlotCurveItem(pen=pg.mkPen(SWAP_COLOUR, width=2, style=pg.QtCore.Qt.DotLine))
        self.spec.addItem(self.crossover)

    def beat_counts(self) -> dict[str, int]:
        """Ticks drawn per item and kind (for checks)."""

        def count(curve: pg.PlotCurveItem) -> int:
            xs = curve.getData()[0]
            return 0 if xs is None else len(xs) // 2

        return {
            "a_beats": count(self.a_beats),
            "a_downbeats": count(self.a_downbeats),
            "b_beats": count(self.b_beats),
            "b_downbeats": count(self.b_downbeats),
        }

    def clear(self) -> None:
        for curve in (
            self.a_wave,
            self.a_wave_low,
            self.b_wave,
            self.b_wave_low,
            self.fade_out,
            self.fade_in,
            self.a_beats,
            self.a_downbeats,
            self.b_beats,
            self.b_downbeats,
            self.crossover,
        ):
            curve.setData([], [])
        self.image.clear()
        for item in [self.region, self.spec_region, *self.seam_lines, *self.swap_lines]:
            item.setVisible(False)
        self.set_playhead(None)

    def show_seam(self, picture: SeamPicture) -> None:
        seam = picture.seam
        self.offset_s = seam.seam_s
        self._draw_wave(picture.mono, seam)
        self._draw_fades(seam)
        self._draw_spectrogram(picture.mel, seam.sample_rate)
        self._draw_beats(seam)
        for line in self.seam_lines:
            line.setPos(0.0)
            line.setVisible(True)
        for region in (self.region, self.spec_region):
            region.setRegion((seam.fade_start_s - self.offset_s, seam.fade_end_s - self.offset_s))
            region.setVisible(seam.fade_end_s > seam.fade_start_s)
        self.wave.setXRange(-self.offset_s, seam.duration_s - self.offset_s, padding=0.01)

    def _draw_wave(self, mono: np.ndarray, seam: SeamAudio) -> None:
        xs, peaks = peak_envelope(mono, WAVE_POINTS)
        times = xs / seam.sample_rate - self.offset_s
        split = times <= 0.0
        self.a_wave.setData(times[split], peaks[split])
        self.a_wave_low.setData(times[split], -peaks[split])
        self.b_wave.setData(times[~split], peaks[~split])
        self.b_wave_low.setData(times[~split], -peaks[~split])

    def _draw_fades(self, seam: SeamAudio) -> None:
        if seam.fade_end_s <= seam.fade_start_s:
            self.fade_out.setData([], [])
            self.fade_in.setData([], [])
            return
        t, out_gain, in_gain = equal_power_curves()
        xs = seam.fade_start_s + t * (seam.fade_end_s - seam.fade_start_s) - self.offset_s
        self.fade_out.setData(xs, out_gain)
        self.fade_in.setData(xs, in_gain)

    def _draw_spectrogram(self, mel: np.ndarray, sample_rate: int) -> None:
        if mel.size == 0:
            self.image.clear()
            return
        top = float(mel.max())
        self.image.setImage(mel.T, levels=(top - 80.0, top))
        seconds = mel.shape[0] * spectrum.HOP / sample_rate
        self.image.setRect(pg.QtCore.QRectF(-self.offset_s, 0, seconds, mel.shape[1]))
        self.spec.setYRange(0, mel.shape[1], padding=0)
        centres = spectrum.mel_band_edges_hz(sample_rate, mel.shape[1])
        ticks = [(i, _hz_label(centres[i])) for i in range(0, mel.shape[1], max(1, mel.shape[1] // 6))]
        self.spec.getAxis("left").setTicks([ticks])

    def _draw_beats(self, seam: SeamAudio) -> None:
        beats = seam.beats  # None where the join is on milliseconds
        pairs: tuple[tuple[pg.PlotCurveItem, pg.PlotCurveItem, float, BeatMarks | None], ...] = (
            (self.a_beats, self.a_downbeats, 1.0, beats.a if beats is not None else None),
            (self.b_beats, self.b_downbeats, -1.0, beats.b if beats is not None else None),
        )
        for beat_curve, down_curve, sign, marks in pairs:
            if marks is None or marks.times_s.size == 0:
                beat_curve.setData([], [])
                down_curve.setData([], [])
                continue
            times = marks.times_s - self.offset_s
            xs, ys = tick_segments(times[~marks.downbeat], *BEAT_TICK)
            beat_curve.setData(xs, sign * ys)
            xs, ys = tick_segments(times[marks.downbeat], *DOWNBEAT_TICK)
            down_curve.setData(xs, sign * ys)
        swap = beats.swap_s if beats is not None else None
        for line in self.swap_lines:
            line.setVisible(swap is not None)
            if swap is not None:
                line.setPos(swap - self.offset_s)
        self._draw_crossover(seam, swap)

    def _draw_crossover(self, seam: SeamAudio, swap: Optional[float]) -> None:
        image = self.image.image
        if swap is None or image is None:
            self.crossover.setData([], [])
            return
        from mixdesk.mix.config import RenderConfig

        centres = spectrum.mel_band_edges_hz(seam.sample_rate, image.shape[0])
        band = float(np.interp(RenderConfig().bass_swap_hz, centres, np.arange(len(centres))))
        xs = np.array([seam.fade_start_s, seam.fade_end_s]) - self.offset_s
        self.crossover.setData(xs, [band, band])

    def set_playhead(self, seconds: Optional[float]) -> None:
        for line in self.playheads:
            line.setVisible(seconds is not None)
            if seconds is not None:
                line.setPos(seconds - self.offset_s)


def _hz_label(hz: float) -> str:
    return f"{hz / 1000:.1f}k" if hz >= 1000 else f"{int(hz)}"
