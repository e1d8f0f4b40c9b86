"""Label-quality scores, the estimated number of issues, predictions and ranks.

Scores are in [0, 1]; lower means the given label is more likely wrong. ``self_confidence``,
``normalized_margin`` and ``confidence_weighted_entropy`` are those compared by Kuan & Mueller,
"Model-agnostic label quality scoring to detect real-world label errors" (ICML 2022 DataPerf workshop;
arXiv:2210.00112); the class-imbalance adjustment subtracts the per-class thresholds of confident
learning (Northcutt et al., JAIR 2021, Eq. 2) before renormalising; ``adjusted_normalized_margin``
names that adjustment applied to the normalized margin, the default outside ``compat="cleanlab"``: across
the development sets and their lower-noise subsets it is the ranking with the smallest loss to the best
one (docs/defaults.md). ``posterior`` is ``1 - error_probability`` (:mod:`labelaudit.core.posterior`):
the probability that the given label is right under the noise model confident learning estimates (the
best ranking at 20-70 % noise, not at 5-10 %).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from labelaudit.core import kernels
from labelaudit.core.confident import _calibrate, _check_joint, _confident_pass, _thresholds
from labelaudit.core.validate import check_compat, check_inputs, check_pred_probs, prepare_inputs
from labelaudit.errors import InputError, UsageError

if TYPE_CHECKING:
    from labelaudit.core.confident import _Pass

SCORE_METHODS: tuple[str, ...] = (
    "adjusted_normalized_margin",
    "posterior",
    "self_confidence",
    "normalized_margin",
    "confidence_weighted_entropy",
)

#: The score used when none is named: labelaudit's own, or the reference's under ``compat="cleanlab"``.
DEFAULT_SCORE = "adjusted_normalized_margin"
DEFAULT_SCORE_CLEANLAB = "self_confidence"


def default_score(compat: str) -> str:
    """The ``method`` of :func:`label_quality_scores` used when none is given, for a ``compat`` mode."""
    return DEFAULT_SCORE_CLEANLAB if compat == "cleanlab" else DEFAULT_SCORE


_CODES = {
    "self_confidence": kernels.SCORE_SELF_CONFIDENCE,
    "normalized_margin": kernels.SCORE_NORMALIZED_MARGIN,
    "confidence_weighted_entropy": kernels.SCORE_CONFIDENCE_WEIGHTED_ENTROPY,
}


def label_quality_scores(
    labels: Any,
    pred_probs: Any,
    *,
    method: str | None = None,
    adjust_pred_probs: bool = False,
    compat: str = "paper",
) -> np.ndarray:
    """One label-quality score per example; lower = more likely mislabelled.

    With ``k`` the given label and ``p`` the row of predicted probabilities:

    - ``self_confidence``: ``p[k]``.
    - ``normalized_margin``: ``(p[k] - max_{j != k} p[j] + 1) / 2``.
    - ``adjusted_normalized_margin``: ``normalized_margin`` with ``adjust_pred_probs=True``.
    - ``posterior``: ``1 - error_probability``, the probability that ``k`` is the true class given the
      model's row and the noise matrix estimated from the data (:func:`labelaudit.error_probability`).
    - ``confidence_weighted_entropy``: with ``x = H(p) / log(K) / max(p[k], 1e-6)`` (normalised
      entropy over self-confidence), ``log(1 + x) / x``; a one-hot row on its label scores 1.

    Parameters
    ----------
    labels : array_like of int, shape (N,)
    pred_probs : array_like of float, shape (N, K)
    method : str, optional
        One of ``SCORE_METHODS``. Default ``DEFAULT_SCORE`` (``"adjusted_normalized_margin"``), or
        ``"self_confidence"`` (the reference's default) with ``compat="cleanlab"``.
    adjust_pred_probs : bool, default False
        Replace ``p`` by ``(p - t + max(t)) / sum(p - t + max(t))`` with ``t`` the per-class thresholds
        (Northcutt et al. 2021, Eq. 2), which offsets class imbalance. Not available for
        ``confidence_weighted_entropy``. A class with no labelled example uses ``t = 1`` in
        ``compat="paper"`` and cleanlab's 2.0 in ``compat="cleanlab"``. Only for
        ``self_confidence`` and ``normalized_margin``.
    compat : {"paper", "cleanlab"}, default "paper"
        ``"cleanlab"`` reproduces cleanlab 2.9's ``rank.get_label_quality_scores`` including its edge
        cases (a zero-entropy row scores 0 for ``confidence_weighted_entropy``).

    Returns
    -------
    ndarray of float64, shape (N,)
    """
    check_compat(compat)
    method = default_score(compat) if method is None else method
    if method not in SCORE_METHODS:
        raise UsageError(f"unknown method={method!r}; choose one of: {', '.join(SCORE_METHODS)}")
    if adjust_pred_probs and method in ("confidence_weighted_entropy", "posterior"):
        raise UsageError(f"adjust_pred_probs=True is not supported with method={method!r}")
    if method == "adjusted_normalized_margin":
        method, adjust_pred_probs = "normalized_margin", True
    if method == "posterior":
        from labelaudit.core.posterior import error_probability

        return 1.0 - error_probability(labels, pred_probs, compat=compat)
    labels, pred_probs = check_inputs(labels, pred_probs)
    thresholds = np.zeros(1)
    shift = 0.0
    if adjust_pred_probs:
        t = _thresholds(labels, pred_probs, compat)[0]
        if compat == "paper":
            t = np.where(np.isfinite(t), t, 1.0)
        thresholds = np.ascontiguousarray(t, dtype=np.float64)
        shift = float(thresholds.max())
    return kernels.quality_scores(
        labels, pred_probs, _CODES[method], bool(adjust_pred_probs), thresholds, shift, compat == "cleanlab"
    )


def _num_issues(labels: np.ndarray, passed: _Pass, compat: str, confident_joint: np.ndarray | None) -> int:
    if compat == "cleanlab" and confident_joint is None:
        # cleanlab 2.9 "off_diagonal": examples in the off-diagonal of the uncalibrated joint whose
        # given label is not the model's top class
        g = passed.guess
        return int(np.count_nonzero((g >= 0) & (g != labels) & ~passed.label_is_top))
    cj = (
        confident_joint
        if confident_joint is not None
        else _calibrate(passed.raw_joint, passed.counts, compat)
    )
    cj = np.asarray(cj)
    return round(float(cj.sum() - np.trace(cj)))


def num_label_issues(
    labels: Any, pred_probs: Any, *, compat: str = "paper", confident_joint: Any = None
) -> int:
    """Estimated number of label issues (paper Sec. 3.1).

    ``compat="paper"``: the off-diagonal mass of the calibrated confident joint,
    ``sum_{i != j} C̃[i, j]`` (the estimate of ``N * (1 - trace(Q̂))``).
    ``compat="cleanlab"``: cleanlab 2.9's default (``estimation_method="off_diagonal"``): the
    number of examples in off-diagonal cells of the *uncalibrated* joint whose given label is not
    the model's top class.
    With ``confident_joint`` given, its off-diagonal sum (both modes).

    Returns
    -------
    int
    """
    check_compat(compat)
    if confident_joint is not None:
        labels, pred_probs = check_inputs(labels, pred_probs)
        cj = _check_joint(confident_joint, pred_probs.shape[1])
        return round(float(cj.sum() - np.trace(cj)))
    labels, pred_probs = prepare_inputs(labels, pred_probs)
    passed = _confident_pass(labels, pred_probs, compat, checked=False)
    return _num_issues(labels, passed, compat, None)


def predicted_labels(pred_probs: Any) -> np.ndarray:
    """The model's predicted class per example: row-wise argmax, ties to the lowest class index.

    Returns
    -------
    ndarray of int64, shape (N,)
    """
    return kernels.argmax_rows(check_pred_probs(pred_probs))


def rank_issues(scores: Any) -> np.ndarray:
    """Ranks of label-quality scores: 1 = lowest score = most suspicious.

    Equal scores are ranked by row index (stable), so the ranking is a permutation of ``1..N``.

    Returns
    -------
    ndarray of int64, shape (N,)
    """
    s = np.asarray(scores)
    if s.ndim != 1:
        raise InputError(f"scores must be 1-D; got shape {s.shape}")
    if s.dtype.kind not in "fiub":
        raise InputError(f"scores must be numeric; got dtype {s.dtype}")
    if s.dtype.kind == "f" and np.isnan(s).any():
        raise InputError(f"scores[{int(np.flatnonzero(np.isnan(s))[0])}] is NaN")
    order = np.argsort(s, kind="stable")
    ranks = np.empty(s.shape[0], dtype=np.int64)
    ranks[order] = np.arange(1, s.shape[0] + 1, dtype=np.int64)
    return ranks
