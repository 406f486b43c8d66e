"""The pool as one table model: a row per chunk, held column-wise so 10,000+ rows stay cheap.

Sorting happens here with numpy (the proxy forwards it), and filtering tests a precomputed
lower-case text per row plus optional numeric terms such as ``bpm>120`` or ``len<8``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QSortFilterProxyModel, Qt

from mixdesk.gui.column_model import AnyIndex
from mixdesk.mix.pool import chunk_tempi_and_keys

if TYPE_CHECKING:
    from mixdesk.gui.thumbnails import ThumbnailCache
    from mixdesk.library.project import Project
    from mixdesk.library.schema import Chunk, Track

CHUNK_ID_ROLE = Qt.ItemDataRole.UserRole + 1
TRACK_ID_ROLE = Qt.ItemDataRole.UserRole + 2
STRIP_ROLE = Qt.ItemDataRole.UserRole + 3


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    numeric: bool = False


BASE_COLUMNS = (
    Column("track", "Track"),
    Column("index", "#", True),
    Column("start", "Start", True),
    Column("length", "Length", True),
    Column("wave", "Waveform"),
)
BPM_COLUMN = Column("bpm", "BPM", True)
KEY_COLUMN = Column("key", "Key")
DESCRIPTOR_COLUMNS = (BPM_COLUMN, KEY_COLUMN)
GENRE_COLUMN = Column("genre", "Genre")


def format_time(ms: float) -> str:
    seconds = ms / 1000.0
    return f"{int(seconds // 60)}:{seconds % 60:04.1f}"


def _descriptor_lookup(project: Project, kind: str) -> dict[tuple[int, int | None], dict]:
    try:
        return project.analysis(kind) or {}
    except Exception:  # noqa: BLE001 - an absent or unreadable analysis only hides columns
        return {}


def _tempi_and_keys(project: Project, chunks: list[Chunk]) -> tuple[np.ndarray, list[str]]:
    """Each chunk's tempo and Camelot key as the sequencer reads them (the beat grid's tempo where it is
    trusted, else the analysis', a chunk inheriting what it lacks from its track)."""
    try:
        return chunk_tempi_and_keys(project, chunks)
    except Exception:  # noqa: BLE001 - unreadable grids or analysis only leave the columns empty
        return np.full(len(chunks), np.nan), [""] * len(chunks)


def _top_tag(doc: dict | None) -> str:
    tags: dict[str, float] = (doc or {}).get("tags") or {}
    return max(tags, key=lambda tag: tags[tag]) if tags else ""


class PoolModel(QAbstractTableModel):
    def __init__(self, thumbnails: ThumbnailCache | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.thumbnails = thumbnails
        self.columns: tuple[Column, ...] = BASE_COLUMNS
        self._empty()

    def _empty(self) -> None:
        self.chunk_ids = np.zeros(0, dtype=np.int64)
        self.track_ids = np.zeros(0, dtype=np.int64)
        self.index_in_track = np.zeros(0, dtype=np.int64)
        self.start_ms = np.zeros(0, dtype=np.float64)
        self.length_ms = np.zeros(0, dtype=np.float64)
        self.bpm = np.zeros(0, dtype=np.float64)
        self.track_names: list[str] = []
        self.keys: list[str] = []
        self.genres: list[str] = []
        self.search_text: list[str] = []

    def load(self, project: Project | None) -> None:
        """Rebuild from the project in one reset (one query for chunks, one per analysis kind)."""
        self.beginResetModel()
        self._empty()
        if project is not None:
            self._fill(project)
        self.endResetModel()

    def _fill(self, project: Project) -> None:
        tracks = {t.id: t for t in project.tracks()}
        chunks = project.chunks()
        descriptors = _descriptor_lookup(project, "descriptors")
        tags = _descriptor_lookup(project, "tags")
        self.chunk_ids = np.array([c.id for c in chunks], dtype=np.int64)
        self.track_ids = np.array([c.track_id for c in chunks], dtype=np.int64)
        self.index_in_track = np.array([c.index for c in chunks], dtype=np.int64)
        self.start_ms = np.array([c.start_ms for c in chunks], dtype=np.float64)
        self.length_ms = np.array([c.end_ms - c.start_ms for c in chunks], dtype=np.float64)
        names = {tid: (t.title or _stem(t.path)) for tid, t in tracks.items()}
        self.track_names = [names.get(c.track_id, "?") for c in chunks]
        # What the sequencer reads: the beat grid exists right after import, the analysis fills in the rest.
        bpm, self.keys = _tempi_and_keys(project, chunks)
        self.bpm = np.asarray(bpm, dtype=np.float64)
        self.genres = [
            _genre(tracks.get(c.track_id), tags.get((c.track_id, c.id)) or tags.get((c.track_id, None))) for c in chunks
        ]
        has_bpm = bool(descriptors) or bool(np.isfinite(self.bpm).any())
        self.columns = (
            BASE_COLUMNS
            + ((BPM_COLUMN,) if has_bpm else ())
            + ((KEY_COLUMN,) if descriptors else ())
            + ((GENRE_COLUMN,) if tags or any(self.genres) else ())
        )
        self.search_text = [f"{n} {k} {g}".lower() for n, k, g in zip(self.track_names, self.keys, self.genres)]

    # Qt model interface -------------------------------------------------------------------------
    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: N802 - Qt override
        return 0 if parent.isValid() else len(self.chunk_ids)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: N802 - Qt override
        return 0 if parent.isValid() else len(self.columns)

    def headerData(  # noqa: N802 - Qt override
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.columns[section].title
        return None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        row, key = index.row(), self.columns[index.column()].key
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(row, key)
        if role == CHUNK_ID_ROLE:
            return int(self.chunk_ids[row])
        if role == TRACK_ID_ROLE:
            return int(self.track_ids[row])
        if role == STRIP_ROLE and self.thumbnails is not None:
            return self.thumbnails.strip(int(self.chunk_ids[row]), int(self.track_ids[row]))
        if role == Qt.ItemDataRole.TextAlignmentRole and self.columns[index.column()].numeric:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def _display(self, row: int, key: str) -> str | None:
        if key == "track":
            return self.track_names[row]
        if key == "index":
            return str(int(self.index_in_track[row]) + 1)
        if key == "start":
            return format_time(self.start_ms[row])
        if key == "length":
            return f"{self.length_ms[row] / 1000.0:.1f} s"
        if key == "bpm":
            return "" if np.isnan(self.bpm[row]) else f"{self.bpm[row]:.1f}"
        if key == "key":
            return self.keys[row]
        if key == "genre":
            return self.genres[row]
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        primary = self._sort_key(self.columns[column].key)
        if primary is None:
            return
        # Rank the primary key so descending order can negate it; ties stay in track and chunk order.
        _, ranks = np.unique(primary, return_inverse=True)
        if order == Qt.SortOrder.DescendingOrder:
            ranks = -ranks
        order_rows = np.lexsort((self.index_in_track, self.track_ids, ranks.ravel()))
        self.layoutAboutToBeChanged.emit()
        self._permute(order_rows)
        self.layoutChanged.emit()

    def _sort_key(self, key: str) -> np.ndarray | None:
        by_text = {"track": self.track_names, "key": self.keys, "genre": self.genres}
        if key in by_text:
            return np.array([str(v).lower() for v in by_text[key]], dtype=str)
        numeric = {
            "index": self.index_in_track,
            "start": self.start_ms,
            "length": self.length_ms,
            "bpm": np.nan_to_num(self.bpm, nan=-1.0),
        }
        return numeric.get(key)

    def _permute(self, rows: np.ndarray) -> None:
        old = self.persistentIndexList()
        position = np.empty_like(rows)
        position[rows] = np.arange(len(rows))
        for name in ("chunk_ids", "track_ids", "index_in_track", "start_ms", "length_ms", "bpm"):
            setattr(self, name, getattr(self, name)[rows])
        for name in ("track_names", "keys", "genres", "search_text"):
            values = getattr(self, name)
            setattr(self, name, [values[i] for i in rows])
        self.changePersistentIndexList(old, [self.index(int(position[i.row()]), i.column()) for i in old])

    def row_of_chunk(self, chunk_id: int) -> int:
        hits = np.flatnonzero(self.chunk_ids == chunk_id)
        return int(hits[0]) if hits.size else -1

    def column_of(self, key: str) -> int:
        for i, column in enumerate(self.columns):
            if column.key == key:
                return i
        return -1

    def strips_arrived(self, chunk_ids: list[int]) -> None:
        column = self.column_of("wave")
        if len(self.chunk_ids) and column >= 0:
            self.dataChanged.emit(self.index(0, column), self.index(len(self.chunk_ids) - 1, column), [STRIP_ROLE])


def _stem(path: str) -> str:
    name = str(path).replace("\\", "/").rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[0]


def _genre(track: Track | None, tag_doc: dict | None) -> str:
    if track is not None and track.genre:
        return track.genre
    top = _top_tag(tag_doc)
    if top:
        return top
    return track.folder if track is not None else ""


_TERM = re.compile(r"^(bpm|len|length|start|#)\s*(<=|>=|<|>|=)\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)$")


def parse_filter(text: str) -> tuple[list[str], list[tuple[str, str, float]]]:
    """Words that must all appear, and numeric terms like ``bpm>120`` (lengths in seconds)."""
    words, terms = [], []
    for token in text.lower().split():
        match = _TERM.match(token)
        if match:
            terms.append((match.group(1), match.group(2), float(match.group(3))))
        elif token.startswith("key:") or token.startswith("genre:"):
            words.append(token.split(":", 1)[1])
        else:
            words.append(token)
    return words, terms


class PoolFilterProxy(QSortFilterProxyModel):
    """Filters with a row mask computed once per filter change; sorting is delegated to the source."""

    def __init__(self, model: PoolModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._mask: np.ndarray | None = None
        self.text = ""
        self.pool = model
        self.setSourceModel(model)

    def set_filter_text(self, text: str) -> None:
        self.text = text
        self._recompute()

    def _recompute(self) -> None:
        self.beginFilterChange()
        self._mask = self._compute_mask(self.text)
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def _compute_mask(self, text: str) -> np.ndarray | None:
        model = self.pool
        words, terms = parse_filter(text)
        if not words and not terms:
            return None
        mask = np.ones(model.rowCount(), dtype=bool)
        if words:
            mask &= np.array([all(w in s for w in words) for s in model.search_text], dtype=bool)
        values = {
            "bpm": model.bpm,
            "len": model.length_ms / 1000.0,
            "length": model.length_ms / 1000.0,
            "start": model.start_ms / 1000.0,
            "#": model.index_in_track + 1.0,
        }
        compare: dict[str, Callable[[np.ndarray, float], np.ndarray]] = {
            "<": np.less,
            ">": np.greater,
            "<=": np.less_equal,
            ">=": np.greater_equal,
            "=": np.isclose,
        }
        for name, op, number in terms:
            with np.errstate(invalid="ignore"):
                mask &= compare[op](values[name], number)
        return mask

    def filterAcceptsRow(self, source_row: int, source_parent: AnyIndex) -> bool:  # noqa: N802 - Qt override
        mask = self._mask
        if mask is None or source_row >= len(mask):
            return True
        return bool(mask[source_row])

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self.pool.sort(column, order)
        self._recompute()
