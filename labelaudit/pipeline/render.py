"""Render a report as an HTML page: a saved report file, or a report in memory with its input table.

>>> from labelaudit.pipeline.render import render_file
>>> page = render_file("report.parquet", data="data.csv", show_cols=["text"])  # doctest: +SKIP

A saved report carries what the page needs: its rows, and (Parquet: the ``labelaudit`` key-value metadata;
JSON: the ``metadata`` member) its schema, parameters, versions, summary and gate. CSV and JSON Lines reports
carry rows only; their page has no summary pictures. The input table (``data``) adds what the report does
not hold: the columns to show beside each row, image thumbnails, and each row's most probable classes
(from the probability columns, ``--prob-cols`` of the scan). Rows of a scan report are matched to the input
by ``row`` (0-based position); items of an aggregate report by the ``--item-col`` value (its first row).
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from labelaudit.errors import ColumnError, InputError, InputFileError, UsageError
from labelaudit.report import html

MAX_THUMBNAILS = 2000
"""Thumbnails are embedded for this many rows at most, the most suspicious first (they cost ~3 KB each)."""


@dataclass
class RowExtras:
    """What the page shows beside the report's columns, aligned with the report's rows."""

    show: pd.DataFrame | None = None
    thumbnails: list[str | None] | None = None
    thumbnail_col: str | None = None
    probabilities: tuple[np.ndarray, list[str]] | None = None


def read_report(path: str) -> tuple[pd.DataFrame, dict[str, Any]]:
    """A saved report's rows and metadata (empty for CSV and JSON Lines, which carry none)."""
    from labelaudit.io.readers import check_file, read_table

    check_file(path)
    suffix = Path(path).suffix.lower()
    if suffix in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(path)
        except Exception as exc:  # pyarrow raises its own types for anything that is not Parquet
            raise InputFileError(f"{path}: cannot read as parquet: {str(exc).splitlines()[0]}") from None
        raw = (table.schema.metadata or {}).get(b"labelaudit")
        try:
            metadata = json.loads(raw) if raw else {}
        except ValueError:
            raise InputFileError(f"{path}: the labelaudit metadata is not valid JSON") from None
        return table.to_pandas(), metadata if isinstance(metadata, dict) else {}
    if suffix == ".json":
        try:
            document = json.loads(Path(path).read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise InputFileError(f"{path}: cannot read as a JSON report: {exc}") from None
        if not isinstance(document, dict) or not isinstance(document.get("rows"), list):
            raise InputFileError(f"{path}: not a JSON report (expected an object with a 'rows' list)")
        metadata = document.get("metadata")
        return pd.DataFrame.from_records(document["rows"]), metadata if isinstance(metadata, dict) else {}
    try:
        return read_table(path), {}
    except UsageError:
        raise UsageError(
            f"{path}: cannot tell the report format from the extension (.parquet, .json, .jsonl, .csv)"
        ) from None


def _probability_columns(frame: pd.DataFrame, pattern: str) -> tuple[list[str], list[str]]:
    columns = [str(c) for c in frame.columns if fnmatch.fnmatchcase(str(c), pattern)]
    literal = pattern.split("*", 1)[0].split("?", 1)[0].split("[", 1)[0]
    names = [c[len(literal) :] or c for c in columns]
    return columns, names


def _aligned(report: pd.DataFrame, schema: str, data: pd.DataFrame, source: str, item_col: str) -> np.ndarray:
    """For each report row, the position of its row in ``data``."""
    if schema == html.AGGREGATE_SCHEMA:
        if item_col not in data.columns:
            raise ColumnError(f"{source}: no column {item_col!r} (the item column of the report)")
        keys = data[item_col].astype(str)
        first = pd.Series(np.arange(len(data)), index=keys).groupby(level=0).first()
        positions = first.reindex(report["item"].astype(str)).to_numpy()
        if np.isnan(positions.astype(np.float64)).any():
            missing = report["item"].astype(str).to_numpy()[np.isnan(positions.astype(np.float64))][0]
            raise InputError(f"{source}: item {missing!r} of the report is not in the data")
        return positions.astype(np.int64)
    if "row" not in report.columns:
        raise ColumnError("report: no column 'row' to match rows of the data with")
    rows = report["row"].to_numpy(dtype=np.int64)
    if len(rows) and (rows.min() < 0 or rows.max() >= len(data)):
        raise InputError(
            f"{source}: has {len(data)} rows but the report names row {int(rows.max())}; is it the scanned data?"
        )
    return rows


def row_extras(
    report: pd.DataFrame,
    metadata: dict[str, Any],
    data: pd.DataFrame | None,
    *,
    source: str = "data",
    show_cols: Sequence[str] = (),
    thumbnail_col: str | None = None,
    base_dir: Path | None = None,
    top: int | None = None,
) -> RowExtras:
    """The shown columns, thumbnails and top classes of each report row.

    Shown: the report's own extra columns (``--keep-cols`` input columns, ``in_baseline``), then
    ``show_cols`` and ``thumbnail_col`` from the input table ``data`` unless the report carries them. A
    single-label scan's top classes come from the probability columns of ``data`` matching the scan's
    ``prob_cols``, if it has them.
    """
    schema = html.schema_of(report, metadata)
    kept = html.extra_columns(report, schema)
    wanted = list(dict.fromkeys([*show_cols, *([thumbnail_col] if thumbnail_col else [])]))
    from_data = [c for c in wanted if c not in kept]
    extras = RowExtras()
    if data is None and from_data:
        raise UsageError(
            f"--show-cols/--thumbnails: the report has no column {from_data[0]!r}; "
            "give the input table (labelaudit render: --data)"
        )
    for column in from_data:
        if column not in data.columns:
            shown = ", ".join(map(str, list(data.columns)[:12]))
            raise ColumnError(
                f"{source}: no column {column!r} for --show-cols/--thumbnails (columns: {shown})"
            )
    parameters = metadata.get("parameters") or {}
    prob_columns, class_names = (
        _probability_columns(data, str(parameters.get("prob_cols") or "p_*"))
        if data is not None and schema == html.SCAN_SCHEMA
        else ([], [])
    )
    positions = None
    if data is not None and (from_data or prob_columns):
        positions = _aligned(report, schema, data, source, str(parameters.get("item_col") or "item"))
    parts = [report[kept].reset_index(drop=True)] if kept else []
    if from_data:
        parts.append(data[from_data].iloc[positions].reset_index(drop=True))
    if parts:
        extras.show = pd.concat(parts, axis=1)
    if thumbnail_col is not None:
        from labelaudit.io.thumbnails import thumbnails

        values: list[object] = [None] * len(report)
        assert extras.show is not None
        column = extras.show[thumbnail_col].to_numpy(dtype=object)
        limit = MAX_THUMBNAILS if top is None else min(top, MAX_THUMBNAILS)
        for position in html.ranked_positions(report, schema)[:limit]:
            values[position] = column[position]
        extras.thumbnails = thumbnails(values, base_dir)
        extras.thumbnail_col = thumbnail_col
    if prob_columns and data is not None and positions is not None:
        try:
            matrix = data[prob_columns].to_numpy(dtype=np.float64)[positions]
        except (TypeError, ValueError):
            raise ColumnError(f"{source}: probability columns are not numeric") from None
        extras.probabilities = (matrix, class_names)
    return extras


def render_frame(
    report: pd.DataFrame,
    metadata: dict[str, Any],
    extras: RowExtras | None = None,
    *,
    top: int | None = None,
    title: str | None = None,
    source: str | None = None,
) -> str:
    """The page of a report in memory."""
    extras = extras or RowExtras()
    return html.render_report(
        report,
        metadata,
        show=extras.show,
        thumbnails=extras.thumbnails,
        thumbnail_col=extras.thumbnail_col,
        probabilities=extras.probabilities,
        top=top,
        title=title,
        source=source,
    )


def _table_of(
    data: pd.DataFrame | str | None, data_format: str | None, name: str | None
) -> tuple[pd.DataFrame | None, str, Path | None]:
    """The input table, its name for messages, and the directory relative image paths start from."""
    if data is None or isinstance(data, pd.DataFrame):
        return data, name or "data", None
    from labelaudit.io.readers import read_table

    if data == "-":
        raise UsageError("the input table for the page must be a file, not standard input")
    return read_table(data, data_format), data, Path(data).resolve().parent


def render_page(
    report: pd.DataFrame,
    metadata: dict[str, Any],
    *,
    data: pd.DataFrame | str | None = None,
    data_format: str | None = None,
    show_cols: Sequence[str] = (),
    thumbnail_col: str | None = None,
    probabilities: tuple[np.ndarray, list[str]] | None = None,
    top: int | None = None,
    title: str | None = None,
    source: str | None = None,
    image_dir: str | Path | None = None,
    data_name: str | None = None,
) -> str:
    """The page of a report in memory; ``data`` (a DataFrame or a path) is its input table, if wanted.

    ``probabilities`` (aligned with the report's rows: a scan's matrix or an aggregation's posteriors)
    gives each row's top classes; without it a scan's come from the probability columns of ``data``.
    Relative image paths (``thumbnail_col``) are looked up in ``image_dir`` (default: beside ``data``
    when it is a path), then in the working directory. ``data_name`` names a DataFrame ``data`` in messages.
    """
    if top is not None and top < 0:
        raise UsageError(f"--top must be at least 0, not {top}")
    frame, data_source, base_dir = _table_of(data, data_format, data_name)
    if image_dir is not None:
        base_dir = Path(image_dir)
    extras = row_extras(
        report,
        metadata,
        frame,
        source=data_source,
        show_cols=show_cols,
        thumbnail_col=thumbnail_col,
        base_dir=base_dir,
        top=top,
    )
    if probabilities is not None:
        extras.probabilities = (np.asarray(probabilities[0]), [str(c) for c in probabilities[1]])
    return render_frame(report, metadata, extras, top=top, title=title, source=source)


def render_file(
    path: str,
    *,
    data: str | None = None,
    data_format: str | None = None,
    show_cols: Sequence[str] = (),
    thumbnail_col: str | None = None,
    top: int | None = None,
    title: str | None = None,
) -> str:
    """The page of a saved report (``labelaudit render``); ``data`` is the scanned input table, if wanted."""
    report, metadata = read_report(path)
    html.check_report(report, html.schema_of(report, metadata), path)
    parameters = metadata.get("parameters") or {}
    return render_page(
        report,
        metadata,
        data=data,
        data_format=data_format,
        show_cols=show_cols,
        thumbnail_col=thumbnail_col,
        top=top,
        title=title,
        source=parameters.get("input") or path,
    )
