"""Terminal rendering with rich: the most suspicious rows and the dataset summary."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table


def format_cell(value: Any) -> str:
    """A table cell: floats to 4 decimals, NaN and None empty, True as "yes" and False empty."""
    if value is None:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else ""
    if isinstance(value, (float, np.floating)):
        return "" if value != value else f"{value:.4f}"
    return str(value)


def issues_table(report: pd.DataFrame, columns: Sequence[str], *, top: int, title: str) -> Table:
    """The ``top`` rows with the lowest rank, in rank order."""
    shown = report.sort_values("rank", kind="stable").head(top)
    table = Table(title=title, title_justify="left", show_lines=False)
    for column in columns:
        justify = "right" if column in ("row", "rank", "label_quality", "consensus_quality") else "left"
        table.add_column(column, justify=justify, no_wrap=True, overflow="ellipsis")
    for record in shown[list(columns)].itertuples(index=False):
        table.add_row(*(format_cell(v) for v in record))
    return table


def full_table(report: pd.DataFrame) -> str:
    """The whole report as plain text (for `--format table` to a file or a pipe)."""
    console = Console(width=200, record=True, color_system=None, force_terminal=False, file=_NullFile())
    table = Table(show_lines=False, pad_edge=False, box=None)
    for column in report.columns:
        table.add_column(str(column))
    for record in report.itertuples(index=False):
        table.add_row(*(format_cell(v) for v in record))
    console.print(table)
    return console.export_text()


class _NullFile:
    def write(self, _: str) -> int:
        return 0

    def flush(self) -> None:
        pass


def print_scan_summary(console: Console, summary: dict[str, Any], *, worst: int = 3) -> None:
    """A few lines: N, issues, estimated noise, worst classes, overlapping classes."""
    n = summary.get("num_examples", 0)
    issues = summary.get("num_issues", 0)
    share = issues / n if n else 0.0
    console.print(f"examples: {n}   label issues: {issues} ({share:.1%})")
    if "estimated_noise_rate" in summary:
        console.print(
            f"estimated noise rate: {summary['estimated_noise_rate']:.1%}   "
            f"health score: {summary.get('health_score', float('nan')):.3f}"
        )
    elif "health_score" in summary:
        console.print(f"health score: {summary['health_score']:.3f}")
    per_class = summary.get("per_class") or []
    if per_class and "label_noise" in per_class[0]:
        parts = [f"{c['class']} ({c['label_noise']:.1%})" for c in per_class[:worst]]
        console.print("noisiest classes: " + ", ".join(parts))
    pairs = summary.get("overlapping_classes") or []
    if pairs:
        parts = []
        for pair in pairs[:worst]:
            a, b = pair["classes"]
            parts.append(f"{a} <-> {b} ({pair['joint']:.2%} of examples)")
        console.print("most overlapping classes: " + ", ".join(parts))
