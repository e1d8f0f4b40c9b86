"""`labelaudit render`: the HTML page of a saved report (see docs/html.md)."""

from __future__ import annotations

import typer

from labelaudit.cli.errors import handle_errors


def split_columns(value: str | None) -> list[str]:
    """``--show-cols text,path`` as a list of column names."""
    return [c.strip() for c in value.split(",") if c.strip()] if value else []


@handle_errors
def render(
    report: str = typer.Argument(
        ..., help="A saved report: .parquet or .json (with metadata), .csv or .jsonl."
    ),
    output: str = typer.Option(..., "-o", "--output", help="Write the page here (- for stdout)."),
    data: str | None = typer.Option(
        None,
        "--data",
        help="The scanned input table: adds --show-cols, --thumbnails and each row's top classes (p_* columns).",
    ),
    input_format: str | None = typer.Option(
        None, "--input-format", help="Force the format of --data: csv, tsv, parquet, jsonl."
    ),
    show_cols: str | None = typer.Option(
        None,
        "--show-cols",
        help="Comma-separated columns of --data to show beside each row (e.g. text,path).",
    ),
    thumbnails: str | None = typer.Option(
        None,
        "--thumbnails",
        help="Column of --data with image paths: local files embedded as thumbnails (needs Pillow), URLs as links.",
    ),
    top: int | None = typer.Option(
        None, "--top", min=0, help="Keep only the N most suspicious rows in the table (default: all)."
    ),
    title: str | None = typer.Option(None, "--title", help="Title of the page."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print nothing but errors."),
) -> None:
    """Render a saved report as one self-contained HTML page."""
    from labelaudit.io.paths import check_paths
    from labelaudit.io.writers import write_text
    from labelaudit.pipeline.render import render_file

    check_paths([("REPORT", report), ("--data", data)], [("-o", output)])
    page = render_file(
        report,
        data=data,
        data_format=input_format,
        show_cols=split_columns(show_cols),
        thumbnail_col=thumbnails,
        top=top,
        title=title,
    )
    write_text(page, output)
    if not quiet and output != "-":
        from labelaudit.cli.console import stderr_console

        stderr_console().print(f"page: {output} ({len(page.encode('utf-8')) / 1e6:.1f} MB)")
