"""Input checks: every bad input raises the right error naming the row / column."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from labelaudit.core.validate import check_inputs
from labelaudit.errors import InputError, InvalidProbabilitiesError, LabelauditWarning, UsageError

P = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.2, 0.2, 0.6], [0.3, 0.3, 0.4]], dtype=np.float32)
L = np.array([0, 1, 2, 2])


def test_valid_float32_input_is_returned_without_copy():
    labels = L.astype(np.int64)
    out_labels, out_probs = check_inputs(labels, P)
    assert out_probs is P
    assert out_labels is labels


def test_float64_kept_other_dtypes_converted_and_fortran_order_made_contiguous():
    p64 = P.astype(np.float64)
    assert check_inputs(L, p64)[1] is p64
    f_order = np.asfortranarray(p64)
    out = check_inputs(L, f_order)[1]
    assert out.flags.c_contiguous and np.array_equal(out, p64)
    half = check_inputs(L, P.astype(np.float16))[1]
    assert half.dtype == np.float64


@pytest.mark.parametrize("dtype", [np.int8, np.uint16, np.int32, np.float64, np.float32])
def test_label_dtypes_accepted_as_int64(dtype):
    out = check_inputs(L.astype(dtype), P)[0]
    assert out.dtype == np.int64 and out.tolist() == L.tolist()


def test_non_integral_float_label_names_row():
    with pytest.raises(InputError, match=r"labels\[1\] = 1.5"):
        check_inputs(np.array([0.0, 1.5, 2.0, 2.0]), P)


def test_label_outside_range_names_first_bad_row():
    with pytest.raises(InputError, match=r"labels\[2\] = 5 is outside \[0, 3\)"):
        check_inputs(np.array([0, 1, 5, -1]), P)
    with pytest.raises(InputError, match=r"labels\[3\] = -1"):
        check_inputs(np.array([0, 1, 2, -1]), P)


def test_shape_mismatch_and_bad_shapes():
    with pytest.raises(InputError, match="labels has 3 entries but pred_probs has 4 rows"):
        check_inputs(L[:3], P)
    with pytest.raises(InputError, match="2-D"):
        check_inputs(L, P[:, 0])
    with pytest.raises(InputError, match="at least 2 columns"):
        check_inputs(L, np.ones((4, 1)))
    with pytest.raises(InputError, match="no rows"):
        check_inputs(np.array([], dtype=int), np.zeros((0, 3)))
    with pytest.raises(InputError, match="integer class indices"):
        check_inputs(np.array(["a", "b", "c", "d"]), P)


@pytest.mark.parametrize(("value", "word"), [(np.nan, "NaN"), (np.inf, "infinite"), (-np.inf, "infinite")])
def test_nonfinite_value_names_row_and_column(value, word):
    p = P.copy()
    p[3, 1] = value
    with pytest.raises(InvalidProbabilitiesError, match=rf"pred_probs\[3, 1\] is {word}"):
        check_inputs(L, p)


def test_negative_value_in_rows_that_sum_to_one():
    p = P.astype(np.float64)
    p[2] = [1.2, -0.2, 0.0]
    with pytest.raises(InvalidProbabilitiesError, match=r"pred_probs\[2, 1\] = -0.2 is negative"):
        check_inputs(L, p)


def test_logits_detected():
    logits = np.array([[2.0, -1.0, 0.5], [0.1, 3.0, -2.0], [0.0, 0.0, 1.0], [1.0, 1.0, 1.0]])
    with pytest.raises(
        InvalidProbabilitiesError, match=r"looks like logits .*pred_probs\[0, 0\].*apply softmax"
    ):
        check_inputs(L, logits)


def test_rows_not_summing_to_one_warn_and_normalize():
    p = P.astype(np.float64)
    p[1] = [0.1, 0.5, 0.1]
    with pytest.warns(LabelauditWarning, match=r"1 of 4 rows .*row 1 sums to 0.7"):
        out = check_inputs(L, p)[1]
    assert out is p
    with pytest.warns(LabelauditWarning, match="renormalised"):
        out = check_inputs(L, p, normalize=True)[1]
    assert out is not p
    np.testing.assert_allclose(out.sum(axis=1), 1.0)
    np.testing.assert_allclose(out[1], np.array([0.1, 0.5, 0.1]) / 0.7)


def test_zero_row_cannot_be_normalised():
    p = P.astype(np.float64)
    p[2] = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_inputs(L, p)  # only a warning without normalize
    with pytest.raises(InvalidProbabilitiesError, match=r"row 2 .*sums to 0"):
        check_inputs(L, p, normalize=True)


def test_errors_are_value_errors_and_compat_checked():
    from labelaudit.core.filter import find_label_issues

    assert issubclass(InvalidProbabilitiesError, ValueError)
    with pytest.raises(UsageError, match="compat"):
        find_label_issues(L, P, compat="sklearn")


def _bad_inputs():
    nan = P.copy()
    nan[3, 1] = np.nan
    neg_inf = P.copy()
    neg_inf[2, 0] = -np.inf
    negative = P.astype(np.float64)
    negative[2] = [1.2, -0.2, 0.0]
    logits = np.array([[2.0, -1.0, 0.5], [0.1, 3.0, -2.0], [0.0, 0.0, 1.0], [1.0, 1.0, 1.0]])
    above = P.astype(np.float64)
    above[1] = [0.0, 1.5, -0.5]
    return [
        (nan, r"pred_probs\[3, 1\] is NaN"),
        (neg_inf, r"pred_probs\[2, 0\] is infinite"),
        (negative, r"pred_probs\[2, 1\] = -0.2 is negative"),
        (logits, r"looks like logits .*pred_probs\[0, 0\].*apply softmax"),
        (above, r"pred_probs\[1, 2\] = -0.5 is negative"),
    ]


@pytest.mark.parametrize("case", range(5))
@pytest.mark.parametrize("compat", ["paper", "cleanlab"])
def test_fused_pass_raises_the_same_errors(case, compat):
    """find_label_issues & co. check values inside their single pass: same errors as check_inputs."""
    from labelaudit.core.confident import compute_confident_joint
    from labelaudit.core.filter import find_label_issues
    from labelaudit.core.summary import dataset_summary

    probs, pattern = _bad_inputs()[case]
    with pytest.raises(InvalidProbabilitiesError, match=pattern):
        check_inputs(L, probs)
    for fn in (find_label_issues, compute_confident_joint, dataset_summary):
        with pytest.raises(InvalidProbabilitiesError, match=pattern):
            fn(L, probs, compat=compat)


def test_fused_pass_warns_like_check_inputs():
    from labelaudit.core.filter import find_label_issues

    p = P.astype(np.float64)
    p[1] = [0.1, 0.5, 0.1]
    with pytest.warns(LabelauditWarning, match=r"1 of 4 rows .*row 1 sums to 0.7"):
        find_label_issues(L, p)
    with pytest.raises(InputError, match=r"labels\[2\] = 7"):
        find_label_issues(np.array([0, 1, 7, 0]), P)
