"""find_label_issues: hand examples, brute-force references for the selections, memory, paper masks."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest

from labelaudit.core import kernels
from labelaudit.core.confident import _calibrate, _confident_pass
from labelaudit.core.filter import FILTER_METHODS, _prune_counts, find_label_issues
from labelaudit.errors import LabelauditWarning, UsageError

REPO = Path(__file__).resolve().parents[2]
CL_RULES = ("prune_by_noise_rate", "prune_by_class", "both", "confident_learning", "predicted_neq_given")

L = np.array([0, 0, 1, 1, 2, 2])
P = np.array(
    [[0.7, 0.2, 0.1], [0.5, 0.4, 0.1], [0.1, 0.8, 0.1], [0.6, 0.3, 0.1], [0.2, 0.2, 0.6], [0.1, 0.1, 0.8]]
)


@pytest.mark.parametrize("rule", FILTER_METHODS)
@pytest.mark.parametrize("compat", ["paper", "cleanlab"])
def test_hand_example_flags_row_3(rule, compat):
    # calibrated joint [[2,0,0],[1,1,0],[0,0,2]]: one example labelled 1 is really 0; row 3
    # (p = .6, .3, .1, label 1) has the largest margin p0 - p1 and the lowest self-confidence
    mask = find_label_issues(L, P, filter_by=rule, compat=compat)
    assert mask.dtype == bool
    assert np.flatnonzero(mask).tolist() == [3]


def test_parameter_validation():
    with pytest.raises(
        UsageError,
        match="unknown filter_by='nope'; choose one of: noise_rate_or_posterior, likeliest_errors, posterior, ",
    ):
        find_label_issues(L, P, filter_by="nope")
    for frac in (0, 1.5, -1, "x"):
        with pytest.raises(UsageError, match="frac_noise"):
            find_label_issues(L, P, frac_noise=frac)
    with pytest.raises(UsageError, match="min_examples_per_class"):
        find_label_issues(L, P, min_examples_per_class=-1)
    assert len(FILTER_METHODS) == 10


def _problem(seed: int, quantize: bool = False):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(30, 1500))
    k = int(rng.integers(2, 9))
    true = rng.integers(0, k, n)
    logits = rng.normal(0, 1, (n, k))
    logits[np.arange(n), true] += rng.uniform(0, 3)
    probs = np.exp(logits)
    probs /= probs.sum(axis=1, keepdims=True)
    if quantize:  # many exact ties
        probs = np.round(probs * 10) / 10
        probs /= probs.sum(axis=1, keepdims=True)
    labels = true.copy()
    flip = rng.random(n) < rng.uniform(0.05, 0.5)
    labels[flip] = rng.integers(0, k, int(flip.sum()))
    return labels, probs.astype(np.float32 if seed % 2 else np.float64)


def _reference_selections(labels, probs, per_cell, per_class):
    """Brute force: per cell the largest margins (exact), per class the lowest self-confidence;
    equal keys go to the lower hash of the row's content, then the lower row index."""
    from labelaudit.core.kernels import row_hash

    pbnr = np.zeros(len(labels), bool)
    pbc = np.zeros(len(labels), bool)
    p = probs.astype(np.float64)
    hashes = np.array([row_hash(labels[i], probs[i]) for i in range(len(labels))], dtype=np.uint64)
    for c in range(p.shape[1]):
        rows = np.flatnonzero(labels == c)
        for j in range(p.shape[1]):
            if j != c and per_cell[c, j] > 0:
                margin = p[rows, j] - p[rows, c]
                pbnr[rows[np.lexsort((rows, hashes[rows], -margin))[: per_cell[c, j]]]] = True
        if per_class[c] > 0:
            pbc[rows[np.lexsort((rows, hashes[rows], p[rows, c]))[: per_class[c]]]] = True
    return pbnr, pbc


@pytest.mark.parametrize("seed", range(16))
def test_paper_selections_match_brute_force(seed):
    labels, probs = _problem(seed, quantize=seed % 4 == 0)
    for frac, keep in ((1.0, 1), (0.5, 1), (1.0, 5)):
        passed = _confident_pass(labels, probs, "paper")
        cj = _calibrate(passed.raw_joint, passed.counts, "paper")
        per_cell, per_class = _prune_counts(cj, passed.counts, frac, keep, "paper")
        pbnr, pbc = _reference_selections(labels, probs, per_cell, per_class)
        top = passed.label_is_top
        kw = {"frac_noise": frac, "min_examples_per_class": keep}
        np.testing.assert_array_equal(
            find_label_issues(labels, probs, filter_by="prune_by_noise_rate", **kw), pbnr & ~top
        )
        np.testing.assert_array_equal(
            find_label_issues(labels, probs, filter_by="prune_by_class", **kw), pbc & ~top
        )
        np.testing.assert_array_equal(
            find_label_issues(labels, probs, filter_by="both", **kw), pbnr & pbc & ~top
        )


def test_nonpositive_margin_phase_is_exercised_and_exact():
    # a cell asking for more examples than have a positive margin must take margins <= 0 too
    labels = np.array([0] * 6)
    probs = np.array(
        [[0.6, 0.4], [0.7, 0.3], [0.5, 0.5], [0.3, 0.7], [0.9, 0.1], [0.5, 0.5]], dtype=np.float32
    )
    num = np.array([[0, 4], [0, 0]])
    p = _confident_pass(labels, probs, "paper")
    mask = kernels.select_by_margin(labels, probs, num, p.top, p.cand, p.cand_margin, p.n_cand)
    # margins p1 - p0: [-.2, -.4, 0, .4, -.8, 0] -> .4 (row 3), then 0 (rows 2, 5), then -.2 (row 0)
    assert np.flatnonzero(mask).tolist() == [0, 2, 3, 5]


def test_label_that_is_the_top_class_is_never_flagged():
    for seed in range(6):
        labels, probs = _problem(seed, quantize=True)
        p = probs.astype(np.float64)
        top = p[np.arange(len(labels)), labels] + 1e-6 >= p.max(axis=1)
        for compat in ("paper", "cleanlab"):
            for rule in CL_RULES:
                mask = find_label_issues(labels, probs, filter_by=rule, compat=compat)
                assert not (mask & top).any(), (seed, compat, rule)


def test_frac_noise_and_min_examples_per_class():
    labels, probs = _problem(3)
    full = find_label_issues(labels, probs, filter_by="prune_by_class")
    half = find_label_issues(labels, probs, filter_by="prune_by_class", frac_noise=0.5)
    assert half.sum() < full.sum() and not (half & ~full).any()
    keep = 40
    counts = np.bincount(labels)
    mask = find_label_issues(labels, probs, min_examples_per_class=keep)
    kept = np.bincount(labels[~mask], minlength=len(counts))
    assert (kept >= np.minimum(counts, keep)).all()


def test_given_confident_joint_reproduces_default():
    from labelaudit.core.confident import compute_confident_joint

    labels, probs = _problem(5)
    cj = compute_confident_joint(labels, probs)
    for rule in ("prune_by_noise_rate", "prune_by_class", "both"):
        np.testing.assert_array_equal(
            find_label_issues(labels, probs, filter_by=rule, confident_joint=cj),
            find_label_issues(labels, probs, filter_by=rule),
        )


def test_repeatable_and_serial():
    labels, probs = _problem(7)
    first = find_label_issues(labels, probs)
    assert all(np.array_equal(first, find_label_issues(labels, probs)) for _ in range(3))
    # no kernel uses prange, so results cannot depend on the numba thread count
    for name in ("confident_pass", "_positive_margin_phase", "scan_probabilities", "quality_scores"):
        assert not getattr(kernels, name).targetoptions.get("parallel", False)


def test_float32_input_is_not_copied(tmp_path):
    """Peak extra memory for 200k x 50 float32 (40 MB) stays far below one copy of the matrix."""
    rng = np.random.default_rng(0)
    n, k = 200_000, 50
    probs = rng.dirichlet(np.ones(k) * 0.2, n).astype(np.float32)
    labels = rng.integers(0, k, n)
    np.save(tmp_path / "p.npy", probs)
    np.save(tmp_path / "l.npy", labels)
    script = textwrap.dedent(
        f"""
        import resource, numpy as np, psutil
        from labelaudit.core.filter import find_label_issues
        from labelaudit.core.scores import label_quality_scores
        from labelaudit.core.summary import dataset_summary
        from labelaudit.core.validate import check_inputs
        p = np.load({str(tmp_path / "p.npy")!r}); l = np.load({str(tmp_path / "l.npy")!r})
        find_label_issues(l[:500].copy(), p[:500].copy()); label_quality_scores(l[:500], p[:500])
        dataset_summary(l[:500], p[:500])
        base = max(psutil.Process().memory_info().rss, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
        assert check_inputs(l, p)[1] is p
        find_label_issues(l, p); label_quality_scores(l, p); dataset_summary(l, p)
        print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - base)
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, check=True)
    extra = int(out.stdout.strip().splitlines()[-1])
    assert extra < 0.35 * probs.nbytes, (
        f"extra {extra / 2**20:.1f} MB for a {probs.nbytes / 2**20:.0f} MB input"
    )


AGREEMENT_SETS = ["cifar10-train-sparsity0_0-noise0_6", "cifar10-train-sparsity0_4-noise0_4"]
PAPER_MASKS = {
    "cl_pbnr": "prune_by_noise_rate",
    "cl_pbc": "prune_by_class",
    "cl_both": "both",
    "argmax": "predicted_neq_given",
}


@pytest.mark.data
@pytest.mark.parametrize("name", AGREEMENT_SETS)
def test_agreement_with_published_paper_masks(data_dir, name):
    folder = data_dir / "cl" / name
    labels = np.load(folder / "labels.npy")
    probs = np.load(folder / "pred_probs.npy")
    for mask_name, rule in PAPER_MASKS.items():
        kept = np.load(folder / "paper_kept_masks" / f"{mask_name}.npy")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", LabelauditWarning)  # a few stored rows sum to 0.99
            issues = find_label_issues(labels, probs, filter_by=rule, compat="cleanlab")
        agreement = float((issues == ~kept).mean())
        assert agreement >= 0.99, (name, rule, agreement)
