"""Rendering a stretch of the playlist for listening: the mix room renders, the player plays."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from mixdesk.progress import ProgressFn, StopFn, check_stop

if TYPE_CHECKING:
    from mixdesk.library.project import Project
    from mixdesk.mix.playlist import Playlist, PlaylistItem

LISTEN_MINUTES = 10.0


@dataclass(frozen=True)
class MixExcerpt:
    samples: np.ndarray
    sample_rate: int
    first_row: int
    starts_s: tuple[float, ...]  # where each rendered item begins in ``samples``

    def row_at(self, seconds: float) -> int:
        """The playlist row heard at ``seconds`` into the excerpt."""
        index = int(np.searchsorted(np.asarray(self.starts_s), seconds, side="right")) - 1
        return self.first_row + max(0, index)


def items_to_play(playlist: Playlist, row: int, minutes: float = LISTEN_MINUTES) -> list[PlaylistItem]:
    """Items from ``row`` on, stopping once about ``minutes`` of music is queued."""
    items, total_ms = [], 0.0
    for item in list(playlist.items)[max(0, row) :]:
        items.append(item)
        total_ms += item.duration_ms
        if total_ms >= minutes * 60_000:
            break
    return items


def render_from(
    project: Project,
    playlist: Playlist,
    row: int,
    on_progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
) -> MixExcerpt:
    from mixdesk.mix.config import RenderConfig
    from mixdesk.mix.rendering import Renderer

    excerpt = playlist.replace_items(items_to_play(playlist, row))
    renderer = Renderer(project, excerpt, RenderConfig())
    blocks = []
    for block in renderer.blocks(on_progress, should_stop):
        check_stop(should_stop)
        blocks.append(block)
    channels = renderer.config.channels
    samples = np.concatenate(blocks) if blocks else np.zeros((0, channels), np.float32)
    starts = tuple(p.mix_start_ms / 1000.0 for p in renderer.placements)
    return MixExcerpt(samples.astype(np.float32, copy=False), renderer.config.sample_rate, row, starts)
