"""Turn a table (plus an optional probabilities file) into label indices and a probability matrix.

Every problem raises a one-line :class:`InputError` naming the file, column and row.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from labelaudit.errors import ColumnError, InputError, InvalidProbabilitiesError, UsageError
from labelaudit.io.readers import read_npy, read_table


@dataclass(frozen=True)
class Probabilities:
    """A probability matrix and the class name of each column."""

    matrix: np.ndarray  # N x K, float32 or float64, C-contiguous
    class_names: list[str]
    columns: list[str]  # source column names (or "column k" for .npy)
    source: str


def display_name(path: str) -> str:
    return "<stdin>" if path == "-" else path


def _glob_affixes(pattern: str) -> tuple[str, str]:
    """The literal prefix and suffix of a glob (`p_*` -> (`p_`, ``))."""
    match = re.search(r"[*?\[]", pattern)
    if match is None:
        return pattern, ""
    prefix = pattern[: match.start()]
    last = max(pattern.rfind("*"), pattern.rfind("?"), pattern.rfind("]"))
    suffix = pattern[last + 1 :]
    return prefix, suffix


def match_columns(frame: pd.DataFrame, pattern: str, source: str, option: str) -> tuple[list[str], list[str]]:
    """Columns matching ``pattern`` in table order, and their class names (the glob's literal affixes removed)."""
    columns = [str(c) for c in frame.columns if fnmatch.fnmatchcase(str(c), pattern)]
    if not columns:
        shown = ", ".join(map(str, list(frame.columns)[:12]))
        more = ", ..." if len(frame.columns) > 12 else ""
        raise ColumnError(f"{source}: no columns match {option} {pattern!r} (columns: {shown}{more})")
    prefix, suffix = _glob_affixes(pattern)
    names = []
    for column in columns:
        name = column[len(prefix) :] if prefix and column.startswith(prefix) else column
        if suffix and name.endswith(suffix):
            name = name[: -len(suffix)]
        names.append(name or column)
    if len(set(names)) != len(names):
        raise ColumnError(f"{source}: columns matching {pattern!r} give duplicate class names")
    return columns, names


def numeric_matrix(
    frame: pd.DataFrame, columns: Sequence[str], source: str, *, row_offset: int = 0
) -> np.ndarray:
    """The named columns as one float C-contiguous matrix; non-numeric or missing values name row and column."""
    for column in columns:
        series = frame[column]
        if not (pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)):
            converted = pd.to_numeric(series, errors="coerce")
            bad = converted.isna() & series.notna()
            if bad.any():
                row = int(np.flatnonzero(bad.to_numpy())[0])
                raise InvalidProbabilitiesError(
                    f"{series.iloc[row]!r} is not a number",
                    source=source,
                    column=column,
                    row=row + row_offset,
                )
    dtypes = {frame[c].dtype for c in columns}
    dtype = np.float32 if dtypes == {np.dtype(np.float32)} else np.float64
    matrix = np.empty((len(frame), len(columns)), dtype=dtype)
    for k, column in enumerate(columns):
        values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=dtype, na_value=np.nan)
        matrix[:, k] = values
    finite = np.isfinite(matrix)
    if not finite.all():
        row, k = np.argwhere(~finite)[0]
        what = "missing" if np.isnan(matrix[row, k]) else "infinite"
        raise InvalidProbabilitiesError(
            f"value is {what}", source=source, column=columns[k], row=int(row) + row_offset
        )
    negative = matrix < 0
    if negative.any():
        row, k = np.argwhere(negative)[0]
        raise InvalidProbabilitiesError(
            f"{matrix[row, k]:g} is negative; probabilities are in [0, 1] (if these are logits, pass --logits "
            "softmax, or --logits sigmoid for multi-label, or apply softmax or sigmoid first)",
            source=source,
            column=columns[k],
            row=int(row) + row_offset,
        )
    return matrix


def probabilities_from_array(
    array: np.ndarray, source: str, num_rows: int, data_name: str, class_names: Sequence[str] | None
) -> Probabilities:
    """An N x K array (a .npy file, or an array given to the API) checked against the data's ``num_rows``."""
    array = np.asarray(array)
    if array.ndim != 2:
        raise InvalidProbabilitiesError(
            f"{source}: expected a 2-D array (rows x classes), got shape {array.shape}"
        )
    if not np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.complexfloating):
        raise InvalidProbabilitiesError(f"{source}: array of {array.dtype} is not numeric")
    if len(array) != num_rows:
        raise InputError(f"{source}: has {len(array)} rows but {data_name} has {num_rows}")
    if array.dtype not in (np.float32, np.float64):
        array = array.astype(np.float64)
    array = np.ascontiguousarray(array)
    bad = ~np.isfinite(array)
    if bad.any():
        row, k = np.argwhere(bad)[0]
        raise InvalidProbabilitiesError(f"{source}: row {int(row)} column {int(k)}: value is not finite")
    num_classes = array.shape[1]
    if class_names is not None:
        if len(class_names) != num_classes:
            raise UsageError(
                f"--classes names {len(class_names)} classes but {source} has {num_classes} columns"
            )
        names = list(class_names)
    else:
        names = [str(k) for k in range(num_classes)]
    return Probabilities(array, names, [f"column {k}" for k in range(num_classes)], source)


def _check_aligned(
    frame: pd.DataFrame, table: pd.DataFrame, prob_columns: set[str], data_name: str, probs_path: str
) -> None:
    """A probabilities table aligned by position must agree with the data on every id-like column they share
    (one whose values are all different): a shuffled file is refused, never aligned silently."""
    for column in table.columns:
        if column in prob_columns or column not in frame.columns:
            continue
        ours, theirs = frame[column].astype(str).to_numpy(), table[column].astype(str).to_numpy()
        if len(set(ours)) != len(ours):
            continue  # not an identifier (a label, a feature): rows may legitimately differ
        differ = ours != theirs
        if differ.any():
            row = int(np.flatnonzero(differ)[0])
            raise InputError(
                f"{probs_path}: row {row} has {column}={theirs[row]!r} but {data_name} row {row} has "
                f"{ours[row]!r}: the files are not in the same row order; join them with --id-col {column}"
            )


def load_probabilities(
    frame: pd.DataFrame,
    data_name: str,
    *,
    probs_path: str | np.ndarray | None,
    prob_cols: str,
    id_col: str | None,
    class_names: Sequence[str] | None,
    input_format: str | None = None,
) -> Probabilities:
    """Probabilities from columns of ``frame`` or from ``probs_path`` (.npy by row, or a table by row / by id)."""
    if probs_path is None:
        columns, names = match_columns(frame, prob_cols, data_name, "--prob-cols")
        return Probabilities(numeric_matrix(frame, columns, data_name), names, columns, data_name)

    if isinstance(probs_path, np.ndarray):
        return probabilities_from_array(probs_path, "probs", len(frame), data_name, class_names)
    if probs_path.lower().endswith(".npy"):
        return probabilities_from_array(read_npy(probs_path), probs_path, len(frame), data_name, class_names)

    table = read_table(
        probs_path,
        None if Path(probs_path).suffix else input_format,
        text_columns=(id_col,) if id_col else (),
    )
    columns, names = match_columns(table, prob_cols, probs_path, "--prob-cols")
    if id_col is not None and id_col in table.columns:
        if id_col not in frame.columns:
            raise ColumnError(f"{data_name}: no column {id_col!r} (--id-col) to join {probs_path} on")
        keys = table[id_col].astype(str)
        duplicated = keys.duplicated()
        if duplicated.any():
            raise InputError(
                f"{probs_path}: id {keys[duplicated].iloc[0]!r} appears more than once in {id_col!r}"
            )
        data_keys = frame[id_col].astype(str)
        data_duplicated = data_keys.duplicated().to_numpy()
        if data_duplicated.any():
            row = int(np.flatnonzero(data_duplicated)[0])
            first = int(np.flatnonzero((data_keys == data_keys.iloc[row]).to_numpy())[0])
            raise InputError(
                f"{data_name}: column {id_col!r} row {row}: id {data_keys.iloc[row]!r} also on row {first}; "
                f"ids must be unique to join {probs_path} on them"
            )
        position = pd.Index(keys).get_indexer(data_keys)
        missing = position < 0
        if missing.any():
            row = int(np.flatnonzero(missing)[0])
            raise InputError(
                f"{probs_path}: no probabilities for id {frame[id_col].iloc[row]!r} "
                f"({data_name} row {row}; {int(missing.sum())} ids missing)"
            )
        table = table.iloc[position].reset_index(drop=True)
    elif len(table) != len(frame):
        raise InputError(
            f"{probs_path}: has {len(table)} rows but {data_name} has {len(frame)} (use --id-col to join)"
        )
    else:
        _check_aligned(frame, table, set(columns), data_name, probs_path)
    return Probabilities(numeric_matrix(table, columns, probs_path), names, columns, probs_path)


def _is_integer_like(series: pd.Series) -> bool:
    if pd.api.types.is_bool_dtype(series):
        return False
    if pd.api.types.is_integer_dtype(series):
        return True
    if pd.api.types.is_float_dtype(series):
        values = series.to_numpy()
        return bool(np.all(np.isfinite(values)) and np.all(values == np.round(values)))
    return False


_CANONICAL_INT = re.compile(r"0|[1-9][0-9]*")
LABEL_MODES = ("number", "name", "position")


def is_placeholder(class_names: Sequence[str]) -> bool:
    """Class names that only number the columns (a .npy file, or ``p_0 .. p_K-1``)."""
    return list(class_names) == [str(k) for k in range(len(class_names))]


def label_mode(
    numeric: bool, distinct: set[str], class_names: Sequence[str], source: str, column: str
) -> str:
    """How a whole label column maps to the probability columns; never guessed from the order of names.

    ``number``: a numeric column (Parquet, or a DataFrame): integers match integer class names, else index the
    columns. For text: ``name`` when every label is a class name; ``position`` when every label is a plain
    integer (``0``, ``7``; not ``07`` or ``7.0``) and the columns have other names. Labels that are names
    while the columns are only numbered need ``--classes``: the order of the columns is not guessed.
    """
    if numeric:
        return "number"
    names = set(class_names)
    if distinct <= names:
        return "name"
    if is_placeholder(class_names) and not all(_CANONICAL_INT.fullmatch(v) for v in distinct):
        example = sorted(v for v in distinct if v not in names)[0]
        raise UsageError(
            f"{source}: column {column!r} holds class names (such as {example!r}) but the probability columns "
            "are only numbered; give the class of each column, in order, with --classes (it is not guessed)"
        )
    if not is_placeholder(class_names) and all(_CANONICAL_INT.fullmatch(v) for v in distinct):
        return "position"
    return "name"  # encoding names the first label that is not a class


def encode_labels(
    series: pd.Series, class_names: list[str], source: str, column: str, *, mode: str | None = None
) -> tuple[np.ndarray, list[str]]:
    """Label indices into ``class_names`` (see :func:`label_mode`; ``mode`` decided for the whole column)."""
    missing = series.isna().to_numpy()
    if missing.any():
        row = int(np.flatnonzero(missing)[0])
        raise ColumnError("label is missing", source=source, column=column, row=row)
    num_classes = len(class_names)
    numeric = _is_integer_like(series)
    text = None if numeric else series.astype(str).str.strip()
    if mode is None:
        mode = label_mode(numeric, set() if text is None else set(text.unique()), class_names, source, column)
    if mode == "number":
        values = series.to_numpy().astype(np.int64)
        names_are_ints = all(re.fullmatch(r"-?\d+", n) for n in class_names)
        if names_are_ints and not is_placeholder(class_names):
            lookup = {int(n): k for k, n in enumerate(class_names)}
            encoded = np.array([lookup.get(int(v), -1) for v in values], dtype=np.int64)
            bad = encoded < 0
            if bad.any():
                row = int(np.flatnonzero(bad)[0])
                raise ColumnError(
                    f"label {int(values[row])} is not a class (classes: {', '.join(class_names)})",
                    source=source,
                    column=column,
                    row=row,
                )
            return encoded, class_names
        return _positions(values, num_classes, source, column), class_names
    if text is None:
        text = series.astype(str).str.strip()
    if mode == "position":
        plain = text.str.fullmatch(_CANONICAL_INT.pattern).to_numpy(dtype=bool)
        if not plain.all():
            row = int(np.flatnonzero(~plain)[0])
            raise ColumnError(
                f"{text.iloc[row]!r} is not a column index (the other labels are column indices)",
                source=source,
                column=column,
                row=row,
            )
        too_long = (text.str.len() > 18).to_numpy(dtype=bool)
        if too_long.any():
            row = int(np.flatnonzero(too_long)[0])
            raise ColumnError(
                f"label {text.iloc[row]} is outside [0, {num_classes})", source=source, column=column, row=row
            )
        values = text.astype(np.int64).to_numpy()
        return _positions(values, num_classes, source, column), class_names
    lookup = {name: k for k, name in enumerate(class_names)}
    codes = text.map(lookup)
    bad = codes.isna().to_numpy()
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise ColumnError(
            f"{text.iloc[row]!r} is not a class with probabilities "
            f"(classes: {', '.join(class_names[:20])}{', ...' if num_classes > 20 else ''})",
            source=source,
            column=column,
            row=row,
        )
    return codes.to_numpy().astype(np.int64), class_names


def _positions(values: np.ndarray, num_classes: int, source: str, column: str) -> np.ndarray:
    bad = (values < 0) | (values >= num_classes)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise ColumnError(
            f"label {int(values[row])} is outside [0, {num_classes})", source=source, column=column, row=row
        )
    return values


def require_column(frame: pd.DataFrame, column: str, source: str, option: str) -> pd.Series:
    if column not in frame.columns:
        shown = ", ".join(map(str, list(frame.columns)[:12]))
        more = ", ..." if len(frame.columns) > 12 else ""
        raise ColumnError(f"{source}: no column {column!r} ({option}); columns are: {shown}{more}")
    return frame[column]
