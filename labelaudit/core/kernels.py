"""Numba kernels for confident learning (Northcutt, Jiang & Chuang, JAIR 2021).

Every kernel reads the N x K probability matrix at most once, row by row, in the dtype it was given
(float32 or float64): nothing here copies or up-casts the full matrix. Per-row outputs are 1-D
(N bytes to 8N bytes); everything else is O(K^2) or O(number of selected examples).

All kernels are serial (no ``prange``): results never depend on the numba thread count, ties are
broken by row index, and the machine this runs on is usually shared. They release the GIL
(``nogil=True``) so that callers may run independent work in threads.
"""

from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic


@intrinsic
def _prefetch(typingctx, arr, row, col):
    """Hint the CPU to fetch ``arr[row, col]`` into cache (``llvm.prefetch``; no effect on results)."""
    sig = types.void(arr, row, col)

    def codegen(context, builder, signature, args):
        aryty = signature.args[0]
        ary = context.make_array(aryty)(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, aryty, ary, [args[1], args[2]])
        i8p = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
        fn = builder.module.declare_intrinsic("llvm.prefetch", [i8p], fnty)
        # read, high temporal locality, data cache
        builder.call(
            fn, [builder.bitcast(ptr, i8p), ir.Constant(i32, 0), ir.Constant(i32, 3), ir.Constant(i32, 1)]
        )
        return context.get_dummy_value()

    return sig, codegen


#: PBNR re-reads scattered rows; this many rows ahead are prefetched.
PREFETCH_AHEAD = 8

# Codes for the confident-joint guess rule.
GUESS_PAPER = 0  # argmax among the classes at or above their threshold (the paper, Eq. 1)
GUESS_CLEANLAB = 1  # one confident class -> it; several -> argmax over all classes (cleanlab 2.x)

# Flags for kernels that only see validated (finite) input: lets max-reductions vectorise without
# allowing any reassociation of arithmetic.
_FINITE = {"nnan", "ninf", "nsz"}

# Codes for the score kernel.
SCORE_SELF_CONFIDENCE = 0
SCORE_NORMALIZED_MARGIN = 1
SCORE_CONFIDENCE_WEIGHTED_ENTROPY = 2


@njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})
def scan_probabilities(pred_probs, tol, hi):
    """One pass of input checks over ``pred_probs``.

    Returns ``(first_nonfinite_row, first_negative_row, first_above_one_row, n_bad_sum_rows,
    first_bad_sum_row, first_bad_sum, first_zero_sum_row)``; rows are -1 when there is none.
    A value above one means ``> hi``; a bad row sum means ``|sum - 1| > tol``. The row sum is
    accumulated in float64 (reassociated so that it vectorises; it is only compared with ``tol``).
    """
    n, k = pred_probs.shape
    first_nonfinite = -1
    first_negative = -1
    first_above = -1
    n_bad = 0
    first_bad = -1
    first_bad_sum = 1.0
    first_zero = -1
    for i in range(n):
        s = 0.0
        out = 0
        for j in range(k):
            x = np.float64(pred_probs[i, j])
            s += x
            out += (x < 0.0) | (x > hi)
        if not np.isfinite(s):
            if first_nonfinite < 0:
                first_nonfinite = i
            continue
        if out > 0:
            for j in range(k):
                x = np.float64(pred_probs[i, j])
                if x < 0.0 and first_negative < 0:
                    first_negative = i
                if x > hi and first_above < 0:
                    first_above = i
        if abs(s - 1.0) > tol:
            n_bad += 1
            if first_bad < 0:
                first_bad = i
                first_bad_sum = s
            if s == 0.0 and first_zero < 0:
                first_zero = i
    return first_nonfinite, first_negative, first_above, n_bad, first_bad, first_bad_sum, first_zero


@njit(cache=True, nogil=True)
def normalize_rows(pred_probs):
    """A new array (same dtype) whose rows are ``pred_probs`` rows divided by their sums."""
    n, k = pred_probs.shape
    out = np.empty_like(pred_probs)
    for i in range(n):
        s = 0.0
        for j in range(k):
            s += np.float64(pred_probs[i, j])
        for j in range(k):
            out[i, j] = pred_probs[i, j] / s
    return out


@njit(cache=True, nogil=True)
def min_max(values):
    """(min, max) of a non-empty 1-D array in one pass."""
    lo = values[0]
    hi = values[0]
    for i in range(1, values.shape[0]):
        lo = min(lo, values[i])
        hi = max(hi, values[i])
    return lo, hi


@njit(cache=True, nogil=True)
def label_counts(labels, num_classes):
    """``bincount(labels, minlength=num_classes)`` as int64."""
    counts = np.zeros(num_classes, dtype=np.int64)
    for i in range(labels.shape[0]):
        counts[labels[i]] += 1
    return counts


@njit(cache=True, nogil=True)
def self_confidence_sums(labels, pred_probs):
    """Per-class sum (float64) and count of ``pred_probs[i, labels[i]]``.

    The sum is accumulated in fixed point (:func:`add_fixed`), so it does not depend on the order of the rows
    (nor on how they are split into chunks): the thresholds, and all that follows from them, are the same
    for a file and its shuffled copy.
    """
    k = pred_probs.shape[1]
    hi = np.zeros(k, dtype=np.int64)
    lo = np.zeros(k, dtype=np.int64)
    counts = np.zeros(k, dtype=np.int64)
    n = labels.shape[0]
    for i in range(n):
        if i + 4 * PREFETCH_AHEAD < n:
            _prefetch(pred_probs, i + 4 * PREFETCH_AHEAD, labels[i + 4 * PREFETCH_AHEAD])
        c = labels[i]
        add_fixed(hi, lo, c, np.float64(pred_probs[i, c]))
        counts[c] += 1
    return fixed_to_float(hi, lo), counts


_TWO32 = 4294967296.0


@njit(cache=True, nogil=True, inline="always")
def add_fixed(hi, lo, c, x):
    """Add ``x`` (a probability, 0 <= x < 2^31) to the fixed-point sum ``hi[c] + lo[c] 2^-32`` (units of
    2^-32): integer additions are associative, so the total does not depend on the order of the terms.
    Bits of ``x`` below 2^-64 are dropped (the same bits for every order)."""
    y = x * _TWO32
    a = np.floor(y)
    hi[c] += np.int64(a)
    lo[c] += np.int64(np.floor((y - a) * _TWO32))


@njit(cache=True, nogil=True)
def fixed_to_float(hi, lo):
    """The float64 values of fixed-point sums kept by :func:`add_fixed`."""
    out = np.empty(hi.shape[0], dtype=np.float64)
    for c in range(hi.shape[0]):
        carry = lo[c] >> np.int64(32)
        whole = hi[c] + carry
        part = lo[c] - (carry << np.int64(32))
        out[c] = (np.float64(whole) + np.float64(part) / _TWO32) / _TWO32
    return out


@njit(cache=True, nogil=True)
def self_confidence_grouped(labels, pred_probs, offsets):
    """``pred_probs[i, labels[i]]`` (input dtype) grouped by class, row order kept within a class.

    ``offsets`` (K + 1) are the cumulative class counts. The result is 1-D of length N.
    """
    n = labels.shape[0]
    out = np.empty(n, dtype=pred_probs.dtype)
    pos = offsets[:-1].copy()
    for i in range(n):
        c = labels[i]
        out[pos[c]] = pred_probs[i, c]
        pos[c] += 1
    return out


@njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})
def _row_sum(pred_probs, i):
    """float64 sum of one row (reassociated so that it vectorises; only compared with a tolerance)."""
    s = 0.0
    for j in range(pred_probs.shape[1]):
        s += np.float64(pred_probs[i, j])
    return s


@njit(cache=True, nogil=True)
def _within_eps(label_prob, eps, top_prob):
    """``label_prob + eps >= top_prob`` in the input dtype (compiled without fast-math flags)."""
    return label_prob + eps >= top_prob


@njit(cache=True, nogil=True, fastmath={"reassoc"})
def _confident_rows(
    labels,
    pred_probs,
    bits,
    tbits,
    rule,
    eps,
    sign_off,
    exponent,
    hi_bits,
    tol,
    lo,
    hi,
    guess,
    label_is_top,
    top,
    cand,
    cand_margin,
    checks,
    bad_sum,
):
    """Rows ``lo:hi`` of ``confident_pass``; candidates are written from position ``lo`` on.

    ``checks`` (6) and ``bad_sum`` (1) are this chunk's own. Returns the chunk's candidate count.
    """
    k = pred_probs.shape[1]
    n_cand = 0
    minus_one = sign_off - sign_off - 1
    zero = sign_off - sign_off
    for i in range(lo, hi):
        c = labels[i]
        # one vectorised integer sweep over the raw bits (for non-negative floats they order like
        # the values; a negative float has a negative bit pattern): row maximum, maximum over the
        # other classes, largest value reaching its threshold, minimum (sign check), and the row
        # sum (reassociated: only compared with a tolerance)
        other = minus_one
        conf_best = minus_one
        low = sign_off
        s = eps - eps  # in the input dtype: float32 rounding is far below the tolerance
        for j in range(k):
            raw = bits[i, j]
            other = max(other, raw if j != c else minus_one)
            conf_best = max(conf_best, raw if raw >= tbits[j] else minus_one)
            low = min(low, raw)
            s += pred_probs[i, j]
        best = max(other, bits[i, c])
        if best >= exponent:  # some value is NaN or +inf
            if checks[0] < 0:
                checks[0] = i
            guess[i] = -1
            label_is_top[i] = False
            top[i] = c
            continue
        if low < zero:  # a sign bit is set: -inf/NaN with the sign, a negative value, or -0.0
            bad = False
            for j in range(k):
                x = pred_probs[i, j]
                if x != x or x == -np.inf:
                    bad = True
                    break
            if bad:
                if checks[0] < 0:
                    checks[0] = i
                guess[i] = -1
                label_is_top[i] = False
                top[i] = c
                continue
            if checks[1] < 0:
                for j in range(k):
                    if pred_probs[i, j] < 0:
                        checks[1] = i
                        break
        if best > hi_bits and checks[2] < 0:
            checks[2] = i
        if abs(np.float64(s) - 1.0) > tol:
            checks[3] += 1
            if checks[4] < 0:
                checks[4] = i
                bad_sum[0] = _row_sum(pred_probs, i)
            if s == 0.0 and checks[5] < 0:
                checks[5] = i
        bc = bits[i, c]
        need_guess = conf_best >= zero
        t = np.int32(k)
        g = np.int32(k)
        if bc == best and other < bc:
            t = np.int32(c)  # the label alone holds the maximum
            if need_guess and conf_best == bc:
                g = np.int32(c)  # ... and it is the largest confident value
        if t == k:
            for j in range(k):
                if bits[i, j] == best:
                    t = np.int32(j)  # the first class holding the maximum
                    break
        if need_guess and g == k:
            if conf_best == best and bits[i, t] >= tbits[t]:
                g = t  # classes before t are below the maximum, so t is the first confident one
            else:
                for j in range(k):
                    b = bits[i, j]
                    if b == conf_best and b >= tbits[j]:
                        g = np.int32(j)
                        break
        if bc != best:
            top[i] = t
            label_is_top[i] = _within_eps(pred_probs[i, c], eps, pred_probs[i, t])
            cand[lo + n_cand] = i
            cand_margin[lo + n_cand] = np.float64(pred_probs[i, t]) - np.float64(pred_probs[i, c])
            n_cand += 1
        else:
            top[i] = c
            label_is_top[i] = True
        if not need_guess:
            guess[i] = -1
            continue
        if rule == GUESS_CLEANLAB:
            n_conf = 0
            for j in range(k):
                n_conf += bits[i, j] >= tbits[j]
            if n_conf > 1:
                g = t  # the first class holding the row maximum
        guess[i] = g
    return n_cand


@njit(cache=True, nogil=True)
def confident_pass(labels, pred_probs, bits, tbits, rule, eps, sign_off, exponent, hi_bits, tol):
    """The confident-joint pass (paper Eq. 1) fused with the input checks: one read of the matrix.

    Works on the IEEE bit patterns (``bits`` is an int32/int64 view of ``pred_probs``): the bits of
    non-negative floats order exactly like their values and those of negative floats are negative
    integers, so the row maximum, the largest probability reaching its threshold (``tbits``: the
    thresholds' bits, already holding any epsilon, clamped at 0) and the checks for NaN/inf
    (maximum at or above ``exponent``; a negative minimum is looked at in detail), negative values
    and values above ``hi_bits`` are integer operations, which vectorise. (``sign_off`` is the
    largest positive integer of that width.)
    The guessed class follows ``rule`` (``GUESS_PAPER`` / ``GUESS_CLEANLAB``); ties go to the
    lowest class index. ``eps`` has the input dtype.

    Rows whose given label is not their top class (the only ones with a positive margin, needed by
    PBNR) are listed in ``cand`` (their row indices, ``n_cand`` of them, in row order).

    The rows are processed in a fixed number of chunks (a function of N only) whose outputs are
    merged in row order. The chunks are independent (they could run in parallel with ``prange``
    and give the same result); they run serially because a second thread was measured slower on
    the shared, memory-bound 2-core machine.

    Returns ``(counts[K, K] int64, guess int32[N] (-1: no confident class), label_is_top bool[N],
    top int32[N], checks int64[6], first_bad_sum float, cand int64[N], cand_margin float64[N],
    n_cand)`` where ``cand_margin`` is each listed row's margin to its top class (exact).
    ``label_is_top`` means
    ``p[label] + eps >= max p`` in the input dtype; ``top`` is the given label when it holds the row
    maximum, else the first class that does. ``checks`` = first non-finite row, first negative
    row, first row with a value above ``hi``, number of rows with ``|sum - 1| > tol``, the first
    such row, the first row summing to 0 (-1 = none); rows with NaN/inf are skipped otherwise.
    """
    n, k = pred_probs.shape
    guess = np.empty(n, dtype=np.int32)
    label_is_top = np.empty(n, dtype=np.bool_)
    top = np.empty(n, dtype=np.int32)
    cand = np.empty(n, dtype=np.int64)
    cand_margin = np.empty(n, dtype=np.float64)
    n_chunks = max(1, min(256, n // 8192))
    chunk_checks = np.full((n_chunks, 6), -1, dtype=np.int64)
    chunk_sums = np.ones((n_chunks, 1), dtype=np.float64)
    chunk_cand = np.zeros(n_chunks, dtype=np.int64)
    for ch in range(n_chunks):
        lo = ch * n // n_chunks
        hi = (ch + 1) * n // n_chunks
        chunk_checks[ch, 3] = 0
        chunk_cand[ch] = _confident_rows(
            labels,
            pred_probs,
            bits,
            tbits,
            rule,
            eps,
            sign_off,
            exponent,
            hi_bits,
            tol,
            lo,
            hi,
            guess,
            label_is_top,
            top,
            cand,
            cand_margin,
            chunk_checks[ch],
            chunk_sums[ch],
        )
    # merge in row order
    checks = np.full(6, -1, dtype=np.int64)
    checks[3] = 0
    first_bad_sum = 1.0
    n_cand = 0
    for ch in range(n_chunks):
        for f in (0, 1, 2, 4, 5):
            if checks[f] < 0 and chunk_checks[ch, f] >= 0:
                checks[f] = chunk_checks[ch, f]
                if f == 4:
                    first_bad_sum = chunk_sums[ch, 0]
        checks[3] += chunk_checks[ch, 3]
        lo = ch * n // n_chunks
        for q in range(chunk_cand[ch]):  # compact (n_cand <= lo: a forward copy is safe)
            cand[n_cand] = cand[lo + q]
            cand_margin[n_cand] = cand_margin[lo + q]
            n_cand += 1
    counts = np.zeros((k, k), dtype=np.int64)
    for i in range(n):
        if guess[i] >= 0:
            counts[labels[i], guess[i]] += 1
    return counts, guess, label_is_top, top, checks, first_bad_sum, cand, cand_margin, n_cand


@njit(cache=True, nogil=True)
def argmax_rows(pred_probs):
    """Row-wise argmax (int64), ties to the lowest index."""
    n, k = pred_probs.shape
    out = np.empty(n, dtype=np.int64)
    for i in range(n):
        best = pred_probs[i, 0]
        bj = 0
        for j in range(1, k):
            if pred_probs[i, j] > best:
                best = pred_probs[i, j]
                bj = j
        out[i] = bj
    return out


# ----------------------------------------------------------------------------------------------
# Bounded heaps: keep the `cap` best (key, hash, row) entries of a cell, worst at the root.
# "Better" = larger key; on equal keys, the lower hash of the row's content (its label and probabilities),
# so that which of two tied rows is kept does not depend on where they are in the file; rows with the same
# content are interchangeable, and only they fall back to the lower row index.


@njit(cache=True, nogil=True, inline="always")
def _mix(h, v):
    h ^= v
    h *= np.uint64(0x100000001B3)
    return h ^ (h >> np.uint64(29))


@njit(cache=True, nogil=True)
def row_hash(label, row):
    """A 64-bit hash of a row's content: its label and the exact value of each probability."""
    h = _mix(np.uint64(0xCBF29CE484222325), np.uint64(label))
    for j in range(row.shape[0]):
        mantissa, exponent = math.frexp(np.float64(row[j]))
        h = _mix(h, np.uint64(np.int64(mantissa * 9007199254740992.0)))  # exact: 53 bits
        h = _mix(h, np.uint64(exponent + 4096))
    return h


@njit(cache=True, nogil=True, inline="always")
def _worse(ka, ha, ia, kb, hb, ib):
    """True when (ka, ha, ia) ranks strictly below (kb, hb, ib)."""
    if ka != kb:
        return ka < kb
    if ha != hb:
        return ha > hb
    return ia > ib


@njit(cache=True, nogil=True, inline="always")
def _sift_down(keys, hs, idx, base, size, pos):
    while True:
        left = 2 * pos + 1
        if left >= size:
            return
        worst = left
        right = left + 1
        if right < size and _worse(
            keys[base + right],
            hs[base + right],
            idx[base + right],
            keys[base + left],
            hs[base + left],
            idx[base + left],
        ):
            worst = right
        if _worse(
            keys[base + worst],
            hs[base + worst],
            idx[base + worst],
            keys[base + pos],
            hs[base + pos],
            idx[base + pos],
        ):
            _swap(keys, hs, idx, base + pos, base + worst)
            pos = worst
        else:
            return


@njit(cache=True, nogil=True, inline="always")
def _swap(keys, hs, idx, a, b):
    kt, ht, it = keys[a], hs[a], idx[a]
    keys[a], hs[a], idx[a] = keys[b], hs[b], idx[b]
    keys[b], hs[b], idx[b] = kt, ht, it


@njit(cache=True, nogil=True, inline="always")
def _offer(keys, hs, idx, sizes, caps, offsets, cell, key, h, row):
    """Offer (key, hash, row) to a cell's heap; returns the key now at the root (worst kept) or -inf."""
    base = offsets[cell]
    cap = caps[cell]
    size = sizes[cell]
    if size < cap:
        pos = size
        keys[base + pos] = key
        hs[base + pos] = h
        idx[base + pos] = row
        sizes[cell] = size + 1
        while pos > 0:
            parent = (pos - 1) // 2
            if _worse(
                keys[base + pos],
                hs[base + pos],
                idx[base + pos],
                keys[base + parent],
                hs[base + parent],
                idx[base + parent],
            ):
                _swap(keys, hs, idx, base + pos, base + parent)
                pos = parent
            else:
                break
        if size + 1 < cap:
            return -np.inf
        return keys[base]
    if _worse(keys[base], hs[base], idx[base], key, h, row):
        keys[base] = key
        hs[base] = h
        idx[base] = row
        _sift_down(keys, hs, idx, base, size, 0)
    return keys[base]


@njit(cache=True, nogil=True, inline="always")
def _offer_row(keys, hs, idx, sizes, caps, offsets, cell, key, label, values, row):
    """:func:`_offer` of a row of the matrix; its hash is computed only when it may enter the heap."""
    if caps[cell] == 0:
        return -np.inf
    base = offsets[cell]
    if sizes[cell] == caps[cell] and key < keys[base]:
        return keys[base]
    return _offer(keys, hs, idx, sizes, caps, offsets, cell, key, row_hash(label, values), row)


@njit(cache=True, nogil=True)
def _heap_storage(caps):
    kk = caps.shape[0]
    offsets = np.zeros(kk + 1, dtype=np.int64)
    for cell in range(kk):
        offsets[cell + 1] = offsets[cell] + caps[cell]
    keys = np.empty(offsets[kk], dtype=np.float64)
    hs = np.empty(offsets[kk], dtype=np.uint64)
    idx = np.empty(offsets[kk], dtype=np.int64)
    return offsets, keys, hs, idx, np.zeros(kk, dtype=np.int64)


@njit(cache=True, nogil=True)
def _heap_mask(n, offsets, idx, sizes):
    mask = np.zeros(n, dtype=np.bool_)
    for cell in range(sizes.shape[0]):
        base = offsets[cell]
        for t in range(sizes[cell]):
            mask[idx[base + t]] = True
    return mask


@njit(cache=True, nogil=True, fastmath=_FINITE)
def _positive_margin_phase(labels, pred_probs, caps, top, cand, cand_margin, n_cand):
    """Bounded heaps of the largest *positive* margins per cell (``caps`` flat, ``given * K + j``).

    Only the rows listed in ``cand`` (given label not the top class) have a positive margin.
    Seeding: each is first
    offered to the cell of its top class, its largest margin; the heaps then hold good candidates
    and their roots become high entry gates, so in the sweep (every candidate, all K margins,
    branch-free compare against the gates) few rows touch a heap. Heaps compare (margin, content hash,
    row) in full: equal margins go to the same rows whatever the visiting order or the row order.
    Returns ``(mask, sizes)``.
    """
    n, k = pred_probs.shape
    offsets, keys, hs, idx, sizes = _heap_storage(caps)
    tiny = 5e-324  # m >= tiny  <=>  m > 0
    for q in range(n_cand):
        i = cand[q]
        cell = labels[i] * k + top[i]
        if caps[cell] > 0:
            _offer_row(keys, hs, idx, sizes, caps, offsets, cell, cand_margin[q], labels[i], pred_probs[i], i)
    gate = np.full(k * k, np.inf)
    # the gates rounded to the input dtype: rounding is monotone, so an exact margin m >= gate
    # always has fl(p_j - p_c) >= fl(gate); the cheap input-dtype test never misses a candidate
    gate_n = np.full(k * k, np.inf, dtype=pred_probs.dtype)
    for cell in range(k * k):
        if caps[cell] > 0:
            gate[cell] = max(keys[offsets[cell]], tiny) if sizes[cell] == caps[cell] else tiny
            gate_n[cell] = gate[cell]
    step = max(1, 64 // pred_probs.itemsize)  # one prefetch per 64-byte cache line
    for q in range(n_cand):
        if q + PREFETCH_AHEAD < n_cand:
            ahead = cand[q + PREFETCH_AHEAD]
            for col in range(0, k, step):
                _prefetch(pred_probs, ahead, col)
        i = cand[q]
        row = pred_probs[i]
        c = labels[i]
        t = top[i]
        pc_n = row[c]
        base = c * k
        # vectorised count of the margins that may reach their gate, leaving out the top class
        cnt = 0
        for j in range(k):
            cnt += (row[j] - pc_n) >= gate_n[base + j]
        cnt -= (row[t] - pc_n) >= gate_n[base + t]
        if cnt == 0:
            continue
        pc = np.float64(pc_n)
        for j in range(k):
            m = np.float64(row[j]) - pc
            if j == t or m < gate[base + j]:
                continue
            cell = base + j
            root = _offer_row(keys, hs, idx, sizes, caps, offsets, cell, m, c, pred_probs[i], i)
            if sizes[cell] == caps[cell]:
                gate[cell] = max(root, tiny)
                gate_n[cell] = gate[cell]
    return _heap_mask(n, offsets, idx, sizes), sizes


@njit(cache=True, nogil=True, fastmath=_FINITE)
def _nonpositive_margin_phase(labels, pred_probs, caps):
    """Bounded heaps of the largest margins ``<= 0`` per cell, rows in increasing order.

    Equal margins go to the row whose content hashes lower (see :func:`row_hash`), wherever it is.
    """
    n, k = pred_probs.shape
    offsets, keys, hs, idx, sizes = _heap_storage(caps)
    gate = np.full(k * k, np.inf)
    has_target = np.zeros(k, dtype=np.bool_)
    for cell in range(k * k):
        if caps[cell] > 0:
            gate[cell] = -np.inf
            has_target[cell // k] = True
    for i in range(n):
        c = labels[i]
        if not has_target[c]:
            continue
        pc = np.float64(pred_probs[i, c])
        base = c * k
        for j in range(k):
            m = np.float64(pred_probs[i, j]) - pc
            cell = base + j
            if m >= gate[cell] and m <= 0.0:
                root = _offer_row(keys, hs, idx, sizes, caps, offsets, cell, m, c, pred_probs[i], i)
                if sizes[cell] == caps[cell]:
                    gate[cell] = root
    return _heap_mask(n, offsets, idx, sizes)


@njit(cache=True, nogil=True)
def select_by_margin(labels, pred_probs, num_to_select, top, cand, cand_margin, n_cand):
    """Prune-by-noise-rate selection (paper Sec. 3.2, "PBNR").

    For every off-diagonal cell ``(k, j)`` with ``num_to_select[k, j] > 0``, mark the examples
    labelled ``k`` with the ``num_to_select[k, j]`` largest margins ``p_j - p_k`` (exact, in
    float64); of equal margins, the rows whose content hashes lower (never their position). ``top``, ``cand``, ``cand_margin`` and
    ``n_cand`` come from ``confident_pass``.
    Memory is O(sum(num_to_select)), never O(N x K).

    Phase 1 (``_positive_margin_phase``) fills the cells from the positive margins; a cell that
    found fewer than it needs takes the rest from the margins ``<= 0`` in phase 2.
    Returns the union of the selections as a bool[N] mask.
    """
    k = pred_probs.shape[1]
    caps = np.zeros(k * k, dtype=np.int64)
    for a in range(k):
        for b in range(k):
            if a != b and num_to_select[a, b] > 0:
                caps[a * k + b] = num_to_select[a, b]
    mask, sizes = _positive_margin_phase(labels, pred_probs, caps, top, cand, cand_margin, n_cand)
    short = np.maximum(caps - sizes, 0)
    if short.max() > 0:
        mask |= _nonpositive_margin_phase(labels, pred_probs, short)
    return mask


@njit(cache=True, nogil=True)
def select_lowest_self_confidence(labels, pred_probs, num_to_select, cand, n_cand):
    """Prune-by-class selection (paper Sec. 3.2, "PBC").

    For each class ``k`` mark the ``num_to_select[k]`` examples labelled ``k`` with the smallest
    ``pred_probs[i, k]``; of equal values, the rows whose content hashes lower. Bounded heap per class, keyed
    (-p, content hash, row) in full so neither the visiting order nor the row order matters: the rows whose label is not their top
    class (``cand`` from ``confident_pass``, where the low self-confidences are) go first, which
    makes the heap roots high entry gates for the one gather over all rows. Returns bool[N].
    """
    n, k = pred_probs.shape
    caps = np.zeros(k, dtype=np.int64)
    for a in range(k):
        caps[a] = max(num_to_select[a], 0)
    offsets, keys, hs, idx, sizes = _heap_storage(caps)
    seen = np.zeros(n, dtype=np.bool_)
    for q in range(n_cand):
        if q + PREFETCH_AHEAD < n_cand:
            ahead = cand[q + PREFETCH_AHEAD]
            _prefetch(pred_probs, ahead, labels[ahead])
        i = cand[q]
        c = labels[i]
        seen[i] = True
        if caps[c] > 0:
            _offer_row(
                keys, hs, idx, sizes, caps, offsets, c, -np.float64(pred_probs[i, c]), c, pred_probs[i], i
            )
    gate = np.full(k, -np.inf)  # a key below the root of a full heap cannot enter
    for c in range(k):
        if caps[c] > 0 and sizes[c] == caps[c]:
            gate[c] = keys[offsets[c]]
    for i in range(n):
        if i + 4 * PREFETCH_AHEAD < n:
            _prefetch(pred_probs, i + 4 * PREFETCH_AHEAD, labels[i + 4 * PREFETCH_AHEAD])
        c = labels[i]
        if caps[c] == 0 or seen[i]:
            continue
        key = -np.float64(pred_probs[i, c])
        if key < gate[c]:
            continue
        root = _offer_row(keys, hs, idx, sizes, caps, offsets, c, key, c, pred_probs[i], i)
        if sizes[c] == caps[c]:
            gate[c] = root
    return _heap_mask(n, offsets, idx, sizes)


@njit(cache=True, nogil=True)
def quality_scores(labels, pred_probs, method, adjust, thresholds, shift, compat):
    """Label-quality scores in float64, one pass (paper Sec. 2; Kuan & Mueller 2022 for CWE).

    ``adjust``: use ``q_j = (p_j - thresholds[j] + shift) / sum_j(...)`` instead of ``p`` (class-
    imbalance adjustment of Northcutt et al.). ``compat``: reproduce cleanlab 2.9's edge cases for the
    confidence-weighted entropy (log(1 + x) / x with 0 when x == 0, instead of log1p and the limit 1).
    """
    n, k = pred_probs.shape
    out = np.empty(n, dtype=np.float64)
    log_k = np.log(k)
    for i in range(n):
        c = labels[i]
        if adjust:
            s = 0.0
            for j in range(k):
                s += np.float64(pred_probs[i, j]) - thresholds[j] + shift
        else:
            s = 1.0
        if method == SCORE_SELF_CONFIDENCE:
            if adjust:
                out[i] = (np.float64(pred_probs[i, c]) - thresholds[c] + shift) / s
            else:
                out[i] = np.float64(pred_probs[i, c])
        elif method == SCORE_NORMALIZED_MARGIN:
            other = -np.inf
            for j in range(k):
                if j != c:
                    if adjust:
                        v = (np.float64(pred_probs[i, j]) - thresholds[j] + shift) / s
                    else:
                        v = np.float64(pred_probs[i, j])
                    if v > other:
                        other = v
            if adjust:
                sc = (np.float64(pred_probs[i, c]) - thresholds[c] + shift) / s
            else:
                sc = np.float64(pred_probs[i, c])
            out[i] = (sc - other + 1.0) / 2.0
        else:
            h = 0.0
            for j in range(k):
                x = np.float64(pred_probs[i, j])
                if x > 0.0:
                    h -= x * np.log(x)
            sc = max(np.float64(pred_probs[i, c]), 1e-6)
            x = (h / log_k) / sc
            if compat:
                out[i] = np.log(x + 1.0) / max(x, 1e-6)
            else:
                out[i] = np.log1p(x) / x if x != 0.0 else 1.0
    return out


@njit(cache=True, nogil=True)
def self_confidence_native(labels, pred_probs):
    """``pred_probs[i, labels[i]]`` in the input dtype (1-D)."""
    n = labels.shape[0]
    out = np.empty(n, dtype=pred_probs.dtype)
    for i in range(n):
        out[i] = pred_probs[i, labels[i]]
    return out


@njit(cache=True, nogil=True)
def normalized_margin_native(labels, pred_probs, one):
    """``(p_label - max_other + 1) / 2`` computed in the input dtype step by step (1-D).

    ``one`` is 1 in the input dtype (passed in so that numba types the arithmetic in that dtype).
    """
    n, k = pred_probs.shape
    out = np.empty(n, dtype=pred_probs.dtype)
    two = one + one
    for i in range(n):
        c = labels[i]
        other = -one
        for j in range(k):
            if j != c and pred_probs[i, j] > other:
                other = pred_probs[i, j]
        m = pred_probs[i, c] - other
        out[i] = (m + one) / two
    return out


@njit(cache=True, nogil=True)
def group_rows(labels, num_classes):
    """Row indices grouped by label (counting sort, increasing row order within a class).

    Returns ``(order int64[N], offsets int64[K + 1])``: rows of class ``k`` are
    ``order[offsets[k]:offsets[k + 1]]``.
    """
    n = labels.shape[0]
    offsets = np.zeros(num_classes + 1, dtype=np.int64)
    for i in range(n):
        offsets[labels[i] + 1] += 1
    for c in range(num_classes):
        offsets[c + 1] += offsets[c]
    pos = offsets[:-1].copy()
    order = np.empty(n, dtype=np.int64)
    for i in range(n):
        c = labels[i]
        order[pos[c]] = i
        pos[c] += 1
    return order, offsets


@njit(cache=True, nogil=True)
def column_difference(pred_probs, rows, a, b):
    """``pred_probs[rows, a] - pred_probs[rows, b]`` in the input dtype (1-D)."""
    out = np.empty(rows.shape[0], dtype=pred_probs.dtype)
    for t in range(rows.shape[0]):
        r = rows[t]
        out[t] = pred_probs[r, a] - pred_probs[r, b]
    return out
