"""Numba kernels of the aggregation methods, over the long (sparse) representation.

Every kernel works on three aligned ``int64`` arrays of length ``N`` (one entry per annotation),
sorted by item (then annotator, then label), plus ``item_ptr`` (length ``I + 1``): the annotations of
item ``i`` are ``item_ptr[i]:item_ptr[i + 1]``. No kernel ever builds an items x annotators x classes
tensor; the largest arrays are ``I x K`` (posteriors) and ``J x K x K`` (confusion matrices).

Kernels are sequential on purpose: each sum runs in a fixed order (annotation order), so results are
bit-for-bit reproducible for the same canonical input.

Confusion matrices are stored *transposed*, ``log_pi_t[j, l, k] = log P(annotator j says l | true k)``,
so that the E-step's inner loop over true classes ``k`` reads contiguous memory.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def ds_e_step(item_ptr, cell, log_pi_rows, log_prior, posterior, class_mass):  # pragma: no cover
    """E-step of Dawid-Skene: item posteriors in log space; returns the data log-likelihood.

    ``cell[n] = annotator * K + label`` indexes ``log_pi_rows`` (``log_pi_t`` reshaped to ``(J*K, K)``), so
    each annotation costs one gather of a contiguous row. ``log_prior`` is ``(1, K)`` (one class prior for all items) or ``(I, K)`` (one prior per item).
    ``posterior`` (``I x K``) is overwritten, and ``class_mass`` (``K``) receives its column sums.
    """
    n_items = item_ptr.shape[0] - 1
    n_classes = posterior.shape[1]
    per_item = log_prior.shape[0] > 1
    buf = np.empty(n_classes)
    for k in range(n_classes):
        class_mass[k] = 0.0
    total = 0.0
    for i in range(n_items):
        row = i if per_item else 0
        for k in range(n_classes):
            buf[k] = log_prior[row, k]
        for n in range(item_ptr[i], item_ptr[i + 1]):
            lp = log_pi_rows[cell[n]]
            for k in range(n_classes):
                buf[k] += lp[k]
        top = buf[0]
        for k in range(1, n_classes):
            if buf[k] > top:
                top = buf[k]
        acc = 0.0
        for k in range(n_classes):
            e = np.exp(buf[k] - top)
            buf[k] = e
            acc += e
        total += top + np.log(acc)
        inv = 1.0 / acc
        for k in range(n_classes):
            p = buf[k] * inv
            posterior[i, k] = p
            class_mass[k] += p
    return total


@njit(cache=True, nogil=True)
def ds_m_step_counts(item_idx, cell, posterior, n_cells):  # pragma: no cover
    """Expected counts ``counts[j*K + l, k] = sum over annotations of j with label l of T[i, k]``."""
    n_classes = posterior.shape[1]
    counts = np.zeros((n_cells, n_classes))
    for n in range(item_idx.shape[0]):
        row = counts[cell[n]]
        post = posterior[item_idx[n]]
        for k in range(n_classes):
            row[k] += post[k]
    return counts


@njit(cache=True, nogil=True)
def leave_one_out_posterior(item_idx, annotator_idx, label_idx, log_pi_t, posterior, out):  # pragma: no cover
    """Posterior of each annotation's item with that annotation's own evidence divided out.

    ``out[n, k] ∝ T[i, k] / pi_j[k, l]``: what the rest of the data (prior, other annotators, model) says
    about the item that annotator ``j`` labelled ``l``. Used to audit annotations without letting an
    annotation vouch for itself.
    """
    n_classes = posterior.shape[1]
    buf = np.empty(n_classes)
    for n in range(item_idx.shape[0]):
        i = item_idx[n]
        j = annotator_idx[n]
        lab = label_idx[n]
        top = -np.inf
        for k in range(n_classes):
            p = posterior[i, k]
            v = (np.log(p) if p > 0.0 else -745.0) - log_pi_t[j, lab, k]
            buf[k] = v
            if v > top:
                top = v
        acc = 0.0
        for k in range(n_classes):
            buf[k] = np.exp(buf[k] - top)
            acc += buf[k]
        for k in range(n_classes):
            out[n, k] = buf[k] / acc


@njit(cache=True, nogil=True)
def _top_two_grad(lo, hi, annotator_idx, label_idx, reliability, g, h, n_classes, q):  # pragma: no cover
    """Derivative in ``q`` of one item's top-two log-likelihood (see :func:`top_two_confusion`)."""
    d = 0.0
    for n in range(lo, hi):
        lab = label_idx[n]
        r = reliability[annotator_idx[n]]
        if r <= 0.0:
            continue
        c = (1.0 - r) / n_classes
        if lab == g:
            d += r / max(r * q + c, 1e-300)
        elif lab == h:
            d -= r / max(r * (1.0 - q) + c, 1e-300)
    return d


@njit(cache=True, nogil=True)
def top_two_confusion(
    item_ptr, annotator_idx, label_idx, reliability, top, second, n_classes
):  # pragma: no cover
    """Confusion probability of each item's top-two answers (Kim et al.), by maximum likelihood.

    Model: a *reliable* draw (probability ``r_j``) answers the top class ``g`` with probability ``q`` and
    the runner-up ``h`` with ``1 - q``; an unreliable draw answers uniformly over the ``K`` classes. So an
    annotation says ``g`` with probability ``r q + (1 - r)/K``, ``h`` with ``r (1 - q) + (1 - r)/K``, and
    anything else with ``(1 - r)/K`` (free of ``q``). The log-likelihood is concave in ``q``; we maximise it
    on ``[1/2, 1]`` by bisection on its (decreasing) derivative. Returns ``1 - q``: 0 when the runner-up is
    implausible, 1/2 when both answers are equally plausible.
    """
    n_items = item_ptr.shape[0] - 1
    out = np.zeros(n_items)
    for i in range(n_items):
        g = top[i]
        h = second[i]
        if h < 0:
            continue
        lo = item_ptr[i]
        hi = item_ptr[i + 1]
        n_g = 0
        n_h = 0
        credible = 0.0
        for n in range(lo, hi):
            if label_idx[n] == g:
                n_g += 1
                credible += max(reliability[annotator_idx[n]], 0.0)
            elif label_idx[n] == h:
                n_h += 1
                credible += max(reliability[annotator_idx[n]], 0.0)
        if n_h == 0:
            continue
        if n_g == 0:
            out[i] = 0.5
            continue
        if credible <= 0.0:
            # nobody who named either answer is credible: the likelihood is flat, fall back to the votes
            out[i] = min(n_h / (n_g + n_h), 0.5)
            continue

        if _top_two_grad(lo, hi, annotator_idx, label_idx, reliability, g, h, n_classes, 1.0 - 1e-12) >= 0.0:
            continue  # q = 1
        if _top_two_grad(lo, hi, annotator_idx, label_idx, reliability, g, h, n_classes, 0.5) <= 0.0:
            out[i] = 0.5
            continue
        a = 0.5
        b = 1.0
        for _ in range(60):
            m = 0.5 * (a + b)
            if _top_two_grad(lo, hi, annotator_idx, label_idx, reliability, g, h, n_classes, m) > 0.0:
                a = m
            else:
                b = m
        out[i] = 1.0 - 0.5 * (a + b)
    return out


@njit(cache=True, nogil=True)
def majority_vote_margin(item_ptr, annotator_idx, weight, binary):  # pragma: no cover
    """Worst-case log-odds margin by which majority vote beats any other answer, per item.

    Under the one-coin model an annotation of annotator ``j`` adds ``w_j = log((K-1) p_j / (1 - p_j))`` to
    the log-posterior of the class it names. A plurality of ``c`` votes for ``a`` against ``c_b < c`` votes for
    ``b`` is overturned by the oracle MAP rule when the ``c_b`` voters outweigh the ``c``. The worst case over
    all labellings of an item is the ``c`` weakest annotators in the majority and the ``c_b`` strongest in the
    minority; the margin is the minimum over admissible ``(c, c_b)`` of ``sum(weakest c) - sum(strongest c_b)``.
    Binary tasks must split all ``n`` votes between two classes (``c + c_b = n``); with more classes the
    remaining votes may go elsewhere (``c + c_b <= n``). Vote ties are excluded (``c_b < c``).
    """
    n_items = item_ptr.shape[0] - 1
    out = np.empty(n_items)
    for i in range(n_items):
        lo = item_ptr[i]
        n = item_ptr[i + 1] - lo
        w = np.empty(n)
        for t in range(n):
            w[t] = weight[annotator_idx[lo + t]]
        w.sort()
        # ascending prefix sums (weakest first) and descending prefix sums (strongest first)
        weak = np.zeros(n + 1)
        strong = np.zeros(n + 1)
        for t in range(n):
            weak[t + 1] = weak[t] + w[t]
            strong[t + 1] = strong[t] + w[n - 1 - t]
        best = np.inf
        for c in range(1, n + 1):
            if binary:
                cb = n - c
                if cb >= c:
                    continue
                v = weak[c] - strong[cb]
            else:
                cb_max = min(c - 1, n - c)
                if cb_max < 0:
                    continue
                top_minority = 0.0
                for cb in range(cb_max + 1):
                    if strong[cb] > top_minority:
                        top_minority = strong[cb]
                v = weak[c] - top_minority
            if v < best:
                best = v
        out[i] = best
    return out


@njit(cache=True, nogil=True)
def annotator_class_stats(item_idx, annotator_idx, label_idx, posterior, n_annotators):  # pragma: no cover
    """Per annotator and true class: expected number of items (``mass``) and of correct answers (``correct``).

    ``mass[j, k] = sum over annotations of j of T[i, k]``; ``correct[j, k]`` is the same sum restricted to the
    annotations that say ``k``. ``correct / mass`` is the annotator's estimated accuracy on class ``k``.
    """
    n_classes = posterior.shape[1]
    mass = np.zeros((n_annotators, n_classes))
    correct = np.zeros((n_annotators, n_classes))
    for n in range(item_idx.shape[0]):
        i = item_idx[n]
        j = annotator_idx[n]
        lab = label_idx[n]
        for k in range(n_classes):
            mass[j, k] += posterior[i, k]
        correct[j, lab] += posterior[i, lab]
    return mass, correct


@njit(cache=True, nogil=True)
def leave_one_out_one_coin(item_idx, annotator_idx, label_idx, accuracy, posterior, out):  # pragma: no cover
    """:func:`leave_one_out_posterior` for a one-coin likelihood given per-annotator ``accuracy``.

    ``out[n, k] ∝ T[i, k] / v_k`` with ``v_l = a_j`` on the annotated class and ``(1 - a_j)/(K - 1)`` elsewhere.
    """
    n_classes = posterior.shape[1]
    for n in range(item_idx.shape[0]):
        i = item_idx[n]
        lab = label_idx[n]
        a = min(max(accuracy[annotator_idx[n]], 1e-6), 1.0 - 1e-6)
        wrong = (1.0 - a) / max(n_classes - 1, 1)
        acc = 0.0
        for k in range(n_classes):
            v = posterior[i, k] / (a if k == lab else wrong)
            out[n, k] = v
            acc += v
        if acc > 0.0:
            for k in range(n_classes):
                out[n, k] /= acc
        else:
            for k in range(n_classes):
                out[n, k] = 1.0 / n_classes


@njit(cache=True, nogil=True)
def _digamma_scalar(x):  # pragma: no cover
    """psi(x) for x > 0: the recurrence psi(x) = psi(x + 1) - 1/x up to x >= 10, then the asymptotic series."""
    if x <= 0.0:
        return -np.inf if x == 0.0 else np.nan
    acc = 0.0
    while x < 10.0:
        acc -= 1.0 / x
        x += 1.0
    inv = 1.0 / x
    inv2 = inv * inv
    series = inv2 * (
        1.0 / 12.0 - inv2 * (1.0 / 120.0 - inv2 * (1.0 / 252.0 - inv2 * (1.0 / 240.0 - inv2 * (1.0 / 132.0))))
    )
    return acc + np.log(x) - 0.5 * inv - series


@njit(cache=True, nogil=True)
def digamma(values):  # pragma: no cover
    """Elementwise digamma of a float64 array (any shape)."""
    flat = values.ravel()
    out = np.empty(flat.shape[0])
    for n in range(flat.shape[0]):
        out[n] = _digamma_scalar(flat[n])
    return out.reshape(values.shape)


@njit(cache=True, nogil=True)
def gammaln(values):  # pragma: no cover
    """Elementwise log-gamma of a float64 array (any shape)."""
    flat = values.ravel()
    out = np.empty(flat.shape[0])
    for n in range(flat.shape[0]):
        out[n] = math.lgamma(flat[n])
    return out.reshape(values.shape)
