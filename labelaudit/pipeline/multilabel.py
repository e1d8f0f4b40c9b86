"""`labelaudit scan --multi-label`: find wrong tags in multi-label data.

Labels, in one of three forms:

* a column of delimited tags (``--label-col``, default ``label``; ``--label-sep``, default ``,``):
  ``"cat,dog"``; the empty string means *no tags*;
* a list column (Parquet list, JSON array in JSONL): ``["cat", "dog"]``, or class indices ``[0, 1]``
  into the probability columns;
* one 0/1 column per class (``--label-cols 'y_*'``; the class is the name without the glob's affixes).

Probabilities: ``p_*`` columns (``--prob-cols``) or ``--probs FILE``, as for single-label scans, one
independent probability in [0, 1] per class (rows need not sum to 1).  Tags are matched to the
probability columns by class name.

A missing value (null) in the label column is an error in Parquet and JSONL, where it is distinct from
an empty tag set (write ``""`` or ``[]`` for an example without tags); in CSV/TSV an empty cell is the
empty tag set, as those formats cannot tell the two apart.  A table in which no row has any tag is an
error too (usually a wrong ``--label-col`` or ``--label-sep``).

``--method`` is the confident-learning rule applied to each one-vs-rest problem (filter_by), ``--score``
the per-tag label quality score, ``--aggregate`` how the per-tag scores of an example are combined,
``--compat`` paper (the default, with Platt-recalibrated probabilities) or cleanlab (cleanlab 2.9's
multi-label module, exactly); see :mod:`labelaudit.core.multilabel`.

Report schema ``labelaudit.scan-multilabel/1`` (one row per input row, in input order unless
``--sort rank``):

=================  =======  =============================================================
column             type     meaning
=================  =======  =============================================================
row                int64    0-based position of the row in the input
id                 string   the ``--id-col`` value (only with ``--id-col``)
given_label        string   the given tags, in class order, joined by ``--label-sep``
missing_tags       string   tags not given that the model is confident apply (joined)
spurious_tags      string   given tags the model is confident do not apply (joined)
label_quality      float64  aggregated label quality score in [0, 1]; lower = more suspicious
is_label_issue     bool     at least one tag flagged (for ``low_*`` methods: among the lowest scores)
rank               int64    1 = most suspicious (ascending label_quality, ties by row)
=================  =======  =============================================================

The summary (``--summary``) holds ``num_examples``, ``num_classes``, ``num_issues``,
``num_flagged_tags``, ``health_score`` (= 1 - num_issues / num_examples), ``settings``, ``classes``
(per class: ``given_count``, ``given_but_absent`` and ``absent_but_should_be`` with ``count`` and
``rate``, ``noise_rate``, ``estimated_errors``) and ``per_class``, the same numbers flattened and sorted
by ``label_noise`` (= ``noise_rate``) for display.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from labelaudit.engines.base import ScanOptions
from labelaudit.errors import ColumnError, InputError, InvalidProbabilitiesError, UsageError
from labelaudit.pipeline.result import ScanResult

SCHEMA = "labelaudit.scan-multilabel/1"


def _check_options(opts: ScanOptions) -> None:
    from labelaudit.core.multilabel import AGGREGATES, FILTER_METHODS, SCORE_METHODS

    if opts.method not in FILTER_METHODS:
        raise UsageError(f"--method must be one of {', '.join(FILTER_METHODS)}, not {opts.method!r}")
    if opts.score not in SCORE_METHODS:
        raise UsageError(f"--score must be one of {', '.join(SCORE_METHODS)}, not {opts.score!r}")
    if opts.pooling not in AGGREGATES:
        raise UsageError(f"--pooling must be one of {', '.join(AGGREGATES)}, not {opts.pooling!r}")
    if opts.normalize:
        raise UsageError("--normalize does not apply to --multi-label: each class has its own probability")
    if opts.label_cols is None and opts.label_sep == "":
        raise UsageError("--label-sep must not be empty")


def _format_of(opts: ScanOptions) -> str:
    from labelaudit.io.readers import detect_format

    if opts.data.startswith("<") and opts.data != "<stdin>":
        # a table given to the API: nulls are nulls, as in Parquet
        return "parquet"
    return detect_format(opts.data, opts.input_format)


def _placeholder(names: list[str]) -> bool:
    return names == [str(k) for k in range(len(names))]


# --------------------------------------------------------------------------------------
# labels
# --------------------------------------------------------------------------------------


def _tags_from_columns(
    frame: pd.DataFrame, opts: ScanOptions, class_names: list[str], source: str
) -> tuple[np.ndarray, list[str]]:
    from labelaudit.io.columns import match_columns

    columns, names = match_columns(frame, opts.label_cols, source, "--label-cols")
    if _placeholder(class_names) and not set(names) <= set(class_names) and len(names) == len(class_names):
        class_names = list(
            names
        )  # --probs .npy without --classes: the label columns name the classes, in order
    lookup = {name: k for k, name in enumerate(class_names)}
    for column, name in zip(columns, names, strict=True):
        if name not in lookup:
            raise ColumnError(
                f"{source}: tag {name!r} (column {column!r}) has no probability column "
                f"(classes: {_shown(class_names)})"
            )
    covered = set(names)
    absent = [c for c in class_names if c not in covered]
    if absent:
        raise ColumnError(f"{source}: class {absent[0]!r} has probabilities but no --label-cols column")
    tags = np.zeros((len(frame), len(class_names)), dtype=np.uint8)
    for column, name in zip(columns, names, strict=True):
        series = frame[column]
        if pd.api.types.is_bool_dtype(series):
            values = series.to_numpy(dtype=bool)
        else:
            numeric = (
                pd.to_numeric(series, errors="coerce")
                if not pd.api.types.is_numeric_dtype(series)
                else series
            )
            as_float = numeric.to_numpy(dtype=np.float64, na_value=np.nan)
            bad = ~((as_float == 0) | (as_float == 1))
            if bad.any():
                row = int(np.flatnonzero(bad)[0])
                value = series.iloc[row]
                if isinstance(value, np.generic):
                    value = value.item()
                what = "is missing" if pd.isna(value) else f"is {value!r}, not 0 or 1"
                raise ColumnError(f"{source}: column {column!r} row {row}: tag value {what}")
            values = as_float == 1
        tags[:, lookup[name]] = values
    return tags, class_names


def _tags_from_label_column(
    frame: pd.DataFrame, opts: ScanOptions, class_names: list[str], source: str, fmt: str
) -> tuple[np.ndarray, list[str]]:
    from labelaudit.io.columns import require_column

    series = require_column(frame, opts.label_col, source, "--label-col")
    n = len(series)
    values = series.to_numpy(dtype=object)
    is_list = np.fromiter((isinstance(v, (list, tuple, np.ndarray)) for v in values), dtype=bool, count=n)
    nulls = np.fromiter((not is_list[i] and _is_null(v) for i, v in enumerate(values)), dtype=bool, count=n)
    if nulls.any() and fmt in ("parquet", "jsonl"):
        row = int(np.flatnonzero(nulls)[0])
        raise ColumnError(
            f"{source}: column {opts.label_col!r} row {row}: tags are missing (null); write an empty "
            f"{'list' if is_list.any() else 'string'} for an example without tags, or drop the row"
        )
    # one (row, tag) pair per tag
    rows: list[int] = []
    tags: list[Any] = []
    from_list: list[bool] = []
    sep = opts.label_sep
    for i in range(n):
        v = values[i]
        if is_list[i]:
            for t in v:
                rows.append(i)
                tags.append(t)
                from_list.append(True)
        elif nulls[i]:
            continue
        else:
            text = _as_text(v)
            for part in text.split(sep):
                part = part.strip()
                if part:
                    rows.append(i)
                    tags.append(part)
                    from_list.append(False)
    if not tags:
        raise ColumnError(
            f"{source}: column {opts.label_col!r} has no tags in any row "
            f"(wrong --label-col, or --label-sep {sep!r}?)"
        )
    text_tags = [
        _as_text(t) if not (fl and _is_int(t)) else str(int(t)) for t, fl in zip(tags, from_list, strict=True)
    ]
    if _placeholder(class_names):
        distinct = sorted(set(text_tags))
        if not set(distinct) <= set(class_names):
            if len(distinct) != len(class_names):
                raise UsageError(
                    f"{source}: {len(distinct)} distinct tags but the probabilities have {len(class_names)} "
                    "columns; name the columns in order with --classes"
                )
            class_names = distinct
    lookup = {name: k for k, name in enumerate(class_names)}
    k = len(class_names)
    codes = np.empty(len(tags), dtype=np.int64)
    for t, (tag, text, fl) in enumerate(zip(tags, text_tags, from_list, strict=True)):
        code = lookup.get(text)
        if code is None and fl and _is_int(tag) and 0 <= int(tag) < k:
            code = int(tag)  # a list of class indices into the probability columns
        if code is None:
            hint = ""
            if not fl and any(s in text for s in (",", ";", "|", " ")) and sep not in text:
                hint = f"; is --label-sep {sep!r} right?"
            raise ColumnError(
                f"{source}: column {opts.label_col!r} row {rows[t]}: tag {text!r} has no probability column "
                f"(classes: {_shown(class_names)}){hint}"
            )
        codes[t] = code
    matrix = np.zeros((n, k), dtype=np.uint8)
    matrix[np.asarray(rows, dtype=np.int64), codes] = 1
    return matrix, class_names


def _is_null(v: Any) -> bool:
    if v is None:
        return True
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _is_int(v: Any) -> bool:
    if isinstance(v, (bool, np.bool_)):
        return False
    if isinstance(v, (int, np.integer)):
        return True
    return isinstance(v, (float, np.floating)) and float(v).is_integer()


def _as_text(v: Any) -> str:
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    if isinstance(v, (bytes, bytearray)):
        return v.decode("utf-8", "replace").strip()
    return str(v).strip()


def _shown(names: list[str], limit: int = 20) -> str:
    return ", ".join(names[:limit]) + (", ..." if len(names) > limit else "")


# --------------------------------------------------------------------------------------
# the scan
# --------------------------------------------------------------------------------------


def _check_probabilities(matrix: np.ndarray, columns: list[str], source: str) -> None:
    from labelaudit.core.multilabel_kernels import first_bad_probability

    code, row, col = first_bad_probability(np.ascontiguousarray(matrix))
    if code == 0:
        return
    value = matrix[row, col]
    where = (
        f"{source}: column {columns[col]!r} row {row}"
        if not columns[col].startswith("column ")
        else f"{source}: row {row} {columns[col]}"
    )
    if code == 1:
        raise InvalidProbabilitiesError(f"{where}: value is not finite")
    raise InvalidProbabilitiesError(
        f"{where}: {value:g} is not a probability in [0, 1] (multi-label needs one sigmoid output per class, "
        "not logits)"
    )


def _joined(mask: np.ndarray, names: np.ndarray, sep: str) -> np.ndarray:
    """Per row, the names of the set columns joined by ``sep`` (class order)."""
    out = np.full(mask.shape[0], "", dtype=object)
    rows, cols = np.nonzero(mask)
    if rows.size == 0:
        return out
    starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
    ends = np.r_[starts[1:], rows.size]
    picked = names[cols]
    for s, e in zip(starts, ends, strict=True):
        out[rows[s]] = sep.join(picked[s:e])
    return out


def run_multilabel(frame: Any, opts: ScanOptions) -> ScanResult:
    """The multi-label scan of an already-read table (called by :func:`labelaudit.pipeline.scan.scan`)."""
    from labelaudit.core.multilabel import audit_multilabel
    from labelaudit.engines.memory import load_probabilities_for
    from labelaudit.errors import LabelauditWarning
    from labelaudit.io.columns import display_name, require_column

    _check_options(opts)
    source = display_name(opts.data)
    fmt = _format_of(opts)
    ids = require_column(frame, opts.id_col, source, "--id-col") if opts.id_col else None
    probs = load_probabilities_for(frame, opts, source)
    class_names = list(probs.class_names)
    if opts.label_cols is not None:
        tags, class_names = _tags_from_columns(frame, opts, class_names, source)
    else:
        tags, class_names = _tags_from_label_column(frame, opts, class_names, source, fmt)
    matrix = probs.matrix
    _check_probabilities(matrix, list(probs.columns), probs.source)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", LabelauditWarning)
        try:
            audit = audit_multilabel(
                tags,
                matrix,
                filter_by=opts.method,
                frac_noise=opts.frac_noise,
                method=opts.score,
                aggregate=opts.pooling,
                compat=opts.compat,
                class_names=class_names,
            )
        except (InputError, UsageError) as exc:
            raise type(exc)(f"{probs.source}: {exc}") from None
    for w in caught:
        if issubclass(w.category, LabelauditWarning):
            warnings.warn(f"{source}: {w.message}", LabelauditWarning, stacklevel=2)

    n = tags.shape[0]
    names = np.asarray(class_names, dtype=object)
    sep = opts.label_sep
    quality = audit.quality.astype(np.float64)
    order = np.lexsort((np.arange(n), quality))
    ranks = np.empty(n, dtype=np.int64)
    ranks[order] = np.arange(1, n + 1)

    report = pd.DataFrame({"row": np.arange(n, dtype=np.int64)})
    if ids is not None:
        report["id"] = ids.astype(str).to_numpy()
    report["given_label"] = _joined(tags.astype(bool), names, sep)
    report["missing_tags"] = _joined(audit.missing, names, sep)
    report["spurious_tags"] = _joined(audit.spurious, names, sep)
    report["label_quality"] = quality
    report["is_label_issue"] = audit.is_issue.astype(bool)
    report["rank"] = ranks

    summary = audit.summary()
    flat = [
        {
            "class": c["class"],
            "given_count": c["given_count"],
            "label_noise": c["noise_rate"],
            "spurious": c["given_but_absent"]["count"],
            "spurious_rate": c["given_but_absent"]["rate"],
            "missing": c["absent_but_should_be"]["count"],
            "missing_rate": c["absent_but_should_be"]["rate"],
        }
        for c in summary["classes"]
    ]
    flat.sort(key=lambda c: -c["label_noise"])
    summary["per_class"] = flat
    columns = [
        "rank",
        "row",
        *(["id"] if ids is not None else []),
        "given_label",
        "missing_tags",
        "spurious_tags",
        "label_quality",
        "is_label_issue",
    ]
    return ScanResult(report, summary, columns, SCHEMA)
