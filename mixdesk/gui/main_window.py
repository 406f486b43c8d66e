"""The desk's main window: every panel in a dock, the menus, the job status line and drag-and-drop import."""

from __future__ import annotations

import importlib
import logging
import sys
from pathlib import Path
from typing import NamedTuple

import shiboken6
from PySide6.QtCore import QByteArray, Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QShowEvent
from PySide6.QtWidgets import QDockWidget, QFrame, QMainWindow, QScrollArea, QSizePolicy, QWidget

from mixdesk.gui.desk_layout import CENTRE_PANELS, ColumnKeeper
from mixdesk.gui.export_dialog import ExportDialog
from mixdesk.gui.jobs import Job
from mixdesk.gui.menus import build_menus
from mixdesk.gui.playlist_view import PlaylistView
from mixdesk.gui.pool_view import PoolView
from mixdesk.gui.project_actions import ProjectActions
from mixdesk.gui.silence_panel import SilencePanel
from mixdesk.gui.state import DeskState
from mixdesk.gui.status_line import JobStatus
from mixdesk.gui.suggestions_view import SuggestionsView
from mixdesk.gui.track_view import TrackView
from mixdesk.gui.training_panel import TrainingPanel
from mixdesk.gui.transition_view import TransitionView
from mixdesk.gui.transport import Transport
from mixdesk.gui.welcome import WelcomePage
from mixdesk.progress import ProgressFn, StopFn, check_stop

log = logging.getLogger(__name__)


class PanelSpec(NamedTuple):
    name: str  # the dock's and the panel's objectName
    title: str
    area: Qt.DockWidgetArea


LEFT, TOP = Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.TopDockWidgetArea
RIGHT, BOTTOM = Qt.DockWidgetArea.RightDockWidgetArea, Qt.DockWidgetArea.BottomDockWidgetArea
PANELS = (
    PanelSpec("poolView", "Pool", LEFT),
    PanelSpec("silencePanel", "Silence", LEFT),
    PanelSpec("trainingPanel", "Training", LEFT),
    PanelSpec("trackView", "Track", TOP),
    PanelSpec("transitionView", "Transition", TOP),
    PanelSpec("playlistView", "Playlist", RIGHT),
    PanelSpec("suggestionsView", "Suggestions", RIGHT),
    PanelSpec("transport", "Transport", BOTTOM),
)
PREFETCH_DELAY_MS = 300
PREFETCH_MODULES = ("torch", "mixdesk.ml.pipeline", "mixdesk.ml.evaluation", "mixdesk.ml.ranking")
PANEL_NAMES_SHOWN_ALWAYS = ("poolView", "trackView", "transport")
GEOMETRY_KEY = "window/geometry"
STATE_KEY = "window/state"
# 2: the waveform column is no longer in a scroll area; layouts saved before squeezed it.
LAYOUT_VERSION = 2


def warm_up_optimiser() -> None:
    """torch imports its compiler stack (sympy and more) when the first optimiser is built; do it now."""
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.optim.Adam([torch.zeros(1, requires_grad=True)], lr=1e-3)


def scrollable(panel: QWidget) -> QScrollArea:
    """Panels keep their natural minimum size inside a scroll area, so a small screen still fits the desk."""
    area = QScrollArea()
    area.setObjectName(f"{panel.objectName()}Scroll")
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setWidget(panel)
    # Preferred, not a scroll area's usual Expanding: the side columns keep their width as the window grows.
    area.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)
    return area


class MainWindow(QMainWindow):
    # Set to None (tests do) to build lazy panels only when first shown or asked for.
    prefetch_delay_ms: int | None = PREFETCH_DELAY_MS

    def __init__(self, state: DeskState | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("mixdeskWindow")
        self.setWindowTitle("mixdesk")
        self.state = state if state is not None else DeskState(parent=self)
        self.actions_ = ProjectActions(self.state, self)
        # Every panel is built here, so one that cannot start stops the window from opening with its error.
        try:
            self.pool_view = PoolView(self.state, self)
            self.silence_panel = SilencePanel(self.state, self)
            self.track_view = TrackView(self.state, self)
            self.transition_view = TransitionView(self.state, self)
            self.playlist_view = PlaylistView(self.state, self)
            self.suggestions_view = SuggestionsView(self.state, self)
            self.transport = Transport(self.state, self)
        except BaseException:
            # The panels built so far are wired to the shared state; left to the garbage collector, the
            # half-built window would be destroyed after QApplication at exit and take the process down.
            shiboken6.delete(self)
            raise
        # Built on first use: the training panel needs torch, whose import would double the time to first window.
        self._training_panel: TrainingPanel | None = None
        self.panels: dict[str, QWidget | None] = {
            "poolView": self.pool_view,
            "silencePanel": self.silence_panel,
            "trainingPanel": None,
            "trackView": self.track_view,
            "transitionView": self.transition_view,
            "playlistView": self.playlist_view,
            "suggestionsView": self.suggestions_view,
            "transport": self.transport,
        }
        self._sized = False
        self._restored = False
        self._prefetched = False
        self._welcome_layout: QByteArray | None = None
        self.docks: dict[str, QDockWidget] = {}
        self.setAcceptDrops(True)
        self.setDockNestingEnabled(True)
        self.setCorner(Qt.Corner.TopLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.setCorner(Qt.Corner.TopRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.welcome = WelcomePage(self)
        self.setCentralWidget(self.welcome)
        self._build_docks()
        self.columns = ColumnKeeper(self, self.docks, self.panels, lambda: self._welcome_layout is None)
        self.columns.fix_centre_minimum()
        self.job_status = JobStatus(self.state, self.statusBar(), self)
        self.statusBar().addPermanentWidget(self.job_status)
        self.recent_menu = build_menus(self)
        self._connect()
        self._default_state = self.saveState(LAYOUT_VERSION)
        self.resize(1600, 960)
        self.restore_settings()
        self._project_changed()

    # ----- panels
    def _build_docks(self) -> None:
        for name, title, area in PANELS:
            dock = QDockWidget(title, self)
            dock.setObjectName(name)
            panel = self.panels[name]
            if panel is None:  # a lazy panel: an empty scroll area until it is built
                dock.setWidget(scrollable(QWidget()))
                dock.visibilityChanged.connect(lambda visible, n=name: visible and self.panel(n))
            elif name in CENTRE_PANELS:
                # Only expanding widgets take a dock area's share of a growing window: these do.
                panel.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
                dock.setWidget(panel)
            else:
                dock.setWidget(panel if name == "transport" else scrollable(panel))
            dock.setFeatures(
                QDockWidget.DockWidgetFeature.DockWidgetMovable
                | QDockWidget.DockWidgetFeature.DockWidgetFloatable
                | QDockWidget.DockWidgetFeature.DockWidgetClosable
            )
            self.addDockWidget(area, dock)
            self.docks[name] = dock
        self.tabifyDockWidget(self.docks["silencePanel"], self.docks["trainingPanel"])
        self.docks["silencePanel"].raise_()
        self.splitDockWidget(self.docks["trackView"], self.docks["transitionView"], Qt.Orientation.Vertical)
        self.docks["transport"].setTitleBarWidget(QWidget())

    def apply_default_sizes(self) -> None:
        """Share the window between the columns; only meaningful once the window has its real size."""
        self.columns.apply_defaults()

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        self._size_docks_once()
        if not self._prefetched and self.prefetch_delay_ms is not None:
            self._prefetched = True
            QTimer.singleShot(self.prefetch_delay_ms, self._prefetch_lazy_panels)

    def _size_docks_once(self) -> None:
        # Default proportions need visible docks in a shown window; a restored layout keeps its own.
        if self._sized or self._welcome_layout is not None or not self.isVisible():
            return
        self._sized = True
        QTimer.singleShot(0, self.columns.keep_restored if self._restored else self.apply_default_sizes)

    def resize_for_screenshot(self, width: int, height: int) -> None:
        self.resize(width, height)
        QTimer.singleShot(0, self.apply_default_sizes)

    def panel(self, name: str) -> QWidget:
        """The panel called ``name``; a panel built on first use is built now."""
        if name == "trainingPanel":
            return self.training_panel()
        panel = self.panels[name]
        assert panel is not None, f"{name} is built with the window"
        return panel

    def training_panel(self) -> TrainingPanel:
        """The training panel, built on first use (it brings torch along)."""
        if self._training_panel is None:
            panel = TrainingPanel(self.state)
            area = self.docks["trainingPanel"].widget()
            assert isinstance(area, QScrollArea)
            area.setWidget(panel)
            self._training_panel = panel
            self.panels["trainingPanel"] = panel
        return self._training_panel

    def _prefetch_lazy_panels(self) -> None:
        """Load the heavy libraries of lazy panels in a job once the window is up, then build them."""
        if not self.isVisible():
            return  # closed before the delay ran out: a job started now would outlive the window

        def load(on_progress: ProgressFn, should_stop: StopFn) -> None:
            # Loading a compiled library holds Python's global lock for up to a few hundred ms; paying
            # that once now keeps it out of the first training run, where the curves should stay live.
            for name in PREFETCH_MODULES:
                check_stop(should_stop)
                try:
                    importlib.import_module(name)
                except ImportError:
                    log.info("cannot preload %s", name)  # the panel explains what is missing
            warm_up_optimiser()

        job = self.state.jobs.run("Loading the training libraries", load)
        job.finished.connect(self._build_lazy_panels)
        job.failed.connect(self._build_lazy_panels)

    def _build_lazy_panels(self, *_args: object) -> None:
        self.training_panel()

    def _connect(self) -> None:
        state = self.state
        self.pool_view.play_requested.connect(self.transport.play_chunk)
        self.silence_panel.threshold_shown.connect(self.track_view.set_threshold)
        state.project_changed.connect(self._project_changed)
        self.actions_.recent_changed.connect(self._recent_changed)
        self.welcome.demo_requested.connect(self.open_demo)
        self.welcome.new_requested.connect(self.new_project_dialog)
        self.welcome.open_requested.connect(self.open_project_dialog)
        self.welcome.recent_requested.connect(self.actions_.open_path)
        self._recent_changed()

    def _project_changed(self) -> None:
        project = self.state.project
        self._show_welcome(project is None)
        name = Path(project.path).name if project is not None else "no project"
        self.setWindowTitle(f"{name} — mixdesk")

    def _show_welcome(self, show: bool) -> None:
        """Without a project the welcome page has the window to itself; the panel layout comes back after."""
        if show and self._welcome_layout is None:
            self._welcome_layout = self.saveState(LAYOUT_VERSION)
            for dock in self.docks.values():
                dock.hide()
        elif not show and self._welcome_layout is not None:
            layout, self._welcome_layout = self._welcome_layout, None
            # Hidden first: with the page's minimum height counted, restoring the docks grows the window.
            self.welcome.hide()
            self.restoreState(layout, LAYOUT_VERSION)
            for name in PANEL_NAMES_SHOWN_ALWAYS:
                self.docks[name].show()
            self._size_docks_once()
            self.columns.docks_shown()
        self.welcome.setVisible(show)

    def _recent_changed(self) -> None:
        recent = self.actions_.recent()
        self.welcome.set_recent(recent)
        self.recent_menu.clear()
        for path in recent:
            action = QAction(path, self.recent_menu)
            action.triggered.connect(lambda _checked=False, p=path: self.actions_.open_path(p))
            self.recent_menu.addAction(action)
        self.recent_menu.setEnabled(bool(recent))

    def open_demo(self) -> Job:
        """Open the demo project and build its mix, with the progress of both on show."""
        job = self.actions_.open_demo()
        self.welcome.follow_demo(job)
        # Connected after ProjectActions' own handler, so the project is open when this runs.
        job.finished.connect(lambda _project: self._build_first_mix())
        return job

    def _build_first_mix(self) -> None:
        """A project without a saved playlist gets one generated, as the demo promises."""
        if self.state.project is not None and self.state.playlist is None:
            self.playlist_view.generate()

    # ----- file dialogs (thin: the work is in ProjectActions)
    def new_project_dialog(self) -> None:
        from mixdesk.gui.dialogs import ask_new_project

        path = ask_new_project(self)
        if path:
            self.actions_.open_path(path, create=True)

    def open_project_dialog(self) -> None:
        from mixdesk.gui.dialogs import ask_open_project

        path = ask_open_project(self)
        if path:
            self.actions_.open_path(path)

    def save_as_dialog(self) -> None:
        from mixdesk.gui.dialogs import ask_new_project

        if self.state.project is None:
            return
        path = ask_new_project(self, title="Save project as")
        if path:
            self.actions_.save_as(path)

    def import_dialog(self, folders: bool = False) -> None:
        from mixdesk.gui.dialogs import ask_import_paths

        paths = ask_import_paths(self, folders)
        if paths:
            self.actions_.import_paths(paths)

    def export_dialog(self) -> None:
        if self.state.playlist is None:
            self.state.show_status("Generate a playlist first: there is nothing to export yet.")
            return
        dialog = ExportDialog(self.state, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()

    # ----- drag and drop
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt override
        if any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt override
        paths = [url.toLocalFile() for url in event.mimeData().urls() if url.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.actions_.import_paths(paths)

    # ----- settings
    def restore_settings(self) -> None:
        settings = self.state.settings
        geometry = settings.value(GEOMETRY_KEY)
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        layout = settings.value(STATE_KEY)
        if isinstance(layout, QByteArray) and not layout.isEmpty():
            self._restored = self.restoreState(layout, LAYOUT_VERSION)

    def save_settings(self) -> None:
        settings = self.state.settings
        settings.setValue(GEOMETRY_KEY, self.saveGeometry())
        layout = self._welcome_layout if self._welcome_layout is not None else self.saveState(LAYOUT_VERSION)
        settings.setValue(STATE_KEY, layout)
        settings.sync()

    def reset_layout(self) -> None:
        if self._welcome_layout is not None:
            self._welcome_layout = self._default_state
            return
        self.restoreState(self._default_state, LAYOUT_VERSION)
        for dock in self.docks.values():
            dock.show()
        self.apply_default_sizes()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        self.save_settings()
        self.state.player.stop()
        self.state.jobs.shutdown(3000)
        project = self.state.project
        super().closeEvent(event)
        if project is not None and event.isAccepted():
            project.close()
