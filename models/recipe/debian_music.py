"""Free music from Debian game packages: download, unpack, pick the music, record durations and licences.

The bundled transition model is trained on these files. Nothing here ships audio: the recipe fetches
the packages again wherever it runs. Music is told apart from sound effects by where the packages keep
it and by length; SuperTuxKart's sped-up "_fast" variants are left out because a fast copy of a
held-out song in the training set would leak the song into training.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

PACKAGES = ("supertuxkart-data", "colobot-common-sounds", "pushover-data", "hyperrogue-music")
AUDIO_SUFFIXES = (".ogg", ".wav", ".flac", ".mp3")
MIN_MUSIC_S = 30.0

# Folders inside each package that hold music rather than sound effects or voice.
MUSIC_GLOBS = {
    "supertuxkart-data": ("usr/share/games/supertuxkart/data/music/*", "usr/share/games/supertuxkart/data/tracks/*/*"),
    "colobot-common-sounds": ("usr/share/games/colobot/music/*",),
    "pushover-data": ("usr/share/pushover/themes/*",),
    "hyperrogue-music": ("usr/share/hyperrogue/music/*",),
}
# Speech and ambience that sit in music folders.
EXCLUDED_NAMES = {"nolok_speech.ogg", "steamLocomotive.ogg"}


@dataclass(frozen=True)
class MusicFile:
    package: str
    source: str  # path inside the unpacked package
    path: str  # the linked copy under <work>/music/<package>/
    duration_s: float
    sample_rate: int
    channels: int
    licence: str
    copyright: str


def fetch(work: Path, packages=PACKAGES) -> None:
    """``apt-get download`` each package once and unpack it into ``work/<package>``."""
    debs = work / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    missing = [p for p in packages if not list(debs.glob(f"{p}_*.deb"))]
    if missing:
        subprocess.run(["apt-get", "download", *missing], cwd=debs, check=True)
    for package in packages:
        target = work / package
        if not (target / "usr").is_dir():
            deb = sorted(debs.glob(f"{package}_*.deb"))[-1]
            subprocess.run(["dpkg-deb", "-x", str(deb), str(target)], check=True)


def fast_variants(root: Path) -> set[str]:
    """File names that SuperTuxKart's ``.music`` descriptions name as a sped-up copy of another file."""
    names = set()
    for desc in root.rglob("*.music"):
        match = re.search(r'fast-filename\s*=\s*"([^"]+)"', desc.read_text(errors="replace"))
        if match:
            names.add(match.group(1))
    return names


def parse_copyright(path: Path) -> list[tuple[list[str], str, str]]:
    """(file patterns, licence, copyright) stanzas of a machine-readable Debian copyright file."""
    stanzas, current = [], {}
    key = None
    for line in path.read_text(errors="replace").splitlines() + [""]:
        if not line.strip():
            if "Files" in current:
                stanzas.append(
                    (
                        current["Files"].split(),
                        current.get("License", "").split("\n")[0].strip(),
                        " ".join(current.get("Copyright", "").split()),
                    )
                )
            current, key = {}, None
        elif line[0] in " \t" and key:
            current[key] += "\n" + line.strip()
        elif ":" in line:
            key, value = line.split(":", 1)
            current[key] = value.strip()
    return stanzas


def licence_of(source: str, stanzas) -> tuple[str, str]:
    """The last stanza whose pattern matches the end of ``source`` wins, as the format prescribes."""
    found = ("unknown", "")
    for patterns, licence, holder in stanzas:
        for pattern in patterns:
            if pattern == "*" or fnmatch.fnmatch(source, "*/" + pattern) or fnmatch.fnmatch(source, pattern):
                found = (licence, holder)
    return found


def select_music(work: Path, packages=PACKAGES, min_s: float = MIN_MUSIC_S) -> list[MusicFile]:
    """Link the music files into ``work/music/<package>/`` and describe each."""
    import soundfile as sf

    chosen = []
    for package in packages:
        root = work / package
        skip = fast_variants(root) | EXCLUDED_NAMES
        stanzas = parse_copyright(root / "usr/share/doc" / package / "copyright")
        files = sorted({p for g in MUSIC_GLOBS[package] for p in root.glob(g)})
        for src in files:
            if src.suffix.lower() not in AUDIO_SUFFIXES or src.name in skip or not src.is_file():
                continue
            try:
                info = sf.info(str(src))
            except RuntimeError:
                continue
            if info.duration < min_s:
                continue
            rel = str(src.relative_to(root))
            licence, holder = licence_of(rel, stanzas)
            dest = work / "music" / package / src.name
            _link(src, dest)
            chosen.append(
                MusicFile(
                    package, rel, str(dest), round(info.duration, 2), info.samplerate, info.channels, licence, holder
                )
            )
    return chosen


def _link(src: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.exists():
        return
    try:
        os.link(src, dest)
    except OSError:
        dest.write_bytes(src.read_bytes())


def summary(files: list[MusicFile]) -> dict:
    per_package = {}
    for f in files:
        entry = per_package.setdefault(f.package, {"tracks": 0, "hours": 0.0, "licences": {}})
        entry["tracks"] += 1
        entry["hours"] += f.duration_s / 3600
        entry["licences"][f.licence] = entry["licences"].get(f.licence, 0) + 1
    for entry in per_package.values():
        entry["hours"] = round(entry["hours"], 3)
    return {"tracks": len(files), "hours": round(sum(f.duration_s for f in files) / 3600, 3), "packages": per_package}


def prepare(work: Path) -> list[MusicFile]:
    """Fetch, unpack and select; writes ``work/music/manifest.json``."""
    fetch(work)
    files = select_music(work)
    manifest = {"summary": summary(files), "files": [asdict(f) for f in files]}
    (work / "music" / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return files


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/debmusic")
    print(json.dumps(summary(prepare(target)), indent=1))
