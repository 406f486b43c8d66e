"""The menu bar and its shortcuts; every action calls a method of the window or one of its panels.

The window builds its menus here and hands itself over as a :class:`MenuHost`, so this module never
imports the window.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Mapping, Protocol

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDockWidget, QMenu, QMenuBar, QMessageBox

if TYPE_CHECKING:
    from mixdesk.gui.pool_view import PoolView
    from mixdesk.gui.state import DeskState
    from mixdesk.gui.status_line import JobStatus
    from mixdesk.gui.transport import Transport

SHORTCUTS_HELP = """<table>
<tr><td>Space</td><td>play / pause the selected chunk</td></tr>
<tr><td>Shift+Space</td><td>play the mix from the selected playlist item</td></tr>
<tr><td>Ctrl+Space</td><td>stop playback</td></tr>
<tr><td>Enter, double-click</td><td>play the chunk under the cursor</td></tr>
<tr><td>Ctrl+Z / Ctrl+Shift+Z</td><td>undo / redo the last playlist edit or re-cut</td></tr>
<tr><td>Ctrl+.</td><td>stop the running job</td></tr>
<tr><td>Ctrl+F</td><td>filter the pool</td></tr>
<tr><td>Ctrl+I / Ctrl+Shift+I</td><td>import files / a folder</td></tr>
<tr><td>Ctrl+E</td><td>export the mix</td></tr>
<tr><td>Mouse wheel / drag</td><td>zoom / scroll the track view</td></tr>
</table>"""


class MenuHost(Protocol):
    """What the menus call: the desk's main window (``MainWindow``) is one."""

    @property
    def state(self) -> DeskState: ...

    @property
    def docks(self) -> Mapping[str, QDockWidget]: ...

    @property
    def pool_view(self) -> PoolView: ...

    @property
    def job_status(self) -> JobStatus: ...

    @property
    def transport(self) -> Transport: ...

    def menuBar(self) -> QMenuBar: ...  # noqa: N802 - Qt's name

    def close(self) -> bool: ...

    def reset_layout(self) -> None: ...

    def new_project_dialog(self) -> None: ...

    def open_project_dialog(self) -> None: ...

    def open_demo(self) -> object: ...

    def save_as_dialog(self) -> None: ...

    def import_dialog(self, folders: bool = False) -> None: ...

    def export_dialog(self) -> None: ...


def _add(
    menu: QMenu,
    text: str,
    slot: Callable[[], object],
    shortcut: str | QKeySequence | QKeySequence.StandardKey | None = None,
    name: str = "",
) -> QAction:
    action = QAction(text, menu)
    if shortcut is not None:
        action.setShortcut(QKeySequence(shortcut))
    if name:
        action.setObjectName(name)
    action.triggered.connect(lambda _checked=False: slot())
    menu.addAction(action)
    return action


def build_menus(window: MenuHost) -> QMenu:
    """The menu bar of ``window``; returns the Open recent menu, which the window fills."""
    bar = window.menuBar()
    parent = bar.window()  # the window itself, as the widget that message boxes belong to
    recent = _file_menu(window, bar.addMenu("&File"))
    _edit_menu(window, bar.addMenu("&Edit"))
    _playback_menu(window, bar.addMenu("&Playback"))
    view = bar.addMenu("&View")
    for dock in window.docks.values():
        view.addAction(dock.toggleViewAction())
    view.addSeparator()
    _add(view, "Filter the pool", lambda: window.pool_view.filter_box.setFocus(), QKeySequence.StandardKey.Find)
    _add(view, "Reset layout", window.reset_layout)
    jobs = bar.addMenu("&Jobs")
    _add(jobs, "Stop the running job", window.job_status.cancel_current, "Ctrl+.", "stopJob")
    help_menu = bar.addMenu("&Help")
    _add(help_menu, "Keyboard shortcuts", lambda: QMessageBox.information(parent, "Shortcuts", SHORTCUTS_HELP))
    _add(
        help_menu,
        "About mixdesk",
        lambda: QMessageBox.about(
            parent,
            "About mixdesk",
            "mixdesk: cut music into chunks, learn which chunk may follow which, and build a continuous mix.",
        ),
    )
    return recent


def _file_menu(window: MenuHost, menu: QMenu) -> QMenu:
    _add(menu, "&New project…", window.new_project_dialog, QKeySequence.StandardKey.New, "newProject")
    _add(menu, "&Open project…", window.open_project_dialog, QKeySequence.StandardKey.Open, "openProject")
    recent = menu.addMenu("Open &recent")
    _add(menu, "Open the &demo project", window.open_demo, name="openDemo")
    menu.addSeparator()
    _add(
        menu,
        "&Save",
        lambda: window.state.show_status("Saved: every change is written as it happens."),
        QKeySequence.StandardKey.Save,
    )
    _add(menu, "Save project &as…", window.save_as_dialog, QKeySequence.StandardKey.SaveAs, "saveAs")
    menu.addSeparator()
    _add(menu, "&Import files…", window.import_dialog, "Ctrl+I", "importFiles")
    _add(menu, "Import &folder…", lambda: window.import_dialog(folders=True), "Ctrl+Shift+I", "importFolder")
    _add(menu, "&Export mix…", window.export_dialog, "Ctrl+E", "exportMix")
    menu.addSeparator()
    _add(menu, "&Quit", window.close, QKeySequence.StandardKey.Quit)
    return recent


def _edit_menu(window: MenuHost, menu: QMenu) -> None:
    """Undo and Redo name the step they act on ("Undo delete item 3") and are greyed out without one."""
    stack = window.state.undo_stack
    undo = stack.createUndoAction(menu, "&Undo")
    undo.setObjectName("undo")
    undo.setShortcut(QKeySequence.StandardKey.Undo)
    redo = stack.createRedoAction(menu, "&Redo")
    redo.setObjectName("redo")
    # Ctrl+Shift+Z everywhere, and the platform's own redo key where that differs (Ctrl+Y on Windows).
    keys = [QKeySequence("Ctrl+Shift+Z")] + QKeySequence.keyBindings(QKeySequence.StandardKey.Redo)
    redo.setShortcuts(list(dict.fromkeys(keys)))
    menu.addAction(undo)
    menu.addAction(redo)


def _playback_menu(window: MenuHost, menu: QMenu) -> None:
    transport = window.transport
    _add(menu, "Play / pause", transport.play_pause, "Space", "playPause")
    _add(menu, "Play the mix from the selected item", transport.play_mix, "Shift+Space", "playMix")
    _add(menu, "Stop", transport.stop, "Ctrl+Space", "stopPlayback")
