"""Majority vote, with a deterministic tie rule and a calibrated posterior."""

from __future__ import annotations

import numpy as np

from labelaudit.core.aggregate.base import (
    MethodFit,
    decide,
    normalise_rows,
    one_coin_accuracy_from_agreement,
    pairwise_agreement,
    vote_counts,
)
from labelaudit.core.aggregate.data import Annotations


def majority_vote(ann: Annotations, *, pred_probs: np.ndarray | None = None, seed: int = 0) -> MethodFit:
    r"""Majority (plurality) vote.

    Each item gets the class most of its annotations name. Ties are broken by the model probability of the
    tied classes when ``pred_probs`` is given, otherwise by a seeded hash of the item id
    (:func:`~labelaudit.core.aggregate.base.tie_hash_index`); either way the rule depends neither on row order
    nor on other items, and every tie is reported in ``is_tie``.

    The posterior is the one of the homogeneous one-coin model for which majority vote *is* the Bayes rule:
    every annotator is right with the same probability :math:`a` and otherwise picks one of the other
    :math:`K - 1` classes uniformly, and classes are a priori equally likely. Then

    .. math:: P(y_i = k \mid \text{votes}) \propto \exp\big(c_{ik}\, w\big), \qquad
              w = \log\frac{(K - 1)\, a}{1 - a},

    where :math:`c_{ik}` counts the votes for :math:`k`. :math:`a` is estimated from the pairwise agreement
    :math:`A` of annotations of the same item (:math:`A = a^2 + (1 - a)^2/(K - 1)`). So three of three votes
    is surer than one of one, and a tie gives the tied classes equal probability. When no item has two
    annotations :math:`a` cannot be estimated and the posterior is the vote share.

    Parameters
    ----------
    ann : Annotations
    pred_probs : numpy.ndarray, shape (I, K), optional
        Model probabilities, used only to break ties.
    seed : int
        Seed of the tie rule.
    """
    counts = vote_counts(ann)
    consensus, is_tie = decide(counts, ann, seed=seed, tie_scores=pred_probs, exact=True)
    k = ann.n_classes
    agreement, pairs = pairwise_agreement(counts)
    accuracy = one_coin_accuracy_from_agreement(agreement, k)
    if k < 2:
        posterior = np.ones((ann.n_items, 1))
        weight = 0.0
    elif pairs == 0 or not np.isfinite(accuracy):
        posterior = normalise_rows(counts)
        weight = float("nan")
    else:
        a = float(np.clip(accuracy, 1.0 / k, 1.0 - 1e-6))
        weight = float(np.log((k - 1) * a / (1.0 - a)))
        logits = counts * weight
        logits -= logits.max(axis=1, keepdims=True)
        posterior = np.exp(logits)
        posterior /= posterior.sum(axis=1, keepdims=True)
    prior = np.bincount(consensus, minlength=k).astype(np.float64) / ann.n_items
    info = {
        "pairwise_agreement": None if not np.isfinite(agreement) else agreement,
        "pooled_accuracy": None if not np.isfinite(accuracy) else accuracy,
        "vote_weight": None if not np.isfinite(weight) else weight,
    }
    return MethodFit("majority", posterior, consensus, is_tie, prior, info=info)
