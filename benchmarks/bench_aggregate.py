"""Benchmark `labelaudit aggregate` against crowd-kit and cleanlab, in the same run.

Three tables:

1. accuracy against gold without model probabilities on every development crowd set (``DATA_DIR/crowd/*``:
   annotations.csv and truth.csv), for ``auto`` and each labelaudit method next to crowd-kit's MajorityVote,
   DawidSkene, GLAD (and MACE where it runs), with the checks of issue 11: auto at least the best of
   crowd-kit's three on every set, at least each labelaudit method minus 0.005, and its mean above every
   single method's mean (``--synthetic`` adds seeded simulated crowds);
2. accuracy with out-of-fold-like model probabilities (calibrated and over-confident models): CROWDLAB (ours)
   next to the annotators alone (our Dawid-Skene), the model alone and cleanlab's
   ``get_label_quality_multiannotator`` consensus;
3. speed on 1,000,000 annotations (200k items, 2k annotators, K=5): ``aggregate(method="auto")`` (cross-
   validation, restarts and the final fit included) and our Dawid-Skene against crowd-kit's DawidSkene, medians
   of ``--repeat`` runs (``--small``: 100k annotations).

Needs the bench extra (crowd-kit, cleanlab) in its own virtualenv: ``make .venv-bench/.installed`` then
``.venv-bench/bin/python benchmarks/bench_aggregate.py``.
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
    simulate_crowd,
    simulate_model_probs,
)
from labelaudit.core.aggregate.api import fit_consensus

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import DATA_DIR

DATA = DATA_DIR / "crowd"
OURS = ("auto", "majority", "wawa", "one-coin", "dawid-skene", "ibcc", "ebcc")
PEERS = ("MajorityVote", "DawidSkene", "GLAD", "MACE")

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
        print("crowd-kit is not installed: make .venv-bench/.installed (a separate venv)", file=sys.stderr)
        return None
    return aggregation


def _accuracy(labels: pd.Series, truth: pd.Series) -> float:
    return float((labels.reindex(truth.index).to_numpy() == truth.to_numpy()).mean())


def _ours(frame: pd.DataFrame, method: str, probs: np.ndarray | None = None) -> pd.Series:
    ann = Annotations.from_long(frame)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = aggregate(ann, method=method, pred_probs=probs)
    labels = result.items["consensus_label"].astype(str).to_numpy()  # gold is read as text
    return pd.Series(labels, index=result.items["item"].astype(str))


def _theirs(ck, frame: pd.DataFrame, name: str) -> pd.Series:
    data = frame.rename(columns={"item": "task", "annotator": "worker"})
    model = {
        "MajorityVote": ck.MajorityVote,
        "Wawa": ck.Wawa,
        "DawidSkene": lambda: ck.DawidSkene(n_iter=100),
        "GLAD": ck.GLAD,
        "MACE": lambda: ck.MACE(random_state=0),
    }[name]()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        labels = model.fit_predict(data)
    labels.index = labels.index.astype(str)
    return labels.astype(str)


def _print(table: list[dict[str, object]]) -> None:
    frame = pd.DataFrame(table)
    print(frame.to_string(index=False, float_format=lambda v: f"{v:.4f}"))


def _development_sets() -> list[tuple[str, list[tuple[pd.DataFrame, pd.Series]]]]:
    sets = []
    for folder in sorted(DATA.glob("*/annotations.csv")):
        frame = pd.read_csv(folder, dtype=str)  # ids and labels as text, as `labelaudit aggregate` reads them
        truth = pd.read_csv(folder.parent / "truth.csv", dtype=str).set_index("item")["label"]
        sets.append((folder.parent.name, [(frame, truth)]))
    return sets


def accuracy_table(ck, small: bool, synthetic: bool) -> None:
    print("\n## Accuracy against gold, annotations only\n")
    sets = _development_sets()
    if not sets:
        print(f"no development sets under {DATA} (set LABELAUDIT_DATA)", file=sys.stderr)
    if synthetic:
        for name, scenario, n_items, n_annotators, k, per_item in SYNTHETIC:
            draws = []
            for seed in SEEDS:
                crowd = simulate_crowd(n_items, n_annotators, k, per_item, scenario=scenario, seed=seed)
                frame = crowd.annotations.astype(str)
                draws.append((frame, crowd.truth.astype(str).set_index("item")["label"]))
            sets.append((f"{name} x{len(SEEDS)}", draws))
    rows, chosen = [], {}
    for name, draws in sets:
        row: dict[str, object] = {"data": name, "annotations": sum(len(f) for f, _ in draws) // len(draws)}
        for method in OURS:
            row[method] = float(np.mean([_accuracy(_ours(f, method), t) for f, t in draws]))
        if len(draws) == 1:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                chosen[name] = aggregate(Annotations.from_long(draws[0][0])).method
        if ck is not None:
            for peer in PEERS:
                if peer in ("GLAD", "MACE") and small and len(draws) > 1:
                    row[f"ck:{peer}"] = float("nan")
                    continue
                scores = []
                for frame, truth in draws:
                    try:
                        scores.append(_accuracy(_theirs(ck, frame, peer), truth))
                    except Exception as exc:  # MACE fails on some inputs
                        print(f"crowd-kit {peer} failed on {name}: {type(exc).__name__}", file=sys.stderr)
                        scores.append(float("nan"))
                row[f"ck:{peer}"] = float(np.mean(scores))
        rows.append(row)
    _print(rows)
    print("\nauto chose: " + ", ".join(f"{k} {v}" for k, v in chosen.items()))
    frame = pd.DataFrame(rows)
    real = frame[frame["data"].isin([n for n, d in sets if len(d) == 1])]
    print(f"\n### Checks on the {len(real)} development sets (accuracy differences; >= 0 passes)\n")
    checks = []
    for _, row in real.iterrows():
        check = {"data": row["data"], "auto": row["auto"]}
        if ck is not None:
            best_peer = np.nanmax([row[f"ck:{p}"] for p in ("MajorityVote", "DawidSkene", "GLAD")])
            check["auto - best ck (MV/DS/GLAD)"] = row["auto"] - best_peer
        check["auto - (best labelaudit method - 0.005)"] = row["auto"] - (
            max(row[m] for m in OURS if m != "auto") - 0.005
        )
        checks.append(check)
    _print(checks)
    means = real[[*OURS, *(f"ck:{p}" for p in PEERS if ck is not None)]].mean()
    print("\nmeans over the development sets: " + ", ".join(f"{k} {v:.4f}" for k, v in means.items()))


def _cleanlab_consensus(frame: pd.DataFrame, probs: np.ndarray, items: np.ndarray) -> pd.Series | None:
    try:
        from cleanlab.multiannotator import get_label_quality_multiannotator
    except ImportError:
        return None
    wide = frame.pivot(index="item", columns="annotator", values="label").reindex(items)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = get_label_quality_multiannotator(wide.reset_index(drop=True), probs, verbose=False)
    return pd.Series(out["label_quality"]["consensus_label"].astype(str).to_numpy(), index=items.astype(str))


def probabilities_table(ck) -> None:
    print("\n## Accuracy with out-of-fold-like model probabilities (model accuracy ~0.8)\n")
    rows = []
    for scenario, n_items, n_annotators, k, per_item in WITH_PROBS:
        crowd = simulate_crowd(n_items, n_annotators, k, per_item, scenario=scenario, seed=11)
        truth = crowd.truth.set_index("item")["label"].astype(str)
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


def _median_time(run, repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        out = run()
        times.append(time.perf_counter() - started)
    return float(np.median(times)), out


def speed_table(ck, small: bool, repeat: int) -> None:
    n_items, n_annotators = (20_000, 500) if small else (200_000, 2_000)
    print(
        f"\n## Speed: {n_items * 5:,} annotations ({n_items:,} items, {n_annotators:,} annotators, K=5), "
        f"median of {repeat} run(s)\n"
    )
    crowd = simulate_crowd(n_items, n_annotators, 5, 5, scenario="heterogeneous", seed=3)
    frame, truth = crowd.annotations, crowd.truth.set_index("item")["label"].astype(str)
    truth.index = truth.index.astype(str)
    # warm-up on a tiny set, so that the one-time loading of the compiled kernels is not counted
    tiny = Annotations.from_long(simulate_crowd(60, 6, 5, 3, seed=0).annotations)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for method in OURS:
            aggregate(tiny, method=method)

    def ours(method: str):
        def run():
            ann = Annotations.from_long(frame)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return aggregate(ann, method=method)

        return run

    rows = []
    timings = {}
    for method in ("auto", "dawid-skene"):
        seconds, result = _median_time(ours(method), repeat)
        timings[method] = seconds
        labels = pd.Series(
            result.items["consensus_label"].astype(str).to_numpy(), index=result.items["item"].astype(str)
        )
        rows.append(
            {
                "implementation": f"labelaudit aggregate(method={method!r}) (DataFrame -> report, summary)",
                "seconds": seconds,
                "ran": result.method,
                "accuracy": _accuracy(labels, truth),
            }
        )

    def consensus_only():
        ann = Annotations.from_long(frame)
        fit, _ = fit_consensus(ann, method="auto")
        return pd.Series(ann.classes[fit.consensus].astype(str), index=ann.items.astype(str)), fit.method

    seconds, (labels, ran) = _median_time(consensus_only, repeat)
    timings["auto labels"] = seconds
    rows.append(
        {
            "implementation": "labelaudit fit_consensus(method='auto') (DataFrame -> labels)",
            "seconds": seconds,
            "ran": ran,
            "accuracy": _accuracy(labels, truth),
        }
    )
    if ck is not None:
        seconds, theirs = _median_time(lambda: _theirs(ck, frame, "DawidSkene"), repeat)
        timings["ck"] = seconds
        rows.append(
            {
                "implementation": "crowd-kit DawidSkene(n_iter=100).fit_predict",
                "seconds": seconds,
                "ran": "DawidSkene",
                "accuracy": _accuracy(theirs, truth),
            }
        )
    _print(rows)
    if ck is not None:
        print(
            f"\ncrowd-kit DawidSkene / labelaudit auto: {timings['ck'] / timings['auto']:.1f}x (whole report), "
            f"{timings['ck'] / timings['auto labels']:.1f}x (labels only, like crowd-kit's fit_predict); "
            f"/ labelaudit dawid-skene: {timings['ck'] / timings['dawid-skene']:.1f}x"
        )
        print(rows[0]["implementation"] + " ran " + str(rows[0]["ran"]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="quick run: 100k annotations in the speed table")
    parser.add_argument("--synthetic", action="store_true", help="add simulated crowds to the accuracy table")
    parser.add_argument("--repeat", type=int, default=3, help="runs per timing (the median is shown)")
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
        accuracy_table(ck, args.small, args.synthetic)
    if args.only in (None, "probs"):
        probabilities_table(ck)
    if args.only in (None, "speed"):
        speed_table(ck, args.small, args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
