"""Pieces shared by every aggregation method: vote counts, tie-breaking, and the result of a fit."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from labelaudit.core.aggregate.data import Annotations, id_key

#: Relative tolerance under which two posterior probabilities count as tied.
TIE_RTOL = 1e-9


@dataclass
class MethodFit:
    """What one aggregation method estimated.

    Attributes
    ----------
    method : str
        The method that ran (``majority``, ``wawa``, ``dawid-skene``, ``one-coin`` or ``crowdlab``).
    posterior : numpy.ndarray, shape (I, K)
        Each item's probability of each class given the data (how it is defined depends on the method;
        see its docstring).
    consensus : numpy.ndarray of int64, shape (I,)
        The chosen class index of each item.
    is_tie : numpy.ndarray of bool, shape (I,)
        The method's decision had two or more equally good classes, broken by the tie rule.
    log_pi_t : numpy.ndarray or None, shape (J, K, K)
        Dawid-Skene family only: ``log P(annotator j says l | true class k)`` stored as ``[j, l, k]``.
    class_prior : numpy.ndarray, shape (K,)
        Estimated class frequencies.
    info : dict
        Method-specific facts for the summary (convergence, weights, ...).
    warnings : list of str
        Things that look off about the fit.
    """

    method: str
    posterior: np.ndarray
    consensus: np.ndarray
    is_tie: np.ndarray
    class_prior: np.ndarray
    log_pi_t: np.ndarray | None = None
    info: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def vote_counts(ann: Annotations, weights: np.ndarray | None = None) -> np.ndarray:
    """``counts[i, k]``: (weighted) number of annotations of item ``i`` that say class ``k``.

    ``weights`` (optional) has one entry per *annotator*.
    """
    flat = ann.item_idx * ann.n_classes + ann.label_idx
    w = None if weights is None else np.asarray(weights, dtype=np.float64)[ann.annotator_idx]
    counts = np.bincount(flat, weights=w, minlength=ann.n_items * ann.n_classes)
    return counts.astype(np.float64).reshape(ann.n_items, ann.n_classes)


def tie_hash_index(seed: int, item: object, n_tied: int) -> int:
    """The seeded tie rule: which of ``n_tied`` tied classes item ``item`` gets.

    ``blake2b(f"{seed}:{item}")`` read as a big-endian unsigned integer, modulo ``n_tied``. It depends only on
    the seed and the item's id, never on row order or on other items, and is stable across processes,
    platforms and Python versions (unlike ``hash()``).
    """
    digest = hashlib.blake2b(f"{seed}:{id_key(item)}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % n_tied


def decide(
    scores: np.ndarray,
    ann: Annotations,
    *,
    seed: int,
    tie_scores: np.ndarray | None = None,
    exact: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Argmax of each row of ``scores`` with ties broken deterministically.

    Two classes tie when their scores are equal (``exact``, for vote counts) or within a relative
    :data:`TIE_RTOL`. Tied classes are resolved by ``tie_scores`` (for example model probabilities) when given
    and they differ, otherwise by :func:`tie_hash_index` of the seed and the item id over the tied classes in
    class order. Returns ``(consensus, is_tie)``.
    """
    best = scores.max(axis=1)
    tied = scores == best[:, None] if exact else scores >= best[:, None] - TIE_RTOL * np.abs(best[:, None])
    n_tied = tied.sum(axis=1)
    consensus = np.argmax(scores, axis=1).astype(np.int64)
    is_tie = n_tied > 1
    for i in np.flatnonzero(is_tie):
        candidates = np.flatnonzero(tied[i])
        if tie_scores is not None:
            sub = tie_scores[i, candidates]
            top = sub.max()
            close = candidates[sub >= top - TIE_RTOL * abs(top)]
            if len(close) == 1:
                consensus[i] = close[0]
                continue
            candidates = close
        consensus[i] = candidates[tie_hash_index(seed, ann.items[i], len(candidates))]
    return consensus, is_tie


def pairwise_agreement(counts: np.ndarray) -> tuple[float, int]:
    """Share of ordered pairs of annotations of the same item that agree, and the number of such pairs."""
    n = counts.sum(axis=1)
    pairs = float((n * (n - 1)).sum())
    if pairs <= 0:
        return float("nan"), 0
    return float((counts * (counts - 1)).sum() / pairs), int(pairs)


def one_coin_accuracy_from_agreement(agreement: float, n_classes: int) -> float:
    """The common annotator accuracy ``a`` of a homogeneous one-coin model with pairwise agreement ``A``.

    Two independent annotations agree with probability ``A = a^2 + (1 - a)^2 / (K - 1)``; solving for the root
    ``a >= 1/K`` gives ``a = (1 + sqrt(1 - K + K (K - 1) A)) / K``.
    """
    k = n_classes
    if k < 2 or not np.isfinite(agreement):
        return float("nan")
    disc = max(1.0 - k + k * (k - 1) * agreement, 0.0)
    return float(min((1.0 + np.sqrt(disc)) / k, 1.0))


def normalise_rows(matrix: np.ndarray) -> np.ndarray:
    total = matrix.sum(axis=1, keepdims=True)
    out = np.divide(matrix, total, out=np.full_like(matrix, 1.0 / matrix.shape[1]), where=total > 0)
    return out
