"""`labelaudit baseline REPORT -o FILE`: record a report's findings as reviewed, for `scan --baseline FILE`.

The baseline (schema ``labelaudit.baseline/1``) has one row per flagged row of the report: ``key`` (the
row's ``id`` when the scan had ``--id-col``, else a hash of the row's content), ``key_type`` (``id`` or
``hash``), ``given_label`` and ``suggested_label`` (for the reviewer). See docs/ci.md.
"""

from __future__ import annotations

import typer

from labelaudit.cli.errors import handle_errors


@handle_errors
def baseline(
    report: str = typer.Argument(..., help="A scan report (.parquet, .csv, .jsonl, .json), or - for stdin."),
    output: str = typer.Option(
        ".labelaudit-baseline.parquet",
        "-o",
        "--output",
        help="Write the baseline here (.parquet, .csv, .jsonl, .json; - for stdout as CSV).",
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print nothing but errors."),
) -> None:
    """Record the findings of a report as reviewed: `scan --baseline FILE` will not count them.

    Exit codes: 0 written, 2 usage, input or output error, 70 internal error.
    """
    from labelaudit.errors import ConfigError
    from labelaudit.io.paths import check_paths
    from labelaudit.io.readers import read_table
    from labelaudit.io.writers import output_format_for, write_frame
    from labelaudit.pipeline.gate import BASELINE_SCHEMA, baseline_frame

    fmt = "csv" if output == "-" else output_format_for(output, None)
    check_paths([("REPORT", report)], [("-o", output)])
    frame = read_table(report, text_columns=("id", "given_label", "suggested_label"))
    if "is_label_issue" not in frame.columns:
        raise ConfigError(f"{report}: no is_label_issue column: not a labelaudit scan report")
    base = baseline_frame(frame)
    write_frame(base, output, fmt, metadata={"schema": BASELINE_SCHEMA, "source": report})
    if not quiet:
        from labelaudit.cli.console import note

        kind = "ids" if len(base) and base["key_type"].iloc[0] == "id" else "content hashes"
        note(f"baseline: {output} ({len(base)} findings, keyed by {kind})")
