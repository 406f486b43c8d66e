"""Free music from Debian game packages: download, unpack, pick the music, record durations and licences.

The bundled transition model is trained on these files. Nothing here ships audio: the recipe fetches
the packages again wherever it runs. Music is told apart from sound effects by where the packages keep
it and by length; SuperTuxKart's sped-up "_fast" variants are left out because a fast copy of a
held-out song in the training set would leak the song into training.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import re
import subprocess
import sys
import zipfile
from dataclasses import asdict, dataclass, replace
from pathlib import Path

# Packages the bundled model trains on (tracks of these are also held out for validation).
PACKAGES = (
    "supertuxkart-data",
    "colobot-common-sounds",
    "pushover-data",
    "hyperrogue-music",
    "hedgewars-data",
    "warzone2100-music",
    "extremetuxracer-data",
    "asc-music",
    "powermanga-data",
)
# Three more soundtracks (`build_default_model.py --more-music`): measured in FINDINGS.md, not in the
# bundled model's training set.
MORE_PACKAGES = ("wesnoth-1.16-music", "freedroidrpg-data", "flare-game")
# Whole packages the model never trains on: its held-out figures are measured on these, and the beat
# corpus the mixes are judged on (beat_music.py) comes from them too.
HELDOUT_PACKAGES = ("nexuiz-music", "supertux-data", "xmoto-data")
AUDIO_SUFFIXES = (".ogg", ".opus", ".wav", ".flac", ".mp3")
MIN_MUSIC_S = 30.0
# No one soundtrack may dominate: a package with more music gives an even spread of its tracks up to
# this many hours (warzone2100-music alone holds four).
MAX_PACKAGE_HOURS = 1.25

# Folders inside each package that hold music rather than sound effects or voice.
MUSIC_GLOBS = {
    "supertuxkart-data": ("usr/share/games/supertuxkart/data/music/*", "usr/share/games/supertuxkart/data/tracks/*/*"),
    "colobot-common-sounds": ("usr/share/games/colobot/music/*",),
    "pushover-data": ("usr/share/pushover/themes/*",),
    "hyperrogue-music": ("usr/share/hyperrogue/music/*",),
    "hedgewars-data": ("usr/share/games/hedgewars/Data/Music/*",),
    "warzone2100-music": ("usr/share/games/warzone2100/music/*", "usr/share/games/warzone2100/music/albums/*/*"),
    "extremetuxracer-data": ("usr/share/games/etr/music/*",),
    "asc-music": ("usr/share/games/asc/music/*",),
    "powermanga-data": ("usr/share/games/powermanga/sound/*/*",),
    "wesnoth-1.16-music": ("usr/share/games/wesnoth/1.16/data/core/music/*",),
    "freedroidrpg-data": ("usr/share/freedroidrpg/data/sound/music/*",),
    "flare-game": ("usr/share/games/flare/mods/fantasycore/music/*",),
    "supertux-data": ("usr/share/games/supertux2/music/*/*",),
    "xmoto-data": ("usr/share/games/xmoto/Textures/Musics/*",),
}
# Game archives (zip files) and the members in them that are music.
MUSIC_ARCHIVES = {
    "nexuiz-music": (("usr/share/games/nexuiz/data/music.pk3", "sound/cdtracks/*.ogg"),),
}
# Installed path prefix -> the upstream path the package's debian/copyright patterns are written against.
UPSTREAM_PREFIX = {
    "supertux-data": ("usr/share/games/supertux2/", "data/"),
}
# Packages whose copyright file is free text rather than machine-readable: licence as that text states.
FREE_TEXT_LICENCE = {
    "nexuiz-music": ("GPL-2+", "2002-2009 Alientrap, Lee Vermeulen"),
    "wesnoth-1.16-music": ("GPL-2+", "2003-2009 David White and the Wesnoth contributors"),
}
# Albums whose own license.txt states the licence (the package's copyright file only says "*").
ALBUM_LICENCE = {
    "warzone2100-music": {
        "music/albums/aftermath_soundtrack/": ("CC-BY-SA-3.0+ OR GPL-2+", "2021-2022 LupusMechanicus"),
        "music/albums/legacy_soundtrack/": ("CC-BY-SA-3.0+ OR GPL-2+", "2019-2022 LupusMechanicus"),
    },
}
# Speech and ambience that sit in music folders; a second version of a track already in the corpus.
EXCLUDED_NAMES = {
    "nolok_speech.ogg",
    "steamLocomotive.ogg",
    "sixtyfour_revisited.ogg",
    "frantic-old.ogg",  # Wesnoth keeps an older arrangement of frantic.ogg
    "Ambience.ogg",  # FreedroidRPG's ambient noise bed
    "wind_ambient.ogg",  # Flare's wind loop
}


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
    blake2b: str = ""


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


def candidate_files(work: Path, package: str) -> list[tuple[str, Path]]:
    """(source, file) for every audio file in the package's music places; archive members are extracted
    to ``work/extracted/<package>/`` and named ``archive!member``."""
    root = work / package
    found = [(str(p.relative_to(root)), p) for g in MUSIC_GLOBS.get(package, ()) for p in sorted(root.glob(g))]
    for archive, pattern in MUSIC_ARCHIVES.get(package, ()):
        out = work / "extracted" / package
        out.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(root / archive) as zf:
            for member in sorted(zf.namelist()):
                if fnmatch.fnmatch(member, pattern):
                    dest = out / Path(member).name
                    if not dest.exists():
                        dest.write_bytes(zf.read(member))
                    found.append((f"{archive}!{member}", dest))
    return sorted(set(found))


def package_licence(work: Path, package: str, source: str) -> tuple[str, str]:
    for folder, stated in ALBUM_LICENCE.get(package, {}).items():
        if folder in source and not source.endswith("track3_enhanced.opus"):
            return stated
    if package in FREE_TEXT_LICENCE:
        return FREE_TEXT_LICENCE[package]
    stanzas = parse_copyright(work / package / "usr/share/doc" / package / "copyright")
    installed, upstream = UPSTREAM_PREFIX.get(package, ("", ""))
    path = upstream + source[len(installed) :] if installed and source.startswith(installed) else source
    return licence_of(path, stanzas)


def blake2b_of(path: Path) -> str:
    digest = hashlib.blake2b(digest_size=32)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _capped(files: list[MusicFile], hours: float) -> list[MusicFile]:
    """An even spread of ``files`` (every k-th in name order) that stays within ``hours``."""
    total = sum(f.duration_s for f in files) / 3600
    if total <= hours:
        return files
    order = sorted(files, key=lambda f: f.source)
    stride = total / hours
    picked, budget, position = [], hours * 3600, 0.0
    while position < len(order) and budget > 0:
        f = order[int(position)]
        if f.duration_s <= budget:
            picked.append(f)
            budget -= f.duration_s
        position += stride
    return picked


def select_music(
    work: Path, packages=PACKAGES, min_s: float = MIN_MUSIC_S, max_hours: float = MAX_PACKAGE_HOURS
) -> list[MusicFile]:
    """Link the music files into ``work/music/<package>/`` and describe each."""
    import soundfile as sf

    chosen = []
    for package in packages:
        root = work / package
        skip = fast_variants(root) | EXCLUDED_NAMES
        files = []
        for rel, src in candidate_files(work, package):
            if src.suffix.lower() not in AUDIO_SUFFIXES or src.name in skip or not src.is_file():
                continue
            try:
                info = sf.info(str(src))
            except (RuntimeError, sf.LibsndfileError):
                continue
            if info.duration < min_s:
                continue
            licence, holder = package_licence(work, package, rel)
            dest = work / "music" / package / src.name
            files.append(
                MusicFile(
                    package, rel, str(dest), round(info.duration, 2), info.samplerate, info.channels, licence, holder
                )
            )
        for f in _capped(files, max_hours):
            _link(Path(work / package / f.source) if "!" not in f.source else _extracted(work, f), Path(f.path))
            chosen.append(replace(f, blake2b=blake2b_of(Path(f.path))))
    return chosen


def _extracted(work: Path, f: MusicFile) -> Path:
    return work / "extracted" / f.package / Path(f.source.split("!", 1)[1]).name


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


def prepare(work: Path, packages=PACKAGES + HELDOUT_PACKAGES) -> list[MusicFile]:
    """Fetch, unpack and select; writes ``work/music/manifest.json``."""
    fetch(work, packages)
    files = select_music(work, packages)
    manifest = {"summary": summary(files), "files": [asdict(f) for f in files]}
    (work / "music" / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return files


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/debmusic")
    print(json.dumps(summary(prepare(target)), indent=1))
