"""`labelaudit aggregate`: parse options, call :func:`labelaudit.pipeline.aggregate.aggregate`, write, print.

The report schemas (``labelaudit.aggregate/1`` and the annotator, posterior, next-item and audit tables) are
described in :mod:`labelaudit.pipeline.aggregate` and ``docs/aggregate.md``.
"""

from __future__ import annotations

import time

import typer

from labelaudit.cli.errors import handle_errors
from labelaudit.core.aggregate_methods import METHOD_HELP

_METHOD_HELP = "; ".join(f"{name}: {text}" for name, text in METHOD_HELP.items())


def _file_format(path: str | None, option: str) -> str | None:
    from labelaudit.errors import UsageError
    from labelaudit.io.writers import output_format_for

    if path is None:
        return None
    try:
        return output_format_for(path, None)
    except UsageError:
        raise UsageError(
            f"{option} {path}: cannot tell the format from the extension "
            "(.csv, .jsonl, .json, .parquet, .txt)"
        ) from None


@handle_errors
def aggregate(
    ctx: typer.Context,
    data: str = typer.Argument(..., help="Annotations: .csv, .tsv, .parquet, .jsonl, or - for stdin."),
    item_col: str = typer.Option("item", "--item-col", help="Column identifying the item (also in --probs)."),
    annotator_col: str = typer.Option(
        "annotator", "--annotator-col", help="Column identifying the annotator."
    ),
    label_col: str = typer.Option("label", "--label-col", help="Column with the annotator's label."),
    wide: bool = typer.Option(
        False, "--wide", help="One row per item and one column per annotator (blank = not labelled)."
    ),
    method: str = typer.Option("auto", "--method", help=f"One of: {_METHOD_HELP}."),
    probs: str | None = typer.Option(
        None,
        "--probs",
        help="Out-of-fold model probabilities: a table with --item-col and p_<class> columns.",
    ),
    prob_cols: str = typer.Option("p_*", "--prob-cols", help="Glob of the probability columns in --probs."),
    input_format: str | None = typer.Option(
        None, "--input-format", help="Force the format of DATA: csv, tsv, parquet, jsonl."
    ),
    seed: int = typer.Option(
        0, "--seed", help="Seed of the tie rule, of auto's cross-validation folds and of EBCC's starts."
    ),
    max_iter: int = typer.Option(100, "--max-iter", help="Iterative methods: maximum iterations."),
    tol: float = typer.Option(
        1e-7,
        "--tol",
        help="Iterative methods: stop when the objective changes less than this per annotation.",
    ),
    smoothing: float | None = typer.Option(
        None,
        "--smoothing",
        help="Dirichlet pseudo-count per confusion cell, 0 to 1e6 (default 0.5 for dawid-skene/one-coin, 1 for ibcc/ebcc).",
    ),
    diagonal: float | None = typer.Option(
        None,
        "--diagonal",
        help="Extra pseudo-count on the diagonal, 0 to 1e6 (default 1 for dawid-skene/one-coin, 2 for ibcc/ebcc).",
    ),
    posteriors: str | None = typer.Option(
        None,
        "--posteriors",
        help="Write item, consensus_label and p_<class> per item here (- for stdout): input for `labelaudit scan`.",
    ),
    next_n: int = typer.Option(
        0, "--next", min=0, help="Rank the N items whose next annotation would most improve the consensus."
    ),
    next_out: str | None = typer.Option(
        None, "--next-out", help="Write the --next table here (- for stdout); default: print it on stderr."
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
        help="Report format: table, csv, jsonl, json, parquet (default: from -o's extension); github prints "
        "the gate as GitHub workflow annotations (and a step summary when GITHUB_STEP_SUMMARY is set).",
    ),
    summary_path: str | None = typer.Option(
        None, "--summary", help="Write the summary (and annotators) as JSON (- for stdout)."
    ),
    html_path: str | None = typer.Option(
        None,
        "--html",
        help="Write a self-contained HTML page here: every item searchable and sortable, the annotators "
        "pictured (docs/html.md).",
    ),
    show_cols: str | None = typer.Option(
        None,
        "--show-cols",
        help="--html: comma-separated columns of DATA shown beside each item (its first row).",
    ),
    min_consensus_quality: float | None = typer.Option(
        None, "--min-consensus-quality", help="Gate: exit 1 if the mean consensus quality is lower."
    ),
    min_annotator_quality: float | None = typer.Option(
        None, "--min-annotator-quality", help="Gate: exit 1 if any annotator's quality is lower."
    ),
    max_low_agreement_rate: float | None = typer.Option(
        None,
        "--max-low-agreement-rate",
        help="Gate: exit 1 if the share of items with consensus quality below 0.5 exceeds this.",
    ),
    exit_zero: bool = typer.Option(False, "--exit-zero", help="Gate: report the checks but always exit 0."),
    junit: str | None = typer.Option(
        None, "--junit", help="Write the gate as JUnit XML here (one test per check)."
    ),
    config: str | None = typer.Option(
        None,
        "--config",
        help="Configuration file read after the one found upward ([tool.labelaudit.aggregate]).",
    ),
    color: str = typer.Option(
        "auto",
        "--color",
        help="Colour on stderr: auto (on a terminal, unless NO_COLOR is set), always, never.",
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print nothing but errors."),
) -> None:
    """Consensus labels and annotator quality from several annotators per item.

    Exit codes: 0 passed, 1 gate failed, 2 usage, input or configuration error, 70 internal error.
    """
    from labelaudit.cli.config import apply_color, configured, finish_gate, working
    from labelaudit.pipeline.gate import AGGREGATE_THRESHOLDS, aggregate_gate, check_thresholds

    cfg = configured(
        ctx, "aggregate", config
    )  # values for the options the command line left at their defaults
    item_col = cfg.get("item_col", item_col)
    annotator_col = cfg.get("annotator_col", annotator_col)
    label_col = cfg.get("label_col", label_col)
    method = cfg.get("method", method)
    seed = cfg.get("seed", seed)
    top = cfg.get("top", top)
    min_consensus_quality = cfg.get("min_consensus_quality", min_consensus_quality)
    min_annotator_quality = cfg.get("min_annotator_quality", min_annotator_quality)
    max_low_agreement_rate = cfg.get("max_low_agreement_rate", max_low_agreement_rate)
    exit_zero = cfg.get("exit_zero", exit_zero)
    junit = cfg.get("junit", junit)
    color = cfg.get("color", color)
    apply_color(color)
    thresholds = {
        "min_consensus_quality": min_consensus_quality,
        "min_annotator_quality": min_annotator_quality,
        "max_low_agreement_rate": max_low_agreement_rate,
    }
    check_thresholds(thresholds, AGGREGATE_THRESHOLDS)
    from labelaudit.core.aggregate import check_parameters
    from labelaudit.errors import UsageError
    from labelaudit.io.paths import check_paths
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
    if next_out is not None and next_n == 0:
        raise UsageError("--next-out needs --next N")
    if show_cols is not None and html_path is None:
        raise UsageError("--show-cols is for the --html page; add --html FILE")
    github = fmt is not None and fmt.lower() == "github"
    if github:
        fmt = None  # the gate as workflow annotations on stdout; a report only with -o
        if output == "-":
            raise UsageError(
                "--format github prints annotations on stdout; write the report to a file with -o"
            )
    out_fmt = output_format_for(output, fmt) if (output is not None or fmt is not None) else None
    if out_fmt is not None and output is None:
        output = "-"
    annotators_fmt = _file_format(None if annotators_out == "-" else annotators_out, "--annotators-out")
    audit_fmt = _file_format(None if audit_out == "-" else audit_out, "--audit-out")
    posteriors_fmt = "csv" if posteriors == "-" else _file_format(posteriors, "--posteriors")
    next_fmt = "csv" if next_out == "-" else _file_format(next_out, "--next-out")
    audit = audit or audit_out is not None
    check_paths(
        [("DATA", data), ("--probs", probs)],
        [
            ("-o", output),
            ("--summary", summary_path),
            ("--html", html_path),
            ("--annotators-out", annotators_out),
            ("--audit-out", audit_out),
            ("--posteriors", posteriors),
            ("--next-out", next_out),
            ("--junit", junit),
        ],
    )

    # --- read and compute; nothing is written until everything succeeded
    from labelaudit.pipeline.aggregate import aggregate as run_aggregate

    with working(f"aggregating {'stdin' if data == '-' else data}", quiet=quiet):
        result = run_aggregate(
            data,
            item_col=item_col,
            annotator_col=annotator_col,
            label_col=label_col,
            wide=wide,
            method=method,
            probs=probs,
            prob_cols=prob_cols,
            input_format=input_format,
            seed=seed,
            max_iter=max_iter,
            tol=tol,
            smoothing=smoothing,
            diagonal=diagonal,
            audit=audit,
            next_n=next_n,
        )

    gate = None
    if any(v is not None for v in thresholds.values()) or junit is not None:
        gate = aggregate_gate(
            result.items, result.annotators, result.summary, **thresholds, exit_zero=exit_zero
        )
        result.summary["gate"] = gate.as_dict()

    # --- write (the page first: a column it cannot show is an error before any file is written)
    page = None
    if html_path is not None:
        from labelaudit.cli.render import split_columns

        columns = split_columns(show_cols)
        page = result.to_html(data=data if columns else None, show_cols=columns)
    if summary_path is not None:
        result.write_summary(summary_path)
    if page is not None and html_path is not None:
        from labelaudit.io.writers import write_text

        write_text(page, html_path)
    if annotators_out is not None:
        result.write_annotators(annotators_out, "csv" if annotators_out == "-" else annotators_fmt)
    if audit_out is not None:
        result.write_audit(audit_out, "csv" if audit_out == "-" else audit_fmt)
    if posteriors is not None:
        result.write_posteriors(posteriors, posteriors_fmt)
    if next_out is not None:
        result.write_next(next_out, next_fmt)
    if out_fmt is not None:
        result.write(output, out_fmt)

    if quiet:
        finish_gate(
            gate, command="aggregate", quiet=True, github=github, junit=junit, source=data, started=started
        )
        return
    from labelaudit.cli.console import stderr_console
    from labelaudit.report.aggregate_table import annotators_table, items_table, print_aggregate_summary

    console = stderr_console()
    if top > 0:
        console.print(items_table(result.items, top=top))
        console.print(annotators_table(result.annotators, top=min(top, 5)))
    if result.next is not None and next_out is None:
        from rich.text import Text

        from labelaudit.report.table import full_table
        from labelaudit.report.terminal import printable

        console.print(f"Label next ({len(result.next)} items, highest expected gain first):")
        for line in full_table(result.next).splitlines():
            console.print(Text(printable(line)))
    print_aggregate_summary(console, result.summary)
    if output is not None and output != "-":
        console.print(
            f"report: {output} ({len(result.items)} items)   [{time.perf_counter() - started:.1f}s]"
        )
    finish_gate(
        gate, command="aggregate", quiet=False, github=github, junit=junit, source=data, started=started
    )
