r"""Find wrong tags in multi-label data (Thyagarajan, Snorrason, Northcutt & Mueller, 2023).

Model
-----
Each example ``i`` has a set of given tags, written as a row ``y_i`` of an ``N x K`` 0/1
matrix, and out-of-fold predicted probabilities ``p_ik = P(tag k applies | x_i)`` from
independent per-tag outputs (sigmoids: a row need not sum to 1).  Following Thyagarajan et
al. (2023), "Identifying Incorrect Annotations in Multi-Label Classification Data"
(arXiv:2211.13895), the multi-label problem is split into ``K`` one-vs-rest binary problems,
"has tag k" against "does not have tag k", with probabilities ``(1 - p_ik, p_ik)``.
Confident learning (Northcutt, Jiang & Chuang, 2021, JAIR 70) is run on each binary problem:

1. per-class thresholds ``t_k1 = mean(p_ik | y_ik = 1)`` and ``t_k0 = mean(1 - p_ik | y_ik = 0)``;
2. the confident joint ``C_k[given, true]``: an element counts as truly "present" when
   ``p >= t_k1 - 1e-6``, truly "absent" when ``1 - p >= t_k0 - 1e-6`` (the larger probability
   wins when both hold), and is not counted otherwise;
3. calibration: every row of ``C_k`` is rescaled to the number of examples with that given
   value and the matrix to ``N``; its off-diagonal entries, rounded while preserving the row
   totals, estimate how many given tags are spurious (``given 1, true 0``) and how many are
   missing (``given 0, true 1``);
4. pruning (``filter_by``): e.g. ``prune_by_noise_rate`` flags, for each off-diagonal cell,
   that many elements with the largest margin ``q_other - q_given``.  Only elements where the
   model puts more probability on the other side than on the given one are ever flagged.

With a pruning rule an example has a label issue when any of its ``K`` tags is flagged.  The
default rule (``low_self_confidence``) takes the count from confident learning and the choice from
the ranking: as many examples as have a tag off the diagonal of a confident joint, those with the
lowest aggregated score (per-tag pruning unions ``K`` noisy selections and over-flags; the ranking
is the better-measured of the two, docs/multilabel.md).  Label quality scores
rate each tag with a binary score (self-confidence ``q_given`` by default) and aggregate the
``K`` tag scores of an example, by default with an exponential moving average over the
scores sorted from highest to lowest (so the worst tag weighs most; the paper's EMA score).

``compat="cleanlab"`` reproduces ``cleanlab`` 2.9 (``cleanlab.multilabel_classification``)
exactly, including its tie-breaking.  ``compat="paper"`` (the default) is the same
algorithm with one change of default that matters on real data: the sigmoid outputs are
first recalibrated per class against the given tags with Platt scaling
(``calibration="platt"``).  Out-of-fold sigmoid outputs are often over-confident, and in
the one-vs-rest problems over-confident probabilities on the (much larger) "absent" side are
read as missing tags, and the union over ``K`` classes turns those into many false
positives.  docs/multilabel.md has the analysis and the numbers.
"""

from __future__ import annotations

import array
import itertools
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from labelaudit.errors import InputError, InvalidProbabilitiesError, LabelauditWarning, UsageError

__all__ = [
    "AGGREGATES",
    "CALIBRATIONS",
    "COMPAT_MODES",
    "DEFAULT_FILTER",
    "FILTER_METHODS",
    "SCORE_METHODS",
    "MultilabelAudit",
    "audit_multilabel",
    "calibrate_pred_probs",
    "find_multilabel_issues",
    "multilabel_quality_scores",
    "multilabel_summary",
    "per_class_issues",
    "per_class_quality_scores",
    "tag_issues",
    "to_tag_matrix",
]

FILTER_METHODS = (
    "prune_by_noise_rate",
    "prune_by_class",
    "both",
    "confident_learning",
    "predicted_neq_given",
    "low_self_confidence",
    "low_normalized_margin",
)
#: Default rule: the confident joint says how many examples have a wrong tag, the ranking says which
#: (beats per-tag pruning on emotions, scene and synthetic problems; docs/multilabel.md).
DEFAULT_FILTER = "low_self_confidence"
DEFAULT_FILTER_CLEANLAB = "prune_by_noise_rate"
SCORE_METHODS = ("self_confidence", "normalized_margin", "confidence_weighted_entropy")
AGGREGATES = ("ema", "softmin", "min", "mean")
COMPAT_MODES = ("paper", "cleanlab")
CALIBRATIONS = ("platt", "none")

_THRESHOLD_TOL = 1e-6  # tolerance subtracted from the per-class thresholds (as in the CL paper's code)
_PLATT_EPS = 1e-6  # probabilities are clipped to [eps, 1 - eps] before taking logits
_PLATT_MAX_ITER = 100
_PLATT_BINS = 1024  # histogram bins of the logits per class and tag value (see platt_fit)
_PLATT_MAX_SLOPE = 1.0  # calibration may soften over-confident outputs, never sharpen them

FilterBy = Literal[
    "prune_by_noise_rate",
    "prune_by_class",
    "both",
    "confident_learning",
    "predicted_neq_given",
    "low_self_confidence",
    "low_normalized_margin",
]
Method = Literal["self_confidence", "normalized_margin", "confidence_weighted_entropy"]
Aggregate = Literal["ema", "softmin", "min", "mean"]
Compat = Literal["paper", "cleanlab"]
Calibration = Literal["platt", "none"]


def _kernels():
    # imported lazily: importing numba is slow and `labelaudit --help` must stay fast
    from labelaudit.core import multilabel_kernels

    return multilabel_kernels


# ======================================================================================
# input validation and conversion
# ======================================================================================


def _check_probs(pred_probs: Any) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """Return pred_probs as a C-contiguous float32/float64 ``(N, K)`` array, or raise; with the
    per-class resolution (smallest positive ``p`` and ``1 - p``) found in the same pass."""
    if isinstance(pred_probs, np.ndarray):
        arr = pred_probs
    else:
        try:
            arr = np.asarray(pred_probs)
        except (TypeError, ValueError) as exc:
            raise InvalidProbabilitiesError(f"pred_probs cannot be read as a numeric array: {exc}") from None
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise InvalidProbabilitiesError(f"pred_probs must be numeric, got dtype {arr.dtype}")
    if arr.ndim != 2:
        raise InputError(f"pred_probs must be a 2-D array (examples x classes), got shape {arr.shape}")
    if arr.shape[0] == 0:
        raise InputError("pred_probs has no rows: there are no examples to audit")
    if arr.shape[1] == 0:
        raise InputError("pred_probs has no columns: there are no classes")
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise InvalidProbabilitiesError("pred_probs must be real numbers, got complex values")
    if arr.dtype != np.float32:
        arr = arr.astype(np.float64, copy=False)
    arr = np.ascontiguousarray(arr)
    code, row, col, minpos, mintop = _kernels().check_and_resolution(arr)
    if code == 1:
        raise InvalidProbabilitiesError(
            f"pred_probs row {row}, class {col} is {arr[row, col]}: probabilities must be finite"
        )
    if code == 2:
        raise InvalidProbabilitiesError(
            f"pred_probs row {row}, class {col} is {arr[row, col]:.6g}: multi-label probabilities "
            "must lie in [0, 1] (pass sigmoid outputs, not logits)"
        )
    return arr, (minpos, mintop)


def _lists_to_matrix(labels: Sequence[Any], n_rows: int, n_classes: int) -> np.ndarray:
    lengths = np.empty(len(labels), dtype=np.int64)
    rows: list[Any] = []
    for i, row in enumerate(labels):
        if row is None:
            row = ()
        elif isinstance(row, (str, bytes)) or not isinstance(row, Iterable):
            raise InputError(
                f"labels row {i} is {row!r}: for multi-label data each row must be a list of class "
                "indices (or pass an N x K 0/1 matrix)"
            )
        row = list(row) if not isinstance(row, (list, tuple, np.ndarray)) else row
        lengths[i] = len(row)
        rows.append(row)
    offsets = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    flat_obj = list(itertools.chain.from_iterable(rows))
    try:
        flat = np.asarray(flat_obj)
    except (TypeError, ValueError):
        flat = np.asarray(flat_obj, dtype=object)
    if flat.size:
        if flat.dtype == bool or not np.issubdtype(flat.dtype, np.number):
            bad = next(
                t
                for t, v in enumerate(flat_obj)
                if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer, float, np.floating))
            )
            row = int(np.searchsorted(offsets, bad, side="right") - 1)
            raise InputError(f"labels row {row} has {flat_obj[bad]!r}: class indices must be integers")
        if not np.issubdtype(flat.dtype, np.integer):
            nonint = ~np.isfinite(flat) | (flat != np.round(flat))
            if nonint.any():
                bad = int(np.argmax(nonint))
                row = int(np.searchsorted(offsets, bad, side="right") - 1)
                raise InputError(f"labels row {row} has {flat[bad].item()!r}: class indices must be integers")
        flat = flat.astype(np.int64)
        out_of_range = (flat < 0) | (flat >= n_classes)
        if out_of_range.any():
            bad = int(np.argmax(out_of_range))
            row = int(np.searchsorted(offsets, bad, side="right") - 1)
            raise InputError(
                f"labels row {row} has class {int(flat[bad])}, but pred_probs has {n_classes} columns "
                f"(classes 0..{n_classes - 1})"
            )
    else:
        flat = flat.astype(np.int64)
    return _kernels().onehot_from_lists(flat, offsets, n_rows, n_classes)


def to_tag_matrix(labels: Any, n_classes: int, n_rows: int | None = None) -> np.ndarray:
    """Convert multi-label ``labels`` to a C-contiguous ``uint8`` ``(N, K)`` tag matrix.

    Parameters
    ----------
    labels : array_like or sequence of sequences
        Either an ``N x K`` matrix of booleans or 0/1 numbers (a NumPy array, a pandas
        DataFrame, ...), or a sequence of ``N`` sequences of class indices such as
        ``[[0, 2], [], [1]]`` (nested Python lists are always read as class indices).
        ``None`` in a list of lists means no tags.
    n_classes : int
        ``K``, the number of columns of ``pred_probs``.
    n_rows : int, optional
        Expected ``N``; a mismatch raises :class:`~labelaudit.errors.InputError`.

    Returns
    -------
    numpy.ndarray
        ``uint8`` array of shape ``(N, K)``, 1 where the tag is given.
    """
    if hasattr(labels, "to_numpy") and getattr(labels, "ndim", 1) == 2:
        labels = labels.to_numpy()
    if isinstance(labels, np.ndarray) and labels.dtype != object:
        if labels.ndim == 1:
            raise InputError(
                "labels is 1-D: for multi-label data pass an N x K 0/1 matrix or a list of lists of "
                "class indices"
            )
        if labels.ndim != 2:
            raise InputError(f"labels must be 2-D (examples x classes), got shape {labels.shape}")
        if n_rows is not None and labels.shape[0] != n_rows:
            raise InputError(f"labels has {labels.shape[0]} rows but pred_probs has {n_rows}")
        if labels.shape[1] != n_classes:
            raise InputError(
                f"labels has {labels.shape[1]} columns but pred_probs has {n_classes}: both need one "
                "column per class"
            )
        if labels.dtype == bool:
            return np.ascontiguousarray(labels, dtype=np.uint8)
        if not np.issubdtype(labels.dtype, np.number):
            raise InputError(f"labels must be booleans or 0/1 numbers, got dtype {labels.dtype}")
        bad = ~((labels == 0) | (labels == 1))
        if bad.any():
            r, c = np.argwhere(bad)[0]
            raise InputError(
                f"labels row {r}, class {c} is {labels[r, c].item()!r}: tag matrices must hold 0 or 1"
            )
        return np.ascontiguousarray(labels, dtype=np.uint8)
    if isinstance(labels, (str, bytes)) or not isinstance(labels, Iterable):
        raise InputError(
            f"labels must be an N x K 0/1 matrix or a list of lists of class indices, got {type(labels).__name__}"
        )
    seq = labels if isinstance(labels, (list, tuple)) else list(labels)
    if n_rows is not None and len(seq) != n_rows:
        raise InputError(f"labels has {len(seq)} rows but pred_probs has {n_rows}")
    fast = _lists_fast(seq, n_classes)
    if fast is not None:
        return fast
    if (
        seq
        and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in seq[:100])
        and all(isinstance(v, (int, np.integer)) for v in seq)
    ):
        raise InputError(
            "labels is a flat list of integers: for multi-label data each row must be a list of class "
            "indices, e.g. [[0, 2], [1], []]"
        )
    return _lists_to_matrix(seq, len(seq), n_classes)


def _lists_fast(seq: Sequence[Any], n_classes: int) -> np.ndarray | None:
    """The common case (every row a list/tuple/array of in-range ints) without a Python loop per
    row; None when anything is unusual, so that the careful path can name the bad row."""
    try:
        lengths = np.fromiter(map(len, seq), dtype=np.int64, count=len(seq))
        # array.array converts Python ints in C and refuses floats and strings
        flat = np.frombuffer(array.array("q", list(itertools.chain.from_iterable(seq))), dtype=np.int64)
    except (TypeError, ValueError, OverflowError):
        return None
    if flat.size and (flat.min() < 0 or flat.max() >= n_classes):
        return None
    offsets = np.zeros(len(seq) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return _kernels().onehot_from_lists(flat.astype(np.int64, copy=False), offsets, len(seq), n_classes)


def _check_choice(name: str, value: Any, choices: Sequence[str]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise UsageError(f"{name}={value!r} is not one of: {', '.join(choices)}")
    return value


@dataclass(frozen=True)
class _Settings:
    """Validated options; built by :func:`_settings`, which holds the defaults."""

    filter_by: str
    frac_noise: float
    min_examples_per_class: int
    method: str
    aggregate: str
    alpha: float
    temperature: float
    compat: str
    calibration: str


def _settings(
    *,
    filter_by: Any = None,
    frac_noise: Any = 1.0,
    min_examples_per_class: Any = 1,
    method: Any = "self_confidence",
    aggregate: Any = "ema",
    alpha: Any = 0.8,
    temperature: Any = 0.1,
    compat: Any = "paper",
    calibration: Any = None,
) -> _Settings:
    if filter_by is None:
        filter_by = DEFAULT_FILTER_CLEANLAB if compat == "cleanlab" else DEFAULT_FILTER
    _check_choice("filter_by", filter_by, FILTER_METHODS)
    _check_choice("method", method, SCORE_METHODS)
    _check_choice("aggregate", aggregate, AGGREGATES)
    _check_choice("compat", compat, COMPAT_MODES)
    if calibration is None:
        calibration = "platt" if compat == "paper" else "none"
    _check_choice("calibration", calibration, CALIBRATIONS)
    if isinstance(frac_noise, bool) or not isinstance(frac_noise, (int, float, np.integer, np.floating)):
        raise UsageError(f"frac_noise={frac_noise!r} must be a number in (0, 1]")
    if not (0.0 < float(frac_noise) <= 1.0):
        raise UsageError(f"frac_noise={frac_noise!r} must be in (0, 1]")
    if isinstance(min_examples_per_class, bool) or not isinstance(min_examples_per_class, (int, np.integer)):
        raise UsageError(f"min_examples_per_class={min_examples_per_class!r} must be a non-negative integer")
    if min_examples_per_class < 0:
        raise UsageError(f"min_examples_per_class={min_examples_per_class!r} must be a non-negative integer")
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.integer, np.floating)):
        raise UsageError(f"alpha={alpha!r} must be a number in (0, 1]")
    if not (0.0 < float(alpha) <= 1.0):
        raise UsageError(f"alpha={alpha!r} must be in (0, 1]")
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float, np.integer, np.floating)):
        raise UsageError(f"temperature={temperature!r} must be a positive number")
    if not (float(temperature) > 0.0 and np.isfinite(float(temperature))):
        raise UsageError(f"temperature={temperature!r} must be a positive number")
    return _Settings(
        filter_by=filter_by,
        frac_noise=float(frac_noise),
        min_examples_per_class=int(min_examples_per_class),
        method=method,
        aggregate=aggregate,
        alpha=float(alpha),
        temperature=float(temperature),
        compat=compat,
        calibration=calibration,
    )


@dataclass(frozen=True)
class _Data:
    Y: np.ndarray  # uint8 (N, K) tags
    P: np.ndarray  # float32/float64 (N, K) probabilities, validated
    minpos: np.ndarray  # smallest positive p per class
    mintop: np.ndarray  # smallest positive 1 - p per class
    names: list[str] | None = None  # class names, for messages

    def few(self, idx: np.ndarray, limit: int = 8) -> str:
        """Some of the classes ``idx``, by name when known."""
        shown = ", ".join(self.names[int(i)] if self.names else str(int(i)) for i in idx[:limit])
        return shown + (", ..." if idx.size > limit else "")


def _prepare(labels: Any, pred_probs: Any, class_names: Sequence[Any] | None = None) -> _Data:
    P, (minpos, mintop) = _check_probs(pred_probs)
    names = _class_names(class_names, P.shape[1]) if class_names is not None else None
    Y = to_tag_matrix(labels, P.shape[1], P.shape[0])
    return _Data(Y, P, minpos, mintop, names)


def _warn_inputs(d: _Data) -> None:
    Y, P = d.Y, d.P
    n, k = Y.shape
    pos = Y.sum(axis=0, dtype=np.int64)
    none = np.flatnonzero(pos == 0)
    allc = np.flatnonzero(pos == n)
    if none.size:
        warnings.warn(
            f"{none.size} class(es) have no given tags ({d.few(none)}): only missing tags can be found there",
            LabelauditWarning,
            stacklevel=3,
        )
    if allc.size:
        warnings.warn(
            f"{allc.size} class(es) are given to every example ({d.few(allc)}): only spurious tags can be "
            "found there",
            LabelauditWarning,
            stacklevel=3,
        )
    if k >= 3 and _kernels().rows_sum_to_one(P, 1e-4):
        warnings.warn(
            "every row of pred_probs sums to 1: these look like softmax outputs of a single-label model; "
            "multi-label auditing expects one independent sigmoid probability per class",
            LabelauditWarning,
            stacklevel=3,
        )


# ======================================================================================
# calibration
# ======================================================================================


@dataclass(frozen=True)
class _Platt:
    """Fitted per-class Platt parameters ``p' = sigmoid(a * logit(clip(p, lo, hi)) + b)``.

    ``lo``/``hi`` are the per-class clip bounds: ``max(1e-6, r / 2)`` where ``r`` is the
    smallest positive probability the model gave that class (and the same from the top), so
    exact 0s and 1s sit half a step beyond the model's resolution instead of at an arbitrary
    logit of -13.8 (which, for coarse outputs such as k-NN vote shares, would dominate the fit).
    ``cnt``/``sx`` is the logit histogram the fit read (see :func:`platt_histogram`).
    """

    a: np.ndarray
    b: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    cnt: np.ndarray
    sx: np.ndarray

    def thresholds(self) -> np.ndarray:
        """Per-class thresholds of the *calibrated* probabilities, ``(K, 2)``: the mean of
        ``p'`` over the given tags and of ``1 - p'`` over the absent ones, evaluated on the
        histogram (each bin at its mean logit; the spread inside a bin, at most 0.014 in logit
        for 1024 bins, moves a mean by less than 1e-5)."""
        cnt = self.cnt
        xbar = self.sx / np.where(cnt > 0, cnt, 1.0)
        sig = _sigmoid(self.a[:, None, None] * xbar + self.b[:, None, None])
        mass = (cnt * sig).sum(axis=2)
        size = cnt.sum(axis=2)
        t = np.full((cnt.shape[0], 2), np.nan)
        ok1 = size[:, 1] > 0
        ok0 = size[:, 0] > 0
        t[ok1, 1] = mass[ok1, 1] / size[ok1, 1]
        t[ok0, 0] = 1.0 - mass[ok0, 0] / size[ok0, 0]
        return t

    def raw_cuts(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Map the confident-joint tests on calibrated probabilities back to raw ones.

        Calibration is increasing in ``p`` (``a > 0``): ``p' >= c`` is ``x >= (logit(c) - b) / a``
        for the clipped logit ``x`` of ``p``, i.e. ``p >= sigmoid((logit(c) - b) / a)``.
        Returns ``(cut_present, cut_absent, mid)`` for :func:`confident_joint`.
        """
        a, b = self.a, self.b
        lo32 = self.lo.astype(np.float32)
        hi32 = self.hi.astype(np.float32)
        xlo = np.log(lo32 / (np.float32(1) - lo32)).astype(np.float64)
        xhi = np.log(hi32 / (np.float32(1) - hi32)).astype(np.float64)

        def to_x(c: np.ndarray) -> np.ndarray:
            with np.errstate(invalid="ignore", divide="ignore"):
                cc = np.clip(c, 0.0, 1.0)
                return (np.log(cc) - np.log1p(-cc) - b) / a  # -inf / +inf at 0 / 1; NaN stays NaN

        x1 = to_x(t[:, 1] - _THRESHOLD_TOL)  # confidently present  <=>  x >= x1
        cut_present = np.where(x1 <= xlo, -1.0, np.where(x1 > xhi, 2.0, _sigmoid(x1)))
        cut_present[np.isnan(x1)] = np.nan
        x0 = to_x(1.0 - (t[:, 0] - _THRESHOLD_TOL))  # confidently absent  <=>  x <= x0
        raw0 = np.where(x0 >= xhi, 2.0, np.where(x0 < xlo, -1.0, _sigmoid(x0)))  # p <= raw0
        cut_absent = 1.0 - raw0  # tested as 1 - p >= cut_absent
        cut_absent[np.isnan(x0)] = np.nan
        xm = -b / a  # calibrated p' = 1/2
        mid = np.where(xm <= xlo, -1.0, np.where(xm > xhi, 2.0, _sigmoid(xm)))
        return cut_present, cut_absent, mid

    def apply(self, P: np.ndarray) -> np.ndarray:
        return _kernels().platt_apply(P, self.a, self.b, self.lo, self.hi)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-z))


def _fit_platt(d: _Data) -> _Platt:
    kern = _kernels()
    Y, P = d.Y, d.P
    k = Y.shape[1]
    lo = np.maximum(_PLATT_EPS, d.minpos / 2.0)
    hi = 1.0 - np.maximum(_PLATT_EPS, d.mintop / 2.0)
    # one pass over every row builds the histogram behind both the fit and the thresholds (never a
    # subsample by position, which would tie the result to the row order)
    cnt, sx = kern.platt_histogram(Y, P, lo, hi, _PLATT_BINS, 1)
    npos = cnt[:, 1, :].sum(axis=1)
    nneg = cnt[:, 0, :].sum(axis=1)
    tpos = (npos + 1.0) / (npos + 2.0)
    tneg = 1.0 / (nneg + 2.0)
    keep = cnt.reshape(k, -1) > 0
    starts = np.zeros(k + 1, dtype=np.int64)
    np.cumsum(keep.sum(axis=1), out=starts[1:])
    xs = (sx / np.where(cnt > 0, cnt, 1.0)).reshape(k, -1)[keep]
    ts = np.broadcast_to(np.stack([tneg, tpos], axis=1)[:, :, None], cnt.shape).reshape(k, -1)[keep]
    a, b = kern.platt_fit(
        np.ascontiguousarray(xs),
        np.ascontiguousarray(cnt.reshape(k, -1)[keep]),
        np.ascontiguousarray(ts),
        starts,
        _PLATT_MAX_SLOPE,
        _PLATT_MAX_ITER,
    )
    flat = np.flatnonzero(~(a > 0.0))
    if flat.size:
        # not positively related to the given tags: calibration would reverse or erase the ranking
        a[flat] = 1.0
        b[flat] = 0.0
        warnings.warn(
            f"{flat.size} class(es) have predicted probabilities that do not increase with the given tags "
            f"({d.few(flat)}): they are audited on their raw probabilities",
            LabelauditWarning,
            stacklevel=4,
        )
    return _Platt(a, b, lo, hi, cnt, sx)


def calibrate_pred_probs(labels: Any, pred_probs: Any) -> np.ndarray:
    """Recalibrate each class's sigmoid outputs against the given tags with Platt scaling.

    For each class ``k`` fits ``P(tag k given | p) = sigmoid(a_k * logit(p) + b_k)`` by maximum
    likelihood with Platt's (1999) smoothed targets (``(n+ + 1)/(n+ + 2)`` and ``1/(n- + 2)``).
    Details that keep it safe as a default:

    * the slope is capped at 1 (and the intercept refit): over-confident outputs are softened,
      under-confident ones are never sharpened;
    * probabilities are clipped to ``[r / 2, 1 - r' / 2]`` (and at least 1e-6 from the ends)
      before the logit, ``r`` being the smallest positive probability of the class and ``r'`` the
      smallest positive ``1 - p``, so exact 0s and 1s sit just beyond the model's resolution;
    * the fit reads a histogram of the logits (1024 bins per class and tag value; at most
      32,768 evenly spaced rows), which moves the parameters by far less than their sampling
      error;
    * a class whose fitted slope is not positive is left uncalibrated (with a
      :class:`~labelaudit.errors.LabelauditWarning`).

    Two parameters per class, so fitting on the audited data itself leaks almost nothing of
    any single tag.

    Parameters
    ----------
    labels : array_like or sequence of sequences
        Given tags, as for :func:`find_multilabel_issues`.
    pred_probs : array_like
        ``(N, K)`` out-of-fold sigmoid probabilities in ``[0, 1]``.

    Returns
    -------
    numpy.ndarray
        float64 ``(N, K)`` calibrated probabilities; each column is a monotone function of the
        corresponding input column.
    """
    d = _prepare(labels, pred_probs)
    return _fit_platt(d).apply(d.P)


# ======================================================================================
# the audit
# ======================================================================================


@dataclass
class MultilabelAudit:
    """Everything one audit computes.  Arrays are indexed ``[example]`` or ``[example, class]``.

    Attributes
    ----------
    tags : numpy.ndarray
        ``uint8 (N, K)`` given tags.
    per_class : numpy.ndarray
        ``bool (N, K)``: tag ``k`` of example ``i`` looks wrong.
    missing : numpy.ndarray
        ``bool (N, K)``: tag not given, but the model is confident it applies.
    spurious : numpy.ndarray
        ``bool (N, K)``: tag given, but the model is confident it does not apply.
    is_issue : numpy.ndarray
        ``bool (N,)``: the example has at least one flagged tag (or, for ``low_*`` filters,
        is among the lowest-scored examples).
    quality : numpy.ndarray
        ``float64 (N,)`` aggregated label quality score; lower = more likely wrong.
    class_quality : numpy.ndarray
        ``float64 (N, K)`` per-tag label quality scores.
    joint : numpy.ndarray
        ``float64 (K, 2, 2)`` calibrated one-vs-rest confident joint, ``[k, given, true]`` with
        index 1 = tag present.  ``joint[k, 1, 0]`` estimates the spurious tags of class ``k``
        and ``joint[k, 0, 1]`` the missing ones.
    thresholds : numpy.ndarray
        ``float64 (K, 2)`` per-class thresholds (of the calibrated probabilities when
        calibration is on), ``[k, 1]`` for "present", ``[k, 0]`` for "absent".
    platt : tuple of numpy.ndarray or None
        ``(a, b)`` Platt parameters when calibration was used.
    settings : dict
        The options the audit ran with.
    """

    tags: np.ndarray
    per_class: np.ndarray
    missing: np.ndarray
    spurious: np.ndarray
    is_issue: np.ndarray
    quality: np.ndarray
    class_quality: np.ndarray
    joint: np.ndarray
    thresholds: np.ndarray
    platt: tuple[np.ndarray, np.ndarray] | None
    settings: dict[str, Any] = field(default_factory=dict)
    class_names: list[str] | None = None

    def summary(self, class_names: Sequence[Any] | None = None) -> dict[str, Any]:
        """The :func:`multilabel_summary` of this audit (no recomputation)."""
        if class_names is None:
            class_names = self.class_names
        names = _class_names(class_names, self.tags.shape[1])
        return _summary_dict(
            self.tags, self.missing, self.spurious, self.is_issue, self.joint, names, self.settings
        )


_NEED_OFFDIAG = ("confident_learning", "low_self_confidence", "low_normalized_margin")
_METHOD_CODE = {"self_confidence": 0, "normalized_margin": 1, "confidence_weighted_entropy": 2}
_AGG_CODE = {"ema": 0, "softmin": 1, "min": 2, "mean": 3}


def _calibration(d: _Data, s: _Settings) -> _Platt | None:
    return _fit_platt(d) if s.calibration == "platt" else None


def _calibrated(P: np.ndarray, pl: _Platt | None) -> np.ndarray:
    """The probabilities the audit scores: calibrated (float64) or the input as it is."""
    if pl is None:
        return P
    return pl.apply(P)


def _joint_and_quotas(Y: np.ndarray, P: np.ndarray, s: _Settings, pl: _Platt | None):
    """Thresholds, confident joint, calibrated joint and pruning quotas for all classes.

    Always works on the raw probabilities ``P``: with calibration the thresholds are those of
    the calibrated probabilities and the tests are mapped back through the calibration.
    """
    kern = _kernels()
    n, k = Y.shape
    if pl is None:
        t, counts = kern.class_thresholds(Y, P)
        # thresholds and their tolerance are applied in the dtype of P (as NumPy would do on P)
        tol = P.dtype.type(_THRESHOLD_TOL)
        with np.errstate(invalid="ignore"):
            cut = (t.astype(P.dtype) - tol).astype(np.float64)
        cut_present = np.ascontiguousarray(cut[:, 1])
        cut_absent = np.ascontiguousarray(cut[:, 0])
        mid = np.full(k, 0.5)
    else:
        t = pl.thresholds()
        npos = Y.sum(axis=0, dtype=np.int64)
        counts = np.stack([n - npos, npos], axis=1)
        cut_present, cut_absent, mid = pl.raw_cuts(t)
    C, code, wrong_counts = kern.confident_joint(Y, P, cut_present, cut_absent, mid)

    # calibration: rows to the given counts, then the whole matrix to N
    Cf = C.astype(np.float64)
    rows = Cf.sum(axis=2)
    safe = np.where(rows == 0, 1.0, rows)
    cal = Cf / safe[:, :, None] * counts[:, :, None].astype(np.float64)
    total = cal.sum(axis=(1, 2))
    cal = cal / np.where(total == 0, 1.0, total)[:, None, None] * n

    # integer off-diagonals, rounding each row while preserving its total; a tie between the
    # two fractional parts goes to "present" (the first column of cleanlab's binary problems)
    off = np.empty((Y.shape[1], 2), dtype=np.int64)
    for g in (0, 1):
        o = 1 - g
        diag_v = cal[:, g, g]
        off_v = cal[:, g, o]
        fl_d = np.floor(diag_v)
        fl_o = np.floor(off_v)
        fr_d = diag_v - fl_d
        fr_o = off_v - fl_o
        extra = np.round((diag_v + off_v) - (fl_d + fl_o)).astype(np.int64)
        off_wins = (fr_o > fr_d) | ((fr_o == fr_d) & (g == 0))
        up = (extra >= 1) & off_wins
        up |= extra >= 2
        off[:, g] = fl_o.astype(np.int64) + up
    nk = counts.astype(np.int64)
    diag = nk - off
    mine = s.min_examples_per_class
    short = diag < mine
    off_adj = np.where(short, np.maximum(off - (mine - diag), 0), off)
    diag_adj = np.where(short, mine, diag)
    tot = (diag_adj + off_adj).astype(np.float64)
    frac = s.frac_noise
    quota_nr = np.floor(frac * off_adj).astype(np.int64)
    quota_pc = (tot - np.floor(tot - frac * off_adj)).astype(np.int64)
    return t, cal, code, wrong_counts, quota_nr, quota_pc


def _numpy_tie_fix(Y, P, flags, tie, quota, mode, per_group):
    """Redo the buckets whose cut falls inside a run of equal keys the way NumPy's default
    (quick)sort orders them, which is what cleanlab relies on.  Only used for compat='cleanlab'.
    """
    if not tie.any():
        return flags
    one = P.dtype.type(1)
    two = P.dtype.type(2)
    for j, b in zip(*np.nonzero(tie), strict=True):
        p = P[:, j]
        y = Y[:, j].astype(bool)
        if per_group:
            rows = np.flatnonzero(y) if b == 1 else np.flatnonzero(~y)
            g = np.full(rows.size, b, dtype=np.int64)
        else:
            rows = np.arange(P.shape[0])
            g = y.astype(np.int64)
        pr = p[rows]
        qa = one - pr
        qg = np.where(g == 1, pr, qa)
        qo = np.where(g == 1, qa, pr)
        if mode == 0:
            order = np.argsort(-(qo - qg))
        elif mode == 1:
            order = np.argsort(qg)
        else:
            order = np.argsort((qg - qo + one) / two)
        r = int(quota[j, b])
        chosen = rows[order[:r]]
        wrong = qg < qo
        sel = np.zeros(P.shape[0], dtype=bool)
        sel[chosen] = True
        sel_wrong = np.zeros(P.shape[0], dtype=bool)
        sel_wrong[rows[wrong]] = True
        sel &= sel_wrong
        flags[rows, j] = 0
        flags[sel, j] = 1
    return flags


def _class_scores(Y, P, s: _Settings, method: str | None = None) -> np.ndarray:
    m = _METHOD_CODE[method or s.method]
    return _kernels().class_scores(Y, P, m, s.compat != "cleanlab")


def _aggregate(S: np.ndarray, s: _Settings) -> np.ndarray:
    return _kernels().aggregate_rows(np.ascontiguousarray(S), _AGG_CODE[s.aggregate], s.alpha, s.temperature)


def _run(d: _Data, s: _Settings, *, want_scores: bool = True) -> MultilabelAudit:
    kern = _kernels()
    Y, P = d.Y, d.P
    _warn_inputs(d)
    pl = _calibration(d, s)
    t, cal, code, wrong_counts, quota_nr, quota_pc = _joint_and_quotas(Y, P, s, pl)
    offdiag = code & 1 if s.filter_by in _NEED_OFFDIAG else None
    cleanlab = s.compat == "cleanlab"
    fb = s.filter_by
    n, k = Y.shape
    Pc: np.ndarray | None = None  # calibrated probabilities, only built when scores need them
    class_quality = None
    quality = None

    def prune(mode: int, quota: np.ndarray) -> np.ndarray:
        # within one given group the calibration keeps the order, so raw keys rank the same
        flags, tie = kern.select_lowest(Y, P, code, quota, True, mode, wrong_counts)
        if cleanlab:
            flags = _numpy_tie_fix(Y, P, flags, tie, quota, mode, True)
        return flags

    if fb == "prune_by_noise_rate":
        flags = prune(0, quota_nr)
    elif fb == "prune_by_class":
        flags = prune(1, quota_pc)
    elif fb == "both":
        flags = prune(0, quota_nr) & prune(1, quota_pc)
    elif fb == "confident_learning":
        flags = offdiag
    elif fb == "predicted_neq_given":
        flags = (code >> 1) & 1
    else:  # low_self_confidence / low_normalized_margin: scores compare the two groups, so calibrate
        Pc = _calibrated(P, pl)
        mode = 1 if fb == "low_self_confidence" else 2
        num = offdiag.sum(axis=0, dtype=np.int64)[:, None]
        flags, tie = kern.select_lowest(Y, Pc, code, num, False, mode, wrong_counts)
        if cleanlab:
            flags = _numpy_tie_fix(Y, Pc, flags, tie, num, mode, False)
    per_class = flags.astype(bool)

    if fb in ("low_self_confidence", "low_normalized_margin"):
        # example level: as many examples as have an off-diagonal tag, lowest aggregated score first
        method = "self_confidence" if fb == "low_self_confidence" else "normalized_margin"
        class_quality = _class_scores(Y, Pc, s, method)
        quality = _aggregate(class_quality, s)
        num_ex = int(kern.any_rows(offdiag).sum())
        order = np.argsort(quality) if cleanlab else np.argsort(quality, kind="stable")
        is_issue = np.zeros(n, dtype=bool)
        is_issue[order[:num_ex]] = True
        if method != s.method:
            class_quality = quality = None
    else:
        is_issue = kern.any_rows(flags)

    if want_scores and quality is None:
        if Pc is None:
            Pc = _calibrated(P, pl)
        class_quality = _class_scores(Y, Pc, s)
        quality = _aggregate(class_quality, s)
    given = Y.astype(bool)
    return MultilabelAudit(
        tags=Y,
        per_class=per_class,
        missing=per_class & ~given,
        spurious=per_class & given,
        is_issue=is_issue,
        quality=quality if quality is not None else np.empty(0),
        class_quality=class_quality if class_quality is not None else np.empty((0, k)),
        joint=cal,
        thresholds=t,
        platt=(pl.a, pl.b) if pl is not None else None,
        settings=s.__dict__.copy(),
        class_names=d.names,
    )


# ======================================================================================
# public API
# ======================================================================================

_COMMON_PARAMS = """
    labels : array_like or sequence of sequences
        The given tags: an ``N x K`` matrix of booleans or 0/1 numbers, or a list of ``N``
        lists of class indices such as ``[[0, 2], [], [1]]`` (converted).
    pred_probs : array_like
        ``(N, K)`` out-of-fold predicted probabilities, one independent probability per class
        (sigmoid outputs; rows need not sum to 1), finite and within ``[0, 1]``.
    filter_by : str, optional
        Confident-learning rule applied to every one-vs-rest problem: ``prune_by_noise_rate``,
        ``prune_by_class``, ``both``, ``confident_learning``, ``predicted_neq_given``,
        ``low_self_confidence`` or ``low_normalized_margin`` (see the module docstring).
        Default ``DEFAULT_FILTER`` (``low_self_confidence``: as many examples as have a tag off the
        diagonal of the confident joint, lowest score first; docs/multilabel.md), or
        ``prune_by_noise_rate``, the reference's default, with compat="cleanlab".
    frac_noise : float, default 1.0
        Flag only this fraction of the estimated number of wrong tags of each class (prune
        rules only).
    min_examples_per_class : int, default 1
        Never flag so many tags of one given value that fewer than this many would remain
        (prune rules only).
    compat : {"paper", "cleanlab"}, default "paper"
        ``"cleanlab"`` reproduces cleanlab 2.9 exactly (tie-breaking and quirks included) and
        defaults ``calibration`` to ``"none"``; ``"paper"`` defaults it to ``"platt"``.
    calibration : {"platt", "none"}, optional
        Recalibrate each class's probabilities against the given tags before auditing
        (:func:`calibrate_pred_probs`).  Default: ``"platt"`` for compat="paper", ``"none"``
        for compat="cleanlab"."""


def audit_multilabel(
    labels: Any,
    pred_probs: Any,
    *,
    filter_by: FilterBy | None = None,
    frac_noise: float = 1.0,
    min_examples_per_class: int = 1,
    method: Method = "self_confidence",
    aggregate: Aggregate = "ema",
    alpha: float = 0.8,
    temperature: float = 0.1,
    compat: Compat = "paper",
    calibration: Calibration | None = None,
    class_names: Sequence[str] | None = None,
) -> MultilabelAudit:
    """Run the whole multi-label audit once: flags per tag and per example, and scores.

    Parameters
    ----------{common}
    method : {{"self_confidence", "normalized_margin", "confidence_weighted_entropy"}}
        Per-tag label quality score of the binary problems.
    aggregate : {{"ema", "softmin", "min", "mean"}}, default "ema"
        How the ``K`` per-tag scores of an example become one score.
    alpha : float, default 0.8
        EMA weight of each newer (lower) score.
    temperature : float, default 0.1
        Softmin temperature.
    class_names : sequence of str, optional
        One name per class, used in warnings and as the default names of
        :meth:`MultilabelAudit.summary`.

    Returns
    -------
    MultilabelAudit
    """
    s = _settings(
        filter_by=filter_by,
        frac_noise=frac_noise,
        min_examples_per_class=min_examples_per_class,
        method=method,
        aggregate=aggregate,
        alpha=alpha,
        temperature=temperature,
        compat=compat,
        calibration=calibration,
    )
    return _run(_prepare(labels, pred_probs, class_names), s)


audit_multilabel.__doc__ = audit_multilabel.__doc__.format(common=_COMMON_PARAMS)  # type: ignore[union-attr]


def find_multilabel_issues(
    labels: Any,
    pred_probs: Any,
    *,
    filter_by: FilterBy | None = None,
    frac_noise: float = 1.0,
    min_examples_per_class: int = 1,
    compat: Compat = "paper",
    calibration: Calibration | None = None,
    method: Method = "self_confidence",
    aggregate: Aggregate = "ema",
    alpha: float = 0.8,
    temperature: float = 0.1,
) -> np.ndarray:
    """Flag the examples whose tags look wrong (Thyagarajan et al., 2023).

    Runs confident learning on every one-vs-rest problem "has tag k" vs "does not" (all ``K``
    at once) and flags an example when any of its tags is flagged.  For ``low_self_confidence``
    and ``low_normalized_margin`` the example-level mask instead holds the examples with the
    lowest aggregated score, as many as have a tag off the diagonal of the confident joint.

    Parameters
    ----------{common}
    method, aggregate, alpha, temperature
        Ranking score used by the ``low_*`` filters; see :func:`multilabel_quality_scores`.

    Returns
    -------
    numpy.ndarray
        ``bool (N,)``, True for examples with a label issue.

    References
    ----------
    A. Thyagarajan, E. Snorrason, C. Northcutt, J. Mueller (2023). Identifying Incorrect
    Annotations in Multi-Label Classification Data. arXiv:2211.13895.
    C. Northcutt, L. Jiang, I. Chuang (2021). Confident Learning: Estimating Uncertainty in
    Dataset Labels. JAIR 70, 1373-1411.
    """
    s = _settings(
        filter_by=filter_by,
        frac_noise=frac_noise,
        min_examples_per_class=min_examples_per_class,
        method=method,
        aggregate=aggregate,
        alpha=alpha,
        temperature=temperature,
        compat=compat,
        calibration=calibration,
    )
    return _run(_prepare(labels, pred_probs), s, want_scores=False).is_issue


find_multilabel_issues.__doc__ = find_multilabel_issues.__doc__.format(common=_COMMON_PARAMS)  # type: ignore[union-attr]


def per_class_issues(
    labels: Any,
    pred_probs: Any,
    *,
    filter_by: FilterBy | None = None,
    frac_noise: float = 1.0,
    min_examples_per_class: int = 1,
    compat: Compat = "paper",
    calibration: Calibration | None = None,
) -> np.ndarray:
    """Flag individual tags: entry ``[i, k]`` is True when class ``k`` looks wrongly annotated
    for example ``i`` (given but absent, or absent but should be given).

    Parameters
    ----------{common}

    Returns
    -------
    numpy.ndarray
        ``bool (N, K)``.
    """
    s = _settings(
        filter_by=filter_by,
        frac_noise=frac_noise,
        min_examples_per_class=min_examples_per_class,
        compat=compat,
        calibration=calibration,
    )
    return _run(_prepare(labels, pred_probs), s, want_scores=False).per_class


per_class_issues.__doc__ = per_class_issues.__doc__.format(common=_COMMON_PARAMS)  # type: ignore[union-attr]


def tag_issues(
    labels: Any,
    pred_probs: Any,
    *,
    filter_by: FilterBy | None = None,
    frac_noise: float = 1.0,
    min_examples_per_class: int = 1,
    compat: Compat = "paper",
    calibration: Calibration | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Split the flagged tags into missing and spurious ones.

    Parameters
    ----------{common}

    Returns
    -------
    missing_tags : numpy.ndarray
        ``bool (N, K)``: tag ``k`` is not given to example ``i`` but the model is confident it
        belongs.
    spurious_tags : numpy.ndarray
        ``bool (N, K)``: tag ``k`` is given to example ``i`` but the model is confident it does
        not belong.
    """
    s = _settings(
        filter_by=filter_by,
        frac_noise=frac_noise,
        min_examples_per_class=min_examples_per_class,
        compat=compat,
        calibration=calibration,
    )
    res = _run(_prepare(labels, pred_probs), s, want_scores=False)
    return res.missing, res.spurious


tag_issues.__doc__ = tag_issues.__doc__.format(common=_COMMON_PARAMS)  # type: ignore[union-attr]


_SCORE_PARAMS = """
    labels : array_like or sequence of sequences
        Given tags, an ``N x K`` 0/1 matrix or a list of lists of class indices.
    pred_probs : array_like
        ``(N, K)`` out-of-fold sigmoid probabilities in ``[0, 1]``.
    method : {"self_confidence", "normalized_margin", "confidence_weighted_entropy"}
        Per-tag score of the binary problem with probabilities ``(1 - p, p)``:
        self-confidence ``q_given`` (``p`` if the tag is given, else ``1 - p``); normalized
        margin ``(q_given - q_other + 1) / 2`` (equal to self-confidence for two classes up
        to rounding); confidence-weighted entropy ``log(1 + x) / x`` with
        ``x = H(1 - p, p) / q_given`` and ``H`` the base-2 entropy.
    compat : {"paper", "cleanlab"}, default "paper"
        "cleanlab" reproduces cleanlab 2.9's values (including its 1e-6 floors in the
        entropy score) and defaults ``calibration`` to "none".
    calibration : {"platt", "none"}, optional
        Score Platt-recalibrated probabilities (:func:`calibrate_pred_probs`).  Default
        "platt" for compat="paper", "none" for compat="cleanlab"."""


def per_class_quality_scores(
    labels: Any,
    pred_probs: Any,
    *,
    method: Method = "self_confidence",
    compat: Compat = "paper",
    calibration: Calibration | None = None,
) -> np.ndarray:
    """Label quality score of every tag: ``float64 (N, K)``, in ``[0, 1]``, lower = worse.

    Parameters
    ----------{params}
    """
    s = _settings(method=method, compat=compat, calibration=calibration)
    d = _prepare(labels, pred_probs)
    return _class_scores(d.Y, _calibrated(d.P, _calibration(d, s)), s)


per_class_quality_scores.__doc__ = per_class_quality_scores.__doc__.format(params=_SCORE_PARAMS)  # type: ignore[union-attr]


def multilabel_quality_scores(
    labels: Any,
    pred_probs: Any,
    *,
    method: Method = "self_confidence",
    aggregate: Aggregate = "ema",
    alpha: float = 0.8,
    temperature: float = 0.1,
    compat: Compat = "paper",
    calibration: Calibration | None = None,
) -> np.ndarray:
    """One label quality score per example, lower = more likely to have a wrong tag.

    The ``K`` per-tag scores ``s_1 >= s_2 >= ... >= s_K`` of an example (sorted from highest
    to lowest) are aggregated by

    * ``"ema"`` (the paper's choice): ``e_1 = s_1``, ``e_t = alpha * s_t + (1 - alpha) * e_{t-1}``,
      score ``e_K``; the worst tag has weight ``alpha``, the next ``alpha * (1 - alpha)``, ...
    * ``"softmin"``: ``sum_k s_k * w_k`` with ``w = softmax((1 - s) / temperature)``.
    * ``"min"``: the worst tag.   * ``"mean"``: the average tag.

    Parameters
    ----------{params}
    aggregate : {{"ema", "softmin", "min", "mean"}}, default "ema"
    alpha : float, default 0.8
        EMA smoothing, in ``(0, 1]``.
    temperature : float, default 0.1
        Softmin temperature, positive.

    Returns
    -------
    numpy.ndarray
        ``float64 (N,)`` scores in ``[0, 1]``.

    References
    ----------
    Thyagarajan et al. (2023), arXiv:2211.13895, section 3 (label quality score).
    """
    s = _settings(
        method=method,
        aggregate=aggregate,
        alpha=alpha,
        temperature=temperature,
        compat=compat,
        calibration=calibration,
    )
    d = _prepare(labels, pred_probs)
    return _aggregate(_class_scores(d.Y, _calibrated(d.P, _calibration(d, s)), s), s)


multilabel_quality_scores.__doc__ = (
    multilabel_quality_scores.__doc__.replace("{params}", _SCORE_PARAMS)
    .replace(  # type: ignore[union-attr]
        "{{", "{"
    )
    .replace("}}", "}")
)


def multilabel_summary(
    labels: Any,
    pred_probs: Any,
    *,
    class_names: Sequence[str] | None = None,
    issues: Any = None,
    filter_by: FilterBy | None = None,
    frac_noise: float = 1.0,
    min_examples_per_class: int = 1,
    compat: Compat = "paper",
    calibration: Calibration | None = None,
) -> dict[str, Any]:
    """A JSON-able summary of a multi-label audit, per class and overall.

    Parameters
    ----------{common}
    class_names : sequence of str, optional
        One name per class (column of ``pred_probs``); default ``"0"``, ``"1"``, ...
    issues : array_like or tuple, optional
        Reuse flags computed earlier instead of auditing again: a ``bool (N, K)`` per-tag mask
        (:func:`per_class_issues`), or the ``(missing_tags, spurious_tags)`` pair from
        :func:`tag_issues`.  Example-level counts are then the rows with a flagged tag.

    Returns
    -------
    dict
        ``num_examples``, ``num_classes``, ``num_issues`` (examples with a flagged tag),
        ``num_flagged_tags``, ``health_score``, ``settings`` and ``classes``, a list with one
        entry per class: ``class``, ``given_count``, ``given_but_absent`` (spurious tags:
        ``count`` and ``rate`` = count / given_count), ``absent_but_should_be`` (missing tags:
        ``count`` and ``rate`` = count / number of examples without the tag),
        ``noise_rate`` (confident learning's estimate of the fraction of examples whose tag
        for this class is wrong: off-diagonal mass of the calibrated one-vs-rest joint / N) and
        ``estimated_errors`` (that estimate as a count).

        ``health_score = 1 - num_issues / num_examples``: the fraction of examples none of
        whose tags is flagged (1.0 = no issue found).
    """
    s = _settings(
        filter_by=filter_by,
        frac_noise=frac_noise,
        min_examples_per_class=min_examples_per_class,
        compat=compat,
        calibration=calibration,
    )
    d = _prepare(labels, pred_probs, class_names)
    Y, P = d.Y, d.P
    n, k = Y.shape
    names = d.names if d.names is not None else _class_names(None, k)
    if issues is None:
        res = _run(d, s, want_scores=False)
        missing, spurious, joint = res.missing, res.spurious, res.joint
        is_issue = res.is_issue
    else:
        given = Y.astype(bool)
        if isinstance(issues, tuple) and len(issues) == 2:
            missing = np.asarray(issues[0], dtype=bool)
            spurious = np.asarray(issues[1], dtype=bool)
            if missing.shape != (n, k) or spurious.shape != (n, k):
                raise InputError(
                    f"issues must be two ({n}, {k}) masks, got {missing.shape} and {spurious.shape}"
                )
        else:
            arr = np.asarray(issues)
            if arr.shape != (n, k):
                raise InputError(f"issues must be a ({n}, {k}) per-tag mask, got shape {arr.shape}")
            arr = arr.astype(bool)
            missing, spurious = arr & ~given, arr & given
        is_issue = (missing | spurious).any(axis=1)
        joint = _joint_and_quotas(Y, P, s, _calibration(d, s))[1]
    return _summary_dict(Y, missing, spurious, is_issue, joint, names, s.__dict__)


def _class_names(class_names: Sequence[Any] | None, k: int) -> list[str]:
    if class_names is None:
        return [str(j) for j in range(k)]
    names = [str(c) for c in class_names]
    if len(names) != k:
        raise UsageError(f"class_names has {len(names)} names but pred_probs has {k} classes")
    return names


def _summary_dict(
    Y: np.ndarray,
    missing: np.ndarray,
    spurious: np.ndarray,
    is_issue: np.ndarray,
    joint: np.ndarray,
    names: list[str],
    settings: dict[str, Any],
) -> dict[str, Any]:
    n, k = Y.shape
    given_count = Y.sum(axis=0, dtype=np.int64)
    spur = spurious.sum(axis=0, dtype=np.int64)
    miss = missing.sum(axis=0, dtype=np.int64)
    est = joint[:, 0, 1] + joint[:, 1, 0]
    classes = []
    for j in range(k):
        absent = n - int(given_count[j])
        classes.append(
            {
                "class": names[j],
                "given_count": int(given_count[j]),
                "given_but_absent": {
                    "count": int(spur[j]),
                    "rate": float(spur[j] / given_count[j]) if given_count[j] else 0.0,
                },
                "absent_but_should_be": {
                    "count": int(miss[j]),
                    "rate": float(miss[j] / absent) if absent else 0.0,
                },
                "noise_rate": float(est[j] / n),
                "estimated_errors": round(float(est[j]), 3),
            }
        )
    num_issues = int(np.count_nonzero(is_issue))
    keys = ("filter_by", "frac_noise", "min_examples_per_class", "compat", "calibration")
    return {
        "num_examples": int(n),
        "num_classes": int(k),
        "num_issues": num_issues,
        "num_flagged_tags": int(spur.sum() + miss.sum()),
        "health_score": float(1.0 - num_issues / n),
        "settings": {key: settings[key] for key in keys},
        "classes": classes,
    }


multilabel_summary.__doc__ = multilabel_summary.__doc__.format(common=_COMMON_PARAMS)  # type: ignore[union-attr]
