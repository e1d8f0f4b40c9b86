"""A self-contained HTML report: no scripts, no external assets, readable offline and in CI artifacts."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

import pandas as pd

_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:72rem;
color:#1d232a;padding:0 1rem}
h1{font-size:1.5rem;margin-bottom:.2rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #d8dde3}
.sub{color:#5b6773;margin-top:0}
.cards{display:flex;gap:1rem;flex-wrap:wrap}
.card{border:1px solid #d8dde3;border-radius:.4rem;padding:.6rem 1rem;min-width:9rem}
.card .v{font-size:1.4rem;font-weight:600}.card .k{color:#5b6773;font-size:.85rem}
table{border-collapse:collapse;font-size:.88rem;margin:.5rem 0}
th,td{padding:.25rem .6rem;border-bottom:1px solid #eceff2;text-align:left}
th{background:#f4f6f8}td.n{text-align:right;font-variant-numeric:tabular-nums}
.cj td{text-align:right;min-width:2.6rem}
.flag{color:#b42318;font-weight:600}
footer{margin-top:2rem;color:#5b6773;font-size:.8rem}
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else ""
    if isinstance(value, float):
        return f"{value:.4f}"
    return _e(value)


def _table(
    headers: Sequence[str], rows: Sequence[Sequence[Any]], numeric: Sequence[bool], cls: str = ""
) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = "".join(
            f'<td class="n">{_fmt(v)}</td>' if is_num else f"<td>{_fmt(v)}</td>"
            for v, is_num in zip(row, numeric, strict=True)
        )
        body.append(f"<tr>{cells}</tr>")
    attr = f' class="{cls}"' if cls else ""
    return f"<table{attr}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _confident_joint(summary: dict[str, Any]) -> str:
    matrix = summary.get("confident_joint")
    names = summary.get("class_names")
    if not matrix or not names or len(names) > 40:
        return ""
    peak = max((v for i, row in enumerate(matrix) for j, v in enumerate(row) if i != j), default=0) or 1
    head = "<th>given \\ suggested</th>" + "".join(f"<th>{_e(n)}</th>" for n in names)
    rows = []
    for i, row in enumerate(matrix):
        cells = []
        for j, value in enumerate(row):
            if i == j:
                style = "background:#eef2f6"
            else:
                alpha = min(1.0, value / peak)
                style = f"background:rgba(180,35,24,{0.08 + 0.6 * alpha:.3f})" if value else ""
            cells.append(f'<td style="{style}">{int(value)}</td>')
        rows.append(f"<tr><th>{_e(names[i])}</th>{''.join(cells)}</tr>")
    return (
        "<h2>Confident joint</h2><p class=sub>Rows: given label; columns: the class the model is confident of. "
        "Off-diagonal cells are estimated label errors.</p>"
        f'<table class="cj"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
    )


def render_html(
    report: pd.DataFrame,
    summary: dict[str, Any],
    metadata: dict[str, Any],
    *,
    table_columns: Sequence[str],
    title: str,
    top: int = 100,
) -> str:
    """The HTML document for a scan: headline numbers, per-class noise, overlapping classes, top issues."""
    n = int(summary.get("num_examples", len(report)))
    issues = int(summary.get("num_issues", int(report["is_label_issue"].sum())))
    cards = [
        ("examples", f"{n:,}"),
        ("label issues", f"{issues:,}"),
        ("share flagged", f"{issues / n:.1%}" if n else "-"),
    ]
    if "estimated_noise_rate" in summary:
        cards.append(("estimated noise rate", f"{summary['estimated_noise_rate']:.1%}"))
    if "health_score" in summary:
        cards.append(("health score", f"{summary['health_score']:.3f}"))
    card_html = "".join(
        f'<div class="card"><div class="v">{_e(v)}</div><div class="k">{_e(k)}</div></div>' for k, v in cards
    )

    sections = []
    per_class = summary.get("per_class") or []
    if per_class:
        keys = [k for k in per_class[0] if not isinstance(per_class[0][k], (list, dict))]
        rows = [[c.get(k) for k in keys] for c in per_class]
        numeric = [
            isinstance(per_class[0][k], (int, float)) and not isinstance(per_class[0][k], bool) for k in keys
        ]
        sections.append("<h2>Per class</h2>" + _table(keys, rows, numeric))
    pairs = summary.get("overlapping_classes") or []
    if pairs:
        keys = ["class A", "class B", "joint probability", "given A, really B", "given B, really A"]
        rows = [
            [
                *p["classes"],
                p["joint"],
                p["count_given_first_true_second"],
                p["count_given_second_true_first"],
            ]
            for p in pairs[:20]
        ]
        numeric = [False, False, True, True, True]
        sections.append(
            "<h2>Overlapping classes</h2><p class=sub>Pairs of classes most often confused, "
            "by estimated joint probability.</p>" + _table(keys, rows, numeric)
        )
    sections.append(_confident_joint(summary))
    shown = report.sort_values("rank", kind="stable").head(top)
    columns = [c for c in table_columns if c in shown.columns]
    numeric = [
        pd.api.types.is_numeric_dtype(shown[c]) and not pd.api.types.is_bool_dtype(shown[c]) for c in columns
    ]
    sections.append(
        f"<h2>Most suspicious rows (top {len(shown)})</h2>"
        + _table(columns, shown[columns].itertuples(index=False), numeric)
    )
    params = metadata.get("parameters", {})
    versions = metadata.get("versions", {})
    footer = (
        "parameters: "
        + ", ".join(f"{_e(k)}={_e(v)}" for k, v in params.items() if v is not None)
        + "<br>versions: "
        + ", ".join(f"{_e(k)} {_e(v)}" for k, v in versions.items())
        + f"<br>schema: {_e(metadata.get('schema', ''))}"
    )
    return (
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>"
        f"<meta name=viewport content='width=device-width,initial-scale=1'><title>{_e(title)}</title>"
        f"<style>{_STYLE}</style></head><body>"
        f"<h1>{_e(title)}</h1><p class=sub>{_e(params.get('input', ''))}</p>"
        f'<div class="cards">{card_html}</div>{"".join(sections)}<footer>{footer}</footer></body></html>\n'
    )
