"""Thresholds, confident joint, calibration and noise matrices on hand-computed examples."""

from __future__ import annotations

import numpy as np
import pytest

from labelaudit.core.confident import (
    NoiseEstimate,
    _round_rows_paper,
    compute_confident_joint,
    estimate_noise_matrices,
    per_class_threshold,
)

# Six examples, three classes (float64 so that the hand arithmetic is exact).
# t = [mean(.7, .5), mean(.8, .3), mean(.6, .8)] = [.6, .55, .7]
# row 3 (label 1) has p0 = .6 == t0 exactly: ">=" counts it, as guessed class 0.
L = np.array([0, 0, 1, 1, 2, 2])
P = np.array(
    [
        [0.7, 0.2, 0.1],
        [0.5, 0.4, 0.1],
        [0.1, 0.8, 0.1],
        [0.6, 0.3, 0.1],
        [0.2, 0.2, 0.6],
        [0.1, 0.1, 0.8],
    ]
)

# Two classes reach their thresholds while the row maximum does not (t = [.9, .2, .2]).
L2 = np.array([0, 0, 1, 1, 2, 2])
P2 = np.array(
    [
        [0.95, 0.05, 0.0],
        [0.85, 0.1, 0.05],
        [0.1, 0.2, 0.7],
        [0.6, 0.2, 0.2],
        [0.5, 0.3, 0.2],
        [0.4, 0.4, 0.2],
    ]
)


def test_thresholds_are_per_class_mean_self_confidence():
    np.testing.assert_allclose(per_class_threshold(L, P), [0.6, 0.55, 0.7])


def test_missing_class_threshold_is_unreachable():
    labels = np.array([0, 0, 1, 1, 1, 1])
    t = per_class_threshold(labels, P)
    assert np.isinf(t[2]) and t[2] > 0
    assert per_class_threshold(labels, P, compat="cleanlab")[2] == 2.0
    # nothing is ever guessed as the missing class
    cj = compute_confident_joint(labels, P, calibrate=False)
    assert cj[:, 2].sum() == 0


def test_confident_joint_by_hand():
    raw = compute_confident_joint(L, P, calibrate=False)
    np.testing.assert_array_equal(raw, [[1, 0, 0], [1, 1, 0], [0, 0, 1]])
    cal = compute_confident_joint(L, P)
    # row sums become the label counts (2 each): [1,0,0] -> [2,0,0], [1,1,0] stays, [0,0,1] -> [0,0,2]
    np.testing.assert_array_equal(cal, [[2, 0, 0], [1, 1, 0], [0, 0, 2]])
    assert cal.dtype == np.int64
    np.testing.assert_array_equal(compute_confident_joint(L, P, compat="cleanlab"), cal)


def test_guess_rule_paper_vs_cleanlab():
    # paper: argmax among the classes at/above threshold (ties -> lowest index);
    # cleanlab: several confident classes -> argmax over all classes
    paper = compute_confident_joint(L2, P2, calibrate=False)
    np.testing.assert_array_equal(paper, [[1, 0, 0], [0, 1, 1], [0, 2, 1]])
    cleanlab = compute_confident_joint(L2, P2, calibrate=False, compat="cleanlab")
    np.testing.assert_array_equal(cleanlab, [[1, 0, 0], [1, 1, 1], [2, 0, 1]])


def test_diagonal_floor_only_for_present_classes_in_paper_mode():
    labels = np.array([0, 0, 0, 1, 1, 1])  # class 2 absent
    probs = np.array([[0.1, 0.8, 0.1]] * 3 + [[0.1, 0.8, 0.1]] * 3)
    raw = compute_confident_joint(labels, probs, calibrate=False)
    assert raw[0, 0] == 1  # no confident example of class 0, floored to 1
    assert raw[2, 2] == 0
    assert compute_confident_joint(labels, probs, calibrate=False, compat="cleanlab")[2, 2] == 1
    cal = compute_confident_joint(labels, probs)
    np.testing.assert_array_equal(cal.sum(axis=1), [3, 3, 0])


def test_calibration_rounding_is_exact_largest_remainder_with_low_column_ties():
    cj = np.array([[1, 1, 1], [1, 2, 0], [0, 0, 5]])
    out = _round_rows_paper(cj, np.array([4, 4, 7]))
    # row 0: 4/3 each -> floors 1,1,1, one left -> lowest column; row 1: 4/3, 8/3 -> 1, 2 (+1 to
    # the larger remainder .67 of column 1); row 2: all 7 on the diagonal
    np.testing.assert_array_equal(out, [[2, 1, 1], [1, 3, 0], [0, 0, 7]])


def test_calibrated_rows_sum_to_label_counts_on_random_data():
    rng = np.random.default_rng(1)
    for _ in range(20):
        k = int(rng.integers(2, 12))
        n = int(rng.integers(20, 500))
        probs = rng.dirichlet(np.ones(k) * 0.4, n)
        labels = rng.integers(0, k, n)
        for compat in ("paper", "cleanlab"):
            cal = compute_confident_joint(labels, probs, compat=compat)
            np.testing.assert_array_equal(cal.sum(axis=1), np.bincount(labels, minlength=k))
            assert cal.sum() == n and (cal >= 0).all()


def test_noise_matrices_by_hand():
    est = estimate_noise_matrices(L, P)
    assert isinstance(est, NoiseEstimate)
    np.testing.assert_allclose(est.joint, np.array([[2, 0, 0], [1, 1, 0], [0, 0, 2]]) / 6)
    np.testing.assert_allclose(est.noise_matrix, [[2 / 3, 0, 0], [1 / 3, 1, 0], [0, 0, 1]])
    np.testing.assert_allclose(est.inverse_noise_matrix, [[1, 0, 0], [0.5, 0.5, 0], [0, 0, 1]])
    np.testing.assert_allclose(est.prior_true, [3 / 6, 1 / 6, 2 / 6])
    np.testing.assert_allclose(est.prior_given, [1 / 3, 1 / 3, 1 / 3])
    with pytest.raises(AttributeError):
        est.joint = None  # frozen


def test_noise_matrices_always_stochastic_in_paper_mode():
    labels = np.array([0, 0, 0, 1, 1, 1])  # class 2 absent: identity column / row
    probs = np.array([[0.8, 0.1, 0.1]] * 3 + [[0.1, 0.8, 0.1]] * 3)
    est = estimate_noise_matrices(labels, probs)
    np.testing.assert_allclose(est.noise_matrix.sum(axis=0), 1.0)
    np.testing.assert_allclose(est.inverse_noise_matrix.sum(axis=1), 1.0)
    assert est.prior_true[2] == 0 and est.joint.sum() == pytest.approx(1.0)


def test_given_confident_joint_is_used():
    cj = np.array([[1, 1, 0], [0, 2, 0], [0, 0, 2]])
    est = estimate_noise_matrices(L, P, confident_joint=cj)
    np.testing.assert_array_equal(est.confident_joint, cj)
    np.testing.assert_allclose(est.joint, cj / 6)
