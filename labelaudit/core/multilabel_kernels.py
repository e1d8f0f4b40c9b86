"""Numba kernels for one-vs-rest confident learning on multi-label data.

Every kernel walks the ``N x K`` arrays once, row by row, and updates the statistics of all
``K`` one-vs-rest problems at the same time (never ``K`` separate passes).

Conventions shared by all kernels
---------------------------------
* ``Y`` is a C-contiguous ``uint8`` array of shape ``(N, K)``: 1 when tag ``k`` is given.
* ``P`` is a C-contiguous float array of shape ``(N, K)`` (``float32`` or ``float64``);
  arithmetic on probabilities happens in the dtype of ``P`` so that comparisons agree bit
  for bit with the same formulas evaluated by NumPy on an array of that dtype.
* For class ``k`` the binary problem has two columns, ``q_present = p`` and
  ``q_absent = 1 - p``.  ``g`` indexes the *given* side: ``g = 1`` tag given (present),
  ``g = 0`` tag not given (absent).  Count arrays are laid out ``[k, given, true]``.
* An element is *on the wrong side* when the model puts strictly more probability on the
  other side than on the given one (``q_given < q_other``).
"""

from __future__ import annotations

import numpy as np
from numba import njit

# --------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------


@njit(cache=True)
def first_bad_probability(P):
    """Return ``(code, row, col)`` of the first invalid entry; code 0 = all fine,
    1 = NaN or infinite, 2 = outside [0, 1]."""
    n, k = P.shape
    for i in range(n):
        for j in range(k):
            v = P[i, j]
            if not np.isfinite(v):
                return 1, i, j
            if v < 0.0 or v > 1.0:
                return 2, i, j
    return 0, -1, -1


@njit(cache=True)
def rows_sum_to_one(P, tol):
    """True when every row of ``P`` sums to 1 within ``tol`` (softmax-looking input)."""
    n, k = P.shape
    for i in range(n):
        s = 0.0
        for j in range(k):
            s += P[i, j]
        if abs(s - 1.0) > tol:
            return False
    return True


@njit(cache=True)
def onehot_from_lists(flat, offsets, n, k):
    """Build the ``(n, k)`` uint8 tag matrix from a CSR-style list of class indices."""
    Y = np.zeros((n, k), dtype=np.uint8)
    for i in range(n):
        for t in range(offsets[i], offsets[i + 1]):
            Y[i, flat[t]] = 1
    return Y


# --------------------------------------------------------------------------------------
# Platt scaling, all classes at once
# --------------------------------------------------------------------------------------


@njit(cache=True)
def _log1pexp(z):
    # log(1 + exp(z)) without overflow
    if z > 0.0:
        return z + np.log1p(np.exp(-z))
    return np.log1p(np.exp(z))


@njit(cache=True)
def _sigmoid(z):
    if z >= 0.0:
        return 1.0 / (1.0 + np.exp(-z))
    e = np.exp(z)
    return e / (1.0 + e)


@njit(cache=True)
def platt_fit(Y, P, eps, max_iter):
    """Fit ``sigmoid(a * logit(p) + b)`` to the given tags of every class by Newton's method.

    The targets are Platt's (1999) smoothed labels ``(n+ + 1) / (n+ + 2)`` for given tags and
    ``1 / (n- + 2)`` for absent ones, which keeps the fit finite when a class is separable.
    Each Newton iteration is one pass over ``N x K`` for gradient and Hessian, plus one pass per
    back-tracking step.  Returns ``(a, b, iterations)``.
    """
    n, k = P.shape
    npos = np.zeros(k)
    for i in range(n):
        for j in range(k):
            npos[j] += Y[i, j]
    tpos = (npos + 1.0) / (npos + 2.0)
    tneg = 1.0 / ((n - npos) + 2.0)
    lo = np.log(eps / (1.0 - eps))
    hi = -lo
    X = np.empty((n, k))
    for i in range(n):
        for j in range(k):
            p = np.float64(P[i, j])
            if p <= eps:
                X[i, j] = lo
            elif p >= 1.0 - eps:
                X[i, j] = hi
            else:
                X[i, j] = np.log(p / (1.0 - p))
    a = np.ones(k)
    b = np.zeros(k)
    f = np.zeros(k)
    for i in range(n):
        for j in range(k):
            z = a[j] * X[i, j] + b[j]
            t = tpos[j] if Y[i, j] else tneg[j]
            f[j] += _log1pexp(z) - t * z
    active = np.ones(k, dtype=np.bool_)
    da = np.zeros(k)
    db = np.zeros(k)
    step = np.ones(k)
    fnew = np.zeros(k)
    it = 0
    while it < max_iter:
        it += 1
        ga = np.zeros(k)
        gb = np.zeros(k)
        haa = np.zeros(k)
        hab = np.zeros(k)
        hbb = np.zeros(k)
        for i in range(n):
            for j in range(k):
                if not active[j]:
                    continue
                x = X[i, j]
                s = _sigmoid(a[j] * x + b[j])
                t = tpos[j] if Y[i, j] else tneg[j]
                r = s - t
                w = s * (1.0 - s)
                ga[j] += r * x
                gb[j] += r
                haa[j] += w * x * x
                hab[j] += w * x
                hbb[j] += w
        for j in range(k):
            if not active[j]:
                continue
            h11 = haa[j] + 1e-12
            h22 = hbb[j] + 1e-12
            det = h11 * h22 - hab[j] * hab[j]
            if det <= 1e-300:
                # degenerate (e.g. constant scores): gradient step on the intercept only
                da[j] = 0.0
                db[j] = gb[j] / h22
            else:
                da[j] = (h22 * ga[j] - hab[j] * gb[j]) / det
                db[j] = (h11 * gb[j] - hab[j] * ga[j]) / det
            step[j] = 1.0
        # back-tracking line search, all classes in the same passes
        pending = active.copy()
        while True:
            any_pending = False
            for j in range(k):
                if pending[j]:
                    any_pending = True
                    fnew[j] = 0.0
            if not any_pending:
                break
            for i in range(n):
                for j in range(k):
                    if not pending[j]:
                        continue
                    z = (a[j] - step[j] * da[j]) * X[i, j] + (b[j] - step[j] * db[j])
                    t = tpos[j] if Y[i, j] else tneg[j]
                    fnew[j] += _log1pexp(z) - t * z
            for j in range(k):
                if not pending[j]:
                    continue
                if fnew[j] <= f[j] + 1e-12 * max(1.0, abs(f[j])) or step[j] < 1e-10:
                    pending[j] = False
                    if fnew[j] > f[j]:
                        # no descent possible any more: stop this class where it is
                        active[j] = False
                        continue
                    a[j] -= step[j] * da[j]
                    b[j] -= step[j] * db[j]
                    if f[j] - fnew[j] <= 1e-10 * max(1.0, abs(f[j])):
                        active[j] = False
                    f[j] = fnew[j]
                else:
                    step[j] *= 0.5
        done = True
        for j in range(k):
            if active[j]:
                done = False
        if done:
            break
    return a, b, it


@njit(cache=True)
def platt_apply(P, a, b, eps):
    """``sigmoid(a_k * logit(clip(p, eps, 1 - eps)) + b_k)`` as float64."""
    n, k = P.shape
    out = np.empty((n, k))
    lo = np.log(eps / (1.0 - eps))
    hi = -lo
    for i in range(n):
        for j in range(k):
            p = np.float64(P[i, j])
            if p <= eps:
                x = lo
            elif p >= 1.0 - eps:
                x = hi
            else:
                x = np.log(p / (1.0 - p))
            out[i, j] = _sigmoid(a[j] * x + b[j])
    return out


# --------------------------------------------------------------------------------------
# confident joint
# --------------------------------------------------------------------------------------


@njit(cache=True)
def class_thresholds(Y, P):
    """Per-class thresholds of the one-vs-rest problems, one pass.

    ``t[k, 1]`` is the mean of ``p`` over examples given tag ``k``; ``t[k, 0]`` the mean of
    ``1 - p`` over examples without it (NaN when the group is empty).  ``counts[k, g]`` is the
    size of each group.  Sums are accumulated in float64 on values computed in P's dtype.
    """
    n, k = P.shape
    one = np.ones(1, dtype=P.dtype)[0]
    sums = np.zeros((k, 2))
    counts = np.zeros((k, 2), dtype=np.int64)
    for i in range(n):
        for j in range(k):
            p = P[i, j]
            if Y[i, j]:
                sums[j, 1] += p
                counts[j, 1] += 1
            else:
                sums[j, 0] += one - p
                counts[j, 0] += 1
    t = np.empty((k, 2))
    for j in range(k):
        for g in range(2):
            t[j, g] = sums[j, g] / counts[j, g] if counts[j, g] > 0 else np.nan
    return t, counts


@njit(cache=True)
def confident_joint(Y, P, cut):
    """Confident joint of every one-vs-rest problem plus the per-element off-diagonal flags.

    ``cut[k, g]`` is the threshold minus its tolerance, already in P's dtype.  An element
    counts as confidently side ``c`` when ``q_c >= cut[k, c]``; when both sides qualify the
    larger probability wins, and a tie goes to *present*.  Elements confident in neither
    side are not counted.

    Returns ``(C, offdiag, wrong_counts)``: ``C[k, given, true]`` int64 counts,
    ``offdiag`` uint8 ``(N, K)`` = counted off the diagonal *and* on the wrong side (the
    ``confident_learning`` flags), ``wrong_counts[k, g]`` = number of wrong-side elements in
    each given group.
    """
    n, k = P.shape
    one = np.ones(1, dtype=P.dtype)[0]
    C = np.zeros((k, 2, 2), dtype=np.int64)
    offdiag = np.zeros((n, k), dtype=np.uint8)
    wrong_counts = np.zeros((k, 2), dtype=np.int64)
    for i in range(n):
        for j in range(k):
            p = P[i, j]
            qa = one - p
            g = 1 if Y[i, j] else 0
            cp = p >= cut[j, 1]
            ca = qa >= cut[j, 0]
            if cp and ca:
                t = 1 if p >= qa else 0
            elif cp:
                t = 1
            elif ca:
                t = 0
            else:
                t = -1
            if g == 1:
                wrong = p < qa
            else:
                wrong = qa < p
            if wrong:
                wrong_counts[j, g] += 1
            if t >= 0:
                C[j, g, t] += 1
                if t != g and wrong:
                    offdiag[i, j] = 1
    return C, offdiag, wrong_counts


# --------------------------------------------------------------------------------------
# ranking keys and selection
# --------------------------------------------------------------------------------------


@njit(cache=True)
def _key(p, g, mode, one, two):
    """Sort key (ascending = more suspicious), computed in the dtype of ``p``.

    mode 0: prune_by_noise_rate, key = -(q_other - q_given) (largest margin first)
    mode 1: prune_by_class and low_self_confidence, key = q_given
    mode 2: low_normalized_margin, key = (q_given - q_other + 1) / 2
    """
    qa = one - p
    if g == 1:
        qg = p
        qo = qa
    else:
        qg = qa
        qo = p
    if mode == 0:
        return -(qo - qg)
    if mode == 1:
        return qg
    return (qg - qo + one) / two


@njit(cache=True)
def select_lowest(Y, P, quota, per_group, mode, wrong_counts):
    """Flag, for every class (and given group when ``per_group``), the ``quota`` wrong-side
    elements with the lowest key; ties at the cut are broken by row index.

    Only wrong-side elements can be selected (that is where every confident-learning rule
    looks), so only they are gathered and sorted: one pass over ``N x K`` scatters them into
    per-bucket buffers, in row order.  ``quota`` has shape ``(K, 2)`` when ``per_group`` else
    ``(K, 1)``.

    Returns ``(flags, tie)``: uint8 ``(N, K)`` flags, and ``tie[k, b]`` = 1 when the key at
    the cut is shared by a selected and an unselected element (callers that must reproduce a
    particular library's tie order re-do those buckets).
    """
    n, k = P.shape
    one = np.ones(1, dtype=P.dtype)[0]
    two = one + one
    nb = 2 if per_group else 1
    sizes = np.zeros(k * nb, dtype=np.int64)
    for j in range(k):
        if per_group:
            sizes[j * 2] = wrong_counts[j, 0]
            sizes[j * 2 + 1] = wrong_counts[j, 1]
        else:
            sizes[j] = wrong_counts[j, 0] + wrong_counts[j, 1]
    offsets = np.zeros(k * nb + 1, dtype=np.int64)
    for t in range(k * nb):
        offsets[t + 1] = offsets[t] + sizes[t]
    total = offsets[k * nb]
    idx = np.empty(total, dtype=np.int64)
    keys = np.empty(total, dtype=P.dtype)
    fill = offsets[:-1].copy()
    for i in range(n):
        for j in range(k):
            p = P[i, j]
            qa = one - p
            g = 1 if Y[i, j] else 0
            wrong = (p < qa) if g == 1 else (qa < p)
            if not wrong:
                continue
            bucket = j * nb + (g if per_group else 0)
            pos = fill[bucket]
            idx[pos] = i
            keys[pos] = _key(p, g, mode, one, two)
            fill[bucket] = pos + 1
    flags = np.zeros((n, k), dtype=np.uint8)
    tie = np.zeros((k, nb), dtype=np.uint8)
    for j in range(k):
        for b in range(nb):
            bucket = j * nb + b
            lo = offsets[bucket]
            m = offsets[bucket + 1] - lo
            r = quota[j, b]
            if r <= 0 or m == 0:
                continue
            if r >= m:
                for t in range(lo, lo + m):
                    flags[idx[t], j] = 1
                continue
            kb = keys[lo:lo + m]
            order = np.argsort(kb, kind="mergesort")  # stable: ties keep row order
            for t in range(r):
                flags[idx[lo + order[t]], j] = 1
            if kb[order[r - 1]] == kb[order[r]]:
                tie[j, b] = 1
    return flags, tie


# --------------------------------------------------------------------------------------
# label quality scores
# --------------------------------------------------------------------------------------


@njit(cache=True)
def class_scores(Y, P, method, clean_entropy):
    """Per-class label quality scores of the binary problems, float64 ``(N, K)``.

    method 0: self-confidence ``q_given``
    method 1: normalized margin ``(q_given - q_other + 1) / 2``
    method 2: confidence-weighted entropy ``log(1 + x) / x`` with ``x = H(q) / q_given`` and
              ``H`` the base-2 entropy of ``(p, 1 - p)``.  With ``clean_entropy`` the limit
              values are used (1 at ``x = 0``, 0 when ``q_given = 0``); otherwise both
              denominators are floored at 1e-6, as cleanlab 2.9 does.
    """
    n, k = P.shape
    one = np.ones(1, dtype=P.dtype)[0]
    two = one + one
    out = np.empty((n, k))
    ln2 = np.log(2.0)
    for i in range(n):
        for j in range(k):
            p = P[i, j]
            qa = one - p
            if Y[i, j]:
                qg = p
                qo = qa
            else:
                qg = qa
                qo = p
            if method == 0:
                out[i, j] = qg
            elif method == 1:
                out[i, j] = (qg - qo + one) / two
            else:
                a = np.float64(p)
                c = np.float64(qa)
                h = 0.0
                if a > 0.0:
                    h -= a * np.log(a)
                if c > 0.0:
                    h -= c * np.log(c)
                h /= ln2
                s = np.float64(qg)
                if clean_entropy:
                    if s <= 0.0:
                        out[i, j] = 0.0
                    else:
                        x = h / s
                        out[i, j] = 1.0 if x < 1e-12 else np.log1p(x) / x
                else:
                    x = h / max(s, 1e-6)
                    out[i, j] = np.log(x + 1.0) / max(x, 1e-6)
    return out


@njit(cache=True)
def aggregate_rows(S, how, alpha, temperature):
    """Aggregate per-class scores into one score per example.

    how 0: exponential moving average over the scores sorted in *descending* order
           (``e = s_1``, ``e = alpha * s_t + (1 - alpha) * e``): the lowest score gets the
           largest weight, alpha.
    how 1: softmin, ``sum_k s_k * softmax((1 - s_k) / temperature)``.
    how 2: min.    how 3: mean.
    """
    n, k = S.shape
    out = np.empty(n)
    buf = np.empty(k)
    for i in range(n):
        if how == 0:
            for j in range(k):
                buf[j] = S[i, j]
            if k <= 32:
                # insertion sort, descending (K is usually small)
                for a in range(1, k):
                    v = buf[a]
                    b = a - 1
                    while b >= 0 and buf[b] < v:
                        buf[b + 1] = buf[b]
                        b -= 1
                    buf[b + 1] = v
            else:
                srt = np.sort(buf)
                for j in range(k):
                    buf[j] = srt[k - 1 - j]
            e = buf[0]
            for t in range(1, k):
                e = alpha * buf[t] + (1.0 - alpha) * e
            out[i] = e
        elif how == 1:
            mx = -np.inf
            for j in range(k):
                z = (1.0 - S[i, j]) / temperature
                buf[j] = z
                if z > mx:
                    mx = z
            num = 0.0
            den = 0.0
            for j in range(k):
                w = np.exp(buf[j] - mx)
                num += w * S[i, j]
                den += w
            out[i] = num / den
        elif how == 2:
            m = S[i, 0]
            for j in range(1, k):
                if S[i, j] < m:
                    m = S[i, j]
            out[i] = m
        else:
            s = 0.0
            for j in range(k):
                s += S[i, j]
            out[i] = s / k
    return out


@njit(cache=True)
def any_rows(F):
    """Row-wise OR of a uint8 ``(N, K)`` matrix."""
    n, k = F.shape
    out = np.zeros(n, dtype=np.bool_)
    for i in range(n):
        for j in range(k):
            if F[i, j]:
                out[i] = True
                break
    return out
