"""Dawid-Skene (full confusion matrices) and one-coin Dawid-Skene, fitted by EM in log space.

A. P. Dawid and A. M. Skene, "Maximum Likelihood Estimation of Observer Error-Rates Using the EM Algorithm",
Journal of the Royal Statistical Society, Series C (Applied Statistics) 28(1):20-28, 1979, doi:10.2307/2346806.
"""

from __future__ import annotations

import numpy as np

from labelaudit.core.aggregate._kernels import ds_e_step, ds_m_step_counts
from labelaudit.core.aggregate.base import MethodFit, decide, normalise_rows, vote_counts
from labelaudit.core.aggregate.data import Annotations

#: Default pseudo-count added to every cell of a confusion-matrix row (see :func:`dawid_skene`).
DEFAULT_SMOOTHING = 0.5
#: Default extra pseudo-count on the diagonal: a priori annotators are better than chance.
DEFAULT_DIAGONAL = 1.0
#: Default pseudo-count added to every class of the class prior.
DEFAULT_PRIOR_SMOOTHING = 1.0
#: Smallest probability EM gives a confusion cell or a class (keeps logs finite without pseudo-counts).
PROBABILITY_FLOOR = 1e-12


def dawid_skene(
    ann: Annotations,
    *,
    one_coin: bool = False,
    smoothing: float = DEFAULT_SMOOTHING,
    diagonal: float = DEFAULT_DIAGONAL,
    prior_smoothing: float = DEFAULT_PRIOR_SMOOTHING,
    max_iter: int = 100,
    tol: float = 1e-7,
    seed: int = 0,
    init_posterior: np.ndarray | None = None,
    pred_probs: np.ndarray | None = None,
    item_log_prior: np.ndarray | None = None,
) -> MethodFit:
    r"""Dawid & Skene (1979): latent true classes and one confusion matrix per annotator, by EM.

    Model. Item :math:`i` has a true class :math:`y_i \sim \mathrm{Cat}(\rho)`. Given :math:`y_i = k`, each
    annotation of the item by annotator :math:`j` is drawn independently from row :math:`k` of :math:`j`'s
    confusion matrix, :math:`P(l \mid y_i = k) = \pi^{(j)}_{kl}`. The *one-coin* variant ties each matrix to
    one accuracy :math:`p_j`: :math:`\pi^{(j)}_{kk} = p_j`, :math:`\pi^{(j)}_{kl} = (1 - p_j)/(K - 1)`.
    An annotator who labels an item twice contributes two independent draws.

    Estimation is maximum a posteriori by EM. The E-step computes, in log space,

    .. math:: \log T_{ik} = \log\rho_k + \sum_{(i, j, l)} \log\pi^{(j)}_{kl} - \log Z_i,

    looping over the annotations (never a dense items x annotators x classes tensor). The M-step sets

    .. math:: \pi^{(j)}_{kl} = \frac{\sum_{(i, j, l)} T_{ik} + \alpha + \delta [k = l]}
                                   {\sum_{(i, j, \cdot)} T_{ik} + K\alpha + \delta}, \qquad
              \rho_k = \frac{\sum_i T_{ik} + \beta}{I + K\beta},

    the mode under Dirichlet priors with pseudo-counts :math:`\alpha` (``smoothing``) on every cell,
    :math:`\delta` (``diagonal``) extra on the diagonal, and :math:`\beta` (``prior_smoothing``) on the class
    prior. The smoothing keeps annotators with a handful of labels from getting 0/1 confusion entries (an
    infinite vote); the diagonal pseudo-count encodes that annotators are a priori better than chance. For the
    one-coin variant :math:`p_j = (\sum_{(i,j,l)} T_{il} + \alpha + \delta)/(n_j + K\alpha + \delta)`.

    EM starts from the majority-vote shares (Dawid & Skene's own initialisation) unless ``init_posterior`` is
    given, and stops when the MAP objective changes by at most ``tol`` per annotation, or after ``max_iter``
    iterations. EM is deterministic: there is no random restart, and ``seed`` only feeds the tie rule.

    Label switching. The likelihood is invariant under permuting the classes, so EM can converge to a solution
    whose classes are swapped. When most annotations come from annotators whose confusion matrices put more
    weight off the diagonal than on it, a warning is recorded in ``warnings`` and ``info["label_switched"]``.

    Parameters
    ----------
    ann : Annotations
    one_coin : bool
        Fit one accuracy per annotator instead of a full confusion matrix.
    smoothing, diagonal, prior_smoothing : float
        Dirichlet pseudo-counts :math:`\alpha \ge 0`, :math:`\delta \ge 0`, :math:`\beta \ge 0`.
    max_iter : int
        At least 1.
    tol : float
        Convergence threshold on the change of the objective per annotation (> 0).
    seed : int
        Seed of the tie rule (:func:`~labelaudit.core.aggregate.base.tie_hash_index`).
    init_posterior : numpy.ndarray, shape (I, K), optional
        Starting item posteriors (rows are normalised).
    pred_probs : numpy.ndarray, shape (I, K), optional
        Model probabilities, used only to break exact posterior ties.

    Returns
    -------
    MethodFit
        ``info`` holds ``iterations``, ``log_likelihood`` (of the data at the final parameters),
        ``objective``, ``delta`` (last change of the objective), ``converged``, and ``label_switched``.

    References
    ----------
    A. P. Dawid and A. M. Skene. Maximum likelihood estimation of observer error-rates using the EM algorithm.
    Journal of the Royal Statistical Society C, 28(1):20-28, 1979.
    """
    k = ann.n_classes
    n = ann.n_annotations
    if init_posterior is None:
        post = normalise_rows(vote_counts(ann))
    else:
        post = normalise_rows(np.array(init_posterior, dtype=np.float64))
    post = np.ascontiguousarray(post)
    n_j = np.bincount(ann.annotator_idx, minlength=ann.n_annotators).astype(np.float64)

    previous = None
    delta = float("nan")
    converged = False
    iterations = 0
    log_likelihood = float("nan")
    objective = float("nan")
    log_pi_t = np.zeros((ann.n_annotators, k, k))
    log_prior = np.zeros((1, k))
    class_mass = post.sum(axis=0)
    cell = ann.annotator_idx * k + ann.label_idx
    for iterations in range(1, max_iter + 1):  # noqa: B007 - reported after the loop
        log_pi_t, log_prior, penalty = _m_step(
            ann, cell, post, class_mass, n_j, one_coin, smoothing, diagonal, prior_smoothing
        )
        e_prior = log_prior if item_log_prior is None else item_log_prior
        log_likelihood = ds_e_step(ann.item_ptr, cell, log_pi_t.reshape(-1, k), e_prior, post, class_mass)
        objective = log_likelihood + penalty
        if previous is not None:
            delta = objective - previous
            if abs(delta) <= tol * n:
                converged = True
                break
        previous = objective

    consensus, is_tie = decide(post, ann, seed=seed, tie_scores=pred_probs)
    prior = np.exp(log_prior[0])
    switched_share, switched = label_switch_share(log_pi_t, ann)
    name = "one-coin" if one_coin else "dawid-skene"
    warnings = []
    if switched_share > 0.5:
        warnings.append(
            f"{name}: the solution looks label-switched: {switched_share:.0%} of the annotations come from "
            "annotators whose confusion matrices put more weight off the diagonal than on it; check a few "
            "consensus labels by hand, or compare with --method majority"
        )
    if not converged:
        warnings.append(
            f"{name}: EM did not converge in {max_iter} iterations (last change {delta:.3g}); "
            "raise --max-iter or --tol"
        )
    info = {
        "iterations": iterations,
        "log_likelihood": float(log_likelihood),
        "objective": float(objective),
        "delta": None if not np.isfinite(delta) else float(delta),
        "converged": converged,
        "tol": tol,
        "max_iter": max_iter,
        "smoothing": smoothing,
        "diagonal": diagonal,
        "prior_smoothing": prior_smoothing,
        "label_switched": bool(switched_share > 0.5),
        "label_switched_share": float(switched_share),
        "annotators_off_diagonal": int(switched.sum()),
    }
    return MethodFit(name, post, consensus, is_tie, prior, log_pi_t=log_pi_t, info=info, warnings=warnings)


def _m_step(
    ann: Annotations,
    cell: np.ndarray,
    post: np.ndarray,
    class_mass: np.ndarray,
    n_j: np.ndarray,
    one_coin: bool,
    alpha: float,
    delta: float,
    beta: float,
) -> tuple[np.ndarray, np.ndarray, float]:
    """Confusion matrices (transposed, log), class prior (log) and the log-prior penalty of the objective."""
    k = post.shape[1]
    # without pseudo-counts a class or cell with no mass would get log(0) and EM would diverge to NaN;
    # the floor keeps every accepted setting finite (it is below anything a pseudo-count > 0 gives)
    prior = np.maximum((class_mass + beta) / (ann.n_items + k * beta), PROBABILITY_FLOOR)
    log_prior = np.log(prior / prior.sum())[None, :]
    penalty = beta * float(log_prior.sum())
    if one_coin:
        correct = np.bincount(
            ann.annotator_idx, weights=post[ann.item_idx, ann.label_idx], minlength=ann.n_annotators
        )
        denominator = np.maximum(n_j + k * alpha + delta, PROBABILITY_FLOOR)
        p = np.clip((correct + alpha + delta) / denominator, PROBABILITY_FLOOR, 1.0 - 1e-15)
        log_p = np.log(p)
        log_wrong = np.log1p(-p) - np.log(k - 1) if k > 1 else np.zeros_like(log_p)
        log_pi_t = np.repeat(log_wrong[:, None, None], k, axis=1).repeat(k, axis=2)
        diag = np.arange(k)
        log_pi_t[:, diag, diag] = log_p[:, None]
        penalty += float(((alpha + delta) * log_p + alpha * (k - 1) * log_wrong).sum())
        return np.ascontiguousarray(log_pi_t), log_prior, penalty
    counts_t = ds_m_step_counts(ann.item_idx, cell, post, ann.n_annotators * k).reshape(
        ann.n_annotators, k, k
    )
    pseudo = np.full((k, k), alpha)
    pseudo[np.diag_indices(k)] += delta
    counts_t += pseudo[None, :, :]
    np.maximum(counts_t, PROBABILITY_FLOOR, out=counts_t)
    totals = counts_t.sum(axis=1, keepdims=True)  # sum over given labels l, per (j, k)
    with np.errstate(divide="ignore"):
        log_pi_t = np.log(counts_t) - np.log(totals)
        penalty += float((pseudo[None, :, :] * np.where(pseudo[None] > 0, log_pi_t, 0.0)).sum())
    return np.ascontiguousarray(log_pi_t), log_prior, penalty


def label_switch_share(log_pi_t: np.ndarray, ann: Annotations) -> tuple[float, np.ndarray]:
    """Share of annotations from annotators whose confusion matrices are mostly off-diagonal.

    For annotator ``j`` and a label ``l`` they gave, the label is *off-diagonal* when some other true class
    ``k != l`` produces it more often than ``l`` itself does (``pi[j, k, l] > pi[j, l, l]``): the annotator's
    ``l`` points at another class. The annotator is off-diagonal when most of their annotations carry such
    labels. (An annotator who always answers the same class is not: every row produces it equally.)
    Returns the annotation-weighted share of off-diagonal annotators and the boolean mask over annotators.
    """
    n_annotators, k = log_pi_t.shape[0], log_pi_t.shape[1]
    if k < 2:
        return 0.0, np.zeros(n_annotators, dtype=bool)
    pi_t = np.exp(log_pi_t)  # [j, l, k]
    diag = pi_t[:, np.arange(k), np.arange(k)]  # [j, l]
    others = pi_t.copy()
    others[:, np.arange(k), np.arange(k)] = -1.0
    off_label = others.max(axis=2) > diag * (1.0 + 1e-9)  # [j, l]
    usage = np.bincount(ann.annotator_idx * k + ann.label_idx, minlength=n_annotators * k)
    usage = usage.reshape(n_annotators, k).astype(np.float64)
    n_j = usage.sum(axis=1)
    off_share = (usage * off_label).sum(axis=1) / np.maximum(n_j, 1.0)
    switched = off_share > 0.5
    total = n_j.sum()
    return (float(n_j[switched].sum() / total) if total > 0 else 0.0), switched


def confusion_matrices(fit: MethodFit) -> np.ndarray | None:
    """``pi[j, k, l] = P(annotator j says l | true class k)`` (rows sum to 1), or None for other methods."""
    if fit.log_pi_t is None:
        return None
    return np.exp(fit.log_pi_t).transpose(0, 2, 1)
