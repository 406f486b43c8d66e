"""Musical key from a chroma vector with key profiles, and the Camelot wheel notation DJs use."""

from __future__ import annotations

import numpy as np

PITCH_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
_ALIASES = {"Db": "C#", "D#": "Eb", "Gb": "F#", "G#": "Ab", "A#": "Bb", "Cb": "B", "E#": "F", "Fb": "E", "B#": "C"}

# Krumhansl & Kessler (1982) probe-tone ratings.
KRUMHANSL = (
    np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88]),
    np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17]),
)
# Temperley (2007), Kostka-Payne corpus pitch-class probabilities.
TEMPERLEY = (
    np.array([0.748, 0.060, 0.488, 0.082, 0.670, 0.460, 0.096, 0.715, 0.104, 0.366, 0.057, 0.400]),
    np.array([0.712, 0.084, 0.474, 0.618, 0.049, 0.460, 0.105, 0.747, 0.404, 0.067, 0.133, 0.330]),
)
PROFILES = {"krumhansl": KRUMHANSL, "temperley": TEMPERLEY}


def _template_matrix(profile: str) -> np.ndarray:
    """24 x 12 z-scored templates: rows 0-11 major on C..B, rows 12-23 minor on C..B."""
    major, minor = PROFILES[profile]
    rows = [np.roll(major, k) for k in range(12)] + [np.roll(minor, k) for k in range(12)]
    t = np.asarray(rows, dtype=np.float64)
    t -= t.mean(axis=1, keepdims=True)
    return t / np.linalg.norm(t, axis=1, keepdims=True)


_TEMPLATES = {name: _template_matrix(name) for name in PROFILES}


def key_scores(chroma: np.ndarray, profile: str = "krumhansl") -> np.ndarray:
    """Pearson correlation of a 12-bin chroma vector (C first) with the 24 key templates."""
    c = np.asarray(chroma, dtype=np.float64).reshape(12)
    c = c - c.mean()
    norm = np.linalg.norm(c)
    if norm < 1e-12:
        return np.zeros(24)
    return _TEMPLATES[profile] @ (c / norm)


def estimate_key(chroma: np.ndarray, profile: str = "krumhansl") -> tuple[str, float]:
    """("A minor", confidence): confidence is the margin of the best correlation over the runner-up."""
    scores = key_scores(chroma, profile)
    order = np.argsort(scores)[::-1]
    best = int(order[0])
    if scores[best] <= 0.0:
        return "", 0.0
    name = f"{PITCH_NAMES[best % 12]} {'major' if best < 12 else 'minor'}"
    return name, float(scores[best] - scores[order[1]])


def parse_key(key: str) -> tuple[int, bool]:
    """("A minor") -> (pitch class 9, is_minor True). Raises ValueError for anything else."""
    parts = key.strip().split()
    if len(parts) != 2 or parts[1].lower() not in ("major", "minor"):
        raise ValueError(f"not a key: {key!r}")
    tonic = parts[0][:1].upper() + parts[0][1:]
    tonic = _ALIASES.get(tonic, tonic)
    if tonic not in PITCH_NAMES:
        raise ValueError(f"not a key: {key!r}")
    return PITCH_NAMES.index(tonic), parts[1].lower() == "minor"


def key_to_camelot(key: str) -> str:
    """ "C major" -> "8B", "A minor" -> "8A"; "" for an empty key."""
    if not key:
        return ""
    pitch, minor = parse_key(key)
    major_pitch = (pitch + 3) % 12 if minor else pitch
    number = (7 * major_pitch + 7) % 12 + 1
    return f"{number}{'A' if minor else 'B'}"


def parse_camelot(code: str) -> tuple[int, str]:
    """ "8A" -> (8, "A"). Raises ValueError for anything that is not 1A..12B."""
    text = str(code).strip().upper()
    if len(text) < 2 or text[-1] not in "AB" or not text[:-1].isdigit():
        raise ValueError(f"not a Camelot code: {code!r}")
    number = int(text[:-1])
    if not 1 <= number <= 12:
        raise ValueError(f"not a Camelot code: {code!r}")
    return number, text[-1]


def camelot_to_key(code: str) -> str:
    number, letter = parse_camelot(code)
    major_pitch = (7 * (number - 8)) % 12
    if letter == "B":
        return f"{PITCH_NAMES[major_pitch]} major"
    return f"{PITCH_NAMES[(major_pitch - 3) % 12]} minor"
