"""Feature columns of an ``oof`` run as one float32 matrix (NaN = missing).

* numbers and booleans as they are;
* embeddings: a list column (Parquet list, JSON array in JSON Lines, or ``"[0.1, 0.2]"`` text in CSV), one
  matrix column per dimension; every row has the same length;
* categories (text columns): one 0/1 column per value (``onehot``) or the value's rank among the sorted
  values (``ordinal``); ``none`` refuses them. A text column that is mostly numbers with a stray word is
  an error naming the row, as is one with nearly a distinct value per row (free text or an identifier).
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from labelaudit.errors import ColumnError, UsageError

CATEGORICAL = ("onehot", "ordinal", "none")
#: more distinct values than this (and than half the rows) is free text or an identifier, not a category
MAX_CATEGORIES = 200


@dataclass(frozen=True)
class Features:
    """The encoded feature matrix and how each source column became matrix columns."""

    matrix: np.ndarray  # N x D float32, NaN = missing
    columns: list[str]  # source columns, in table order
    encoding: dict[str, str] = field(default_factory=dict)  # column -> numeric / embedding(d) / onehot(n) ...

    @property
    def has_embedding(self) -> bool:
        return any(kind.startswith("embedding") for kind in self.encoding.values())


def select_columns(
    frame: pd.DataFrame, features: str | Sequence[str], *, exclude: Sequence[str], source: str
) -> list[str]:
    """The feature columns: ``auto`` = every column not in ``exclude``; else names or globs, comma-separated."""
    names = [str(c) for c in frame.columns]
    if isinstance(features, str) and features.strip() == "auto":
        chosen = [c for c in names if c not in exclude]
    else:
        items = [s.strip() for s in features.split(",")] if isinstance(features, str) else list(features)
        items = [s for s in items if s]
        if not items:
            raise UsageError("--features is empty: name columns (comma-separated, globs allowed) or 'auto'")
        chosen = []
        for item in items:
            if re.search(r"[*?\[]", item):
                matched = [c for c in names if fnmatch.fnmatchcase(c, item)]
                if not matched:
                    raise ColumnError(f"{source}: no columns match --features {item!r}")
            elif item in names:
                matched = [item]
            else:
                raise ColumnError(f"{source}: no column {item!r} (--features); columns are: {_shown(names)}")
            for column in matched:
                if column in exclude:
                    raise UsageError(f"--features names {column!r}, which is the label or id column")
                if column not in chosen:
                    chosen.append(column)
        chosen = [c for c in names if c in chosen]
    if not chosen:
        raise ColumnError(
            f"{source}: no feature columns: the table has only {_shown(names)} (label and id are not features)"
        )
    return chosen


def _shown(names: Sequence[str]) -> str:
    return ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")


def _is_sequence(value: object) -> bool:
    return isinstance(value, list | tuple | np.ndarray)


def _embedding(series: pd.Series, source: str, column: str) -> np.ndarray:
    values = series.tolist()
    present = [v for v in values if v is not None and not (isinstance(v, float) and np.isnan(v))]
    parse = isinstance(present[0], str)
    width = None
    out: list[np.ndarray | None] = []
    for row, value in enumerate(values):
        if value is None or (isinstance(value, float) and np.isnan(value)):
            out.append(None)
            continue
        if parse:
            try:
                value = json.loads(value) if isinstance(value, str) else None
            except ValueError:
                value = None
            if not isinstance(value, list):
                raise ColumnError(f"{source}: column {column!r} row {row}: not a list of numbers")
        elif not _is_sequence(value):
            raise ColumnError(f"{source}: column {column!r} row {row}: not a list of numbers")
        try:
            vector = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            raise ColumnError(f"{source}: column {column!r} row {row}: not a list of numbers") from None
        if vector.ndim != 1:
            raise ColumnError(f"{source}: column {column!r} row {row}: a nested list, not a vector")
        if width is None:
            width = len(vector)
            if width == 0:
                raise ColumnError(f"{source}: column {column!r} row {row}: empty embedding")
        elif len(vector) != width:
            raise ColumnError(
                f"{source}: column {column!r} row {row}: embedding has {len(vector)} values, expected {width}"
            )
        out.append(vector)
    assert width is not None
    matrix = np.full((len(values), width), np.nan, dtype=np.float32)
    for row, vector in enumerate(out):
        if vector is not None:
            matrix[row] = vector
    return matrix


def _check_finite(values: np.ndarray, source: str, column: str) -> None:
    infinite = np.isinf(values)
    if infinite.any():
        row = int(np.flatnonzero(infinite.reshape(len(values), -1).any(axis=1))[0])
        raise ColumnError(f"{source}: column {column!r} row {row}: value is infinite")


def _categories(series: pd.Series, source: str, column: str, categorical: str) -> tuple[np.ndarray, str]:
    present = series.notna().to_numpy()
    text = series.astype(str).to_numpy(dtype=object)
    numbers = pd.to_numeric(series.where(series.notna()), errors="coerce")
    parsed = numbers.notna().to_numpy() & present
    if parsed.sum() == present.sum():
        return numbers.to_numpy(dtype=np.float32, na_value=np.nan)[:, None], "numeric"
    if parsed.sum() >= 0.9 * present.sum():
        # a number column with a stray word: a data error, not a category
        row = int(np.flatnonzero(present & ~parsed)[0])
        raise ColumnError(f"{source}: column {column!r} row {row}: {series.iloc[row]!r} is not a number")
    if categorical == "none":
        row = int(np.flatnonzero(present & ~parsed)[0])
        raise ColumnError(
            f"{source}: column {column!r} is not numeric (row {row}: {series.iloc[row]!r}); "
            "encode it with --categorical onehot or ordinal, or leave it out of --features"
        )
    values = sorted({str(v) for v in text[present]})
    if len(values) > max(MAX_CATEGORIES, present.sum() // 2) or (
        len(values) > 20 and len(values) > 0.5 * present.sum()
    ):
        raise ColumnError(
            f"{source}: column {column!r} has {len(values)} distinct text values in {int(present.sum())} rows: "
            "free text or an identifier, not a category; leave it out of --features (or make it --id-col)"
        )
    lookup = {v: k for k, v in enumerate(values)}
    codes = np.array(
        [lookup[str(v)] if p else -1 for v, p in zip(text, present, strict=True)], dtype=np.int64
    )
    if categorical == "ordinal":
        matrix = codes.astype(np.float32)[:, None]
        matrix[codes < 0] = np.nan
        return matrix, f"ordinal({len(values)})"
    matrix = np.zeros((len(codes), len(values)), dtype=np.float32)
    rows = np.flatnonzero(codes >= 0)
    matrix[rows, codes[rows]] = 1.0  # a missing category is a row of zeros
    return matrix, f"onehot({len(values)})"


def encode_features(
    frame: pd.DataFrame, columns: Sequence[str], *, source: str, categorical: str = "onehot"
) -> Features:
    """Encode ``columns`` of ``frame`` into one float32 matrix; every problem names the column (and row)."""
    if categorical not in CATEGORICAL:
        raise UsageError(f"--categorical must be one of {', '.join(CATEGORICAL)}, not {categorical!r}")
    blocks: list[np.ndarray] = []
    encoding: dict[str, str] = {}
    for column in columns:
        series = frame[column]
        present = series.notna()
        if not present.any():
            raise ColumnError(f"{source}: column {column!r} has no values")
        if pd.api.types.is_bool_dtype(series):
            block, kind = series.astype(np.float32).to_numpy()[:, None], "boolean"
        elif pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_complex_dtype(series):
            block = series.to_numpy(dtype=np.float32, na_value=np.nan)[:, None]
            kind = "numeric"
        elif pd.api.types.is_datetime64_any_dtype(series) or pd.api.types.is_timedelta64_dtype(series):
            raise ColumnError(
                f"{source}: column {column!r} holds dates or durations; convert them to numbers first"
            )
        else:
            first = series[present].iloc[0]
            looks_listed = isinstance(first, str) and first.strip().startswith("[")
            if _is_sequence(first) or looks_listed:
                block = _embedding(series, source, column)
                kind = f"embedding({block.shape[1]})"
            elif isinstance(first, str | bool) or pd.api.types.is_string_dtype(series):
                block, kind = _categories(series, source, column, categorical)
            else:
                raise ColumnError(
                    f"{source}: column {column!r} row {int(np.flatnonzero(present.to_numpy())[0])}: "
                    f"a {type(first).__name__} cannot be a feature"
                )
        _check_finite(block, source, column)
        blocks.append(block)
        encoding[column] = kind
    matrix = np.ascontiguousarray(np.hstack(blocks), dtype=np.float32)
    return Features(matrix, list(columns), encoding)
