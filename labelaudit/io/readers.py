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


def _duplicate(names: list[str]) -> str | None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            return name
        seen.add(name)
    return None


def check_header(source: str | bytes, fmt: str, label: str | None = None) -> None:
    """Refuse a CSV/TSV header that names a column twice (pandas would rename the second ``p_x`` to ``p_x.1``)."""
    import csv

    if fmt not in ("csv", "tsv"):
        return
    if isinstance(source, str) and source.lower().endswith((".gz", ".bz2", ".zst", ".xz", ".zip")):
        return  # compressed: the parser's own header is all there is
    if isinstance(source, bytes):
        first = source.split(b"\n", 1)[0]
        label = label or "<stdin>"
    else:
        label = label or source
        try:
            with open(source, "rb") as handle:
                first = handle.readline(1 << 24)
        except OSError:
            return  # the parser reports it
    text = first.decode("utf-8-sig", errors="replace").rstrip("\r\n")
    try:
        names = next(csv.reader([text], delimiter="\t" if fmt == "tsv" else ","), [])
    except csv.Error:
        return
    twice = _duplicate([n.strip() for n in names if n.strip()])
    if twice is not None:
        raise InputFileError(f"{label}: the header names column {twice!r} more than once")


def read_table(
    path: str, input_format: str | None = None, *, text_columns: tuple[str, ...] = ()
) -> pd.DataFrame:
    """Read a whole table into a DataFrame. ``path`` may be ``-`` for stdin.

    ``text_columns`` (ids, labels) are read as text from CSV, TSV and JSON Lines, never guessed to be
    numbers: id ``00007`` stays ``00007`` and labels ``1`` and ``01`` stay apart. Missing cells stay missing.

    Raises :class:`InputFileError` with the file name for anything unreadable or empty.
    """
    fmt = detect_format(path, input_format)
    source: object
    if path == STDIN:
        if sys.stdin is None:  # started with fd 0 closed (`<&-`)
            raise InputFileError("<stdin>: standard input is closed")
        try:
            data = sys.stdin.buffer.read()
        except OSError as exc:
            raise InputFileError(f"<stdin>: cannot read: {exc.strerror or exc}") from None
        if not data.strip():
            raise InputFileError("<stdin>: no data on standard input")
        check_header(data, fmt)
        source = io.BytesIO(data)
        label = "<stdin>"
    else:
        check_file(path)
        check_header(path, fmt)
        source = path
        label = path
    try:
        text = {column: str for column in text_columns if column}
        if fmt == "csv":
            frame = pd.read_csv(source, dtype=text or None)
        elif fmt == "tsv":
            frame = pd.read_csv(source, sep="\t", dtype=text or None)
        elif fmt == "parquet":
            frame = pd.read_parquet(source)
        else:
            # JSON types its own values: no guessing that "00007" is a number (nor a list a string)
            frame = pd.read_json(source, lines=True, precise_float=True, dtype=not text)
    except pd.errors.EmptyDataError:
        raise InputFileError(f"{label}: file is empty") from None
    except Exception as exc:  # parsers raise ValueError, OSError, UnicodeDecodeError, pyarrow's own types ...
        raise unreadable(label, fmt, exc) from None
    if len(frame) == 0:
        raise InputFileError(f"{label}: no data rows")
    twice = _duplicate([str(c) for c in frame.columns])
    if twice is not None:  # Parquet and JSON can repeat a name too
        raise InputFileError(f"{label}: the table names column {twice!r} more than once")
    return frame


_NPY_MAGIC = b"\x93NUMPY"


def read_npy(path: str) -> np.ndarray:
    """Read a .npy array (never pickles: a file that needs one is refused, with no hint to allow it)."""
    check_file(path)
    try:
        with open(path, "rb") as handle:
            magic = handle.read(len(_NPY_MAGIC))
    except OSError as exc:
        raise InputFileError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if magic != _NPY_MAGIC:
        raise InputFileError(
            f"{path}: not a .npy file (it does not start with NumPy's .npy header); "
            "save the array with numpy.save, or give a table (.csv, .parquet, ...)"
        )
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        if "pickle" in str(exc).lower():
            raise InputFileError(
                f"{path}: holds Python objects, not numbers; save a numeric array (for example "
                "numpy.save(path, probs.astype('float32')))"
            ) from None
        raise InputFileError(f"{path}: cannot read as .npy: {str(exc).splitlines()[0]}") from None
