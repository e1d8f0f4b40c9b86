"""Write reports in every output format, atomically: a temporary file beside the target, then a rename.

Where a path leads decides how it is written (:func:`labelaudit.io.paths.write_target`): a regular file
or a new path is replaced atomically, a symlink's target is replaced (the link stays), a FIFO or a
character device is written straight into. Any write error (a full disk, a closed or full stdout)
raises one :class:`~labelaudit.errors.OutputError`; the old file is then left as it was and no
temporary file remains.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, BinaryIO

import pandas as pd

from labelaudit.errors import OutputError, UsageError
from labelaudit.io.paths import check_writable, write_target

__all__ = [
    "OUTPUT_FORMATS",
    "atomic_path",
    "check_writable",
    "dumps_json",
    "open_output",
    "open_text_output",
    "output_format_for",
    "read_parquet_metadata",
    "write_frame",
    "write_json",
    "write_text",
]

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


def _cannot_write(label: str, exc: OSError) -> OutputError:
    return OutputError(f"{label}: cannot write: {exc.strerror or exc}")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside the file ``path`` names; on success rename it over that file.

    A symlink is followed: its target is replaced and the link kept. On any failure the temporary file
    is deleted and the old file is left as it was. Only for regular files and new paths
    (:func:`open_output` writes FIFOs and devices directly).
    """
    target, how = write_target(path)
    if how != "atomic":
        raise OutputError(f"{path}: is not a regular file; it cannot be replaced atomically")
    check_writable(path)
    parent = target.parent if str(target.parent) else Path(".")
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)  # a replaced report keeps its permissions
    except OSError:
        mode = 0o666 & ~_current_umask()  # mkstemp's 0600 would make a new report private
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=parent)
    except OSError as exc:
        raise _cannot_write(str(path), exc) from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb+") as handle:  # on disk before the rename: a crash leaves the old file or the new
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        if isinstance(exc, OSError) and not isinstance(exc, BrokenPipeError):
            raise _cannot_write(str(path), exc) from None
        raise


def _discard_stdout() -> None:
    """Point fd 1 at the null device so that the interpreter's last flush of stdout cannot fail again."""
    with contextlib.suppress(OSError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.close(devnull)


@contextlib.contextmanager
def _stdout_stream() -> Iterator[BinaryIO]:
    """Standard output's bytes; a full or closed stdout is one :class:`OutputError` (a reader leaving is not)."""
    stream = sys.stdout
    if stream is None:  # started with fd 1 closed (`>&-`)
        raise OutputError("standard output is closed")
    try:
        stream.flush()
        yield stream.buffer
        stream.buffer.flush()
    except BrokenPipeError:
        raise
    except (OSError, ValueError) as exc:  # ValueError: I/O operation on a closed file
        _discard_stdout()
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "it is closed"
        raise OutputError(f"standard output: cannot write: {reason}") from None


@contextlib.contextmanager
def open_output(path: str | os.PathLike[str] | None) -> Iterator[BinaryIO]:
    """A binary stream onto ``path``: atomic for regular files and new paths, direct for FIFOs and devices.

    ``None`` or ``-`` is standard output. Write errors become one :class:`OutputError`; a regular file
    is then left as it was.
    """
    if path is None or str(path) == "-":
        with _stdout_stream() as stream:
            yield stream
        return
    target, how = write_target(path)
    if how == "atomic":
        with atomic_path(path) as tmp, open(tmp, "wb") as handle:
            yield handle
        return
    try:
        handle = open(target, "wb")  # noqa: SIM115 (closed below, its errors reported as OutputError)
    except OSError as exc:
        raise _cannot_write(str(path), exc) from None
    try:
        with handle:
            yield handle
    except BrokenPipeError:
        raise _cannot_write(str(path), BrokenPipeError(32, "the reader of the FIFO went away")) from None
    except OSError as exc:
        raise _cannot_write(str(path), exc) from None


class _TextSink:
    """Text onto a binary stream as UTF-8 (no wrapper that would close the stream it wraps)."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw

    def write(self, text: str) -> int:
        self._raw.write(text.encode("utf-8"))
        return len(text)

    def flush(self) -> None:
        self._raw.flush()


@contextlib.contextmanager
def open_text_output(path: str | os.PathLike[str] | None) -> Iterator[IO[str]]:
    """:func:`open_output` as UTF-8 text; line ends are written as given."""
    with open_output(path) as raw:
        yield _TextSink(raw)  # type: ignore[misc]


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
    """Write ``text`` to ``path`` (stdout when ``path`` is None or ``-``), atomically for files."""
    with open_text_output(path) as stream:
        stream.write(text)


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
    elif fmt == "table":
        from labelaudit.report.table import write_plain_table

        write_plain_table(frame, stream)
    else:
        raise UsageError(f"format {fmt!r} cannot be written as text")


def write_frame(
    frame: pd.DataFrame,
    path: str | None,
    fmt: str,
    *,
    metadata: dict[str, Any] | None = None,
) -> None:
    """Write ``frame`` to ``path`` (or stdout when ``path`` is None or ``-``), atomically for files.

    ``table`` is the plain fixed-width text of :func:`labelaudit.report.table.write_plain_table`.
    ``metadata`` goes into Parquet key-value metadata (key ``labelaudit``, JSON) and wraps JSON output
    (``{"metadata": ..., "rows": [...]}``); CSV, JSONL and the table carry rows only.
    """
    if fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(frame, preserve_index=False)
        if metadata is not None:
            existing = dict(table.schema.metadata or {})
            existing[b"labelaudit"] = dumps_json(metadata).encode("utf-8")
            table = table.replace_schema_metadata(existing)
        if (path is None or path == "-") and sys.stdout is not None and sys.stdout.isatty():
            raise UsageError("refusing to write binary parquet to a terminal; use -o FILE")
        with open_output(path) as stream:
            pq.write_table(table, stream)
        return
    document = {"metadata": metadata} if metadata is not None else None
    with open_text_output(path) as stream:
        _frame_to_stream(frame, fmt, stream, document)


def read_parquet_metadata(path: str) -> dict[str, Any]:
    """The labelaudit metadata stored in a Parquet report."""
    import pyarrow.parquet as pq

    meta = pq.read_schema(path).metadata or {}
    raw = meta.get(b"labelaudit")
    return json.loads(raw) if raw else {}
