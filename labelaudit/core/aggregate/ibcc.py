"""Independent Bayesian classifier combination (IBCC) by mean-field variational inference.

Reference: H.-C. Kim and Z. Ghahramani. Bayesian classifier combination. Proceedings of the Fifteenth
International Conference on Artificial Intelligence and Statistics (AISTATS), PMLR 22:619-627, 2012.
https://proceedings.mlr.press/v22/kim12.html (variational updates as in E. Simpson, S. Roberts, I. Psorakis
and A. Smith, "Dynamic Bayesian combination of multiple imperfect classifiers", 2013, arXiv:1206.1831).
"""

from __future__ import annotations

import numpy as np

from labelaudit.core.aggregate._variational import fit_variational
from labelaudit.core.aggregate.base import MethodFit, normalise_rows, vote_counts
from labelaudit.core.aggregate.data import Annotations

#: Prior pseudo-count of every confusion cell (IBCC and EBCC).
DEFAULT_VB_SMOOTHING = 1.0
#: Extra prior pseudo-count on the diagonal: a priori annotators are better than chance.
DEFAULT_VB_DIAGONAL = 2.0


def ibcc(
    ann: Annotations,
    *,
    smoothing: float = DEFAULT_VB_SMOOTHING,
    diagonal: float = DEFAULT_VB_DIAGONAL,
    prior_smoothing: float = 1.0,
    max_iter: int = 100,
    tol: float = 1e-7,
    seed: int = 0,
    pred_probs: np.ndarray | None = None,
) -> MethodFit:
    r"""IBCC (Kim & Ghahramani 2012): Dawid-Skene with Dirichlet priors, fitted by variational Bayes.

    Model. The class prior :math:`\kappa \sim \mathrm{Dir}(\beta \mathbf 1)`; item :math:`i`'s true class
    :math:`t_i \sim \mathrm{Cat}(\kappa)`; annotator :math:`j`'s confusion row for class :math:`k`,
    :math:`\pi^{(j)}_k \sim \mathrm{Dir}(\alpha_k)` with :math:`\alpha_{kl} = a + d [k = l]` (``smoothing``
    :math:`a`, ``diagonal`` :math:`d`); each annotation of item :math:`i` by :math:`j` is drawn from
    :math:`\pi^{(j)}_{t_i}`.

    Inference. Mean field :math:`q(t)\,q(\kappa)\prod_{j,k} q(\pi^{(j)}_k)`, coordinate ascent from the
    majority-vote shares:

    .. math:: q(t_i = k) \propto \exp\Big(\mathbb E[\log\kappa_k] + \sum_{(i,j,l)} \mathbb E[\log\pi^{(j)}_{kl}]\Big),
              \qquad q(\pi^{(j)}_k) = \mathrm{Dir}\Big(\alpha_k + \sum_{(i,j,l)} q(t_i = k)\, e_l\Big).

    Unlike Dawid-Skene's point estimates, the expectations :math:`\mathbb E[\log\pi] = \psi(\alpha_{kl}) -
    \psi(\sum_l \alpha_{kl})` shrink annotators with few labels toward the prior automatically. The evidence
    lower bound is reported in ``info["elbo"]`` (per annotation in ``info["elbo_per_annotation"]``); iteration
    stops when it changes by at most ``tol`` per annotation. Deterministic: ``seed`` only feeds the tie rule.
    """
    start = normalise_rows(vote_counts(ann))
    return fit_variational(
        ann,
        start,
        n_subtypes=1,
        smoothing=smoothing,
        diagonal=diagonal,
        prior_smoothing=prior_smoothing,
        subtype_concentration=1.0,
        max_iter=max_iter,
        tol=tol,
        seed=seed,
        pred_probs=pred_probs,
        name="ibcc",
    )
