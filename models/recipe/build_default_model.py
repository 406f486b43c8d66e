"""Rebuild the bundled transition model (models/default/) from free music in Debian packages.

Stages: fetch and unpack the packages, pick their music (debian_music.py), import it into a project
with the library's chunking (4-bar chunks where a track has a confident beat grid), train ``cnn_lstm``
on the training packages, evaluate on whole packages it never trained on, then write ``transition.pt``
and its model card (JSON + markdown) atomically. ``--folds N`` also measures N package folds of the
training packages (each held out in turn) and states their mean and spread in the card.

    python models/recipe/build_default_model.py --work /tmp/debmusic [--skip-fetch] [--device cuda]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Sequence
from urllib.parse import unquote

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import debian_music  # noqa: E402
import extra_cuts  # noqa: E402

from mixdesk.config import LIBRARY_CHUNKING  # noqa: E402
from mixdesk.progress import Progress, atomic_path  # noqa: E402

# Extra cuttings of the training tracks (see extra_cuts.py): silence cuts at other thresholds look like
# the library's seams; fixed cuts from odd offsets add seams in the middle of phrases.
# Extra cuttings of the training tracks (see extra_cuts.py): the library's 4-bar cut shifted by one,
# two and three bars, and 2-bar chunks, give the model the seams of every bar line.
DEFAULT_CUTS = "b4+1,b4+2,b4+3,b2+1"
# Pieces that share material (a remix of another track): they go to the same side of the split.
RELATED = (("landing_in_gran_paradiso.ogg", "Gran_Paradiso_Unused_-_TuxKart_5a_Gowns_Bow_Remix.ogg"),)


def progress_printer(prefix: str, every_s: float = 5.0):
    last = [0.0]

    def show(p: Progress) -> None:
        now = time.monotonic()
        if now - last[0] >= every_s or p.done >= p.total:
            last[0] = now
            print(f"{prefix}: {p.message} [{p.fraction * 100:.0f}%]", file=sys.stderr, flush=True)

    return show


def package_of(track) -> str:
    """The Debian package a track came from: the folder debian_music.py links it into."""
    return Path(track.path).parent.name


def package_split(
    project, heldout: Sequence[str], seed: int, val_fraction: float, packages: Sequence[str]
) -> dict[str, np.ndarray]:
    """Whole packages in ``heldout`` are the test set; the other ``packages``' tracks are dealt into train
    and validation per package (related pieces together), seeded, so every package is validated on."""
    tracks = [t for t in project.tracks() if package_of(t) in packages]
    names = {t.id: Path(t.path).name for t in tracks}
    group_of = {t.id: t.id for t in tracks}
    for related in RELATED:
        members = [t for t in names if names[t] in related]
        for t in members:
            group_of[t] = min(members)
    rng = np.random.default_rng(seed)
    out: dict[str, list[int]] = {"train": [], "val": [], "test": []}
    for package in sorted({package_of(t) for t in tracks}):
        mine = [t for t in tracks if package_of(t) == package]
        if package in heldout:
            out["test"] += [t.id for t in mine]
            continue
        groups = sorted({group_of[t.id] for t in mine})
        order = list(rng.permutation(groups))
        n_val = max(1, round(len(order) * val_fraction)) if len(order) >= 3 else 0
        chosen = set(order[:n_val])
        out["val"] += [t.id for t in mine if group_of[t.id] in chosen]
        out["train"] += [t.id for t in mine if group_of[t.id] not in chosen]
    return {k: np.array(sorted(v), dtype=np.int64) for k, v in out.items()}


def package_folds(project, exclude: Sequence[str], folds: int, packages: Sequence[str]) -> list[list[str]]:
    """The ``packages`` not in ``exclude`` dealt into ``folds`` groups of similar hours (largest first)."""
    hours: dict[str, float] = {}
    for t in project.tracks():
        if package_of(t) in packages and package_of(t) not in exclude:
            hours[package_of(t)] = hours.get(package_of(t), 0.0) + t.duration_s / 3600
    groups: list[list[str]] = [[] for _ in range(folds)]
    load = [0.0] * folds
    for package in sorted(hours, key=lambda p: (-hours[p], p)):
        k = int(np.argmin(load))
        groups[k].append(package)
        load[k] += hours[package]
    return groups


def hardware() -> dict:
    import torch

    from mixdesk.ml.runtime import cpu_count

    info = {
        "cpu": platform.processor() or platform.machine(),
        "cores_visible": cpu_count(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "os": platform.platform(),
    }
    try:
        model = [line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")]
        info["cpu"] = model[0].split(":", 1)[1].strip() if model else info["cpu"]
    except OSError:
        pass
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def with_cuts(ids: np.ndarray, count: int) -> np.ndarray:
    return np.concatenate([ids, extra_cuts.virtual_ids(ids, count)]) if count else ids


def pair_config_of(args):
    from mixdesk.ml.pairs import PairConfig

    return PairConfig(
        seed=args.seed,
        gain_db=args.gain_db,
        shift_frames=args.shift_frames,
        negatives_per_positive=args.negatives,
        neg_other_track=args.neg_other,
        neg_same_track=args.neg_same,
        neg_reversed=args.neg_reversed,
        val_fraction=args.val_fraction,
    )


def eval_pair_config(args):
    """The held-out pairs: the default mix of negative kinds whatever the training mix, so that
    figures of runs with different training negatives compare."""
    from mixdesk.ml.pairs import PairConfig

    return PairConfig(seed=args.seed)


def train(project, args, real: dict[str, np.ndarray], checkpoint: Path, label: str = "train"):
    """Train on the ``real`` training tracks (and their extra cuttings), early-stopping on the validation
    tracks; with ``--refit``, train again on training and validation tracks for the epoch count that
    validation chose. Returns (result, selection run or None, the feature table)."""
    from dataclasses import replace

    from mixdesk.ml.features import FeatureConfig
    from mixdesk.ml.models import ModelConfig
    from mixdesk.ml.pairs import PairData
    from mixdesk.ml.runtime import torch_threads
    from mixdesk.ml.table import project_descriptor_vectors, project_feature_table
    from mixdesk.ml.training import TrainConfig, fit

    cuttings = [extra_cuts.Cutting(item.strip()) for item in args.extra_cuts.split(",") if item.strip()]
    feature_config = FeatureConfig() if args.window is None else FeatureConfig(window_s=args.window)
    # Feature extraction is many small torch calls: extra threads only wait on each other.
    # Tracks never analysed are analysed once and the descriptors kept in the project.
    analysing = progress_printer("analyse")
    descriptors = project_descriptor_vectors(project, None, analysing, None, args.jobs) if args.descriptors else None
    table = project_feature_table(
        project, feature_config, None, descriptors, progress_printer("features"), jobs=args.jobs
    )
    with torch_threads():
        if cuttings:
            cut = np.concatenate([real["train"], real["val"]]) if args.refit else real["train"]
            extra = extra_cuts.extra_table(
                project,
                cut,
                cuttings,
                table.config,
                Path(project.cache_dir) / "features",
                progress_printer("extra cuts"),
                descriptors=args.descriptors,
            )
            table = extra_cuts.concat_tables([table, extra])
    splits = {**real, "train": with_cuts(real["train"], len(cuttings))}
    pair_config = pair_config_of(args)
    data = PairData(table, pair_config, splits=splits)
    config = TrainConfig(
        model=ModelConfig(
            arch="cnn_lstm",
            conv_channels=args.channels,
            hidden=args.hidden,
            head_hidden=args.hidden,
            seam_steps=args.seam_steps,
            descriptor_dim=0 if table.descriptors is None else int(table.descriptors.shape[1]),
        ),
        epochs=args.epochs,
        patience=args.patience,
        lr=args.lr,
        contrastive_weight=args.contrastive,
        seed=args.seed,
        device=args.device,
        out=str(checkpoint),
    )
    result = fit(config, data, progress_printer(label, 15.0))
    selection = None
    if args.refit:
        selection = result
        both = np.concatenate([real["train"], real["val"]])
        refit = {"train": with_cuts(both, len(cuttings)), "val": np.zeros(0, np.int64), "test": real["test"]}
        # Averaged weights cover the selection run to its last epoch, so the refit runs as long; the best
        # epoch's weights end there.
        averaged = bool(result.meta.get("averaged_epochs"))
        epochs = len(result.history) if averaged else max(1, result.best_epoch)
        config = replace(config, epochs=epochs, patience=epochs + 1)
        result = fit(config, PairData(table, pair_config, splits=refit), progress_printer(f"{label} refit", 15.0))
    return result, selection, table


def heldout_figures(
    model_path: Path, project, table, test_ids: np.ndarray, args, calibration_ids: np.ndarray = ()
) -> dict:
    """The held-out metrics (model, similarity, random) and the ROC-AUC per kind of negative; the
    similarity baseline's accuracy threshold is fitted on ``calibration_ids`` (training tracks)."""
    from mixdesk.ml.evaluation import evaluate_table, pool_of
    from mixdesk.ml.ranking import TransitionScorer

    scorer = TransitionScorer.load(model_path, "cpu")
    scorer.prepare_table(pool_of(table, test_ids))
    metrics = evaluate_table(
        table,
        test_ids,
        scorer,
        candidates=50,
        seed=args.seed,
        pair_config=eval_pair_config(args),
        calibration_tracks=[int(t) for t in calibration_ids],
        on_progress=progress_printer("evaluate"),
    )
    metrics["auc_by_negative_kind"] = auc_by_negative_kind(scorer, table, test_ids, args)
    return metrics


def cross_validation(project, args) -> dict:
    """Each fold of the training packages held out in turn (the final held-out packages stay out of
    every fold), trained without the final refit; mean and standard deviation over the folds."""
    keys = ("auc", "mrr", "hit1", "hit5")
    # A fold's figures come from its early-stopped weights: the final refit would only double the time.
    args = argparse.Namespace(**{**vars(args), "refit": False})
    folds = []
    for k, packages in enumerate(package_folds(project, args.heldout, args.folds, args.packages)):
        real = package_split(
            project, tuple(args.heldout) + tuple(packages), args.seed, args.val_fraction, args.packages
        )
        real["test"] = np.array(sorted(t.id for t in project.tracks() if package_of(t) in packages), dtype=np.int64)
        path = args.work / f"fold{k}-checkpoint.pt"
        _, _, table = train(project, args, real, path, f"fold {k + 1}/{args.folds}")
        metrics = heldout_figures(path, project, table, real["test"], args, real["train"])
        sim = metrics["baselines"]["similarity"]
        folds.append(
            {
                "heldout": list(packages),
                "tracks": int(real["test"].size),
                **{k2: round(metrics[k2], 4) for k2 in keys},
                **{f"similarity_{k2}": round(sim[k2], 4) for k2 in keys},
                "auc_by_negative_kind": metrics["auc_by_negative_kind"],
            }
        )
    summary = {}
    for key in keys + tuple(f"similarity_{k2}" for k2 in keys):
        values = np.array([f[key] for f in folds])
        summary[key] = {"mean": round(float(values.mean()), 4), "sd": round(float(values.std(ddof=1)), 4)}
    return {"folds": folds, "summary": summary}


def auc_by_negative_kind(scorer, table, test_ids: np.ndarray, args) -> dict:
    """ROC-AUC of positives against each kind of negative, for the model and the similarity baseline."""
    from mixdesk.ml.baselines import SimilarityScorer
    from mixdesk.ml.evaluation import pair_scores
    from mixdesk.ml.metrics import roc_auc
    from mixdesk.ml.pairs import KINDS, PairData

    similarity = SimilarityScorer(table.config)
    similarity.prepare_table(table)
    empty = np.zeros(0, np.int64)
    # The same held-out pairs evaluate_table() draws: same table, pair config, seed and test tracks.
    data = PairData(table, eval_pair_config(args), splits={"train": empty, "val": empty, "test": np.asarray(test_ids)})
    pairs = data.pairs("test")
    ids = table.chunk_ids
    scores = {
        name: pair_scores(s, ids[pairs.a], ids[pairs.b]) for name, s in (("model", scorer), ("similarity", similarity))
    }
    out = {}
    for kind in range(1, len(KINDS)):
        chosen = (pairs.kind == 0) | (pairs.kind == kind)
        if (pairs.kind == kind).any():
            out[KINDS[kind]] = {
                "pairs": int((pairs.kind == kind).sum()),
                **{n: round(roc_auc(pairs.label[chosen], v[chosen]), 3) for n, v in scores.items()},
            }
    return out


def describe_split(project, splits) -> dict:
    by_id = {t.id: t for t in project.tracks()}
    out = {}
    for name, ids in splits.items():
        out[name] = {
            "tracks": [f"{by_id[int(i)].folder}/{Path(by_id[int(i)].path).name}" for i in ids],
            "hours": round(sum(by_id[int(i)].duration_s for i in ids) / 3600, 3),
            "chunks": sum(1 for c in project.chunks() if c.track_id in set(ids.tolist())),
        }
    return out


def write_card(out_dir: Path, card: dict) -> None:
    with atomic_path(out_dir / "model_card.json") as tmp:
        tmp.write_text(json.dumps(card, indent=1) + "\n")
    with atomic_path(out_dir / "MODEL_CARD.md") as tmp:
        tmp.write_text(markdown_card(card))


def _metric_rows(metrics: dict) -> list[str]:
    keys = ("auc", "accuracy", "hit1", "hit5", "mrr", "pool_hit1", "pool_hit5", "pool_mrr")
    rows = ["| scorer | " + " | ".join(keys) + " |", "|---" * (len(keys) + 1) + "|"]
    named = [("cnn_lstm (this model)", metrics)] + [(k, v) for k, v in metrics.get("baselines", {}).items()]
    for name, values in named:
        rows.append(f"| {name} | " + " | ".join(f"{values.get(k, float('nan')):.3f}" for k in keys) + " |")
    return rows


def _chunking_words(chunking: dict) -> str:
    if chunking.get("mode") == "bars":
        return (
            f"{chunking['bars_per_chunk']}-bar chunks cut on the downbeats of each track's beat grid, relative "
            "silence cuts where a track has no confident grid"
        )
    return f"{chunking.get('mode')} chunks"


def markdown_card(card: dict) -> str:
    data, split, metrics, training = card["data"], card["split"], card["metrics"], card["training"]
    window = card["config"]["feature"]["window_s"]
    lines = [
        "# Default transition model",
        "",
        f"Scores how well chunk B follows chunk A (P(B follows A)) from the last {window:g} s of A and the first",
        f"{window:g} s of B as log-mel spectrograms"
        + (
            ", and each chunk's descriptors (tempo, key, loudness, loudness range, level, spectral centroid, "
            "onset rate: the library's analysis, run on a project's tracks the first time this model scores them)."
            if card["config"]["model"].get("descriptor_dim")
            else "."
        ),
        "Bundled so suggestions work before a user trains a model.",
        "",
        "## Data",
        "",
        f"{data['tracks']} tracks, {data['hours']:.2f} hours of music from Debian packages, "
        f"cut with the library's chunking ({_chunking_words(data['chunking'])}): {data['chunks']} chunks.",
        "",
        "| package | version | tracks | hours | licences | used for |",
        "|---|---|---|---|---|---|",
    ]
    heldout = set(card["heldout_packages"])
    for name, p in data["packages"].items():
        lic = ", ".join(f"{k} ({v})" for k, v in sorted(p["licences"].items()))
        use = "held out: never trained on" if name in heldout else "training and validation"
        lines.append(f"| {name} | {p.get('version', '')} | {p['tracks']} | {p['hours']:.2f} | {lic} | {use} |")
    lines += [
        "",
        "Licences are read from each package's debian/copyright (and an album's own licence file where the",
        "package keeps one); the audio is not shipped, only weights trained on it. `models/recipe/` rebuilds",
        "the model from the packages; every file, with its BLAKE2b-256 hash, is listed at the end.",
        "",
        "## Split (by package)",
        "",
    ]
    for name in ("train", "val", "test"):
        lines.append(
            f"- {name}: {len(split[name]['tracks'])} tracks, {split[name]['hours']:.2f} h, "
            f"{split[name]['chunks']} chunks"
        )
    lines.append(f"- test = every track of {', '.join(sorted(heldout))}; no track of these packages is trained on")
    if training.get("refit_on_train_and_val"):
        how_long = (
            "as long as a first run on the train tracks lasted (its validation loss was lowest at epoch "
            f"{training['selection_best_epoch']})"
            if training.get("averaged_epochs")
            else "the count at which the validation loss was lowest in a first run"
        )
        lines.append(
            f"- the final weights were trained again on train + val tracks for {training['epochs_run']} epochs, "
            + how_long
        )
    if training.get("extra_cuts"):
        lines.append(
            f"- training tracks were also cut in extra ways ({training['extra_cuts']}; see "
            "models/recipe/extra_cuts.py) for more seams to learn from; val/test use the library cut"
        )
    lines += [
        "",
        f"## Metrics on the held-out packages ({metrics['n_pairs']} pairs; ranking: true successor among "
        f"{metrics['n_candidates']} candidates and among the whole held-out pool of {metrics.get('pool_size')})",
        "",
    ]
    lines += _metric_rows(metrics)
    lines += [
        "",
        "Pair figures (ROC-AUC, accuracy) score each pair as a join, with the model's own probability; the "
        "model's ranking figures rank as mixdesk's suggestions do, normalised over the pool of held-out chunks "
        "(`TransitionScorer.pool_scores`). The baselines' scores are their own.",
    ]
    by_kind = metrics.get("auc_by_negative_kind", {})
    if by_kind:
        lines += ["", "ROC-AUC of the positives against each kind of negative (model / similarity):", ""]
        lines += [
            f"- {kind} ({v['pairs']} pairs): {v['model']:.3f} / {v['similarity']:.3f}" for kind, v in by_kind.items()
        ]
    crossval = card.get("crossval")
    if crossval:
        summary = crossval["summary"]
        lines += [
            "",
            f"## Package folds ({len(crossval['folds'])} folds of the training packages, each held out in turn; "
            "mean +- sd)",
            "",
            "| | auc | mrr | hit1 | hit5 |",
            "|---|---|---|---|---|",
        ]
        for who, prefix in (("cnn_lstm", ""), ("similarity", "similarity_")):
            cells = [
                f"{summary[prefix + k]['mean']:.3f} +- {summary[prefix + k]['sd']:.3f}"
                for k in ("auc", "mrr", "hit1", "hit5")
            ]
            lines.append(f"| {who} | " + " | ".join(cells) + " |")
        lines += [""] + [
            f"- held out {', '.join(f['heldout'])} ({f['tracks']} tracks): AUC {f['auc']:.3f}, MRR {f['mrr']:.3f} "
            f"(similarity {f['similarity_auc']:.3f}, {f['similarity_mrr']:.3f})"
            for f in crossval["folds"]
        ]
    lines += [
        "",
        "## Training",
        "",
        f"- {training['epochs_run']} epochs in the final fit, {training['seconds']:.0f} s of training in all, "
        f"{training['pairs_per_s']:.0f} pairs/s on {training['device']} "
        f"({training['hardware']['cpu']}, {training['threads']} thread(s), torch {training['hardware']['torch']})",
        f"- objective: pair cross-entropy + {card['config']['train']['contrastive_weight']:g} x in-batch ranking "
        "(every true pair of a batch against the other pairs' starts and ends, both directions)",
        *(
            [f"- weights: the mean of the weights at the end of epochs {span[0]}-{span[1]}"]
            if (span := training.get("averaged_epochs"))
            else []
        ),
        f"- model config: `{json.dumps(card['config']['model'])}`",
        f"- pairs: `{json.dumps(card['config']['pairs'])}`",
        f"- file: transition.pt, {card['file_bytes'] / 1e6:.2f} MB",
        f"- rebuilt with: `{card['command']}`",
        "",
    ]
    if card.get("shortfalls"):
        lines += ["## Where it falls short", ""] + [f"- {s}" for s in card["shortfalls"]] + [""]
    lines += ["## Files", "", "| package | file | licence | seconds | blake2b-256 |", "|---|---|---|---|---|"]
    lines += [
        f"| {f['package']} | {f['file']} | {f['licence']} | {f['duration_s']:.0f} | {f['blake2b']} |"
        for f in data["files"]
    ]
    return "\n".join(lines) + "\n"


def shortfalls(metrics: dict) -> list[str]:
    notes = []
    sim = metrics.get("baselines", {}).get("similarity", {})
    if metrics.get("auc", 0) < 0.93:
        notes.append(f"held-out ROC-AUC {metrics['auc']:.3f} is below the 0.93 target")
    if metrics.get("mrr", 0) < sim.get("mrr", 0) + 0.10:
        notes.append(f"held-out MRR {metrics['mrr']:.3f} is less than similarity's ({sim.get('mrr', 0):.3f}) + 0.10")
    notes.append("trained on game music only; other genres are untested (see models/recipe/FINDINGS.md)")
    return notes


def package_versions(work: Path) -> dict:
    versions = {}
    for deb in sorted((work / "debs").glob("*.deb")):
        name, version = deb.name.split("_")[:2]
        versions[name] = unquote(version)  # apt-get download writes an epoch's ":" as "%3a"
    return versions


def main(argv=None) -> int:
    from mixdesk.ml.models import ModelConfig
    from mixdesk.ml.pairs import PairConfig
    from mixdesk.ml.training import TrainConfig

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/debmusic"), help="download/unpack/project folder")
    parser.add_argument("--out", type=Path, default=HERE.parent / "default")
    parser.add_argument("--skip-fetch", action="store_true", help="reuse the unpacked packages in --work")
    parser.add_argument(
        "--heldout", default=",".join(debian_music.HELDOUT_PACKAGES), help="packages never trained on (comma list)"
    )
    parser.add_argument("--folds", type=int, default=0, help="also measure N folds of the training packages")
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--patience", type=int, default=4)
    parser.add_argument("--lr", type=float, default=5e-4)
    parser.add_argument("--channels", type=int, default=ModelConfig.conv_channels)
    parser.add_argument("--hidden", type=int, default=ModelConfig.hidden)
    parser.add_argument(
        "--seam-steps", type=int, default=ModelConfig.seam_steps, help="LSTM steps the seam takes into B's start"
    )
    parser.add_argument(
        "--window", type=float, default=None, help="seconds of each chunk edge the model hears (default: the library's)"
    )
    parser.add_argument(
        "--descriptors",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="feed each chunk's tempo/key/loudness descriptors to the model (default: on)",
    )
    parser.add_argument(
        "--more-music",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="train on " + ", ".join(debian_music.MORE_PACKAGES) + " too (default: on)",
    )
    parser.add_argument(
        "--contrastive", type=float, default=TrainConfig.contrastive_weight, help="weight of the in-batch ranking loss"
    )
    parser.add_argument("--negatives", type=int, default=PairConfig.negatives_per_positive)
    parser.add_argument(
        "--neg-other", type=float, default=PairConfig.neg_other_track, help="share of other-track negatives"
    )
    parser.add_argument(
        "--neg-same", type=float, default=PairConfig.neg_same_track, help="share of same-track, non-adjacent negatives"
    )
    parser.add_argument(
        "--neg-reversed", type=float, default=PairConfig.neg_reversed, help="share of reversed true pairs"
    )
    parser.add_argument(
        "--extra-cuts",
        default=DEFAULT_CUTS,
        metavar="SPEC,...",
        help="extra cuttings of the training tracks: bN+K (N bars from the K-th downbeat), LEN@OFFSET "
        "(fixed, seconds) or sDB/MS, rDB/MS (silence, absolute or relative), e.g. b4+2,3@0.9,s-20/300",
    )
    parser.add_argument("--gain-db", type=float, default=6.0)
    parser.add_argument("--shift-frames", type=int, default=3)
    parser.add_argument("--val-fraction", type=float, default=PairConfig.val_fraction)
    parser.add_argument("--seed", type=int, default=PairConfig.seed)
    parser.add_argument(
        "--no-refit",
        dest="refit",
        action="store_false",
        help="keep the early-stopped weights instead of retraining on train + validation",
    )
    parser.add_argument("--device", default="auto")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="processes for feature extraction")
    args = parser.parse_args(argv)
    args.work = args.work.resolve()
    args.heldout = tuple(p for p in args.heldout.split(",") if p)
    checkpoint = args.work / "default-checkpoint.pt"
    training = debian_music.PACKAGES + (debian_music.MORE_PACKAGES if args.more_music else ())
    packages = training + tuple(p for p in args.heldout if p not in training)
    args.packages = packages
    if args.skip_fetch:
        files = debian_music.select_music(args.work, packages)
    else:
        files = debian_music.prepare(args.work, packages)
    summary = debian_music.summary(files)
    from mixdesk.library.project import Project

    with Project.open(args.work / "default.mixdesk") as project:
        # Only the chosen packages: a work folder may hold music of a run with other options.
        folders = [args.work / "music" / p for p in packages if (args.work / "music" / p).is_dir()]
        report = project.import_paths(folders, LIBRARY_CHUNKING, progress_printer("import"))
        if report.failed:
            print(f"import: {len(report.failed)} files failed: {report.failed[:3]}", file=sys.stderr)
        started = time.time()
        crossval = cross_validation(project, args) if args.folds > 1 else None
        splits = package_split(project, args.heldout, args.seed, args.val_fraction, packages)
        result, selection, table = train(project, args, splits, checkpoint)
        wall = time.time() - started
        from mixdesk.ml.checkpoint import export_model

        metrics = heldout_figures(checkpoint, project, table, splits["test"], args, splits["train"])
        versions = package_versions(args.work)
        for name, entry in summary["packages"].items():
            entry["version"] = versions.get(name, "")
        card = {
            "name": "default",
            "arch": "cnn_lstm",
            "heldout_packages": list(args.heldout),
            "data": {
                **summary,
                "chunks": len(project.chunks()),
                "chunking": LIBRARY_CHUNKING.to_dict(),
                "files": [
                    {
                        "package": f.package,
                        "file": f.source,
                        "duration_s": f.duration_s,
                        "licence": f.licence,
                        "blake2b": f.blake2b,
                    }
                    for f in files
                ],
            },
            "split": describe_split(project, splits),
            "metrics": {k: v for k, v in metrics.items() if k != "model"},
            "crossval": crossval,
            "training": {
                "epochs_run": len(result.history),
                "best_epoch": result.best_epoch,
                "averaged_epochs": result.meta.get("averaged_epochs", []),
                "selection_best_epoch": selection.best_epoch if selection else None,
                "stopped_early": result.stopped_early,
                "seconds": round(result.seconds + (selection.seconds if selection else 0.0), 1),
                "final_fit_seconds": round(result.seconds, 1),
                "wall_seconds": round(wall, 1),
                "pairs_per_s": round(result.pairs_per_s, 1),
                "device": result.device,
                "threads": result.threads,
                "hardware": hardware(),
                "extra_cuts": args.extra_cuts,
                "refit_on_train_and_val": bool(selection),
                "selection_history": selection.history if selection else None,
                "history": result.history,
            },
            "config": {k: v for k, v in result.configs.items() if k in ("feature", "model", "train", "pairs")},
            "recipe": "models/recipe/build_default_model.sh",
            "command": "models/recipe/build_default_model.sh " + " ".join(argv if argv is not None else sys.argv[1:]),
        }
        card["shortfalls"] = shortfalls(card["metrics"])
        args.out.mkdir(parents=True, exist_ok=True)
        trained_tracks = len(splits["train"]) + (len(splits["val"]) if selection else 0)
        model_file = export_model(
            checkpoint,
            args.out / "transition.pt",
            {
                "card": "model_card.json",
                "train_tracks": trained_tracks,
                "heldout_packages": list(args.heldout),
                "extra_cuts": args.extra_cuts,
                "heldout_metrics": {k: card["metrics"][k] for k in ("auc", "accuracy", "hit1", "hit5", "mrr")},
            },
        )
        card["file_bytes"] = os.path.getsize(model_file)
        write_card(args.out, card)
    print(json.dumps({k: card["metrics"][k] for k in ("auc", "accuracy", "hit1", "hit5", "mrr")}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
