"""Opening, creating, copying and filling projects from the desk; slow steps run as jobs.

A project is one SQLite file whose every change is already committed, so "save" has nothing to do;
"Save As" writes a consistent copy beside its cache folder (:meth:`Project.save_as`) and opens the copy.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from PySide6.QtCore import QObject, Signal

from mixdesk.config import LIBRARY_CHUNKING
from mixdesk.gui.jobs import Job, user_message
from mixdesk.gui.state import DeskState

if TYPE_CHECKING:
    from mixdesk.library.importer import ImportReport
    from mixdesk.library.project import Project

log = logging.getLogger(__name__)

PROJECT_SUFFIX = ".mixdesk"
RECENT_KEY = "recentProjects"
RECENT_MAX = 8


def with_suffix(path: str | Path) -> Path:
    path = Path(path)
    return path if path.suffix == PROJECT_SUFFIX else path.with_name(path.name + PROJECT_SUFFIX)


class ProjectActions(QObject):
    """What the File menu, the welcome page and drag-and-drop do to the desk's state."""

    recent_changed = Signal()

    def __init__(self, state: DeskState, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state = state

    # ----- recent projects
    def recent(self) -> list[str]:
        value = self.state.settings.value(RECENT_KEY, [])
        # An ini file gives back a one-entry list as a plain string.
        paths = [value] if isinstance(value, str) else [str(p) for p in value] if isinstance(value, list) else []
        return [p for p in paths if Path(p).is_file()]

    def _remember(self, path: Path) -> None:
        paths = [str(path)] + [p for p in self.recent() if p != str(path)]
        self.state.settings.setValue(RECENT_KEY, paths[:RECENT_MAX])
        self.recent_changed.emit()

    # ----- opening
    def open_path(self, path: str | Path, create: bool = False) -> bool:
        from mixdesk.library.project import Project

        path = Path(path)
        if path.is_dir():
            self.state.show_status(f"{path} is a folder; a project is a file such as {path / 'mix.mixdesk'}")
            return False
        if not create and not path.is_file():
            self.state.show_status(f"{path}: no such project")
            return False
        try:
            project = Project.open(path)
        except (OSError, ValueError) as exc:
            self.state.status.emit(user_message(exc))
            return False
        self.set_project(project)
        self.state.show_status(f"Opened {path.name}: {len(project.tracks())} tracks")
        return True

    def set_project(self, project: Project | None) -> None:
        old = self.state.project
        if old is not None and old is not project:
            self.state.player.stop()
            self.state.jobs.shutdown(3000)
        self.state.set_project(project)
        if old is not None and old is not project:
            old.close()
        if project is not None:
            self._remember(Path(project.path))
            self.track_missing_beats(project)

    def track_missing_beats(self, project: Project) -> Job | None:
        """A project made before beat grids: track every track's beats and cut beat-driven tracks on bars,
        as an import does now; runs as a job, so the desk stays usable meanwhile."""
        if project.read_only:
            return None
        have = project.beat_grids()
        missing = [t.id for t in project.tracks() if t.id not in have]
        if not missing:
            return None
        self.state.show_status(f"{len(missing)} tracks have no beat grid yet: tracking their beats…")
        job = self.state.jobs.run(
            "Tracking beats",
            lambda on_progress, should_stop: project.refresh_chunking(LIBRARY_CHUNKING, on_progress, should_stop),
        )
        job.finished.connect(lambda recut: self._beats_tracked(project, len(missing), recut))
        job.cancelled.connect(lambda: self._beats_tracked(project, None, None))
        job.failed.connect(lambda message: self.state.show_status(f"Tracking beats failed: {message}"))
        return job

    def _beats_tracked(self, project: Project, tracked: int | None, recut: int | None) -> None:
        if project is not self.state.project:
            return  # another project was opened meanwhile
        self.state.notify_chunks_changed()
        if tracked is None:
            self.state.show_status("Beat tracking stopped; it goes on the next time the project opens.")
        else:
            self.state.show_status(f"Beat grids for {tracked} tracks; {recut} re-cut on bars where the beat is clear")

    def open_demo(self) -> Job:
        from mixdesk.library.demo import open_demo_project

        job = self.state.jobs.run(
            "Preparing the demo", lambda on_progress, should_stop: open_demo_project(on_progress, should_stop)
        )
        job.finished.connect(self.set_project)
        return job

    def save_as(self, target: str | Path) -> Job | None:
        project = self.state.project
        if project is None:
            return None
        target = with_suffix(target)
        if target.resolve() == Path(project.path).resolve():
            self.state.show_status("Already saved: every change is written as it happens.")
            return None
        job = self.state.jobs.run(
            "Saving a copy", lambda on_progress, should_stop: project.save_as(target, on_progress, should_stop)
        )
        job.finished.connect(self._copied)
        return job

    def _copied(self, path: Path) -> None:
        self.open_path(path)

    # ----- importing
    def import_paths(self, paths: Sequence[str | Path]) -> Job | None:
        if self.state.project is None:
            from mixdesk import paths as mixdesk_paths

            if not self.open_path(mixdesk_paths.data_dir() / f"library{PROJECT_SUFFIX}", create=True):
                return None
        project = self.state.project
        if project is None:
            return None
        names = [str(p) for p in paths]
        job = self.state.jobs.run(
            "Importing",
            lambda on_progress, should_stop: project.import_paths(names, LIBRARY_CHUNKING, on_progress, should_stop),
        )
        job.finished.connect(self._imported)
        job.cancelled.connect(self.state.notify_chunks_changed)
        return job

    def _imported(self, result: ImportReport) -> None:
        self.state.notify_chunks_changed()
        added, updated, unchanged = len(result.added), len(result.updated), len(result.unchanged)
        failed = result.failed
        text = f"Imported: {added} added, {updated} updated, {unchanged} unchanged"
        if failed:
            path, reason = failed[0]
            more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
            text += f"; {len(failed)} failed: {Path(path).name}: {reason}{more}"
        self.state.show_status(text)
