"""Suggestions: the model's ranked next chunks for the selected playlist item, to insert or preview."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any, Mapping, Optional

from PySide6.QtCore import (
    QEvent,
    QObject,
    QRectF,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor, QKeyEvent, QPainter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QSpinBox,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from mixdesk.gui import mix_calls
from mixdesk.gui import playlist_items as items_api
from mixdesk.gui.column_model import AnyIndex, ColumnTableModel
from mixdesk.gui.jobs import Job
from mixdesk.gui.panel_widgets import ClippedLabel
from mixdesk.gui.state import DeskState

if TYPE_CHECKING:
    from mixdesk.library.project import Project
    from mixdesk.mix.playlist import PlaylistItem
    from mixdesk.mix.suggestions import Suggestion
    from mixdesk.ml.scoring import Scorer

COLUMNS = ("Chunk", "Score", "Why")
COL_CHUNK, COL_SCORE, COL_REASONS = range(3)
PREVIEW_RATE = 44100


def describe_reasons(reasons: Mapping[str, Any] | None) -> str:
    """The mix room's reasons in a DJ's words: continuity, reuse, what follows, level, tempo and key."""
    r = dict(reasons or {})
    parts = []
    if r.get("natural_successor"):
        parts.append("next in its track")
    elif r.get("same_track"):
        parts.append("same track")
    if r.get("recently_used") is not None:
        parts.append(f"used {r['recently_used']} back")
    if r.get("score_into_next") is not None:
        parts.append(f"into next {float(r['score_into_next']):.2f}")
    if r.get("level_step_db") is not None:
        parts.append(f"level {float(r['level_step_db']):+.0f} dB")
    if r.get("bpm_diff_pct") is not None:
        parts.append(f"tempo {float(r['bpm_diff_pct']):+.1f} %")
    if r.get("key_steps") is not None:
        steps = int(r["key_steps"])
        parts.append("same key" if steps == 0 else f"key {steps} step{'s' if steps > 1 else ''}")
    return ", ".join(parts)


class SuggestionsModel(ColumnTableModel):
    columns = COLUMNS

    def __init__(self, parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self.rows: list[Suggestion] = []
        self.labels: list[str] = []

    def set_suggestions(self, suggestions: list[Suggestion], labels: list[str]) -> None:
        self.beginResetModel()
        self.rows, self.labels = list(suggestions), list(labels)
        self.endResetModel()

    def row_count(self) -> int:
        return len(self.rows)

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        suggestion = self.rows[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if col == COL_CHUNK:
                return self.labels[index.row()]
            if col == COL_SCORE:
                return f"{float(suggestion.score):.3f}"
            return describe_reasons(suggestion.reasons)
        if role == Qt.ItemDataRole.UserRole:
            return float(suggestion.score) if col == COL_SCORE else int(suggestion.chunk_id)
        if role == Qt.ItemDataRole.ToolTipRole and col == COL_REASONS:
            return describe_reasons(suggestion.reasons)
        return None


class ScoreBarDelegate(QStyledItemDelegate):
    """A horizontal bar as long as the score (0..1), with the number on top."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: AnyIndex) -> None:
        if option.state & QStyle.StateFlag.State_Selected:
            painter.fillRect(option.rect, option.palette.highlight())
        score = index.data(Qt.ItemDataRole.UserRole)
        if score is None:
            return
        fraction = max(0.0, min(1.0, float(score)))
        rect = QRectF(option.rect.adjusted(3, 4, -3, -4))
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(80, 80, 80, 90))
        painter.drawRoundedRect(rect, 3, 3)
        hue = int(120 * fraction)  # red for unlikely, green for likely
        painter.setBrush(QColor.fromHsv(hue, 190, 210))
        painter.drawRoundedRect(QRectF(rect.x(), rect.y(), rect.width() * fraction, rect.height()), 3, 3)
        painter.setPen(option.palette.text().color())
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, index.data(Qt.ItemDataRole.DisplayRole))
        painter.restore()


class SuggestionsView(QWidget):
    """Ranked successors of the selected item; Enter or double-click puts one into the playlist."""

    applied = Signal(int, int)  # playlist row changed, chunk id put there

    def __init__(self, state: DeskState, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.setObjectName("suggestionsView")
        self.state = state
        self.job: Job | None = None
        self.scorer_job: Job | None = None
        self._stale = False
        self.position = -1
        self.model = SuggestionsModel(self)
        self._build()
        state.playlist_item_selected.connect(lambda _row: self.refresh())
        state.playlist_changed.connect(self.refresh)
        state.scorer_changed.connect(self.refresh)
        state.project_changed.connect(self.refresh)
        state.chunks_changed.connect(self._chunks_changed)

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        self.heading = ClippedLabel("Select a playlist item to see what could follow it.")
        layout.addWidget(self.heading)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setItemDelegateForColumn(COL_SCORE, ScoreBarDelegate(self.table))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(COL_CHUNK, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(COL_SCORE, QHeaderView.ResizeMode.Fixed)
        header.resizeSection(COL_SCORE, 110)
        header.setSectionResizeMode(COL_REASONS, QHeaderView.ResizeMode.Stretch)
        self.table.doubleClicked.connect(lambda _index: self.apply_current())
        self.table.installEventFilter(self)
        layout.addWidget(self.table, 1)
        row = QHBoxLayout()
        self.mode_combo = QComboBox()
        self.mode_combo.addItem("Insert after", "insert")
        self.mode_combo.addItem("Replace next", "replace")
        self.mode_combo.setToolTip("What Enter and double-click do")
        self.k_spin = QSpinBox(minimum=1, maximum=100, value=10, prefix="top ")
        self.k_spin.valueChanged.connect(lambda _v: self.refresh())
        self.apply_button = QPushButton("Apply")
        self.apply_button.clicked.connect(self.apply_current)
        self.preview_button = QPushButton("Preview")
        self.preview_button.clicked.connect(self.preview_current)
        for widget in (self.mode_combo, self.apply_button, self.preview_button):
            row.addWidget(widget)
        row.addStretch(1)
        row.addWidget(self.k_spin)
        layout.addLayout(row)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if (
            watched is self.table
            and isinstance(event, QKeyEvent)
            and event.type() == QEvent.Type.KeyPress
            and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
        ):
            self.apply_current()
            return True
        return super().eventFilter(watched, event)

    # ---- ranking ------------------------------------------------------------------------------
    def refresh(self) -> None:
        state = self.state
        row = state.selected_playlist_item
        project, playlist, scorer = state.project, state.playlist, state.scorer
        items = items_api.items_of(playlist)
        if project is None or playlist is None or not (0 <= row < len(items)):
            self.position = -1
            self.model.set_suggestions([], [])
            self.heading.setText("Select a playlist item to see what could follow it.")
            return
        if scorer is None:
            self.model.set_suggestions([], [])
            self._load_default_scorer(project)
            return
        if self.job is not None and self.job.is_running():
            self._stale = True
            return
        if not self._chunk_exists(project, items[row]):
            self.position = -1
            self.model.set_suggestions([], [])
            self.heading.setText(f"Item {row + 1}: chunk gone after the re-cut; delete it or generate again.")
            return
        self.position = row
        self.heading.setText(f"After {row + 1}. {items_api.source_label(project, items[row])}")
        fn = partial(mix_calls.suggestions, project, scorer, playlist, row, self.k_spin.value())
        job = self.job = state.jobs.run("Suggestions", lambda _p, _s: fn())
        job.finished.connect(partial(self._on_ranked, project))
        job.failed.connect(self._on_failed)

    def _chunks_changed(self) -> None:
        # Rows ranked before a re-cut may name chunks that are gone: never offer them meanwhile.
        self.model.set_suggestions([], [])
        self.refresh()

    @staticmethod
    def _chunk_exists(project: Project, item: PlaylistItem) -> bool:
        try:
            project.chunk(items_api.chunk_id(item))
        except KeyError:
            return False
        return True

    def _load_default_scorer(self, project: Project) -> None:
        """Suggest with what ``mixdesk mix`` would use until the user picks a model."""
        if self.scorer_job is not None and self.scorer_job.is_running():
            return
        self.heading.setText("Preparing the default model for suggestions…")
        job = self.scorer_job = self.state.jobs.run(
            "Preparing the default model", partial(mix_calls.default_scorer, project)
        )
        job.finished.connect(partial(self._on_default_scorer, project))
        job.failed.connect(lambda message: self.heading.setText(f"Choose a model in the Training panel: {message}"))

    def _on_default_scorer(self, project: Project, scorer: Scorer) -> None:
        if self.state.scorer is None and self.state.project is project:
            self.state.set_scorer(scorer)

    def _on_ranked(self, project: Project, suggestions: list[Suggestion]) -> None:
        labels = [items_api.chunk_label(project, s.chunk_id) for s in suggestions]
        self.model.set_suggestions(suggestions, labels)
        if suggestions:
            self.table.selectRow(0)
        self._rerun_if_stale()

    def _on_failed(self, message: str) -> None:
        self.model.set_suggestions([], [])
        self.heading.setText(f"No suggestions: {message}")
        self._rerun_if_stale()

    def _rerun_if_stale(self) -> None:
        if self._stale:
            self._stale = False
            self.refresh()

    # ---- actions ------------------------------------------------------------------------------
    def current_chunk(self) -> Optional[int]:
        index = self.table.currentIndex()
        if not index.isValid():
            return None
        return int(self.model.index(index.row(), COL_CHUNK).data(Qt.ItemDataRole.UserRole))

    def apply_current(self) -> None:
        chunk_id = self.current_chunk()
        if chunk_id is not None:
            self.apply(chunk_id, self.mode_combo.currentData())

    def apply(self, chunk_id: int, mode: str = "insert") -> None:
        """Put ``chunk_id`` after the selected item: as a new item, or in place of the next one."""
        state, position = self.state, self.position
        project, playlist = state.project, state.playlist
        items = items_api.items_of(playlist)
        if project is None or playlist is None or not (0 <= position < len(items)):
            return
        score = next((float(s.score) for s in self.model.rows if int(s.chunk_id) == chunk_id), None)
        new_item = mix_calls.item_for_chunk(project, chunk_id, like=items[position], score=score)
        target = position + 1
        label = items_api.chunk_label(project, chunk_id)
        if mode == "replace" and target < len(items):
            items[target] = new_item
            what = f"replace item {target + 1} with {label}"
        else:
            items.insert(target, new_item)
            what = f"insert {label} after item {position + 1}"
        items = mix_calls.rescore_around(state.scorer, items, target)
        # the new item (and, on a tempo path, those after it) plays at the mix tempo, as if generated there
        edited = mix_calls.follow_tempo_plan(project, items_api.with_items(playlist, items), target)
        state.edit_playlist(edited, what)
        state.select_playlist_item(target)
        self.applied.emit(target, chunk_id)

    def preview_current(self) -> None:
        chunk_id, project = self.current_chunk(), self.state.project
        if chunk_id is None or project is None:
            return
        label = items_api.chunk_label(project, chunk_id)
        fn = partial(mix_calls.chunk_preview, project, chunk_id, PREVIEW_RATE)
        job = self.state.jobs.run("Preview", lambda _p, _s: fn())
        job.finished.connect(lambda samples: self.state.player.play_samples(samples, PREVIEW_RATE, label))
        job.failed.connect(self.state.show_status)
