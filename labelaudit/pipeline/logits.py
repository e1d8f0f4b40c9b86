"""``logits="softmax"`` / ``"sigmoid"``: turn a model's raw scores into the probabilities a scan needs.

softmax (single-label: each row sums to 1) is computed as ``exp(z - max z) / sum exp(z - max z)`` per row,
exact for any finite logits; sigmoid (multi-label: one independent probability per class) as
``1 / (1 + exp(-z))`` in the form that cannot overflow. Only the in-memory engine accepts logits: the
stream and Dask engines read the probabilities once per pass, and would have to transform them every time.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from labelaudit.errors import InvalidProbabilitiesError, UsageError

LOGIT_MODES = ("softmax", "sigmoid")


def check_logits(mode: str | None, multi_label: bool) -> None:
    if mode is None:
        return
    if mode not in LOGIT_MODES:
        raise UsageError(f"--logits must be one of {', '.join(LOGIT_MODES)}, not {mode!r}")
    if mode == "softmax" and multi_label:
        raise UsageError(
            "--logits softmax is for single-label scans; multi-label logits take --logits sigmoid"
        )
    if mode == "sigmoid" and not multi_label:
        raise UsageError("--logits sigmoid is for --multi-label scans (one independent output per class)")


def to_probabilities(logits: Any, mode: str, source: str = "logits") -> np.ndarray:
    """An N x K float64 matrix of probabilities from N x K logits (``softmax`` by row, or ``sigmoid``)."""
    z = np.asarray(logits, dtype=np.float64)
    if z.ndim != 2:
        raise InvalidProbabilitiesError(f"{source}: logits must be an N x K matrix, not shape {z.shape}")
    bad = ~np.isfinite(z)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise InvalidProbabilitiesError(
            f"{source}: row {int(row)}, column {int(col)}: logit is {z[row, col]}"
        )
    if mode == "softmax":
        shifted = np.exp(z - z.max(axis=1, keepdims=True))
        return shifted / shifted.sum(axis=1, keepdims=True)
    out = np.empty_like(z)
    positive = z >= 0
    out[positive] = 1.0 / (1.0 + np.exp(-z[positive]))
    e = np.exp(z[~positive])
    out[~positive] = e / (1.0 + e)
    return out


def frame_to_probabilities(frame: Any, prob_cols: str, mode: str, source: str) -> Any:
    """A copy of ``frame`` whose ``prob_cols`` columns hold probabilities instead of logits."""
    import pandas as pd

    from labelaudit.errors import ColumnError
    from labelaudit.io.columns import match_columns

    columns, _ = match_columns(frame, prob_cols, source, "--prob-cols")
    out = frame.copy()
    values = frame[columns].apply(pd.to_numeric, errors="coerce")
    if values.isna().to_numpy().any():
        row, col = np.argwhere(values.isna().to_numpy())[0]
        raise ColumnError(
            f"{source}: column {columns[col]!r} row {int(row)}: not a number: {frame.iat[row, frame.columns.get_loc(columns[col])]!r}"
        )
    matrix = to_probabilities(values.to_numpy(dtype=np.float64), mode, source)
    for k, column in enumerate(columns):
        out[column] = matrix[:, k]
    return out


def apply_logits(mode: str, frame: Any, opts: Any, engine: str, path: str) -> tuple[Any, Any]:
    """The scan's frame and options with probabilities in place of logits; the in-memory engine only."""
    import dataclasses
    import os

    check_logits(mode, opts.multi_label)
    if engine != "memory":
        raise UsageError(f"--logits needs --engine memory (not {engine})")
    if isinstance(opts.probs, str):
        if not opts.probs.lower().endswith(".npy"):
            raise UsageError(
                "--logits with --probs takes a .npy matrix; put a table's logits in DATA's columns"
            )
        if not os.path.isfile(opts.probs):
            from labelaudit.errors import InputFileError

            raise InputFileError(f"{opts.probs}: no such file")
        matrix = to_probabilities(np.load(opts.probs, allow_pickle=False), mode, opts.probs)
        return frame, dataclasses.replace(opts, probs=matrix)
    if opts.probs is not None:
        return frame, dataclasses.replace(opts, probs=to_probabilities(opts.probs, mode))
    if frame is None:
        from labelaudit.io.readers import read_table

        text = tuple(c for c in (opts.label_col if opts.label_cols is None else None, opts.id_col) if c)
        frame = read_table(path, opts.input_format, text_columns=text)
    return frame_to_probabilities(frame, opts.prob_cols, mode, path), opts
