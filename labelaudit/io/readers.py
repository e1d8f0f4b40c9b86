"""Read tables (CSV, TSV, Parquet, JSON Lines, stdin) and arrays (.npy) with one-line errors."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from labelaudit.errors import InputFileError, UsageError

TABLE_FORMATS = ("csv", "tsv", "parquet", "jsonl")
_EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
}
STDIN = "-"


def detect_format(path: str, forced: str | None = None) -> str:
    """The table format of ``path``: ``forced`` if given, else from the extension (stdin defaults to CSV)."""
    if forced is not None:
        fmt = forced.lower()
        if fmt not in TABLE_FORMATS:
            raise UsageError(f"--input-format must be one of {', '.join(TABLE_FORMATS)}, not {forced!r}")
        return fmt
    if path == STDIN:
        return "csv"
    name = path.lower()
    for suffix in (".gz", ".bz2", ".zst", ".xz"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    fmt = _EXTENSIONS.get(Path(name).suffix)
    if fmt is None:
        raise UsageError(
            f"{path}: cannot tell the format from the extension; use --input-format "
            f"({', '.join(TABLE_FORMATS)})"
        )
    return fmt


def unreadable(label: str, fmt: str, exc: Exception) -> InputFileError:
    """The one-line error for a file the parser rejected: its name, the format, the parser's first line."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return InputFileError(f"{label}: cannot read as {fmt}: {first}")


def check_file(path: str) -> None:
    """An existing, non-empty file that is not a directory, or an :class:`InputFileError` naming it."""
    p = Path(path)
    if not p.exists():
        raise InputFileError(f"{path}: no such file")
    if p.is_dir():
        raise InputFileError(f"{path}: is a directory, expected a file")
    if p.stat().st_size == 0:
        raise InputFileError(f"{path}: file is empty")


def read_table(path: str, input_format: str | None = None) -> pd.DataFrame:
    """Read a whole table into a DataFrame. ``path`` may be ``-`` for stdin.

    Raises :class:`InputFileError` with the file name for anything unreadable or empty.
    """
    fmt = detect_format(path, input_format)
    source: object
    if path == STDIN:
        data = sys.stdin.buffer.read()
        if not data.strip():
            raise InputFileError("<stdin>: no data on standard input")
        source = io.BytesIO(data)
        label = "<stdin>"
    else:
        check_file(path)
        source = path
        label = path
    try:
        if fmt == "csv":
            frame = pd.read_csv(source)
        elif fmt == "tsv":
            frame = pd.read_csv(source, sep="\t")
        elif fmt == "parquet":
            frame = pd.read_parquet(source)
        else:
            frame = pd.read_json(source, lines=True, precise_float=True)
    except pd.errors.EmptyDataError:
        raise InputFileError(f"{label}: file is empty") from None
    except Exception as exc:  # parsers raise ValueError, OSError, UnicodeDecodeError, pyarrow's own types ...
        raise unreadable(label, fmt, exc) from None
    if len(frame) == 0:
        raise InputFileError(f"{label}: no data rows")
    return frame


def read_npy(path: str) -> np.ndarray:
    """Read a .npy array (no pickles)."""
    check_file(path)
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise InputFileError(f"{path}: cannot read as .npy: {str(exc).splitlines()[0]}") from None
