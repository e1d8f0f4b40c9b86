"""Enhanced Bayesian classifier combination (EBCC): correlated annotator errors through item subtypes.

Reference: Y. Li, B. I. P. Rubinstein and T. Cohn. Exploiting worker correlation for label aggregation in
crowdsourcing. Proceedings of the 36th International Conference on Machine Learning (ICML), PMLR 97:3886-3895,
2019. https://proceedings.mlr.press/v97/li19i.html
"""

from __future__ import annotations

import numpy as np

from labelaudit.core.aggregate._variational import fit_variational
from labelaudit.core.aggregate.base import MethodFit, normalise_rows, vote_counts
from labelaudit.core.aggregate.data import Annotations
from labelaudit.core.aggregate.ibcc import DEFAULT_VB_DIAGONAL, DEFAULT_VB_SMOOTHING

#: Subtypes per class (an upper bound: the sparse prior leaves unneeded subtypes empty).
DEFAULT_SUBTYPES = 4
#: Dirichlet concentration of each class's subtype weights (small: few subtypes are used).
DEFAULT_SUBTYPE_CONCENTRATION = 0.1
#: Random starts; the one with the highest variational bound is kept.
DEFAULT_RESTARTS = 3
#: Iterations every start runs before their bounds are compared; the best one then runs to convergence.
EXPLORE_ITERATIONS = 20


def ebcc(
    ann: Annotations,
    *,
    n_subtypes: int = DEFAULT_SUBTYPES,
    restarts: int = DEFAULT_RESTARTS,
    smoothing: float = DEFAULT_VB_SMOOTHING,
    diagonal: float = DEFAULT_VB_DIAGONAL,
    prior_smoothing: float = 1.0,
    subtype_concentration: float = DEFAULT_SUBTYPE_CONCENTRATION,
    max_iter: int = 100,
    tol: float = 1e-7,
    seed: int = 0,
    pred_probs: np.ndarray | None = None,
) -> MethodFit:
    r"""EBCC (Li, Rubinstein & Cohn 2019): IBCC whose classes split into latent subtypes.

    Model. Item :math:`i` has a class :math:`t_i \sim \mathrm{Cat}(\kappa)` and a subtype
    :math:`z_i \sim \mathrm{Cat}(\rho_{t_i})` out of ``n_subtypes``; each annotator has one confusion row per
    (class, subtype), :math:`\pi^{(j)}_{km} \sim \mathrm{Dir}(\alpha_k)` with the IBCC prior of the class.
    Annotators who err alike on the same kind of item share a subtype, so their agreement on it is not
    counted as independent evidence; this is how EBCC models correlated errors. The subtype weights
    :math:`\rho_k \sim \mathrm{Dir}(c\,\mathbf 1)` with a small ``subtype_concentration`` :math:`c`, so unneeded
    subtypes stay empty.

    Inference. Mean field over (class, subtype) pairs, exactly IBCC's updates on the :math:`K M` joint states
    (see :func:`~labelaudit.core.aggregate.ibcc.ibcc`). The class of each start is the majority-vote share;
    the subtype split is drawn at random from ``numpy.random.default_rng([seed, r])`` for ``r`` in
    ``range(restarts)``. Every start runs :data:`EXPLORE_ITERATIONS` iterations; the one with the highest
    evidence lower bound then runs to convergence (``info["restart_elbos"]`` holds every start's bound at
    that point, ``info["best_restart"]`` the one kept). Deterministic for a given ``seed`` and the same annotations in any
    row order.
    """
    k = ann.n_classes
    base = normalise_rows(vote_counts(ann))
    settings = {
        "n_subtypes": n_subtypes,
        "smoothing": smoothing,
        "diagonal": diagonal,
        "prior_smoothing": prior_smoothing,
        "subtype_concentration": subtype_concentration,
        "tol": tol,
        "seed": seed,
        "pred_probs": pred_probs,
        "name": "ebcc",
    }
    explore = min(max_iter, EXPLORE_ITERATIONS)
    best: MethodFit | None = None
    bounds = []
    for r in range(restarts):
        rng = np.random.default_rng([seed, r])
        split = rng.dirichlet(np.ones(n_subtypes), size=(ann.n_items, k))
        start = (base[:, :, None] * split).reshape(ann.n_items, k * n_subtypes)
        fit = fit_variational(ann, start, max_iter=explore, **settings)
        bounds.append(fit.info["elbo"])
        if best is None or fit.info["elbo"] > best.info["elbo"]:
            best = fit
    assert best is not None
    chosen = int(np.argmax(bounds))
    if not best.info["converged"] and max_iter > explore:
        # the starts are compared after the same number of iterations; only the best one runs on
        best = fit_variational(ann, best.info["state_posterior"], max_iter=max_iter - explore, **settings)
        best.info["iterations"] += explore
    best.info.pop("state_posterior", None)
    best.info["restarts"] = restarts
    best.info["restart_elbos"] = bounds
    best.info["best_restart"] = chosen
    return best
