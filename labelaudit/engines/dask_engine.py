"""`labelaudit scan DATA --engine dask`: the single-label scan of Parquet data spread over many files.

DATA is a Parquet file, a directory of ``*.parquet`` files or a glob. Files are taken in name order
(sorted path strings), and each row group of each file is one partition; the report's ``row`` is the
global position in that order (the row of the concatenated files).

Every pass of :mod:`labelaudit.core.streaming` becomes one map over the partitions (``dask.delayed``
tasks, each reading its row group) followed by a combine on the client, in partition order, with the
streaming core's own map/combine steps: so the report and the summary are exactly those of the local
scan of the concatenated data, whatever the scheduler, the number of workers or of partitions.

0. label facts per partition (missing? integer-like? distinct strings) -> how labels are encoded;
1. :func:`~labelaudit.core.streaming.check_chunk` -> :class:`~labelaudit.core.streaming.ChecksFold`
   (the per-row self-confidences come back and are added in row order: bit-identical thresholds);
2. :func:`~labelaudit.core.streaming.confident_chunk` -> :class:`~labelaudit.core.streaming.ConfidentFold`;
3. (PBNR/PBC/both) each partition's bounded heaps -> their entries offered to the client's heaps.
"""

from __future__ import annotations

import glob as globlib
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from labelaudit.engines.base import RowResults, ScanOptions
from labelaudit.errors import ColumnError, InputFileError, UsageError
from labelaudit.io.chunks import decide_labels
from labelaudit.io.readers import unreadable

DASK_MISSING = "--engine dask needs the dask extra: pip install 'labelaudit[dask]'"


@dataclass(frozen=True)
class Partition:
    path: str
    row_group: int
    offset: int  # global row of the first row
    file_offset: int  # row of the first row within its file
    num_rows: int


@dataclass(frozen=True)
class ReadSpec:
    label_col: str
    prob_columns: tuple[str, ...]
    id_col: str | None
    class_names: tuple[str, ...] = ()
    label_mode: str = "number"


def parquet_files(data: str) -> list[str]:
    """The files of DATA in partition order: a file, a directory's ``*.parquet`` files, or a glob's files."""
    if any(ch in data for ch in "*?["):
        files = sorted(p for p in globlib.glob(data) if Path(p).is_file())
        if not files:
            raise InputFileError(f"{data}: no files match")
        return files
    path = Path(data)
    if path.is_dir():
        files = sorted(str(p) for p in path.iterdir() if p.is_file() and p.suffix.lower() == ".parquet")
        if not files:
            raise InputFileError(f"{data}: directory has no .parquet files")
        return files
    if not path.exists():
        raise InputFileError(f"{data}: no such file")
    return [data]


def plan(data: str, opts: ScanOptions) -> tuple[list[Partition], ReadSpec, list[str]]:
    """Partitions (one per non-empty row group, files in name order) and the columns every file must have."""
    import pyarrow.parquet as pq

    from labelaudit.io.columns import match_columns, require_column

    parts: list[Partition] = []
    offset = 0
    prob_columns: list[str] | None = None
    names: list[str] = []
    first = ""
    for path in parquet_files(data):
        try:
            meta = pq.ParquetFile(path)
            columns = [str(c) for c in meta.schema_arrow.names]
            groups = [meta.metadata.row_group(g).num_rows for g in range(meta.num_row_groups)]
        except Exception as exc:
            raise unreadable(path, "parquet", exc) from None
        header = pd.DataFrame(columns=columns)
        require_column(header, opts.label_col, path, "--label-col")
        if opts.id_col is not None:
            require_column(header, opts.id_col, path, "--id-col")
        matched, matched_names = match_columns(header, opts.prob_cols, path, "--prob-cols")
        if prob_columns is None:
            prob_columns, names, first = matched, matched_names, path
        elif matched != prob_columns:
            missing = [c for c in prob_columns if c not in matched]
            what = (
                f"has no column {missing[0]!r}"
                if missing
                else f"has --prob-cols columns {matched} (not {prob_columns})"
            )
            raise ColumnError(f"{path}: {what}; {first} has {', '.join(prob_columns)}")
        file_offset = 0
        for g, rows in enumerate(groups):
            if rows:
                parts.append(Partition(path, g, offset, file_offset, rows))
            offset += rows
            file_offset += rows
    if not parts:
        raise InputFileError(f"{data}: no data rows")
    assert prob_columns is not None
    return parts, ReadSpec(opts.label_col, tuple(prob_columns), opts.id_col), names


# ------------------------------------------------------------------------------------------------
# map steps (module-level functions: they run on the workers)


def _read(part: Partition, columns: list[str]) -> pd.DataFrame:
    import pyarrow.parquet as pq

    try:
        table = pq.ParquetFile(part.path, pre_buffer=False).read_row_group(
            part.row_group, columns=list(dict.fromkeys(columns)), use_threads=False
        )
        return table.to_pandas()
    except Exception as exc:
        raise unreadable(part.path, "parquet", exc) from None


def partition_label_facts(part: Partition, label_col: str, placeholder: bool) -> tuple[bool, bool, set[str]]:
    """:func:`labelaudit.io.chunks.label_facts` of one partition's label column."""
    from labelaudit.io.chunks import label_facts

    return label_facts(_read(part, [label_col])[label_col], placeholder)


def _chunk(part: Partition, spec: ReadSpec, with_ids: bool):
    """(labels, probs, ids) of a partition, read and encoded as ``ChunkedScanInput.chunks`` does."""
    from labelaudit.core.streaming import prepare_chunk
    from labelaudit.io.chunks import encode_frame

    columns = [spec.label_col, *spec.prob_columns]
    if with_ids and spec.id_col is not None:
        columns.append(spec.id_col)
    frame = _read(part, columns)
    labels, probs, ids = encode_frame(
        frame,
        part.path,
        part.file_offset,
        label_col=spec.label_col,
        prob_columns=list(spec.prob_columns),
        class_names=list(spec.class_names),
        label_mode=spec.label_mode,
        id_col=spec.id_col if with_ids else None,
    )
    prepared = prepare_chunk(labels, probs, part.offset)
    if prepared is None or prepared[0].shape[0] != part.num_rows:
        raise InputFileError(f"{part.path}: row group {part.row_group} has fewer rows than its metadata says")
    return prepared[0], prepared[1], ids


def pass_checks(part: Partition, spec: ReadSpec, normalize: bool, with_ids: bool):
    from labelaudit.core.streaming import check_chunk

    labels, probs, ids = _chunk(part, spec, with_ids)
    return check_chunk(labels, probs, normalize), ids


def pass_confident(part: Partition, spec: ReadSpec, params: Any):
    from labelaudit.core import kernels
    from labelaudit.core.streaming import check_chunk_shape, confident_chunk

    labels, probs, _ = _chunk(part, spec, False)
    check_chunk_shape(probs, params.native.shape[0], params.dtype)
    if params.renormalise:
        probs = kernels.normalize_rows(probs)
    return confident_chunk(labels, probs, params)


def pass_candidates(
    part: Partition, spec: ReadSpec, renormalise: bool, capacities: list, noise: Any, hashes: bool
):
    """Pass 3 of a partition: its heaps' entries, its rows' error probabilities (and content hashes)."""
    from labelaudit.core import kernels
    from labelaudit.core.posterior import row_hashes
    from labelaudit.core.streaming import Heaps, error_probability_chunk

    labels, probs, _ = _chunk(part, spec, False)
    if renormalise:
        probs = kernels.normalize_rows(probs)
    heaps = Heaps(capacities)
    if not heaps.empty:
        heaps.offer(labels, probs, part.offset)
    error = error_probability_chunk(labels, probs, noise)
    return heaps.candidates(), error, row_hashes(labels, probs) if hashes else None


# ------------------------------------------------------------------------------------------------
# the client


class _Client:
    """A ``dask.distributed.Client`` for ``--scheduler``; nothing (dask's configured scheduler) otherwise."""

    def __init__(self, address: str | None) -> None:
        self.address, self.client = address, None

    def __enter__(self) -> _Client:
        if self.address is None:
            return self
        try:
            from distributed import Client
        except ImportError:
            raise UsageError("--scheduler needs dask.distributed: pip install distributed") from None
        try:
            self.client = Client(self.address)
        except (OSError, TimeoutError, ValueError) as exc:
            raise UsageError(f"--scheduler {self.address}: cannot connect: {exc}") from None
        return self

    def __exit__(self, *exc: object) -> None:
        if self.client is not None:
            self.client.close()


def run_dask(opts: ScanOptions, scheduler: str | None = None) -> RowResults:
    """The single-label scan of Parquet DATA (file, directory or glob) with dask; equals the local scan."""
    try:
        import dask
    except ImportError:
        raise UsageError(DASK_MISSING) from None

    from labelaudit.core.scores import SCORE_METHODS
    from labelaudit.core.streaming import (
        POSTERIOR_FILTER_METHODS,
        ChecksFold,
        ConfidentFold,
        Heaps,
        StreamResult,
        check_streaming_params,
        confident_params,
        final_issues,
        heap_capacities,
        posterior_noise,
        quality_from_error,
        thresholds_from,
    )
    from labelaudit.errors import LabelauditWarning

    check_streaming_params(opts.method, opts.compat)
    if opts.score not in SCORE_METHODS:
        raise UsageError(f"--score must be one of {', '.join(SCORE_METHODS)}, not {opts.score!r}")
    source = opts.data
    parts, spec, names = plan(opts.data, opts)

    def run(fn, *args):
        return list(dask.compute(*[dask.delayed(fn)(part, *args) for part in parts]))

    with _Client(scheduler):
        placeholder = names == [str(k) for k in range(len(names))]
        class_names, mode = decide_labels(
            run(partition_label_facts, spec.label_col, placeholder), names, source
        )
        spec = ReadSpec(spec.label_col, spec.prob_columns, spec.id_col, tuple(class_names), mode)

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", LabelauditWarning)
            # pass 1: checks and self-confidences per partition, combined in partition order
            with_ids = opts.id_col is not None
            checked = run(pass_checks, spec, opts.normalize, with_ids)
            fold = ChecksFold(opts.normalize)
            try:
                for part_checks, _ids in checked:
                    fold.add(part_checks)
                labels, k, dtype, sums, counts, renormalise = fold.finish()
            except ValueError as exc:
                raise type(exc)(f"{source}: {exc}") from None
            ids = [part_ids for _, part_ids in checked] if with_ids else []
            del checked, fold
        for warning in caught:
            warnings.warn(f"{source}: {warning.message}", LabelauditWarning, stacklevel=1)
        n = labels.shape[0]
        thresholds = thresholds_from(sums, counts)

        # pass 2: confident joint, flags, scores, predictions
        params = confident_params(thresholds, dtype, opts.method, opts.score, renormalise)
        confident = ConfidentFold(n, k, opts.method)
        for part, part_result in zip(parts, run(pass_confident, spec, params), strict=True):
            confident.add(part.offset, part_result)
        raw, cj = confident.finish(counts)
        # pass 3: each partition's heaps (their entries offered to the client's heaps) and error probabilities
        capacities = (
            []
            if confident.flagged is not None
            else heap_capacities(cj, counts, opts.method, opts.frac_noise, 1)
        )
        heaps = Heaps(capacities)
        noise = posterior_noise(cj, counts)
        want_hashes = opts.method in POSTERIOR_FILTER_METHODS
        error = np.empty(n, dtype=np.float64)
        hashes = np.empty(n, dtype=np.uint64) if want_hashes else None
        for part, (candidates, part_error, part_hashes) in zip(
            parts, run(pass_candidates, spec, renormalise, capacities, noise, want_hashes), strict=True
        ):
            error[part.offset : part.offset + part_error.shape[0]] = part_error
            if hashes is not None:
                hashes[part.offset : part.offset + part_error.shape[0]] = part_hashes
            if not heaps.empty:
                heaps.offer_candidates(candidates)
        issues = final_issues(
            opts.method, confident.flagged, heaps, error, hashes, labels, confident.label_is_top, 1
        )

    quality = quality_from_error(opts.score, confident.quality, error)
    result = StreamResult(
        issues, quality, confident.predicted, labels, counts, thresholds, raw, cj, renormalise, error
    )
    from labelaudit.engines.streaming import rows_from_stream

    return rows_from_stream(result, class_names, ids if opts.id_col is not None else None)
