"""A JSON-serialisable summary of a dataset's label noise (Northcutt et al., JAIR 2021, Sec. 3.1)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from labelaudit.core.confident import _calibrate, _confident_pass, _latent
from labelaudit.core.validate import check_compat, prepare_inputs
from labelaudit.errors import InputError

#: How many class pairs ``overlapping_classes`` lists at most.
MAX_OVERLAPPING_PAIRS = 20


def _names(class_names: Sequence[Any] | None, k: int) -> list[Any]:
    if class_names is None:
        return list(range(k))
    names = list(class_names)
    if len(names) != k:
        raise InputError(f"class_names has {len(names)} entries but pred_probs has {k} columns")
    return [n.item() if isinstance(n, np.generic) else n for n in names]


def dataset_summary(
    labels: Any,
    pred_probs: Any,
    *,
    class_names: Sequence[Any] | None = None,
    compat: str = "paper",
    issues: Any = None,
) -> dict[str, Any]:
    """Summarise the estimated label noise of a dataset.

    All estimates come from the calibrated confident joint ``C̃`` and ``Q̂ = C̃ / N`` (paper Sec. 3.1).

    Parameters
    ----------
    labels : array_like of int, shape (N,)
    pred_probs : array_like of float, shape (N, K)
    class_names : sequence, length K, optional
        Names reported instead of class indices.
    compat : {"paper", "cleanlab"}
        Passed to the confident-joint estimate.
    issues : array_like of bool, shape (N,), optional
        A label-issue mask (e.g. from :func:`find_label_issues`); adds ``num_issues`` overall and
        per class.

    Returns
    -------
    dict
        ``num_examples``, ``num_classes``, ``num_issues`` (only with ``issues``),
        ``estimated_noise_rate`` = ``1 - trace(Q̂)`` (the estimated fraction of wrong labels),
        ``health_score`` = ``1 - estimated_noise_rate``,
        ``per_class`` (sorted by ``label_noise`` descending, then class index): ``class``,
        ``given_count``, ``estimated_true_count`` (``sum_i C̃[i, k]``), ``label_noise``
        = ``p(y* != k | ỹ = k)``, ``inverse_label_noise`` = ``p(ỹ != k | y* = k)``, ``num_issues``
        (``None`` without ``issues``);
        ``overlapping_classes``: up to 20 class pairs with the largest ``Q̂[i, j] + Q̂[j, i]``
        (non-zero only), each with ``classes``, ``class_indices``, ``joint`` and both directions'
        counts ``count_given_first_true_second`` (``C̃[i, j]``) and ``count_given_second_true_first``
        (``C̃[j, i]``);
        ``confident_joint`` (``C̃`` as nested lists, rows = given label; for more than
        ``DENSE_JOINT_MAX_CLASSES`` classes its nonzero cells, see :func:`joint_document`) and ``class_names``.
    """
    check_compat(compat)
    labels, pred_probs = prepare_inputs(labels, pred_probs)
    passed = _confident_pass(labels, pred_probs, compat, checked=False)
    cj = _calibrate(passed.raw_joint, passed.counts, compat)
    return summary_from_joint(
        labels, passed.counts, cj, compat=compat, class_names=class_names, issues=issues
    )


#: Up to this many classes the confident joint is written as nested lists (rows = given label); beyond, as
#: its nonzero cells (``{"shape", "given", "true", "count"}``), which grow with the data, not with K^2.
DENSE_JOINT_MAX_CLASSES = 100


def joint_document(cj: np.ndarray) -> list[list[int]] | dict[str, Any]:
    """The confident joint for JSON: nested lists for small K, its nonzero cells (COO) for large K."""
    k = cj.shape[0]
    if k <= DENSE_JOINT_MAX_CLASSES:
        return cj.tolist()
    given, true = np.nonzero(cj)
    return {
        "shape": [int(k), int(k)],
        "given": given.tolist(),
        "true": true.tolist(),
        "count": cj[given, true].astype(np.int64).tolist(),
    }


def summary_from_joint(
    labels: np.ndarray,
    counts: np.ndarray,
    confident_joint: np.ndarray,
    *,
    compat: str = "paper",
    class_names: Any = None,
    issues: Any = None,
) -> dict[str, Any]:
    """The :func:`dataset_summary` dict from an already calibrated confident joint.

    Shared by the in-memory and the streaming paths, so that both report the same numbers the same way.
    ``labels`` are the given labels (for per-class issue counts), ``counts`` the examples per given class.
    """
    n, k = labels.shape[0], counts.shape[0]
    names = _names(class_names, k)
    cj = confident_joint
    est = _latent(cj, counts, compat)
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

    given = counts
    true_counts = cj.sum(axis=0)
    label_noise = 1.0 - np.diagonal(est.inverse_noise_matrix)
    inverse_label_noise = 1.0 - np.diagonal(est.noise_matrix)
    order = np.lexsort((np.arange(k), -label_noise))
    out["per_class"] = [
        {
            "class": names[c],
            "given_count": int(given[c]),
            "estimated_true_count": int(true_counts[c]),
            "label_noise": float(label_noise[c]),
            "inverse_label_noise": float(inverse_label_noise[c]),
            "num_issues": None if issue_counts is None else int(issue_counts[c]),
        }
        for c in order
    ]

    # class pairs from the nonzero cells only: O(nonzeros), not O(K^2), so that K = 100,000 stays usable
    gi, ti = np.nonzero(est.joint)
    off = gi != ti
    gi, ti = gi[off], ti[off]
    lo, hi = np.minimum(gi, ti), np.maximum(gi, ti)
    pair_keys, inverse = np.unique(lo * k + hi, return_inverse=True)
    pair_mass = np.bincount(inverse, weights=est.joint[gi, ti], minlength=pair_keys.shape[0])
    iu, ju = pair_keys // k, pair_keys % k
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
    out["confident_joint"] = joint_document(cj)
    out["class_names"] = names
    return out
