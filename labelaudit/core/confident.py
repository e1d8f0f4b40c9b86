"""Confident learning: thresholds, the confident joint, calibration and the noise matrices.

Notation follows Northcutt, Jiang & Chuang, "Confident Learning: Estimating Uncertainty in Dataset
Labels", JAIR 70:1373-1411 (2021), doi:10.1613/jair.1.12125: ``ỹ`` is the given (noisy) label, ``y*`` the unknown true label,
``p̂(ỹ = j; x)`` the out-of-fold predicted probability, ``t_j`` the per-class threshold (Eq. 2),
``C`` the confident joint (Eq. 1), ``Q̂`` the estimated joint ``p(ỹ, y*)`` (Sec. 3.1, Eq. 3).

Two behaviours are offered where the paper leaves room or where the reference implementation
(cleanlab 2.9) made a different choice: ``compat="paper"`` (default) and ``compat="cleanlab"``.
docs/confident-learning.md lists every difference.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from labelaudit.core import kernels
from labelaudit.core.validate import (
    ROW_SUM_TOL,
    VALUE_TOL,
    _interpret_scan,
    check_compat,
    check_inputs,
    prepare_inputs,
)
from labelaudit.errors import InputError

#: Threshold given by cleanlab 2.9 to a class with no labelled examples (unreachable for p <= 1).
CLEANLAB_MISSING_THRESHOLD = 2.0
#: cleanlab 2.9 counts ``p >= t - 1e-6`` as reaching the threshold, and treats the given label as
#: the model's top class when ``p_label + 1e-6 >= max p``.
CLEANLAB_EPS = 1e-6
#: labelaudit uses the same tolerance for "the given label is the model's top class" in both modes.
TOP_CLASS_EPS = 1e-6


@dataclass(frozen=True)
class NoiseEstimate:
    """Latent noise estimates derived from the calibrated confident joint (paper Sec. 3.1).

    Attributes
    ----------
    confident_joint : ndarray of int64, shape (K, K)
        Calibrated confident joint ``C̃[given, true]``; row ``i`` sums to the number of examples
        labelled ``i`` and the total is N.
    joint : ndarray of float64, shape (K, K)
        ``Q̂[given, true] = C̃ / N``, an estimate of ``p(ỹ, y*)``; sums to 1.
    noise_matrix : ndarray of float64, shape (K, K)
        ``p(ỹ = i | y* = j)``; every column sums to 1.
    inverse_noise_matrix : ndarray of float64, shape (K, K)
        ``p(y* = j | ỹ = i)`` stored as ``[i, j]``; every row sums to 1.
    prior_true : ndarray of float64, shape (K,)
        ``p(y*)``, the estimated distribution of true labels.
    prior_given : ndarray of float64, shape (K,)
        ``p(ỹ)``, the observed label distribution.
    """

    confident_joint: np.ndarray
    joint: np.ndarray
    noise_matrix: np.ndarray
    inverse_noise_matrix: np.ndarray
    prior_true: np.ndarray
    prior_given: np.ndarray


@dataclass(frozen=True)
class _Pass:
    """Everything one confident-joint pass produces (internal)."""

    counts: np.ndarray  # label counts, int64[K]
    raw_joint: np.ndarray  # uncalibrated confident joint with the diagonal floor, int64[K, K]
    guess: np.ndarray  # int32[N], -1 when no class reaches its threshold
    label_is_top: np.ndarray  # bool[N]
    top: np.ndarray  # int32[N], the given label if it holds the row maximum, else the first class that does
    cand: np.ndarray  # int64, rows whose label is not the top class (first n_cand entries)
    cand_margin: np.ndarray  # float64, their margin to the top class
    n_cand: int


# ------------------------------------------------------------------------------------------------
# thresholds


def thresholds_from(sums: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Per-class thresholds ``t_j`` from float64 self-confidence sums (inf for classes without examples)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.inf)


def _thresholds(
    labels: np.ndarray, pred_probs: np.ndarray, compat: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(reported thresholds, comparison thresholds) as float64[K], and the label counts."""
    k = pred_probs.shape[1]
    if compat == "paper":
        sums, counts = kernels.self_confidence_sums(labels, pred_probs)
        t = thresholds_from(sums, counts)
        return t, t, counts
    # cleanlab 2.9: the mean of the gathered self-confidences in the input dtype (numpy's pairwise
    # float32 sum when the input is float32); 2.0 for an absent class; the comparison subtracts
    # 1e-6 in the dtype of the threshold array (the input dtype unless a class is absent, then float64).
    counts = kernels.label_counts(labels, k)
    offsets = np.zeros(k + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    grouped = kernels.self_confidence_grouped(labels, pred_probs, offsets)
    dt = pred_probs.dtype.type
    means = [grouped[offsets[c] : offsets[c + 1]].mean() if counts[c] else None for c in range(k)]
    if all(m is not None for m in means):
        t_native = np.array(means, dtype=pred_probs.dtype)
        cmp = (t_native - dt(CLEANLAB_EPS)).astype(np.float64)
        return t_native.astype(np.float64), cmp, counts
    t = np.array([CLEANLAB_MISSING_THRESHOLD if m is None else float(m) for m in means], dtype=np.float64)
    return t, t - CLEANLAB_EPS, counts


def per_class_threshold(labels: Any, pred_probs: Any, *, compat: str = "paper") -> np.ndarray:
    """Per-class thresholds ``t_j`` (paper Eq. 2): the mean self-confidence of each class.

    ``t_j = mean of p̂(ỹ = j; x) over the examples x whose given label is j``.

    Parameters
    ----------
    labels : array_like of int, shape (N,)
        Given labels.
    pred_probs : array_like of float, shape (N, K)
        Out-of-fold predicted probabilities.
    compat : {"paper", "cleanlab"}
        ``"paper"``: the mean is accumulated in float64 and a class with no labelled example gets
        ``+inf`` (no probability reaches it). ``"cleanlab"``: the mean in the input dtype, and 2.0
        for an absent class, as cleanlab 2.9 does.

    Returns
    -------
    ndarray of float64, shape (K,)
    """
    check_compat(compat)
    labels, pred_probs = check_inputs(labels, pred_probs)
    return _thresholds(labels, pred_probs, compat)[0]


# ------------------------------------------------------------------------------------------------
# confident joint


def _native_thresholds(cmp: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Thresholds in the input dtype with ``x >= native[j]`` exactly when ``float64(x) >= cmp[j]``,
    clamped at 0 (what ``kernels.confident_pass`` takes, as bits).

    For float32 each threshold is rounded *up* to the nearest float32, so the comparison can run
    in the input dtype (vectorised) without changing a single decision.
    """
    native = np.ascontiguousarray(cmp, dtype=dtype)
    if native.dtype != np.float64:
        low = native.astype(np.float64) < cmp
        native[low] = np.nextafter(native[low], dtype.type(np.inf))
    return np.where(native > 0, native, dtype.type(0.0)).astype(dtype)


def _run_confident_pass(labels: np.ndarray, pred_probs: np.ndarray, native: np.ndarray, rule: int) -> tuple:
    """``kernels.confident_pass`` with the bit-pattern constants of the input dtype and the fixed
    tolerances; ``native`` from :func:`_native_thresholds`."""
    dt = pred_probs.dtype.type
    itype = np.int32 if pred_probs.dtype == np.float32 else np.int64
    if itype is np.int32:
        sign_off, exponent = itype(0x7FFFFFFF), itype(0x7F800000)
    else:
        sign_off, exponent = itype(0x7FFFFFFFFFFFFFFF), itype(0x7FF0000000000000)
    hi_bits = np.array([1.0 + VALUE_TOL], dtype=pred_probs.dtype).view(itype)[0]
    return kernels.confident_pass(
        labels,
        pred_probs,
        pred_probs.view(itype),
        native.view(itype),
        rule,
        dt(TOP_CLASS_EPS),
        sign_off,
        exponent,
        hi_bits,
        ROW_SUM_TOL,
    )


def _floor_diagonal(raw: np.ndarray, counts: np.ndarray, compat: str) -> None:
    """Raise the raw joint's diagonal in place: paper, one per present class; cleanlab, every class."""
    floor = (counts > 0).astype(np.int64) if compat == "paper" else np.ones(counts.shape[0], dtype=np.int64)
    np.fill_diagonal(raw, np.maximum(np.diagonal(raw), floor))


def _confident_pass(
    labels: np.ndarray, pred_probs: np.ndarray, compat: str, *, checked: bool = True
) -> _Pass:
    """One read of the matrix: confident joint, per-row facts, and (unless ``checked``) the value
    checks of ``check_inputs`` (errors / warnings raised here)."""
    _reported, cmp, counts = _thresholds(labels, pred_probs, compat)
    rule = kernels.GUESS_PAPER if compat == "paper" else kernels.GUESS_CLEANLAB
    native = _native_thresholds(cmp, pred_probs.dtype)
    raw, guess, label_is_top, top, checks, bad_sum, cand, cand_margin, n_cand = _run_confident_pass(
        labels, pred_probs, native, rule
    )
    if not checked:
        c = checks
        _interpret_scan(pred_probs, c[0], c[1], c[2], c[3], c[4], bad_sum, c[5], stacklevel=5)
    _floor_diagonal(raw, counts, compat)
    return _Pass(counts, raw, guess, label_is_top, top, cand, cand_margin, n_cand)


def _round_rows_paper(cj: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Exact calibration ``C[i, j] * n_i / sum_j C[i, j]`` rounded by largest remainders per row.

    Integer arithmetic throughout: the floor is ``(C n_i) // r_i`` and the remainder ``(C n_i) % r_i``,
    so equal fractions compare equal; ties go to the lower column index. Row ``i`` sums to ``n_i``
    exactly and the total is N.
    """
    k = cj.shape[0]
    out = np.zeros((k, k), dtype=np.int64)
    rows = cj.sum(axis=1)
    for i in range(k):
        if counts[i] == 0 or rows[i] == 0:
            continue
        scaled = cj[i].astype(np.int64) * int(counts[i])
        base, rem = np.divmod(scaled, int(rows[i]))
        short = int(counts[i] - base.sum())
        if short > 0:
            order = np.lexsort((np.arange(k), -rem))  # largest remainder first, then lowest column
            base[order[:short]] += 1
        out[i] = base
    return out


def _round_preserving_sum_cleanlab(row: np.ndarray) -> np.ndarray:
    """cleanlab 2.9's rounding of a float row to integers with the same (rounded) total.

    Observed behaviour: round half to even, then the shortfall (excess) is added to (taken from) the
    entries with the largest (smallest) rounding residual, ordered by numpy's default argsort.
    """
    total = int(np.round(row.sum()))
    rounded = np.round(row)
    residual = row - rounded
    diff = total - int(rounded.sum())
    order = np.argsort(residual)
    if diff > 0:
        rounded[order[len(order) - diff :]] += 1
    elif diff < 0:
        rounded[order[:-diff]] -= 1
    return rounded.astype(np.int64)


def _calibrate(raw: np.ndarray, counts: np.ndarray, compat: str) -> np.ndarray:
    """Calibrate the confident joint (paper Eq. 3): rows sum to the label counts, total N."""
    if compat == "paper":
        return _round_rows_paper(raw, counts)
    with np.errstate(divide="ignore", invalid="ignore"):
        scaled = (raw.T / raw.sum(axis=1) * counts).T
        scaled = scaled / scaled.sum() * counts.sum()
    scaled = np.nan_to_num(scaled)
    return np.vstack([_round_preserving_sum_cleanlab(r) for r in scaled]).astype(np.int64)


def compute_confident_joint(
    labels: Any, pred_probs: Any, *, calibrate: bool = True, compat: str = "paper"
) -> np.ndarray:
    """The confident joint ``C[given, guessed]`` (paper Sec. 3.1, Eq. 1, and Eq. 3 when calibrated).

    An example labelled ``i`` is counted in ``C[i, j]`` when at least one class reaches its threshold
    (``p̂(ỹ = j; x) >= t_j``); ``j`` is its guessed true class.

    Parameters
    ----------
    labels : array_like of int, shape (N,)
    pred_probs : array_like of float, shape (N, K)
    calibrate : bool, default True
        Rescale each row to the number of examples with that given label (so the total is N) and
        round to integers preserving the row sums (paper Eq. 3).
    compat : {"paper", "cleanlab"}
        ``"paper"``: ``>=`` against the exact float64 mean; when several classes reach their threshold
        the guess is the most probable of those; the diagonal of every *present* class is at least 1;
        calibration is exact integer arithmetic with largest-remainder rounding (ties to the lowest
        column). ``"cleanlab"``: cleanlab 2.9's behaviour: ``p >= t - 1e-6``, several confident
        classes -> argmax over *all* classes, every diagonal entry at least 1, float calibration and
        its rounding rule.

    Returns
    -------
    ndarray of int64, shape (K, K)
    """
    check_compat(compat)
    labels, pred_probs = prepare_inputs(labels, pred_probs)
    p = _confident_pass(labels, pred_probs, compat, checked=False)
    if not calibrate:
        return p.raw_joint
    return _calibrate(p.raw_joint, p.counts, compat)


# ------------------------------------------------------------------------------------------------
# noise matrices


def _check_joint(confident_joint: Any, k: int) -> np.ndarray:
    cj = np.asarray(confident_joint)
    if cj.shape != (k, k):
        raise InputError(f"confident_joint must have shape ({k}, {k}); got {cj.shape}")
    if not np.all(np.isfinite(cj)) or (cj < 0).any():
        bad = np.argwhere(~np.isfinite(cj) | (cj < 0))[0]
        raise InputError(f"confident_joint[{bad[0]}, {bad[1]}] = {cj[tuple(bad)]!r} is not a count")
    return cj


def _latent(cj: np.ndarray, counts: np.ndarray, compat: str) -> NoiseEstimate:
    cj = np.asarray(cj)
    k = cj.shape[0]
    n = counts.sum()
    total = cj.sum()
    joint = cj / total if total > 0 else np.zeros((k, k))
    prior_given = counts / n
    col = cj.sum(axis=0).astype(np.float64)
    row = cj.sum(axis=1).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        noise = cj / col
        inverse = cj / row[:, None]
    if compat == "paper":
        eye = np.eye(k)
        noise = np.where(col[None, :] > 0, noise, eye)
        inverse = np.where(row[:, None] > 0, inverse, eye)
        prior_true = col / col.sum() if col.sum() > 0 else prior_given.copy()
    else:
        # cleanlab 2.9 ("cnt"): p(y*=j) = p(ỹ=j) * P(y*=j|ỹ=j) / P(ỹ=j|y*=j), NaN -> 0, clipped to
        # [1e-6, 1] and renormalised; empty columns/rows of the noise matrices stay 0.
        with np.errstate(divide="ignore", invalid="ignore"):
            prior_true = prior_given * np.diagonal(inverse) / np.diagonal(noise)
        prior_true = np.clip(np.nan_to_num(prior_true), 1e-6, 1.0)
        prior_true = prior_true / prior_true.sum()
        noise = np.nan_to_num(noise)
        inverse = np.nan_to_num(inverse)
    return NoiseEstimate(
        confident_joint=np.asarray(cj, dtype=np.int64),
        joint=joint,
        noise_matrix=noise,
        inverse_noise_matrix=inverse,
        prior_true=prior_true,
        prior_given=prior_given,
    )


def estimate_noise_matrices(
    labels: Any, pred_probs: Any, *, compat: str = "paper", confident_joint: Any = None
) -> NoiseEstimate:
    """Estimate the joint, the noise matrices and the priors (paper Sec. 3.1).

    With ``Q̂ = C̃ / N`` (the calibrated confident joint normalised to sum to 1):
    ``p(ỹ = i | y* = j) = Q̂[i, j] / sum_i Q̂[i, j]``, ``p(y* = j | ỹ = i) = Q̂[i, j] / sum_j Q̂[i, j]``,
    ``p(y* = j) = sum_i Q̂[i, j]`` and ``p(ỹ = i) = n_i / N``.

    Parameters
    ----------
    labels : array_like of int, shape (N,)
    pred_probs : array_like of float, shape (N, K)
    compat : {"paper", "cleanlab"}
        ``"paper"``: as above; a class that is never a guessed true class gets an identity column
        in the noise matrix (and an identity row in the inverse when no example has it as given
        label), so columns / rows always sum to 1. ``"cleanlab"``: cleanlab 2.9's
        ``estimate_latent(..., py_method="cnt")``: ``p(y*)`` from the diagonals, clipped to
        ``[1e-6, 1]``; empty columns / rows are left at 0.
    confident_joint : array_like, shape (K, K), optional
        A (calibrated) confident joint to use instead of computing one.

    Returns
    -------
    NoiseEstimate
    """
    check_compat(compat)
    k = np.shape(pred_probs)[1] if np.ndim(pred_probs) == 2 else 0
    if confident_joint is None:
        labels, pred_probs = prepare_inputs(labels, pred_probs)
        p = _confident_pass(labels, pred_probs, compat, checked=False)
        cj = _calibrate(p.raw_joint, p.counts, compat)
        counts = p.counts
    else:
        labels, pred_probs = check_inputs(labels, pred_probs)
        k = pred_probs.shape[1]
        cj = _check_joint(confident_joint, k)
        counts = kernels.label_counts(labels, k)
    return _latent(cj, counts, compat)
