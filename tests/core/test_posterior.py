"""error_probability: exact cases, calibration where the noise model holds, invariances, the posterior rules."""

from __future__ import annotations

import numpy as np
import pytest

from labelaudit.core.confident import estimate_noise_matrices
from labelaudit.core.filter import find_label_issues
from labelaudit.core.posterior import error_probability
from labelaudit.errors import InputError, UsageError


def _noisy_problem(seed: int, n: int, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Rows drawn from the model the posterior assumes: true class y* ~ p*(x), given label ~ T[:, y*],
    and a model that reports p(ỹ | x) = T p*(x). Returns (labels, pred_probs, truth, T)."""
    rng = np.random.default_rng(seed)
    p_true = rng.dirichlet(np.full(k, 0.3), n)
    truth = (rng.random(n)[:, None] > np.cumsum(p_true, axis=1)).sum(axis=1)
    noise = np.full((k, k), 0.25 / (k - 1))
    np.fill_diagonal(noise, 0.75)
    labels = np.array([rng.choice(k, p=noise[:, t]) for t in truth])
    return labels, p_true @ noise.T, truth, noise


def test_no_noise_means_no_errors():
    # an identity noise matrix says labels are never flipped, whatever the model thinks
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(4), 200)
    labels = rng.integers(0, 4, 200)
    assert (error_probability(labels, probs, noise_matrix=np.eye(4)) == 0).all()


def test_hand_example():
    # T = [[.8, .4], [.2, .6]] (columns: true class): the model says p(ỹ = 0 | x) = .6, which is exactly
    # T @ [.5, .5]; given label 0: p(y* = 0 | x, ỹ = 0) = .8 * .5 / .6 = 2/3
    noise = np.array([[0.8, 0.4], [0.2, 0.6]])
    got = error_probability(np.array([0, 1]), np.array([[0.6, 0.4], [0.6, 0.4]]), noise_matrix=noise)
    np.testing.assert_allclose(got, [1 / 3, 1 - 0.6 * 0.5 / 0.4], atol=1e-4)  # EM: linear convergence


def test_calibrated_where_the_noise_model_holds():
    labels, probs, truth, noise = _noisy_problem(1, 20000, 4)
    wrong = labels != truth
    e = error_probability(labels, probs, noise_matrix=noise)
    bins = np.minimum((e * 10).astype(int), 9)
    ece = sum(abs(e[bins == b].mean() - wrong[bins == b].mean()) * (bins == b).sum() for b in np.unique(bins))
    assert ece / e.size < 0.02
    assert abs(e.sum() - wrong.sum()) < 0.03 * wrong.sum()


def test_estimated_noise_matrix_is_the_default():
    labels, probs, _truth, _noise = _noisy_problem(2, 3000, 3)
    est = estimate_noise_matrices(labels, probs)
    np.testing.assert_array_equal(
        error_probability(labels, probs), error_probability(labels, probs, noise_matrix=est.noise_matrix)
    )


def test_rows_are_independent_of_order_and_dtype():
    labels, probs, _truth, noise = _noisy_problem(3, 2000, 5)
    e = error_probability(labels, probs, noise_matrix=noise)
    perm = np.random.default_rng(0).permutation(labels.size)
    assert np.array_equal(error_probability(labels[perm], probs[perm], noise_matrix=noise), e[perm])
    assert np.array_equal(error_probability(labels[:700], probs[:700], noise_matrix=noise), e[:700])
    e32 = error_probability(labels, probs.astype(np.float32), noise_matrix=noise)
    np.testing.assert_allclose(e32, e, atol=1e-4)
    assert ((e >= 0) & (e <= 1)).all()


def test_posterior_rules():
    labels, probs, _truth, _noise = _noisy_problem(4, 4000, 4)
    e = error_probability(labels, probs)
    top = probs[np.arange(labels.size), labels] + 1e-6 >= probs.max(axis=1)
    posterior = find_label_issues(labels, probs, filter_by="posterior")
    np.testing.assert_array_equal(posterior, e > 0.5)
    pbnr = find_label_issues(labels, probs, filter_by="prune_by_noise_rate")
    union = find_label_issues(labels, probs, filter_by="noise_rate_or_posterior")
    np.testing.assert_array_equal(union, pbnr | posterior)
    assert not (pbnr & top).any()
    np.testing.assert_array_equal(find_label_issues(labels, probs), union)  # the default
    # likeliest_errors: as many as the union, the highest error probabilities
    likeliest = find_label_issues(labels, probs, filter_by="likeliest_errors")
    assert likeliest.sum() == union.sum()
    assert e[likeliest].min() >= e[~likeliest].max()
    # the reference's default under compat="cleanlab"
    np.testing.assert_array_equal(
        find_label_issues(labels, probs, compat="cleanlab"),
        find_label_issues(labels, probs, filter_by="prune_by_noise_rate", compat="cleanlab"),
    )


def test_min_examples_per_class_keeps_the_likeliest_correct():
    labels, probs, _truth, _noise = _noisy_problem(5, 400, 3)
    e = error_probability(labels, probs)
    full = find_label_issues(labels, probs, filter_by="posterior")
    keep = 120
    mask = find_label_issues(labels, probs, filter_by="posterior", min_examples_per_class=keep)
    counts = np.bincount(labels, minlength=3)
    assert (np.bincount(labels[~mask], minlength=3) >= np.minimum(counts, keep)).all()
    assert not (mask & ~full).any()
    dropped = full & ~mask
    assert dropped.any()
    for c in np.unique(labels[dropped]):  # the ones unflagged are the least likely errors of their class
        still = mask & (labels == c)
        assert not still.any() or e[dropped & (labels == c)].max() <= e[still].min()


def test_bad_arguments():
    labels, probs = np.array([0, 1]), np.array([[0.6, 0.4], [0.3, 0.7]])
    with pytest.raises(InputError, match=r"noise_matrix must have shape \(2, 2\)"):
        error_probability(labels, probs, noise_matrix=np.eye(3))
    with pytest.raises(InputError, match="noise_matrix"):
        error_probability(labels, probs, noise_matrix=np.array([[np.nan, 0], [0, 1]]))
    with pytest.raises(UsageError, match="compat"):
        error_probability(labels, probs, compat="nope")
    with pytest.raises(InputError):
        error_probability(np.array([0, 5]), probs)


def _contents(labels: np.ndarray, probs: np.ndarray, mask: np.ndarray) -> list[tuple]:
    return sorted((int(lab), tuple(row)) for lab, row in zip(labels[mask], probs[mask].tolist(), strict=True))


def test_posterior_rules_do_not_depend_on_row_order():
    # probabilities in eighths: many rows share an error probability, so the cut falls inside ties
    # (and every sum is exact, so the thresholds cannot depend on the order of summation either)
    labels, probs, _truth, _noise = _noisy_problem(6, 3000, 3)
    eighths = np.floor(probs * 8)
    short = (8 - eighths.sum(axis=1)).astype(int)
    order = np.argsort(-(probs * 8 - eighths), axis=1, kind="stable")
    for i in range(labels.size):
        eighths[i, order[i, : short[i]]] += 1
    probs = eighths / 8
    perm = np.random.default_rng(1).permutation(labels.size)
    for rule in ("likeliest_errors", "noise_rate_or_posterior", "posterior"):
        for keep in (1, 900):
            mask = find_label_issues(labels, probs, filter_by=rule, min_examples_per_class=keep)
            shuffled = find_label_issues(
                labels[perm], probs[perm], filter_by=rule, min_examples_per_class=keep
            )
            # rows with identical content are interchangeable: compare what is flagged, as a multiset
            assert _contents(labels, probs, mask) == _contents(labels[perm], probs[perm], shuffled), (
                rule,
                keep,
            )


def test_equal_error_probabilities_are_cut_by_content_hash():
    from labelaudit.core.filter import posterior_rule_mask

    error = np.array([0.9, 0.7, 0.7, 0.7, 0.2, 0.2])
    labels = np.zeros(6, dtype=np.int64)
    top = np.zeros(6, dtype=bool)
    hashes = np.array([5, 30, 10, 20, 7, 3], dtype=np.uint64)
    # count 5 (four above 1/2, and row 4 from PBNR); of the two 0.2s the lower hash (row 5) is taken
    noise_rate = np.array([False, False, False, False, True, False])
    mask = posterior_rule_mask("likeliest_errors", noise_rate, error, labels, top, 0, hashes)
    assert np.flatnonzero(mask).tolist() == [0, 1, 2, 3, 5]
    # count 4; keeping 4 of the 6 unflags two of the three 0.7s: the lower hashes (rows 2 and 3)
    mask = posterior_rule_mask("likeliest_errors", np.zeros(6, dtype=bool), error, labels, top, 4, hashes)
    assert np.flatnonzero(mask).tolist() == [0, 1]


def test_support_limits_the_classes_per_row_only_beyond_ten():
    from labelaudit.core import posterior

    rng = np.random.default_rng(8)
    for k in (3, 10, 14):
        probs = rng.dirichlet(np.full(k, 0.5), 400)
        labels = rng.integers(0, k, 400)
        noise = rng.dirichlet(np.ones(k), k).T * 0.3 + np.eye(k) * 0.7  # columns sum to 1
        got = error_probability(labels, probs, noise_matrix=noise)
        full = posterior._error_probability_kernel(
            labels, probs, noise, k, posterior.MAX_ITERATIONS, posterior.TOLERANCE
        )
        if k <= posterior.SUPPORT:
            assert np.array_equal(got, full)
        else:  # the dropped classes hold little mass: close, not equal
            assert np.abs(got - full).max() < 0.2 and not np.array_equal(got, full)
