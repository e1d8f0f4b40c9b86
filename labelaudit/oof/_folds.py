"""Stratified K-fold assignment that depends on the rows' content (or ids), never on their positions.

Each row gets a 64-bit key: a hash of its ``id`` when there is an id column, else of its encoded features
and label, mixed with the seed. Rows are sorted by (stratum, key) and dealt to the folds in turn, so every
fold holds the same share of each class (one example more or less) and shuffling the input rows gives the
same folds. Models are also fitted on their training rows in key order, which makes the whole output
independent of the row order.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _mix(base: np.ndarray, seed: int) -> np.ndarray:
    with np.errstate(over="ignore"):
        salted = base + np.uint64(seed % 2**64) * _GOLDEN
    return pd.util.hash_array(salted)


def keys_from_ids(ids: pd.Series, seed: int) -> np.ndarray:
    """Keys of rows identified by ``ids`` (compared as text)."""
    return _mix(pd.util.hash_array(ids.astype(str).to_numpy(dtype=object)), seed)


def keys_from_content(matrix: np.ndarray, labels: np.ndarray, seed: int) -> np.ndarray:
    """Keys of rows identified by their encoded features and labels (identical rows share a key)."""
    table = pd.DataFrame(matrix)
    label_part = labels.reshape(len(labels), -1)
    for k in range(label_part.shape[1]):
        table[f"label{k}"] = label_part[:, k]
    table.columns = [str(c) for c in table.columns]
    return _mix(pd.util.hash_pandas_object(table, index=False).to_numpy(), seed)


def strata(labels: np.ndarray) -> np.ndarray:
    """Stratum of each row: its class, or for a 0/1 tag matrix its set of tags."""
    if labels.ndim == 1:
        return labels.astype(np.int64)
    _, inverse = np.unique(labels, axis=0, return_inverse=True)
    return inverse.reshape(-1).astype(np.int64)


def key_order(keys: np.ndarray) -> np.ndarray:
    """Row indices sorted by key (equal keys, i.e. identical rows, by position)."""
    return np.lexsort((np.arange(len(keys)), keys))


def stratified_folds(groups: np.ndarray, keys: np.ndarray, folds: int) -> np.ndarray:
    """Fold of each row, in ``range(folds)``: rows sorted by (group, key) are dealt out in turn."""
    order = np.lexsort((np.arange(len(keys)), keys, groups))
    assignment = np.empty(len(keys), dtype=np.int64)
    assignment[order] = np.arange(len(keys)) % folds
    return assignment
