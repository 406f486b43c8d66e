"""Transition view: the seam between the selected item and the next, as waveform and spectrogram.

The excerpt shown is rendered by the mix room's renderer, so what is drawn and played is what the export
will contain; the crossfade length edited here is stored on the item's transition: in beats where both
sides have a beat grid (the join is then on the beat), in milliseconds elsewhere.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Optional

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from mixdesk.gui import mix_calls
from mixdesk.gui import playlist_items as items_api
from mixdesk.gui import seam_plots
from mixdesk.gui.jobs import Job
from mixdesk.gui.panel_widgets import ClippedLabel
from mixdesk.gui.state import DeskState
from mixdesk.mix.config import CROSSFADE_BEATS_STEP, MAX_CROSSFADE_BEATS

if TYPE_CHECKING:
    from mixdesk.mix.playlist import Playlist
    from mixdesk.mix.seam_excerpt import SeamPlan

MAX_CROSSFADE_MS = 8000
REFRESH_DELAY_MS = 120


class TransitionView(QWidget):
    """End of A and start of B with the seam marked; adjust the crossfade and listen to it."""

    rendered = Signal(object)  # SeamAudio

    def __init__(self, state: DeskState, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.setObjectName("transitionView")
        self.state = state
        self.job: Job | None = None
        self.seam: Optional[mix_calls.SeamAudio] = None
        self.plan: SeamPlan | None = None  # the join as the full mix plays it
        self.row = -1
        self._pending = False
        self._refresh_timer = QTimer(self, singleShot=True, interval=REFRESH_DELAY_MS)
        self._refresh_timer.timeout.connect(self.refresh)
        self._commit_timer = QTimer(self, singleShot=True, interval=250)
        self._commit_timer.timeout.connect(self._commit_crossfade)
        self._build()
        state.playlist_item_selected.connect(lambda _row: self.schedule_refresh())
        state.playlist_changed.connect(self.schedule_refresh)
        state.project_changed.connect(self.schedule_refresh)
        state.player.position_changed.connect(self._on_position)

    # ---- layout -------------------------------------------------------------------------------
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        self.heading = ClippedLabel("Select a playlist item to see its transition into the next one.")
        self.prev_button = _arrow_button(Qt.ArrowType.LeftArrow, "Previous transition")
        self.next_button = _arrow_button(Qt.ArrowType.RightArrow, "Next transition")
        self.prev_button.clicked.connect(lambda: self.step(-1))
        self.next_button.clicked.connect(lambda: self.step(1))
        top = QHBoxLayout()
        top.addWidget(self.prev_button)
        top.addWidget(self.next_button)
        top.addWidget(self.heading, 1)
        layout.addLayout(top)
        self.plots = seam_plots.SeamPlots()
        layout.addWidget(self.plots, 1)
        row = QHBoxLayout()
        row.addWidget(QLabel("Crossfade"))
        self.crossfade_slider = QSlider(Qt.Orientation.Horizontal)
        self.crossfade_slider.setRange(0, MAX_CROSSFADE_MS)
        self.crossfade_slider.setSingleStep(50)
        self.crossfade_slider.setPageStep(500)
        self.crossfade_spin = QSpinBox(minimum=0, maximum=MAX_CROSSFADE_MS, singleStep=50, suffix=" ms")
        self.crossfade_spin.setToolTip("Crossfade length; used where a side has no beat grid")
        self.beats_spin = QDoubleSpinBox(
            minimum=0.0, maximum=MAX_CROSSFADE_BEATS, singleStep=CROSSFADE_BEATS_STEP, decimals=2, suffix=" beats"
        )
        self.beats_spin.setSpecialValueText("cut")
        self.beats_spin.setToolTip("Crossfade length in beats of the mix tempo; the next item lands on the beat")
        self.beats_spin.setVisible(False)
        self.crossfade_slider.valueChanged.connect(self._on_slider)
        self.crossfade_spin.valueChanged.connect(self._on_spin)
        self.beats_spin.valueChanged.connect(self._on_beats_spin)
        self.join_label = ClippedLabel("")  # a long cap note must not squeeze the controls beside it
        self.join_label.setObjectName("joinLabel")
        self.context_spin = QDoubleSpinBox(minimum=1.0, maximum=30.0, value=4.0, singleStep=1.0, suffix=" s")
        self.context_spin.setToolTip("How much of A's end and B's start to show")
        self.context_spin.valueChanged.connect(lambda _v: self.schedule_refresh())
        self.play_button = QPushButton("Play transition")
        self.play_button.clicked.connect(self.play)
        row.addWidget(self.crossfade_slider, 2)
        row.addWidget(self.crossfade_spin)
        row.addWidget(self.beats_spin)
        row.addWidget(self.join_label, 1)
        row.addWidget(QLabel("Context"))
        row.addWidget(self.context_spin)
        row.addWidget(self.play_button)
        layout.addLayout(row)
        self._set_controls_enabled(False)

    def step(self, delta: int) -> None:
        """Move to the neighbouring transition by selecting that playlist item."""
        items = items_api.items_of(self.state.playlist)
        if len(items) >= 2:
            row = max(0, self.row if self.row >= 0 else 0)
            self.state.select_playlist_item(max(0, min(len(items) - 2, row + delta)))

    def _set_controls_enabled(self, enabled: bool) -> None:
        for widget in (self.crossfade_slider, self.crossfade_spin, self.beats_spin, self.play_button):
            widget.setEnabled(enabled)

    # ---- state --------------------------------------------------------------------------------
    def schedule_refresh(self) -> None:
        self._refresh_timer.start()

    def _seam_row(self) -> int:
        items = items_api.items_of(self.state.playlist)
        row = self.state.selected_playlist_item
        if self.state.project is None or len(items) < 2 or row < 0:
            return -1
        return min(row, len(items) - 2)

    def refresh(self) -> None:
        if self._commit_timer.isActive():
            # The controls are about to show the playlist again: a crossfade still settling would be lost.
            self._commit_crossfade()
        row = self._seam_row()
        self.row = row
        project, playlist = self.state.project, self.state.playlist
        if row < 0 or project is None or playlist is None:
            self.seam = self.plan = None
            self.join_label.setText("")
            self.plots.clear()
            self._set_controls_enabled(False)
            self.heading.setText("Select a playlist item to see its transition into the next one.")
            return
        if self.job is not None and self.job.is_running():
            self._pending = True
            return
        items = playlist.items
        self.plan = mix_calls.seam_plan(project, playlist, row)
        self._set_beat_mode(self.plan.synced)
        self._show_crossfade(items_api.crossfade_ms(items[row]))
        self._show_join()
        labels = (
            items_api.source_label(project, items[row]),
            items_api.source_label(project, items[row + 1]),
        )
        score = items_api.score(items[row + 1])
        score_text = "" if score is None else f"  (score {score:.3f})"
        self.heading.setText(f"{row + 1}. {labels[0]}  →  {row + 2}. {labels[1]}{score_text}")
        context_ms = int(self.context_spin.value() * 1000)
        fn = partial(mix_calls.render_seam, project, playlist, row, context_ms, labels)
        job = self.job = self.state.jobs.run("Rendering the transition", lambda p, s: seam_plots.seam_picture(fn(p, s)))
        job.finished.connect(self._on_rendered)
        job.failed.connect(self._on_failed)

    def _on_rendered(self, picture: seam_plots.SeamPicture) -> None:
        self.seam = picture.seam
        self.plots.show_seam(picture)
        self._set_controls_enabled(True)
        self.rendered.emit(picture.seam)
        self._run_pending()

    def _on_failed(self, message: str) -> None:
        self.plots.clear()
        self.heading.setText(f"Could not render this transition: {message}")
        self._run_pending()

    def _run_pending(self) -> None:
        if self._pending:
            self._pending = False
            self.refresh()

    # ---- crossfade ----------------------------------------------------------------------------
    @property
    def in_beats(self) -> bool:
        """Whether the crossfade is edited in beats (both sides of the shown seam have a beat grid)."""
        return self.beats_spin.isVisibleTo(self)

    def _set_beat_mode(self, beats: bool) -> None:
        self.beats_spin.setVisible(beats)
        self.crossfade_spin.setVisible(not beats)
        self.crossfade_slider.blockSignals(True)
        if beats:
            self.crossfade_slider.setRange(0, int(round(MAX_CROSSFADE_BEATS / CROSSFADE_BEATS_STEP)))
            self.crossfade_slider.setSingleStep(1)
            self.crossfade_slider.setPageStep(int(round(1.0 / CROSSFADE_BEATS_STEP)))
        else:
            self.crossfade_slider.setRange(0, MAX_CROSSFADE_MS)
            self.crossfade_slider.setSingleStep(50)
            self.crossfade_slider.setPageStep(500)
        self.crossfade_slider.blockSignals(False)

    def _show_crossfade(self, ms: int) -> None:
        widgets = [self.crossfade_spin] + ([] if self.in_beats else [self.crossfade_slider])
        for widget in widgets:
            widget.blockSignals(True)
            widget.setValue(int(ms))
            widget.blockSignals(False)
        if self.in_beats and self.plan is not None:
            self._show_beats(self.plan.wanted)

    def _show_beats(self, beats: float) -> None:
        steps = int(round(beats / CROSSFADE_BEATS_STEP))
        for widget in (self.beats_spin, self.crossfade_slider):
            widget.blockSignals(True)
        self.beats_spin.setValue(steps * CROSSFADE_BEATS_STEP)
        self.crossfade_slider.setValue(steps)
        for widget in (self.beats_spin, self.crossfade_slider):
            widget.blockSignals(False)

    def _show_join(self) -> None:
        """What the join does: its overlap, and by how much the cap (half the shorter item) cut it."""
        plan = self.plan
        if plan is None:
            self.join_label.setText("")
            return
        join = plan.join
        if join is not None:
            overlap = join.overlap_beats
            text = "cut on the beat" if overlap < 0.01 else f"plays {_beats(overlap)} beats"
            text += f" at {plan.a.mix_bpm:.1f} BPM"
            tip = "The incoming item lands on the beat of the outgoing one"
            if join.swap_beat is not None:
                tip += f"; the bass swaps {_beats(join.swap_beat - join.start_beat)} beats into the overlap"
        else:
            text, tip = "", "No beat grid on one side: the crossfade is set in milliseconds"
        if plan.capped_by > 1e-6:
            capped = f"{_beats(plan.limit)} beats" if plan.synced else f"{plan.limit:.0f} ms"
            by = f"{_beats(plan.capped_by)} beats" if plan.synced else f"{plan.capped_by:.0f} ms"
            text = f"capped at {capped} (−{by})" + (f", {text}" if plan.synced else "")
            tip += ". A crossfade lasts at most half of either item."
            self.join_label.setStyleSheet("color: #ffb74d")
        else:
            self.join_label.setStyleSheet("")
        self.join_label.setText(text)
        self.join_label.setToolTip(tip)

    def _on_slider(self, value: int) -> None:
        if self.in_beats:
            self.beats_spin.blockSignals(True)
            self.beats_spin.setValue(value * CROSSFADE_BEATS_STEP)
            self.beats_spin.blockSignals(False)
        else:
            self.crossfade_spin.blockSignals(True)
            self.crossfade_spin.setValue(value)
            self.crossfade_spin.blockSignals(False)
        self._commit_timer.start()

    def _on_beats_spin(self, value: float) -> None:
        self.crossfade_slider.blockSignals(True)
        self.crossfade_slider.setValue(int(round(value / CROSSFADE_BEATS_STEP)))
        self.crossfade_slider.blockSignals(False)
        self._commit_timer.start()

    def _on_spin(self, value: int) -> None:
        self.crossfade_slider.blockSignals(True)
        self.crossfade_slider.setValue(value)
        self.crossfade_slider.blockSignals(False)
        self._commit_timer.start()

    def set_crossfade_ms(self, ms: int) -> None:
        """Set the crossfade of the shown transition now (the controls wait for the user to settle)."""
        self._show_crossfade(ms)
        self._commit_crossfade()

    def set_crossfade_beats(self, beats: float) -> None:
        """Set the crossfade of the shown (beat-synchronous) transition in beats now."""
        self._show_beats(beats)
        self._commit_crossfade()

    def _commit_crossfade(self) -> None:
        self._commit_timer.stop()
        row, playlist = self.row, self.state.playlist
        if row < 0 or playlist is None or row >= len(playlist.items) - 1:
            return
        if self.in_beats:
            self._commit_beats(row, playlist)
            return
        ms = self.crossfade_spin.value()
        if items_api.crossfade_ms(playlist.items[row]) == ms:
            return
        items = list(playlist.items)
        items[row] = items_api.with_crossfade(items[row], ms)
        self._edit(row, items_api.with_items(playlist, items))
        self.state.show_status(f"Crossfade after item {row + 1}: {ms} ms")

    def _commit_beats(self, row: int, playlist: Playlist) -> None:
        beats = self.beats_spin.value()
        item = playlist.items[row]
        if items_api.crossfade_beats(item) == beats:
            return
        items = list(playlist.items)
        items[row] = items_api.with_crossfade_beats(item, beats)
        self._edit(row, items_api.with_items(playlist, items))
        length = "a cut" if beats == 0 else f"{beats:g} beats"
        self.state.show_status(f"Crossfade after item {row + 1}: {length}")

    def _edit(self, row: int, playlist: Playlist) -> None:
        # One step per transition however long the slider is dragged: undo returns to where it started.
        self.state.edit_playlist(playlist, f"crossfade after item {row + 1}", merge_key=("crossfade", row))

    # ---- playback -----------------------------------------------------------------------------
    def play(self) -> None:
        if self.seam is None:
            return
        label = f"transition {self.seam.a_label} → {self.seam.b_label}"
        self.state.player.play_samples(self.seam.samples, self.seam.sample_rate, label)

    def _on_position(self, seconds: float) -> None:
        player = self.state.player
        playing_seam = self.seam is not None and player.label.startswith("transition ")
        self.plots.set_playhead(seconds if playing_seam and player.state != "stopped" else None)


def _arrow_button(arrow: Qt.ArrowType, tip: str) -> QToolButton:
    button = QToolButton()
    button.setArrowType(arrow)
    button.setToolTip(tip)
    return button


def _beats(value: float) -> str:
    """A beat count as short as it reads: 4, 2.5, 2.25."""
    return f"{value:.2f}".rstrip("0").rstrip(".")
