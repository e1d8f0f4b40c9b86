"""`labelaudit scan`: find probably-wrong labels in a table with out-of-fold predicted probabilities.

Report schema ``labelaudit.scan/1`` (one row per input row, in input order unless ``--sort rank``):

=================  =======  =============================================================
column             type     meaning
=================  =======  =============================================================
row                int64    0-based position of the row in the input
id                 string   the ``--id-col`` value (only with ``--id-col``)
given_label        string   the label in the data
suggested_label    string   the model's most likely class (ties: first column)
label_quality      float64  ``--score`` of the given label, in [0, 1]; lower = more suspicious
is_label_issue     bool     flagged by ``--method``
rank               int64    1 = most suspicious (ascending label_quality, ties by row)
=================  =======  =============================================================

Multi-label scans (``--multi-label``) use schema ``labelaudit.scan-multilabel/1``, documented in
:mod:`labelaudit.cli.scan_multilabel`.

Multi-label hook: ``labelaudit.cli.scan_multilabel.run_multilabel(frame, opts) -> ScanResult`` receives the
input table and :class:`ScanOptions`; it returns the report frame, the summary dict (``num_examples``,
``num_issues`` and ``health_score`` at least) and the columns to show in the terminal table. It may use
:func:`labelaudit.cli.inputs.load_probabilities` for ``p_*`` columns / ``--probs``.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import asdict, dataclass, field
from typing import Any

import typer

from labelaudit.cli.errors import handle_errors
from labelaudit.cli.provenance import versions

REPORT_SCHEMA = "labelaudit.scan/1"


@dataclass(frozen=True)
class ScanOptions:
    data: str
    label_col: str = "label"
    prob_cols: str = "p_*"
    probs: str | None = None
    id_col: str | None = None
    classes: list[str] | None = None
    input_format: str | None = None
    method: str = "prune_by_noise_rate"
    score: str = "self_confidence"
    compat: str = "paper"
    frac_noise: float = 1.0
    normalize: bool = False
    multi_label: bool = False
    label_sep: str = ","
    label_cols: str | None = None
    aggregate: str = "ema"


@dataclass
class ScanResult:
    report: Any  # pandas.DataFrame
    summary: dict[str, Any]
    table_columns: list[str]
    schema: str = REPORT_SCHEMA
    extra_metadata: dict[str, Any] = field(default_factory=dict)


def run_single_label(frame: Any, opts: ScanOptions) -> ScanResult:
    """The single-label confident-learning scan of an already-read table."""

    from labelaudit.cli.inputs import display_name, encode_labels, load_probabilities_for, require_column
    from labelaudit.core.filter import find_label_issues
    from labelaudit.core.scores import label_quality_scores, predicted_labels
    from labelaudit.core.summary import dataset_summary
    from labelaudit.core.validate import check_inputs
    from labelaudit.errors import LabelauditWarning

    source = display_name(opts.data)
    label_series = require_column(frame, opts.label_col, source, "--label-col")
    ids = require_column(frame, opts.id_col, source, "--id-col") if opts.id_col else None
    probs = load_probabilities_for(frame, opts, source)
    labels, class_names = encode_labels(label_series, probs.class_names, source, opts.label_col)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", LabelauditWarning)
        try:
            labels, pred_probs = check_inputs(labels, probs.matrix, normalize=opts.normalize)
        except ValueError as exc:
            raise type(exc)(f"{probs.source}: {exc}") from None
    for warning in caught:
        warnings.warn(f"{probs.source}: {warning.message}", LabelauditWarning, stacklevel=1)

    with warnings.catch_warnings():
        # the inputs were checked (and warned about) once above; the calls below check them again
        warnings.simplefilter("ignore", LabelauditWarning)
        issues = find_label_issues(
            labels, pred_probs, filter_by=opts.method, frac_noise=opts.frac_noise, compat=opts.compat
        )
        quality = label_quality_scores(labels, pred_probs, method=opts.score)
        suggested = predicted_labels(pred_probs)
        summary = dataset_summary(
            labels, pred_probs, class_names=class_names, compat=opts.compat, issues=issues
        )

    id_values = ids.astype(str).to_numpy() if ids is not None else None
    return single_label_result(labels, suggested, quality, issues, class_names, id_values, summary)


def single_label_result(
    labels: Any,
    suggested: Any,
    quality: Any,
    issues: Any,
    class_names: list[str],
    ids: Any,
    summary: dict[str, Any],
) -> ScanResult:
    """The ``labelaudit.scan/1`` report of every single-label engine (in memory, streaming, dask)."""
    import numpy as np
    import pandas as pd

    from labelaudit.core.scores import rank_issues

    names = np.asarray(class_names, dtype=object)
    report = pd.DataFrame({"row": np.arange(len(labels), dtype=np.int64)})
    if ids is not None:
        report["id"] = ids
    report["given_label"] = names[labels]
    report["suggested_label"] = names[suggested]
    report["label_quality"] = np.asarray(quality, dtype=np.float64)
    report["is_label_issue"] = np.asarray(issues, dtype=bool)
    report["rank"] = rank_issues(quality).astype(np.int64)
    columns = [
        "rank",
        "row",
        *(["id"] if ids is not None else []),
        "given_label",
        "suggested_label",
        "label_quality",
        "is_label_issue",
    ]
    return ScanResult(report, summary, columns)


def _check_choices(opts: ScanOptions) -> None:
    from labelaudit.errors import UsageError

    if opts.compat not in ("paper", "cleanlab"):
        raise UsageError(f"--compat must be 'paper' or 'cleanlab', not {opts.compat!r}")
    if not 0.0 < opts.frac_noise <= 1.0:
        raise UsageError(f"--frac-noise must be in (0, 1], not {opts.frac_noise}")
    if opts.multi_label:
        return
    from labelaudit.core.filter import FILTER_METHODS
    from labelaudit.core.scores import SCORE_METHODS

    if opts.method not in FILTER_METHODS:
        raise UsageError(f"--method must be one of {', '.join(FILTER_METHODS)}, not {opts.method!r}")
    if opts.score not in SCORE_METHODS:
        raise UsageError(f"--score must be one of {', '.join(SCORE_METHODS)}, not {opts.score!r}")


def _gate(
    summary: dict[str, Any],
    *,
    max_issues: int | None,
    max_issue_rate: float | None,
    min_health: float | None,
    new_issues: int,
) -> list[str]:
    failures = []
    n = max(int(summary.get("num_examples", 0)), 1)
    if max_issues is not None and new_issues > max_issues:
        failures.append(f"{new_issues} label issues > --max-issues {max_issues}")
    if max_issue_rate is not None and new_issues / n > max_issue_rate:
        failures.append(f"issue rate {new_issues / n:.4f} > --max-issue-rate {max_issue_rate}")
    health = summary.get("health_score")
    if min_health is not None and health is not None and health < min_health:
        failures.append(f"health score {health:.4f} < --min-health {min_health}")
    return failures


def _baseline_keys(path: str, key: str) -> set[str]:
    """Accepted findings: a previous report (any format labelaudit writes) or a text file with one key a line."""
    from pathlib import Path

    from labelaudit.errors import ConfigError
    from labelaudit.io.readers import read_table

    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"{path}: baseline file not found")
    if file.suffix.lower() in (".txt", ""):
        return {
            line.strip()
            for line in file.read_text().splitlines()
            if line.strip() and not line.startswith("#")
        }
    try:
        frame = read_table(path)
    except Exception as exc:
        raise ConfigError(f"{path}: cannot read baseline: {exc}") from None
    if key not in frame.columns:
        raise ConfigError(f"{path}: baseline has no {key!r} column")
    if "is_label_issue" in frame.columns:
        frame = frame[frame["is_label_issue"].astype(bool)]
    return set(frame[key].astype(str))


@handle_errors
def scan(
    data: str = typer.Argument(..., help="Labelled table: .csv, .tsv, .parquet, .jsonl, or - for stdin."),
    label_col: str = typer.Option("label", "--label-col", help="Column with the given labels."),
    prob_cols: str = typer.Option(
        "p_*",
        "--prob-cols",
        help="Glob of probability columns; the class is the name without the glob's prefix.",
    ),
    probs: str | None = typer.Option(
        None,
        "--probs",
        help="Probabilities in a separate file: .npy (by row) or a table (by row, or on --id-col).",
    ),
    id_col: str | None = typer.Option(
        None, "--id-col", help="Column identifying rows (reported; joins --probs)."
    ),
    classes: str | None = typer.Option(
        None, "--classes", help="Comma-separated class names of the --probs .npy columns, in order."
    ),
    input_format: str | None = typer.Option(
        None, "--input-format", help="Force the input format: csv, tsv, parquet, jsonl."
    ),
    method: str = typer.Option(
        "prune_by_noise_rate",
        "--method",
        help="How to flag issues (filter_by): prune_by_noise_rate, "
        "prune_by_class, both, confident_learning, predicted_neq_given, low_self_confidence, low_normalized_margin.",
    ),
    score: str = typer.Option(
        "self_confidence",
        "--score",
        help="Label-quality score: self_confidence, normalized_margin, confidence_weighted_entropy.",
    ),
    compat: str = typer.Option(
        "paper", "--compat", help="paper (Northcutt et al. 2021) or cleanlab (cleanlab 2.9)."
    ),
    frac_noise: float = typer.Option(1.0, "--frac-noise", help="Flag this fraction of the estimated issues."),
    normalize: bool = typer.Option(False, "--normalize", help="Rescale rows that do not sum to 1."),
    multi_label: bool = typer.Option(
        False, "--multi-label", help="Each row has a set of tags (see --label-sep)."
    ),
    label_sep: str = typer.Option(
        ",", "--label-sep", help="Multi-label: separator of tags in the label column."
    ),
    label_cols: str | None = typer.Option(
        None, "--label-cols", help="Multi-label: glob of 0/1 columns, one per class (instead of --label-col)."
    ),
    aggregate: str = typer.Option(
        "ema",
        "--aggregate",
        help="Multi-label: per-example score from per-class scores: ema, softmin, min, mean.",
    ),
    top: int = typer.Option(20, "--top", min=0, help="Rows to show in the terminal table."),
    output: str | None = typer.Option(
        None, "-o", "--output", help="Write the full report here (- for stdout)."
    ),
    fmt: str | None = typer.Option(
        None,
        "--format",
        help="Report format: table, csv, jsonl, json, parquet (default: from -o's extension).",
    ),
    sort: str = typer.Option("row", "--sort", help="Report row order: row (input order) or rank."),
    issues_only: bool = typer.Option(False, "--issues-only", help="Write only the rows flagged as issues."),
    summary_path: str | None = typer.Option(
        None, "--summary", help="Write the dataset summary as JSON here."
    ),
    html_path: str | None = typer.Option(None, "--html", help="Write a self-contained HTML report here."),
    max_issues: int | None = typer.Option(
        None, "--max-issues", help="Gate: exit 1 if more issues than this."
    ),
    max_issue_rate: float | None = typer.Option(
        None, "--max-issue-rate", help="Gate: exit 1 if the share of flagged rows exceeds this."
    ),
    min_health: float | None = typer.Option(
        None, "--min-health", help="Gate: exit 1 if the health score is lower."
    ),
    baseline: str | None = typer.Option(
        None,
        "--baseline",
        help="Accepted findings (a previous report, or ids/rows one per line): not counted by the gate.",
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print nothing but errors."),
    chunk_rows: int | None = typer.Option(
        None,
        "--chunk-rows",
        help="Stream a CSV/TSV/Parquet file this many rows at a time (several passes, "
        "memory independent of N x K; compat paper; not with --probs or the low_* methods).",
    ),
    engine: str = typer.Option(
        "local",
        "--engine",
        help="local, or dask: DATA is a Parquet file, a directory of .parquet files or a glob, "
        "scanned partition by partition with dask (needs the dask extra; same results; see docs/dask.md).",
    ),
    dask_scheduler: str | None = typer.Option(
        None,
        "--dask-scheduler",
        help="--engine dask: address of a dask.distributed scheduler to run on "
        "(default: dask's local scheduler).",
    ),
) -> None:
    """Find probably-wrong labels from out-of-fold predicted probabilities."""
    from labelaudit.errors import GateFailed, UsageError
    from labelaudit.io.writers import output_format_for

    started = time.perf_counter()
    opts = ScanOptions(
        data=data,
        label_col=label_col,
        prob_cols=prob_cols,
        probs=probs,
        id_col=id_col,
        classes=[c.strip() for c in classes.split(",")] if classes else None,
        input_format=input_format,
        method=method,
        score=score,
        compat=compat,
        frac_noise=frac_noise,
        normalize=normalize,
        multi_label=multi_label,
        label_sep=label_sep,
        label_cols=label_cols,
        aggregate=aggregate,
    )
    if sort not in ("row", "rank"):
        raise UsageError(f"--sort must be 'row' or 'rank', not {sort!r}")
    _check_choices(opts)
    out_fmt = output_format_for(output, fmt) if (output is not None or fmt is not None) else None
    named = [p for p in (output, summary_path, html_path) if p is not None and p != "-"]
    if len(set(named)) != len(named):
        raise UsageError("-o, --summary and --html must name different files")
    from labelaudit.io.writers import check_writable

    for path in named:
        check_writable(path)
    if label_cols is not None and not multi_label:
        raise UsageError("--label-cols needs --multi-label")
    if engine not in ("local", "dask"):
        raise UsageError(f"--engine must be 'local' or 'dask', not {engine!r}")
    if dask_scheduler is not None and engine != "dask":
        raise UsageError("--dask-scheduler needs --engine dask")
    if engine == "dask" and chunk_rows is not None:
        raise UsageError(
            "--chunk-rows is for --engine local; --engine dask reads one Parquet row group at a time"
        )
    accepted = _baseline_keys(baseline, "id" if id_col else "row") if baseline else set()

    if engine == "dask":
        from labelaudit.engines.dask_engine import run_dask

        result = run_dask(opts, dask_scheduler)
    elif chunk_rows is not None and not multi_label:
        from labelaudit.cli.scan_streaming import run_streaming

        result = run_streaming(opts, chunk_rows)
    else:
        from labelaudit.io.readers import read_table

        frame = read_table(data, input_format)
        if multi_label:
            from labelaudit.cli.scan_multilabel import run_multilabel

            result = run_multilabel(frame, opts)
        else:
            result = run_single_label(frame, opts)

    _emit(
        result,
        opts,
        output=output,
        out_fmt=out_fmt,
        sort=sort,
        issues_only=issues_only,
        summary_path=summary_path,
        html_path=html_path,
        top=top,
        quiet=quiet,
        started=started,
    )

    issues = result.report["is_label_issue"].to_numpy()
    if accepted:
        keys = result.report["id" if id_col else "row"].astype(str).to_numpy()
        import numpy as np

        new_issues = int((issues & ~np.isin(keys, list(accepted))).sum())
    else:
        new_issues = int(issues.sum())
    failures = _gate(
        result.summary,
        max_issues=max_issues,
        max_issue_rate=max_issue_rate,
        min_health=min_health,
        new_issues=new_issues,
    )
    if failures:
        raise GateFailed("gate failed: " + "; ".join(failures))


def _emit(
    result: ScanResult,
    opts: ScanOptions,
    *,
    output: str | None,
    out_fmt: str | None,
    sort: str,
    issues_only: bool,
    summary_path: str | None,
    html_path: str | None,
    top: int,
    quiet: bool,
    started: float,
) -> None:
    from labelaudit.cli.console import stderr_console
    from labelaudit.io.writers import write_frame, write_json, write_text
    from labelaudit.report.table import issues_table, print_scan_summary

    report = result.report
    if sort == "rank":
        report = report.sort_values("rank", kind="stable").reset_index(drop=True)
    if issues_only:
        report = report[report["is_label_issue"]].reset_index(drop=True)
    parameters = {k: v for k, v in asdict(opts).items() if k != "data"}
    parameters["input"] = "<stdin>" if opts.data == "-" else opts.data
    metadata = {
        "schema": result.schema,
        "parameters": parameters,
        "versions": versions(),
        "summary": result.summary,
        **result.extra_metadata,
    }
    if summary_path is not None:
        write_json(
            {
                "schema": result.schema.replace("/", ".summary/"),
                **result.summary,
                "parameters": parameters,
                "versions": metadata["versions"],
            },
            summary_path,
        )
    if html_path is not None:
        from labelaudit.report.html import render_html

        write_text(
            render_html(
                result.report,
                result.summary,
                metadata,
                table_columns=result.table_columns,
                title="labelaudit scan",
                top=max(top, 100),
            ),
            html_path,
        )
    if out_fmt is not None:
        write_frame(report, output, out_fmt, metadata=metadata)
    if quiet:
        return
    console = stderr_console()
    if top > 0:
        console.print(
            issues_table(
                result.report, result.table_columns, top=top, title=f"Most suspicious rows (top {top})"
            )
        )
    print_scan_summary(console, result.summary)
    if output is not None and output != "-":
        console.print(f"report: {output} ({len(report)} rows)   [{time.perf_counter() - started:.1f}s]")
