"""Terminal rendering of `labelaudit aggregate`: the least certain items and a few summary lines."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table
from rich.text import Text

from labelaudit.report.table import cell
from labelaudit.report.terminal import printable

_RIGHT = {
    "consensus_quality",
    "agreement",
    "num_annotations",
    "confusion_probability",
    "quality",
    "num_items",
    "worst_class_accuracy",
}


def least_certain(items: pd.DataFrame, top: int) -> pd.DataFrame:
    """The ``top`` items with the lowest consensus quality (ties: higher confusion probability, then item order)."""
    order = np.lexsort(
        (
            np.arange(len(items)),
            -items["confusion_probability"].to_numpy(),
            items["consensus_quality"].to_numpy(),
        )
    )
    return items.iloc[order[:top]]


def _table(shown: pd.DataFrame, columns: Sequence[str], title: str) -> Table:
    table = Table(title=Text(title), title_justify="left", pad_edge=False)
    for column in columns:
        justify = "right" if column in _RIGHT else "left"
        table.add_column(Text(printable(column)), justify=justify, overflow="fold")
    for record in shown[list(columns)].itertuples(index=False):
        table.add_row(*(cell(v) for v in record))
    return table


def items_table(items: pd.DataFrame, *, top: int) -> Table:
    """The ``top`` least certain items, with every column of the per-item report."""
    return _table(
        least_certain(items, top),
        list(items.columns),
        f"Least certain items (top {min(top, len(items))} of {len(items)})",
    )


def annotators_table(annotators: pd.DataFrame, *, top: int) -> Table:
    """The ``top`` annotators with the lowest quality."""
    order = np.lexsort((np.arange(len(annotators)), annotators["quality"].to_numpy()))
    shown = annotators.iloc[order[:top]]
    return _table(
        shown,
        ("annotator", "quality", "agreement", "num_items", "worst_class", "worst_class_accuracy"),
        f"Lowest-quality annotators (top {len(shown)} of {len(annotators)})",
    )


def print_aggregate_summary(console: Console, summary: dict[str, Any]) -> None:
    """A few lines: what ran, the data's shape, ties, convergence, and the majority-vote verdict."""
    method = summary["method"]
    requested = summary.get("method_requested")
    ran = f"{method} (auto)" if requested == "auto" else method
    per_item = summary["annotations_per_item"]
    _line(
        console,
        f"method: {ran}   items: {summary['num_items']}   annotators: {summary['num_annotators']}   "
        f"annotations: {summary['num_annotations']} ({per_item['mean']:.1f} per item)   "
        f"classes: {summary['num_classes']}",
    )
    if summary.get("auto_reason"):
        _line(console, f"auto chose {method}: {summary['auto_reason']}")
    fit = summary.get("fit") or {}
    if "iterations" in fit:
        state = "converged" if fit.get("converged") else "NOT converged"
        delta = fit.get("delta")
        kind, value = ("EM", "log-likelihood") if "log_likelihood" in fit else ("VB", "variational bound")
        _line(
            console,
            f"{kind}: {state} after {fit['iterations']} iterations, {value} "
            f"{fit.get('log_likelihood', fit.get('elbo')):.2f}, last change {delta if delta is None else f'{delta:.3g}'}",
        )
    _line(
        console,
        f"ties: {summary['num_ties']}   mean consensus quality: {summary['mean_consensus_quality']:.3f}   "
        f"items below 0.5: {summary['items_below_0.5_quality']}   "
        f"items with one annotation: {summary['items_with_one_annotation']}",
    )
    if summary.get("duplicate_annotations"):
        _line(console, f"repeated (item, annotator) annotations counted: {summary['duplicate_annotations']}")
    regime = summary.get("majority_vote") or {}
    if regime.get("verdict"):
        _line(console, f"majority vote: {regime['verdict']}")
    audit = summary.get("audit")
    if audit:
        _line(
            console,
            f"audit: {audit['num_issues']} of {audit['num_annotations']} annotations flagged "
            f"({audit['issue_rate']:.1%})",
        )


def _line(console: Console, text: str) -> None:
    """One summary line as plain text: no markup, control characters escaped."""
    console.print(Text(printable(text)))
