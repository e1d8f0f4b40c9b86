"""Benchmark multi-label auditing against cleanlab 2.9, in the same run.

Two tables:

1. quality on ../shared/data/multilabel/{emotions,scene} (``labels.npy`` given tags, ``truth.npy`` true
   tags, ``pred_probs.npy``): an example is wrong when any of its tags differs from the truth.
   Precision, recall and F1 of the flagged examples, and AUPRC of the label quality score
   (``average_precision_score(wrong, -score)``), for cleanlab's defaults, labelaudit's defaults and
   labelaudit with ``compat="cleanlab"`` (which must equal cleanlab: the ``same`` column);
2. speed of ``find_label_issues`` on a synthetic 100,000 x 20 problem (``--small``: 20,000 x 20):
   cleanlab (list-of-lists labels, its only format, default ``n_jobs``) against labelaudit's default
   and ``compat="cleanlab"``, fed the N x K tag matrix, and the default fed the same list of lists.
   JIT compilation is done (and reported) before timing; each time is the best of ``--repeat`` runs.

Run:  .venv/bin/python benchmarks/bench_multilabel.py [--small] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from labelaudit.core import multilabel as ml

DATA = (
    Path(os.environ.get("LABELAUDIT_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
    / "multilabel"
)
SETS = ("emotions", "scene")


def synthetic(
    n: int, k: int, *, seed: int = 0, noise: float = 0.05
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Tags with class priors in [0.05, 0.6], noisy sigmoid-like probabilities, and a tag-flip rate up to
    ``noise`` per class.  Returns (given tags, pred_probs float32, true tags)."""
    rng = np.random.default_rng(seed)
    prior = rng.uniform(0.05, 0.6, k)
    truth = rng.random((n, k)) < prior
    logit = np.where(truth, 1.0, -1.0) * rng.gamma(2.0, 1.0, (n, k)) + rng.normal(0.0, 1.2, (n, k))
    probs = (1.0 / (1.0 + np.exp(-logit))).astype(np.float32)
    given = truth ^ (rng.random((n, k)) < noise * rng.random(k))
    return given, probs, truth


def _as_lists(tags: np.ndarray) -> list[list[int]]:
    return [np.flatnonzero(row).tolist() for row in tags]


def _prf(wrong: np.ndarray, flagged: np.ndarray) -> tuple[float, float, float]:
    tp = int((wrong & flagged).sum())
    p = tp / max(int(flagged.sum()), 1)
    r = tp / max(int(wrong.sum()), 1)
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def _best(fn, repeat: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def quality_table() -> None:
    from sklearn.metrics import average_precision_score

    try:
        from cleanlab.multilabel_classification.filter import find_label_issues
        from cleanlab.multilabel_classification.rank import get_label_quality_scores
    except ImportError:
        find_label_issues = get_label_quality_scores = None
        print("(cleanlab is not installed: its rows are skipped)")
    print("\nTable 1: label-error detection quality (example wrong = any tag differs from truth)")
    header = f"{'data':<9} {'method':<28} {'flagged':>7} {'P':>6} {'R':>6} {'F1':>6} {'AUPRC':>6}  same"
    print(header)
    print("-" * len(header))
    for name in SETS:
        folder = DATA / name
        if not (folder / "labels.npy").exists():
            print(f"{name:<9} (not found under {DATA})")
            continue
        tags = np.load(folder / "labels.npy")
        truth = np.load(folder / "truth.npy")
        probs = np.load(folder / "pred_probs.npy")
        wrong = (tags != truth).any(axis=1)
        rows = []
        ref_mask = ref_score = None
        if find_label_issues is not None:
            lists = _as_lists(tags)
            ref_mask = find_label_issues(lists, probs)
            ref_score = get_label_quality_scores(lists, probs)
            rows.append(("cleanlab 2.9 defaults", ref_mask, ref_score, ""))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ours = ml.audit_multilabel(tags, probs)
            compat = ml.audit_multilabel(tags, probs, compat="cleanlab")
        rows.append(("labelaudit defaults", ours.is_issue, ours.quality, ""))
        same = ""
        if ref_mask is not None:
            equal = np.array_equal(compat.is_issue, ref_mask) and np.allclose(
                compat.quality, ref_score, atol=1e-6
            )
            same = "yes" if equal else "NO"
        rows.append(('labelaudit compat="cleanlab"', compat.is_issue, compat.quality, same))
        for label, mask, score, flag in rows:
            p, r, f1 = _prf(wrong, mask)
            ap = average_precision_score(wrong, -score)
            print(
                f"{name:<9} {label:<28} {int(mask.sum()):>7d} {p:6.3f} {r:6.3f} {f1:6.3f} {ap:6.3f}  {flag}"
            )


def speed_table(n: int, k: int, repeat: int) -> None:
    try:
        from cleanlab.multilabel_classification.filter import find_label_issues
    except ImportError:
        find_label_issues = None
    tags, probs, _ = synthetic(n, k)
    lists = _as_lists(tags)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        ml.find_multilabel_issues(tags[:200], probs[:200])
        ml.find_multilabel_issues(tags[:200], probs[:200], compat="cleanlab")
        ml.multilabel_quality_scores(tags[:200], probs[:200])
        jit = time.perf_counter() - t0
        t_ours, m_ours = _best(lambda: ml.find_multilabel_issues(tags, probs), repeat)
        t_lists, _ = _best(lambda: ml.find_multilabel_issues(lists, probs), repeat)
        t_compat, m_compat = _best(lambda: ml.find_multilabel_issues(tags, probs, compat="cleanlab"), repeat)
        t_scores, _ = _best(lambda: ml.multilabel_quality_scores(tags, probs), repeat)
    t_ref = m_ref = None
    if find_label_issues is not None:
        t_ref, m_ref = _best(lambda: find_label_issues(lists, probs), 1 if n >= 50_000 else repeat)
    print(
        f"\nTable 2: find_label_issues speed on {n:,} x {k} (float32 probabilities; JIT warm-up {jit:.1f} s, "
        f"not timed; {os.cpu_count()} CPUs)"
    )
    header = f"{'implementation':<44} {'seconds':>8} {'flagged':>8} {'speed-up':>9}"
    print(header)
    print("-" * len(header))

    def row(label: str, seconds: float, mask: np.ndarray | None, extra: str = "") -> None:
        ratio = f"{t_ref / seconds:8.1f}x" if t_ref else "      n/a"
        flagged = f"{int(mask.sum()):>8d}" if mask is not None else f"{'':>8}"
        print(f"{label:<44} {seconds:8.3f} {flagged} {ratio} {extra}")

    if t_ref is not None:
        print(
            f"{'cleanlab 2.9 find_label_issues (lists)':<44} {t_ref:8.3f} {int(m_ref.sum()):>8d} {'1.0x':>9}"
        )
    row("labelaudit defaults (tag matrix)", t_ours, m_ours)
    row("labelaudit defaults (same lists)", t_lists, None)
    same = (
        ""
        if m_ref is None
        else ("(= cleanlab)" if np.array_equal(m_compat, m_ref) else "(DIFFERS from cleanlab)")
    )
    row('labelaudit compat="cleanlab" (tag matrix)', t_compat, m_compat, same)
    row("labelaudit quality scores, defaults", t_scores, None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--small", action="store_true", help="speed table on 20,000 x 20 instead of 100,000 x 20"
    )
    parser.add_argument("--repeat", type=int, default=3, help="timing repetitions (best is reported)")
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--skip-quality", action="store_true")
    args, _ = parser.parse_known_args(argv)
    if not args.skip_quality:
        quality_table()
    if not args.skip_speed:
        speed_table(20_000 if args.small else 100_000, 20, max(1, args.repeat))
    return 0


if __name__ == "__main__":
    sys.exit(main())
