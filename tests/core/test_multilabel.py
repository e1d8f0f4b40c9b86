"""Multi-label auditing (labelaudit.core.multilabel): behaviour on small hand-built inputs, input
validation, aggregation, the summary, and the defaults against cleanlab's on the real data sets."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from labelaudit.core import multilabel as ml
from labelaudit.errors import InputError, InvalidProbabilitiesError, LabelauditWarning, UsageError


def planted(seed: int = 0, n_per: int = 30):
    """Three classes; clean tags with confident probabilities, plus planted errors.

    Returns (tags, probs, missing_truth, spurious_truth)."""
    rng = np.random.default_rng(seed)
    n = 4 * n_per
    k = 3
    truth = np.zeros((n, k), dtype=bool)
    for j in range(k):
        truth[rng.permutation(n)[: n // 3 + 5 * j], j] = True
    probs = np.where(truth, rng.uniform(0.75, 0.97, (n, k)), rng.uniform(0.02, 0.25, (n, k)))
    tags = truth.copy()
    missing = np.zeros_like(tags)
    spurious = np.zeros_like(tags)
    # example 0: tag 0 applies (p = 0.99) but was not given; example 1: tag 1 given, p = 0.01
    for i, j, kind in [(0, 0, "missing"), (1, 1, "spurious"), (2, 2, "missing"), (3, 0, "spurious")]:
        if kind == "missing":
            truth[i, j] = True
            tags[i, j] = False
            probs[i, j] = 0.99
            missing[i, j] = True
        else:
            truth[i, j] = False
            tags[i, j] = True
            probs[i, j] = 0.01
            spurious[i, j] = True
    return tags, probs, missing, spurious


def lists_of(tags: np.ndarray) -> list[list[int]]:
    return [np.flatnonzero(r).tolist() for r in tags]


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LabelauditWarning)
        yield


# --------------------------------------------------------------------------------------
# tag_issues on hand-built data
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("compat", ["paper", "cleanlab"])
def test_tag_issues_finds_exactly_the_planted_errors(compat):
    tags, probs, missing, spurious = planted()
    got_missing, got_spurious = ml.tag_issues(tags, probs, compat=compat)
    assert got_missing.dtype == bool and got_missing.shape == tags.shape
    np.testing.assert_array_equal(got_missing, missing)
    np.testing.assert_array_equal(got_spurious, spurious)
    flagged = ml.find_multilabel_issues(tags, probs, compat=compat)
    np.testing.assert_array_equal(np.flatnonzero(flagged), [0, 1, 2, 3])


def test_tag_issues_directions():
    # missing tags are never given; spurious tags always are
    tags, probs, _, _ = planted(seed=3)
    probs = probs.copy()
    rng = np.random.default_rng(1)
    probs[rng.random(probs.shape) < 0.1] = 0.5  # some ties at the decision point
    missing, spurious = ml.tag_issues(tags, probs)
    assert not (missing & tags.astype(bool)).any()
    assert not (spurious & ~tags.astype(bool)).any()
    per = ml.per_class_issues(tags, probs)
    np.testing.assert_array_equal(per, missing | spurious)


def test_tags_at_exactly_one_half_are_never_flagged():
    tags, probs, _, _ = planted()
    probs = probs.copy()
    probs[:, 1] = 0.5
    for fb in ("predicted_neq_given", "prune_by_noise_rate", "confident_learning"):
        per = ml.per_class_issues(tags, probs, filter_by=fb, compat="cleanlab")
        assert not per[:, 1].any(), fb


def test_list_of_lists_equals_matrix_input():
    tags, probs, _, _ = planted()
    for fb in ml.FILTER_METHODS:
        a = ml.audit_multilabel(tags, probs, filter_by=fb)
        b = ml.audit_multilabel(lists_of(tags), probs, filter_by=fb)
        c = ml.audit_multilabel(tags.astype(np.int8), probs.astype(np.float32), filter_by=fb)
        np.testing.assert_array_equal(a.per_class, b.per_class)
        np.testing.assert_array_equal(a.is_issue, b.is_issue)
        np.testing.assert_allclose(a.quality, b.quality)
        assert c.per_class.shape == a.per_class.shape


def test_audit_is_consistent():
    tags, probs, _, _ = planted(seed=5)
    for fb in ("prune_by_noise_rate", "prune_by_class", "both", "confident_learning", "predicted_neq_given"):
        a = ml.audit_multilabel(tags, probs, filter_by=fb)
        np.testing.assert_array_equal(a.is_issue, a.per_class.any(axis=1))
        np.testing.assert_array_equal(a.missing | a.spurious, a.per_class)
        assert a.quality.shape == (tags.shape[0],) and a.class_quality.shape == tags.shape
        assert a.joint.shape == (3, 2, 2)
        np.testing.assert_allclose(a.joint.sum(axis=(1, 2)), tags.shape[0])


def test_stricter_filters_flag_subsets():
    rng = np.random.default_rng(7)
    n, k = 400, 5
    truth = rng.random((n, k)) < 0.3
    probs = 1 / (1 + np.exp(-(np.where(truth, 1.5, -1.5) + rng.normal(0, 1.5, (n, k)))))
    tags = truth ^ (rng.random((n, k)) < 0.05)
    nr = ml.per_class_issues(tags, probs, filter_by="prune_by_noise_rate")
    pc = ml.per_class_issues(tags, probs, filter_by="prune_by_class")
    both = ml.per_class_issues(tags, probs, filter_by="both")
    np.testing.assert_array_equal(both, nr & pc)
    half = ml.per_class_issues(tags, probs, filter_by="prune_by_noise_rate", frac_noise=0.5)
    assert not (half & ~nr).any() and half.sum() < nr.sum()
    neq = ml.per_class_issues(tags, probs, filter_by="predicted_neq_given")
    assert not (nr & ~neq).any()  # every pruned tag is on the wrong side of 1/2


def test_min_examples_per_class_protects_small_groups():
    tags, probs, _, _ = planted()
    n = tags.shape[0]
    per = ml.per_class_issues(tags, probs, filter_by="prune_by_noise_rate", min_examples_per_class=n)
    assert not per.any()


def test_paper_without_calibration_matches_cleanlab_mode_on_untied_data():
    rng = np.random.default_rng(11)
    n, k = 300, 4
    truth = rng.random((n, k)) < 0.35
    probs = 1 / (1 + np.exp(-(np.where(truth, 2.0, -2.0) + rng.normal(0, 1.5, (n, k)))))
    tags = truth ^ (rng.random((n, k)) < 0.06)
    for fb in ml.FILTER_METHODS:
        a = ml.per_class_issues(tags, probs, filter_by=fb, calibration="none")
        b = ml.per_class_issues(tags, probs, filter_by=fb, compat="cleanlab")
        np.testing.assert_array_equal(a, b)


def test_empty_tag_rows_and_classes_without_tags():
    tags, probs, _, _ = planted()
    tags = tags.copy()
    tags[10:20] = False
    out = ml.find_multilabel_issues(tags, probs)
    assert out.shape == (tags.shape[0],)
    no_tags = tags.copy()
    no_tags[:, 2] = False
    with pytest.warns(LabelauditWarning, match="no given tags"):
        warnings.simplefilter("always", LabelauditWarning)
        _, spurious = ml.tag_issues(no_tags, probs)
    assert not spurious[:, 2].any()


def test_softmax_looking_rows_warn():
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(4), size=60)
    tags = probs == probs.max(axis=1, keepdims=True)
    with pytest.warns(LabelauditWarning, match="sums to 1"):
        warnings.simplefilter("always", LabelauditWarning)
        ml.find_multilabel_issues(tags, probs)


# --------------------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "pattern"),
    [
        (1.5, r"row 4, class 1 is 1\.5"),
        (-0.1, r"row 4, class 1 is -0\.1"),
        (np.nan, r"row 4, class 1 .*finite"),
        (np.inf, r"row 4, class 1 .*finite"),
    ],
)
def test_bad_probabilities_raise(value, pattern):
    tags, probs, _, _ = planted()
    probs = probs.copy()
    probs[4, 1] = value
    with pytest.raises(InvalidProbabilitiesError, match=pattern):
        ml.find_multilabel_issues(tags, probs)
    with pytest.raises(InvalidProbabilitiesError):
        ml.multilabel_quality_scores(tags, probs)


def test_logits_are_rejected_with_a_hint():
    tags, probs, _, _ = planted()
    with pytest.raises(InvalidProbabilitiesError, match="logits"):
        ml.find_multilabel_issues(tags, np.log(probs / (1 - probs)))


@pytest.mark.parametrize(
    ("labels", "probs_shape", "pattern"),
    [
        ("matrix_rows", (11, 3), "labels has 12 rows but pred_probs has 11"),
        ("matrix_cols", (12, 4), "labels has 3 columns but pred_probs has 4"),
        ("lists_rows", (11, 3), "labels has 12 rows but pred_probs has 11"),
        ("out_of_range", (12, 3), "labels row 5 has class 3, but pred_probs has 3 columns"),
        ("negative", (12, 3), "labels row 2 has class -1"),
        ("non_binary", (12, 3), r"labels row 1, class 2 is 2"),
        ("flat", (12, 3), "flat list of integers"),
        ("one_d", (12, 3), "labels is 1-D"),
        ("string_row", (12, 3), "labels row 0 is 'ab'"),
        ("float_class", (12, 3), "labels row 3 has 1.5: class indices must be integers"),
    ],
)
def test_bad_labels_raise(labels, probs_shape, pattern):
    rng = np.random.default_rng(0)
    probs = rng.random(probs_shape)
    matrix = np.zeros((12, 3), dtype=int)
    matrix[::2, 0] = 1
    lists = lists_of(matrix)
    if labels in ("matrix_rows", "matrix_cols"):
        arg = matrix
    elif labels == "lists_rows":
        arg = lists
    elif labels == "out_of_range":
        arg = [list(r) for r in lists]
        arg[5] = [0, 3]
    elif labels == "negative":
        arg = [list(r) for r in lists]
        arg[2] = [-1]
    elif labels == "non_binary":
        arg = matrix.copy()
        arg[1, 2] = 2
    elif labels == "flat":
        arg = list(range(12))
    elif labels == "one_d":
        arg = np.zeros(12, dtype=int)
    elif labels == "string_row":
        arg = ["ab", *lists[1:]]
    else:
        arg = [list(r) for r in lists]
        arg[3] = [1.5]
    with pytest.raises(InputError, match=pattern):
        ml.find_multilabel_issues(arg, probs)


def test_pred_probs_shape_errors():
    with pytest.raises(InputError, match="2-D"):
        ml.find_multilabel_issues([[0]], np.array([0.5, 0.2]))
    with pytest.raises(InputError, match="no rows"):
        ml.find_multilabel_issues(np.zeros((0, 2)), np.zeros((0, 2)))
    with pytest.raises(InvalidProbabilitiesError, match="numeric"):
        ml.find_multilabel_issues([[0]], np.array([["a", "b"]]))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"filter_by": "nope"},
        {"frac_noise": 0.0},
        {"frac_noise": 1.5},
        {"min_examples_per_class": -1},
        {"min_examples_per_class": 1.5},
        {"compat": "sklearn"},
        {"calibration": "isotonic"},
    ],
)
def test_bad_parameters_raise_usage_error(kwargs):
    tags, probs, _, _ = planted()
    with pytest.raises(UsageError):
        ml.find_multilabel_issues(tags, probs, **kwargs)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"method": "entropy"},
        {"aggregate": "max"},
        {"alpha": 0.0},
        {"alpha": 1.2},
        {"temperature": 0.0},
        {"temperature": float("nan")},
    ],
)
def test_bad_score_parameters_raise_usage_error(kwargs):
    tags, probs, _, _ = planted()
    with pytest.raises(UsageError):
        ml.multilabel_quality_scores(tags, probs, **kwargs)


def test_errors_are_value_errors_with_one_line_messages():
    tags, probs, _, _ = planted()
    probs = probs.copy()
    probs[0, 0] = 2.0
    with pytest.raises(ValueError) as info:
        ml.find_multilabel_issues(tags, probs)
    assert "\n" not in str(info.value)


# --------------------------------------------------------------------------------------
# scores and aggregation
# --------------------------------------------------------------------------------------


def _ema(s: np.ndarray, alpha: float) -> np.ndarray:
    srt = -np.sort(-s, axis=1)
    e = srt[:, 0].copy()
    for t in range(1, srt.shape[1]):
        e = alpha * srt[:, t] + (1 - alpha) * e
    return e


@pytest.mark.parametrize("k", [3, 40])  # 40 > 32 takes the np.sort path of the kernel
def test_aggregations_match_their_definitions(k):
    rng = np.random.default_rng(2)
    n = 50
    probs = rng.random((n, k))
    tags = rng.random((n, k)) < 0.4
    s = np.where(tags, probs, 1 - probs)
    kw = {"calibration": "none"}
    np.testing.assert_allclose(ml.multilabel_quality_scores(tags, probs, **kw), _ema(s, 0.8))
    np.testing.assert_allclose(ml.multilabel_quality_scores(tags, probs, alpha=0.3, **kw), _ema(s, 0.3))
    np.testing.assert_allclose(ml.multilabel_quality_scores(tags, probs, alpha=1.0, **kw), s.min(axis=1))
    np.testing.assert_allclose(
        ml.multilabel_quality_scores(tags, probs, aggregate="min", **kw), s.min(axis=1)
    )
    np.testing.assert_allclose(
        ml.multilabel_quality_scores(tags, probs, aggregate="mean", **kw), s.mean(axis=1)
    )
    w = np.exp((1 - s) / 0.5)
    w /= w.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(
        ml.multilabel_quality_scores(tags, probs, aggregate="softmin", temperature=0.5, **kw),
        (w * s).sum(axis=1),
    )
    np.testing.assert_allclose(ml.per_class_quality_scores(tags, probs, **kw), s)


def test_ema_weights_the_worst_tag_most():
    tags = np.array([[1, 1, 1]])
    probs = np.array([[0.9, 0.8, 0.1]])
    # sorted high to low: 0.9, 0.8, 0.1 -> 0.9; 0.8*0.8+0.2*0.9 = 0.82; 0.8*0.1+0.2*0.82 = 0.244
    assert ml.multilabel_quality_scores(tags, probs, calibration="none")[0] == pytest.approx(0.244)


def test_score_methods_are_in_unit_interval_and_rank_planted_errors_first():
    tags, probs, missing, spurious = planted()
    wrong = (missing | spurious).any(axis=1)
    for method in ml.SCORE_METHODS:
        for compat in ("paper", "cleanlab"):
            q = ml.multilabel_quality_scores(tags, probs, method=method, compat=compat)
            assert q.shape == (tags.shape[0],) and np.all((q >= 0) & (q <= 1)), (method, compat)
            assert set(np.argsort(q, kind="stable")[: wrong.sum()]) == set(np.flatnonzero(wrong)), method


def test_entropy_score_limits():
    tags = np.array([[1, 0], [1, 0], [1, 1]])
    probs = np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]])
    s = ml.per_class_quality_scores(tags, probs, method="confidence_weighted_entropy", calibration="none")
    # a certain, correct tag is perfect; a certain, contradicted tag is worthless
    np.testing.assert_allclose(s[0], [1.0, 1.0])
    np.testing.assert_allclose(s[1], [0.0, 0.0])
    np.testing.assert_allclose(s[2], np.log(3) / 2)


def test_calibration_is_monotone_per_class_and_softens_overconfidence():
    rng = np.random.default_rng(4)
    n, k = 3000, 3
    truth = rng.random((n, k)) < 0.3
    z = np.where(truth, 1.0, -1.0) + rng.normal(0, 1.0, (n, k))
    probs = 1 / (1 + np.exp(-3 * z))  # three times too confident
    cal = ml.calibrate_pred_probs(truth, probs)
    for j in range(k):
        order = np.argsort(probs[:, j])
        assert np.all(np.diff(cal[order, j]) >= -1e-12)
    # calibrated probabilities are closer to the observed frequencies at the top end
    top = probs[:, 0] > 0.95
    assert abs(cal[top, 0].mean() - truth[top, 0].mean()) < abs(probs[top, 0].mean() - truth[top, 0].mean())


def test_calibration_never_sharpens():
    rng = np.random.default_rng(5)
    n = 2000
    truth = rng.random((n, 2)) < 0.4
    z = np.where(truth, 2.0, -2.0) + rng.normal(0, 1.0, (n, 2))
    probs = 1 / (1 + np.exp(-z / 4))  # under-confident
    audit = ml.audit_multilabel(truth, probs)
    assert audit.platt is not None
    assert np.all(audit.platt[0] <= 1.0 + 1e-12)


# --------------------------------------------------------------------------------------
# summary
# --------------------------------------------------------------------------------------


def test_summary_is_json_and_consistent():
    tags, probs, missing, spurious = planted()
    summary = ml.multilabel_summary(tags, probs, class_names=["cat", "dog", "car"])
    json.dumps(summary)
    assert summary["num_examples"] == tags.shape[0]
    assert summary["num_classes"] == 3
    assert summary["num_issues"] == 4
    assert summary["health_score"] == pytest.approx(1 - 4 / tags.shape[0])
    names = [c["class"] for c in summary["classes"]]
    assert names == ["cat", "dog", "car"]
    cat = summary["classes"][0]
    assert cat["given_count"] == int(tags[:, 0].sum())
    assert cat["absent_but_should_be"]["count"] == 1
    assert cat["given_but_absent"]["count"] == 1
    assert cat["given_but_absent"]["rate"] == pytest.approx(1 / tags[:, 0].sum())
    assert 0 <= cat["noise_rate"] <= 1
    # reusing per-tag flags gives the same numbers
    per = ml.per_class_issues(tags, probs)
    again = ml.multilabel_summary(tags, probs, class_names=["cat", "dog", "car"], issues=per)
    assert again == summary
    pair = ml.multilabel_summary(tags, probs, class_names=["cat", "dog", "car"], issues=(missing, spurious))
    assert pair["num_issues"] == 4


def test_summary_rejects_wrong_names_and_issue_shapes():
    tags, probs, _, _ = planted()
    with pytest.raises(UsageError, match="class_names has 2 names"):
        ml.multilabel_summary(tags, probs, class_names=["a", "b"])
    with pytest.raises(InputError, match="per-tag mask"):
        ml.multilabel_summary(tags, probs, issues=np.zeros(tags.shape[0], dtype=bool))


def test_lazy_package_exports():
    import labelaudit

    assert labelaudit.find_multilabel_issues is ml.find_multilabel_issues
    assert labelaudit.multilabel_quality_scores is ml.multilabel_quality_scores


# --------------------------------------------------------------------------------------
# the defaults against cleanlab's on the development data
# --------------------------------------------------------------------------------------

# cleanlab 2.9 defaults (find_label_issues / get_label_quality_scores) on the development sets
CLEANLAB_DEFAULTS = {"emotions": (0.466, 0.477), "scene": (0.512, 0.555)}


@pytest.mark.data
@pytest.mark.parametrize("name", ["emotions", "scene"])
def test_defaults_beat_cleanlab_defaults(data_dir, name):
    from sklearn.metrics import average_precision_score

    folder = data_dir / "multilabel" / name
    if not folder.is_dir():
        pytest.skip(f"{folder} not found")
    tags = np.load(folder / "labels.npy")
    truth = np.load(folder / "truth.npy")
    probs = np.load(folder / "pred_probs.npy")
    wrong = (tags != truth).any(axis=1)

    def f1_ap(audit):
        tp = (wrong & audit.is_issue).sum()
        p, r = tp / audit.is_issue.sum(), tp / wrong.sum()
        return 2 * p * r / (p + r), average_precision_score(wrong, -audit.quality)

    ours_f1, ours_ap = f1_ap(ml.audit_multilabel(tags, probs))
    ref_f1, ref_ap = f1_ap(ml.audit_multilabel(tags, probs, compat="cleanlab"))
    assert (round(ref_f1, 3), round(ref_ap, 3)) == CLEANLAB_DEFAULTS[name]
    assert ours_f1 > ref_f1 + 0.02
    assert ours_ap > ref_ap + 0.02
