"""Item and annotator quality measures, and whether majority vote is already optimal.

Given any fitted method (a posterior per item and a consensus), these compute

* per item: the posterior of the consensus, agreement, the runner-up answer and the confusion probability
  of the top two answers (Kim et al.);
* per annotator: expected accuracy, agreement with the consensus, workload and worst class;
* the majority-vote regime: for how many items majority vote provably coincides with the oracle Bayes rule
  (after Purificato et al., "The Majority Vote Paradigm Shift: When Popular Meets Optimal"), and how often
  the chosen method disagrees with majority vote.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labelaudit.core.aggregate._kernels import annotator_class_stats, majority_vote_margin, top_two_confusion
from labelaudit.core.aggregate.base import TIE_RTOL, MethodFit
from labelaudit.core.aggregate.data import Annotations

#: Share of certified items above which majority vote counts as optimal for the data set.
MV_OPTIMAL_SHARE = 0.95
#: Share of changed consensus labels below which majority vote counts as good enough in practice.
MV_DISAGREEMENT_OK = 0.01
#: Minimum expected number of items of a class for it to be an annotator's worst class.
WORST_CLASS_MIN_MASS = 1.0


@dataclass
class ItemMetrics:
    quality: np.ndarray  # posterior of the consensus class
    agreement: np.ndarray  # share of the item's annotations equal to the consensus
    num_annotations: np.ndarray
    runner_up: np.ndarray  # class index, -1 when there is only one class
    confusion_probability: np.ndarray


@dataclass
class AnnotatorMetrics:
    quality: np.ndarray  # expected accuracy: mean posterior probability of the annotator's own labels
    agreement: np.ndarray  # share of the annotator's labels equal to the consensus
    num_annotations: np.ndarray
    num_items: np.ndarray
    worst_class: np.ndarray  # class index or -1
    worst_class_accuracy: np.ndarray  # NaN when there is no worst class
    class_accuracy: (
        np.ndarray
    )  # (J, K), NaN where the annotator saw less than WORST_CLASS_MIN_MASS of a class
    reliability: np.ndarray  # Kim et al.'s r_j = (K a_j - 1) / (K - 1), clipped to [0, 1]


def annotator_metrics(ann: Annotations, fit: MethodFit) -> AnnotatorMetrics:
    r"""Per-annotator quality from a fitted posterior :math:`T`.

    * ``quality`` :math:`= \frac{1}{n_j}\sum_{(i, j, l)} T_{il}`, the expected share of the annotator's labels
      that are right (for Dawid-Skene it is the fitted :math:`\sum_k \hat\pi^{(j)}_{kk}` weighted by how often
      the annotator saw class :math:`k`, before smoothing).
    * ``agreement``: share of their labels equal to the consensus.
    * ``worst_class``: the true class :math:`k` with the lowest estimated accuracy
      :math:`\sum_{(i,j,k)} T_{ik} / \sum_{(i,j,\cdot)} T_{ik}` among the classes the annotator saw at least
      once in expectation.
    """
    post = np.ascontiguousarray(fit.posterior)
    n_ann = ann.n_annotators
    k = ann.n_classes
    n_j = np.bincount(ann.annotator_idx, minlength=n_ann).astype(np.float64)
    own = post[ann.item_idx, ann.label_idx]
    quality = np.bincount(ann.annotator_idx, weights=own, minlength=n_ann) / np.maximum(n_j, 1.0)
    agrees = (ann.label_idx == fit.consensus[ann.item_idx]).astype(np.float64)
    agreement = np.bincount(ann.annotator_idx, weights=agrees, minlength=n_ann) / np.maximum(n_j, 1.0)
    first = np.ones(ann.n_annotations, dtype=bool)
    first[1:] = (ann.item_idx[1:] != ann.item_idx[:-1]) | (ann.annotator_idx[1:] != ann.annotator_idx[:-1])
    num_items = np.bincount(ann.annotator_idx[first], minlength=n_ann).astype(np.int64)
    mass, correct = annotator_class_stats(ann.item_idx, ann.annotator_idx, ann.label_idx, post, n_ann)
    seen = mass >= WORST_CLASS_MIN_MASS
    class_accuracy = np.where(seen, correct / np.where(seen, mass, 1.0), np.nan)
    if k > 1:
        masked = np.where(seen, class_accuracy, np.inf)
        worst = np.argmin(masked, axis=1).astype(np.int64)
        has = seen.any(axis=1)
        worst[~has] = -1
        worst_acc = np.where(has, masked[np.arange(n_ann), np.maximum(worst, 0)], np.nan)
    else:
        worst = np.full(n_ann, -1, dtype=np.int64)
        worst_acc = np.full(n_ann, np.nan)
    reliability = np.clip((k * quality - 1.0) / max(k - 1, 1), 0.0, 1.0) if k > 1 else np.ones(n_ann)
    return AnnotatorMetrics(
        quality, agreement, n_j.astype(np.int64), num_items, worst, worst_acc, class_accuracy, reliability
    )


def item_metrics(
    ann: Annotations, fit: MethodFit, counts: np.ndarray, reliability: np.ndarray
) -> ItemMetrics:
    """Per-item measures: see :class:`ItemMetrics` and :func:`~._kernels.top_two_confusion`.

    The runner-up is the class with the second-highest posterior (among equals: most votes, then lowest class
    index).
    """
    rows = np.arange(ann.n_items)
    quality = fit.posterior[rows, fit.consensus]
    n_i = np.diff(ann.item_ptr)
    agreement = counts[rows, fit.consensus] / n_i
    if ann.n_classes > 1:
        others = fit.posterior.copy()
        others[rows, fit.consensus] = -np.inf
        best = others.max(axis=1, keepdims=True)
        near = others >= best - TIE_RTOL * np.abs(best)
        # among (nearly) equally probable runners-up, the one with the most votes, then the lowest class index
        runner_up = np.argmax(np.where(near, counts, -1.0), axis=1).astype(np.int64)
    else:
        runner_up = np.full(ann.n_items, -1, dtype=np.int64)
    confusion = top_two_confusion(
        ann.item_ptr,
        ann.annotator_idx,
        ann.label_idx,
        np.ascontiguousarray(reliability, dtype=np.float64),
        fit.consensus,
        runner_up,
        ann.n_classes,
    )
    return ItemMetrics(quality, agreement, n_i.astype(np.int64), runner_up, confusion)


def majority_vote_regime(
    ann: Annotations,
    accuracy: np.ndarray,
    class_prior: np.ndarray,
    consensus: np.ndarray,
    mv_consensus: np.ndarray,
    method: str,
) -> dict[str, object]:
    r"""Is majority vote already optimal for these data, and how often does ``method`` disagree with it?

    Criterion (after Purificato et al. 2025, who give necessary and sufficient conditions for majority vote
    to match the oracle MAP rule under one- and two-coin noise). Take the one-coin model with each annotator's
    estimated accuracy :math:`p_j` and the estimated class prior :math:`\rho`. The oracle MAP label of an item
    maximises :math:`\log\rho_k + \sum_j w_j [l_j = k]` with :math:`w_j = \log\frac{(K-1)p_j}{1-p_j}`. Majority
    vote returns the same label for *every* possible labelling of the item (vote ties aside) exactly when

    .. math:: \min_{c,\, c_b}\Big(\sum_{\text{weakest } c} w - \sum_{\text{strongest } c_b} w\Big)
              > \log\frac{\max_k \rho_k}{\min_k \rho_k},

    over plurality sizes :math:`c > c_b` that fit the item's :math:`n` annotators (:math:`c + c_b = n` for
    two classes, :math:`\le n` otherwise): the weakest majority must outvote the strongest minority even
    against the most lopsided class prior. An item that passes is *certified*: no aggregation method using
    these accuracies could label it better than majority vote. The data set is in the majority-vote regime
    when at least :data:`MV_OPTIMAL_SHARE` of its items are certified.

    Each accuracy is first shrunk towards the mean (:func:`shrink_accuracies`), so that the sampling noise of
    estimates from a few dozen labels does not make a homogeneous crowd look heterogeneous.

    This is a per-item, finite-sample version of the paper's condition, evaluated at the *estimated*
    parameters (a plug-in, not a high-probability certificate). Annotators worse than chance get negative
    weights and break the certificate, as they should.
    """
    k = ann.n_classes
    n_items = ann.n_items
    disagree = int((consensus != mv_consensus).sum())
    result: dict[str, object] = {
        "criterion": "one-coin plug-in: the weakest majority outweighs the strongest minority by more than "
        "the log class-prior ratio, for every labelling of the item",
        "num_items_disagreeing": disagree,
        "disagreement_rate": disagree / n_items,
    }
    if k < 2:
        result.update(
            optimal_share=1.0,
            num_items_certified=n_items,
            good_enough=True,
            verdict="only one class: majority vote is trivially optimal",
        )
        return result
    n_j = np.bincount(ann.annotator_idx, minlength=ann.n_annotators).astype(np.float64)
    p = np.clip(shrink_accuracies(np.asarray(accuracy, dtype=np.float64), n_j), 1e-6, 1.0 - 1e-6)
    weight = np.log((k - 1) * p / (1.0 - p))
    margin = majority_vote_margin(ann.item_ptr, ann.annotator_idx, weight, k == 2)
    prior = np.clip(np.asarray(class_prior, dtype=np.float64), 1e-12, None)
    prior_gap = float(np.log(prior.max() / prior.min()))
    certified = margin > prior_gap
    share = float(certified.mean())
    good = share >= MV_OPTIMAL_SHARE or disagree / n_items <= MV_DISAGREEMENT_OK
    if share >= MV_OPTIMAL_SHARE:
        verdict = (
            f"majority vote is already optimal: for {share:.1%} of items no labelling could make the "
            "Bayes rule differ from it, given the estimated annotator accuracies and class balance"
        )
    elif method == "majority":
        verdict = (
            f"majority vote is not provably optimal here: only {share:.1%} of items are certified; "
            "compare with --method dawid-skene"
        )
        good = False
    elif disagree / n_items <= MV_DISAGREEMENT_OK:
        verdict = (
            f"majority vote is good enough in practice: {method} changes {disagree} consensus label(s) "
            f"({disagree / n_items:.2%}), though only {share:.1%} of items are certified optimal"
        )
    else:
        verdict = (
            f"majority vote is not optimal here: only {share:.1%} of items are certified, and {method} "
            f"disagrees with it on {disagree} items ({disagree / n_items:.1%})"
        )
    result.update(
        optimal_share=share,
        num_items_certified=int(certified.sum()),
        log_prior_ratio=prior_gap,
        good_enough=bool(good),
        verdict=verdict,
    )
    return result


def shrink_accuracies(accuracy: np.ndarray, n_j: np.ndarray) -> np.ndarray:
    r"""Empirical-Bayes (James-Stein style) shrinkage of per-annotator accuracies towards their mean.

    With :math:`\bar p` the annotation-weighted mean, sampling variances :math:`s_j^2 = \bar p(1-\bar p)/n_j`
    and the between-annotator variance estimated by moments,
    :math:`\tau^2 = \max(0, \mathrm{Var}(p_j) - \overline{s^2})`, each accuracy becomes
    :math:`\bar p + \frac{\tau^2}{\tau^2 + s_j^2}(p_j - \bar p)`.
    """
    if len(accuracy) < 2:
        return accuracy
    total = n_j.sum()
    mean = float((accuracy * n_j).sum() / total) if total > 0 else float(accuracy.mean())
    sampling = mean * (1.0 - mean) / np.maximum(n_j, 1.0)
    between = max(float(np.var(accuracy)) - float(sampling.mean()), 0.0)
    factor = between / (between + sampling) if between > 0 else np.zeros_like(sampling)
    return mean + factor * (accuracy - mean)
