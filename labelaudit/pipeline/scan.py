"""`labelaudit.scan`: find probably-wrong labels in a table with out-of-fold predicted probabilities.

Report schema ``labelaudit.scan/1`` (one row per input row, in input order unless sorted by rank):

=================  =======  =============================================================
column             type     meaning
=================  =======  =============================================================
row                int64    0-based position of the row in the input
id                 string   the ``id_col`` value (only with ``id_col``)
given_label        string   the label in the data
suggested_label    string   the model's most likely class (ties: first column)
label_quality      float64  ``score`` of the given label, in [0, 1]; lower = more suspicious
error_probability  float64  probability that the given label is wrong (labelaudit.core.posterior)
is_label_issue     bool     flagged by ``method``
rank               int64    1 = most suspicious (ascending label_quality, ties by row)
=================  =======  =============================================================

With ``features`` (probabilities computed out-of-fold, docs/oof.md) the report also has
``neighbour_agreement`` (float64, share of the row's nearest neighbours with its label) and, except for
multi-label scans and ``model="knn"``, ``combined_quality`` (float64, mean of the given label's probability
and the neighbour agreement; lower = more suspicious).

Multi-label scans use schema ``labelaudit.scan-multilabel/1`` (:mod:`labelaudit.pipeline.multilabel`).
"""

from __future__ import annotations

import os
from dataclasses import fields
from typing import Any

from labelaudit.engines.base import (
    CAPABILITIES,
    COMPAT_MODES,
    RowResults,
    ScanOptions,
    canonical_engine,
    check_supported,
)
from labelaudit.errors import UsageError
from labelaudit.pipeline.result import ScanResult

REPORT_SCHEMA = "labelaudit.scan/1"
DEFAULT_CHUNK_ROWS = 200_000
# auto streams when the in-memory matrix and its working copies would take more than this share of free memory
_AUTO_STREAM_SHARE = 0.5


def single_label_result(rows: RowResults) -> ScanResult:
    """The ``labelaudit.scan/1`` report of every single-label engine (in memory, streaming, dask)."""
    import numpy as np
    import pandas as pd

    from labelaudit.core.scores import rank_issues

    names = np.asarray(rows.class_names, dtype=object)
    report = pd.DataFrame({"row": np.arange(len(rows.labels), dtype=np.int64)})
    if rows.ids is not None:
        report["id"] = rows.ids
    # dictionary-encoded: K names and N small codes, never N Python strings (Parquet stores a dictionary)
    report["given_label"] = pd.Categorical.from_codes(rows.labels, categories=names)
    report["suggested_label"] = pd.Categorical.from_codes(rows.suggested, categories=names)
    report["label_quality"] = np.asarray(rows.quality, dtype=np.float64)
    report["error_probability"] = np.asarray(rows.error_probability, dtype=np.float64)
    report["is_label_issue"] = np.asarray(rows.issues, dtype=bool)
    report["rank"] = rank_issues(rows.quality).astype(np.int64)
    columns = [
        "rank",
        "row",
        *(["id"] if rows.ids is not None else []),
        "given_label",
        "suggested_label",
        "label_quality",
        "error_probability",
        "is_label_issue",
    ]
    # the expected number of wrong labels: what the flag count is measured against
    rows.summary["expected_label_errors"] = float(report["error_probability"].sum())
    flagged = report["is_label_issue"].to_numpy()
    rows.summary["unflagged_in_top_ranks"] = int(
        (~flagged & (report["rank"].to_numpy() <= flagged.sum())).sum()
    )
    return ScanResult(report, rows.summary, columns, REPORT_SCHEMA)


def check_options(opts: ScanOptions) -> None:
    """Every choice and number of a scan, checked once, before any data is read."""
    if opts.compat not in COMPAT_MODES:
        raise UsageError(f"--compat must be one of {', '.join(COMPAT_MODES)}, not {opts.compat!r}")
    if not 0.0 < opts.frac_noise <= 1.0:  # also refuses NaN
        raise UsageError(f"--frac-noise must be in (0, 1], not {opts.frac_noise}")
    if opts.label_cols is not None and not opts.multi_label:
        raise UsageError("--label-cols needs --multi-label")
    if opts.multi_label:
        return
    if opts.pooling != "ema":
        raise UsageError("--pooling needs --multi-label")
    if opts.label_sep != ",":
        raise UsageError("--label-sep needs --multi-label")
    from labelaudit.core.filter import FILTER_METHODS
    from labelaudit.core.scores import SCORE_METHODS

    if opts.method not in FILTER_METHODS:
        raise UsageError(f"--method must be one of {', '.join(FILTER_METHODS)}, not {opts.method!r}")
    if opts.score not in SCORE_METHODS:
        raise UsageError(f"--score must be one of {', '.join(SCORE_METHODS)}, not {opts.score!r}")


def default_method(compat: str, multi_label: bool) -> str:
    """The flagging rule used when none is named (labelaudit's own; the reference's under compat=cleanlab)."""
    if multi_label:
        from labelaudit.core.multilabel import DEFAULT_FILTER, DEFAULT_FILTER_CLEANLAB
    else:
        from labelaudit.core.filter import DEFAULT_FILTER, DEFAULT_FILTER_CLEANLAB
    return DEFAULT_FILTER_CLEANLAB if compat == "cleanlab" else DEFAULT_FILTER


def default_score(compat: str, multi_label: bool) -> str:
    """The label-quality score used when none is named (labelaudit's own; the reference's under compat=cleanlab)."""
    if multi_label:
        return "self_confidence"  # the per-tag score pooled by --pooling
    from labelaudit.core.scores import default_score as core_default

    return core_default(compat)


def _warn_if_implausible(result: ScanResult, score: str) -> None:
    """Say so when the labels and the probabilities disagree on most rows: a wrong class order, probabilities
    of another data set or in-sample probabilities look like this, and the report alone would not tell."""
    import warnings

    from labelaudit.errors import LabelauditWarning

    summary = result.summary
    noise = summary.get("estimated_noise_rate")
    k = max(int(summary.get("num_classes", 2)), 2)
    reasons = []
    if noise is not None and noise > 0.5:
        reasons.append(f"the estimated share of wrong labels is {noise:.0%}")
    if score == "self_confidence" and len(result.report):
        unlikely = float((result.report["label_quality"].to_numpy() < 0.5 / k).mean())
        if unlikely > 0.5:
            reasons.append(f"{unlikely:.0%} of the given labels get less than {0.5 / k:.2g} probability")
    if reasons:
        warnings.warn(
            f"implausible result: {' and '.join(reasons)}; check the class order of the probability columns "
            "(--classes, the p_* names) and that the probabilities belong to these rows",
            LabelauditWarning,
            stacklevel=3,
        )


def _free_memory() -> int | None:
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        return None


def _estimated_matrix_bytes(path: str, fmt: str) -> int | None:
    """How much memory the in-memory engine would need for ``path``, roughly, without reading it."""
    try:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            meta = pq.ParquetFile(path).metadata
            return int(meta.num_rows) * int(meta.num_columns) * 8 * 3
        # text: a float takes about 8-10 characters, and pandas holds it as 8 bytes plus copies
        return os.path.getsize(path) * 3
    except Exception:
        return None


def choose_engine(engine: str, opts: ScanOptions, fmt: str | None, chunk_rows: int | None) -> tuple[str, str]:
    """The engine to run and why (``auto``: stream when the data would not fit comfortably in memory)."""
    engine = canonical_engine(engine)
    if engine != "auto":
        return engine, "asked for"
    if chunk_rows is not None:
        return "stream", "--chunk-rows given"
    if fmt is None or opts.data == "-":
        return "memory", "data in memory"
    try:
        check_supported("stream", opts, fmt)
    except UsageError:
        return "memory", "only the memory engine supports these options"
    need, free = _estimated_matrix_bytes(opts.data, fmt), _free_memory()
    if need is not None and free is not None and need > _AUTO_STREAM_SHARE * free:
        return "stream", f"about {need / 2**30:.1f} GiB needed in memory, {free / 2**30:.1f} GiB free"
    return "memory", "fits in memory"


def _frame_of(data: Any, label_col: str) -> tuple[Any, str]:
    """A pandas DataFrame and its display name from a DataFrame, an Arrow table, a mapping of columns or a
    1-D array of labels."""
    import numpy as np
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return data, "<DataFrame>"
    try:
        import pyarrow as pa

        if isinstance(data, pa.Table | pa.RecordBatch):
            return data.to_pandas(), "<Arrow table>"
    except ImportError:  # pragma: no cover - pyarrow is a core dependency
        pass
    if isinstance(data, dict):
        return pd.DataFrame(data), "<dict>"
    if isinstance(data, list | tuple) or getattr(data, "ndim", None) == 1:
        # the given labels alone (class indices or names), their probabilities in probs=
        return pd.DataFrame({label_col: np.asarray(data)}), "<labels>"
    raise UsageError(
        f"data must be a path, a pandas DataFrame, an Arrow table, a dict of columns or an array of labels, "
        f"not {type(data).__name__}"
    )


def _text_columns(opts: ScanOptions) -> tuple[str, ...]:
    """Columns read as text, never guessed to be numbers: the id and the labels."""
    return tuple(c for c in (opts.label_col if opts.label_cols is None else None, opts.id_col) if c)


def _parameters(opts: ScanOptions) -> dict[str, Any]:
    import numpy as np

    parameters: dict[str, Any] = {}
    for f in fields(opts):
        value = getattr(opts, f.name)
        if isinstance(value, np.ndarray):
            value = f"<array {value.shape[0]} x {value.shape[1] if value.ndim > 1 else 1}>"
        parameters[f.name] = value
    parameters["input"] = parameters.pop("data")
    if parameters["input"] == "-":
        parameters["input"] = "<stdin>"
    return parameters


def _out_of_fold(frame: Any, path: str, features: Any, **options: Any) -> tuple[Any, Any]:
    """``scan(features=...)``: the table and its out-of-fold probabilities (:func:`labelaudit.out_of_fold`)."""
    if options.pop("probs") is not None:
        raise UsageError("--features computes the probabilities; it does not go with --probs")
    if options.pop("logits") is not None or options.pop("label_cols") is not None:
        raise UsageError("--features does not go with --logits or --label-cols")
    if canonical_engine(options.pop("engine")) not in ("auto", "memory"):
        raise UsageError("--features fits models on the whole table: the memory engine only")
    from labelaudit.oof import out_of_fold

    input_format = options.pop("input_format")
    if frame is None:
        from labelaudit.io.readers import read_table

        text = (options["label_col"], *([options["id_col"]] if options["id_col"] else []))
        frame = read_table(path, input_format, text_columns=text)
    return frame, out_of_fold(frame, features=features, source="<stdin>" if path == "-" else path, **options)


def scan(
    data: Any,
    *,
    probs: Any = None,
    label_col: str = "label",
    prob_cols: str = "p_*",
    id_col: str | None = None,
    classes: list[str] | None = None,
    input_format: str | None = None,
    method: str | None = None,
    score: str | None = None,
    compat: str = "paper",
    frac_noise: float = 1.0,
    normalize: bool = False,
    multi_label: bool = False,
    label_sep: str = ",",
    label_cols: str | None = None,
    pooling: str = "ema",
    engine: str = "auto",
    chunk_rows: int | None = None,
    scheduler: str | None = None,
    keep_cols: list[str] | None = None,
    logits: str | None = None,
    features: str | list[str] | None = None,
    model: str = "logreg",
    folds: int = 5,
    seed: int = 0,
) -> ScanResult:
    """Find probably-wrong labels.

    ``data`` is a path (CSV, TSV, Parquet, JSON Lines; ``-`` is stdin; for ``engine="dask"`` also a directory
    or a glob of Parquet files), a pandas DataFrame, an Arrow table or a dict of columns. Probabilities are
    the ``prob_cols`` columns of the data, or ``probs``: a path (.npy by row, or a table by row or joined on
    ``id_col``) or an N x K array. Raises :class:`~labelaudit.errors.LabelauditError` subclasses for bad input.
    ``keep_cols`` names input columns to carry into the report (a text, a path).
    ``logits`` (``softmax`` or, for multi-label, ``sigmoid``) says the probabilities are a model's raw scores.
    ``features`` (``"auto"`` or column names): no probabilities exist, compute them out-of-fold with ``model``,
    ``folds`` and ``seed`` (:func:`labelaudit.out_of_fold`; recorded under ``out_of_fold`` in the metadata).
    """
    from labelaudit.pipeline.provenance import versions

    if method is None:
        method = default_method(compat, multi_label)
    if score is None:
        score = default_score(compat, multi_label)
    frame = None
    if isinstance(data, str | os.PathLike):
        path = os.fspath(data)
    else:
        frame, path = _frame_of(data, label_col)
    oof = None
    if features is not None:
        frame, oof = _out_of_fold(
            frame,
            path,
            features,
            probs=probs,
            logits=logits,
            label_cols=label_cols,
            engine=engine,
            input_format=input_format,
            label_col=label_col,
            id_col=id_col,
            multi_label=multi_label,
            label_sep=label_sep,
            model=model,
            folds=folds,
            seed=seed,
        )
        probs, classes = oof.probabilities, oof.class_names
    opts = ScanOptions(
        data=path,
        label_col=label_col,
        prob_cols=prob_cols,
        probs=os.fspath(probs) if isinstance(probs, os.PathLike) else probs,
        id_col=id_col,
        classes=list(classes) if classes is not None else None,
        input_format=input_format,
        method=method,
        score=score,
        compat=compat,
        frac_noise=frac_noise,
        normalize=normalize,
        multi_label=multi_label,
        label_sep=label_sep,
        label_cols=label_cols,
        pooling=pooling,
    )
    check_options(opts)
    if chunk_rows is not None and chunk_rows < 1:
        raise UsageError(f"--chunk-rows must be at least 1, not {chunk_rows}")
    if scheduler is not None and canonical_engine(engine) != "dask":
        raise UsageError("--scheduler needs --engine dask")
    fmt = input_format.lower() if input_format is not None else None
    if frame is None and canonical_engine(engine) != "dask":
        from labelaudit.io.readers import detect_format

        fmt = detect_format(path, input_format)
    chosen, reason = choose_engine(engine, opts, fmt, chunk_rows)
    if logits is not None:
        from labelaudit.pipeline.logits import apply_logits

        frame, opts = apply_logits(logits, frame, opts, chosen, path)
    if frame is not None and chosen != "memory":
        raise UsageError(f"--engine {chosen} reads files; a table already in memory uses the memory engine")
    check_supported(chosen, opts, fmt)
    if chunk_rows is not None and chosen == "dask":
        raise UsageError("--chunk-rows is for the stream engine; --engine dask reads one row group at a time")

    if chosen == "dask":
        from labelaudit.engines.dask_engine import run_dask

        result = single_label_result(run_dask(opts, scheduler))
    elif chosen == "stream":
        from labelaudit.engines.streaming import run_streaming

        result = single_label_result(run_streaming(opts, chunk_rows or DEFAULT_CHUNK_ROWS))
    else:
        rows = None
        if frame is None and fmt == "parquet" and not multi_label and opts.probs is None:
            from labelaudit.engines.memory import run_single_label_parquet

            rows = run_single_label_parquet(opts)
        if rows is None and frame is None:
            from labelaudit.io.readers import read_table

            frame = read_table(path, input_format, text_columns=_text_columns(opts))
        if rows is not None:
            result = single_label_result(rows)
        elif multi_label:
            from labelaudit.pipeline.multilabel import run_multilabel

            result = run_multilabel(frame, opts)
        else:
            from labelaudit.engines.memory import run_single_label

            result = single_label_result(run_single_label(frame, opts))
    if not multi_label:
        _warn_if_implausible(result, score)
    # the engine is not recorded in the report: every engine writes the same bytes
    result.parameters = _parameters(opts)
    result.versions = versions()
    if keep_cols:
        result.keep_input_columns(frame if frame is not None else path, list(keep_cols), input_format)
        result.parameters["keep_cols"] = list(keep_cols)
    if logits is not None:
        result.parameters["logits"] = logits
    if oof is not None:
        for name, values in oof.scan_columns().items():
            result.report[name] = values
        result.extra_metadata["out_of_fold"] = oof.provenance()
    result.engine, result.engine_reason = chosen, reason
    result.input_frame = frame  # for the HTML page's shown columns and top classes (None when streamed)
    return result


__all__ = ["CAPABILITIES", "REPORT_SCHEMA", "ScanResult", "scan"]
