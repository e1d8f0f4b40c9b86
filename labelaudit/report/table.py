"""Terminal rendering with rich: the most suspicious rows and the dataset summary."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import IO, Any

import numpy as np
import pandas as pd
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

from labelaudit.report.terminal import printable


def format_cell(value: Any) -> str:
    """A table cell: floats to 4 decimals, NaN and None empty, True as "yes" and False empty.

    Strings have their control characters escaped (:func:`labelaudit.report.terminal.printable`).
    """
    if value is None:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else ""
    if isinstance(value, (float, np.floating)):
        return "" if value != value else f"{value:.4f}"
    if value is pd.NA or value is pd.NaT:
        return ""
    return printable(value)


def cell(value: Any) -> Text:
    """A terminal table cell: :func:`format_cell` as plain text, never parsed as rich markup."""
    return Text(format_cell(value))


def issues_table(report: pd.DataFrame, columns: Sequence[str], *, top: int, title: str) -> Table:
    """The ``top`` rows with the lowest rank, in rank order."""
    shown = report.sort_values("rank", kind="stable").head(top)
    table = Table(title=Text(title), title_justify="left", show_lines=False)
    for column in columns:
        right = ("row", "rank", "label_quality", "error_probability", "consensus_quality")
        justify = "right" if column in right else "left"
        table.add_column(Text(printable(column)), justify=justify, no_wrap=True, overflow="ellipsis")
    for record in shown[list(columns)].itertuples(index=False):
        table.add_row(*(cell(v) for v in record))
    return table


_SEPARATOR = "  "
_BLOCK_ROWS = 65_536


class _Column:
    """One column of the plain table: its display width and how to format a block of its rows."""

    def __init__(self, values: pd.Series) -> None:
        dtype = values.dtype
        self.right = False
        self._lookup: np.ndarray | None = None
        if pd.api.types.is_bool_dtype(dtype) and not values.hasnans:
            flags = values.to_numpy(dtype=bool)
            self._codes = flags.astype(np.int64)
            self._set_lookup(["", "yes"])
        elif pd.api.types.is_integer_dtype(dtype) and not values.hasnans:
            ints = values.to_numpy(dtype=np.int64)
            self.right = True
            self._format = lambda a, b: [str(v) for v in ints[a:b].tolist()]
            self.width = max(len(str(ints.min())), len(str(ints.max()))) if len(ints) else 0
        elif pd.api.types.is_float_dtype(dtype):
            floats = values.to_numpy(dtype=np.float64)
            finite = floats[~np.isnan(floats)]
            self.right = True
            self._format = lambda a, b: ["" if v != v else f"{v:.4f}" for v in floats[a:b].tolist()]
            # the formatted length grows with |x| on each side of zero: the extremes are the widest
            self.width = max(len(f"{finite.min():.4f}"), len(f"{finite.max():.4f}")) if len(finite) else 0
        else:
            codes, uniques = pd.factorize(values, use_na_sentinel=True)
            self._codes = np.where(codes < 0, len(uniques), codes)  # missing -> the empty last entry
            self._set_lookup([format_cell(v) for v in uniques] + [""])

    def _set_lookup(self, shown: list[str]) -> None:
        self._shown = shown
        self._widths = [cell_len(v) for v in shown]
        self.width = max(self._widths, default=0)

    def cells(self, start: int, stop: int, width: int) -> list[str]:
        """Rows [start, stop) justified to ``width`` display cells."""
        if not self.right:
            if self._lookup is None:  # padded once per distinct value, by display width (wide characters)
                padded = [v + " " * (width - w) for v, w in zip(self._shown, self._widths, strict=True)]
                self._lookup = np.asarray(padded, dtype=object)
            return self._lookup[self._codes[start:stop]].tolist()
        return [v.rjust(width) for v in self._format(start, stop)]


def write_plain_table(report: pd.DataFrame, stream: IO[str]) -> None:
    """The whole report as a plain fixed-width text table, written block by block (linear in the rows).

    Columns are separated by two spaces; numbers are right-justified, text left-justified; cells are
    formatted by :func:`format_cell` (control characters escaped); trailing spaces are dropped.
    """
    headers = [printable(column) for column in report.columns]
    columns = [_Column(report[column]) for column in report.columns]
    widths = [max(c.width, cell_len(h)) for c, h in zip(columns, headers, strict=True)]

    def justify(text: str, width: int, right: bool) -> str:
        gap = " " * (width - cell_len(text))
        return gap + text if right else text + gap

    header = _SEPARATOR.join(justify(h, w, c.right) for h, w, c in zip(headers, widths, columns, strict=True))
    stream.write(header.rstrip() + "\n")
    if not columns:
        return
    n = len(report)
    for start in range(0, n, _BLOCK_ROWS):
        stop = min(start + _BLOCK_ROWS, n)
        blocks = [c.cells(start, stop, w) for c, w in zip(columns, widths, strict=True)]
        stream.write("".join(_SEPARATOR.join(row).rstrip() + "\n" for row in zip(*blocks, strict=True)))


def full_table(report: pd.DataFrame) -> str:
    """The whole report as plain text (:func:`write_plain_table` into a string)."""
    buffer = io.StringIO()
    write_plain_table(report, buffer)
    return buffer.getvalue()


def print_scan_summary(console: Console, summary: dict[str, Any], *, worst: int = 3) -> None:
    """A few lines: N, issues, estimated noise, worst classes, overlapping classes."""
    n = summary.get("num_examples", 0)
    issues = summary.get("num_issues", 0)
    share = issues / n if n else 0.0
    console.print(Text(f"examples: {n}   label issues: {issues} ({share:.1%})"))
    if "expected_label_errors" in summary:
        console.print(
            Text(
                f"about {summary['expected_label_errors']:.0f} labels are probably wrong "
                f"(the sum of error_probability); these {issues} are flagged"
            )
        )
    if summary.get("unflagged_in_top_ranks"):
        console.print(
            Text(
                f"{summary['unflagged_in_top_ranks']} of the top {issues} by rank are not flagged: the rank orders "
                "label_quality (--score), the flags come from --method"
            )
        )
    if "estimated_noise_rate" in summary:
        console.print(
            Text(
                f"estimated noise rate: {summary['estimated_noise_rate']:.1%}   "
                f"health score: {summary.get('health_score', float('nan')):.3f}"
            )
        )
    elif "health_score" in summary:
        console.print(Text(f"health score: {summary['health_score']:.3f}"))
    per_class = summary.get("per_class") or []
    if per_class and "label_noise" in per_class[0]:
        parts = [f"{printable(c['class'])} ({c['label_noise']:.1%})" for c in per_class[:worst]]
        console.print(Text("noisiest classes: " + ", ".join(parts)))
    pairs = summary.get("overlapping_classes") or []
    if pairs:
        parts = []
        for pair in pairs[:worst]:
            a, b = pair["classes"]
            parts.append(f"{printable(a)} <-> {printable(b)} ({pair['joint']:.2%} of examples)")
        console.print(Text("most overlapping classes: " + ", ".join(parts)))
