"""Frozen settings for sequencing, rendering and exporting a mix."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from mixdesk.config import Settings
from mixdesk.mix.stretch import STRETCH_QUALITIES

STRATEGIES = ("greedy", "beam", "sample")
TRANSITION_KINDS = ("crossfade", "cut")
TEMPO_MODES = ("first", "fixed", "path", "native")
TEMPO_MODE_LABELS = {
    "first": "First item's tempo",
    "fixed": "Fixed tempo",
    "path": "Smooth tempo path",
    "native": "Each item's own tempo",
}
MIX_BPM_RANGE = (40.0, 240.0)
# Crossfades set in beats move in quarter beats; longer than 32 beats (8 bars) is not a crossfade any more.
CROSSFADE_BEATS_STEP = 0.25
MAX_CROSSFADE_BEATS = 32.0


@dataclass(frozen=True)
class ExportFormat:
    """One file format a mix can be exported to: how it is named, written and described."""

    name: str  # the ExportConfig.format value and the file suffix
    label: str  # what a format menu shows
    soundfile_format: str  # libsndfile's major format
    soundfile_subtype: str  # libsndfile's subtype
    cue_file_type: str  # the file type a CUE sheet's FILE line names
    lossy: bool  # lossy formats take a bitrate mode, a CBR bitrate and a VBR quality


# The one table of export formats and their bitrate settings: ExportConfig checks against it, the encoders
# and the CUE writer read it, the command line builds its choices from it, the desk its menus.
EXPORT_FORMATS: dict[str, ExportFormat] = {
    f.name: f
    for f in (
        ExportFormat("mp3", "MP3", "MP3", "MPEG_LAYER_III", "MP3", True),
        ExportFormat("wav", "WAV (16-bit PCM)", "WAV", "PCM_16", "WAVE", False),
        ExportFormat("flac", "FLAC (lossless)", "FLAC", "PCM_16", "WAVE", False),
    )
}
BITRATE_MODES = ("cbr", "vbr")
MP3_BITRATES = (128, 160, 192, 224, 256, 320)  # CBR kbps offered (ExportConfig.bitrate_kbps)
MP3_BITRATE_RANGE = (32, 320)  # what MP3 can carry at all, kbps (libsndfile maps it onto its compression level)
VBR_QUALITY_RANGE = (0.0, 9.0)  # LAME's VBR quality: 0 best and largest, 9 smallest
ENCODERS = ("auto", "ffmpeg", "soundfile")


@dataclass(frozen=True)
class SequenceConfig(Settings):
    """How a playlist is chained from a chunk pool.

    ``no_repeat_within`` forbids a chunk inside that many neighbouring items; ``max_same_track`` caps a run
    of consecutive items from one source track so that the mix recombines rather than replays its
    sources. Tempo and key limits apply only where analysis descriptors exist. When no candidate passes,
    the limits are relaxed one by one (key, tempo, stretch, same-track run, repeat window) instead of
    failing.

    The mix tempo (``tempo_mode``): ``first`` plays every item at the first item's tempo, ``fixed`` at
    ``mix_bpm``, ``path`` moves from item to item towards each one's own tempo by at most
    ``tempo_step_pct``, ``native`` plays every item at its own tempo. ``max_stretch_pct`` keeps out chunks
    that would have to be stretched further than that to reach the mix tempo. Crossfades last
    ``crossfade_beats`` beats where both sides have a beat grid, ``crossfade_ms`` elsewhere.

    Each join's level step (the last ``level_window_ms`` of one item against the first of the next, see
    :mod:`mixdesk.mix.join_levels`) costs ``level_step_weight`` nats of log probability per decibel past
    ``level_step_tolerance_db``; a weight of 0 ranks by the scorer alone.
    """

    minutes: float = 10.0
    strategy: str = "greedy"
    beam_width: int = 8
    temperature: float = 1.0
    seed: int | None = None
    no_repeat_within: int = 50
    max_same_track: int = 3
    min_chunk_ms: int = 500
    max_bpm_diff_pct: float | None = None
    max_key_steps: int | None = None
    transition: str = "crossfade"
    crossfade_ms: int = 400
    crossfade_beats: float = 4.0
    tempo_mode: str = "first"
    mix_bpm: float | None = None
    max_stretch_pct: float | None = 8.0
    tempo_step_pct: float = 1.0
    lookahead_locked: bool = True
    level_step_weight: float = 0.3
    level_step_tolerance_db: float = 3.0
    level_window_ms: int = 3000

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {STRATEGIES}, not {self.strategy!r}")
        if self.transition not in TRANSITION_KINDS:
            raise ValueError(f"transition must be one of {TRANSITION_KINDS}, not {self.transition!r}")
        if self.minutes <= 0:
            raise ValueError("mix length must be positive")
        if self.beam_width < 1:
            raise ValueError("beam width must be at least 1")
        if self.temperature <= 0:
            raise ValueError("temperature must be positive")
        if self.no_repeat_within < 0 or self.max_same_track < 1:
            raise ValueError("repeat window cannot be negative and same-track runs need at least 1")
        if self.crossfade_ms < 0 or self.min_chunk_ms < 0 or self.crossfade_beats < 0:
            raise ValueError("lengths cannot be negative")
        if self.tempo_mode not in TEMPO_MODES:
            raise ValueError(f"tempo mode must be one of {TEMPO_MODES}, not {self.tempo_mode!r}")
        if self.tempo_mode == "fixed" and not self.mix_bpm:
            raise ValueError("a fixed mix tempo needs mix_bpm")
        if self.mix_bpm is not None and not MIX_BPM_RANGE[0] <= self.mix_bpm <= MIX_BPM_RANGE[1]:
            raise ValueError(f"the mix tempo lies between {MIX_BPM_RANGE[0]:g} and {MIX_BPM_RANGE[1]:g} BPM")
        if self.max_stretch_pct is not None and not 0.0 < self.max_stretch_pct <= 50.0:
            raise ValueError("the stretch limit lies between 0 and 50 %")
        if not 0.0 <= self.tempo_step_pct <= 50.0:
            raise ValueError("the tempo step lies between 0 and 50 %")
        if self.level_step_weight < 0 or self.level_step_tolerance_db < 0 or self.level_window_ms <= 0:
            raise ValueError("the level-step weight and tolerance cannot be negative, and its window must be positive")

    @property
    def target_ms(self) -> int:
        return int(round(self.minutes * 60_000))


@dataclass(frozen=True)
class RenderConfig(Settings):
    """How consecutive items are joined into one signal.

    With ``beat_sync`` each item of a track with a beat grid plays at its mix tempo (time-stretched with
    ``stretch_quality``, pitch kept) and the next item lands on the beat; ``bass_swap`` cuts the
    outgoing item's lows below ``bass_swap_hz`` from the middle beat of each overlap on, as a DJ swaps
    the bass on the EQ, so two kick drums never play at once.
    """

    sample_rate: int = 44100
    channels: int = 2
    block_frames: int = 65536
    zero_cross_ms: float = 3.0
    cut_fade_ms: float = 3.0
    edge_fade_ms: float = 10.0
    gain_match: bool = True
    gain_window_ms: int = 300
    max_gain_db: float = 6.0
    gain_ramp_ms: int = 4000
    limiter_threshold: float = 0.9
    master_gain_db: float = 0.0
    beat_sync: bool = True
    stretch_quality: str = "fast"
    stretch_margin_ms: float = 250.0
    bass_swap: bool = True
    bass_swap_hz: float = 180.0

    def __post_init__(self) -> None:
        if self.stretch_quality not in STRETCH_QUALITIES:
            raise ValueError(f"stretch quality must be one of {STRETCH_QUALITIES}, not {self.stretch_quality!r}")
        if not 40.0 <= self.bass_swap_hz <= 500.0:
            raise ValueError("the bass swap crossover lies between 40 and 500 Hz")
        if self.sample_rate < 8000 or self.channels not in (1, 2):
            raise ValueError("render needs a sample rate of at least 8 kHz and 1 or 2 channels")
        if self.block_frames < 1024:
            raise ValueError("render blocks must hold at least 1024 frames")
        if not 0.1 <= self.limiter_threshold < 1.0:
            raise ValueError("limiter threshold must lie in [0.1, 1)")


@dataclass(frozen=True)
class ExportConfig(Settings):
    """Output format and tags. ``bitrate_kbps`` is the CBR rate; ``vbr_quality`` 0 (best) .. 9
    (``VBR_QUALITY_RANGE``); the formats and rates are those of ``EXPORT_FORMATS`` and ``MP3_BITRATES``.

    ``encoder`` picks the MP3 path: ``soundfile`` (libsndfile's LAME), ``ffmpeg`` (the bundled binary, in
    its own process) or ``auto`` (ffmpeg when present). WAV and FLAC always go through soundfile.
    """

    format: str = "mp3"
    bitrate_mode: str = "cbr"
    bitrate_kbps: int = 192
    vbr_quality: float = 2.0
    encoder: str = "auto"
    title: str = "mixdesk mix"
    artist: str = "mixdesk"
    comment: str = ""
    write_tracklist: bool = True
    write_cue: bool = True
    render: RenderConfig = RenderConfig()

    def __post_init__(self) -> None:
        if self.format not in EXPORT_FORMATS:
            raise ValueError(f"format must be one of {tuple(EXPORT_FORMATS)}, not {self.format!r}")
        if self.bitrate_mode not in BITRATE_MODES:
            raise ValueError(f"bitrate mode must be one of {BITRATE_MODES}, not {self.bitrate_mode!r}")
        if self.bitrate_kbps not in MP3_BITRATES:
            raise ValueError(f"MP3 bitrate must be one of {MP3_BITRATES} kbps")
        if self.encoder not in ENCODERS:
            raise ValueError(f"encoder must be one of {ENCODERS}, not {self.encoder!r}")
        best, smallest = VBR_QUALITY_RANGE
        if not best <= self.vbr_quality <= smallest:
            raise ValueError(f"VBR quality runs from {best:g} (best) to {smallest:g}")
        if isinstance(self.render, Mapping):
            object.__setattr__(self, "render", RenderConfig.from_dict(self.render))
