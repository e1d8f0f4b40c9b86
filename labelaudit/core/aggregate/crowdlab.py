"""CROWDLAB: a weighted ensemble of the annotators and a classifier's out-of-fold probabilities.

H. W. Goh, U. Tkachenko and J. Mueller, "CROWDLAB: Supervised learning to infer consensus labels and quality
scores for data with multiple annotators", NeurIPS 2022 Workshop on Human in the Loop Learning,
arXiv:2210.06812.
"""

from __future__ import annotations

import numpy as np

from labelaudit.core.aggregate.base import MethodFit, decide, vote_counts
from labelaudit.core.aggregate.data import Annotations

_MIN_WEIGHT = 1e-6


def crowdlab(
    ann: Annotations,
    pred_probs: np.ndarray,
    *,
    seed: int = 0,
    max_rounds: int = 1,
    calibrate: bool = True,
) -> MethodFit:
    r"""CROWDLAB consensus (Goh, Tkachenko & Mueller 2022), from the paper's description.

    Model. Each annotation :math:`l` of annotator :math:`j` is turned into a probability vector
    :math:`v(l)` with :math:`P` on class :math:`l` and :math:`(1 - P)/(K - 1)` elsewhere, where :math:`P` is
    the average agreement of annotators with the consensus on items with several annotations. The classifier's
    out-of-fold probabilities :math:`\hat p_M(x_i)` are one more "annotator". The consensus distribution is the
    weighted average

    .. math:: \hat p_i = \frac{w_M\, \hat p_M(x_i) + \sum_{(i, j, l)} w_j\, v(l)}{w_M + \sum_{(i, j, l)} w_j}.

    Weights measure how much better than a trivial labeller each source is. With :math:`\hat y` the current
    consensus, :math:`s_j` annotator :math:`j`'s agreement with it (on items with two or more annotations),
    :math:`A_M` the classifier's accuracy against it, and :math:`E_0 = 1 - \max_k \Pr(\hat y = k)` the error of
    always answering the most common consensus class,

    .. math:: w_j = 1 - \frac{1 - s_j}{E_0}, \qquad
              w_M = \Big(1 - \frac{1 - A_M}{E_0}\Big)\sqrt{\bar n},

    clipped below at :math:`10^{-6}`, where :math:`\bar n` is the mean number of annotations per item (the
    classifier's vote grows with how much the annotators are trusted as a group). The initial consensus is the
    majority vote with ties broken by the classifier; ``max_rounds > 1`` re-estimates the weights from the new
    consensus until it stops changing (the paper uses one round).

    One departure from the paper, on by default (``calibrate``): before pooling, the classifier's
    probabilities are temperature-scaled, :math:`\hat p_M \leftarrow \mathrm{softmax}(\lambda \log \hat p_M)`,
    with :math:`\lambda` fitted by log loss against the initial consensus on items with two or more
    annotations. A linear pool is sensitive to the classifier's confidence, not only to its accuracy; without
    this step an over-confident classifier outvotes several good annotators (on our simulations CROWDLAB then
    fell below Dawid-Skene on the annotations alone), and with it the result no longer depends on the
    classifier's temperature.

    ``posterior`` is :math:`\hat p_i`; the consensus quality is :math:`\hat p_i` at the consensus label (the
    paper's self-confidence label-quality score).

    Parameters
    ----------
    ann : Annotations
    pred_probs : numpy.ndarray, shape (I, K)
        Out-of-fold predicted probabilities, rows aligned with ``ann.items`` and columns with ``ann.classes``.
    seed : int
        Seed of the tie rule for ties the classifier does not break.
    max_rounds : int
        Rounds of weight estimation (>= 1).
    calibrate : bool
        Temperature-scale ``pred_probs`` first (see above).

    References
    ----------
    C. Guo, G. Pleiss, Y. Sun, K. Q. Weinberger. On calibration of modern neural networks. ICML 2017.

    H. W. Goh, U. Tkachenko, J. Mueller. CROWDLAB: Supervised learning to infer consensus labels and quality
    scores for data with multiple annotators. NeurIPS 2022 Workshop on Human in the Loop Learning.
    """
    raw = np.ascontiguousarray(pred_probs, dtype=np.float64)
    k = ann.n_classes
    counts = vote_counts(ann)
    n_i = counts.sum(axis=1)
    consensus, is_tie = decide(counts, ann, seed=seed, tie_scores=raw, exact=True)
    multi = n_i >= 2
    if not multi.any():
        multi = np.ones(ann.n_items, dtype=bool)
    inverse_temperature = fit_temperature(raw[multi], consensus[multi]) if calibrate else 1.0
    probs = tempered(raw, inverse_temperature)
    multi_ann = multi[ann.item_idx]
    n_j_multi = np.bincount(
        ann.annotator_idx, weights=multi_ann.astype(np.float64), minlength=ann.n_annotators
    )
    model_label = np.argmax(probs, axis=1)
    rounds = 0
    info: dict[str, object] = {}
    posterior = probs
    for rounds in range(1, max(1, max_rounds) + 1):
        agrees = (ann.label_idx == consensus[ann.item_idx]) & multi_ann
        agree_j = np.bincount(
            ann.annotator_idx, weights=agrees.astype(np.float64), minlength=ann.n_annotators
        )
        pooled = float(agree_j.sum() / max(n_j_multi.sum(), 1.0))
        s_j = np.where(n_j_multi > 0, agree_j / np.maximum(n_j_multi, 1.0), pooled)
        most_common = np.bincount(consensus[multi], minlength=k).max() / multi.sum()
        base_error = max(1.0 - float(most_common), 1e-12)
        model_accuracy = float((model_label[multi] == consensus[multi]).mean())
        w_j = np.maximum(1.0 - (1.0 - s_j) / base_error, _MIN_WEIGHT)
        w_model = max(1.0 - (1.0 - model_accuracy) / base_error, _MIN_WEIGHT) * float(np.sqrt(n_i.mean()))
        p_agree = pooled if k > 1 else 1.0
        off = (1.0 - p_agree) / (k - 1) if k > 1 else 0.0
        weighted_votes = vote_counts(ann, w_j)
        weight_sum = weighted_votes.sum(axis=1)
        posterior = w_model * probs + weighted_votes * (p_agree - off) + off * weight_sum[:, None]
        posterior /= (w_model + weight_sum)[:, None]
        new_consensus, new_tie = decide(posterior, ann, seed=seed, tie_scores=probs)
        changed = int((new_consensus != consensus).sum())
        consensus, is_tie = new_consensus, new_tie
        info = {
            "rounds": rounds,
            "inverse_temperature": inverse_temperature,
            "model_weight": w_model,
            "model_accuracy_vs_consensus": model_accuracy,
            "annotator_agreement": p_agree,
            "baseline_error": base_error,
            "last_round_changes": changed,
        }
        if changed == 0:
            break
    info["annotator_weight"] = w_j
    prior = np.bincount(consensus, minlength=k).astype(np.float64) / ann.n_items
    return MethodFit("crowdlab", np.ascontiguousarray(posterior), consensus, is_tie, prior, info=info)


def tempered(probs: np.ndarray, inverse_temperature: float) -> np.ndarray:
    """``softmax(lambda * log p)``: probabilities sharpened (lambda > 1) or flattened (lambda < 1)."""
    if inverse_temperature == 1.0:
        return probs
    logits = inverse_temperature * np.log(np.clip(probs, 1e-300, None))
    logits -= logits.max(axis=1, keepdims=True)
    out = np.exp(logits)
    return out / out.sum(axis=1, keepdims=True)


def fit_temperature(probs: np.ndarray, labels: np.ndarray, weights: np.ndarray | None = None) -> float:
    """The inverse temperature lambda in [0.05, 20] minimising the (weighted) log loss of ``labels`` under
    ``softmax(lambda * log p)`` (temperature scaling, Guo et al. 2017). The loss is convex in lambda; we
    minimise it by bisection on its derivative."""
    log_p = np.log(np.clip(probs, 1e-12, None))
    rows = np.arange(len(labels))
    w = np.ones(len(labels)) if weights is None else weights

    def grad(lam: float) -> float:
        z = lam * log_p
        z -= z.max(axis=1, keepdims=True)
        q = np.exp(z)
        q /= q.sum(axis=1, keepdims=True)
        # d/dlam of -log softmax = E_q[log p] - log p_y
        return float((w * ((q * log_p).sum(axis=1) - log_p[rows, labels])).sum())

    lo, hi = 0.05, 20.0
    if grad(lo) >= 0:
        return lo
    if grad(hi) <= 0:
        return hi
    for _ in range(50):
        mid = np.sqrt(lo * hi)
        if grad(mid) < 0:
            lo = mid
        else:
            hi = mid
    return float(np.sqrt(lo * hi))
