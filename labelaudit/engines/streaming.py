"""The streaming engine: the single-label scan of a file whose probabilities do not fit in memory.

Reads the file once per pass (:mod:`labelaudit.io.chunks`) and runs
:func:`labelaudit.core.streaming.stream_label_issues`; the report (schema ``labelaudit.scan/1``) and the
summary equal those of the in-memory scan. Only the report's small columns are held for all N rows.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

from labelaudit.engines.base import RowResults, ScanOptions


class _ReaderError(Exception):
    """Carries an error raised while reading a chunk (already names the file) through the core."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


def run_streaming(opts: ScanOptions, chunk_rows: int) -> RowResults:
    """The single-label scan of ``opts.data`` read ``chunk_rows`` rows at a time."""

    from labelaudit.core.streaming import stream_label_issues
    from labelaudit.errors import LabelauditWarning
    from labelaudit.io.chunks import ChunkedScanInput, ChunkedTable

    table = ChunkedTable(opts.data, opts.input_format, chunk_rows)
    scan_input = ChunkedScanInput(
        table, label_col=opts.label_col, prob_cols=opts.prob_cols, id_col=opts.id_col
    )
    source = scan_input.source
    ids: list[Any] = []
    calls = 0

    def chunks() -> Iterator[tuple[Any, Any]]:
        nonlocal calls
        calls += 1
        first = calls == 1
        try:
            for chunk in scan_input.chunks(with_ids=first and opts.id_col is not None):
                if chunk.ids is not None:
                    ids.append(chunk.ids)
                yield chunk.labels, chunk.probs
        except Exception as exc:
            raise _ReaderError(exc) from None

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", LabelauditWarning)
        try:
            result = stream_label_issues(
                chunks,
                filter_by=opts.method,
                frac_noise=opts.frac_noise,
                compat=opts.compat,
                score=opts.score,
                normalize=opts.normalize,
            )
        except _ReaderError as exc:
            raise exc.error from None
        except ValueError as exc:
            raise type(exc)(f"{source}: {exc}") from None
    for warning in caught:
        warnings.warn(f"{source}: {warning.message}", LabelauditWarning, stacklevel=1)

    return rows_from_stream(result, scan_input.class_names, ids if opts.id_col is not None else None)


def rows_from_stream(result: Any, class_names: Any, ids: list[Any] | None) -> RowResults:
    """The per-row results and summary of a streamed scan (this engine's and the dask engine's)."""
    import numpy as np

    from labelaudit.core.streaming import stream_summary

    return RowResults(
        result.labels,
        result.predicted,
        result.quality,
        result.issues,
        list(class_names),
        np.concatenate(ids) if ids is not None else None,
        stream_summary(result, class_names=class_names, issues=result.issues),
        error_probability=result.error_probability,
    )
