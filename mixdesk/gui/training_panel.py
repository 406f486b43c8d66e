"""Training panel: configure and run a training job, watch its curves, pick the model the desk uses."""

from __future__ import annotations

import time
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QResizeEvent, QStandardItemModel
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from mixdesk.gui import training_run as run
from mixdesk.gui.curves import TrainingCurves
from mixdesk.gui.jobs import Job
from mixdesk.gui.panel_widgets import ClippedLabel, int_spin
from mixdesk.gui.state import DeskState
from mixdesk.ml.metrics import BASELINE_TO_BEAT, below_baseline
from mixdesk.progress import Progress

if TYPE_CHECKING:
    from mixdesk.ml.scoring import Scorer

METRIC_COLUMNS = (("auc", "AUC"), ("accuracy", "Accuracy"), ("hit1", "Hit@1"), ("hit5", "Hit@5"), ("mrr", "MRR"))
# How the desk names each of the library's architectures (mixdesk.ml.models.ARCHS).
ARCHITECTURE_LABELS = {"cnn_lstm": "CNN-LSTM (log-mel)", "seed": "Seed network (raw)"}
DEVICES = (("auto", "Auto"), ("cuda", "CUDA"), ("cpu", "CPU"))
NARROW_WIDTH = 760


def _number(value: Any) -> str:
    return "—" if value is None else f"{float(value):.3f}"


def format_eta(seconds: Optional[float]) -> str:
    if seconds is None or seconds != seconds or seconds < 0:
        return "ETA —"
    seconds = int(round(seconds))
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"ETA {hours}:{minutes:02d}:{secs:02d}" if hours else f"ETA {minutes}:{secs:02d}"


class TrainingPanel(QWidget):
    """Everything about the transition model: train one, see how it did, choose which one scores."""

    training_finished = Signal(object)  # TrainOutcome
    model_loaded = Signal(object)  # the scorer now used by the desk

    def __init__(self, state: DeskState, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.setObjectName("trainingPanel")
        self.state = state
        self.job: Job | None = None
        self.load_job: Job | None = None
        self.history = run.EpochHistory()
        self.outcome: Optional[run.TrainOutcome] = None
        self._loaded: Scorer | None = None  # the scorer this panel loaded, named by ``in_use``
        self._build()
        self.in_use: tuple[Optional[str], str] | None = None  # (models-list key, label)
        state.project_changed.connect(self._on_project)
        state.chunks_changed.connect(self._reload_after_recut)
        state.scorer_changed.connect(self._show_scorer)
        self.refresh_models()
        self._show_scorer()

    # ---- layout -------------------------------------------------------------------------------
    def _build(self) -> None:
        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.addWidget(self._build_settings())
        self.splitter.addWidget(self._build_monitor())
        self.splitter.setStretchFactor(1, 3)
        self.in_use_label = ClippedLabel("Model in use: none yet")
        self.in_use_label.setObjectName("modelInUse")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.in_use_label)
        # The outcome of a run goes above everything else: a docked panel is narrow and tall, and what
        # sits below the curves is below the fold.
        layout.addWidget(self._build_results())
        layout.addWidget(self.splitter)

    def _build_results(self) -> QWidget:
        box = QGroupBox("Last run: held-out tracks, model against baselines")
        box.setObjectName("trainingResults")
        self.results_box = box
        self.result_label = QLabel()
        self.result_label.setObjectName("resultSummary")
        self.result_label.setWordWrap(True)
        self.baseline_warning = QLabel()
        self.baseline_warning.setObjectName("baselineWarning")
        self.baseline_warning.setWordWrap(True)
        self.baseline_warning.setStyleSheet("color: #ffb74d;")
        self.baseline_warning.hide()
        self.metrics_table = QTableWidget(0, len(METRIC_COLUMNS))
        self.metrics_table.setObjectName("metricsTable")
        self.metrics_table.setHorizontalHeaderLabels([label for _key, label in METRIC_COLUMNS])
        self.metrics_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.metrics_table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.metrics_table.verticalHeader().setDefaultSectionSize(24)
        self._fit_metrics_height()
        self.use_trained_button = QPushButton("Use this model")
        self.use_trained_button.setObjectName("useTrainedModel")
        self.use_trained_button.setToolTip("Score suggestions and new playlists with the model just trained")
        self.use_trained_button.clicked.connect(self.use_trained_model)
        layout = QVBoxLayout(box)
        layout.addWidget(self.result_label)
        layout.addWidget(self.baseline_warning)
        layout.addWidget(self.metrics_table)
        layout.addWidget(self.use_trained_button, 0, Qt.AlignmentFlag.AlignLeft)
        box.hide()
        return box

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        # Docked in a narrow column the settings go above the curves instead of beside them.
        wanted = Qt.Orientation.Vertical if event.size().width() < NARROW_WIDTH else Qt.Orientation.Horizontal
        if self.splitter.orientation() != wanted:
            self.splitter.setOrientation(wanted)
        super().resizeEvent(event)

    def _build_settings(self) -> QWidget:
        box = QGroupBox("Training run")
        form = QFormLayout(box)
        from mixdesk.ml.models import ARCHS  # the panel is built on first use, once torch may load

        defaults = run.TrainOptions()
        self.arch_combo = QComboBox()
        for key in ARCHS:
            self.arch_combo.addItem(ARCHITECTURE_LABELS.get(key, key), key)
        self.arch_combo.setCurrentIndex(max(0, self.arch_combo.findData(defaults.arch)))
        self.epochs_spin = int_spin(1, 5000, defaults.epochs)
        self.batch_spin = int_spin(0, 4096, defaults.batch_size, "Pairs per training step")
        self.batch_spin.setSpecialValueText("Auto (by device)")
        self.lr_spin = QDoubleSpinBox(
            decimals=5, minimum=1e-5, maximum=1.0, singleStep=1e-4, value=defaults.learning_rate
        )
        self.window_spin = QDoubleSpinBox(
            decimals=2, minimum=0.1, maximum=10.0, singleStep=0.25, value=defaults.window_s
        )
        self.window_spin.setSuffix(" s")
        self.device_combo = QComboBox()
        for key, label in DEVICES:
            self.device_combo.addItem(label, key)
        self.device_combo.setCurrentIndex(max(0, self.device_combo.findData(defaults.device)))
        self._describe_cuda()
        form.addRow("Architecture", self.arch_combo)
        form.addRow("Epochs", self.epochs_spin)
        form.addRow("Batch size", self.batch_spin)
        form.addRow("Learning rate", self.lr_spin)
        form.addRow("Window per side", self.window_spin)
        form.addRow("Device", self.device_combo)
        self.start_button = QPushButton("Start training")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setEnabled(False)
        self.stop_button.setToolTip("Stop after the current step; the last saved checkpoint is kept")
        self.start_button.clicked.connect(self.start_training)
        self.stop_button.clicked.connect(self.stop_training)
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.stop_button)
        form.addRow(buttons)
        form.addRow(self._build_models())
        return box

    def _build_models(self) -> QWidget:
        box = QGroupBox("Models")
        layout = QVBoxLayout(box)
        self.models_list = QListWidget()
        self.models_list.setObjectName("modelsList")
        self.models_list.itemActivated.connect(lambda _item: self.use_selected_model())
        self.use_button = QPushButton("Use selected model")
        self.use_button.clicked.connect(self.use_selected_model)
        self.model_status = ClippedLabel("No model in use")
        layout.addWidget(self.models_list)
        layout.addWidget(self.use_button)
        layout.addWidget(self.model_status)
        return box

    def _build_monitor(self) -> QWidget:
        widget = QWidget()
        layout = QVBoxLayout(widget)
        layout.setContentsMargins(0, 0, 0, 0)
        self.curves = TrainingCurves()
        row = QHBoxLayout()
        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.setValue(0)
        self.progress_bar.setFormat("idle")
        self.eta_label = QLabel(format_eta(None))
        row.addWidget(self.progress_bar, 1)
        row.addWidget(self.eta_label)
        self.status_label = ClippedLabel("Set the run up and press Start.")
        layout.addWidget(self.curves, 1)
        layout.addLayout(row)
        layout.addWidget(self.status_label)
        return widget

    def _describe_cuda(self) -> None:
        reason = run.cuda_unavailable_reason()
        if not reason:
            return
        model = self.device_combo.model()
        if isinstance(model, QStandardItemModel):
            item = model.item(self.device_combo.findData("cuda"))
            item.setEnabled(False)
            item.setToolTip(reason)
        self.device_combo.setItemData(self.device_combo.findData("cuda"), reason, Qt.ItemDataRole.ToolTipRole)

    # ---- training -----------------------------------------------------------------------------
    def options(self) -> run.TrainOptions:
        return run.TrainOptions(
            arch=self.arch_combo.currentData(),
            epochs=self.epochs_spin.value(),
            batch_size=self.batch_spin.value(),
            learning_rate=self.lr_spin.value(),
            window_s=self.window_spin.value(),
            device=self.device_combo.currentData(),
            name=f"{self.arch_combo.currentData()}-{time.strftime('%Y%m%d-%H%M%S')}",
        )

    def start_training(self) -> None:
        project = self.state.project
        if project is None:
            self._say("Open a project with tracks before training.")
            return
        if self.job is not None and self.job.is_running():
            return
        options = self.options()
        out_dir = Path(project.cache_dir) / "models"
        out_dir.mkdir(parents=True, exist_ok=True)
        out_path = out_dir / f"{options.name}.pt"
        self.history = run.EpochHistory()
        self.curves.clear()
        self.metrics_table.setRowCount(0)
        self._fit_metrics_height()
        self.outcome = None
        self.results_box.hide()
        fn = partial(run.run_training, project, options, out_path, self.history)
        job = self.job = self.state.jobs.run("Training", lambda p, s: fn(p, s))
        job.progress.connect(self._on_progress)
        job.finished.connect(self._on_finished)
        job.failed.connect(self._on_failed)
        job.cancelled.connect(self._on_cancelled)
        self._set_running(True)
        self._say(f"Training {options.arch} for {options.epochs} epochs…")

    def stop_training(self) -> None:
        if self.job is not None and self.job.is_running():
            self.job.stop()
            self.stop_button.setEnabled(False)
            self._say("Stopping after the current step…")

    def _set_running(self, running: bool) -> None:
        self.start_button.setEnabled(not running)
        self.stop_button.setEnabled(running)
        for widget in (
            self.arch_combo,
            self.epochs_spin,
            self.batch_spin,
            self.lr_spin,
            self.window_spin,
            self.device_combo,
        ):
            widget.setEnabled(not running)

    def _on_progress(self, progress: Progress) -> None:
        from mixdesk.ml.training import EpochReport  # loaded by the training job already

        self.curves.show_history(self.history.snapshot())
        self.progress_bar.setValue(int(progress.fraction * 1000))
        if isinstance(progress, EpochReport):
            self.progress_bar.setFormat(f"epoch {progress.epoch}/{progress.epochs}  %p%")
            self.eta_label.setText(format_eta(progress.eta_s))
        else:
            self.progress_bar.setFormat(progress.message or "%p%")

    def _on_finished(self, outcome: run.TrainOutcome) -> None:
        self.curves.show_history(self.history.snapshot())
        self._set_running(False)
        self.progress_bar.setValue(1000)
        self.progress_bar.setFormat("done" if not outcome.stopped else "stopped")
        self.eta_label.setText(format_eta(0))
        self.show_metrics(outcome.metrics)
        kept = "stopped early; last checkpoint kept" if outcome.stopped else "finished"
        error = outcome.metrics.get("error")
        self._say(f"Model {outcome.model_name} {kept}." + (f" Evaluation failed: {error}" if error else ""))
        self.refresh_models(select_path=outcome.model_path)
        self.show_outcome(outcome)
        self.training_finished.emit(outcome)

    def show_outcome(self, outcome: run.TrainOutcome) -> None:
        """The run's result where it is seen first: a summary, a warning when the untrained baseline does
        better, the metrics, and the button that puts the model to use."""
        self.outcome = outcome
        metrics = outcome.metrics
        kept = "stopped early, last checkpoint kept" if outcome.stopped else "finished"
        if metrics.get("error"):
            summary = f"{outcome.model_name}: {kept}; evaluation failed: {metrics['error']}"
        elif metrics:
            summary = (
                f"{outcome.model_name}: {kept}. On {metrics.get('heldout_tracks', '?')} held-out tracks: "
                f"MRR {_number(metrics.get('mrr'))}, AUC {_number(metrics.get('auc'))}."
            )
        else:
            summary = f"{outcome.model_name}: {kept}; not evaluated."
        self.result_label.setText(summary)
        shortfalls = below_baseline(metrics)
        if shortfalls:
            numbers = ", ".join(f"{label} {model:.3f} < {base:.3f}" for label, model, base in shortfalls)
            self.baseline_warning.setText(
                f"⚠ This model scores below the {BASELINE_TO_BEAT} baseline, which needs no training "
                f"({numbers}). Train longer or on more tracks before using it."
            )
        self.baseline_warning.setVisible(bool(shortfalls))
        self.use_trained_button.setEnabled(True)
        self.use_trained_button.setText("Use this model")
        self.results_box.show()
        self._reveal(self.results_box)

    def _reveal(self, widget: QWidget) -> None:
        parent = self.parentWidget()
        while parent is not None and not isinstance(parent, QScrollArea):
            parent = parent.parentWidget()
        if parent is not None:
            parent.ensureWidgetVisible(widget)

    def use_trained_model(self) -> None:
        if self.outcome is not None:
            self.use_model(self.outcome.model_path, self.outcome.model_name)

    def _on_failed(self, message: str) -> None:
        self._set_running(False)
        self.progress_bar.setFormat("failed")
        self._say(f"Training failed: {message}")

    def _on_cancelled(self) -> None:
        self.curves.show_history(self.history.snapshot())
        self._set_running(False)
        self.progress_bar.setFormat("stopped")
        self._say("Training stopped before the first checkpoint; nothing was kept.")

    def _fit_metrics_height(self) -> None:
        rows = max(1, self.metrics_table.rowCount())
        header = self.metrics_table.horizontalHeader().sizeHint().height()
        self.metrics_table.setFixedHeight(header + rows * 24 + 4)

    def show_metrics(self, metrics: dict[str, Any]) -> None:
        rows = run.metrics_rows(metrics)
        self.metrics_table.setRowCount(len(rows))
        self.metrics_table.setVerticalHeaderLabels([label for label, _ in rows])
        for row, (_label, numbers) in enumerate(rows):
            for col, (key, _title) in enumerate(METRIC_COLUMNS):
                value = numbers.get(key)
                text = "—" if value is None else f"{float(value):.3f}"
                item = QTableWidgetItem(text)
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                self.metrics_table.setItem(row, col, item)
        self._fit_metrics_height()

    # ---- models -------------------------------------------------------------------------------
    def _on_project(self) -> None:
        self.in_use = None
        self.outcome = None
        self.results_box.hide()
        self.model_status.setText("No model in use")
        self.refresh_models()

    def _show_scorer(self) -> None:
        """Say which model scores suggestions and mixes now, whoever chose it."""
        scorer = self.state.scorer
        if scorer is None:
            self.in_use_label.setText("Model in use: none yet (the bundled model is loaded when first needed)")
            return
        label = self.in_use[1] if self.in_use is not None and scorer is self._loaded else None
        if label is None:
            label = run.scorer_label(self.state.project, scorer)
        self.in_use_label.setText(f"Model in use: {label}")
        self.model_status.setText(f"In use: {label}")
        if self.outcome is not None:
            trained = run.model_key(scorer) == self.outcome.model_path
            self.use_trained_button.setEnabled(not trained)
            self.use_trained_button.setText("In use" if trained else "Use this model")

    def refresh_models(self, select_path: Optional[str] = None) -> None:
        self.models_list.clear()
        for entry in run.list_models(self.state.project):
            item = QListWidgetItem(entry.label)
            item.setData(Qt.ItemDataRole.UserRole, entry.path)
            item.setToolTip(run.describe_entry(entry))
            self.models_list.addItem(item)
            if select_path is not None and entry.path == select_path:
                self.models_list.setCurrentItem(item)
        if self.models_list.currentItem() is None and self.models_list.count():
            self.models_list.setCurrentRow(0)

    def use_selected_model(self) -> None:
        item = self.models_list.currentItem()
        if item is not None:
            self.use_model(item.data(Qt.ItemDataRole.UserRole), item.text())

    def use_model(self, path: Optional[str], label: str) -> None:
        """Load and prepare a model as a job; the desk switches to it once its encodings are ready."""
        if self.load_job is not None and self.load_job.is_running():
            return
        fn = partial(run.load_scorer, self.state.project, path, self.device_combo.currentData())
        job = self.load_job = self.state.jobs.run("Loading model", lambda p, s: fn(p, s))
        job.finished.connect(partial(self._on_model_loaded, path, label))
        job.failed.connect(lambda message: self._model_said(f"Could not load the model: {message}"))
        self._model_said(f"Preparing {label}…")

    def _on_model_loaded(self, path: Optional[str], label: str, scorer: Scorer) -> None:
        self.in_use = (path, label)
        self._loaded = scorer
        self.state.set_scorer(scorer)
        self._model_said(f"In use: {label}")
        self.model_loaded.emit(scorer)

    def _reload_after_recut(self) -> None:
        # A re-cut reassigns chunk ids, so encodings prepared under the old ids could describe other audio.
        scorer = self.state.scorer
        if scorer is None:
            return
        path, label = self.in_use or (run.model_key(scorer), "the current model")
        self.use_model(path, label)

    def _model_said(self, text: str) -> None:
        self.model_status.setText(text)
        self._emit_status(text)

    def _say(self, text: str) -> None:
        self.status_label.setText(text)
        self._emit_status(text)

    def _emit_status(self, text: str) -> None:
        self.state.show_status(text)
