"""Input checks for the confident-learning core.

``check_inputs`` is the single gate every public function in ``labelaudit.core`` goes through. It
reads the probability matrix once (a numba kernel, no temporaries) and returns arrays the kernels
can use directly, copying only when the input has to change (wrong dtype, not C-contiguous,
``normalize=True`` with rows that need it).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from labelaudit.core import kernels
from labelaudit.errors import InputError, InvalidProbabilitiesError, LabelauditWarning, UsageError

#: A row whose sum differs from 1 by more than this is reported (stored float32 rows are often 1e-3 off).
ROW_SUM_TOL = 1e-2
#: A single value may exceed 1 by this much (float32 rounding: softmax outputs of 1.00001 are common) before it
#: counts as "above 1". A power of two, so that ``1 + VALUE_TOL`` is exact in float32 and float64 alike and
#: every check (the scan kernel in float64, the fused pass on float32 bits, NumPy here) draws the same line.
VALUE_TOL = 2.0**-13

COMPAT_MODES = ("paper", "cleanlab")


def check_compat(compat: str) -> str:
    """Validate a ``compat`` argument."""
    if compat not in COMPAT_MODES:
        raise UsageError(f"unknown compat={compat!r}; choose one of: {', '.join(COMPAT_MODES)}")
    return compat


def _prepare_pred_probs(pred_probs: Any) -> np.ndarray:
    """Shape and dtype checks only: float32/float64 C-contiguous (copies only when needed)."""
    arr = np.asarray(pred_probs)
    if arr.ndim != 2:
        raise InputError(f"pred_probs must be 2-D (N examples x K classes); got shape {arr.shape}")
    n, k = arr.shape
    if n == 0:
        raise InputError("pred_probs has no rows: there are no examples to audit")
    if k < 2:
        raise InputError(f"pred_probs must have at least 2 columns (classes); got {k}")
    if arr.dtype not in (np.float32, np.float64):
        if arr.dtype.kind not in "fiub":
            raise InputError(f"pred_probs must be numeric; got dtype {arr.dtype}")
        arr = arr.astype(np.float64)
    return np.ascontiguousarray(arr)


def _interpret_scan(
    arr: np.ndarray,
    nonfinite: int,
    negative: int,
    above: int,
    n_bad: int,
    bad_row: int,
    bad_sum: float,
    zero_row: int,
    *,
    normalize: bool = False,
    stacklevel: int = 4,
) -> bool:
    """Turn the kernel's scan results into errors / warnings.

    Returns True when the rows are to be renormalised (``normalize`` and some row does not sum to 1);
    ``arr`` is only read (the rows named by the checks), so any object indexing like the matrix will do.
    """
    n = arr.shape[0]
    hi = 1.0 + VALUE_TOL

    def row_of(r: int) -> np.ndarray:
        # compared in float64, as the kernels do
        return np.asarray(arr[r], dtype=np.float64)

    if nonfinite >= 0:
        row = arr[nonfinite]
        col = int(np.flatnonzero(~np.isfinite(row))[0])
        what = "NaN" if np.isnan(row[col]) else "infinite"
        raise InvalidProbabilitiesError(f"pred_probs[{nonfinite}, {col}] is {what}")
    out_of_range = min((r for r in (negative, above) if r >= 0), default=-1)
    if out_of_range >= 0 and n_bad > 0:
        row = row_of(out_of_range)
        col = int(np.flatnonzero((row < 0) | (row > hi))[0])
        raise InvalidProbabilitiesError(
            f"pred_probs looks like logits (pred_probs[{out_of_range}, {col}] = {float(row[col]):.6g} is "
            f"outside [0, 1] and row {bad_row} sums to {bad_sum:.6g}); apply softmax first"
        )
    if negative >= 0:
        col = int(np.flatnonzero(row_of(negative) < 0)[0])
        raise InvalidProbabilitiesError(
            f"pred_probs[{negative}, {col}] = {float(arr[negative, col]):.6g} is negative"
        )
    if above >= 0:
        col = int(np.flatnonzero(row_of(above) > hi)[0])
        raise InvalidProbabilitiesError(
            f"pred_probs[{above}, {col}] = {float(arr[above, col]):.6g} is above 1"
        )
    if n_bad > 0:
        if normalize:
            if zero_row >= 0:
                raise InvalidProbabilitiesError(
                    f"row {zero_row} of pred_probs sums to 0 and cannot be renormalised"
                )
            warnings.warn(
                f"{n_bad} of {n} rows of pred_probs do not sum to 1 (first: row {bad_row} sums to "
                f"{bad_sum:.6g}); renormalised them",
                LabelauditWarning,
                stacklevel=stacklevel,
            )
            return True
        warnings.warn(
            f"{n_bad} of {n} rows of pred_probs do not sum to 1 (first: row {bad_row} sums to "
            f"{bad_sum:.6g}); results assume probabilities (pass normalize=True to renormalise)",
            LabelauditWarning,
            stacklevel=stacklevel,
        )
    return False


def check_pred_probs(pred_probs: Any, *, normalize: bool = False) -> np.ndarray:
    """Validate a probability matrix alone; see :func:`check_inputs`."""
    arr = _prepare_pred_probs(pred_probs)
    stats = kernels.scan_probabilities(arr, ROW_SUM_TOL, 1.0 + VALUE_TOL)
    if _interpret_scan(arr, *stats, normalize=normalize):
        arr = kernels.normalize_rows(arr)
    return arr


def prepare_inputs(labels: Any, pred_probs: Any) -> tuple[np.ndarray, np.ndarray]:
    """Labels fully checked, probabilities only shape/dtype-checked.

    For callers whose first pass over the matrix runs the value checks itself
    (``kernels.confident_pass``) and then calls ``_interpret_scan``.
    """
    probs = _prepare_pred_probs(pred_probs)
    return check_labels(labels, probs.shape[0], probs.shape[1]), probs


def check_labels(labels: Any, num_examples: int, num_classes: int) -> np.ndarray:
    """Validate given labels against ``N`` and ``K``; returns int64, C-contiguous."""
    lab = np.asarray(labels)
    if lab.ndim == 2 and lab.shape[1] == 1:
        lab = lab[:, 0]
    if lab.ndim != 1:
        raise InputError(f"labels must be 1-D (one class index per example); got shape {lab.shape}")
    if lab.shape[0] != num_examples:
        raise InputError(
            f"labels has {lab.shape[0]} entries but pred_probs has {num_examples} rows; they must match"
        )
    if lab.dtype.kind == "b":
        lab = lab.astype(np.int64)
    elif lab.dtype.kind == "f":
        finite = np.isfinite(lab)
        integral = finite & (np.floor(np.where(finite, lab, 0)) == lab)
        if not integral.all():
            row = int(np.flatnonzero(~integral)[0])
            raise InputError(f"labels[{row}] = {float(lab[row])!r} is not an integer class index")
        lab = lab.astype(np.int64)
    elif lab.dtype.kind not in "iu":
        raise InputError(f"labels must be integer class indices; got dtype {lab.dtype}")
    lo, hi = kernels.min_max(lab) if lab.dtype.kind in "iu" else (lab.min(), lab.max())
    if lo < 0 or hi >= num_classes:
        row = int(np.flatnonzero((lab < 0) | (lab >= num_classes))[0])
        raise InputError(
            f"labels[{row}] = {int(lab[row])} is outside [0, {num_classes}) "
            f"(pred_probs has {num_classes} columns)"
        )
    return np.ascontiguousarray(lab, dtype=np.int64)


def check_inputs(labels: Any, pred_probs: Any, *, normalize: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Validate given labels and out-of-fold predicted probabilities.

    Parameters
    ----------
    labels : array_like of int, shape (N,)
        Given (possibly wrong) class index of each example. Any integer dtype; floats are accepted
        when every value is integral. Classes may be absent.
    pred_probs : array_like of float, shape (N, K)
        Out-of-fold predicted probabilities ``p̂(ỹ = k; x)`` (Northcutt et al., 2021, Sec. 2).
        ``K`` is taken from the number of columns.
    normalize : bool, default False
        Renormalise rows that do not sum to 1 (this copies the matrix).

    Returns
    -------
    labels : ndarray of int64, shape (N,)
    pred_probs : ndarray of float32 or float64, shape (N, K), C-contiguous
        The input object itself when it already had that form (no copy).

    Raises
    ------
    InputError
        Shape mismatch, labels that are not integers or are outside ``[0, K)`` (the first bad row is
        named).
    InvalidProbabilitiesError
        NaN/inf, negative values, values above 1, or what looks like logits (values outside
        ``[0, 1]`` with rows not summing to 1); the row and column are named.

    Warns
    -----
    LabelauditWarning
        Rows whose sum differs from 1 by more than ``ROW_SUM_TOL``.
    """
    probs = check_pred_probs(pred_probs, normalize=normalize)
    lab = check_labels(labels, probs.shape[0], probs.shape[1])
    return lab, probs
