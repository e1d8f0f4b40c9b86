"""The probability that a given label is wrong, under the estimated class-conditional noise model.

Confident learning (Northcutt, Jiang & Chuang, "Confident Learning: Estimating Uncertainty in Dataset
Labels", JAIR 70, 2021, doi:10.1613/jair.1.12125) estimates the noise matrix
``T[i, j] = p(ỹ = i | y* = j)`` from the calibrated confident joint. Under its noise model the given
label depends on the example only through the true class, so by Bayes' rule

    p(y* = j | x, ỹ = i) = T[i, j] p(y* = j | x) / sum_m T[i, m] p(y* = m | x).

A model trained on noisy labels estimates ``p(ỹ | x) = T p(y* | x)``, not ``p(y* | x)``. We recover
``p(y* | x)`` per row by maximum-likelihood deconvolution: the EM iteration for the mixing weights of
a finite mixture with known components (the columns of ``T``), as in Richardson (J. Opt. Soc. Am. 62,
1972, doi:10.1364/JOSA.62.000055) and Lucy (Astron. J. 79, 1974, doi:10.1086/111605), started from the
model's own probabilities. The error probability is then

    error_probability = 1 - T[i, i] q_i / (T q)_i

with ``q`` the deconvolved row and ``i`` the given label. The deconvolution runs over the given label
and the ``SUPPORT - 1`` most probable other classes of the row (every class when K <= ``SUPPORT``),
with ``T`` restricted to them and its columns renormalised: the error probability given that the true
class is one of them. Everything beyond the row itself is one
K x K matrix, so chunked and partitioned engines compute it row by row after their confident-joint
pass. Each row is computed on its own, in float64, with a fixed iteration budget: the result does
not depend on chunking, thread count or row order.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from labelaudit.core.kernels import row_hash
from labelaudit.core.validate import check_compat, prepare_inputs

#: EM iterations per row (at most; a row stops when no entry of q moves by more than ``TOLERANCE``).
MAX_ITERATIONS = 50
TOLERANCE = 1e-7
#: Classes per row the deconvolution runs over: the given label and the most probable others (all of them
#: when K <= SUPPORT). The rest carry little mass and would make each row cost O(K^2) per iteration.
SUPPORT = 10


@numba.njit(cache=True, nogil=True)
def _error_probability_kernel(labels, pred_probs, noise, support, max_iter, tol):  # pragma: no cover - numba
    n, k = pred_probs.shape
    smax = min(support, k)
    out = np.empty(n, dtype=np.float64)
    cls = np.empty(smax, dtype=np.int64)  # the row's classes: the given label and the most probable others
    sub = np.empty((smax, smax), dtype=np.float64)  # noise restricted to them, columns renormalised
    p = np.empty(smax, dtype=np.float64)
    q = np.empty(smax, dtype=np.float64)
    m = np.empty(smax, dtype=np.float64)
    r = np.empty(smax, dtype=np.float64)
    for row in range(n):
        lab = labels[row]
        # cls[0] = label; cls[1:] = the most probable other classes (ties: lower class), by insertion
        cls[0] = lab
        filled = 1
        s = smax
        for j in range(k):
            if j == lab:
                continue
            v = float(pred_probs[row, j])
            if filled < s:
                pos = filled
                filled += 1
            elif v > float(pred_probs[row, cls[s - 1]]):
                pos = s - 1
            else:
                continue
            while pos > 1 and float(pred_probs[row, cls[pos - 1]]) < v:
                cls[pos] = cls[pos - 1]
                pos -= 1
            cls[pos] = j
        s = filled
        total = 0.0
        for a in range(s):
            v = max(float(pred_probs[row, cls[a]]), 0.0)
            p[a] = v
            total += v
        for a in range(s):
            p[a] = p[a] / total if total > 0 else 1.0 / s
            q[a] = p[a]
        for b in range(s):
            col = 0.0
            for a in range(s):
                col += noise[cls[a], cls[b]]
            for a in range(s):
                sub[a, b] = noise[cls[a], cls[b]] / col if col > 0 else (1.0 if a == b else 0.0)
        for _ in range(max_iter):
            for a in range(s):
                acc = 0.0
                for b in range(s):
                    acc += sub[a, b] * q[b]
                m[a] = acc
            for a in range(s):
                r[a] = p[a] / m[a] if m[a] > 0 else 0.0
            total = 0.0
            for b in range(s):
                acc = 0.0
                for a in range(s):
                    acc += sub[a, b] * r[a]
                m[b] = q[b] * acc  # reuse m as the new q
                total += m[b]
            moved = 0.0
            for b in range(s):
                v = m[b] / total if total > 0 else q[b]
                moved = max(moved, abs(v - q[b]))
                q[b] = v
            if moved <= tol:
                break
        mix = 0.0
        for b in range(s):
            mix += sub[0, b] * q[b]
        e = 1.0 - sub[0, 0] * q[0] / mix if mix > 0 else 1.0
        out[row] = min(max(e, 0.0), 1.0)
    return out


@numba.njit(cache=True, nogil=True)
def _row_hashes(labels, pred_probs):  # pragma: no cover - numba
    out = np.empty(labels.shape[0], dtype=np.uint64)
    for i in range(labels.shape[0]):
        out[i] = row_hash(labels[i], pred_probs[i])
    return out


def row_hashes(labels: np.ndarray, pred_probs: np.ndarray) -> np.ndarray:
    """``kernels.row_hash`` of every row: the tie-break of equal error probabilities (content, not position)."""
    return _row_hashes(np.ascontiguousarray(labels, dtype=np.int64), pred_probs)


def error_probability_from_noise(
    labels: np.ndarray, pred_probs: np.ndarray, noise_matrix: np.ndarray
) -> np.ndarray:
    """Per-row error probability from checked inputs and a noise matrix ``T[given, true]``.

    The building block the engines call per chunk: ``labels`` int64[N], ``pred_probs`` float32/64
    C-contiguous [N, K], ``noise_matrix`` float64[K, K] with columns summing to 1.
    """
    noise = np.ascontiguousarray(noise_matrix, dtype=np.float64)
    return _error_probability_kernel(
        np.ascontiguousarray(labels, dtype=np.int64),
        pred_probs,
        noise,
        SUPPORT,
        MAX_ITERATIONS,
        TOLERANCE,
    )


def error_probability(
    labels: Any, pred_probs: Any, *, compat: str = "paper", noise_matrix: Any = None
) -> np.ndarray:
    """Probability that each given label is wrong, under the noise model confident learning estimates.

    Parameters
    ----------
    labels : array_like of int, shape (N,)
        Given labels.
    pred_probs : array_like of float, shape (N, K)
        Out-of-fold predicted probabilities.
    compat : {"paper", "cleanlab"}
        Which estimate of the noise matrix to use (see :func:`estimate_noise_matrices`).
    noise_matrix : array_like, shape (K, K), optional
        ``p(ỹ = i | y* = j)`` stored as ``[i, j]``; estimated from the data when omitted.

    Returns
    -------
    ndarray of float64, shape (N,)
        In [0, 1]; above 1/2 the label is more likely wrong than right.
    """
    from labelaudit.core.confident import estimate_noise_matrices

    check_compat(compat)
    if noise_matrix is None:
        labels, pred_probs = prepare_inputs(labels, pred_probs)
        noise_matrix = estimate_noise_matrices(labels, pred_probs, compat=compat).noise_matrix
    else:
        from labelaudit.core.validate import check_inputs
        from labelaudit.errors import InputError

        labels, pred_probs = check_inputs(labels, pred_probs)
        noise_matrix = np.asarray(noise_matrix, dtype=np.float64)
        k = pred_probs.shape[1]
        if noise_matrix.shape != (k, k):
            raise InputError(f"noise_matrix must have shape ({k}, {k}); got {noise_matrix.shape}")
        if not np.all(np.isfinite(noise_matrix)) or (noise_matrix < 0).any():
            raise InputError("noise_matrix must hold finite probabilities >= 0")
    return error_probability_from_noise(labels, pred_probs, noise_matrix)
