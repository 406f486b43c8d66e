"""File dialogs of the desk, kept apart so tests can replace them with plain functions."""

from __future__ import annotations

from PySide6.QtWidgets import QFileDialog, QWidget

from mixdesk.core.audio import AUDIO_EXTENSIONS

PROJECT_FILTER = "mixdesk projects (*.mixdesk);;All files (*)"


def ask_new_project(parent: QWidget, title: str = "New project") -> str:
    path, _ = QFileDialog.getSaveFileName(parent, title, "", PROJECT_FILTER)
    return path


def ask_open_project(parent: QWidget) -> str:
    path, _ = QFileDialog.getOpenFileName(parent, "Open project", "", PROJECT_FILTER)
    return path


def ask_import_paths(parent: QWidget, folders: bool) -> list[str]:
    if folders:
        folder = QFileDialog.getExistingDirectory(parent, "Import a folder of music")
        return [folder] if folder else []
    patterns = " ".join(f"*{ext}" for ext in sorted(AUDIO_EXTENSIONS))
    paths, _ = QFileDialog.getOpenFileNames(parent, "Import audio files", "", f"Audio ({patterns});;All files (*)")
    return paths
