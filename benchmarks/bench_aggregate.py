"""Benchmark `labelaudit aggregate` against crowd-kit and cleanlab, in the same run.

Three tables:

1. accuracy against gold without model probabilities, on ../shared/data/crowd/{temp,wsd} (when present) and
   seeded synthetic crowds (heterogeneous skill, spammers, adversaries, class imbalance, a homogeneous crowd);
   ours (majority, WAWA, Dawid-Skene, one-coin) next to crowd-kit's MajorityVote, Wawa, DawidSkene and GLAD;
2. accuracy with out-of-fold-like model probabilities (calibrated and over-confident models): CROWDLAB (ours)
   next to the annotators alone (our Dawid-Skene), the model alone and cleanlab's
   ``get_label_quality_multiannotator`` consensus;
3. Dawid-Skene speed on 1,000,000 annotations (200k items, 2k annotators, K=5), ours vs crowd-kit's, with the
   accuracy of each (``--small``: 100k annotations, and no GLAD on the synthetic sets).

Needs the bench extra (crowd-kit, cleanlab) — best in a separate virtualenv, since crowd-kit pulls in large
dependencies:  python3 -m venv /tmp/bench && /tmp/bench/bin/pip install crowd-kit cleanlab psutil -e .
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from labelaudit.core.aggregate import (
    Annotations,
    aggregate,
    dawid_skene,
    simulate_crowd,
    simulate_model_probs,
)

HERE = Path(__file__).resolve().parent
DATA = Path(os.environ.get("LABELAUDIT_DATA", HERE.parent.parent / "shared" / "data")) / "crowd"

SYNTHETIC = [
    # name, scenario, items, annotators, classes, annotations per item
    ("syn-heterogeneous", "heterogeneous", 1000, 40, 4, (3, 5)),
    ("syn-spammers", "spammers", 1000, 40, 3, (3, 6)),
    ("syn-adversarial", "adversarial", 1000, 30, 4, (3, 6)),
    ("syn-imbalanced", "imbalanced", 1500, 40, 5, (2, 5)),
    ("syn-homogeneous", "homogeneous", 1000, 30, 3, 3),
]
SEEDS = (
    7,
    8,
    9,
    10,
    11,
)  # synthetic sets: mean accuracy over these draws (3 draws left gaps of ~2 items in noise)
WITH_PROBS = [
    ("heterogeneous", 2000, 40, 4, (1, 3)),
    ("spammers", 2000, 40, 3, (1, 4)),
    ("adversarial", 2000, 30, 4, (2, 4)),
    ("imbalanced", 2000, 40, 5, (1, 3)),
]


def _crowdkit():
    try:
        from crowdkit import aggregation
    except ImportError:
        print("crowd-kit is not installed: pip install crowd-kit (in a separate venv)", file=sys.stderr)
        return None
    return aggregation


def _accuracy(labels: pd.Series, truth: pd.Series) -> float:
    return float((labels.reindex(truth.index).to_numpy() == truth.to_numpy()).mean())


def _ours(frame: pd.DataFrame, method: str, probs: np.ndarray | None = None) -> pd.Series:
    ann = Annotations.from_long(frame)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = aggregate(ann, method=method, pred_probs=probs)
    return pd.Series(result.items["consensus_label"].to_numpy(), index=result.items["item"].astype(str))


def _theirs(ck, frame: pd.DataFrame, name: str) -> pd.Series:
    data = frame.rename(columns={"item": "task", "annotator": "worker"})
    model = {
        "MajorityVote": ck.MajorityVote,
        "Wawa": ck.Wawa,
        "DawidSkene": lambda: ck.DawidSkene(n_iter=100),
        "GLAD": ck.GLAD,
    }[name]()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        labels = model.fit_predict(data)
    labels.index = labels.index.astype(str)
    return labels


def _print(table: list[dict[str, object]]) -> None:
    frame = pd.DataFrame(table)
    print(frame.to_string(index=False, float_format=lambda v: f"{v:.4f}"))


def accuracy_table(ck, small: bool) -> None:
    print("\n## Accuracy against gold, annotations only\n")
    sets: list[tuple[str, list[tuple[pd.DataFrame, pd.Series]]]] = []
    for name in ("temp", "wsd"):
        folder = DATA / name
        if (folder / "annotations.csv").exists():
            frame = pd.read_csv(folder / "annotations.csv", dtype={"item": str, "annotator": str})
            truth = pd.read_csv(folder / "truth.csv", dtype={"item": str}).set_index("item")["label"]
            sets.append((name, [(frame, truth)]))
    for name, scenario, n_items, n_annotators, k, per_item in SYNTHETIC:
        draws = []
        for seed in SEEDS:
            crowd = simulate_crowd(n_items, n_annotators, k, per_item, scenario=scenario, seed=seed)
            draws.append((crowd.annotations, crowd.truth.set_index("item")["label"]))
        sets.append((f"{name} x{len(SEEDS)}", draws))
    rows = []
    peers = ("MajorityVote", "Wawa", "DawidSkene", "GLAD")
    for name, draws in sets:
        row: dict[str, object] = {"data": name, "annotations": sum(len(f) for f, _ in draws) // len(draws)}
        for method in ("majority", "wawa", "dawid-skene", "one-coin", "auto"):
            row[f"ours:{method}"] = float(np.mean([_accuracy(_ours(f, method), t) for f, t in draws]))
        if ck is not None:
            for peer in peers:
                if peer == "GLAD" and small and len(draws) > 1:
                    row[f"ck:{peer}"] = float("nan")
                    continue
                scores = []
                for frame, truth in draws:
                    try:
                        scores.append(_accuracy(_theirs(ck, frame, peer), truth))
                    except Exception as exc:  # e.g. crowd-kit's Wawa against a newer scikit-learn
                        print(f"crowd-kit {peer} failed on {name}: {type(exc).__name__}", file=sys.stderr)
                        scores.append(float("nan"))
                row[f"ck:{peer}"] = float(np.mean(scores))
            best_peer = np.nanmax([row[f"ck:{p}"] for p in ("MajorityVote", "DawidSkene", "GLAD")])
            row["ours:auto - best ck"] = row["ours:auto"] - best_peer
        rows.append(row)
    _print(rows)
    print(
        "\nours:auto is the default (Dawid-Skene, or majority vote with Dawid-Skene tie-breaking when the data are"
        " certified to be in the majority-vote regime); 'best ck' is the best of crowd-kit's MajorityVote, DawidSkene and GLAD;"
        f" synthetic rows are means over seeds {SEEDS}; NaN = not run (GLAD with --small) or failed (Wawa)."
    )


def _cleanlab_consensus(frame: pd.DataFrame, probs: np.ndarray, items: np.ndarray) -> pd.Series | None:
    try:
        from cleanlab.multiannotator import get_label_quality_multiannotator
    except ImportError:
        return None
    wide = frame.pivot(index="item", columns="annotator", values="label").reindex(items)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = get_label_quality_multiannotator(wide.reset_index(drop=True), probs, verbose=False)
    return pd.Series(out["label_quality"]["consensus_label"].to_numpy(), index=items.astype(str))


def probabilities_table(ck) -> None:
    print("\n## Accuracy with out-of-fold-like model probabilities (model accuracy ~0.8)\n")
    rows = []
    for scenario, n_items, n_annotators, k, per_item in WITH_PROBS:
        crowd = simulate_crowd(n_items, n_annotators, k, per_item, scenario=scenario, seed=11)
        truth = crowd.truth.set_index("item")["label"]
        items = crowd.truth["item"].to_numpy()
        for temperature, calibration in ((1.0, "calibrated"), (0.4, "over-confident")):
            probs = simulate_model_probs(
                crowd.truth["label"].to_numpy(), k, 0.8, seed=11, temperature=temperature
            )
            row: dict[str, object] = {
                "data": f"{scenario} ({calibration})",
                "per item": f"{per_item[0]}-{per_item[1]}",
            }
            row["model alone"] = float((probs.argmax(axis=1) == crowd.truth["label"].to_numpy()).mean())
            row["ours:dawid-skene (annotators)"] = _accuracy(_ours(crowd.annotations, "dawid-skene"), truth)
            if ck is not None:
                row["ck:DawidSkene"] = _accuracy(_theirs(ck, crowd.annotations, "DawidSkene"), truth)
            cleanlab = _cleanlab_consensus(crowd.annotations, probs, items)
            if cleanlab is not None:
                row["cleanlab multiannotator"] = _accuracy(cleanlab, truth)
            row["ours:crowdlab"] = _accuracy(_ours(crowd.annotations, "crowdlab", probs), truth)
            rows.append(row)
    _print(rows)


def speed_table(ck, small: bool) -> None:
    n_items, n_annotators = (20_000, 500) if small else (200_000, 2_000)
    print(
        f"\n## Dawid-Skene speed: {n_items * 5:,} annotations ({n_items:,} items, {n_annotators:,} annotators, "
        "K=5)\n"
    )
    crowd = simulate_crowd(n_items, n_annotators, 5, 5, scenario="heterogeneous", seed=3)
    frame, truth = crowd.annotations, crowd.truth.set_index("item")["label"]
    # warm-up on a tiny set, so that the one-time loading of the compiled kernels is not counted
    tiny = simulate_crowd(50, 5, 5, 3, seed=0).annotations
    dawid_skene(Annotations.from_long(tiny))
    rows = []
    started = time.perf_counter()
    ann = Annotations.from_long(frame)
    fit = dawid_skene(ann)
    ours_time = time.perf_counter() - started
    ours = pd.Series(ann.classes[fit.consensus], index=ann.items.astype(str))
    rows.append(
        {
            "implementation": "labelaudit dawid_skene (DataFrame -> labels)",
            "seconds": ours_time,
            "iterations": fit.info["iterations"],
            "accuracy": _accuracy(ours, truth),
        }
    )
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        full = aggregate(ann)
    rows.append(
        {
            "implementation": "labelaudit aggregate() on the encoded annotations (+ quality, regime)",
            "seconds": time.perf_counter() - started,
            "iterations": full.summary["fit"]["iterations"],
            "accuracy": float(
                (
                    full.items["consensus_label"].to_numpy() == truth.reindex(full.items["item"]).to_numpy()
                ).mean()
            ),
        }
    )
    if ck is not None:
        started = time.perf_counter()
        theirs = _theirs(ck, frame, "DawidSkene")
        ck_time = time.perf_counter() - started
        rows.append(
            {
                "implementation": "crowd-kit DawidSkene(n_iter=100).fit_predict",
                "seconds": ck_time,
                "iterations": float("nan"),
                "accuracy": _accuracy(theirs, truth),
            }
        )
    _print(rows)
    if ck is not None:
        print(
            f"\nspeed-up of labelaudit's Dawid-Skene over crowd-kit's: {ck_time / ours_time:.1f}x "
            f"(accuracy difference {rows[0]['accuracy'] - rows[-1]['accuracy']:+.4f})"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--small", action="store_true", help="quick run: 100k annotations, no GLAD on synthetic"
    )
    parser.add_argument("--only", choices=("accuracy", "probs", "speed"), help="run one table")
    args, _ = parser.parse_known_args()
    ck = _crowdkit()
    try:
        import psutil

        print(
            f"machine: {psutil.cpu_count(logical=True)} cpus, "
            f"{psutil.virtual_memory().total / 2**30:.0f} GiB; load {os.getloadavg()[0]:.1f}"
        )
    except ImportError:
        pass
    if args.only in (None, "accuracy"):
        accuracy_table(ck, args.small)
    if args.only in (None, "probs"):
        probabilities_table(ck)
    if args.only in (None, "speed"):
        speed_table(ck, args.small)
    return 0


if __name__ == "__main__":
    sys.exit(main())
