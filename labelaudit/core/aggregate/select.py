"""``method="auto"``: choose an aggregation method per data set, and ``next_items``: where to label next.

Choosing. No aggregation method wins on every crowd: full confusion matrices pay off when annotators have
class-specific biases and overfit when they do not; one-coin models and majority vote are the reverse. Which
is right is a property of the data set, and it can be measured from the annotations alone. Hold out some
annotations, aggregate the rest, and count how often the consensus agrees with the held-out labels. When the
held-out annotator's errors are independent of the other annotators' given the true class and they are better
than chance, the agreement rises with the accuracy of the consensus, whatever method produced it (for a
one-coin annotator of accuracy ``a``, ``P(agree) = a c + (1 - a)(1 - c)/(K - 1)`` for consensus accuracy
``c``). Likelihood of the held-out annotations is the usual alternative; on the development sets it preferred
the most flexible model even where that model's consensus was worst, because it rewards explaining the
annotators' biases rather than recovering the truth.

Cross-validation over annotations: every item with two or more annotations spreads
them over ``folds`` folds (the annotation's rank within the item, in canonical order, plus a per-item offset
drawn from ``numpy.random.default_rng(seed)``), so each fold keeps at least one annotation of every item.
Data sets above :data:`CV_ANNOTATIONS` annotations are cross-validated on a seeded sample of items holding about
that many annotations (all of each sampled item's annotations), scoring one fold.

Next annotation. :func:`next_items` ranks items by the expected information gain of one more annotation by
a typical annotator (the workload-weighted mean confusion matrix ``pi`` of the fit): the mutual information
between that annotation and the item's class, ``H(sum_k q_k pi_k) - sum_k q_k H(pi_k)`` for item posterior
``q``, which is the expected reduction of the entropy of the item's class posterior (uncertainty sampling
with a noisy oracle, as in V. S. Sheng, F. Provost and P. G. Ipeirotis, "Get another label? Improving data
quality and data mining using multiple, noisy labelers", KDD 2008, doi:10.1145/1401890.1401965). Unlike the
expected gain in accuracy, which is zero for every item one label cannot flip, it ranks every item.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from labelaudit.core.aggregate.base import (
    MethodFit,
    one_coin_accuracy_from_agreement,
    pairwise_agreement,
    vote_counts,
)
from labelaudit.core.aggregate.data import Annotations

#: Folds of the cross-validation over annotations.
DEFAULT_FOLDS = 5
#: Above this many annotations ``auto`` cross-validates on a seeded sample of items holding about this many,
#: and scores one fold.
CV_ANNOTATIONS = 250_000
#: EBCC joins the comparison while annotations x classes x subtypes stays under this (its cost per iteration).
EBCC_BUDGET = 5_000_000


@dataclass
class Choice:
    """What ``auto`` compared and what it chose."""

    method: str
    scores: dict[str, float]
    folds: int
    folds_scored: int
    held_out: int
    skipped: dict[str, str] = field(default_factory=dict)
    sampled_items: int = 0  # items in the cross-validation sample (0: every item)

    @property
    def reason(self) -> str:
        if self.held_out == 0:
            return (
                f"no item has two annotations, so none can be held out: {self.method}, the simplest candidate"
            )
        ranked = sorted(self.scores.items(), key=lambda kv: -kv[1])
        others = ", ".join(f"{m} {s:.4f}" for m, s in ranked if m != self.method)
        return (
            f"{self.method} has the highest agreement with held-out annotations "
            f"({self.scores[self.method]:.4f}; {others}) "
            f"over {self.held_out} annotations in {self.folds_scored} of {self.folds} folds"
            + (f" of a sample of {self.sampled_items} items" if self.sampled_items else "")
        )

    def as_dict(self) -> dict[str, object]:
        return {
            "chosen": self.method,
            "criterion": "cross-validated agreement of the consensus with held-out annotations",
            "scores": dict(self.scores),
            "folds": self.folds,
            "folds_scored": self.folds_scored,
            "held_out_annotations": self.held_out,
            "skipped": dict(self.skipped),
            "sampled_items": self.sampled_items or None,
        }


def fold_of_annotations(ann: Annotations, folds: int, seed: int) -> np.ndarray:
    """Fold of every annotation (``-1``: never held out, the item's only annotation)."""
    rank = np.arange(ann.n_annotations, dtype=np.int64) - ann.item_ptr[ann.item_idx]
    offset = np.random.default_rng([seed, folds]).integers(0, folds, ann.n_items)
    fold = (rank + offset[ann.item_idx]) % folds
    fold[ann.annotations_per_item[ann.item_idx] < 2] = -1
    return fold


def subset(ann: Annotations, keep: np.ndarray) -> Annotations:
    """The annotations where ``keep`` is true, with the same items, annotators and classes (order kept)."""
    item_idx = np.ascontiguousarray(ann.item_idx[keep])
    counts = np.bincount(item_idx, minlength=ann.n_items)
    item_ptr = np.zeros(ann.n_items + 1, dtype=np.int64)
    np.cumsum(counts, out=item_ptr[1:])
    return Annotations(
        items=ann.items,
        annotators=ann.annotators,
        classes=ann.classes,
        item_idx=item_idx,
        annotator_idx=np.ascontiguousarray(ann.annotator_idx[keep]),
        label_idx=np.ascontiguousarray(ann.label_idx[keep]),
        item_ptr=item_ptr,
    )


def sample_items(ann: Annotations, n_annotations: int, seed: int) -> Annotations:
    """A seeded sample of items (with all their annotations) holding about ``n_annotations`` annotations.

    Items are drawn in the order of a permutation of the canonical item order, so the sample does not depend
    on row order; annotators and classes are kept.
    """
    order = np.random.default_rng([seed, 1]).permutation(ann.n_items)
    take = np.cumsum(ann.annotations_per_item[order]) <= n_annotations
    keep_items = np.zeros(ann.n_items, dtype=bool)
    keep_items[order[take]] = True
    new_index = np.cumsum(keep_items) - 1
    keep = keep_items[ann.item_idx]
    counts = ann.annotations_per_item[keep_items]
    item_ptr = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=item_ptr[1:])
    return Annotations(
        items=ann.items[keep_items],
        annotators=ann.annotators,
        classes=ann.classes,
        item_idx=np.ascontiguousarray(new_index[ann.item_idx[keep]]),
        annotator_idx=np.ascontiguousarray(ann.annotator_idx[keep]),
        label_idx=np.ascontiguousarray(ann.label_idx[keep]),
        item_ptr=item_ptr,
    )


def choose_method(
    ann: Annotations,
    fitters: dict[str, Callable[[Annotations], MethodFit]],
    *,
    seed: int = 0,
    folds: int = DEFAULT_FOLDS,
    ebcc_subtypes: int = 4,
) -> Choice:
    """Score every method in ``fitters`` by cross-validated agreement and return the best (ties: first listed).

    ``fitters`` maps a method name to a function fitting it on an :class:`Annotations`. With fewer than two
    annotations on every item there is nothing to hold out, and the first method is returned.
    """
    skipped = {}
    candidates = dict(fitters)
    cost = ann.n_annotations * ann.n_classes * ebcc_subtypes
    if "ebcc" in candidates and cost > EBCC_BUDGET:
        del candidates["ebcc"]
        skipped["ebcc"] = (
            f"annotations x classes x subtypes = {cost:,} is above {EBCC_BUDGET:,}: too slow to cross-validate"
        )
    to_score, sampled = folds, 0
    if ann.n_annotations > CV_ANNOTATIONS:
        ann = sample_items(ann, CV_ANNOTATIONS, seed)
        to_score, sampled = 1, ann.n_items
    fold = fold_of_annotations(ann, folds, seed)
    held = fold >= 0
    names = list(candidates)
    if not held.any():
        skipped["all"] = "no item has two annotations: nothing to hold out"
        return Choice(names[0], {m: float("nan") for m in names}, folds, 0, 0, skipped)
    agree = dict.fromkeys(names, 0)
    total = 0
    for f in range(to_score):
        test = fold == f
        train = subset(ann, ~test)
        items, labels = ann.item_idx[test], ann.label_idx[test]
        total += int(test.sum())
        for name in names:
            consensus = candidates[name](train).consensus
            agree[name] += int((consensus[items] == labels).sum())
    scores = {name: agree[name] / total for name in names}
    best = max(names, key=lambda m: (scores[m], -names.index(m)))
    return Choice(best, scores, folds, to_score, total, skipped, sampled)


def typical_confusion(ann: Annotations, fit: MethodFit) -> np.ndarray:
    """``K x K`` confusion of a typical next annotator: the workload-weighted mean of the fitted ones.

    Methods without confusion matrices get the homogeneous one-coin matrix whose accuracy matches the
    pairwise agreement of the annotations.
    """
    k = ann.n_classes
    if fit.log_pi_t is not None:
        n_j = np.bincount(ann.annotator_idx, minlength=ann.n_annotators).astype(np.float64)
        pi = np.exp(fit.log_pi_t).transpose(0, 2, 1)  # [j, k, l]
        mean = np.tensordot(n_j / n_j.sum(), pi, axes=1)
    else:
        agreement, _ = pairwise_agreement(vote_counts(ann))
        accuracy = one_coin_accuracy_from_agreement(agreement, k)
        if not np.isfinite(accuracy):
            accuracy = 0.7
        mean = np.full((k, k), (1.0 - accuracy) / max(k - 1, 1))
        np.fill_diagonal(mean, accuracy)
    return mean / mean.sum(axis=1, keepdims=True)


def next_items(ann: Annotations, fit: MethodFit, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``n`` items whose next annotation is expected to tell the most about their class.

    Returns ``(item indices, expected information gain in nats)``, best first; equal gains are ordered by item
    id (items are sorted canonically), never by position in the input.
    """
    q = np.clip(fit.posterior, 0.0, 1.0)
    pi = typical_confusion(ann, fit)
    predictive = q @ pi  # P(next label = l)
    noise = -(pi * np.log(np.where(pi > 0, pi, 1.0))).sum(axis=1)  # H(pi_k)
    gain = _entropy(predictive) - q @ noise
    gain = np.round(np.maximum(gain, 0.0), 12)  # equal gains must compare equal across platforms
    n = min(int(n), ann.n_items)
    order = np.lexsort((np.arange(ann.n_items), -gain))[:n]
    return order, gain[order]


def _entropy(p: np.ndarray) -> np.ndarray:
    return -(p * np.log(np.where(p > 0, p, 1.0))).sum(axis=1)
