"""Small helpers shared by the benchmark scripts: synthetic data, memory and timing probes."""

from __future__ import annotations

import os
import resource
import time
from pathlib import Path

import numpy as np

DATA_DIR = Path(os.environ.get("LABELAUDIT_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def synthetic(n: int, k: int, *, noise: float = 0.2, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Dirichlet-like float32 probabilities with a true class, and labels with ``noise`` flipped.

    Each row is a Gamma(0.1) background plus a boost of U(2, 40) on the true class, normalised; a
    fraction ``noise`` of the labels is replaced by a uniformly random class. Built in chunks so the
    only full-size allocation is the result.
    """
    rng = np.random.default_rng(seed)
    true = rng.integers(0, k, n)
    probs = np.empty((n, k), dtype=np.float32)
    chunk = max(1, 4_000_000 // k)
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        g = rng.standard_gamma(0.1, (stop - start, k)).astype(np.float32)
        g[np.arange(stop - start), true[start:stop]] += rng.uniform(2, 40, stop - start).astype(np.float32)
        g /= g.sum(axis=1, keepdims=True)
        probs[start:stop] = g
    labels = true.copy()
    flip = rng.random(n) < noise
    labels[flip] = rng.integers(0, k, int(flip.sum()))
    return labels, probs


def max_rss_bytes() -> int:
    """Peak resident set size of this process so far (Linux: ru_maxrss is in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def current_rss_bytes() -> int:
    """Current resident set size (psutil when available, else /proc)."""
    try:
        import psutil

        return int(psutil.Process().memory_info().rss)
    except ImportError:  # pragma: no cover
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def timed(fn, *args, **kwargs) -> tuple[float, float, object]:
    """(wall seconds, CPU seconds of this process, result)."""
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn(*args, **kwargs)
    return time.perf_counter() - w0, time.process_time() - c0, out
