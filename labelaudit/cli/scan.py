"""`labelaudit scan`: parse the options, call :func:`labelaudit.scan`, write, print, pick the exit code.

The pipeline and the report schema live in :mod:`labelaudit.pipeline.scan`.
"""

from __future__ import annotations

import time

import typer

from labelaudit.cli.errors import handle_errors

_ENGINE_HELP = (
    "auto (stream when the data would not fit comfortably in memory), memory, stream (reads the file "
    "--chunk-rows rows at a time, once per pass) or dask (a Parquet file, directory or glob; needs the dask "
    "extra; see docs/dask.md). `local` is accepted for memory."
)


def _check_outputs(
    data: str, probs: str | None, baseline: str | None, outputs: dict[str, str | None]
) -> None:
    """Before any work: outputs are writable, distinct, never an input, and at most one is stdout."""
    from labelaudit.io.paths import check_paths

    check_paths([("DATA", data), ("--probs", probs), ("--baseline", baseline)], list(outputs.items()))


@handle_errors
def scan(
    ctx: typer.Context,
    data: str = typer.Argument(..., help="Labelled table: .csv, .tsv, .parquet, .jsonl, or - for stdin."),
    label_col: str = typer.Option(
        "label", "--label-col", help="Column with the given labels.", rich_help_panel="Input"
    ),
    prob_cols: str = typer.Option(
        "p_*",
        "--prob-cols",
        help="Glob of probability columns; the class is the name without the glob's prefix.",
        rich_help_panel="Input",
    ),
    probs: str | None = typer.Option(
        None,
        "--probs",
        help="Probabilities in a separate file: .npy (by row) or a table (by row, or on --id-col).",
        rich_help_panel="Input",
    ),
    id_col: str | None = typer.Option(
        None, "--id-col", help="Column identifying rows (reported; joins --probs).", rich_help_panel="Input"
    ),
    classes: str | None = typer.Option(
        None,
        "--classes",
        help="Comma-separated class names of the --probs .npy columns, in order.",
        rich_help_panel="Input",
    ),
    input_format: str | None = typer.Option(
        None,
        "--input-format",
        help="Force the input format: csv, tsv, parquet, jsonl.",
        rich_help_panel="Input",
    ),
    method: str | None = typer.Option(
        None,
        "--method",
        help="How to flag issues (filter_by): noise_rate_or_posterior (the default), likeliest_errors, posterior, "
        "prune_by_noise_rate (the default with --compat cleanlab), prune_by_class, both, confident_learning, "
        "predicted_neq_given, low_self_confidence, low_normalized_margin. See docs/defaults.md.",
        rich_help_panel="Method",
    ),
    score: str | None = typer.Option(
        None,
        "--score",
        help="Label-quality score (the ranking): adjusted_normalized_margin (the default), posterior, "
        "self_confidence (the default with --compat cleanlab and with --multi-label), normalized_margin, "
        "confidence_weighted_entropy. See docs/defaults.md.",
        rich_help_panel="Method",
    ),
    compat: str = typer.Option(
        "paper",
        "--compat",
        help="paper (Northcutt et al. 2021) or cleanlab (cleanlab 2.9).",
        rich_help_panel="Method",
    ),
    frac_noise: float = typer.Option(
        1.0, "--frac-noise", help="Flag this fraction of the estimated issues.", rich_help_panel="Method"
    ),
    logits: str | None = typer.Option(
        None,
        "--logits",
        help="The probability columns hold a model's raw scores: softmax (single-label) or sigmoid "
        "(--multi-label) turns them into probabilities (in-memory engine).",
        rich_help_panel="Input",
    ),
    normalize: bool = typer.Option(
        False, "--normalize", help="Rescale rows that do not sum to 1.", rich_help_panel="Method"
    ),
    features: str | None = typer.Option(
        None,
        "--features",
        help="No probabilities yet: compute them out-of-fold from these columns (comma-separated, globs, "
        "or auto: all but label and id; see docs/oof.md).",
        rich_help_panel="Input",
    ),
    model: str = typer.Option(
        "logreg", "--model", help="--features: logreg, hgb, knn or mlp (PyTorch).", rich_help_panel="Input"
    ),
    folds: int = typer.Option(5, "--folds", help="--features: number of folds.", rich_help_panel="Input"),
    seed: int = typer.Option(
        0, "--seed", help="--features: seed of the folds and models.", rich_help_panel="Input"
    ),
    multi_label: bool = typer.Option(
        False, "--multi-label", help="Each row has a set of tags (see --label-sep).", rich_help_panel="Input"
    ),
    label_sep: str | None = typer.Option(
        None,
        "--label-sep",
        help="Multi-label: separator of tags in the label column (default ,).",
        rich_help_panel="Input",
    ),
    label_cols: str | None = typer.Option(
        None,
        "--label-cols",
        help="Multi-label: glob of 0/1 columns, one per class (instead of --label-col).",
        rich_help_panel="Input",
    ),
    pooling: str | None = typer.Option(
        None,
        "--pooling",
        "--aggregate",
        help="Multi-label: per-example score from per-class scores: ema (default), softmin, min, mean. "
        "(--aggregate is the old name.)",
        rich_help_panel="Method",
    ),
    top: int | None = typer.Option(
        None,
        "--top",
        min=0,
        help="Rows to show in the terminal table (default 20) and, if given, in the --html page (default: all).",
        rich_help_panel="Output",
    ),
    output: str | None = typer.Option(
        None, "-o", "--output", help="Write the full report here (- for stdout).", rich_help_panel="Output"
    ),
    fmt: str | None = typer.Option(
        None,
        "--format",
        help="Report format: table, csv, jsonl, json, parquet (default: from -o's extension); github prints "
        "the gate as GitHub workflow annotations (and a step summary when GITHUB_STEP_SUMMARY is set).",
        rich_help_panel="Output",
    ),
    sort: str = typer.Option(
        "row", "--sort", help="Report row order: row (input order) or rank.", rich_help_panel="Output"
    ),
    issues_only: bool = typer.Option(
        False, "--issues-only", help="Write only the rows flagged as issues.", rich_help_panel="Output"
    ),
    summary_path: str | None = typer.Option(
        None, "--summary", help="Write the dataset summary as JSON here.", rich_help_panel="Output"
    ),
    html_path: str | None = typer.Option(
        None,
        "--html",
        help="Write a self-contained HTML page here: pictures, and every row searchable and sortable (docs/html.md).",
        rich_help_panel="Output",
    ),
    show_cols: str | None = typer.Option(
        None,
        "--show-cols",
        help="--html: comma-separated input columns shown beside each row (a text, a path).",
        rich_help_panel="Output",
    ),
    thumbnails: str | None = typer.Option(
        None,
        "--thumbnails",
        help="--html: a column of image paths shown as small embedded thumbnails (local files, needs Pillow); "
        "URLs are shown as links, never fetched.",
        rich_help_panel="Output",
    ),
    max_issues: int | None = typer.Option(
        None, "--max-issues", help="Gate: exit 1 if more issues than this.", rich_help_panel="Gate"
    ),
    max_issue_rate: float | None = typer.Option(
        None,
        "--max-issue-rate",
        help="Gate: exit 1 if the share of flagged rows exceeds this.",
        rich_help_panel="Gate",
    ),
    min_health: float | None = typer.Option(
        None, "--min-health", help="Gate: exit 1 if the health score is lower.", rich_help_panel="Gate"
    ),
    max_class_noise: list[str] | None = typer.Option(  # noqa: B008 - typer reads it once
        None,
        "--max-class-noise",
        help="Gate: exit 1 if a class's estimated label noise exceeds its limit: CLASS=SHARE, repeatable "
        "(cat=0.1) or comma-separated.",
        rich_help_panel="Gate",
    ),
    baseline: str | None = typer.Option(
        None,
        "--baseline",
        help="Reviewed findings (a `labelaudit baseline` file, a previous report, or keys one per line): "
        "not counted by the gate; the report gets an in_baseline column.",
        rich_help_panel="Gate",
    ),
    exit_zero: bool = typer.Option(
        False,
        "--exit-zero",
        help="Gate: report the checks but exit 0 even when one fails.",
        rich_help_panel="Gate",
    ),
    junit: str | None = typer.Option(
        None, "--junit", help="Write the gate as JUnit XML here (one test per check).", rich_help_panel="Gate"
    ),
    config: str | None = typer.Option(
        None,
        "--config",
        help="Configuration file read after the one found upward ([tool.labelaudit]).",
        rich_help_panel="Input",
    ),
    keep_cols: str | None = typer.Option(
        None,
        "--keep-cols",
        help="Comma-separated input columns (a text, a path) to carry into the report, after its own columns.",
        rich_help_panel="Input",
    ),
    color: str = typer.Option(
        "auto",
        "--color",
        help="Colour on stderr: auto (on a terminal, unless NO_COLOR is set), always, never.",
        rich_help_panel="Output",
    ),
    quiet: bool = typer.Option(
        False, "--quiet", "-q", help="Print nothing but errors.", rich_help_panel="Output"
    ),
    engine: str = typer.Option("auto", "--engine", help=_ENGINE_HELP, rich_help_panel="Method"),
    chunk_rows: int | None = typer.Option(
        None,
        "--chunk-rows",
        help="Rows per batch of the stream engine (implies --engine stream when --engine is auto).",
        rich_help_panel="Method",
    ),
    scheduler: str | None = typer.Option(
        None,
        "--scheduler",
        "--dask-scheduler",
        help="--engine dask: address of a dask.distributed scheduler to run on (default: dask's local scheduler).",
        rich_help_panel="Method",
    ),
) -> None:
    """Find probably-wrong labels from out-of-fold predicted probabilities.

    Exit codes: 0 passed, 1 gate failed, 2 usage, input or configuration error, 70 internal error.
    """
    from labelaudit.cli.config import apply_color, configured, finish_gate, working
    from labelaudit.errors import UsageError
    from labelaudit.io.writers import output_format_for
    from labelaudit.pipeline.gate import parse_class_limits
    from labelaudit.pipeline.result import SORT_ORDERS, check_gate_thresholds
    from labelaudit.pipeline.scan import scan as run_scan

    started = time.perf_counter()
    cfg = configured(ctx, "scan", config)  # values for the options the command line left at their defaults
    label_col = cfg.get("label_col", label_col)
    prob_cols = cfg.get("prob_cols", prob_cols)
    id_col = cfg.get("id_col", id_col)
    input_format = cfg.get("input_format", input_format)
    method = cfg.get("method", method)
    score = cfg.get("score", score)
    compat = cfg.get("compat", compat)
    frac_noise = cfg.get("frac_noise", frac_noise)
    normalize = cfg.get("normalize", normalize)
    multi_label = cfg.get("multi_label", multi_label)
    label_sep = cfg.get("label_sep", label_sep)
    label_cols = cfg.get("label_cols", label_cols)
    pooling = cfg.get("pooling", pooling)
    engine = cfg.get("engine", engine)
    chunk_rows = cfg.get("chunk_rows", chunk_rows)
    top = cfg.get("top", top)
    sort = cfg.get("sort", sort)
    issues_only = cfg.get("issues_only", issues_only)
    keep_cols = cfg.get("keep_cols", keep_cols)
    logits = cfg.get("logits", logits)
    color = cfg.get("color", color)
    apply_color(color)
    max_issues = cfg.get("max_issues", max_issues)
    max_issue_rate = cfg.get("max_issue_rate", max_issue_rate)
    min_health = cfg.get("min_health", min_health)
    baseline = cfg.get("baseline", baseline)
    exit_zero = cfg.get("exit_zero", exit_zero)
    junit = cfg.get("junit", junit)
    class_limits = parse_class_limits(max_class_noise) if max_class_noise else cfg.get("max_class_noise", {})
    github = fmt is not None and fmt.lower() == "github"
    if github:
        fmt = None  # annotations on stdout; a report only with -o (its format from the extension)
    if sort not in SORT_ORDERS:
        raise UsageError(f"--sort must be one of {', '.join(SORT_ORDERS)}, not {sort!r}")
    if classes is not None and (probs is None or not probs.lower().endswith(".npy")):
        raise UsageError("--classes names the columns of a --probs .npy file; there is none")
    if not multi_label:
        for option, value in (("--label-sep", label_sep), ("--pooling", pooling)):
            if value is not None:
                raise UsageError(f"{option} applies to --multi-label scans only")
    check_gate_thresholds(max_issues, max_issue_rate, min_health)
    if features is None and (model, folds, seed) != ("logreg", 5, 0):
        raise UsageError("--model, --folds and --seed apply to --features only")
    if (show_cols or thumbnails) and html_path is None:
        raise UsageError("--show-cols and --thumbnails are for the --html page; add --html FILE")
    if github and output == "-":
        raise UsageError("--format github prints annotations on stdout; write the report to a file with -o")
    out_fmt = output_format_for(output, fmt) if (output is not None or fmt is not None) else None
    report_to = "-" if output is None and out_fmt is not None else output  # --format alone: stdout
    _check_outputs(
        data,
        probs,
        baseline,
        {"-o": report_to, "--summary": summary_path, "--html": html_path, "--junit": junit},
    )

    with working(f"scanning {'stdin' if data == '-' else data}", quiet=quiet):
        result = run_scan(
            data,
            probs=probs,
            label_col=label_col,
            prob_cols=prob_cols,
            id_col=id_col,
            classes=[c.strip() for c in classes.split(",")] if classes else None,
            input_format=input_format,
            method=method,
            score=score,
            compat=compat,
            frac_noise=frac_noise,
            normalize=normalize,
            multi_label=multi_label,
            label_sep="," if label_sep is None else label_sep,
            label_cols=label_cols,
            pooling="ema" if pooling is None else pooling,
            engine=engine,
            chunk_rows=chunk_rows,
            scheduler=scheduler,
            logits=logits,
            keep_cols=[c.strip() for c in keep_cols.split(",") if c.strip()] if keep_cols else None,
            features=features,
            model=model,
            folds=folds,
            seed=seed,
        )
    gate = None
    thresholds = (max_issues, max_issue_rate, min_health)
    if any(v is not None for v in thresholds) or class_limits or baseline is not None or junit is not None:
        gate = result.gate(
            max_issues=max_issues,
            max_issue_rate=max_issue_rate,
            min_health=min_health,
            max_class_noise=class_limits,
            baseline=baseline,
            exit_zero=exit_zero,
        )

    # the page first: a column it cannot show is an error before any file is written
    page = None
    if html_path is not None:
        from labelaudit.cli.render import split_columns

        page = result.to_html(top=top, show_cols=split_columns(show_cols), thumbnails=thumbnails)
    if summary_path is not None:
        result.write_summary(summary_path)
    if page is not None and html_path is not None:
        from labelaudit.io.writers import write_text

        write_text(page, html_path)
    if out_fmt is not None:
        result.write(output if output is not None else "-", out_fmt, sort=sort, issues_only=issues_only)
    if not quiet:
        _print(
            result,
            top=20 if top is None else top,
            output=output,
            issues_only=issues_only,
            started=started,
        )
    finish_gate(gate, command="scan", quiet=quiet, github=github, junit=junit, source=data, started=started)


def _print(result, *, top: int, output: str | None, issues_only: bool, started: float) -> None:
    from labelaudit.cli.console import stderr_console
    from labelaudit.report.table import issues_table, print_scan_summary

    console = stderr_console()
    if result.engine != "memory" and result.engine_reason not in ("asked for", "--chunk-rows given"):
        console.print(f"engine: {result.engine} ({result.engine_reason})", markup=False)
    if top > 0:
        console.print(
            issues_table(
                result.report, result.table_columns, top=top, title=f"Most suspicious rows (top {top})"
            )
        )
    print_scan_summary(console, result.summary)
    if output is not None and output != "-":
        rows = result.num_issues if issues_only else len(result.report)  # the order does not change the count
        console.print(
            f"report: {output} ({rows} rows)   [{time.perf_counter() - started:.1f}s]", markup=False
        )
