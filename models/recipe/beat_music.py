"""Beat-driven free music from Debian game packages, for judging how mixes keep the beat.

The seam report's rhythm figures (beat phase, tempo jump) only mean something on music with a steady
pulse, so this recipe collects such music: it fetches a few game-data packages whose soundtracks are
largely electronic and sequenced, picks the music files, keeps those whose onset autocorrelation shows a
strong, steady beat all through, and writes a manifest with durations, licences and hashes. None of
these packages is among those the transition model is trained on (see debian_music.py), so an
evaluation on this corpus is not an evaluation on training material.

Nothing here ships audio: the recipe fetches the packages again wherever it runs.

    python models/recipe/beat_music.py [/work/realmusic]
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from debian_music import (  # noqa: E402
    AUDIO_SUFFIXES,
    EXCLUDED_NAMES,
    _link,
    blake2b_of,
    candidate_files,
    fetch,
    package_licence,
)

PACKAGES = ("nexuiz-music", "supertux-data", "xmoto-data")
MIN_TRACK_S = 90.0

# Where the packages keep their music, their licences and the files left out: debian_music.py.

# The beat test: in 12 s windows across the track the onset autocorrelation peak must be strong on
# median, and nearly every window must agree on the tempo (octave differences forgiven).
STEADY_WINDOW_S, STEADY_HOP_S = 12.0, 6.0
MIN_PULSE = 0.6
MIN_AGREEMENT = 0.85
TEMPO_AGREEMENT = 0.02
MAX_PER_PACKAGE = 8  # the steadiest few of each package, so that no one soundtrack's style dominates
ANALYSIS_S = 240.0  # enough windows to judge a track; a long one is judged on four minutes near its start


@dataclass(frozen=True)
class BeatTrack:
    package: str
    source: str  # path inside the unpacked package (archive!member for files inside game archives)
    path: str  # the copy under <work>/beat/<package>/
    duration_s: float
    sample_rate: int
    channels: int
    bpm: float
    pulse: float  # median onset-autocorrelation peak over the analysis windows
    agreement: float  # share of windows whose tempo agrees with the track's
    licence: str
    copyright: str
    blake2b: str


def candidates(work: Path, package: str) -> list[tuple[str, Path]]:
    """(source, file) for every audio file in the package's music places (see debian_music.py)."""
    return [
        (source, path)
        for source, path in candidate_files(work, package)
        if path.is_file() and path.suffix.lower() in AUDIO_SUFFIXES and path.name not in EXCLUDED_NAMES
    ]


def steadiness(path: Path, duration_s: float) -> tuple[float, float, float]:
    """(bpm, pulse, agreement) from librosa's onset strength, window by window."""
    import librosa

    y, sr = librosa.load(str(path), sr=22050, mono=True, offset=min(20.0, 0.1 * duration_s), duration=ANALYSIS_S)
    hop = 256
    env = librosa.onset.onset_strength(y=y, sr=sr, hop_length=hop)
    fps = sr / hop
    width, step = int(STEADY_WINDOW_S * fps), int(STEADY_HOP_S * fps)
    lo, hi = int(fps * 60 / 200), int(np.ceil(fps * 60 / 60))
    peaks, bpms = [], []
    for start in range(0, len(env) - width + 1, step):
        e = env[start : start + width] - env[start : start + width].mean()
        ac = np.correlate(e, e, "full")[width - 1 :]
        ac = ac / max(ac[0], 1e-12) * width / (width - np.arange(width))
        k = lo + int(np.argmax(ac[lo:hi]))
        # parabolic vertex: integer lags alone quantise the tempo more coarsely than the 2 % tested
        a, b, c = ac[k - 1], ac[k], ac[k + 1]
        shift = 0.5 * (a - c) / (a - 2 * b + c) if a - 2 * b + c < 0 else 0.0
        peaks.append(float(ac[k]))
        bpms.append(60 * fps / (k + shift))
    if not bpms:
        return float("nan"), 0.0, 0.0
    folded = np.array(bpms)
    folded = folded * 2.0 ** np.floor(np.log2(160.0 / folded))  # into (80, 160]: octave errors forgiven
    bpm = float(np.median(folded))
    agreement = float(np.mean(np.abs(folded / bpm - 1) < TEMPO_AGREEMENT))
    return bpm, float(np.median(peaks)), agreement


def select(work: Path, packages=PACKAGES, log=print) -> tuple[list[BeatTrack], list[dict]]:
    """The beat-driven tracks (linked under ``work/beat/<package>/``) and the figures of every candidate."""
    import soundfile as sf

    kept, judged = [], []
    for package in packages:
        steady = []
        for source, path in candidates(work, package):
            info = sf.info(str(path))
            if info.duration < MIN_TRACK_S:
                continue
            bpm, pulse, agreement = steadiness(path, info.duration)
            row = {
                "package": package,
                "source": source,
                "duration_s": round(info.duration, 2),
                "bpm": round(bpm, 2),
                "pulse": round(pulse, 3),
                "agreement": round(agreement, 3),
                "kept": False,
            }
            judged.append(row)
            log(f"{package} {path.name}: {bpm:.1f} BPM, pulse {pulse:.2f}, agreement {agreement:.2f}")
            if pulse >= MIN_PULSE and agreement >= MIN_AGREEMENT:
                steady.append((pulse * agreement, row, path, info))
        for _, row, path, info in sorted(steady, key=lambda s: -s[0])[:MAX_PER_PACKAGE]:
            row["kept"] = True
            licence, holder = package_licence(work, package, row["source"])
            dest = work / "beat" / package / path.name
            _link(path, dest)
            kept.append(
                BeatTrack(
                    package,
                    row["source"],
                    str(dest),
                    row["duration_s"],
                    info.samplerate,
                    info.channels,
                    row["bpm"],
                    row["pulse"],
                    row["agreement"],
                    licence,
                    holder,
                    blake2b_of(dest),
                )
            )
    return kept, judged


def summary(tracks: list[BeatTrack]) -> dict:
    per_package: dict[str, dict] = {}
    for t in tracks:
        entry = per_package.setdefault(t.package, {"tracks": 0, "minutes": 0.0, "licences": []})
        entry["tracks"] += 1
        entry["minutes"] += t.duration_s / 60
        if t.licence not in entry["licences"]:
            entry["licences"].append(t.licence)
    for entry in per_package.values():
        entry["minutes"] = round(entry["minutes"], 1)
    return {"tracks": len(tracks), "minutes": round(sum(t.duration_s for t in tracks) / 60, 1), "packages": per_package}


def prepare(work: Path) -> list[BeatTrack]:
    """Fetch, unpack, judge and link; writes ``work/beat/manifest.json``."""
    fetch(work, PACKAGES)
    # The beat folder holds only this recipe's links: start it afresh so a changed rule leaves no strays.
    for stale in (work / "beat").glob("*/*"):
        stale.unlink()
    tracks, judged = select(work)
    manifest = {
        "summary": summary(tracks),
        "rule": {
            "min_track_s": MIN_TRACK_S,
            "window_s": STEADY_WINDOW_S,
            "min_pulse": MIN_PULSE,
            "min_agreement": MIN_AGREEMENT,
            "tempo_agreement": TEMPO_AGREEMENT,
            "max_per_package": MAX_PER_PACKAGE,
        },
        "files": [asdict(t) for t in tracks],
        "judged": judged,
    }
    (work / "beat").mkdir(parents=True, exist_ok=True)
    (work / "beat" / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return tracks


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "/work/realmusic")
    print(json.dumps(summary(prepare(target)), indent=1))
