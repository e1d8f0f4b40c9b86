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
def check_and_resolution(P):
    """:func:`first_bad_probability` plus, in the same pass, the smallest positive ``p`` and the
    smallest positive ``1 - p`` of every class (1.0 if none).  Returns ``(code, row, col,
    minpos, mintop)``; the minima are only complete when ``code == 0``."""
    n, k = P.shape
    minpos = np.ones(k)
    mintop = np.ones(k)
    for i in range(n):
        for j in range(k):
            v = P[i, j]
            if not np.isfinite(v):
                return 1, i, j, minpos, mintop
            if v < 0.0 or v > 1.0:
                return 2, i, j, minpos, mintop
            p = np.float64(v)
            q = 1.0 - p
            if p > 0.0:
                minpos[j] = min(minpos[j], p)
            if q > 0.0:
                mintop[j] = min(mintop[j], q)
    return 0, -1, -1, minpos, mintop


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
    # exp(-z) overflows to inf for very negative z, giving exactly 0: no branch needed
    return 1.0 / (1.0 + np.exp(-z))


@njit(cache=True)
def _platt_newton(xs, ws, ts, max_iter):
    """Weighted logistic regression of targets ``ts`` on ``a * xs + b`` (Newton + backtracking)."""
    m = xs.size
    a = 1.0
    b = 0.0
    f = 0.0
    for t in range(m):
        z = a * xs[t] + b
        f += ws[t] * (_log1pexp(z) - ts[t] * z)
    it = 0
    while it < max_iter:
        it += 1
        ga = 0.0
        gb = 0.0
        haa = 0.0
        hab = 0.0
        hbb = 0.0
        for t in range(m):
            x = xs[t]
            s = _sigmoid(a * x + b)
            r = ws[t] * (s - ts[t])
            w = ws[t] * s * (1.0 - s)
            ga += r * x
            gb += r
            haa += w * x * x
            hab += w * x
            hbb += w
        h11 = haa + 1e-12
        h22 = hbb + 1e-12
        det = h11 * h22 - hab * hab
        if det <= 1e-300:
            da = 0.0
            db = gb / h22
        else:
            da = (h22 * ga - hab * gb) / det
            db = (h11 * gb - hab * ga) / det
        step = 1.0
        improved = False
        fnew = f
        while step >= 1e-10:
            na = a - step * da
            nb = b - step * db
            fnew = 0.0
            for t in range(m):
                z = na * xs[t] + nb
                fnew += ws[t] * (_log1pexp(z) - ts[t] * z)
            if fnew <= f + 1e-12 * max(1.0, abs(f)):
                a = na
                b = nb
                improved = True
                break
            step *= 0.5
        if not improved:
            break
        change = f - fnew
        f = fnew
        if change <= 1e-12 * max(1.0, abs(f)) or (abs(step * da) < 1e-9 and abs(step * db) < 1e-9):
            break
    return a, b, it


@njit(cache=True)
def platt_histogram(Y, P, lo, hi, nbins, stride):
    """Histogram of the clipped logits per class and tag value, over rows ``0, stride, 2 stride, ...``
    (the scan passes ``stride=1``: a subsample by position would make the result depend on the row order).

    This is the one pass over the data that calibration needs: the Platt fit and the thresholds
    of the calibrated probabilities are both computed from it.

    Probabilities are clipped to ``[lo_k, hi_k]`` and mapped to ``x = logit(p)`` (computed in
    float32: only bin indices and bin sums depend on it), which goes to one of ``nbins`` equal
    bins between ``logit(lo_k)`` and ``logit(hi_k)``.  Returns float64 ``(K, 2, nbins)`` counts
    and sums of ``x`` (index 1 = tag given).
    """
    n, k = P.shape
    xlo = np.log(lo / (1.0 - lo))
    xhi = np.log(hi / (1.0 - hi))
    inv_width = nbins / np.maximum(xhi - xlo, 1e-12)
    lo32 = lo.astype(np.float32)
    hi32 = hi.astype(np.float32)
    one32 = np.float32(1.0)
    cnt = np.zeros((k, 2, nbins))
    # sums in fixed point (2^-32): integer additions do not depend on the order of the rows
    sx_fixed = np.zeros((k, 2, nbins), dtype=np.int64)
    scale = 4294967296.0
    for i in range(0, n, stride):
        for j in range(k):
            p = np.float32(P[i, j])
            p = min(max(p, lo32[j]), hi32[j])
            x = np.float64(np.log(p / (one32 - p)))
            bi = int((x - xlo[j]) * inv_width[j])
            bi = min(max(bi, 0), nbins - 1)
            g = np.int64(Y[i, j])
            cnt[j, g, bi] += 1.0
            sx_fixed[j, g, bi] += np.int64(np.round(x * scale))
    return cnt, sx_fixed / scale


@njit(cache=True)
def _platt_intercept(xs, ws, ts, a, b, max_iter):
    """Maximum-likelihood intercept for a fixed slope ``a`` (Newton on one variable)."""
    m = xs.size
    for _ in range(max_iter):
        g = 0.0
        h = 0.0
        for t in range(m):
            s = _sigmoid(a * xs[t] + b)
            g += ws[t] * (s - ts[t])
            h += ws[t] * s * (1.0 - s)
        if h <= 1e-300:
            break
        d = g / h
        b -= d
        if abs(d) < 1e-12:
            break
    return b


@njit(cache=True)
def platt_fit(xs_all, ws_all, ts_all, starts, max_slope, max_iter):
    """Fit ``sigmoid(a * x + b)`` to the targets of every class (Platt scaling).

    Class ``k`` owns the weighted points ``starts[k]:starts[k + 1]`` of ``xs_all`` (logits),
    ``ws_all`` (counts) and ``ts_all`` (targets): the occupied bins of :func:`platt_histogram`
    at their mean logit.  Maximum likelihood by Newton's method with back-tracking, so the cost
    does not grow with ``N``.  A slope above ``max_slope`` is capped and the intercept refit
    for it.  Returns float64 ``(a, b)``, each ``(K,)``.
    """
    k = starts.size - 1
    a = np.ones(k)
    b = np.zeros(k)
    for j in range(k):
        lo = starts[j]
        hi = starts[j + 1]
        if hi <= lo:
            continue
        aj, bj, _ = _platt_newton(xs_all[lo:hi], ws_all[lo:hi], ts_all[lo:hi], max_iter)
        if aj > max_slope:
            aj = max_slope
            bj = _platt_intercept(xs_all[lo:hi], ws_all[lo:hi], ts_all[lo:hi], aj, bj, max_iter)
        a[j] = aj
        b[j] = bj
    return a, b


@njit(cache=True)
def platt_apply(P, a, b, lo, hi):
    """``sigmoid(a_k * logit(clip(p, lo_k, hi_k)) + b_k)``, float64 ``(N, K)``; the clip and the
    logit are computed in float32, as in :func:`platt_histogram`."""
    n, k = P.shape
    lo32 = lo.astype(np.float32)
    hi32 = hi.astype(np.float32)
    one32 = np.float32(1.0)
    out = np.empty((n, k))
    for i in range(n):
        for j in range(k):
            p = np.float32(P[i, j])
            p = min(max(p, lo32[j]), hi32[j])
            x = np.float64(np.log(p / (one32 - p)))
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
    s1 = np.zeros(k)
    s0 = np.zeros(k)
    c1 = np.zeros(k, dtype=np.int64)
    for i in range(n):
        for j in range(k):
            p = P[i, j]
            y = Y[i, j]
            # branch-free: tags are unpredictable, branches on them are slow
            s1[j] += p * y
            s0[j] += (one - p) * (1 - y)
            c1[j] += y
    counts = np.empty((k, 2), dtype=np.int64)
    t = np.empty((k, 2))
    for j in range(k):
        counts[j, 1] = c1[j]
        counts[j, 0] = n - c1[j]
        t[j, 1] = s1[j] / c1[j] if c1[j] > 0 else np.nan
        t[j, 0] = s0[j] / (n - c1[j]) if n - c1[j] > 0 else np.nan
    return t, counts


@njit(cache=True)
def confident_joint(Y, P, cut_present, cut_absent, mid):
    """Confident joint of every one-vs-rest problem plus a per-element code.

    An element of class ``k`` counts as confidently *present* when ``p >= cut_present[k]``
    and confidently *absent* when ``1 - p >= cut_absent[k]`` (``1 - p`` evaluated in P's
    dtype); when both hold it goes to present if ``p >= mid[k]``, else absent.  Elements
    confident in neither side are not counted.  It is *on the wrong side* when its given tag
    is present and ``p < mid[k]``, or absent and ``p > mid[k]``.  On raw probabilities the
    cuts are the thresholds minus their tolerance and ``mid = 0.5`` (``p < 0.5`` is exactly
    ``p < 1 - p`` in floating point); for calibrated probabilities the caller maps the cuts
    back to raw probabilities through the inverse of the (monotone) calibration.

    Returns ``(C, code, wrong_counts)``: ``C[k, given, true]`` int64 counts; ``code`` uint8
    ``(N, K)`` with bit 0 = counted off the diagonal *and* on the wrong side (the
    ``confident_learning`` flag) and bit 1 = on the wrong side; ``wrong_counts[k, g]`` =
    number of wrong-side elements in each given group.
    """
    n, k = P.shape
    one = np.ones(1, dtype=P.dtype)[0]
    C = np.zeros((k, 2, 2), dtype=np.int64)
    code = np.empty((n, k), dtype=np.uint8)
    wrong_counts = np.zeros((k, 2), dtype=np.int64)
    for i in range(n):
        for j in range(k):
            p = P[i, j]
            qa = one - p
            g = np.int64(Y[i, j])
            cp = p >= cut_present[j]
            ca = qa >= cut_absent[j]
            m = mid[j]
            # branch-free: true side 1 = present (between two confident sides, p >= mid wins)
            present = cp & ((not ca) | (p >= m))
            conf = cp | ca
            t = np.int64(present)
            wrong = ((p < m) & (g == 1)) | ((p > m) & (g == 0))
            C[j, g, t] += np.int64(conf)
            wrong_counts[j, g] += np.int64(wrong)
            off = conf & (t != g) & wrong
            code[i, j] = np.uint8(off) | (np.uint8(wrong) << np.uint8(1))
    return C, code, wrong_counts


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
def select_lowest(Y, P, code, quota, per_group, mode, wrong_counts):
    """Flag, for every class (and given group when ``per_group``), the ``quota`` wrong-side
    elements with the lowest key; ties at the cut are broken by row index.

    Only wrong-side elements (bit 1 of ``code``, from :func:`confident_joint`) can be
    selected -- that is where every confident-learning rule looks -- so only they are
    gathered, in row order, into per-bucket buffers, and the cut is found by selection
    (O(size of the bucket)).  ``quota`` has shape ``(K, 2)`` when ``per_group`` else
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
            if not (code[i, j] & 2):
                continue
            g = np.int64(Y[i, j])
            bucket = j * nb + (g if per_group else 0)
            pos = fill[bucket]
            idx[pos] = i
            keys[pos] = _key(P[i, j], g, mode, one, two)
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
            kb = keys[lo : lo + m]
            # the r-th smallest key by selection, then a pass in row order: everything below
            # it, and as many of the elements equal to it as still fit (ties by row index)
            v = np.partition(kb.copy(), r - 1)[r - 1]
            nless = 0
            nequal = 0
            for t in range(m):
                if kb[t] < v:
                    nless += 1
                elif kb[t] == v:
                    nequal += 1
            need = r - nless
            if nequal > need:
                tie[j, b] = 1
            for t in range(m):
                if kb[t] < v:
                    flags[idx[lo + t], j] = 1
                elif kb[t] == v and need > 0:
                    flags[idx[lo + t], j] = 1
                    need -= 1
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
