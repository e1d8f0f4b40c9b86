"""Labels of an ``oof`` run: class codes (single-label) or a 0/1 tag matrix (multi-label)."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd

from labelaudit.errors import ColumnError, InputError


def _integer_like(series: pd.Series) -> bool:
    if pd.api.types.is_bool_dtype(series):
        return False
    if pd.api.types.is_integer_dtype(series):
        return True
    if pd.api.types.is_float_dtype(series):
        values = series.to_numpy()
        return bool(np.all(values == np.round(values)))
    return False


def class_labels(series: pd.Series, source: str, column: str) -> tuple[np.ndarray, list[str]]:
    """Class codes (int64) and the class names in order: integers sort numerically, strings as text."""
    missing = series.isna().to_numpy()
    if missing.any():
        row = int(np.flatnonzero(missing)[0])
        raise ColumnError(f"{source}: column {column!r} row {row}: label is missing")
    if _integer_like(series):
        values = series.to_numpy().astype(np.int64)
        classes, codes = np.unique(values, return_inverse=True)
        names = [str(int(c)) for c in classes]
    else:
        text = series.astype(str).str.strip().to_numpy(dtype=object)
        distinct = sorted(set(text))
        if all(re.fullmatch(r"-?\d+", name) for name in distinct):
            distinct.sort(key=lambda name: (int(name), name))  # 2 before 10; "1" and "01" stay apart
        lookup = {name: k for k, name in enumerate(distinct)}
        codes = np.array([lookup[v] for v in text], dtype=np.int64)
        names = distinct
    if len(names) < 2:
        raise InputError(
            f"{source}: column {column!r} has a single class ({names[0]!r}); "
            "out-of-fold probabilities need at least two"
        )
    return codes.astype(np.int64), names


def _tag_list(value: object, sep: str) -> list[str] | None:
    """The tags of one cell, or None when the cell is missing."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, list | tuple | np.ndarray):
        return [str(v).strip() for v in value]
    text = str(value).strip()
    if text.startswith("[") and text.endswith("]"):
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        if isinstance(parsed, list):
            return [str(v).strip() for v in parsed]
    return [t.strip() for t in text.split(sep) if t.strip()] if text else []


def tag_matrix(series: pd.Series, source: str, column: str, sep: str) -> tuple[np.ndarray, list[str]]:
    """The N x K 0/1 tag matrix and the sorted tag names of a multi-label column.

    A cell holds delimited tags (``"cat,dog"``), a list (Parquet, JSON Lines) or a JSON array in text;
    an empty cell or list is an example without tags, a null cell in Parquet/JSON Lines is an error.
    """
    if sep == "":
        raise InputError("--label-sep must not be empty")
    rows: list[list[str]] = []
    values = series.tolist()
    textual = any(isinstance(v, str) for v in values)
    for row, value in enumerate(values):
        tags = _tag_list(value, sep)
        if tags is None:
            if textual:
                tags = []  # CSV: an empty cell is the empty tag set
            else:
                raise ColumnError(f"{source}: column {column!r} row {row}: labels are missing")
        rows.append(tags)
    names = sorted({t for tags in rows for t in tags})
    if not names:
        raise InputError(
            f"{source}: column {column!r} has no tags in any row (wrong --label-col or --label-sep?)"
        )
    lookup = {name: k for k, name in enumerate(names)}
    matrix = np.zeros((len(rows), len(names)), dtype=np.uint8)
    for i, tags in enumerate(rows):
        for t in tags:
            matrix[i, lookup[t]] = 1
    return matrix, names
