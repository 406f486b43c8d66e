"""File names that look like ffmpeg protocol URLs are opened as local files, never as network addresses."""

from __future__ import annotations

import json
import socket
import subprocess
import threading
from pathlib import Path

import numpy as np
import pytest

from mixdesk.cli import main


class _Listener:
    """A TCP socket on 127.0.0.1 that counts (and at once closes) connections, so a client never waits."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.05)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()


@pytest.fixture
def listener():
    server = _Listener()
    yield server
    server.close()


def _ffmpeg() -> str:
    imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg")
    return imageio_ffmpeg.get_ffmpeg_exe()


def _m4a(path: Path) -> Path:
    subprocess.run(
        [
            _ffmpeg(),
            "-hide_banner",
            "-nostdin",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:duration=3",
            "-c:a",
            "aac",
            "-f",
            "mp4",
            str(path.resolve()),
        ],
        check=True,
        timeout=60,
    )
    return path


def test_info_chunk_and_analyze_open_a_url_like_name_as_a_local_file(tmp_path, monkeypatch, listener, capsys):
    monkeypatch.chdir(tmp_path)
    name = f"tcp:127.0.0.1:{listener.port}.m4a"
    _m4a(tmp_path / "tone.m4a").rename(tmp_path / name)

    assert main(["info", name, "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["duration_s"] == pytest.approx(3.0, abs=0.1) and record["sample_rate"] == 44100

    assert main(["chunk", name, "--mode", "fixed", "--length", "1", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) >= 2

    assert main(["analyze", name, "--no-tags", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["duration_s"] == pytest.approx(3.0, abs=0.1)
    assert listener.connections == 0


def test_mp3_encoder_writes_to_a_url_like_folder_locally(tmp_path, monkeypatch, listener):
    from mixdesk.mix.config import ExportConfig
    from mixdesk.mix.encoders import FfmpegMp3Encoder

    monkeypatch.chdir(tmp_path)
    folder = Path(f"tcp:127.0.0.1:{listener.port}")
    folder.mkdir()
    config = ExportConfig()
    encoder = FfmpegMp3Encoder(folder / "mix.mp3", config, _ffmpeg())
    encoder.write(np.zeros((config.render.sample_rate, config.render.channels), np.float32))
    encoder.close()
    assert (tmp_path / folder / "mix.mp3").stat().st_size > 0
    assert listener.connections == 0
