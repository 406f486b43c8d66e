"""The mix room: sequencing chunks with a transition scorer, rendering seams, exporting, measuring seams.

Pure numpy; a scorer is passed in, so nothing here needs torch or Qt.
"""

from mixdesk.mix.config import ExportConfig, RenderConfig, SequenceConfig
from mixdesk.mix.export import ExportResult, export_mix, render_to_file
from mixdesk.mix.playlist import Playlist, PlaylistItem, Transition
from mixdesk.mix.rendering import Placement, Renderer, render
from mixdesk.mix.seams import seam_report
from mixdesk.mix.sequencing import regenerate, sequence, sequence_pool
from mixdesk.mix.suggestions import Suggestion, suggestions

__all__ = [
    "ExportConfig",
    "ExportResult",
    "Placement",
    "Playlist",
    "PlaylistItem",
    "RenderConfig",
    "Renderer",
    "SequenceConfig",
    "Suggestion",
    "Transition",
    "export_mix",
    "regenerate",
    "render",
    "render_to_file",
    "seam_report",
    "sequence",
    "sequence_pool",
    "suggestions",
]
