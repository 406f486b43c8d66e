"""Opening, creating, copying and filling projects from the desk; slow steps run as jobs.

A project is one SQLite file whose every change is already committed, so "save" has nothing to do;
"Save As" writes a consistent copy (SQLite's backup API) beside its cache folder and opens the copy.
"""

from __future__ import annotations

import logging
import shutil
import sqlite3
from pathlib import Path
from typing import Any, Sequence

from PySide6.QtCore import QObject, Signal

from mixdesk.config import LIBRARY_CHUNKING
from mixdesk.gui.jobs import user_message
from mixdesk.progress import atomic_path, check_stop, report

log = logging.getLogger(__name__)

PROJECT_SUFFIX = ".mixdesk"
RECENT_KEY = "recentProjects"
RECENT_MAX = 8


def copy_project(source: Any, target: Path, on_progress=None, should_stop=None) -> Path:
    """A consistent copy of ``source`` (a Project) at ``target`` plus a copy of its cache folder."""
    target = Path(target)
    report(on_progress, 0, 2, "Copying database")
    with atomic_path(target) as tmp:
        src = sqlite3.connect(str(source.path))
        dst = sqlite3.connect(str(tmp))
        try:
            src.backup(dst)
        finally:
            dst.close()
            src.close()
    check_stop(should_stop)
    report(on_progress, 1, 2, "Copying cache")
    cache_target = Path(str(target) + ".cache")
    if Path(source.cache_dir).is_dir() and cache_target.resolve() != Path(source.cache_dir).resolve():
        shutil.copytree(source.cache_dir, cache_target, dirs_exist_ok=True)
    report(on_progress, 2, 2, "Copied")
    return target


def with_suffix(path: str | Path) -> Path:
    path = Path(path)
    return path if path.suffix == PROJECT_SUFFIX else path.with_name(path.name + PROJECT_SUFFIX)


class ProjectActions(QObject):
    """What the File menu, the welcome page and drag-and-drop do to the desk's state."""

    recent_changed = Signal()

    def __init__(self, state, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state = state

    # ----- recent projects
    def recent(self) -> list[str]:
        value = self.state.settings.value(RECENT_KEY, []) or []
        paths = [value] if isinstance(value, str) else list(value)
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

    def set_project(self, project: Any) -> None:
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

    def track_missing_beats(self, project: Any):
        """A project made before beat grids: track every track's beats and cut beat-driven tracks on bars,
        as an import does now; runs as a job, so the desk stays usable meanwhile."""
        if getattr(project, "read_only", False) or not hasattr(project, "beat_grids"):
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

    def _beats_tracked(self, project: Any, tracked: int | None, recut: int | None) -> None:
        if project is not self.state.project:
            return  # another project was opened meanwhile
        self.state.notify_chunks_changed()
        if tracked is None:
            self.state.show_status("Beat tracking stopped; it goes on the next time the project opens.")
        else:
            self.state.show_status(f"Beat grids for {tracked} tracks; {recut} re-cut on bars where the beat is clear")

    def open_demo(self):
        from mixdesk.library.demo import open_demo_project

        job = self.state.jobs.run(
            "Preparing the demo", lambda on_progress, should_stop: open_demo_project(on_progress, should_stop)
        )
        job.finished.connect(self.set_project)
        return job

    def save_as(self, target: str | Path):
        project = self.state.project
        if project is None:
            return None
        target = with_suffix(target)
        if target.resolve() == Path(project.path).resolve():
            self.state.show_status("Already saved: every change is written as it happens.")
            return None
        job = self.state.jobs.run(
            "Saving a copy", lambda on_progress, should_stop: copy_project(project, target, on_progress, should_stop)
        )
        job.finished.connect(self._copied)
        return job

    def _copied(self, path: Path) -> None:
        self.open_path(path)

    # ----- importing
    def import_paths(self, paths: Sequence[str | Path]):
        project = self.state.project
        if project is None:
            from mixdesk import paths as mixdesk_paths

            if not self.open_path(mixdesk_paths.data_dir() / f"library{PROJECT_SUFFIX}", create=True):
                return None
            project = self.state.project
        paths = [str(p) for p in paths]
        job = self.state.jobs.run(
            "Importing",
            lambda on_progress, should_stop: project.import_paths(paths, LIBRARY_CHUNKING, on_progress, should_stop),
        )
        job.finished.connect(self._imported)
        job.cancelled.connect(self.state.notify_chunks_changed)
        return job

    def _imported(self, result: Any) -> None:
        self.state.notify_chunks_changed()
        added, updated = len(getattr(result, "added", [])), len(getattr(result, "updated", []))
        unchanged, failed = len(getattr(result, "unchanged", [])), list(getattr(result, "failed", []))
        text = f"Imported: {added} added, {updated} updated, {unchanged} unchanged"
        if failed:
            path, reason = failed[0]
            more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
            text += f"; {len(failed)} failed: {Path(path).name}: {reason}{more}"
        self.state.show_status(text)
