"""Writing a rendered mix to MP3, WAV or FLAC with tags, a JSON tracklist and a CUE sheet.

Audio goes to a temporary file beside the target and is renamed onto it only once it is complete and
tagged, so a cancelled, failed or killed export never leaves a partial file under the target name.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import soundfile as sf

from mixdesk.library.project import Project
from mixdesk.mix.config import ExportConfig
from mixdesk.mix.encoders import open_encoder
from mixdesk.mix.playlist import Playlist
from mixdesk.mix.rendering import Renderer
from mixdesk.mix.sources import MixSource
from mixdesk.mix.tracklist import build_tracklist, clean_text, source_chunks, write_cue, write_json
from mixdesk.progress import ProgressFn, StopFn, atomic_path, check_stop, remove_stale_parts


@dataclass(frozen=True)
class ExportResult:
    path: Path
    format: str
    duration_s: float
    items: int
    peak: float
    mean_score: float | None
    tracklist_path: Path | None
    cue_path: Path | None
    tracklist: dict
    encoder: str


def write_tags(path: Path, config: ExportConfig) -> None:
    """Title, artist and comment in the tag dialect of each format (ID3 for MP3 and WAV, Vorbis for FLAC).

    Control characters are dropped from the text: players show tags on one line, and some tools copy
    them into playlists and CUE sheets line by line.
    """
    title, artist, comment = clean_text(config.title), clean_text(config.artist), clean_text(config.comment)
    if config.format == "flac":
        from mutagen.flac import FLAC

        audio = FLAC(str(path))
        audio["title"], audio["artist"] = title, artist
        if comment:
            audio["comment"] = comment
        audio.save()
        return
    from mutagen.id3 import COMM, ID3, TIT2, TPE1

    tags = ID3()
    tags.add(TIT2(encoding=3, text=title))
    tags.add(TPE1(encoding=3, text=artist))
    if comment:
        tags.add(COMM(encoding=3, lang="eng", desc="", text=comment))
    if config.format == "wav":
        from mutagen.wave import WAVE

        wave = WAVE(str(path))
        wave.add_tags()
        # mutagen declares FileType.tags as None; add_tags() has just set an ID3 (its RIFF "id3 " chunk)
        wave_tags = cast(ID3, wave.tags)
        for frame in tags.values():
            wave_tags.add(frame)
        wave.save()
    else:
        tags.save(str(path), v2_version=3)


def export_mix(
    source: MixSource,
    playlist: Playlist,
    out_path: str | Path,
    config: ExportConfig | None = None,
    tracklist_path: str | Path | None = None,
    cue_path: str | Path | None = None,
    on_progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
) -> ExportResult:
    """Render ``playlist`` from ``source`` (a Project, an AudioSource, or None to read the files) to
    ``out_path``; the tracklist and CUE sheet default to the same name with .json and .cue."""
    config = config or ExportConfig()
    out_path = Path(out_path)
    if not playlist.items:
        raise ValueError("the playlist is empty: nothing to export")
    renderer = Renderer(source, playlist, config.render)
    # A killed earlier export to these names left its hidden temp files; they would stay there forever.
    for target in (out_path, tracklist_path or out_path.with_suffix(".json"), cue_path or out_path.with_suffix(".cue")):
        remove_stale_parts(Path(target).parent, Path(target).name)
    with atomic_path(out_path) as tmp:
        encoder = open_encoder(tmp, config)
        try:
            for block in renderer.blocks(on_progress, should_stop):
                encoder.write(block)
        except BaseException:
            encoder.abort()
            raise
        encoder.close()
        check_stop(should_stop)
        write_tags(tmp, config)
    tracklist = build_tracklist(
        renderer.placements,
        title=config.title,
        artist=config.artist,
        audio_path=out_path,
        sample_rate=config.render.sample_rate,
        duration_ms=renderer.duration_s * 1000,
        sources=_sources(source, playlist),
    )
    json_path = cue = None
    if config.write_tracklist or tracklist_path is not None:
        json_path = write_json(tracklist_path or out_path.with_suffix(".json"), tracklist)
    if config.write_cue or cue_path is not None:
        cue = write_cue(cue_path or out_path.with_suffix(".cue"), tracklist, config.format)
    return ExportResult(
        path=out_path,
        format=config.format,
        duration_s=renderer.duration_s,
        items=len(playlist.items),
        peak=renderer.peak,
        mean_score=playlist.mean_score,
        tracklist_path=json_path,
        cue_path=cue,
        tracklist=tracklist,
        encoder=encoder.name,
    )


def _sources(source: MixSource, playlist: Playlist) -> dict[str, dict[str, Any]]:
    """Chunk ranges per source track when the source is a project; other sources have none to offer."""
    if isinstance(source, Project):
        return source_chunks(source, (it.track_id for it in playlist.items))
    return {}


def render_to_file(
    source: MixSource,
    playlist: Playlist,
    out_path: str | Path,
    config: ExportConfig | None = None,
    on_progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
) -> ExportResult:
    """Audio only, without tracklist or CUE sheet."""
    config = (config or ExportConfig()).with_(write_tracklist=False, write_cue=False)
    return export_mix(source, playlist, out_path, config, on_progress=on_progress, should_stop=should_stop)


def decoded_frames(path: str | Path) -> tuple[int, int]:
    """(frames, sample rate) of an exported file as a decoder sees it."""
    info = sf.info(str(path))
    return int(info.frames), int(info.samplerate)
