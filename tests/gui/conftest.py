"""Fixtures for desk tests: offscreen Qt, a settings file per test, and a fresh DeskState."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402

pytest.importorskip("PySide6")


@pytest.fixture(autouse=True)
def _no_background_preload(monkeypatch):
    """Windows in tests build lazy panels on demand instead of preloading torch in a job."""
    from mixdesk.gui.main_window import MainWindow

    monkeypatch.setattr(MainWindow, "prefetch_delay_ms", None)


@pytest.fixture
def desk_settings(tmp_path):
    from PySide6.QtCore import QSettings

    settings = QSettings(str(tmp_path / "desk.ini"), QSettings.Format.IniFormat)
    yield settings
    settings.sync()


@pytest.fixture
def desk_state(qapp, desk_settings):
    from mixdesk.gui.state import DeskState

    state = DeskState(desk_settings)
    yield state
    state.player.stop()
    state.jobs.shutdown(5000)
