"""Label-quality scores, predicted labels, ranks and the estimated number of issues."""

from __future__ import annotations

import numpy as np
import pytest

from labelaudit.core.scores import (
    SCORE_METHODS,
    label_quality_scores,
    num_label_issues,
    predicted_labels,
    rank_issues,
)
from labelaudit.errors import InputError, UsageError

L = np.array([0, 1, 2, 0])
P = np.array([[0.7, 0.2, 0.1], [0.1, 0.6, 0.3], [0.2, 0.2, 0.6], [0.3, 0.3, 0.4]])


def test_self_confidence_and_normalized_margin_by_hand():
    np.testing.assert_allclose(label_quality_scores(L, P, method="self_confidence"), [0.7, 0.6, 0.6, 0.3])
    # the reference's default under compat="cleanlab"
    np.testing.assert_allclose(label_quality_scores(L, P, compat="cleanlab"), [0.7, 0.6, 0.6, 0.3], rtol=1e-6)
    nm = label_quality_scores(L, P, method="normalized_margin")
    np.testing.assert_allclose(
        nm, [(0.7 - 0.2 + 1) / 2, (0.6 - 0.3 + 1) / 2, (0.6 - 0.2 + 1) / 2, (0.3 - 0.4 + 1) / 2]
    )
    assert nm.dtype == np.float64


def test_confidence_weighted_entropy_by_hand():
    labels = np.array([0, 0, 0])
    probs = np.array([[0.5, 0.5], [0.9, 0.1], [1.0, 0.0]])
    s = label_quality_scores(labels, probs, method="confidence_weighted_entropy")
    h = -(0.9 * np.log(0.9) + 0.1 * np.log(0.1)) / np.log(2)
    x = h / 0.9
    np.testing.assert_allclose(s[:2], [np.log(3) / 2, np.log1p(x) / x])
    assert s[2] == 1.0  # a one-hot row on its label is the best possible score
    assert (
        label_quality_scores(labels, probs, method="confidence_weighted_entropy", compat="cleanlab")[2] == 0.0
    )


def test_adjusted_scores_subtract_thresholds_and_renormalise():
    t = np.array([0.5, 0.6, 0.6])  # class means of self-confidence
    q = P - t + t.max()
    q /= q.sum(axis=1, keepdims=True)
    sc = label_quality_scores(L, P, method="self_confidence", adjust_pred_probs=True)
    np.testing.assert_allclose(sc, q[np.arange(4), L])
    np.testing.assert_allclose(sc, [0.72727273, 0.54545455, 0.54545455, 0.36363636])


def test_score_parameter_errors():
    with pytest.raises(UsageError, match="self_confidence"):
        label_quality_scores(L, P, method="entropy")
    for method in ("confidence_weighted_entropy", "posterior"):
        with pytest.raises(UsageError, match="adjust_pred_probs"):
            label_quality_scores(L, P, method=method, adjust_pred_probs=True)
    assert SCORE_METHODS == (
        "adjusted_normalized_margin",
        "posterior",
        "self_confidence",
        "normalized_margin",
        "confidence_weighted_entropy",
    )


def test_default_is_the_adjusted_normalized_margin_and_posterior_is_one_minus_error_probability():
    from labelaudit.core.posterior import error_probability

    rng = np.random.default_rng(3)
    labels = rng.integers(0, 3, 300)
    probs = rng.dirichlet(np.ones(3), 300)
    default = label_quality_scores(labels, probs)
    adjusted = label_quality_scores(labels, probs, method="normalized_margin", adjust_pred_probs=True)
    assert np.array_equal(default, adjusted)
    assert np.array_equal(label_quality_scores(labels, probs, method="adjusted_normalized_margin"), adjusted)
    posterior = label_quality_scores(labels, probs, method="posterior")
    assert np.array_equal(posterior, 1.0 - error_probability(labels, probs))


def test_predicted_labels_ties_to_lowest_index():
    probs = np.array([[0.4, 0.4, 0.2], [0.2, 0.4, 0.4], [0.1, 0.1, 0.8]], dtype=np.float32)
    out = predicted_labels(probs)
    assert out.dtype == np.int64 and out.tolist() == [0, 1, 2]


def test_rank_issues_ties_by_row_index():
    ranks = rank_issues(np.array([0.5, 0.1, 0.5, 0.1, 0.9]))
    assert ranks.dtype == np.int64
    assert ranks.tolist() == [3, 1, 4, 2, 5]
    with pytest.raises(InputError, match=r"scores\[1\] is NaN"):
        rank_issues(np.array([0.1, np.nan]))


def test_num_label_issues_is_calibrated_off_diagonal():
    labels = np.array([0, 0, 1, 1, 2, 2])
    probs = np.array(
        [[0.7, 0.2, 0.1], [0.5, 0.4, 0.1], [0.1, 0.8, 0.1], [0.6, 0.3, 0.1], [0.2, 0.2, 0.6], [0.1, 0.1, 0.8]]
    )
    assert num_label_issues(labels, probs) == 1
    assert num_label_issues(labels, probs, compat="cleanlab") == 1
    assert num_label_issues(labels, probs, confident_joint=np.array([[1, 1, 0], [0, 2, 0], [1, 0, 1]])) == 2
