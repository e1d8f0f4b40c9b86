"""Read a CSV/TSV/Parquet file in row chunks, once per pass, for streaming scans.

CSV/TSV go through ``pandas.read_csv(chunksize=...)`` (the same parser as :func:`read_table`, so every
value parses to the same float); Parquet through ``pyarrow.parquet.ParquetFile.iter_batches``. Column
resolution, label encoding and value errors reuse :mod:`labelaudit.io.columns` on each chunk; row
numbers in errors are global.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from labelaudit.errors import ColumnError, InputError, InputFileError, UsageError
from labelaudit.io.readers import STDIN, check_file, check_header, detect_format, unreadable

STREAMABLE_FORMATS = ("csv", "tsv", "parquet")


class ChunkedTable:
    """A table file read ``chunk_rows`` rows at a time; :meth:`frames` may be called once per pass."""

    def __init__(self, path: str, input_format: str | None, chunk_rows: int) -> None:
        if path == STDIN:
            raise UsageError(
                "--chunk-rows cannot read standard input (every pass re-reads the file); give a file"
            )
        if chunk_rows < 1:
            raise UsageError(f"--chunk-rows must be at least 1, not {chunk_rows}")
        fmt = detect_format(path, input_format)
        if fmt not in STREAMABLE_FORMATS:
            raise UsageError(f"--chunk-rows reads csv, tsv or parquet files, not {fmt}")
        check_file(path)
        self.path, self.fmt, self.chunk_rows = path, fmt, int(chunk_rows)
        # ids and labels are read as text from CSV/TSV (see read_table)
        self.text_columns: tuple[str, ...] = ()
        try:
            if fmt == "parquet":
                import pyarrow.parquet as pq

                parquet = pq.ParquetFile(path)
                self.columns = [str(c) for c in parquet.schema_arrow.names]
                self.num_rows: int | None = parquet.metadata.num_rows
            else:
                head = pd.read_csv(path, sep="\t" if fmt == "tsv" else ",", nrows=0)
                self.columns = [str(c) for c in head.columns]
                check_header(path, fmt)
                self.num_rows = None
        except pd.errors.EmptyDataError:
            raise InputFileError(f"{path}: file is empty") from None
        except InputError:
            raise
        except Exception as exc:
            raise unreadable(path, fmt, exc) from None
        if self.num_rows == 0:
            raise InputFileError(f"{path}: no data rows")

    def frames(self, columns: list[str]) -> Iterator[tuple[int, pd.DataFrame]]:
        """(global offset of the first row, frame of ``columns``) per chunk, in row order."""
        offset = 0
        try:
            if self.fmt == "parquet":
                import pyarrow.parquet as pq

                # no pre-buffering and one row group at a time: iter_batches otherwise keeps several
                # row groups' column chunks in memory (measured: ~1 GB for a 600 MB file)
                parquet = pq.ParquetFile(self.path, pre_buffer=False)
                frames = (
                    batch.to_pandas()
                    for group in range(parquet.num_row_groups)
                    for batch in parquet.iter_batches(
                        batch_size=self.chunk_rows, row_groups=[group], columns=columns, use_threads=False
                    )
                )
            else:
                frames = pd.read_csv(
                    self.path,
                    sep="\t" if self.fmt == "tsv" else ",",
                    usecols=columns,
                    chunksize=self.chunk_rows,
                    dtype={c: str for c in self.text_columns if c in columns} or None,
                )
            for frame in frames:
                if len(frame) == 0:
                    continue
                yield offset, frame.reset_index(drop=True)
                offset += len(frame)
        except InputError:
            raise
        except (
            Exception
        ) as exc:  # parsers raise ValueError, OSError, UnicodeDecodeError, pyarrow's own types ...
            raise unreadable(self.path, self.fmt, exc) from None
        if offset == 0:
            raise InputFileError(f"{self.path}: no data rows")


def _shift_rows(exc: InputError, offset: int) -> InputError:
    """The error of a chunk, its row counted in the whole file (the row is a field, never parsed from text)."""
    return exc.at(row_offset=offset) if exc.row is not None else exc


def label_facts(series: pd.Series, placeholder: bool = False) -> tuple[bool, bool, set[str]]:
    """What one chunk of the label column says: (a label is missing, numeric, distinct stripped strings of a
    text column). ``placeholder`` is accepted for older callers and ignored."""
    from labelaudit.io.columns import _is_integer_like

    if series.isna().any():
        return True, True, set()
    numeric = _is_integer_like(series)
    distinct = set() if numeric else set(series.astype(str).str.strip().unique())
    return False, numeric, distinct


def decide_labels(
    facts: Iterable[tuple[bool, bool, set[str]]], names: list[str], source: str, column: str = "label"
) -> tuple[list[str], str]:
    """Class names and the label mode (:func:`labelaudit.io.columns.label_mode`) of the whole column, from its
    chunks' :func:`label_facts`; stops at the first chunk with a missing label (encoding then reports it)."""
    from labelaudit.io.columns import label_mode

    numeric = True
    distinct: set[str] = set()
    for has_na, numeric_chunk, values in facts:
        if has_na:
            return names, "number" if numeric else "name"
        numeric = numeric and numeric_chunk
        distinct |= values
    if not numeric:
        # a column that is numeric in some chunks and text in others is text
        distinct = {str(v) for v in distinct}
    return names, label_mode(numeric and not distinct, distinct, names, source, column)


def encode_frame(
    frame: pd.DataFrame,
    source: str,
    row_offset: int,
    *,
    label_col: str,
    prob_columns: list[str],
    class_names: list[str],
    label_mode: str,
    id_col: str | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(labels, probabilities, ids) of one chunk, with the rules of :mod:`labelaudit.io.columns`; rows in
    errors are counted from ``row_offset``."""
    from labelaudit.io.columns import encode_labels, numeric_matrix

    probs = numeric_matrix(frame, prob_columns, source, row_offset=row_offset)
    series = frame[label_col]
    if label_mode != "number" and not series.isna().any():
        series = series.astype(str)  # the whole column is text: so is this chunk
    try:
        labels, names = encode_labels(series, class_names, source, label_col, mode=label_mode)
    except (ColumnError, UsageError) as exc:
        raise _shift_rows(exc, row_offset) from None
    if names != class_names:  # cannot happen after decide_labels; guards the invariant
        raise InputError(f"{source}: labels name classes inconsistently across chunks")
    ids = frame[id_col].astype(str).to_numpy() if id_col is not None else None
    return labels, probs, ids


@dataclass
class ScanChunk:
    offset: int
    labels: np.ndarray  # int64
    probs: np.ndarray  # float32/float64, C-contiguous
    ids: np.ndarray | None  # str objects, only on the first pass and with an id column


class ChunkedScanInput:
    """Labels and probability columns of a table, chunk by chunk, with the rules of ``labelaudit.io.columns``.

    ``class_names`` and ``prob_columns`` follow :func:`match_columns`; labels are encoded per chunk with
    :func:`encode_labels` after one pass over the label column has decided, for the whole column, whether
    the labels are integers (and, when the class names are the placeholders 0..K-1, which strings name the
    classes), as reading the whole column would.
    """

    def __init__(self, table: ChunkedTable, *, label_col: str, prob_cols: str, id_col: str | None) -> None:
        from labelaudit.io.columns import match_columns, require_column

        self.table = table
        self.source = table.path
        header = pd.DataFrame(columns=table.columns)
        require_column(header, label_col, self.source, "--label-col")
        if id_col is not None:
            require_column(header, id_col, self.source, "--id-col")
        self.prob_columns, names = match_columns(header, prob_cols, self.source, "--prob-cols")
        self.label_col, self.id_col = label_col, id_col
        table.text_columns = tuple(c for c in (label_col, id_col) if c is not None)
        self.class_names = self._decide_labels(names)

    def _decide_labels(self, names: list[str]) -> list[str]:
        placeholder = names == [str(k) for k in range(len(names))]
        facts = (
            label_facts(frame[self.label_col], placeholder)
            for _, frame in self.table.frames([self.label_col])
        )
        class_names, self.label_mode = decide_labels(facts, names, self.source, self.label_col)
        return class_names

    def chunks(self, *, with_ids: bool = False) -> Iterator[ScanChunk]:
        columns = [self.label_col, *self.prob_columns]
        if self.id_col is not None and with_ids and self.id_col not in columns:
            columns.append(self.id_col)
        for offset, frame in self.table.frames(list(dict.fromkeys(columns))):
            labels, probs, ids = encode_frame(
                frame,
                self.source,
                offset,
                label_col=self.label_col,
                prob_columns=self.prob_columns,
                class_names=self.class_names,
                label_mode=self.label_mode,
                id_col=self.id_col if with_ids else None,
            )
            yield ScanChunk(offset, labels, probs, ids)
