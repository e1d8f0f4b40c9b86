"""Benchmark `labelaudit oof` then confident learning on scikit-learn's bundled real data sets.

digits (1,797 x 64, 10 classes), wine (178 x 13, 3) and breast cancer (569 x 30, 2), each with 10 % of the
labels moved to another class at random (``--seeds`` seeds). For each data set and model:

* P, R, F1 of the rows flagged by confident learning (``find_label_issues`` defaults, what
  ``labelaudit scan`` flags) on ``out_of_fold``'s probabilities, against the flipped rows;
* AUPRC of three rankings: the confident-learning score (self-confidence, ``label_quality``), the
  model-free neighbour agreement (Zhu et al. 2022), and their mean ("combined");
* the wall time of ``out_of_fold`` (median over seeds; 2-core shared machine).

The peer: cleanlab 2.9's ``CleanLearning(LogisticRegression()).find_label_issues(X, labels)``, which also
cross-validates internally (5 folds, its defaults), run in the same process on the same data when cleanlab
is installed. Metrics are means over the seeds; times are medians.

Run:  .venv/bin/python benchmarks/bench_oof.py [--seeds 3] [--models logreg,hgb,knn,mlp]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score

import labelaudit as la


def _load(name: str) -> tuple[np.ndarray, np.ndarray]:
    from sklearn import datasets

    loader = {
        "digits": datasets.load_digits,
        "wine": datasets.load_wine,
        "breast_cancer": datasets.load_breast_cancer,
    }
    return loader[name](return_X_y=True)


def _flip(y: np.ndarray, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    k = int(y.max()) + 1
    flip = rng.permutation(len(y))[: len(y) // 10]
    noisy = y.copy()
    noisy[flip] = (y[flip] + rng.integers(1, k, len(flip))) % k
    return noisy


def _prf(flagged: np.ndarray, wrong: np.ndarray) -> tuple[float, float, float]:
    tp = int((flagged & wrong).sum())
    p = tp / max(int(flagged.sum()), 1)
    r = tp / max(int(wrong.sum()), 1)
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def _ours(X: np.ndarray, noisy: np.ndarray, wrong: np.ndarray, model: str, seed: int) -> dict[str, float]:
    frame = pd.DataFrame(X, columns=[f"x{j}" for j in range(X.shape[1])])
    frame["label"] = noisy
    t0 = time.perf_counter()
    result = la.out_of_fold(frame, model=model, seed=seed, device="cpu")
    seconds = time.perf_counter() - t0
    probs = result.probabilities.astype(np.float64)
    probs /= probs.sum(axis=1, keepdims=True)
    labels = result.labels
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", la.LabelauditWarning)
        flagged = la.find_label_issues(labels, probs)
        quality = la.label_quality_scores(labels, probs)
    agreement = result.neighbour_agreement
    p, r, f1 = _prf(flagged, wrong)
    return {
        "P": p,
        "R": r,
        "F1": f1,
        "AUPRC CL": average_precision_score(wrong, -quality),
        "AUPRC nbr": average_precision_score(wrong, -agreement),
        "AUPRC comb": average_precision_score(wrong, -(quality + agreement) / 2),
        "seconds": seconds,
    }


def _cleanlab(X: np.ndarray, noisy: np.ndarray, wrong: np.ndarray, seed: int) -> dict[str, float] | None:
    try:
        from cleanlab.classification import CleanLearning
    except ImportError:
        return None
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    t0 = time.perf_counter()
    # one thread, as out_of_fold fits: the same footing (and no oversubscription on a shared machine)
    with warnings.catch_warnings(), threadpool_limits(limits=1):
        warnings.simplefilter("ignore")
        found = CleanLearning(LogisticRegression(max_iter=2000), seed=seed, verbose=False).find_label_issues(
            X, noisy
        )
    seconds = time.perf_counter() - t0
    p, r, f1 = _prf(found["is_label_issue"].to_numpy(), wrong)
    quality = found["label_quality"].to_numpy()
    nan = float("nan")
    return {
        "P": p,
        "R": r,
        "F1": f1,
        "AUPRC CL": average_precision_score(wrong, -quality),
        "AUPRC nbr": nan,
        "AUPRC comb": nan,
        "seconds": seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--models", default="logreg,hgb,knn,mlp")
    parser.add_argument("--sets", default="digits,wine,breast_cancer")
    args, _ = parser.parse_known_args()  # run_all.py passes every script the same arguments
    models = [m for m in args.models.split(",") if m]
    if "mlp" in models:
        try:
            import torch  # noqa: F401
        except ImportError:
            print("torch is not installed: skipping mlp (pip install 'labelaudit[torch]')")
            models.remove("mlp")
    metrics = ["P", "R", "F1", "AUPRC CL", "AUPRC nbr", "AUPRC comb"]
    verdicts = []
    for name in args.sets.split(","):
        X, y = _load(name)
        rows = []
        for model in [*models, "cleanlab CleanLearning(logreg)"]:
            runs = []
            for seed in range(args.seeds):
                noisy = _flip(y, seed)
                wrong = noisy != y
                if model.startswith("cleanlab"):
                    run = _cleanlab(X, noisy, wrong, seed)
                    if run is None:
                        break
                else:
                    run = _ours(X, noisy, wrong, model, seed)
                runs.append(run)
                print(f"  {name} {model} seed {seed}: {run['seconds']:.1f}s", file=sys.stderr, flush=True)
            if not runs:
                continue
            row = {"model": model, **{m: float(np.mean([r[m] for r in runs])) for m in metrics}}
            row["oof s (median)"] = statistics.median(r["seconds"] for r in runs)
            rows.append(row)
            if not model.startswith("cleanlab"):
                gain = row["AUPRC comb"] - row["AUPRC CL"]
                wins = sum(r["AUPRC comb"] > r["AUPRC CL"] for r in runs)
                verdicts.append((name, model, gain, wins, len(runs)))
        table = pd.DataFrame(rows)
        print(
            f"\n{name}: {len(y)} rows x {X.shape[1]} features, {int(y.max()) + 1} classes, 10 % flipped, "
            f"{args.seeds} seeds (metrics: mean; time: median)"
        )
        print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"), flush=True)
    print("\nDoes the neighbour signal add AUPRC? (combined = mean of label_quality and neighbour_agreement)")
    for name, model, gain, wins, total in verdicts:
        verdict = "yes" if gain > 0.005 and wins == total else ("no" if gain < -0.005 else "about even")
        print(f"  {name:14s} {model:7s} {gain:+.3f} (better in {wins}/{total} seeds): {verdict}")


if __name__ == "__main__":
    main()
