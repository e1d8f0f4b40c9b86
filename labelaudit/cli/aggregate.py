"""`labelaudit aggregate`: consensus labels and annotator quality from several annotators per item.

Report schema ``labelaudit.aggregate/1`` (one row per item, sorted by item id):

=======================  =======  =====================================================================
column                   type     meaning
=======================  =======  =====================================================================
item                     id       the ``--item-col`` value
consensus_label          label    the aggregated label
consensus_quality        float64  the method's probability that the consensus is right, in [0, 1]
agreement                float64  share of the item's annotations equal to the consensus
num_annotations          int64    annotations of the item (repeats by one annotator count)
is_tie                   bool     the method had equally good classes; broken by the tie rule
runner_up_label          label    the second most probable class
confusion_probability    float64  how plausible the runner-up is (Kim et al.), in [0, 0.5]
=======================  =======  =====================================================================

``--annotators-out`` (schema ``labelaudit.aggregate-annotators/1``): annotator, quality, agreement,
num_annotations, num_items, worst_class, worst_class_accuracy, and confusion_matrix (JSON) for the
Dawid-Skene methods. ``--audit-out`` (``labelaudit.aggregate-audit/1``): item, annotator, label,
consensus_label, quality, is_label_issue — one row per annotation.
"""

from __future__ import annotations

import time
from typing import Any

import typer

from labelaudit.cli.errors import handle_errors
from labelaudit.pipeline.provenance import versions as library_versions

REPORT_SCHEMA = "labelaudit.aggregate/1"
ANNOTATORS_SCHEMA = "labelaudit.aggregate-annotators/1"
AUDIT_SCHEMA = "labelaudit.aggregate-audit/1"


def _file_format(path: str, option: str) -> str:
    from labelaudit.errors import UsageError
    from labelaudit.io.writers import output_format_for

    if path == "-":
        raise UsageError(f"{option} needs a file name (stdout carries the main report)")
    try:
        return output_format_for(path, None)
    except UsageError:
        raise UsageError(
            f"{option} {path}: cannot tell the format from the extension "
            "(.csv, .jsonl, .json, .parquet, .txt)"
        ) from None


def _load_probabilities(path: str, ann: Any, item_col: str, prob_cols: str) -> tuple[Any, Any]:
    from labelaudit.core.aggregate import align_probabilities
    from labelaudit.errors import InputError
    from labelaudit.io.columns import match_columns, numeric_matrix, require_column
    from labelaudit.io.readers import read_table

    table = read_table(path)
    ids = require_column(table, item_col, path, "--item-col")
    if ids.isna().any():
        row = int(ids.isna().to_numpy().nonzero()[0][0])
        raise InputError(f"{path}: column {item_col!r} row {row}: item id is missing")
    columns, names = match_columns(table, prob_cols, path, "--prob-cols")
    matrix = numeric_matrix(table, columns, path)
    return align_probabilities(ann, ids, names, matrix, source=path)


@handle_errors
def aggregate(
    data: str = typer.Argument(..., help="Annotations: .csv, .tsv, .parquet, .jsonl, or - for stdin."),
    item_col: str = typer.Option("item", "--item-col", help="Column identifying the item (also in --probs)."),
    annotator_col: str = typer.Option(
        "annotator", "--annotator-col", help="Column identifying the annotator."
    ),
    label_col: str = typer.Option("label", "--label-col", help="Column with the annotator's label."),
    wide: bool = typer.Option(
        False, "--wide", help="One row per item and one column per annotator (blank = not labelled)."
    ),
    method: str = typer.Option(
        "auto",
        "--method",
        help="auto, majority, wawa, dawid-skene, one-coin, crowdlab (auto: crowdlab with --probs, else dawid-skene).",
    ),
    probs: str | None = typer.Option(
        None,
        "--probs",
        help="Out-of-fold model probabilities: a table with --item-col and p_<class> columns.",
    ),
    prob_cols: str = typer.Option("p_*", "--prob-cols", help="Glob of the probability columns in --probs."),
    input_format: str | None = typer.Option(
        None, "--input-format", help="Force the format of DATA: csv, tsv, parquet, jsonl."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the tie rule (a hash of seed and item id)."),
    max_iter: int = typer.Option(100, "--max-iter", help="Dawid-Skene: maximum EM iterations."),
    tol: float = typer.Option(
        1e-7, "--tol", help="Dawid-Skene: stop when the objective changes less than this per annotation."
    ),
    smoothing: float = typer.Option(
        0.5, "--smoothing", help="Dawid-Skene: Dirichlet pseudo-count per confusion-matrix cell."
    ),
    diagonal: float = typer.Option(
        1.0, "--diagonal", help="Dawid-Skene: extra pseudo-count on the diagonal."
    ),
    audit: bool = typer.Option(False, "--audit", help="Flag individual annotations that are probably wrong."),
    audit_out: str | None = typer.Option(
        None, "--audit-out", help="Write the per-annotation audit here (implies --audit)."
    ),
    annotators_out: str | None = typer.Option(
        None, "--annotators-out", help="Write per-annotator quality here."
    ),
    top: int = typer.Option(
        20, "--top", min=0, help="Items (and annotators) to show in the terminal tables."
    ),
    output: str | None = typer.Option(
        None, "-o", "--output", help="Write the per-item report here (- for stdout)."
    ),
    fmt: str | None = typer.Option(
        None,
        "--format",
        help="Report format: table, csv, jsonl, json, parquet (default: from -o's extension).",
    ),
    summary_path: str | None = typer.Option(
        None, "--summary", help="Write the summary (and annotators) as JSON."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print nothing but errors."),
) -> None:
    """Consensus labels and annotator quality from several annotators per item."""
    from labelaudit.core.aggregate import check_parameters
    from labelaudit.io.writers import output_format_for

    started = time.perf_counter()
    # --- everything that can be checked without reading data
    check_parameters(
        method=method,
        seed=seed,
        max_iter=max_iter,
        tol=tol,
        smoothing=smoothing,
        diagonal=diagonal,
        prior_smoothing=1.0,
        has_probs=probs is not None,
    )
    out_fmt = output_format_for(output, fmt) if (output is not None or fmt is not None) else None
    annotators_fmt = _file_format(annotators_out, "--annotators-out") if annotators_out else None
    audit_fmt = _file_format(audit_out, "--audit-out") if audit_out else None
    audit = audit or audit_out is not None
    from labelaudit.io.paths import check_paths

    check_paths(
        [("DATA", data), ("--probs", probs)],
        [
            ("-o", "-" if output is None and out_fmt is not None else output),  # --format alone: stdout
            ("--summary", summary_path),
            ("--annotators-out", annotators_out),
            ("--audit-out", audit_out),
        ],
    )

    # --- read and compute; nothing is written until everything succeeded
    import warnings

    from labelaudit.core.aggregate import Annotations
    from labelaudit.core.aggregate import aggregate as run_aggregate
    from labelaudit.io.columns import display_name
    from labelaudit.io.readers import read_table

    source = display_name(data)
    frame = read_table(data, input_format)
    if wide:
        ann = Annotations.from_wide(frame, item_col=item_col, source=source)
    else:
        ann = Annotations.from_long(
            frame, item_col=item_col, annotator_col=annotator_col, label_col=label_col, source=source
        )
    pred_probs = None
    if probs is not None:
        ann, pred_probs = _load_probabilities(probs, ann, item_col, prob_cols)
    result = run_aggregate(
        ann,
        method=method,
        pred_probs=pred_probs,
        seed=seed,
        max_iter=max_iter,
        tol=tol,
        smoothing=smoothing,
        diagonal=diagonal,
    )
    summary = result.summary
    audit_frame = None
    if audit:
        from labelaudit.core.aggregate import audit_annotations

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            audit_frame = audit_annotations(result)
        flagged = int(audit_frame["is_label_issue"].sum())
        per_annotator = audit_frame.groupby("annotator", sort=True)["is_label_issue"].sum()
        summary["audit"] = {
            "num_annotations": len(audit_frame),
            "num_issues": flagged,
            "issue_rate": flagged / max(len(audit_frame), 1),
            "method": "confident learning (prune_by_noise_rate) on leave-one-out consensus posteriors",
            "issues_per_annotator": {str(k): int(v) for k, v in per_annotator.items() if v > 0},
        }

    parameters = {
        "input": source,
        "wide": wide,
        "item_col": item_col,
        "annotator_col": None if wide else annotator_col,
        "label_col": None if wide else label_col,
        "method": method,
        "probs": probs,
        "prob_cols": prob_cols,
        "seed": seed,
        "max_iter": max_iter,
        "tol": tol,
        "smoothing": smoothing,
        "diagonal": diagonal,
        "audit": audit,
    }
    versions = library_versions()
    items_summary = {k: v for k, v in summary.items() if k != "annotators"}
    metadata = {
        "schema": REPORT_SCHEMA,
        "parameters": parameters,
        "versions": versions,
        "summary": items_summary,
    }

    # --- write
    from labelaudit.io.writers import write_frame, write_json

    if summary_path is not None:
        write_json(
            {
                "schema": "labelaudit.aggregate.summary/1",
                "parameters": parameters,
                "versions": versions,
                **summary,
            },
            summary_path,
        )
    if annotators_out is not None and annotators_fmt is not None:
        write_frame(
            result.annotators,
            annotators_out,
            annotators_fmt,
            metadata={"schema": ANNOTATORS_SCHEMA, "parameters": parameters, "versions": versions},
        )
    if audit_out is not None and audit_frame is not None and audit_fmt is not None:
        write_frame(
            audit_frame,
            audit_out,
            audit_fmt,
            metadata={
                "schema": AUDIT_SCHEMA,
                "parameters": parameters,
                "versions": versions,
                "summary": summary.get("audit"),
            },
        )
    if out_fmt is not None:
        write_frame(result.items, output, out_fmt, metadata=metadata)

    if quiet:
        return
    from labelaudit.cli.console import stderr_console
    from labelaudit.report.aggregate_table import annotators_table, items_table, print_aggregate_summary

    console = stderr_console()
    if top > 0:
        console.print(items_table(result.items, top=top))
        console.print(annotators_table(result.annotators, top=min(top, 5)))
    print_aggregate_summary(console, summary)
    if output is not None and output != "-":
        console.print(
            f"report: {output} ({len(result.items)} items)   [{time.perf_counter() - started:.1f}s]"
        )
