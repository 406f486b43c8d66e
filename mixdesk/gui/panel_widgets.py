"""Small widgets shared by the working panels."""

from __future__ import annotations

from typing import Optional

from PySide6.QtWidgets import QLabel, QSizePolicy, QSpinBox, QWidget


class ClippedLabel(QLabel):
    """One line of status text that never widens or heightens its panel; the full text is the tooltip.

    A word-wrapped label makes a scroll area size the panel by its preferred height, and an unwrapped
    one makes a long message force the panel wider; docked panels must do neither.
    """

    def __init__(self, text: str = "", parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.setMinimumWidth(0)
        self.setText(text)

    def setText(self, text: str) -> None:  # noqa: N802 - Qt override
        super().setText(text)
        self.setToolTip(text)


def int_spin(low: int, high: int, value: int, tip: str = "", suffix: str = "", step: int = 1) -> QSpinBox:
    spin = QSpinBox()
    spin.setRange(low, high)
    spin.setValue(value)
    spin.setSingleStep(step)
    if suffix:
        spin.setSuffix(suffix)
    if tip:
        spin.setToolTip(tip)
    return spin
