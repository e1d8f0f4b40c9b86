"""Seeded generators of crowd-labelled data (and model probabilities) with a known truth.

For tests, benchmarks and for trying the aggregation methods on a regime you care about. Every generator
takes a ``seed`` and returns the same data for the same arguments.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from labelaudit.errors import UsageError

SCENARIOS = ("heterogeneous", "spammers", "adversarial", "imbalanced", "homogeneous")


@dataclass
class Crowd:
    """A simulated data set: ``annotations`` (columns item, annotator, label) and ``truth`` (item, label)."""

    annotations: pd.DataFrame
    truth: pd.DataFrame
    accuracy: np.ndarray  # each annotator's probability of answering the true class
    class_prior: np.ndarray


def _confusion(rng: np.random.Generator, k: int, accuracy: float, concentration: float) -> np.ndarray:
    """A confusion matrix with ``accuracy`` on the diagonal and errors spread by a Dirichlet draw per row."""
    pi = np.zeros((k, k))
    for row in range(k):
        if k == 1:
            pi[row, 0] = 1.0
            continue
        errors = rng.dirichlet(np.full(k - 1, concentration))
        pi[row, np.arange(k) != row] = (1.0 - accuracy) * errors
        pi[row, row] = accuracy
    return pi


def simulate_crowd(
    n_items: int = 1000,
    n_annotators: int = 50,
    n_classes: int = 3,
    annotations_per_item: int | tuple[int, int] = 3,
    *,
    scenario: str = "heterogeneous",
    class_prior: np.ndarray | None = None,
    seed: int = 0,
    item_prefix: str = "item",
) -> Crowd:
    """Simulate annotations under the Dawid-Skene model with one of several annotator populations.

    Parameters
    ----------
    n_items, n_annotators, n_classes : int
    annotations_per_item : int or (low, high)
        Distinct annotators per item (uniform on ``low..high`` inclusive when a pair).
    scenario : str
        ``homogeneous``: everyone 75 % accurate, uniform errors (majority vote is the Bayes rule).
        ``heterogeneous``: accuracies ~ U(0.45, 0.95) with structured (Dirichlet) confusions.
        ``spammers``: 35 % of annotators answer uniformly at random, the rest U(0.65, 0.9).
        ``adversarial``: 20 % answer a fixed permutation of the truth 80 % of the time, the rest U(0.6, 0.85).
        ``imbalanced``: a skewed class prior and annotators who over-use the most common class.
    class_prior : array, optional
        Overrides the scenario's class prior.
    seed : int
        Seed of :func:`numpy.random.default_rng`.

    Annotators' workloads are skewed (Zipf-like weights), so some label many items and some a few.
    """
    if scenario not in SCENARIOS:
        raise UsageError(f"scenario must be one of {', '.join(SCENARIOS)}, not {scenario!r}")
    rng = np.random.default_rng(seed)
    k = n_classes
    if class_prior is None:
        if scenario == "imbalanced":
            raw = 0.5 ** np.arange(k, dtype=np.float64)
            class_prior = raw / raw.sum()
        else:
            class_prior = np.full(k, 1.0 / k)
    class_prior = np.asarray(class_prior, dtype=np.float64)
    truth = rng.choice(k, size=n_items, p=class_prior)

    confusions = np.empty((n_annotators, k, k))
    accuracy = np.empty(n_annotators)
    for j in range(n_annotators):
        if scenario == "homogeneous":
            acc = 0.75
            pi = _confusion(rng, k, acc, 1e6)
        elif scenario == "heterogeneous":
            acc = rng.uniform(0.45, 0.95)
            pi = _confusion(rng, k, acc, 0.7)
        elif scenario == "spammers":
            if rng.random() < 0.35:
                pi = np.full((k, k), 1.0 / k)
            else:
                pi = _confusion(rng, k, rng.uniform(0.65, 0.9), 2.0)
        elif scenario == "adversarial":
            if rng.random() < 0.2 and k > 1:
                shift = np.roll(np.arange(k), 1)
                pi = np.full((k, k), 0.2 / max(k - 1, 1))
                pi[np.arange(k), shift] = 0.8
                pi /= pi.sum(axis=1, keepdims=True)
            else:
                pi = _confusion(rng, k, rng.uniform(0.6, 0.85), 2.0)
        else:  # imbalanced: errors lean towards class 0
            acc = rng.uniform(0.55, 0.9)
            pi = _confusion(rng, k, acc, 1.0)
            for row in range(1, k):
                moved = 0.5 * pi[row, np.arange(k) != row].sum()
                pi[row, np.arange(k) != row] *= 0.5
                pi[row, 0] += moved
        confusions[j] = pi
        accuracy[j] = float((class_prior * np.diag(pi)).sum())

    workload = 1.0 / np.arange(1, n_annotators + 1) ** 0.7
    workload = rng.permutation(workload / workload.sum())
    if isinstance(annotations_per_item, tuple):
        low, high = annotations_per_item
        per_item = rng.integers(low, high + 1, size=n_items)
    else:
        per_item = np.full(n_items, int(annotations_per_item))
    per_item = np.minimum(per_item, n_annotators)

    # distinct annotators per item, drawn by workload: draw with replacement, redraw rows with repeats
    max_r = int(per_item.max())
    cdf = np.cumsum(workload)
    cdf[-1] = 1.0
    chosen = np.searchsorted(cdf, rng.random((n_items, max_r)), side="right")
    active = np.arange(max_r)[None, :] < per_item[:, None]
    for _ in range(1000):
        ordered = np.sort(np.where(active, chosen, -1 - np.arange(max_r)[None, :]), axis=1)
        repeated = (ordered[:, 1:] == ordered[:, :-1]).any(axis=1)
        if not repeated.any():
            break
        rows = np.flatnonzero(repeated)
        chosen[rows] = np.searchsorted(cdf, rng.random((len(rows), max_r)), side="right")
    mask = np.arange(max_r)[None, :] < per_item[:, None]
    item_idx = np.repeat(np.arange(n_items), max_r).reshape(n_items, max_r)[mask]
    annotator_idx = chosen[mask]
    cum = confusions[annotator_idx, truth[item_idx]].cumsum(axis=1)
    draws = rng.random(len(item_idx))[:, None]
    labels = np.minimum((draws > cum).sum(axis=1), k - 1)

    width = len(str(n_items - 1))
    items = np.array([f"{item_prefix}{i:0{width}d}" for i in range(n_items)], dtype=object)
    workers = np.array([f"w{j:04d}" for j in range(n_annotators)], dtype=object)
    annotations = pd.DataFrame(
        {"item": items[item_idx], "annotator": workers[annotator_idx], "label": labels}
    )
    truth_frame = pd.DataFrame({"item": items, "label": truth})
    return Crowd(annotations, truth_frame, accuracy, class_prior)


def simulate_model_probs(
    truth: np.ndarray, n_classes: int, accuracy: float, *, seed: int = 0, temperature: float = 1.0
) -> np.ndarray:
    """Out-of-fold-like model probabilities of roughly the given top-1 ``accuracy``.

    Logits are ``z_k = mu [k = y] + eps_k`` with standard normal noise; ``softmax(mu z)`` is then the exact
    posterior of ``y`` given ``z`` (calibrated). ``mu`` is chosen by bisection on a seeded Monte Carlo
    estimate of the accuracy. ``temperature < 1`` makes the model over-confident, ``> 1`` under-confident.
    """
    truth = np.asarray(truth, dtype=np.int64)
    rng = np.random.default_rng(seed)
    k = n_classes
    probe = np.random.default_rng(seed + 1).standard_normal((20000, k))

    def acc_for(mu: float) -> float:
        z = probe.copy()
        z[:, 0] += mu
        return float((z.argmax(axis=1) == 0).mean())

    lo, hi = 0.0, 20.0
    for _ in range(40):
        mid = 0.5 * (lo + hi)
        if acc_for(mid) < accuracy:
            lo = mid
        else:
            hi = mid
    mu = 0.5 * (lo + hi)
    z = rng.standard_normal((len(truth), k))
    z[np.arange(len(truth)), truth] += mu
    logits = mu * z / temperature
    logits -= logits.max(axis=1, keepdims=True)
    probs = np.exp(logits)
    return probs / probs.sum(axis=1, keepdims=True)
