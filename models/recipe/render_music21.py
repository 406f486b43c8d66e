"""Render scores bundled with music21 to audio with fluidsynth and a General MIDI soundfont.

Adds a classical "genre" beside the game music of the Debian packages. Every step runs in a child
process under a time limit: a few scores take minutes to parse, and fluidsynth has been seen to render
one score without end. Needs a Python with music21 (``--python``) and Debian's ``fluidsynth`` and
``fluid-soundfont-gm``.

    python render_music21.py OUT_DIR --python /path/to/python-with-music21 [--max-scores 40]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

SOUNDFONT = "/usr/share/sounds/sf2/FluidR3_GM.sf2"
# Collections with multi-minute pieces; Bach chorales and Palestrina masses are mostly too short.
COMPOSERS = (
    "beethoven",
    "mozart",
    "haydn",
    "schumann_robert",
    "schumann_clara",
    "chopin",
    "joplin",
    "handel",
    "corelli",
    "schubert",
    "cpebach",
    "beach",
    "verdi",
    "weber",
    "monteverdi",
)

LIST_SCORES = """
import json, music21.corpus as c
out = [str(p) for p in c.getCorePaths() if str(p).split('/corpus/')[1].split('/')[0] in {names!r}]
print(json.dumps(sorted(out)))
"""
TO_MIDI = """
import sys, music21
s = music21.converter.parse(sys.argv[1])
s.write('midi', fp=sys.argv[2])
"""


def list_scores(python: str) -> list[str]:
    code = LIST_SCORES.format(names=set(COMPOSERS))
    done = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True, timeout=300)
    by_composer: dict[str, list[str]] = {}
    for path in json.loads(done.stdout):
        by_composer.setdefault(path.split("/corpus/")[1].split("/")[0], []).append(path)
    # Round robin, so that a limit on the count still spans many composers.
    queues = [by_composer[name] for name in COMPOSERS if name in by_composer]
    longest = max((len(q) for q in queues), default=0)
    return [q[i] for i in range(longest) for q in queues if i < len(q)]


def render_one(python: str, score: str, out_dir: Path, min_s: float, parse_s: int, synth_s: int) -> dict:
    import numpy as np
    import soundfile as sf

    # Names inside the corpus repeat (movement1 of many works), so the whole corpus path names the file.
    stem = score.split("/corpus/")[1].rsplit(".", 1)[0].replace("/", "_")
    flac = out_dir / f"{stem}.flac"
    if flac.exists():
        return {"score": score, "path": str(flac), "duration_s": sf.info(str(flac)).duration}
    midi, wav = out_dir / f".{stem}.mid", out_dir / f".{stem}.wav"
    try:
        subprocess.run(
            ["timeout", str(parse_s), python, "-c", TO_MIDI, score, str(midi)], check=True, capture_output=True
        )
        subprocess.run(
            [
                "timeout",
                str(synth_s),
                "fluidsynth",
                "-ni",
                "-q",
                "-g",
                "0.7",
                "-r",
                "22050",
                "-F",
                str(wav),
                SOUNDFONT,
                str(midi),
            ],
            check=True,
            capture_output=True,
        )
        audio, rate = sf.read(str(wav), dtype="float32")
        # Trailing reverb tails of silence say nothing about transitions.
        loud = (
            np.flatnonzero(np.abs(audio).max(axis=-1) > 1e-3)
            if audio.ndim > 1
            else np.flatnonzero(np.abs(audio) > 1e-3)
        )
        if loud.size == 0 or (loud[-1] - loud[0]) / rate < min_s:
            return {"score": score, "skipped": "short or silent"}
        audio = audio[loud[0] : loud[-1] + 1]
        peak = float(np.abs(audio).max())
        sf.write(str(flac), audio * (0.89 / peak), rate)
        return {"score": score, "path": str(flac), "duration_s": len(audio) / rate}
    except (subprocess.CalledProcessError, RuntimeError) as exc:
        return {"score": score, "skipped": f"failed: {type(exc).__name__}"}
    finally:
        midi.unlink(missing_ok=True)
        wav.unlink(missing_ok=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--python", required=True, help="a Python interpreter with music21 installed")
    parser.add_argument("--max-scores", type=int, default=40)
    parser.add_argument("--min-seconds", type=float, default=60.0)
    parser.add_argument("--parse-timeout", type=int, default=90)
    parser.add_argument("--synth-timeout", type=int, default=120)
    args = parser.parse_args(argv)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    results = []
    for score in list_scores(args.python):
        if sum("path" in r for r in results) >= args.max_scores:
            break
        result = render_one(args.python, score, args.out_dir, args.min_seconds, args.parse_timeout, args.synth_timeout)
        results.append(result)
        print(json.dumps(result), file=sys.stderr, flush=True)
    (args.out_dir / "renders.json").write_text(json.dumps(results, indent=1))
    kept = [r for r in results if "path" in r]
    print(json.dumps({"rendered": len(kept), "hours": round(sum(r["duration_s"] for r in kept) / 3600, 3)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
