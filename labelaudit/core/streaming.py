"""Confident learning over row chunks, for probability matrices larger than memory (``compat="paper"``).

``stream_label_issues(chunks, ...)`` gives exactly the mask of :func:`labelaudit.core.filter.find_label_issues`
and the scores of :func:`labelaudit.core.scores.label_quality_scores` while holding only one chunk of the
N x K matrix at a time. ``chunks`` is a callable returning a fresh iterable of ``(labels, pred_probs)`` row
chunks (in row order) on every call; it is called once per pass:

1. input checks (merged over chunks, rows global) and the per-class self-confidence sums, accumulated
   in row order exactly like ``kernels.self_confidence_sums`` (so the thresholds are bit-identical);
2. ``kernels.confident_pass`` per chunk with the global thresholds: the confident joint, the per-row
   flags (label is top class, argmax != label, off-diagonal guess), the scores and the predicted class;
3. (``prune_by_noise_rate``, ``prune_by_class``, ``both`` only) bounded heaps per cell / class with the
   capacities from the calibrated joint, fed chunk by chunk: the ``C̃[i, j]`` largest margins
   ``p_j - p_i`` (PBNR) or the lowest self-confidences (PBC), equal keys to the lower row index, which is
   what the in-memory two-phase heaps select.

Memory: one chunk, O(N) scalars (labels, scores, predictions, a few bool flags) and heaps of at most
``sum C̃`` off-diagonal entries (<= N). Never O(N x K).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numba import njit

from labelaudit.core import kernels
from labelaudit.core.confident import TOP_CLASS_EPS, _calibrate, _latent, _native_thresholds
from labelaudit.core.filter import _check_params, _prune_counts
from labelaudit.core.scores import _CODES, SCORE_METHODS
from labelaudit.core.summary import MAX_OVERLAPPING_PAIRS, _names
from labelaudit.core.validate import (
    ROW_SUM_TOL,
    VALUE_TOL,
    _interpret_scan,
    _prepare_pred_probs,
    check_labels,
)
from labelaudit.errors import InputError, InvalidProbabilitiesError, LabelauditWarning, UsageError

#: ``filter_by`` rules the streaming path supports (the others need the whole matrix).
STREAMING_FILTERS: tuple[str, ...] = (
    "prune_by_noise_rate",
    "prune_by_class",
    "both",
    "confident_learning",
    "predicted_neq_given",
)

ChunkSource = Callable[[], Iterable[tuple[Any, Any]]]


def check_streaming_params(filter_by: str, compat: str) -> None:
    """UsageError for what only the in-memory path supports."""
    if compat != "paper":
        raise UsageError(f"compat={compat!r} needs the in-memory path; streaming supports compat='paper' only")
    if filter_by not in STREAMING_FILTERS:
        raise UsageError(
            f"filter_by={filter_by!r} needs the in-memory path; streaming supports: {', '.join(STREAMING_FILTERS)}"
        )


@dataclass(frozen=True)
class StreamResult:
    """What a streaming scan produces (all O(N) or O(K^2))."""

    issues: np.ndarray  # bool[N]
    quality: np.ndarray  # float64[N], the requested score
    predicted: np.ndarray  # int64[N], row argmax (ties: lowest class)
    labels: np.ndarray  # int64[N]
    counts: np.ndarray  # int64[K]
    thresholds: np.ndarray  # float64[K]
    raw_joint: np.ndarray  # int64[K, K], with the diagonal floor
    confident_joint: np.ndarray  # int64[K, K], calibrated
    normalized: bool  # rows were renormalised (normalize=True and some row did not sum to 1)


# ------------------------------------------------------------------------------------------------
# kernels specific to streaming (the shared ones in kernels.py are called per chunk unchanged)


@njit(cache=True, nogil=True)
def _accumulate_self_confidence(labels, pred_probs, sums, counts):
    """``kernels.self_confidence_sums`` continued from ``sums``/``counts`` (same order of additions)."""
    for i in range(labels.shape[0]):
        c = labels[i]
        sums[c] += np.float64(pred_probs[i, c])
        counts[c] += 1


@njit(cache=True, nogil=True)
def _offer_margins(labels, pred_probs, row0, caps, offsets, keys, idx, sizes, gate):
    """Offer every margin ``p_j - p_label`` (float64, j != label) to the heap of cell ``label * K + j``."""
    n, k = pred_probs.shape
    for i in range(n):
        c = labels[i]
        pc = np.float64(pred_probs[i, c])
        base = c * k
        for j in range(k):
            cell = base + j
            if j == c or caps[cell] == 0:
                continue
            m = np.float64(pred_probs[i, j]) - pc
            if m < gate[cell]:
                continue
            root = kernels._offer(keys, idx, sizes, caps, offsets, cell, m, row0 + i, True)
            if sizes[cell] == caps[cell]:
                gate[cell] = root


@njit(cache=True, nogil=True)
def _offer_self_confidence(labels, pred_probs, row0, caps, offsets, keys, idx, sizes, gate):
    """Offer ``-p_label`` (float64) to the heap of class ``label``."""
    for i in range(labels.shape[0]):
        c = labels[i]
        if caps[c] == 0:
            continue
        key = -np.float64(pred_probs[i, c])
        if key < gate[c]:
            continue
        root = kernels._offer(keys, idx, sizes, caps, offsets, c, key, row0 + i, True)
        if sizes[c] == caps[c]:
            gate[c] = root


# ------------------------------------------------------------------------------------------------


class _Rows:
    """Stand-in for the matrix in ``_interpret_scan``: only the rows it looks at (global indices)."""

    def __init__(self, n: int, k: int, rows: dict[int, np.ndarray]) -> None:
        self.shape = (n, k)
        self._rows = rows

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, tuple):
            return self._rows[int(key[0])][key[1]]
        return self._rows[int(key)]


_ROW_IN_LABELS = re.compile(r"labels\[(\d+)\]")


def _chunk_labels(labels: Any, n: int, k: int, offset: int) -> np.ndarray:
    try:
        return check_labels(labels, n, k)
    except InputError as exc:
        text = _ROW_IN_LABELS.sub(lambda m: f"labels[{int(m.group(1)) + offset}]", str(exc))
        raise type(exc)(text) from None


def _iter_chunks(chunks: ChunkSource, k: int | None, dtype: np.dtype | None):
    """(offset, labels int64, probs float32/64 C-contiguous) per non-empty chunk, rows global."""
    offset = 0
    for raw_labels, raw_probs in chunks():
        probs = np.asarray(raw_probs)
        if probs.ndim == 2 and probs.shape[0] == 0:
            continue
        probs = _prepare_pred_probs(probs)
        if k is not None and probs.shape[1] != k:
            raise InputError(f"a chunk of pred_probs has {probs.shape[1]} columns, the first had {k}")
        if dtype is not None and probs.dtype != dtype:
            raise InputError(f"a chunk of pred_probs is {probs.dtype}, the first was {dtype}")
        labels = _chunk_labels(raw_labels, probs.shape[0], probs.shape[1], offset)
        yield offset, labels, probs
        offset += probs.shape[0]


def _pass_checks(chunks: ChunkSource, normalize: bool):
    """Pass 1: value checks (as ``check_inputs``), label counts, self-confidence sums (raw and renormalised)."""
    k = dtype = None
    sums = counts = norm_sums = None
    nonfinite = negative = above = bad_row = zero_row = -1
    n_bad = 0
    bad_sum = 1.0
    rows: dict[int, np.ndarray] = {}
    labels_all = []
    n = 0
    for offset, labels, probs in _iter_chunks(chunks, None, None):
        if k is None:
            k, dtype = probs.shape[1], probs.dtype
            sums, counts = np.zeros(k), np.zeros(k, dtype=np.int64)
            norm_sums = np.zeros(k)
        elif probs.shape[1] != k:
            raise InputError(f"a chunk of pred_probs has {probs.shape[1]} columns, the first had {k}")
        elif probs.dtype != dtype:
            raise InputError(f"a chunk of pred_probs is {probs.dtype}, the first was {dtype}")
        nf, neg, ab, nb, br, bs, zr = kernels.scan_probabilities(probs, ROW_SUM_TOL, 1.0 + VALUE_TOL)
        for r in (nf, neg, ab):
            if r >= 0:
                rows.setdefault(offset + r, probs[r].copy())
        if nf >= 0 and nonfinite < 0:
            nonfinite = offset + nf
        if neg >= 0 and negative < 0:
            negative = offset + neg
        if ab >= 0 and above < 0:
            above = offset + ab
        if br >= 0 and bad_row < 0:
            bad_row, bad_sum = offset + br, bs
        if zr >= 0 and zero_row < 0:
            zero_row = offset + zr
        n_bad += nb
        if nonfinite < 0:
            _accumulate_self_confidence(labels, probs, sums, counts)
            if normalize:
                ones = np.zeros(k, dtype=np.int64)
                with np.errstate(all="ignore"):
                    _accumulate_self_confidence(labels, kernels.normalize_rows(probs), norm_sums, ones)
        labels_all.append(labels)
        n += probs.shape[0]
    if k is None:
        raise InputError("pred_probs has no rows: there are no examples to audit")
    proxy = _Rows(n, k, rows)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", LabelauditWarning)
        _interpret_scan(proxy, nonfinite, negative, above, n_bad, bad_row, bad_sum, zero_row)  # type: ignore[arg-type]
    renormalise = normalize and n_bad > 0
    if renormalise:
        if zero_row >= 0:
            raise InvalidProbabilitiesError(f"row {zero_row} of pred_probs sums to 0 and cannot be renormalised")
        warnings.warn(
            f"{n_bad} of {n} rows of pred_probs do not sum to 1 (first: row {bad_row} sums to "
            f"{bad_sum:.6g}); renormalised them",
            LabelauditWarning,
            stacklevel=3,
        )
        sums = norm_sums
    else:
        for w in caught:
            warnings.warn(w.message, LabelauditWarning, stacklevel=3)
    labels = np.concatenate(labels_all)
    return labels, k, dtype, sums, counts, renormalise


def stream_label_issues(
    chunks: ChunkSource,
    *,
    filter_by: str = "prune_by_noise_rate",
    frac_noise: float = 1.0,
    min_examples_per_class: int = 1,
    compat: str = "paper",
    score: str = "self_confidence",
    normalize: bool = False,
) -> StreamResult:
    """Label issues and label-quality scores over row chunks, in three passes (two without pruning).

    Equal, row for row, to ``find_label_issues(labels, P, filter_by=..., frac_noise=...,
    min_examples_per_class=..., compat="paper")`` and ``label_quality_scores(labels, P, method=score)``
    where ``P`` is the concatenated chunks (renormalised first when ``normalize`` and a row needs it, as
    ``check_inputs(..., normalize=True)`` does). Raises and warns like ``check_inputs`` with global rows.
    """
    _check_params(filter_by, frac_noise, min_examples_per_class, compat)
    check_streaming_params(filter_by, compat)
    if score not in SCORE_METHODS:
        raise UsageError(f"unknown method={score!r}; choose one of: {', '.join(SCORE_METHODS)}")

    # pass 1
    labels, k, dtype, sums, counts, renormalise = _pass_checks(chunks, normalize)
    n = labels.shape[0]
    with np.errstate(divide="ignore", invalid="ignore"):
        thresholds = np.where(counts > 0, sums / np.maximum(counts, 1), np.inf)

    def probs_chunks():
        seen = 0
        for offset, lab, probs in _iter_chunks(chunks, k, dtype):
            if renormalise:
                probs = kernels.normalize_rows(probs)
            seen = offset + probs.shape[0]
            yield offset, lab, probs
        if seen != n:
            raise InputError(f"the chunks gave {seen} rows on a later pass but {n} on the first")

    # pass 2: the confident joint (as confident._confident_pass), flags, scores, predictions
    dt = dtype.type
    itype = np.int32 if dtype == np.float32 else np.int64
    native = _native_thresholds(thresholds, dtype)
    native = np.where(native > 0, native, dt(0.0)).astype(dtype)
    if itype is np.int32:
        sign_off, exponent = itype(0x7FFFFFFF), itype(0x7F800000)
    else:
        sign_off, exponent = itype(0x7FFFFFFFFFFFFFFF), itype(0x7FF0000000000000)
    hi_bits = np.array([1.0 + VALUE_TOL], dtype=dtype).view(itype)[0]
    raw = np.zeros((k, k), dtype=np.int64)
    label_is_top = np.empty(n, dtype=bool)
    flagged = np.zeros(n, dtype=bool) if filter_by in ("confident_learning", "predicted_neq_given") else None
    quality = np.empty(n, dtype=np.float64)
    predicted = np.empty(n, dtype=np.int64)
    code = _CODES[score]
    for offset, lab, probs in probs_chunks():
        end = offset + probs.shape[0]
        counts_c, guess, is_top, top, *_ = kernels.confident_pass(
            lab, probs, probs.view(itype), native.view(itype), kernels.GUESS_PAPER, dt(TOP_CLASS_EPS),
            sign_off, exponent, hi_bits, ROW_SUM_TOL,
        )
        raw += counts_c
        label_is_top[offset:end] = is_top
        if filter_by == "predicted_neq_given":
            flagged[offset:end] = top != lab
        elif filter_by == "confident_learning":
            flagged[offset:end] = (guess >= 0) & (guess != lab)
        quality[offset:end] = kernels.quality_scores(lab, probs, code, False, np.zeros(1), 0.0, False)
        predicted[offset:end] = kernels.argmax_rows(probs)
    np.fill_diagonal(raw, np.maximum(np.diagonal(raw), (counts > 0).astype(np.int64)))
    cj = _calibrate(raw, counts, "paper")

    if flagged is not None:
        issues = flagged & ~label_is_top
    else:
        # pass 3: bounded heaps with the capacities of the calibrated joint
        per_cell, per_class = _prune_counts(cj, counts, float(frac_noise), int(min_examples_per_class), "paper")
        heaps = []
        if filter_by in ("prune_by_noise_rate", "both"):
            caps = np.zeros(k * k, dtype=np.int64)
            off = ~np.eye(k, dtype=bool)
            caps[off.ravel()] = np.maximum(per_cell[off], 0)
            heaps.append((_offer_margins, caps))
        if filter_by in ("prune_by_class", "both"):
            heaps.append((_offer_self_confidence, np.maximum(per_class, 0).astype(np.int64)))
        states = [(fn, caps, *kernels._heap_storage(caps), np.full(caps.shape[0], -np.inf)) for fn, caps in heaps]
        if any(int(caps.sum()) > 0 for _, caps in heaps):
            for offset, lab, probs in probs_chunks():
                for fn, caps, offsets, keys, idx, sizes, gate in states:
                    fn(lab, probs, offset, caps, offsets, keys, idx, sizes, gate)
        issues = None
        for _fn, _caps, offsets, _keys, idx, sizes, _gate in states:
            mask = kernels._heap_mask(n, offsets, idx, sizes)
            issues = mask if issues is None else (issues & mask)
        issues &= ~label_is_top
    return StreamResult(issues, quality, predicted, labels, counts, thresholds, raw, cj, renormalise)


def stream_summary(result: StreamResult, *, class_names: Any = None, issues: Any = None) -> dict[str, Any]:
    """:func:`labelaudit.core.summary.dataset_summary` (``compat="paper"``) from a :class:`StreamResult`."""
    labels, counts, cj = result.labels, result.counts, result.confident_joint
    n, k = labels.shape[0], counts.shape[0]
    names = _names(class_names, k)
    est = _latent(cj, counts, "paper")
    issue_counts = None
    out: dict[str, Any] = {"num_examples": int(n), "num_classes": int(k)}
    if issues is not None:
        mask = np.asarray(issues)
        if mask.shape != (n,):
            raise InputError(f"issues must have shape ({n},); got {mask.shape}")
        mask = mask.astype(bool)
        out["num_issues"] = int(mask.sum())
        issue_counts = np.bincount(labels[mask], minlength=k)
    noise_rate = float(1.0 - np.trace(est.joint))
    out["estimated_noise_rate"] = noise_rate
    out["health_score"] = 1.0 - noise_rate
    true_counts = cj.sum(axis=0)
    label_noise = 1.0 - np.diagonal(est.inverse_noise_matrix)
    inverse_label_noise = 1.0 - np.diagonal(est.noise_matrix)
    order = np.lexsort((np.arange(k), -label_noise))
    out["per_class"] = [
        {
            "class": names[c],
            "given_count": int(counts[c]),
            "estimated_true_count": int(true_counts[c]),
            "label_noise": float(label_noise[c]),
            "inverse_label_noise": float(inverse_label_noise[c]),
            "num_issues": None if issue_counts is None else int(issue_counts[c]),
        }
        for c in order
    ]
    iu, ju = np.triu_indices(k, 1)
    pair_mass = est.joint[iu, ju] + est.joint[ju, iu]
    keep = np.flatnonzero(pair_mass > 0)
    keep = keep[np.lexsort((ju[keep], iu[keep], -pair_mass[keep]))][:MAX_OVERLAPPING_PAIRS]
    out["overlapping_classes"] = [
        {
            "classes": [names[iu[p]], names[ju[p]]],
            "class_indices": [int(iu[p]), int(ju[p])],
            "joint": float(pair_mass[p]),
            "count_given_first_true_second": int(cj[iu[p], ju[p]]),
            "count_given_second_true_first": int(cj[ju[p], iu[p]]),
        }
        for p in keep
    ]
    out["confident_joint"] = cj.tolist()
    out["class_names"] = names
    return out
