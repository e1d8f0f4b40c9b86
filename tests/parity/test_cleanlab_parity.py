"""compat="cleanlab" reproduces cleanlab 2.9 exactly: masks, scores, confident joint, noise matrices.

cleanlab is used here only as a test oracle.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

cleanlab = pytest.importorskip("cleanlab")
from cleanlab.count import compute_confident_joint as cl_joint  # noqa: E402
from cleanlab.count import estimate_latent as cl_latent  # noqa: E402
from cleanlab.count import num_label_issues as cl_num_issues  # noqa: E402
from cleanlab.filter import find_label_issues as cl_find  # noqa: E402
from cleanlab.rank import get_label_quality_scores as cl_scores  # noqa: E402

from labelaudit.core.confident import compute_confident_joint, estimate_noise_matrices  # noqa: E402
from labelaudit.core.filter import PAPER_FILTER_METHODS, find_label_issues  # noqa: E402
from labelaudit.core.scores import label_quality_scores, num_label_issues  # noqa: E402
from labelaudit.errors import LabelauditWarning  # noqa: E402

pytestmark = pytest.mark.parity

SCORE_CASES = [
    ("self_confidence", False),
    ("self_confidence", True),
    ("normalized_margin", False),
    ("normalized_margin", True),
    ("confidence_weighted_entropy", False),
]


def random_problem(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Various N, K, imbalance, missing classes, ties (quantised probabilities), float32/float64."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(50, 2500))
    k = int(rng.integers(2, 15))
    prior = rng.dirichlet(np.ones(k) * rng.choice([0.3, 1.0, 5.0]))
    if seed % 4 == 0 and k > 2:
        prior[rng.integers(0, k)] = 0  # a class nobody is labelled with
        prior /= prior.sum()
    true = rng.choice(k, n, p=prior)
    logits = rng.normal(0, 1, (n, k))
    logits[np.arange(n), true] += rng.uniform(0.5, 4)
    probs = np.exp(logits / rng.choice([0.1, 0.5, 1.0]) * 0.3)
    probs /= probs.sum(axis=1, keepdims=True)
    if seed % 3 == 0:
        probs = np.round(probs * 20) / 20
        probs /= probs.sum(axis=1, keepdims=True)
    labels = true.copy()
    flip = rng.random(n) < rng.uniform(0, 0.5)
    labels[flip] = rng.choice(k, int(flip.sum()), p=prior)
    return labels, probs.astype(np.float32 if seed % 2 == 0 else np.float64)


def assert_parity(labels: np.ndarray, probs: np.ndarray) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref_raw = cl_joint(labels, probs, calibrate=False)
        ref_cal = cl_joint(labels, probs)
        np.testing.assert_array_equal(
            compute_confident_joint(labels, probs, calibrate=False, compat="cleanlab"), ref_raw
        )
        np.testing.assert_array_equal(compute_confident_joint(labels, probs, compat="cleanlab"), ref_cal)

        py, noise, inverse = cl_latent(ref_cal, labels)
        est = estimate_noise_matrices(labels, probs, compat="cleanlab")
        np.testing.assert_allclose(est.noise_matrix, noise, atol=1e-12)
        np.testing.assert_allclose(est.inverse_noise_matrix, inverse.T, atol=1e-12)  # ours is [given, true]
        np.testing.assert_allclose(est.prior_true, py, atol=1e-12)
        np.testing.assert_allclose(est.joint, ref_cal / ref_cal.sum(), atol=1e-15)

        assert num_label_issues(labels, probs, compat="cleanlab") == cl_num_issues(labels, probs)

        for rule in PAPER_FILTER_METHODS:
            ours = find_label_issues(labels, probs, filter_by=rule, compat="cleanlab")
            ref = cl_find(labels, probs, filter_by=rule, n_jobs=1)
            assert np.array_equal(ours, ref), (rule, int((ours != ref).sum()), int(ref.sum()))
        # no rule named: the reference's default
        assert np.array_equal(
            find_label_issues(labels, probs, compat="cleanlab"), cl_find(labels, probs, n_jobs=1)
        )

        for method, adjust in SCORE_CASES:
            ours = label_quality_scores(
                labels, probs, method=method, adjust_pred_probs=adjust, compat="cleanlab"
            )
            ref = cl_scores(labels, probs, method=method, adjust_pred_probs=adjust)
            np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-6, err_msg=f"{method} adjust={adjust}")


@pytest.mark.parametrize("seed", range(24))
def test_random_problems(seed):
    assert_parity(*random_problem(seed))


def test_frac_noise_and_min_examples_per_class():
    labels, probs = random_problem(5)
    for frac, keep in ((0.5, 1), (0.77, 3), (1.0, 10)):
        for rule in ("prune_by_noise_rate", "prune_by_class", "both"):
            ours = find_label_issues(
                labels, probs, filter_by=rule, frac_noise=frac, min_examples_per_class=keep, compat="cleanlab"
            )
            ref = cl_find(
                labels, probs, filter_by=rule, frac_noise=frac, min_examples_per_class=keep, n_jobs=1
            )
            assert np.array_equal(ours, ref), (rule, frac, keep)


DATA_SETS = [
    "mnist-test",
    "cifar10-test",
    "20news-test",
    "imdb-test",
    "cifar10-train-sparsity0_0-noise0_2",
    "cifar10-train-sparsity0_4-noise0_6",
]


@pytest.mark.data
@pytest.mark.parametrize("name", DATA_SETS)
def test_development_data(data_dir, name):
    folder = data_dir / "cl" / name
    labels = np.load(folder / "labels.npy")
    # cleanlab rejects values a float32 ulp above 1 (imdb-test has some); labelaudit accepts them
    probs = np.clip(np.load(folder / "pred_probs.npy"), 0, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LabelauditWarning)
        assert_parity(labels, probs)
