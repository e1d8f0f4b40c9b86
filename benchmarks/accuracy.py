"""How well labelaudit finds real label errors, against cleanlab 2.9's defaults, in one run.

Development data (``DATA_DIR/cl`` and ``DATA_DIR/multilabel``, see ``benchmarks/_util.py``):

- sets with full truth (``truth.npy``): CIFAR-10 train with synthetic noise (the Confident Learning
  paper's runs, 12 noisy settings and one clean) and CIFAR-10N "worst" human labels with five models.
  Per rule: rows flagged, precision, recall, F1 of the mask against ``labels != truth``; AUPRC of the
  ranking by label quality (lower = more suspicious); best-threshold F1 (the best F1 any cut of that
  ranking reaches). Then the calibration of ``error_probability``: expected calibration error over 10
  equal-width bins, and its sum (the expected number of wrong labels) against the true number.
- test sets with a human review (``human_review.csv``: only reviewed items have truth): precision on
  the reviewed flagged items (confirmed errors / reviewed flagged) and recall against the confirmed set.
- ranking: AUPRC of each score (Kuan & Mueller 2022) on every set with full truth.
- lower noise rates: subsets of some of those sets keeping every correct row and a seeded random share of
  the wrong ones (5, 10, 20 % wrong): the same model outputs at noise rates the sets do not have, to check
  that a default chosen at 20-70 % noise holds at lower rates.
- multi-label (``emotions``, ``scene``, and synthetic problems): an example is wrong when any tag is.

Rules: labelaudit's default, each rule by name, and cleanlab 2.9's default (``find_label_issues`` with
``filter_by="prune_by_noise_rate"``, ``get_label_quality_scores`` self-confidence) when cleanlab is
installed. The last lines check the targets of docs/defaults.md.

Run:  .venv/bin/python benchmarks/accuracy.py [--sets SUBSTRING] [--no-ranking]
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import DATA_DIR

from labelaudit.core.filter import DEFAULT_FILTER, FILTER_METHODS, find_label_issues
from labelaudit.core.posterior import error_probability
from labelaudit.core.scores import label_quality_scores

warnings.filterwarnings("ignore")
CL = DATA_DIR / "cl"
ML = DATA_DIR / "multilabel"
RULES = [DEFAULT_FILTER] + [m for m in FILTER_METHODS if m != DEFAULT_FILTER]


def prf(flagged: np.ndarray, wrong: np.ndarray) -> tuple[float, float, float]:
    tp = int((flagged & wrong).sum())
    p = tp / max(int(flagged.sum()), 1)
    r = tp / max(int(wrong.sum()), 1)
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def auprc(quality: np.ndarray, wrong: np.ndarray) -> float:
    from sklearn.metrics import average_precision_score

    return float(average_precision_score(wrong, -quality)) if wrong.any() else float("nan")


def best_f1(quality: np.ndarray, wrong: np.ndarray) -> float:
    """Best F1 over every cut of the ranking (lowest quality first; equal scores cut together)."""
    order = np.argsort(quality, kind="stable")
    q, w = quality[order], wrong[order]
    tp = np.cumsum(w)
    ends = np.append(np.flatnonzero(np.diff(q) != 0), q.size - 1)  # last row of each run of equal scores
    f1 = 2 * tp[ends] / (ends + 1 + wrong.sum())
    return float(f1.max()) if wrong.any() else float("nan")


def ece(prob: np.ndarray, wrong: np.ndarray, bins: int = 10) -> float:
    b = np.minimum((prob * bins).astype(np.int64), bins - 1)
    total = 0.0
    for i in range(bins):
        s = b == i
        if s.any():
            total += s.sum() * abs(prob[s].mean() - wrong[s].mean())
    return total / prob.size


def load(path: Path) -> tuple[np.ndarray, np.ndarray]:
    return np.load(path / "labels.npy"), np.load(path / "pred_probs.npy")


def cleanlab_default(labels: np.ndarray, probs: np.ndarray):
    try:
        from cleanlab.filter import find_label_issues as cl_find
        from cleanlab.rank import get_label_quality_scores
    except ImportError:
        return None
    p = np.clip(probs, 0, 1)  # imdb-test has values one ulp above 1, which cleanlab rejects
    return cl_find(labels, p, n_jobs=1), get_label_quality_scores(labels, p)


def truth_sets(pattern: str) -> dict[str, dict[str, float]]:
    print("\n## Sets with full truth (P, R, F1 of the flags; AUPRC and best-threshold F1 of the ranking)\n")
    print("labelaudit rows: its default ranking; cleanlab row: self-confidence.\n")
    print("| set | rule | flagged | P | R | F1 | AUPRC | best-threshold F1 |")
    print("|---|---|---|---|---|---|---|---|")
    facts: dict[str, dict[str, float]] = {}
    calib = []
    for path in sorted(p for p in CL.iterdir() if (p / "truth.npy").exists() and pattern in p.name):
        labels, probs = load(path)
        wrong = labels != np.load(path / "truth.npy")
        quality = label_quality_scores(labels, probs)
        auc, best = auprc(quality, wrong), best_f1(quality, wrong)
        rows = [(rule, find_label_issues(labels, probs, filter_by=rule), auc, best) for rule in RULES]
        ref = cleanlab_default(labels, probs)
        if ref is not None:
            rows.append(("cleanlab 2.9 default", ref[0], auprc(ref[1], wrong), best_f1(ref[1], wrong)))
        f = facts.setdefault(path.name, {"best": best, "errors": int(wrong.sum())})
        f["best_self_confidence"] = best_f1(
            label_quality_scores(labels, probs, method="self_confidence"), wrong
        )
        for rule, mask, a, b in rows:
            p, r, f1 = prf(mask, wrong)
            name = f"**{rule}** (default)" if rule == DEFAULT_FILTER else rule
            cells = f"{p:.3f} | {r:.3f} | {f1:.3f}" if wrong.any() else "- | - | -"
            auc_cell = f"{a:.3f} | {b:.3f}" if wrong.any() else "- | -"
            print(f"| {path.name} | {name} | {int(mask.sum())} | {cells} | {auc_cell} |")
            if rule == DEFAULT_FILTER:
                f.update(f1=f1, flagged=int(mask.sum()))
            elif rule.startswith("cleanlab"):
                f.update(ref_f1=f1, ref_flagged=int(mask.sum()))
        e = error_probability(labels, probs)
        calib.append((path.name, float(e.sum()), int(wrong.sum()), ece(e, wrong) if wrong.any() else None))
        f["ece"] = calib[-1][3]
        sys.stdout.flush()
    print("\n## error_probability: calibration (10 equal-width bins)\n")
    print("| set | expected wrong (sum) | truly wrong | ECE |")
    print("|---|---|---|---|")
    for name, s, w, err in calib:
        print(f"| {name} | {s:.0f} | {w} | {'-' if err is None else f'{err:.3f}'} |")
    return facts


def reviewed_sets(pattern: str) -> None:
    import csv

    print(
        "\n## Test sets with a human review (precision on reviewed flagged items, recall of confirmed errors)\n"
    )
    print("| set | rule | flagged | reviewed flagged | precision on reviewed | recall of confirmed |")
    print("|---|---|---|---|---|---|")
    for path in sorted(p for p in CL.iterdir() if (p / "human_review.csv").exists() and pattern in p.name):
        labels, probs = load(path)
        with open(path / "human_review.csv", newline="") as fh:
            review = list(csv.DictReader(fh))
        idx = np.array([int(r["index"]) for r in review])
        confirmed = np.array([r["confirmed_error"] == "1" for r in review])
        probs = np.clip(probs, 0, 1)
        masks = [(rule, find_label_issues(labels, probs, filter_by=rule)) for rule in RULES]
        ref = cleanlab_default(labels, probs)
        if ref is not None:
            masks.append(("cleanlab 2.9 default", ref[0]))
        for rule, mask in masks:
            hit = mask[idx]
            prec = (hit & confirmed).sum() / max(hit.sum(), 1)
            rec = (hit & confirmed).sum() / max(confirmed.sum(), 1)
            name = f"**{rule}** (default)" if rule == DEFAULT_FILTER else rule
            print(f"| {path.name} | {name} | {int(mask.sum())} | {int(hit.sum())} | {prec:.3f} | {rec:.3f} |")
        sys.stdout.flush()


def ranking(pattern: str) -> None:
    print("\n## Ranking: AUPRC of each score (Kuan & Mueller 2022)\n")
    scores = [
        ("self_confidence", {"method": "self_confidence"}),
        ("normalized_margin", {"method": "normalized_margin"}),
        ("self_confidence adjusted", {"method": "self_confidence", "adjust_pred_probs": True}),
        ("normalized_margin adjusted", {"method": "normalized_margin", "adjust_pred_probs": True}),
        ("confidence_weighted_entropy", {"method": "confidence_weighted_entropy"}),
    ]
    print("| set | " + " | ".join(n for n, _ in scores) + " | 1 - error_probability |")
    print("|---|" + "---|" * (len(scores) + 1))
    for path in sorted(p for p in CL.iterdir() if (p / "truth.npy").exists() and pattern in p.name):
        labels, probs = load(path)
        wrong = labels != np.load(path / "truth.npy")
        if not wrong.any():
            continue
        cells = [auprc(label_quality_scores(labels, probs, **kw), wrong) for _, kw in scores]
        cells.append(auprc(1 - error_probability(labels, probs), wrong))
        top = max(cells)
        text = [f"**{c:.3f}**" if c == top else f"{c:.3f}" for c in cells]
        print(f"| {path.name} | " + " | ".join(text) + " |")
        sys.stdout.flush()


SUBSET_SETS = (
    "cifar10n-worst-efficientnet-b1",
    "cifar10n-worst-resnet18",
    "cifar10n-worst-swin",
    "cifar10-train-sparsity0_0-noise0_4",
    "cifar10-train-sparsity0_4-noise0_4",
    "cifar10-train-sparsity0_6-noise0_4",
    "cifar10-train-sparsity0_2-noise0_2",
)


def lower_noise(pattern: str) -> list[float]:
    print("\n## Lower noise rates (subsets: every correct row, a seeded share of the wrong ones)\n")
    scores = ("adjusted_normalized_margin", "posterior", "self_confidence", "normalized_margin")
    print(
        "| set | wrong | F1 cleanlab 2.9 | F1 default | F1 likeliest_errors | "
        + " | ".join(f"AUPRC {s}" for s in scores)
        + " |"
    )
    print("|---|---|---|---|---|" + "---|" * len(scores))
    gaps = []
    rng = np.random.default_rng(0)
    for name in SUBSET_SETS:
        path = CL / name
        if pattern not in name or not path.exists():
            continue
        labels0, probs0 = load(path)
        wrong0 = labels0 != np.load(path / "truth.npy")
        for rate in (0.05, 0.1, 0.2):
            ok, bad = np.flatnonzero(~wrong0), np.flatnonzero(wrong0)
            take = rng.choice(bad, min(int(rate * ok.size / (1 - rate)), bad.size), replace=False)
            rows = np.sort(np.concatenate([ok, take]))
            labels, probs, wrong = labels0[rows], probs0[rows], wrong0[rows]
            f1 = prf(find_label_issues(labels, probs), wrong)[2]
            f1_likeliest = prf(find_label_issues(labels, probs, filter_by="likeliest_errors"), wrong)[2]
            ref = cleanlab_default(labels, probs)
            ref_cell = "-"
            if ref is not None:
                ref_f1 = prf(ref[0], wrong)[2]
                gaps.append(f1 - ref_f1)
                ref_cell = f"{ref_f1:.3f}"
            aucs = [auprc(label_quality_scores(labels, probs, method=s), wrong) for s in scores]
            top = max(aucs)
            cells = " | ".join(f"**{a:.3f}**" if a == top else f"{a:.3f}" for a in aucs)
            print(f"| {name} | {rate:.0%} | {ref_cell} | {f1:.3f} | {f1_likeliest:.3f} | {cells} |")
            sys.stdout.flush()
    return gaps


def multilabel(pattern: str) -> dict[str, dict[str, float]]:
    from labelaudit.core.multilabel import find_multilabel_issues, multilabel_quality_scores

    try:
        from cleanlab.multilabel_classification.filter import find_label_issues as cl_ml_find
        from cleanlab.multilabel_classification.rank import get_label_quality_scores as cl_ml_scores
    except ImportError:
        cl_ml_find = cl_ml_scores = None
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_multilabel import synthetic

    problems = []
    for name in ("emotions", "scene"):
        if (ML / name).exists() and pattern in name:
            d = ML / name
            problems.append(
                (name, np.load(d / "labels.npy"), np.load(d / "pred_probs.npy"), np.load(d / "truth.npy"))
            )
    if pattern in "synthetic":
        for seed in range(3):
            given, probs, truth = synthetic(3000, 8, seed=seed, noise=0.08)
            problems.append((f"synthetic-{seed} (3000 x 8)", given, probs, truth))
    print("\n## Multi-label (an example is wrong when any tag is)\n")
    print("| set | method | flagged | P | R | F1 | AUPRC | best-threshold F1 |")
    print("|---|---|---|---|---|---|---|---|")
    facts: dict[str, dict[str, float]] = {}
    for name, given, probs, truth in problems:
        wrong = (given != truth).any(axis=1)
        given = given.astype(bool)
        rows = [
            (
                "labelaudit default",
                find_multilabel_issues(given, probs),
                multilabel_quality_scores(given, probs),
            )
        ]
        if cl_ml_find is not None:
            lists = [np.flatnonzero(r).tolist() for r in given]
            rows.append(
                ("cleanlab 2.9 default", cl_ml_find(lists, probs, n_jobs=1), cl_ml_scores(lists, probs))
            )
        for method, mask, quality in rows:
            p, r, f1 = prf(np.asarray(mask, dtype=bool), wrong)
            a, b = auprc(np.asarray(quality), wrong), best_f1(np.asarray(quality), wrong)
            print(
                f"| {name} | {method} | {int(np.sum(mask))} | {p:.3f} | {r:.3f} | {f1:.3f} | {a:.3f} | {b:.3f} |"
            )
            facts.setdefault(name, {})[method] = (f1, a)
        sys.stdout.flush()
    return facts


def targets(facts: dict[str, dict[str, float]], ml: dict[str, dict[str, float]], gaps: list[float]) -> None:
    print("\n## Targets (docs/defaults.md)\n")
    noisy = {k: v for k, v in facts.items() if v["errors"] > 0 and "ref_f1" in v}
    if noisy:
        worst = min(v["f1"] - v["ref_f1"] for v in noisy.values())
        mean = float(np.mean([v["f1"] - v["ref_f1"] for v in noisy.values()]))
        print(
            f"- default F1 - reference F1: worst {worst:+.3f} (target >= -0.005), mean {mean:+.3f} (target >= +0.03)"
        )
    real = {k: v for k, v in facts.items() if k.startswith("cifar10n")}
    if real:
        gap = max(v["best_self_confidence"] - v["f1"] for v in real.values())
        print(
            f"- CIFAR-10N: largest gap to the best-threshold F1 of self-confidence {gap:.3f} (target <= 0.02)"
        )
        gap = max(v["best"] - v["f1"] for v in real.values())
        print(f"- CIFAR-10N: largest gap to the best-threshold F1 of the default ranking {gap:.3f}")
    if gaps:
        print(
            f"- lower noise rates: default F1 - reference F1: worst {min(gaps):+.3f}, mean {float(np.mean(gaps)):+.3f}"
        )
    clean = [v for v in facts.values() if v["errors"] == 0 and "ref_flagged" in v]
    for v in clean:
        print(f"- clean set: default flags {v['flagged']}, reference {v['ref_flagged']} (target <= half)")
    eces = [v["ece"] for v in facts.values() if v.get("ece") is not None]
    if eces:
        print(
            f"- error_probability ECE: worst {max(eces):.3f}, median {float(np.median(eces)):.3f} (target < 0.05)"
        )
    for name, rows in ml.items():
        if "cleanlab 2.9 default" in rows:
            (f, a), (rf, ra) = rows["labelaudit default"], rows["cleanlab 2.9 default"]
            print(f"- multi-label {name}: F1 {f:.3f} vs {rf:.3f}, AUPRC {a:.3f} vs {ra:.3f}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", default="", help="only the sets whose name contains this")
    ap.add_argument("--no-ranking", action="store_true", help="skip the ranking table")
    args = ap.parse_args()
    if not CL.exists():
        print(f"no development data under {DATA_DIR} (set LABELAUDIT_DATA)", file=sys.stderr)
        return 2
    facts = truth_sets(args.sets)
    reviewed_sets(args.sets)
    if not args.no_ranking:
        ranking(args.sets)
    gaps = lower_noise(args.sets)
    ml = multilabel(args.sets)
    targets(facts, ml, gaps)
    return 0


if __name__ == "__main__":
    sys.exit(main())
