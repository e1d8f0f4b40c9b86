"""A model-free signal: how much each row's label agrees with the labels of its nearest neighbours.

Zhu, Dong and Liu, "Detecting Corrupted Labels Without Training a Model to Predict", ICML 2022 (PMLR 162),
arXiv:2110.06283. Their premise, *k-NN label clusterability*: in a good feature space an example and its
nearest neighbours share the same true label, so a label that disagrees with the neighbours' labels is
suspect, without any model fitted on the (noisy) labels. This module computes the simplest form of their
local vote: for each row, the share of its ``k`` nearest neighbours (itself excluded; features imputed and
standardised; Euclidean distance) whose label equals its own. For multi-label rows, the share agreeing on
each tag, and the lowest of those over the tags (the row is as suspect as its most suspect tag).

Neighbours are searched in the rows' key order (:mod:`labelaudit.oof._folds`), so ties between equally
distant neighbours, and hence the output, do not depend on the input's row order.
"""

from __future__ import annotations

import numpy as np

DEFAULT_NEIGHBOURS = 10


def neighbour_indices(X: np.ndarray, order: np.ndarray, k: int) -> np.ndarray:
    """``len(X) x k`` indices (into X) of each row's nearest other rows."""
    from sklearn.neighbors import NearestNeighbors

    from labelaudit.oof._models import preprocessing

    Z = X[order]
    for step in preprocessing():
        Z = step.fit_transform(Z)
    k = min(k, len(X) - 1)
    found = NearestNeighbors(n_neighbors=k + 1).fit(Z).kneighbors(Z, return_distance=False)
    rows = np.arange(len(Z))[:, None]
    # drop the row itself (with duplicates it need not come first), else the farthest candidate
    is_self = found == rows
    keep = np.ones_like(found, dtype=bool)
    has_self = is_self.any(axis=1)
    keep[has_self] = ~is_self[has_self]
    keep[~has_self, -1] = False
    local = found[keep].reshape(len(Z), k)
    inverse = np.empty_like(order)
    inverse[order] = np.arange(len(order))
    return order[local][inverse]


def neighbour_agreement(labels: np.ndarray, neighbours: np.ndarray) -> np.ndarray:
    """Share of each row's neighbours with the same label (multi-label: the worst tag's share), in [0, 1]."""
    if labels.ndim == 1:
        return (labels[neighbours] == labels[:, None]).mean(axis=1)
    same = labels[neighbours] == labels[:, None, :]  # N x k x tags
    return same.mean(axis=1).min(axis=1)
