"""Mean-field variational inference shared by IBCC and EBCC: Dirichlet expectations and KL terms.

Both models have a latent state per item (a class for IBCC, a class and a subtype for EBCC), Dirichlet
posteriors over each annotator's confusion rows and over the state prior, and the same two steps:

* update the Dirichlet parameters from the expected counts of the current item posteriors;
* update the item posteriors from the expected log parameters (the same sparse E-step as Dawid-Skene,
  with digamma expectations in place of log point estimates).

The evidence lower bound after an item update is ``sum_i log Z_i - sum KL(q(Dirichlet) || prior)``, so the
per-item normalisers the E-step already computes give the bound almost for free.
"""

from __future__ import annotations

import numpy as np

from labelaudit.core.aggregate._kernels import digamma, ds_e_step, ds_m_step_counts, gammaln
from labelaudit.core.aggregate.base import MethodFit, decide
from labelaudit.core.aggregate.data import Annotations

#: Smallest Dirichlet parameter used (a requested 0 becomes this, so every accepted setting stays finite).
MIN_PSEUDO_COUNT = 1e-6
#: Iterations between two evaluations of the bound (and of the stopping rule).
CHECK_EVERY = 4


def expected_log(alpha: np.ndarray, axis: int) -> np.ndarray:
    """``E[log theta]`` under ``Dirichlet(alpha)`` along ``axis``."""
    alpha = np.ascontiguousarray(alpha, dtype=np.float64)
    return digamma(alpha) - digamma(np.ascontiguousarray(alpha.sum(axis=axis, keepdims=True)))


def dirichlet_kl(alpha: np.ndarray, prior: np.ndarray, axis: int) -> float:
    """Sum over the other axes of ``KL(Dirichlet(alpha) || Dirichlet(prior))`` along ``axis``."""
    alpha = np.ascontiguousarray(alpha, dtype=np.float64)
    prior = np.ascontiguousarray(np.broadcast_to(prior, alpha.shape), dtype=np.float64)
    a0 = np.ascontiguousarray(alpha.sum(axis=axis, keepdims=True))
    b0 = np.ascontiguousarray(prior.sum(axis=axis, keepdims=True))
    log_theta = digamma(alpha) - digamma(a0)
    kl = (
        gammaln(a0).sum()
        - gammaln(alpha).sum()
        - gammaln(b0).sum()
        + gammaln(prior).sum()
        + ((alpha - prior) * log_theta).sum()
    )
    return float(kl)


def confusion_prior(n_classes: int, n_states_per_class: int, smoothing: float, diagonal: float) -> np.ndarray:
    """Prior pseudo-counts stored like ``log_pi_t``: ``[given label l, latent state s]``.

    State ``s`` belongs to class ``s // n_states_per_class``; every cell gets ``smoothing`` and the cell of the
    state's own class gets ``diagonal`` more.
    """
    states = n_classes * n_states_per_class
    prior = np.full((n_classes, states), float(smoothing))
    owner = np.arange(states) // n_states_per_class
    prior[owner, np.arange(states)] += diagonal
    return prior


def fit_variational(
    ann: Annotations,
    start: np.ndarray,
    *,
    n_subtypes: int,
    smoothing: float,
    diagonal: float,
    prior_smoothing: float,
    subtype_concentration: float,
    max_iter: int,
    tol: float,
    seed: int,
    pred_probs: np.ndarray | None,
    name: str,
) -> MethodFit:
    """Coordinate ascent on the bound of IBCC (``n_subtypes == 1``) or EBCC, from item-state posteriors ``start``.

    ``start`` is ``I x (K * n_subtypes)``; state ``s`` is class ``s // n_subtypes``, subtype ``s % n_subtypes``.
    Returns a :class:`MethodFit` whose posterior is summed over subtypes.
    """
    k = ann.n_classes
    m = n_subtypes
    states = k * m
    n = ann.n_annotations
    post = np.ascontiguousarray(start, dtype=np.float64)
    # a Dirichlet needs positive parameters: pseudo-counts of 0 mean "as weak as possible", not improper
    conf_prior = np.maximum(confusion_prior(k, m, smoothing, diagonal), MIN_PSEUDO_COUNT)[None, :, :]
    prior_smoothing = max(float(prior_smoothing), MIN_PSEUDO_COUNT)
    subtype_concentration = max(float(subtype_concentration), MIN_PSEUDO_COUNT)
    cell = ann.annotator_idx * k + ann.label_idx
    state_mass = post.sum(axis=0)
    elbo = previous = float("-inf")
    delta = float("nan")
    converged = False
    iterations = 0
    alpha = conf_prior
    last_checked = 0
    for iterations in range(1, max_iter + 1):
        counts = ds_m_step_counts(ann.item_idx, cell, post, ann.n_annotators * k).reshape(
            ann.n_annotators, k, states
        )
        alpha = counts + conf_prior
        e_log_pi = np.ascontiguousarray(expected_log(alpha, axis=1))
        class_alpha = state_mass.reshape(k, m).sum(axis=1) + prior_smoothing
        e_log_state = np.repeat(expected_log(class_alpha, axis=0), m)
        if m > 1:
            sub_alpha = state_mass.reshape(k, m) + subtype_concentration
            e_log_state = e_log_state + expected_log(sub_alpha, axis=1).reshape(-1)
        log_z = ds_e_step(
            ann.item_ptr, cell, e_log_pi.reshape(-1, states), e_log_state[None, :], post, state_mass
        )
        if iterations % CHECK_EVERY and iterations != max_iter:
            continue
        # the bound's KL terms cost more than an iteration on small data: check every few iterations
        penalty = dirichlet_kl(alpha, conf_prior, axis=1) + dirichlet_kl(
            class_alpha, np.full(k, float(prior_smoothing)), axis=0
        )
        if m > 1:
            penalty += dirichlet_kl(sub_alpha, np.full((k, m), float(subtype_concentration)), axis=1)
        elbo = log_z - penalty
        if not np.isfinite(elbo):
            raise FloatingPointError(f"{name}: the variational bound is not finite")
        delta = (elbo - previous) / (iterations - last_checked)
        previous, last_checked = elbo, iterations
        if abs(delta) <= tol * n:
            converged = True
            break

    class_post = post.reshape(ann.n_items, k, m).sum(axis=2) if m > 1 else post
    class_post = np.ascontiguousarray(class_post)
    consensus, is_tie = decide(class_post, ann, seed=seed, tie_scores=pred_probs)
    # class-level confusion at the posterior mean: P(l | k) = sum_m P(m | k) E[pi_{(k, m), l}]
    mean_pi = alpha / alpha.sum(axis=1, keepdims=True)  # [j, l, s]
    sub_weight = (state_mass.reshape(k, m) + (subtype_concentration if m > 1 else 0.0)).astype(np.float64)
    sub_weight /= sub_weight.sum(axis=1, keepdims=True)
    pi_t = (mean_pi.reshape(ann.n_annotators, k, k, m) * sub_weight[None, None, :, :]).sum(axis=3)
    class_mass = state_mass.reshape(k, m).sum(axis=1) + prior_smoothing
    prior = class_mass / class_mass.sum()
    warnings = []
    if not converged:
        warnings.append(
            f"{name}: variational inference did not converge in {max_iter} iterations "
            f"(last change {delta:.3g}); raise --max-iter or --tol"
        )
    info = {
        "iterations": iterations,
        "elbo": float(elbo),
        "elbo_per_annotation": float(elbo / n),
        "delta": None if not np.isfinite(delta) else float(delta),
        "converged": converged,
        "tol": tol,
        "max_iter": max_iter,
        "smoothing": smoothing,
        "diagonal": diagonal,
        "prior_smoothing": prior_smoothing,
    }
    if m > 1:
        info["state_posterior"] = post  # the (class, subtype) posterior, to resume from (not reported)
        info["subtypes"] = m
        info["subtype_concentration"] = subtype_concentration
    return MethodFit(
        name, class_post, consensus, is_tie, prior, log_pi_t=np.log(pi_t), info=info, warnings=warnings
    )
