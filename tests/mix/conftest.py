"""The mix tests import their scorer and pool helpers from mix_helpers beside them."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
