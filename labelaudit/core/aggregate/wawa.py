"""WAWA: worker agreement with aggregate.

A practitioners' heuristic with no paper of its own: weight each annotator by their agreement with the
majority vote, then vote again with those weights (one step of the fixed point that Dawid-Skene iterates,
see :mod:`labelaudit.core.aggregate.dawid_skene`)."""

from __future__ import annotations

import numpy as np

from labelaudit.core.aggregate.base import MethodFit, decide, normalise_rows, vote_counts
from labelaudit.core.aggregate.data import Annotations
from labelaudit.core.aggregate.majority import majority_vote


def wawa(ann: Annotations, *, pred_probs: np.ndarray | None = None, seed: int = 0) -> MethodFit:
    r"""Weighted vote with each annotator weighted by their agreement with the majority vote.

    1. :math:`\hat y^{MV}` = majority vote (see :func:`majority_vote`).
    2. :math:`s_j` = share of annotator :math:`j`'s annotations equal to :math:`\hat y^{MV}`.
    3. :math:`\hat y_i = \arg\max_k \sum_{(i, j, l)} s_j [l = k]`, ties broken as in majority vote.

    The posterior is the weighted vote share :math:`\sum s_j [l = k] / \sum s_j` — a score in [0, 1], not a
    calibrated probability (an item with one vote gets 1).
    """
    mv = majority_vote(ann, pred_probs=pred_probs, seed=seed)
    agrees = (ann.label_idx == mv.consensus[ann.item_idx]).astype(np.float64)
    n_j = np.bincount(ann.annotator_idx, minlength=ann.n_annotators).astype(np.float64)
    skill = np.bincount(ann.annotator_idx, weights=agrees, minlength=ann.n_annotators) / np.maximum(n_j, 1.0)
    scores = vote_counts(ann, skill)
    consensus, is_tie = decide(scores, ann, seed=seed, tie_scores=pred_probs)
    posterior = normalise_rows(scores)
    prior = np.bincount(consensus, minlength=ann.n_classes).astype(np.float64) / ann.n_items
    return MethodFit("wawa", posterior, consensus, is_tie, prior, info={"annotator_weight": skill})
