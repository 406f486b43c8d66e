"""Convert the musicnn 0.1.0 TensorFlow checkpoints to the torch port in mixdesk.analysis.tagger.

Two stages, because TensorFlow and mixdesk's torch do not share one environment:

1. In a TensorFlow environment (tensorflow-cpu 2.15.1, librosa, ``pip install --no-deps musicnn``):
       python models/musicnn/convert_musicnn.py export --work /tmp/musicnn_export
   reads the MTT_musicnn and MSD_musicnn checkpoints shipped in the musicnn wheel, writes their weights
   (renamed to the torch state-dict keys, float32) to ``<work>/<name>.npz`` and runs musicnn's own
   extractor on a few deterministic synthesised clips to record reference tag scores in
   ``tests/analysis/data/musicnn_reference.json``.
2. In mixdesk's environment:
       python models/musicnn/convert_musicnn.py pack --work /tmp/musicnn_export
   loads the weights into the torch port, checks it against the reference scores, and writes
   ``models/musicnn/<name>.pt`` (float16 to keep the bundle small).

The clip synthesiser below is numpy-only so that the tests can rebuild the same clips.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
REFERENCE_JSON = REPO / "tests" / "analysis" / "data" / "musicnn_reference.json"
MODELS = {"msd_musicnn": "MSD_musicnn", "mtt_musicnn": "MTT_musicnn"}
CLIP_SR = 16000
CLIP_SECONDS = 6.5  # two full 3 s patches


def _pluck(freq: float, seconds: float, sr: int, decay: float) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    partials = sum(np.sin(2 * np.pi * freq * h * t) / h**1.3 for h in range(1, 8))
    return partials * np.exp(-decay * t)


def synth_clip(kind: str, seconds: float = CLIP_SECONDS, sr: int = CLIP_SR, seed: int = 0) -> np.ndarray:
    """Deterministic float32 test clips: 'beat' (kick, hats, bass), 'keys' (plucked chords), 'noise'."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    out = np.zeros(n)
    if kind == "beat":
        beat = int(sr * 60 / 124)
        t = np.arange(int(0.25 * sr)) / sr
        kick = np.sin(2 * np.pi * (50 + 100 * np.exp(-30 * t)) * t) * np.exp(-12 * t)
        hat = rng.standard_normal(int(0.05 * sr)) * np.exp(-np.arange(int(0.05 * sr)) / (0.01 * sr)) * 0.3
        for i, start in enumerate(range(0, n, beat // 2)):
            seg = kick if i % 2 == 0 else hat
            out[start : start + len(seg)] += seg[: n - start]
        tb = np.arange(n) / sr
        out += 0.3 * np.sign(np.sin(2 * np.pi * 55 * tb)) * (np.sin(2 * np.pi * 124 / 60 * tb) > 0)
    elif kind == "keys":
        chords = [(261.63, 329.63, 392.0), (220.0, 261.63, 329.63), (174.61, 220.0, 261.63), (196.0, 246.94, 293.66)]
        step = int(1.5 * sr)
        for i, start in enumerate(range(0, n, step)):
            length = min(step * 2, n - start)
            for f in chords[i % 4]:
                out[start : start + length] += _pluck(f, length / sr, sr, 2.5)[:length]
    elif kind == "noise":
        white = rng.standard_normal(n)
        spectrum = np.fft.rfft(white)
        freqs = np.fft.rfftfreq(n, 1 / sr)
        spectrum[1:] /= np.sqrt(freqs[1:])
        spectrum[0] = 0
        out = np.fft.irfft(spectrum, n)
        t = np.arange(n) / sr
        out = out / np.abs(out).max() + 0.3 * np.sin(2 * np.pi * 440 * t) * np.sin(2 * np.pi * 0.25 * t)
    else:
        raise ValueError(kind)
    return (0.5 * out / max(np.abs(out).max(), 1e-9)).astype(np.float32)


CLIP_KINDS = ("beat", "keys", "noise")


def _tf_weight_map(reader) -> dict[str, np.ndarray]:
    """TF variable names -> torch state-dict keys and layouts."""
    get = reader.get_tensor
    out: dict[str, np.ndarray] = {}

    def bn(tf_name: str, key: str) -> None:
        out[f"{key}.weight"] = get(f"{tf_name}/gamma")
        out[f"{key}.bias"] = get(f"{tf_name}/beta")
        out[f"{key}.running_mean"] = get(f"{tf_name}/moving_mean")
        out[f"{key}.running_var"] = get(f"{tf_name}/moving_variance")

    def suffix(i: int) -> str:
        return "" if i == 0 else f"_{i}"

    bn("batch_normalization", "input_bn")
    convs = ["timbral.0", "timbral.1", "temporal.0", "temporal.1", "temporal.2", "mid.0", "mid.1", "mid.2"]
    bns = ["timbral_bn.0", "timbral_bn.1", "temporal_bn.0", "temporal_bn.1", "temporal_bn.2"]
    bns += ["mid_bn.0", "mid_bn.1", "mid_bn.2", "pool_bn"]
    for i, key in enumerate(convs):
        kernel = get(f"conv2d{suffix(i)}/kernel")  # (kh, kw, in, out)
        if key.startswith("mid"):
            out[f"{key}.weight"] = kernel[:, :, 0, :].transpose(2, 1, 0)  # conv1d (out, in, k)
        else:
            out[f"{key}.weight"] = kernel.transpose(3, 2, 0, 1)
        out[f"{key}.bias"] = get(f"conv2d{suffix(i)}/bias")
    for i, key in enumerate(bns, start=1):
        bn(f"batch_normalization_{i}", key)
    bn("batch_normalization_10", "dense_bn")
    out["dense.weight"] = get("dense/kernel").T
    out["dense.bias"] = get("dense/bias")
    out["out.weight"] = get("dense_1/kernel").T
    out["out.bias"] = get("dense_1/bias")
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in out.items()}


def export(work: Path) -> None:
    import soundfile as sf
    import tensorflow as tf
    import musicnn
    from musicnn.extractor import extractor

    work.mkdir(parents=True, exist_ok=True)
    package = Path(musicnn.__file__).resolve().parent
    reference: dict = {"clip_seconds": CLIP_SECONDS, "sample_rate": CLIP_SR, "models": {}}
    for name, tf_name in MODELS.items():
        reader = tf.compat.v1.train.NewCheckpointReader(str(package / tf_name) + "/")
        np.savez(work / f"{name}.npz", **_tf_weight_map(reader))
        clips = {}
        for seed, kind in enumerate(CLIP_KINDS):
            wav = work / f"{kind}.wav"
            sf.write(wav, synth_clip(kind, seed=seed), CLIP_SR, subtype="FLOAT")
            taggram, labels = extractor(str(wav), model=tf_name, extract_features=False)
            clips[kind] = {"seed": seed, "patch_scores": np.asarray(taggram, dtype=float).round(7).tolist()}
        reference["models"][name] = {"labels": list(labels), "clips": clips}
    REFERENCE_JSON.parent.mkdir(parents=True, exist_ok=True)
    REFERENCE_JSON.write_text(json.dumps(reference, indent=1))
    print(f"wrote {REFERENCE_JSON} and weights under {work}")


def max_reference_error(name: str) -> float:
    """Largest |torch - TF| tag score over the reference clips for the bundled weights of `name`."""
    from mixdesk.analysis import tagger

    ref = json.loads(REFERENCE_JSON.read_text())["models"][name]
    worst = 0.0
    for kind, clip in ref["clips"].items():
        audio = synth_clip(kind, seed=clip["seed"])
        scores = tagger.patch_scores(tagger.patches(tagger.log_mel(audio)), name)
        worst = max(worst, float(np.abs(scores - np.asarray(clip["patch_scores"])).max()))
    return worst


def pack(work: Path) -> None:
    import torch

    from mixdesk.analysis import tagger

    for name in MODELS:
        arrays = np.load(work / f"{name}.npz")
        state = {k: torch.from_numpy(arrays[k]) for k in arrays.files}
        model = tagger.MusiCNN(n_classes=len(tagger.LABELS[name]))
        for key, value in model.state_dict().items():
            if key.endswith("num_batches_tracked"):
                state[key] = value
        model.load_state_dict(state)  # strict: every tensor must be accounted for
        packed = {k: (v.half() if v.is_floating_point() else v) for k, v in model.state_dict().items()}
        torch.save(packed, HERE / f"{name}.pt")
        tagger.load_model.cache_clear()
        print(f"{name}: wrote {HERE / f'{name}.pt'}; max |torch - TF| = {max_reference_error(name):.2e}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("stage", choices=["export", "pack"])
    parser.add_argument("--work", type=Path, default=Path("/tmp/musicnn_export"))
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO))
    export(args.work) if args.stage == "export" else pack(args.work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
