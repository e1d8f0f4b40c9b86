"""The chunked (streaming) confident learning equals the in-memory one, row for row."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from labelaudit.core.filter import find_label_issues
from labelaudit.core.scores import SCORE_METHODS, label_quality_scores
from labelaudit.core.streaming import STREAMING_FILTERS, stream_label_issues, stream_summary
from labelaudit.core.summary import dataset_summary
from labelaudit.core.validate import check_inputs
from labelaudit.errors import InputError, InvalidProbabilitiesError, LabelauditWarning, UsageError

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "cifar10-test-slice.csv"
CHUNK_SIZES = (1, 7, 500, 10**6)


def _chunks(labels, probs, size):
    return lambda: ((labels[i : i + size], probs[i : i + size]) for i in range(0, len(labels), size))


def _fixture():
    frame = pd.read_csv(FIXTURE)
    columns = [c for c in frame.columns if c.startswith("p_")]
    lookup = {c[2:]: k for k, c in enumerate(columns)}
    return frame["label"].map(lookup).to_numpy(np.int64), frame[columns].to_numpy()


def _random(seed: int, n: int, k: int, dtype) -> tuple[np.ndarray, np.ndarray]:
    """Imbalanced classes, class k-1 absent, probabilities rounded to 2 decimals (many ties)."""
    rng = np.random.default_rng(seed)
    labels = rng.choice(k, n, p=rng.dirichlet(np.full(k, 0.5)))
    labels[labels == k - 1] = 0
    logits = rng.normal(size=(n, k)) * 2
    logits[np.arange(n), labels] += 2
    probs = np.exp(logits)
    probs = np.round(probs / probs.sum(axis=1, keepdims=True), 2)
    probs = probs / probs.sum(axis=1, keepdims=True)
    return labels, probs.astype(dtype)


PROBLEMS = {
    "cifar10-slice": _fixture,
    "random-f32": lambda: _random(1, 600, 7, np.float32),
    "random-f64": lambda: _random(2, 600, 5, np.float64),
    "random-f32-k3": lambda: _random(3, 400, 3, np.float32),
}


@pytest.fixture(scope="module", params=sorted(PROBLEMS))
def problem(request):
    labels, probs = PROBLEMS[request.param]()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LabelauditWarning)
        check_inputs(labels, probs)
    return labels, probs


@pytest.mark.parametrize("size", CHUNK_SIZES)
def test_masks_equal_in_memory_for_every_rule(problem, size: int) -> None:
    labels, probs = problem
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LabelauditWarning)
        for filter_by in STREAMING_FILTERS:
            for frac in (1.0, 0.4):
                expected = find_label_issues(labels, probs, filter_by=filter_by, frac_noise=frac)
                got = stream_label_issues(_chunks(labels, probs, size), filter_by=filter_by, frac_noise=frac)
                assert np.array_equal(got.issues, expected), (filter_by, frac, size)


@pytest.mark.parametrize("size", (7, 10**6))
def test_scores_ranks_and_summary_equal_in_memory(problem, size: int) -> None:
    labels, probs = problem
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LabelauditWarning)
        for method in SCORE_METHODS:
            got = stream_label_issues(_chunks(labels, probs, size), score=method)
            assert np.array_equal(got.quality, label_quality_scores(labels, probs, method=method)), method
        assert np.array_equal(got.predicted, probs.argmax(axis=1))
        assert np.array_equal(got.labels, labels)
        issues = find_label_issues(labels, probs)
        expected = dataset_summary(labels, probs, class_names=None, issues=issues)
    assert stream_summary(got, issues=got.issues) == expected


@pytest.mark.parametrize("size", (7, 10**6))
def test_error_probability_equals_in_memory(problem, size: int) -> None:
    from labelaudit.core.posterior import error_probability

    labels, probs = problem
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LabelauditWarning)
        got = stream_label_issues(_chunks(labels, probs, size))
        expected = error_probability(labels, probs)
    assert got.error_probability.dtype == np.float64
    assert np.array_equal(got.error_probability, expected)


def test_min_examples_per_class_is_honoured() -> None:
    labels, probs = _random(5, 300, 4, np.float64)
    for filter_by in (
        "prune_by_noise_rate",
        "prune_by_class",
        "both",
        "posterior",
        "noise_rate_or_posterior",
    ):
        expected = find_label_issues(labels, probs, filter_by=filter_by, min_examples_per_class=150)
        got = stream_label_issues(_chunks(labels, probs, 13), filter_by=filter_by, min_examples_per_class=150)
        assert np.array_equal(got.issues, expected), filter_by


def test_normalize_matches_check_inputs_then_in_memory() -> None:
    labels, probs = _random(4, 300, 4, np.float64)
    probs[250] *= 0.5
    with pytest.warns(LabelauditWarning, match=r"row 250 sums to .*renormalised"):
        got = stream_label_issues(_chunks(labels, probs, 64), normalize=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LabelauditWarning)
        lab, normed = check_inputs(labels, probs, normalize=True)
    assert np.array_equal(got.issues, find_label_issues(lab, normed))
    assert np.array_equal(got.quality, label_quality_scores(lab, normed))


def test_errors_and_warnings_name_global_rows() -> None:
    labels, probs = _random(6, 300, 4, np.float64)
    bad = probs.copy()
    bad[277, 0] += bad[277, 2] + 0.25  # keeps the row sum at 1: negative, not logits
    bad[277, 2] = -0.25
    with pytest.raises(InvalidProbabilitiesError, match=r"pred_probs\[277, 2\] = -0.25 is negative"):
        stream_label_issues(_chunks(labels, bad, 50))
    nan = probs.copy()
    nan[201, 1] = np.nan
    with pytest.raises(InvalidProbabilitiesError, match=r"pred_probs\[201, 1\] is NaN"):
        stream_label_issues(_chunks(labels, nan, 50))
    off = probs.copy()
    off[123] *= 0.5
    with pytest.warns(LabelauditWarning, match=r"1 of 300 rows .* row 123 sums to"):
        stream_label_issues(_chunks(labels, off, 50))
    wrong = labels.copy()
    wrong[260] = 9
    with pytest.raises(InputError, match=r"labels\[260\] = 9 is outside \[0, 4\)"):
        stream_label_issues(_chunks(wrong, probs, 50))


def test_unsupported_parameters_need_the_in_memory_path() -> None:
    labels, probs = _random(7, 50, 3, np.float64)
    with pytest.raises(UsageError, match="in-memory"):
        stream_label_issues(_chunks(labels, probs, 10), compat="cleanlab")
    for rule in ("low_self_confidence", "low_normalized_margin"):
        with pytest.raises(UsageError, match="in-memory"):
            stream_label_issues(_chunks(labels, probs, 10), filter_by=rule)
    with pytest.raises(UsageError):
        stream_label_issues(_chunks(labels, probs, 10), filter_by="nope")
    with pytest.raises(InputError, match="no rows"):
        stream_label_issues(lambda: iter(()))
