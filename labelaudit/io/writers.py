"""Write reports atomically (temp file in the same directory, then rename) in every output format."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pandas as pd

from labelaudit.errors import InputFileError, UsageError

OUTPUT_FORMATS = ("table", "csv", "jsonl", "json", "parquet")
_EXTENSIONS = {
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".txt": "table",
}


def output_format_for(path: str | None, forced: str | None) -> str:
    """The format for ``-o path``: ``forced`` if given, else from the extension; stdout defaults to table."""
    if forced is not None:
        if forced not in OUTPUT_FORMATS:
            raise UsageError(f"--format must be one of {', '.join(OUTPUT_FORMATS)}, not {forced!r}")
        return forced
    if path is None or path == "-":
        return "table"
    fmt = _EXTENSIONS.get(Path(path).suffix.lower())
    if fmt is None:
        raise UsageError(f"{path}: cannot tell the output format from the extension; use --format")
    return fmt


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def check_writable(path: str | os.PathLike[str]) -> None:
    """Fail early, before any work, when ``path`` cannot be written (missing directory, or a directory)."""
    target = Path(path)
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise InputFileError(f"{target}: directory {parent} does not exist")
    if target.is_dir():
        raise InputFileError(f"{target}: is a directory, expected a file name")
    if not os.access(parent, os.W_OK):
        raise InputFileError(f"{target}: directory {parent} is not writable")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it over ``path``, on failure delete it."""
    check_writable(path)
    target = Path(path)
    parent = target.parent if str(target.parent) else Path(".")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        # mkstemp makes the file private (0600); a report gets the permissions of any file the user creates
        os.chmod(tmp, 0o666 & ~_current_umask())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"cannot serialise {type(value).__name__}")


def dumps_json(obj: Any) -> str:
    """Deterministic JSON (sorted keys off: order is part of the schema; numpy scalars allowed)."""
    return json.dumps(obj, indent=2, default=_json_default, allow_nan=False, ensure_ascii=False)


def write_text(text: str, path: str | None) -> None:
    """Write ``text`` atomically to ``path`` (stdout when ``path`` is None or ``-``)."""
    if path is None or path == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(obj: Any, path: str) -> None:
    """Write a JSON document atomically (``-`` for stdout)."""
    write_text(dumps_json(obj) + "\n", path)


def _frame_to_stream(frame: pd.DataFrame, fmt: str, stream: IO[str], document: dict[str, Any] | None) -> None:
    if fmt == "csv":
        frame.to_csv(stream, index=False, lineterminator="\n")
    elif fmt == "jsonl":
        for record in frame.to_dict(orient="records"):
            stream.write(json.dumps(record, default=_json_default, ensure_ascii=False) + "\n")
    elif fmt == "json":
        body = dict(document or {})
        body["rows"] = frame.to_dict(orient="records")
        stream.write(dumps_json(body) + "\n")
    else:
        raise UsageError(f"format {fmt!r} cannot be written as text")


def write_frame(
    frame: pd.DataFrame,
    path: str | None,
    fmt: str,
    *,
    metadata: dict[str, Any] | None = None,
) -> None:
    """Write ``frame`` to ``path`` (or stdout when ``path`` is None or ``-``) atomically.

    ``table`` is the plain-text table of :func:`labelaudit.report.table.full_table`. ``metadata`` goes into Parquet key-value metadata (key ``labelaudit``, JSON) and wraps JSON output
    (``{"metadata": ..., "rows": [...]}``); CSV and JSONL carry rows only.
    """
    to_stdout = path is None or path == "-"
    if fmt == "table":
        from labelaudit.report.table import full_table

        write_text(full_table(frame), path)
        return
    if fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(frame, preserve_index=False)
        if metadata is not None:
            existing = dict(table.schema.metadata or {})
            existing[b"labelaudit"] = dumps_json(metadata).encode("utf-8")
            table = table.replace_schema_metadata(existing)
        if to_stdout:
            if sys.stdout.isatty():
                raise UsageError("refusing to write binary parquet to a terminal; use -o FILE")
            sink = pa.BufferOutputStream()
            pq.write_table(table, sink)
            sys.stdout.buffer.write(sink.getvalue().to_pybytes())
            sys.stdout.flush()
            return
        assert path is not None
        with atomic_path(path) as tmp:
            pq.write_table(table, tmp)
        return
    document = {"metadata": metadata} if metadata is not None else None
    if to_stdout:
        _frame_to_stream(frame, fmt, sys.stdout, document)
        sys.stdout.flush()
        return
    assert path is not None
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8", newline="") as handle:
        _frame_to_stream(frame, fmt, handle, document)


def read_parquet_metadata(path: str) -> dict[str, Any]:
    """The labelaudit metadata stored in a Parquet report."""
    import pyarrow.parquet as pq

    meta = pq.read_schema(path).metadata or {}
    raw = meta.get(b"labelaudit")
    return json.loads(raw) if raw else {}
