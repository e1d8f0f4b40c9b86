"""compat="cleanlab" reproduces cleanlab 2.9's multi-label module exactly: issue masks (per class and
per example, every filter_by) and aggregated label quality scores (every method and aggregation).

cleanlab is used here only as a test oracle.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

cleanlab = pytest.importorskip("cleanlab")
from cleanlab.multilabel_classification.filter import find_label_issues as cl_find  # noqa: E402
from cleanlab.multilabel_classification.filter import (  # noqa: E402
    find_multilabel_issues_per_class as cl_find_per_class,
)
from cleanlab.multilabel_classification.rank import get_label_quality_scores as cl_scores  # noqa: E402

from labelaudit.core import multilabel as ml  # noqa: E402

pytestmark = pytest.mark.parity

AGGREGATORS = {
    "ema": {"method": "exponential_moving_average", "alpha": 0.8},
    "softmin": {"method": "softmin", "temperature": 0.1},
    "min": {"method": np.min},
    "mean": {"method": np.mean},
}


def random_problem(seed: int) -> tuple[np.ndarray, np.ndarray, dict]:
    """Various N, K, class priors, noise; float32 or float64; some with ties (rounded
    probabilities) and some with non-default frac_noise / min_examples_per_class."""
    rng = np.random.default_rng(1000 + seed)
    n = int(rng.integers(80, 700))
    k = int(rng.integers(2, 9))
    prior = rng.uniform(0.05, 0.6, k)
    truth = rng.random((n, k)) < prior
    logit = np.where(truth, 1.0, -1.0) * rng.gamma(2.0, 1.0, (n, k)) + rng.normal(0.0, 1.3, (n, k))
    probs = 1.0 / (1.0 + np.exp(-logit))
    if seed % 3 == 0:
        probs = np.round(probs, 1 + seed % 2)  # heavy ties, exact 0.5s, 0s and 1s
    if seed % 2:
        probs = probs.astype(np.float32)
    tags = truth ^ (rng.random((n, k)) < rng.uniform(0.0, 0.12, k))
    for j in range(k):  # cleanlab needs both tag values in every class
        tags[j % n, j] = True
        tags[(j + 1) % n, j] = False
    kwargs: dict = {}
    if seed % 4 == 1:
        kwargs = {
            "frac_noise": float(rng.choice([0.3, 0.5, 0.7, 0.9])),
            "min_examples_per_class": int(rng.choice([1, 5, 30, 60])),
        }
    return tags, probs, kwargs


def lists_of(tags: np.ndarray) -> list[list[int]]:
    return [np.flatnonzero(r).tolist() for r in tags]


def check_masks(tags: np.ndarray, probs: np.ndarray, **kwargs) -> None:
    labels = lists_of(tags)
    for fb in ml.FILTER_METHODS:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref_per_class = np.asarray(cl_find_per_class(labels, probs, filter_by=fb, **kwargs))
            ref = cl_find(labels, probs, filter_by=fb, **kwargs)
            audit = ml.audit_multilabel(tags, probs, filter_by=fb, compat="cleanlab", **kwargs)
        if ref_per_class.shape != audit.per_class.shape:
            ref_per_class = ref_per_class.T
        np.testing.assert_array_equal(audit.per_class, ref_per_class, err_msg=f"{fb} per class")
        np.testing.assert_array_equal(audit.is_issue, ref, err_msg=f"{fb} examples")


def check_scores(tags: np.ndarray, probs: np.ndarray) -> None:
    labels = lists_of(tags)
    for method in ml.SCORE_METHODS:
        for agg, agg_kwargs in AGGREGATORS.items():
            ref = cl_scores(labels, probs, method=method, aggregator_kwargs=agg_kwargs)
            ours = ml.multilabel_quality_scores(tags, probs, method=method, aggregate=agg, compat="cleanlab")
            np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-6, err_msg=f"{method}/{agg}")


@pytest.mark.parametrize("seed", range(12))
def test_random_problems(seed):
    tags, probs, kwargs = random_problem(seed)
    check_masks(tags, probs, **kwargs)
    check_scores(tags, probs)


@pytest.mark.data
@pytest.mark.parametrize("name", ["emotions", "scene"])
def test_development_sets(data_dir, name):
    folder = data_dir / "multilabel" / name
    if not folder.is_dir():
        pytest.skip(f"{folder} not found")
    tags = np.load(folder / "labels.npy")
    probs = np.load(folder / "pred_probs.npy")
    check_masks(tags, probs)
    check_scores(tags, probs)
