"""The demo project: the synthesised demo tracks imported and chunked, ready to train and mix."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from mixdesk import paths
from mixdesk.config import LIBRARY_CHUNKING
from mixdesk.library.project import Project
from mixdesk.progress import ProgressFn, StopFn


def demo_project_path() -> Path:
    return paths.data_dir() / "demo.mixdesk"


def open_demo_project(on_progress: Optional[ProgressFn] = None, should_stop: Optional[StopFn] = None) -> Project:
    """Synthesise the demo tracks if needed and import them (incrementally) into the demo project."""
    from mixdesk.core.demo import ensure_demo_tracks

    files = ensure_demo_tracks(on_progress=on_progress, should_stop=should_stop)
    project = Project.open(demo_project_path())
    try:
        # Tracks of an older demo recipe are gone from disk; keep the pool to the current set.
        current = {str(Path(f).resolve()) for f in files}
        project.remove_tracks([t.id for t in project.tracks() if t.path not in current])
        project.import_paths(files, LIBRARY_CHUNKING, on_progress=on_progress, should_stop=should_stop)
        project.refresh_chunking(LIBRARY_CHUNKING, on_progress=on_progress, should_stop=should_stop)
    except BaseException:
        project.close()
        raise
    return project
