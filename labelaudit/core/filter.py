"""Find label issues with confident learning (Northcutt, Jiang & Chuang, "Confident Learning: Estimating
Uncertainty in Dataset Labels", Journal of Artificial Intelligence Research 70:1373-1411, 2021,
doi:10.1613/jair.1.12125, Sec. 3.2).

The rules, by name (``FILTER_METHODS``):

``noise_rate_or_posterior``  (default) flagged by ``prune_by_noise_rate`` or by ``posterior``: the
    calibrated joint's per-cell counts catch the rows with the largest margins, the posterior adds the
    rows the noise model says are more likely mislabelled than not (PBNR falls short when the model
    puts real weight on the given class of a confused pair). docs/defaults.md has the evidence.
``likeliest_errors``  as many rows as ``noise_rate_or_posterior`` flags, but the ones with the highest
    error probability (better at 20-70 % noise, worse at 5-10 %, where the estimated noise matrix
    absorbs the model's own errors and the error probabilities rank poorly).
``posterior``  the probability that the given label is wrong under the estimated noise model
    (:mod:`labelaudit.core.posterior`) exceeds 1/2: the Bayes decision that minimises the expected
    number of wrong decisions.
``prune_by_noise_rate``  (paper: "PBNR"; the default with ``compat="cleanlab"``) for every off-diagonal cell ``(i, j)`` of the calibrated
    confident joint, flag the ``C̃[i, j]`` examples labelled ``i`` with the largest margin
    ``p̂(ỹ = j; x) - p̂(ỹ = i; x)``.
``prune_by_class``  (paper: "PBC") for every class ``i``, flag the ``sum_{j != i} C̃[i, j]`` examples
    labelled ``i`` with the lowest self-confidence ``p̂(ỹ = i; x)``.
``both``  (paper: "C+NR") flagged by both of the above.
``confident_learning``  (paper: "C_confusion" / the off-diagonals of ``C``) examples counted in an
    off-diagonal cell of the (uncalibrated) confident joint.
``predicted_neq_given``  (paper baseline "argmax") the model's top class is not the given label.
``low_self_confidence`` / ``low_normalized_margin``  the ``num_label_issues`` examples with the lowest
    score of that kind.

Whatever the rule, an example whose given label is (within 1e-6) the model's top class is never
flagged by the confident-learning rules. The posterior rules (``POSTERIOR_FILTER_METHODS``) can flag
one: when the estimated noise matrix says most labels of that class come from another class, the
posterior can find the label more likely wrong even though the model ranks it first.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from labelaudit.core import kernels
from labelaudit.core.confident import _calibrate, _check_joint, _confident_pass, _Pass
from labelaudit.core.posterior import row_hashes
from labelaudit.core.validate import check_compat, prepare_inputs
from labelaudit.errors import UsageError

FILTER_METHODS: tuple[str, ...] = (
    "noise_rate_or_posterior",
    "likeliest_errors",
    "posterior",
    "prune_by_noise_rate",
    "prune_by_class",
    "both",
    "confident_learning",
    "predicted_neq_given",
    "low_self_confidence",
    "low_normalized_margin",
)

#: The rules cleanlab 2.9 also has (``compat="cleanlab"`` reproduces their masks exactly).
PAPER_FILTER_METHODS: tuple[str, ...] = FILTER_METHODS[3:]
#: The rules that need the error probabilities.
POSTERIOR_FILTER_METHODS: tuple[str, ...] = FILTER_METHODS[:3]

#: The rule used when none is named: labelaudit's own, or the reference's under ``compat="cleanlab"``.
DEFAULT_FILTER = "noise_rate_or_posterior"
DEFAULT_FILTER_CLEANLAB = "prune_by_noise_rate"


def default_filter(compat: str) -> str:
    """The ``filter_by`` used when none is given, for a ``compat`` mode."""
    return DEFAULT_FILTER_CLEANLAB if compat == "cleanlab" else DEFAULT_FILTER


def _check_params(filter_by: str | None, frac_noise: float, min_examples_per_class: int, compat: str) -> None:
    if filter_by is not None and filter_by not in FILTER_METHODS:
        raise UsageError(f"unknown filter_by={filter_by!r}; choose one of: {', '.join(FILTER_METHODS)}")
    check_compat(compat)
    try:
        frac = float(frac_noise)
    except (TypeError, ValueError):
        raise UsageError(f"frac_noise must be a number in (0, 1]; got {frac_noise!r}") from None
    if not (0.0 < frac <= 1.0):
        raise UsageError(f"frac_noise must be in (0, 1]; got {frac_noise!r}")
    if isinstance(min_examples_per_class, bool) or not isinstance(min_examples_per_class, int | np.integer):
        raise UsageError(f"min_examples_per_class must be an integer >= 0; got {min_examples_per_class!r}")
    if min_examples_per_class < 0:
        raise UsageError(f"min_examples_per_class must be >= 0; got {min_examples_per_class}")


# ------------------------------------------------------------------------------------------------
# how many to flag in each cell / class


def _largest_remainder(values: np.ndarray, total: int) -> np.ndarray:
    """Integers proportional to ``values`` summing to ``total`` (ties to the lower index)."""
    s = values.sum()
    if total <= 0 or s <= 0:
        return np.zeros_like(values, dtype=np.int64)
    exact = values * (total / s)
    base = np.floor(exact).astype(np.int64)
    short = total - int(base.sum())
    if short > 0:
        order = np.lexsort((np.arange(values.size), -(exact - base)))
        base[order[:short]] += 1
    return base


def _prune_counts_paper(cj: np.ndarray, counts: np.ndarray, frac_noise: float, min_keep: int) -> np.ndarray:
    """``num[i, j]`` (given i, true j, zero diagonal): how many to flag per off-diagonal cell.

    ``floor(frac_noise * C̃[i, j])``; when a class would keep fewer than ``min_keep`` examples the row
    is scaled down (largest remainders) to ``n_i - min_keep``.
    """
    num = np.floor(cj.astype(np.float64) * frac_noise + 1e-9).astype(np.int64)
    np.fill_diagonal(num, 0)
    allowed = np.maximum(counts - min_keep, 0)
    for i in np.flatnonzero(num.sum(axis=1) > allowed):
        num[i] = _largest_remainder(num[i].astype(np.float64), int(allowed[i]))
    return num


def _prune_matrix_cleanlab(cj: np.ndarray, min_keep: int, frac_noise: float) -> np.ndarray:
    """cleanlab 2.9's prune-count matrix ``[true, given]`` (the transposed confident joint).

    Observed behaviour: each diagonal entry is raised to at least ``min_keep``, the increase taken
    evenly from the column's other non-zero entries (floored at 0); off-diagonal entries are then
    multiplied by ``frac_noise`` and what they lose is added to the diagonal; finally truncation to
    integers.
    """
    m = cj.T.astype(np.float64)
    diag = np.diagonal(m).copy()
    new_diag = np.maximum(diag, min_keep)
    per_col = np.maximum(np.count_nonzero(m, axis=0) - 1.0, 1.0)
    m = m - (new_diag - diag) / per_col
    m[m < 0] = 0
    np.fill_diagonal(m, new_diag)
    off = m.copy()
    np.fill_diagonal(off, 0)
    reduced = off * frac_noise
    np.fill_diagonal(reduced, np.diagonal(m) + (off - reduced).sum(axis=0))
    return reduced.astype(np.int64)


def _prune_counts(
    cj: np.ndarray, counts: np.ndarray, frac_noise: float, min_keep: int, compat: str
) -> tuple[np.ndarray, np.ndarray]:
    """(per-cell counts ``[given, true]`` for PBNR, per-class counts for PBC)."""
    if compat == "paper":
        num = _prune_counts_paper(cj, counts, frac_noise, min_keep)
        allowed = np.maximum(counts - min_keep, 0)
        return num, np.minimum(num.sum(axis=1), allowed)
    pcm = _prune_matrix_cleanlab(cj, min_keep, frac_noise)
    num = pcm.T.copy()
    np.fill_diagonal(num, 0)
    per_class = np.maximum(counts - np.diagonal(pcm), 0)
    small = counts <= min_keep
    num[small] = 0
    per_class[small] = 0
    return num, per_class


# ------------------------------------------------------------------------------------------------


def _low_score_mask(
    labels: np.ndarray,
    pred_probs: np.ndarray,
    method: str,
    n_flag: int,
    label_is_top: np.ndarray,
    compat: str,
) -> np.ndarray:
    n = labels.shape[0]
    mask = np.zeros(n, dtype=bool)
    if n_flag <= 0:
        return mask
    if compat == "cleanlab":
        # scores in the input dtype, numpy's default argsort, then drop label-is-top examples
        if method == "self_confidence":
            scores = kernels.self_confidence_native(labels, pred_probs)
        else:
            scores = kernels.normalized_margin_native(labels, pred_probs, pred_probs.dtype.type(1.0))
        mask[np.argsort(scores)[:n_flag]] = True  # cleanlab does not drop label-is-top examples here
        return mask
    code = kernels.SCORE_SELF_CONFIDENCE if method == "self_confidence" else kernels.SCORE_NORMALIZED_MARGIN
    scores = kernels.quality_scores(labels, pred_probs, code, False, np.zeros(1), 0.0, False)
    eligible = np.flatnonzero(~label_is_top)
    order = np.argsort(scores[eligible], kind="stable")[:n_flag]
    mask[eligible[order]] = True
    return mask


def find_label_issues(
    labels: Any,
    pred_probs: Any,
    *,
    filter_by: str | None = None,
    frac_noise: float = 1.0,
    min_examples_per_class: int = 1,
    compat: str = "paper",
    confident_joint: Any = None,
    error_probability: Any = None,
) -> np.ndarray:
    """Flag examples whose given label is likely wrong (paper Sec. 3.2).

    Parameters
    ----------
    labels : array_like of int, shape (N,)
        Given labels ``ỹ``.
    pred_probs : array_like of float, shape (N, K)
        Out-of-fold predicted probabilities ``p̂(ỹ = j; x)``; float32 is used as is (no copy).
    filter_by : str, optional
        One of ``FILTER_METHODS`` (see the module docstring); by default ``DEFAULT_FILTER``
        (``"prune_by_noise_rate"``, the reference's default, with ``compat="cleanlab"``).
    frac_noise : float in (0, 1], default 1.0
        Flag only this fraction of the estimated number of issues in every cell / class
        (``prune_by_noise_rate``, ``prune_by_class``, ``both``).
    min_examples_per_class : int, default 1
        Never flag so many examples of a class that fewer than this many would remain.
    compat : {"paper", "cleanlab"}, default "paper"
        ``"cleanlab"`` reproduces cleanlab 2.9's ``filter.find_label_issues`` mask exactly;
        ``"paper"`` is labelaudit's reading of the paper (docs/confident-learning.md lists the
        differences: threshold rule, guessed class, calibration rounding, per-cell counts,
        tie-breaking by row index).
    confident_joint : array_like of int, shape (K, K), optional
        A calibrated confident joint to take the per-cell / per-class counts from.
    error_probability : array_like of float, shape (N,), optional
        :func:`labelaudit.core.posterior.error_probability` of the same inputs, when the caller has it
        already: the posterior rules reuse it instead of computing it again.

    Returns
    -------
    ndarray of bool, shape (N,)
        True where the label is flagged as an issue.

    Raises
    ------
    UsageError
        Unknown ``filter_by`` or ``compat``, ``frac_noise`` outside (0, 1], negative
        ``min_examples_per_class``.
    InputError, InvalidProbabilitiesError
        See :func:`labelaudit.core.validate.check_inputs` (the same checks run inside the single
        pass over ``pred_probs``).
    """
    _check_params(filter_by, frac_noise, min_examples_per_class, compat)
    if filter_by is None:
        filter_by = default_filter(compat)
    labels, pred_probs = prepare_inputs(labels, pred_probs)
    k = pred_probs.shape[1]
    if confident_joint is not None:
        confident_joint = _check_joint(confident_joint, k)

    # one read of the matrix: the value checks of check_inputs, the confident joint, per-row facts
    passed = _confident_pass(labels, pred_probs, compat, checked=False)
    top = passed.label_is_top

    if filter_by == "predicted_neq_given":
        # passed.top is the first argmax unless the given label itself holds the maximum
        return (passed.top != labels) & ~top

    if filter_by == "confident_learning":
        guess = passed.guess
        return (guess >= 0) & (guess != labels) & ~top

    if filter_by in ("low_self_confidence", "low_normalized_margin"):
        from labelaudit.core.scores import _num_issues

        n_flag = _num_issues(labels, passed, compat, confident_joint)
        return _low_score_mask(labels, pred_probs, filter_by[4:], n_flag, top, compat)

    cj = (
        confident_joint
        if confident_joint is not None
        else _calibrate(passed.raw_joint, passed.counts, compat)
    )
    if filter_by == "posterior":
        error = _given_or(error_probability, labels, pred_probs, cj, passed, compat)
        hashes = row_hashes(labels, pred_probs)
        return posterior_rule_mask(filter_by, None, error, labels, top, int(min_examples_per_class), hashes)
    per_cell, per_class = _prune_counts(
        np.asarray(cj), passed.counts, float(frac_noise), int(min_examples_per_class), compat
    )
    select = _select_paper if compat == "paper" else _select_cleanlab
    mask = None
    if filter_by in ("prune_by_noise_rate", "both", *POSTERIOR_FILTER_METHODS):
        mask = select(labels, pred_probs, per_cell, None, passed)
    if filter_by in POSTERIOR_FILTER_METHODS:
        error = _given_or(error_probability, labels, pred_probs, cj, passed, compat)
        hashes = row_hashes(labels, pred_probs)
        return posterior_rule_mask(filter_by, mask, error, labels, top, int(min_examples_per_class), hashes)
    if filter_by in ("prune_by_class", "both"):
        by_class = select(labels, pred_probs, None, per_class, passed)
        mask = by_class if mask is None else (mask & by_class)
    mask &= ~top
    return mask


def _given_or(
    given: Any, labels: np.ndarray, pred_probs: np.ndarray, cj: Any, passed: _Pass, compat: str
) -> np.ndarray:
    if given is not None:
        error = np.asarray(given, dtype=np.float64)
        if error.shape != labels.shape:
            raise UsageError(f"error_probability must have shape {labels.shape}; got {error.shape}")
        return error
    return _error_probability(labels, pred_probs, np.asarray(cj), passed.counts, compat)


def _error_probability(
    labels: np.ndarray, pred_probs: np.ndarray, cj: np.ndarray, counts: np.ndarray, compat: str
) -> np.ndarray:
    """:func:`labelaudit.core.posterior.error_probability` with the noise matrix of the calibrated joint."""
    from labelaudit.core.confident import _latent
    from labelaudit.core.posterior import error_probability_from_noise

    return error_probability_from_noise(labels, pred_probs, _latent(cj, counts, compat).noise_matrix)


def posterior_rule_mask(
    filter_by: str,
    noise_rate: np.ndarray | None,
    error: np.ndarray,
    labels: np.ndarray,
    label_is_top: np.ndarray,
    min_examples_per_class: int,
    hashes: np.ndarray,
) -> np.ndarray:
    """The mask of a rule in ``POSTERIOR_FILTER_METHODS`` from the ``prune_by_noise_rate`` mask (not
    needed for ``posterior``) and the error probabilities; shared by every engine. Equal error
    probabilities are ordered by ``hashes`` (``posterior.row_hashes``: the row's content), then row."""
    # no exclusion of rows whose label is the model's top class: the posterior already weighs the
    # model's vote against the estimated noise, which can make even a top-class label more likely wrong
    mask = error > 0.5
    if filter_by != "posterior":
        mask |= noise_rate & ~label_is_top
    if filter_by == "likeliest_errors":
        rows = np.arange(error.shape[0])
        order = np.lexsort((rows, hashes, -error))  # highest error probability first
        count = int(mask.sum())
        mask = np.zeros_like(mask)
        mask[order[:count]] = True
    return _keep_per_class(mask, labels, error, min_examples_per_class, hashes)


def _keep_per_class(
    mask: np.ndarray, labels: np.ndarray, error: np.ndarray, min_keep: int, hashes: np.ndarray
) -> np.ndarray:
    """Unflag the least likely errors of any class that would keep fewer than ``min_keep`` examples."""
    k = int(labels.max()) + 1 if labels.size else 0
    counts = np.bincount(labels, minlength=k)
    flagged = np.bincount(labels[mask], minlength=k)
    for c in np.flatnonzero(counts - flagged < np.minimum(counts, min_keep)):
        rows = np.flatnonzero(mask & (labels == c))
        excess = int(min(counts[c], min_keep) - (counts[c] - flagged[c]))
        order = np.lexsort((rows, hashes[rows], error[rows]))  # lowest error probability first
        mask[rows[order[:excess]]] = False
    return mask


def _select_paper(
    labels: np.ndarray,
    pred_probs: np.ndarray,
    per_cell: np.ndarray | None,
    per_class: np.ndarray | None,
    passed: _Pass,
) -> np.ndarray:
    """Bounded-heap selections; equal keys go to the lower content hash (never the row position)."""
    if per_cell is not None:
        p = passed
        return kernels.select_by_margin(
            labels, pred_probs, np.ascontiguousarray(per_cell), p.top, p.cand, p.cand_margin, p.n_cand
        )
    return kernels.select_lowest_self_confidence(
        labels, pred_probs, np.ascontiguousarray(per_class), passed.cand, passed.n_cand
    )


def _select_cleanlab(
    labels: np.ndarray,
    pred_probs: np.ndarray,
    per_cell: np.ndarray | None,
    per_class: np.ndarray | None,
    passed: _Pass,
) -> np.ndarray:
    """cleanlab 2.9's selections: numpy's default argsort of the per-class keys (its tie order).

    PBNR sorts ``p_given - p_j`` ascending and takes the first ``n`` (largest margins); PBC sorts the
    self-confidences ascending. Keys are 1-D per class (no N x K temporary).
    """
    n, k = pred_probs.shape
    order, offsets = kernels.group_rows(labels, k)
    mask = np.zeros(n, dtype=bool)
    for c in range(k):
        rows = order[offsets[c] : offsets[c + 1]]
        if rows.size == 0:
            continue
        if per_cell is not None:
            for j in np.flatnonzero(per_cell[c] > 0):
                keys = kernels.column_difference(pred_probs, rows, c, j)
                mask[rows[np.argsort(keys)[: per_cell[c, j]]]] = True
        elif per_class[c] > 0:
            keys = pred_probs[rows, c]
            mask[rows[np.argsort(keys)[: per_class[c]]]] = True
    return mask
