"""Confident learning over row chunks, for probability matrices larger than memory (``compat="paper"``).

The passes are those of Northcutt, Jiang & Chuang, "Confident Learning: Estimating Uncertainty in Dataset
Labels", JAIR 70:1373-1411, 2021, doi:10.1613/jair.1.12125, each split into a map over chunks and a combine.

``stream_label_issues(chunks, ...)`` gives exactly the mask of :func:`labelaudit.core.filter.find_label_issues`
and the scores of :func:`labelaudit.core.scores.label_quality_scores` while holding only one chunk of the
N x K matrix at a time. ``chunks`` is a callable returning a fresh iterable of ``(labels, pred_probs)`` row
chunks (in row order) on every call; it is called once per pass:

1. input checks (merged over chunks, rows global) and the per-class self-confidence sums, accumulated
   in fixed point exactly like ``kernels.self_confidence_sums`` (so the thresholds are bit-identical);
2. ``kernels.confident_pass`` per chunk with the global thresholds: the confident joint, the per-row
   flags (label is top class, argmax != label, off-diagonal guess), the scores and the predicted class;
3. the error probability of every row (``error_probability_chunk`` with the noise matrix of the
   calibrated joint, :mod:`labelaudit.core.posterior`), and (PBNR, PBC, both, and the posterior
   rules that count with PBNR: the default ``noise_rate_or_posterior``, ``likeliest_errors``) bounded heaps per cell / class with the capacities from the calibrated
   joint, fed chunk by chunk: the ``C̃[i, j]`` largest margins ``p_j - p_i`` (PBNR) or the lowest
   self-confidences (PBC), equal keys to the lower content hash, which is what the in-memory two-phase
   heaps select.

Each pass is a map step per chunk (``check_chunk``, ``confident_chunk``, ``Heaps.offer`` into fresh heaps)
and a combine step in row order (``ChecksFold``, ``ConfidentFold``, ``Heaps.offer_candidates``), so that
other engines (``labelaudit.engines.dask_engine``) run the map steps on partitions and get the same result.

Memory: one chunk, O(N) scalars (labels, scores, predictions, a few bool flags) and heaps of at most
``sum C̃`` off-diagonal entries (<= N). Never O(N x K).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numba import njit

from labelaudit.core import kernels
from labelaudit.core.confident import (
    _calibrate,
    _floor_diagonal,
    _native_thresholds,
    _run_confident_pass,
    thresholds_from,
)
from labelaudit.core.filter import (
    POSTERIOR_FILTER_METHODS,
    _check_params,
    _prune_counts,
    default_filter,
    posterior_rule_mask,
)
from labelaudit.core.posterior import error_probability_from_noise, row_hashes
from labelaudit.core.scores import _CODES, SCORE_METHODS, default_score
from labelaudit.core.summary import summary_from_joint
from labelaudit.core.validate import (
    ROW_SUM_TOL,
    VALUE_TOL,
    _interpret_scan,
    _prepare_pred_probs,
    check_labels,
)
from labelaudit.errors import InputError, UsageError

#: ``filter_by`` rules the streaming path supports (the others need the whole matrix).
STREAMING_FILTERS: tuple[str, ...] = (
    "noise_rate_or_posterior",
    "likeliest_errors",
    "posterior",
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
        raise UsageError(
            f"compat={compat!r} needs the in-memory path; streaming supports compat='paper' only"
        )
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
    error_probability: np.ndarray | None = None  # float64[N], p(label is wrong) under the noise model


# ------------------------------------------------------------------------------------------------
# kernels specific to streaming (the shared ones in kernels.py are called per chunk unchanged)


@njit(cache=True, nogil=True)
def _offer_margins(labels, pred_probs, row0, caps, offsets, keys, hs, idx, sizes, gate):
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
            root = kernels._offer_row(
                keys, hs, idx, sizes, caps, offsets, cell, m, c, pred_probs[i], row0 + i
            )
            if sizes[cell] == caps[cell]:
                gate[cell] = root


@njit(cache=True, nogil=True)
def _offer_self_confidence(labels, pred_probs, row0, caps, offsets, keys, hs, idx, sizes, gate):
    """Offer ``-p_label`` (float64) to the heap of class ``label``."""
    for i in range(labels.shape[0]):
        c = labels[i]
        if caps[c] == 0:
            continue
        key = -np.float64(pred_probs[i, c])
        if key < gate[c]:
            continue
        root = kernels._offer_row(keys, hs, idx, sizes, caps, offsets, c, key, c, pred_probs[i], row0 + i)
        if sizes[c] == caps[c]:
            gate[c] = root


@njit(cache=True, nogil=True)
def _accumulate_values(labels, values, hi, lo):
    """``values[i]`` added to class ``labels[i]``'s fixed-point sum, as ``kernels.self_confidence_sums`` does
    (so the thresholds are bit-identical, in any row order and any split into chunks)."""
    for i in range(labels.shape[0]):
        kernels.add_fixed(hi, lo, labels[i], np.float64(values[i]))


@njit(cache=True, nogil=True)
def _offer_candidates(cells, cand_keys, cand_hashes, rows, caps, offsets, keys, hs, idx, sizes):
    """Offer (key, hash, row) entries already computed elsewhere (another chunk's heaps) to the heaps."""
    for t in range(cells.shape[0]):
        kernels._offer(keys, hs, idx, sizes, caps, offsets, cells[t], cand_keys[t], cand_hashes[t], rows[t])


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


def check_chunk_shape(probs: np.ndarray, k: int | None, dtype: np.dtype | None) -> None:
    if k is not None and probs.shape[1] != k:
        raise InputError(f"a chunk of pred_probs has {probs.shape[1]} columns, the first had {k}")
    if dtype is not None and probs.dtype != dtype:
        raise InputError(f"a chunk of pred_probs is {probs.dtype}, the first was {dtype}")


def prepare_chunk(
    raw_labels: Any, raw_probs: Any, offset: int, k: int | None = None, dtype: np.dtype | None = None
) -> tuple[np.ndarray, np.ndarray] | None:
    """Map step of every pass: (labels int64, probs float32/64 C-contiguous) of one chunk, or None if empty.

    ``offset`` is the global row of the chunk's first row (label errors name global rows); ``k`` and
    ``dtype``, when given, are checked (:func:`check_chunk_shape`) before the labels.
    """
    probs = np.asarray(raw_probs)
    if probs.ndim == 2 and probs.shape[0] == 0:
        return None
    probs = _prepare_pred_probs(probs)
    check_chunk_shape(probs, k, dtype)
    labels = _chunk_labels(raw_labels, probs.shape[0], probs.shape[1], offset)
    return labels, probs


def _iter_chunks(chunks: ChunkSource, k: int | None, dtype: np.dtype | None):
    """(offset, labels int64, probs float32/64 C-contiguous) per non-empty chunk, rows global."""
    offset = 0
    for raw_labels, raw_probs in chunks():
        prepared = prepare_chunk(raw_labels, raw_probs, offset, k, dtype)
        if prepared is None:
            continue
        labels, probs = prepared
        yield offset, labels, probs
        offset += probs.shape[0]


@dataclass
class ChunkChecks:
    """Pass-1 map output of one chunk (rows local to the chunk)."""

    n: int
    k: int
    dtype: np.dtype
    scan: tuple  # kernels.scan_probabilities: nonfinite, negative, above, n_bad, bad_row, bad_sum, zero_row
    rows: dict[int, np.ndarray]  # copies of the rows the error messages look at
    labels: np.ndarray  # int64
    self_confidence: np.ndarray | None  # float64 p[i, label_i]; None when the chunk has a non-finite value
    normalized_self_confidence: np.ndarray | None  # the same on renormalised rows (normalize=True only)


def check_chunk(labels: np.ndarray, probs: np.ndarray, normalize: bool) -> ChunkChecks:
    """Pass-1 map step: value checks and the per-row self-confidences (float64) of one prepared chunk."""
    scan = kernels.scan_probabilities(probs, ROW_SUM_TOL, 1.0 + VALUE_TOL)
    nf, neg, ab = scan[0], scan[1], scan[2]
    rows = {int(r): probs[r].copy() for r in (nf, neg, ab) if r >= 0}
    self_conf = norm_conf = None
    if nf < 0:
        at = np.arange(labels.shape[0])
        self_conf = probs[at, labels].astype(np.float64)
        if normalize:
            with np.errstate(all="ignore"):
                norm_conf = kernels.normalize_rows(probs)[at, labels].astype(np.float64)
    return ChunkChecks(
        probs.shape[0], probs.shape[1], probs.dtype, tuple(scan), rows, labels, self_conf, norm_conf
    )


class ChecksFold:
    """Pass-1 combine step: :class:`ChunkChecks` added in row order, merged as ``check_inputs`` would."""

    def __init__(self, normalize: bool) -> None:
        self.normalize = normalize
        self.k = self.dtype = None
        self.sums = self.counts = self.norm_sums = None
        self.nonfinite = self.negative = self.above = self.bad_row = self.zero_row = -1
        self.n_bad = 0
        self.bad_sum = 1.0
        self.rows: dict[int, np.ndarray] = {}
        self.labels: list[np.ndarray] = []
        self.n = 0

    def add(self, part: ChunkChecks) -> None:
        offset, k = self.n, part.k
        if self.k is None:
            self.k, self.dtype = k, part.dtype
            # fixed-point sums (high and low words), see kernels.add_fixed
            self.sums = (np.zeros(k, dtype=np.int64), np.zeros(k, dtype=np.int64))
            self.counts = np.zeros(k, dtype=np.int64)
            self.norm_sums = (np.zeros(k, dtype=np.int64), np.zeros(k, dtype=np.int64))
        else:
            check_chunk_shape(np.empty((0, k), dtype=part.dtype), self.k, self.dtype)
        nf, neg, ab, nb, br, bs, zr = part.scan
        for r, row in part.rows.items():
            self.rows.setdefault(offset + r, row)
        if nf >= 0 and self.nonfinite < 0:
            self.nonfinite = offset + nf
        if neg >= 0 and self.negative < 0:
            self.negative = offset + neg
        if ab >= 0 and self.above < 0:
            self.above = offset + ab
        if br >= 0 and self.bad_row < 0:
            self.bad_row, self.bad_sum = offset + br, bs
        if zr >= 0 and self.zero_row < 0:
            self.zero_row = offset + zr
        self.n_bad += nb
        if self.nonfinite < 0:
            _accumulate_values(part.labels, part.self_confidence, *self.sums)
            self.counts += np.bincount(part.labels, minlength=k)
            if self.normalize:
                _accumulate_values(part.labels, part.normalized_self_confidence, *self.norm_sums)
        self.labels.append(part.labels)
        self.n += part.n

    def finish(self):
        """(labels, k, dtype, sums, counts, renormalise); raises and warns like ``check_inputs``."""
        if self.k is None:
            raise InputError("pred_probs has no rows: there are no examples to audit")
        n, k = self.n, self.k
        renormalise = _interpret_scan(
            _Rows(n, k, self.rows),  # type: ignore[arg-type]
            self.nonfinite,
            self.negative,
            self.above,
            self.n_bad,
            self.bad_row,
            self.bad_sum,
            self.zero_row,
            normalize=self.normalize,
            stacklevel=4,  # the caller of finish's caller, as before
        )
        sums = kernels.fixed_to_float(*(self.norm_sums if renormalise else self.sums))
        labels = np.concatenate(self.labels)
        return labels, k, self.dtype, sums, self.counts, renormalise


def _pass_checks(chunks: ChunkSource, normalize: bool):
    """Pass 1: value checks (as ``check_inputs``), label counts, self-confidence sums (raw and renormalised)."""
    fold = ChecksFold(normalize)
    for _offset, labels, probs in _iter_chunks(chunks, None, None):
        fold.add(check_chunk(labels, probs, normalize))
    return fold.finish()


@dataclass(frozen=True)
class ConfidentParams:
    """What the pass-2 map step needs besides the chunk (small; sent to every worker)."""

    native: np.ndarray  # thresholds in the input dtype, as the in-memory confident pass uses them
    dtype: np.dtype
    filter_by: str
    score: str
    renormalise: bool
    adjust: np.ndarray | None = None  # float64 thresholds of a class-adjusted score (absent class: 1)


def confident_params(
    thresholds: np.ndarray, dtype: np.dtype, filter_by: str, score: str, renormalise: bool
) -> ConfidentParams:
    dtype = np.dtype(dtype)
    adjust = None
    if score == "adjusted_normalized_margin":  # as label_quality_scores(adjust_pred_probs=True), paper
        adjust = np.ascontiguousarray(np.where(np.isfinite(thresholds), thresholds, 1.0), dtype=np.float64)
    return ConfidentParams(
        _native_thresholds(thresholds, dtype), dtype, filter_by, score, renormalise, adjust
    )


@dataclass
class ChunkConfident:
    """Pass-2 map output of one chunk."""

    raw: np.ndarray  # int64[K, K], this chunk's confident-joint counts
    label_is_top: np.ndarray  # bool
    flagged: np.ndarray | None  # bool (confident_learning / predicted_neq_given only)
    quality: np.ndarray  # float64
    predicted: np.ndarray  # int64


def confident_chunk(labels: np.ndarray, probs: np.ndarray, params: ConfidentParams) -> ChunkConfident:
    """Pass-2 map step (``probs`` already renormalised when ``params.renormalise``)."""
    counts_c, guess, is_top, top, *_ = _run_confident_pass(labels, probs, params.native, kernels.GUESS_PAPER)
    flagged = None
    if params.filter_by == "predicted_neq_given":
        flagged = top != labels
    elif params.filter_by == "confident_learning":
        flagged = (guess >= 0) & (guess != labels)
    # the posterior score needs the calibrated joint: pass 3 (``quality_from_error``) replaces this
    if params.adjust is not None:
        a = params.adjust
        quality = kernels.quality_scores(
            labels, probs, kernels.SCORE_NORMALIZED_MARGIN, True, a, float(a.max()), False
        )
    else:
        code = _CODES.get(params.score, kernels.SCORE_SELF_CONFIDENCE)
        quality = kernels.quality_scores(labels, probs, code, False, np.zeros(1), 0.0, False)
    return ChunkConfident(
        np.asarray(counts_c, dtype=np.int64),
        np.asarray(is_top, dtype=bool),
        flagged,
        np.asarray(quality, dtype=np.float64),
        np.asarray(kernels.argmax_rows(probs)),
    )


class ConfidentFold:
    """Pass-2 combine step: :class:`ChunkConfident` written at their global rows, counts summed."""

    def __init__(self, n: int, k: int, filter_by: str) -> None:
        self.raw = np.zeros((k, k), dtype=np.int64)
        self.label_is_top = np.empty(n, dtype=bool)
        self.flagged = (
            np.zeros(n, dtype=bool) if filter_by in ("confident_learning", "predicted_neq_given") else None
        )
        self.quality = np.empty(n, dtype=np.float64)
        self.predicted = np.empty(n, dtype=np.int64)

    def add(self, offset: int, part: ChunkConfident) -> None:
        end = offset + part.quality.shape[0]
        self.raw += part.raw
        self.label_is_top[offset:end] = part.label_is_top
        if self.flagged is not None:
            self.flagged[offset:end] = part.flagged
        self.quality[offset:end] = part.quality
        self.predicted[offset:end] = part.predicted

    def finish(self, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(raw joint with the diagonal floor, calibrated joint)."""
        raw = self.raw
        _floor_diagonal(raw, counts, "paper")
        return raw, _calibrate(raw, counts, "paper")


def heap_capacities(
    cj: np.ndarray, counts: np.ndarray, filter_by: str, frac_noise: float, min_examples_per_class: int
) -> list[tuple[str, np.ndarray]]:
    """Pass-3 capacities: ("margin", caps[K*K]) and/or ("self_confidence", caps[K])."""
    k = counts.shape[0]
    per_cell, per_class = _prune_counts(cj, counts, float(frac_noise), int(min_examples_per_class), "paper")
    out = []
    if filter_by in ("prune_by_noise_rate", "both", *POSTERIOR_FILTER_METHODS) and filter_by != "posterior":
        caps = np.zeros(k * k, dtype=np.int64)
        off = ~np.eye(k, dtype=bool)
        caps[off.ravel()] = np.maximum(per_cell[off], 0)
        out.append(("margin", caps))
    if filter_by in ("prune_by_class", "both"):
        out.append(("self_confidence", np.maximum(per_class, 0).astype(np.int64)))
    return out


def posterior_noise(cj: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The noise matrix ``T[given, true]`` the error probabilities use (from the calibrated joint)."""
    from labelaudit.core.confident import _latent

    return _latent(cj, counts, "paper").noise_matrix


def final_issues(
    filter_by: str,
    flagged: np.ndarray | None,
    heaps: Heaps | None,
    error: np.ndarray,
    hashes: np.ndarray | None,
    labels: np.ndarray,
    label_is_top: np.ndarray,
    min_examples_per_class: int,
) -> np.ndarray:
    """Pass-3 combine step: the mask from pass 2's flags or the heaps, and for the posterior rules the
    error probabilities and content hashes of every row (``hashes`` only for those rules)."""
    if flagged is not None:
        return flagged & ~label_is_top
    issues = heaps.mask(labels.shape[0]) & ~label_is_top if heaps is not None and heaps.states else None
    if filter_by in POSTERIOR_FILTER_METHODS:
        issues = posterior_rule_mask(
            filter_by, issues, error, labels, label_is_top, min_examples_per_class, hashes
        )
    return issues


def quality_from_error(score: str, quality: np.ndarray, error: np.ndarray) -> np.ndarray:
    """The final scores: ``1 - error`` for the ``posterior`` score, else pass 2's ``quality``."""
    return 1.0 - error if score == "posterior" else quality


def error_probability_chunk(labels: np.ndarray, probs: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """Pass-3 map step: each row's error probability (row by row, so chunking cannot change it)."""
    return error_probability_from_noise(labels, probs, noise)


_OFFER = {"margin": _offer_margins, "self_confidence": _offer_self_confidence}


class Heaps:
    """Pass-3 bounded heaps. Keep, per cell / class, the ``caps`` largest keys, equal keys by content hash:
    a total order, so the kept set does not depend on the order of the offers. Fed row chunks
    (:meth:`offer`, streaming; also the map step of a distributed scan, one partition into fresh heaps) or
    another's :meth:`candidates` (:meth:`offer_candidates`, the combine step)."""

    def __init__(self, capacities: list[tuple[str, np.ndarray]]) -> None:
        self.states = [
            (kind, caps, *kernels._heap_storage(caps), np.full(caps.shape[0], -np.inf))
            for kind, caps in capacities
        ]

    @property
    def empty(self) -> bool:
        return not any(int(state[1].sum()) > 0 for state in self.states)

    def offer(self, labels: np.ndarray, probs: np.ndarray, row0: int) -> None:
        for kind, caps, offsets, keys, hs, idx, sizes, gate in self.states:
            _OFFER[kind](labels, probs, row0, caps, offsets, keys, hs, idx, sizes, gate)

    def candidates(self) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
        """Per heap kind: (cell, key, content hash, row) of every kept entry."""
        out = []
        for _kind, _caps, offsets, keys, hs, idx, sizes, _gate in self.states:
            cells = np.repeat(np.arange(sizes.shape[0], dtype=np.int64), sizes)
            first = np.repeat(
                np.cumsum(sizes) - sizes, sizes
            )  # position of each cell's first entry in `cells`
            pos = offsets[:-1][cells] + (np.arange(cells.shape[0], dtype=np.int64) - first)
            out.append((cells, keys[pos], hs[pos], idx[pos]))
        return out

    def offer_candidates(
        self, candidates: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]
    ) -> None:
        for (_kind, caps, offsets, keys, hs, idx, sizes, _gate), (cells, cand_keys, cand_hashes, rows) in zip(
            self.states, candidates, strict=True
        ):
            _offer_candidates(cells, cand_keys, cand_hashes, rows, caps, offsets, keys, hs, idx, sizes)

    def mask(self, n: int) -> np.ndarray:
        """Rows kept by every heap kind (``both`` = intersection)."""
        issues = None
        for _kind, _caps, offsets, _keys, _hs, idx, sizes, _gate in self.states:
            mask = kernels._heap_mask(n, offsets, idx, sizes)
            issues = mask if issues is None else (issues & mask)
        return issues


def stream_label_issues(
    chunks: ChunkSource,
    *,
    filter_by: str | None = None,
    frac_noise: float = 1.0,
    min_examples_per_class: int = 1,
    compat: str = "paper",
    score: str | None = None,
    normalize: bool = False,
) -> StreamResult:
    """Label issues and label-quality scores over row chunks, in three passes (two without pruning).

    Equal, row for row, to ``find_label_issues(labels, P, filter_by=..., frac_noise=...,
    min_examples_per_class=..., compat="paper")`` and ``label_quality_scores(labels, P, method=score)``
    where ``P`` is the concatenated chunks (renormalised first when ``normalize`` and a row needs it, as
    ``check_inputs(..., normalize=True)`` does). Raises and warns like ``check_inputs`` with global rows.
    """
    _check_params(filter_by, frac_noise, min_examples_per_class, compat)
    filter_by = default_filter(compat) if filter_by is None else filter_by
    score = default_score(compat) if score is None else score
    check_streaming_params(filter_by, compat)
    if score not in SCORE_METHODS:
        raise UsageError(f"unknown method={score!r}; choose one of: {', '.join(SCORE_METHODS)}")

    # pass 1
    labels, k, dtype, sums, counts, renormalise = _pass_checks(chunks, normalize)
    n = labels.shape[0]
    thresholds = thresholds_from(sums, counts)

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
    params = confident_params(thresholds, dtype, filter_by, score, renormalise)
    fold = ConfidentFold(n, k, filter_by)
    for offset, lab, probs in probs_chunks():
        fold.add(offset, confident_chunk(lab, probs, params))
    raw, cj = fold.finish(counts)
    label_is_top, quality, predicted = fold.label_is_top, fold.quality, fold.predicted

    # pass 3: error probabilities and bounded heaps with the capacities of the calibrated joint
    noise = posterior_noise(cj, counts)
    error = np.empty(n, dtype=np.float64)
    hashes = np.empty(n, dtype=np.uint64) if filter_by in POSTERIOR_FILTER_METHODS else None
    heaps = None
    if fold.flagged is None:
        heaps = Heaps(heap_capacities(cj, counts, filter_by, frac_noise, min_examples_per_class))
    for offset, lab, probs in probs_chunks():
        error[offset : offset + lab.shape[0]] = error_probability_chunk(lab, probs, noise)
        if hashes is not None:
            hashes[offset : offset + lab.shape[0]] = row_hashes(lab, probs)
        if heaps is not None and not heaps.empty:
            heaps.offer(lab, probs, offset)
    issues = final_issues(
        filter_by, fold.flagged, heaps, error, hashes, labels, label_is_top, min_examples_per_class
    )
    quality = quality_from_error(score, quality, error)
    return StreamResult(issues, quality, predicted, labels, counts, thresholds, raw, cj, renormalise, error)


def stream_summary(result: StreamResult, *, class_names: Any = None, issues: Any = None) -> dict[str, Any]:
    """:func:`labelaudit.core.summary.dataset_summary` (``compat="paper"``) from a :class:`StreamResult`."""
    return summary_from_joint(
        result.labels,
        result.counts,
        result.confident_joint,
        compat="paper",
        class_names=class_names,
        issues=issues,
    )
