"""The HTML report: one self-contained page a reviewer works from.

:func:`render_report` turns a report (the rows of ``labelaudit.scan/1``, ``labelaudit.scan-multilabel/1`` or
``labelaudit.aggregate/1``) and its metadata (schema, parameters, versions, summary, and optionally ``gate``,
``created`` and ``annotators``) into one HTML document:

* a header (data set, method, time, version, counts, the gate's outcome when a gate ran);
* inline SVG pictures (:mod:`labelaudit.report._svg`): the score distribution with the cut, issues per class,
  the confident joint as a heatmap (or its largest cells beyond 50 classes); for aggregation, annotator
  quality against agreement and per-annotator confusion matrices in ``<details>``;
* the ranked rows: the first page is plain HTML; every row is embedded as JSON in a
  ``<script type="application/json">`` island that a small inline script pages, searches, sorts and filters.

Safety: a Content-Security-Policy meta tag (``default-src 'none'``, the one inline script and stylesheet allowed
by their SHA-256 hashes, images only from ``data:``) forbids every network request. Markup is produced by
Jinja2 with autoescaping; the JSON island escapes ``<``, ``>``, ``&`` and the line separators, so no user string
can close the ``<script>`` element; the script builds cells with ``textContent`` only.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import os
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from labelaudit.errors import ColumnError
from labelaudit.report import _svg

SCAN_SCHEMA = "labelaudit.scan/1"
MULTILABEL_SCHEMA = "labelaudit.scan-multilabel/1"
AGGREGATE_SCHEMA = "labelaudit.aggregate/1"
FIRST_PAGE_ROWS = 50
"""Rows rendered as plain HTML (the page without JavaScript, and what the script shows first)."""
TOP_CLASSES = 3
"""Classes shown per row, with their probabilities, when the page is given the probabilities."""
MAX_ANNOTATOR_MATRICES = 200
"""Per-annotator confusion matrices drawn (the lowest quality first)."""

_TEMPLATES = Path(__file__).with_name("templates")
_URL = re.compile(r"^https?://", re.IGNORECASE)
_REQUIRED = {
    SCAN_SCHEMA: ("given_label", "suggested_label", "label_quality", "is_label_issue", "rank"),
    MULTILABEL_SCHEMA: ("given_label", "missing_tags", "spurious_tags", "label_quality", "is_label_issue"),
    AGGREGATE_SCHEMA: ("item", "consensus_label", "consensus_quality"),
}
# the columns each schema defines (the page lays them out itself); any other report column is shown as is
_OWN_COLUMNS = {
    SCAN_SCHEMA: {"row", "id", "error_probability", *_REQUIRED[SCAN_SCHEMA]},
    MULTILABEL_SCHEMA: {"row", "id", "rank", "error_probability", *_REQUIRED[MULTILABEL_SCHEMA]},
    AGGREGATE_SCHEMA: {
        "agreement",
        "num_annotations",
        "is_tie",
        "runner_up_label",
        "confusion_probability",
        *_REQUIRED[AGGREGATE_SCHEMA],
    },
}


def extra_columns(report: pd.DataFrame, schema: str) -> list[str]:
    """Report columns beyond the schema's own (``--keep-cols`` input columns, ``in_baseline``), in order."""
    return [str(c) for c in report.columns if str(c) not in _OWN_COLUMNS[schema]]


@cache
def _environment() -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(_TEMPLATES)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = _format_number
    return env


@cache
def _asset(name: str) -> tuple[str, str]:
    """A static asset's text and its CSP hash source (``'sha256-...'``)."""
    text = (_TEMPLATES / name).read_text(encoding="utf-8")
    digest = base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")
    return text, f"'sha256-{digest}'"


def _format_number(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else ""
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    if isinstance(value, (float, np.floating)):
        return "" if not math.isfinite(value) else f"{value:.4f}"
    return str(value)


def json_island(obj: Any) -> str:
    """JSON safe inside ``<script type="application/json">``: nothing in it can close the element."""
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return (
        text.replace("&", "\\u0026")
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def schema_of(report: pd.DataFrame, metadata: dict[str, Any]) -> str:
    """The report's schema: from its metadata, else recognised from its columns (CSV/JSONL reports)."""
    schema = str(metadata.get("schema") or "")
    if schema in _REQUIRED:
        return schema
    if "consensus_label" in report.columns:
        return AGGREGATE_SCHEMA
    if "missing_tags" in report.columns:
        return MULTILABEL_SCHEMA
    return SCAN_SCHEMA


def check_report(report: pd.DataFrame, schema: str, source: str) -> None:
    """A :class:`ColumnError` naming ``source`` and the column when the report lacks what the page needs."""
    for column in _REQUIRED[schema]:
        if column not in report.columns:
            raise ColumnError(f"{source}: not a {schema} report: no column {column!r}")


# --- the rows ---------------------------------------------------------------------------------------------


def ranked_positions(report: pd.DataFrame, schema: str) -> np.ndarray:
    """Positions of the report's rows, most suspicious first (ties by row, then position)."""
    if schema == AGGREGATE_SCHEMA:
        quality = report["consensus_quality"].to_numpy(dtype=np.float64)
        items = report["item"].astype(str).to_numpy()
        return np.lexsort((items, np.nan_to_num(quality, nan=-1.0)))
    keys = [np.arange(len(report))]
    if "row" in report.columns:
        keys.insert(0, report["row"].to_numpy())
    if "rank" in report.columns:
        keys.insert(0, report["rank"].to_numpy())
    else:
        keys.insert(0, report["label_quality"].to_numpy(dtype=np.float64))
    return np.lexsort(tuple(reversed(keys)))


def _label_strings(values: pd.Series) -> list[str]:
    """Labels as strings (nulls as the empty string)."""
    return values.astype(object).where(values.notna(), "").astype(str).tolist()


def _encode(
    columns: dict[str, list[str]], extra: Sequence[str] = ()
) -> tuple[list[str], dict[str, list[int]]]:
    """One sorted list of names for several label columns (one filter list serves them all), and their codes."""
    names = sorted(set(extra).union(*columns.values()))
    lookup = {name: i for i, name in enumerate(names)}
    return names, {key: [lookup[v] for v in values] for key, values in columns.items()}


def _floats(values: pd.Series, digits: int = 6) -> list[float | None]:
    array = values.to_numpy(dtype=np.float64)
    return [None if not math.isfinite(v) else round(float(v), digits) for v in array]


def _strings(values: pd.Series) -> list[str | None]:
    return [
        None if v is None or (isinstance(v, float) and math.isnan(v)) else str(v) for v in values.tolist()
    ]


def _top_classes(
    probabilities: np.ndarray, class_names: Sequence[str], names: list[str]
) -> list[list[float]]:
    """Per row ``[class code, p, class code, p, ...]`` of the most probable classes (ties: first column)."""
    matrix = np.asarray(probabilities, dtype=np.float64)
    k = min(TOP_CLASSES, matrix.shape[1])
    order = np.argsort(-matrix, axis=1, kind="stable")[:, :k]
    top_p = np.take_along_axis(matrix, order, axis=1)
    index = {name: i for i, name in enumerate(names)}
    codes = np.array([index[str(c)] for c in class_names])[order]
    out = []
    for row_codes, row_p in zip(codes.tolist(), np.round(top_p, 4).tolist(), strict=True):
        pairs: list[float] = []
        for code, p in zip(row_codes, row_p, strict=True):
            pairs += [code, p]
        out.append(pairs)
    return out


def _table_spec(
    report: pd.DataFrame,
    schema: str,
    metadata: dict[str, Any],
    show: pd.DataFrame | None,
    thumbnails: Sequence[str | None] | None,
    thumbnail_col: str | None,
    probabilities: tuple[np.ndarray, Sequence[str]] | None,
) -> dict[str, Any]:
    """The JSON island: column descriptions, columnar data, categories, filters and the default order."""
    columns: list[dict[str, Any]] = []
    data: dict[str, Any] = {}
    cats: dict[str, list[str]] = {}

    def add(key: str, label: str, kind: str, values: Any, **extra: Any) -> None:
        columns.append({"key": key, "label": label, "type": kind, **extra})
        data[key] = values

    def add_labels(pairs: Sequence[tuple[str, str]], extra: Sequence[str] = ()) -> None:
        present = [(key, label) for key, label in pairs if key in report.columns]
        names, codes = _encode({key: _label_strings(report[key]) for key, _ in present}, extra)
        cats["_labels"] = names
        for key, label in present:
            add(key, label, "cat", codes[key], cat="_labels")

    if schema == AGGREGATE_SCHEMA:
        add("item", "item", "str", _strings(report["item"]))
        class_names = [str(c) for c in probabilities[1]] if probabilities is not None else []
        add_labels([("consensus_label", "consensus"), ("runner_up_label", "runner-up")], class_names)
        if probabilities is not None:
            top = _top_classes(probabilities[0], class_names, cats["_labels"])
            add("top", "posterior", "top", top, cat="_labels")
        add("consensus_quality", "quality", "float", _floats(report["consensus_quality"]))
        for key, label in (("agreement", "agreement"), ("confusion_probability", "confusion")):
            if key in report.columns:
                add(key, label, "float", _floats(report[key]))
        if "num_annotations" in report.columns:
            add("num_annotations", "annotations", "int", report["num_annotations"].astype(int).tolist())
        if "is_tie" in report.columns:
            add("is_tie", "tie", "bool", report["is_tie"].astype(bool).astype(int).tolist())
        filters = [
            {"key": "consensus_label", "label": "consensus", "match": "eq"},
            {"key": "runner_up_label", "label": "runner-up", "match": "eq"},
        ]
        flag = "is_tie" if "is_tie" in report.columns else None
        flag_label = "ties"
    else:
        if "rank" in report.columns:
            add("rank", "rank", "int", report["rank"].astype(int).tolist())
        if "row" in report.columns:
            add("row", "row", "int", report["row"].astype(int).tolist())
        if "id" in report.columns:
            add("id", "id", "str", _strings(report["id"]))
        if schema == MULTILABEL_SCHEMA:
            tags: set[str] = set()
            sep = str((metadata.get("parameters") or {}).get("label_sep") or ",")
            for key, label in (
                ("given_label", "given"),
                ("missing_tags", "missing"),
                ("spurious_tags", "spurious"),
            ):
                values = _strings(report[key])
                add(key, label, "tags", values, chip=key)
                for value in values:
                    if value:
                        tags.update(t for t in value.split(sep) if t)
            cats["_labels"] = sorted(tags)
            filters = [
                {"key": "given_label", "label": "given tag", "match": "tag"},
                {"key": "missing_tags", "label": "missing", "match": "tag"},
                {"key": "spurious_tags", "label": "spurious", "match": "tag"},
            ]
        else:
            class_names = [str(c) for c in probabilities[1]] if probabilities is not None else []
            add_labels([("given_label", "given"), ("suggested_label", "suggested")], class_names)
            filters = [
                {"key": "given_label", "label": "given", "match": "eq"},
                {"key": "suggested_label", "label": "suggested", "match": "eq"},
            ]
            if probabilities is not None:
                top = _top_classes(probabilities[0], class_names, cats["_labels"])
                add("top", "top classes", "top", top, cat="_labels")
        add("label_quality", "quality", "float", _floats(report["label_quality"]))
        if "error_probability" in report.columns:
            add("error_probability", "P(error)", "float", _floats(report["error_probability"]))
        add("is_label_issue", "flagged", "bool", report["is_label_issue"].astype(bool).astype(int).tolist())
        flag, flag_label = "is_label_issue", "flagged"
    if show is not None:
        for name in show.columns:
            if thumbnail_col is not None and name == thumbnail_col:
                continue
            values = show[name]
            if pd.api.types.is_bool_dtype(values):
                add(f"show:{name}", str(name), "bool", values.astype(int).tolist())
            elif pd.api.types.is_integer_dtype(values):
                add(f"show:{name}", str(name), "int", values.astype(np.int64).tolist())
            elif pd.api.types.is_float_dtype(values):
                add(f"show:{name}", str(name), "float", _floats(values))
            else:
                add(f"show:{name}", str(name), "str", _strings(values))
    if thumbnail_col is not None and show is not None and thumbnail_col in show.columns:
        add(
            f"show:{thumbnail_col}",
            str(thumbnail_col),
            "thumb",
            _strings(show[thumbnail_col]),
            src=list(thumbnails) if thumbnails is not None else [None] * len(report),
        )
    return {
        "n": len(report),
        "columns": columns,
        "data": data,
        "cats": cats,
        "filters": [f for f in filters if f["key"] in data],
        "flag": flag if flag in data else None,
        "flagLabel": flag_label,
        "sep": str((metadata.get("parameters") or {}).get("label_sep") or ","),
        "pageSize": FIRST_PAGE_ROWS,
    }


def _cell(spec: dict[str, Any], column: dict[str, Any], i: int) -> dict[str, Any]:
    """One cell of the plain-HTML first page, the same as the script draws it."""
    kind, key = column["type"], column["key"]
    value = spec["data"][key][i]
    if kind == "cat":
        return {"text": spec["cats"][column["cat"]][value], "cls": "sugg" if key == "suggested_label" else ""}
    if kind == "bool":
        return {"text": "yes" if value else "", "cls": "flag" if value else ""}
    if kind == "int":
        return {"text": str(value), "cls": "n"}
    if kind == "float":
        return {"text": _format_number(value), "cls": "n"}
    if kind == "tags":
        chips = [t for t in (value or "").split(spec["sep"]) if t]
        return {"text": "", "cls": "", "chips": chips, "chip": column["chip"]}
    if kind == "top":
        names = spec["cats"][column["cat"]]
        pairs = [(names[int(value[j])], value[j + 1]) for j in range(0, len(value), 2)]
        return {"text": " · ".join(f"{n} {p:.2f}" for n, p in pairs), "cls": "top"}
    if kind == "thumb":
        src = column["src"][i]
        if src:
            return {"text": value or "", "cls": "thumb", "src": src}
    text = "" if value is None else str(value)
    if _URL.match(text):
        return {"text": text, "cls": "", "href": text}
    return {"text": text, "cls": ""}


def _first_page(spec: dict[str, Any], count: int) -> list[dict[str, Any]]:
    rows = []
    for i in range(min(count, spec["n"])):
        cells = [_cell(spec, column, i) for column in spec["columns"]]
        differs = False
        if "given_label" in spec["data"] and "suggested_label" in spec["data"]:
            differs = spec["data"]["given_label"][i] != spec["data"]["suggested_label"][i]
        rows.append({"cells": cells, "differs": differs})
    return rows


# --- the pictures and tables of the summary ---------------------------------------------------------------


def _score_chart(report: pd.DataFrame, schema: str, summary: dict[str, Any]) -> dict[str, str] | None:
    if schema == AGGREGATE_SCHEMA:
        values = report["consensus_quality"].to_numpy(dtype=np.float64)
        return {
            "title": "Consensus quality",
            "note": "The method's probability that each item's consensus is right.",
            "svg": _svg.histogram(values, None, cut=None, label="consensus quality"),
        }
    flagged = report["is_label_issue"].to_numpy(dtype=bool)
    if "error_probability" in report.columns:
        values = report["error_probability"].to_numpy(dtype=np.float64)
        cut = float(np.nanmin(values[flagged])) if flagged.any() else None
        label, cut_label = "error probability", f"lowest flagged {cut:.3f}" if cut is not None else ""
        note = "Estimated probability that the given label is wrong; flagged rows in red."
    else:
        values = report["label_quality"].to_numpy(dtype=np.float64)
        cut = float(np.nanmax(values[flagged])) if flagged.any() else None
        label, cut_label = "label quality", f"highest flagged {cut:.3f}" if cut is not None else ""
        note = "Label quality of every row (lower = more suspicious); flagged rows in red, height on a square-root scale."
    total = int(summary.get("num_examples") or len(report))
    if total > len(report):
        note += f" The report holds {len(report):,} of the {total:,} rows (written with --issues-only)."
    return {
        "title": f"Distribution of {label}",
        "note": note,
        "svg": _svg.histogram(values, flagged, cut=cut, label=label, cut_label=cut_label),
    }


def _issues_per_class(report: pd.DataFrame, summary: dict[str, Any], schema: str) -> dict[str, str] | None:
    if schema == AGGREGATE_SCHEMA:
        return None
    if schema == MULTILABEL_SCHEMA:
        classes = summary.get("per_class") or []
        if not classes:
            return None
        names = [str(c["class"]) for c in classes]
        missing = [float(c.get("missing", 0)) for c in classes]
        spurious = [float(c.get("spurious", 0)) for c in classes]
        flagged = [m + s for m, s in zip(missing, spurious, strict=True)]
        return {
            "title": "Flagged tags per class",
            "note": "Missing plus spurious tags flagged per class; the thin bar is the estimated noise rate.",
            "svg": _svg.bars(
                names,
                flagged,
                label="flagged tags per class",
                secondary=[float(c.get("label_noise", 0)) for c in classes],
                secondary_label="noise rate",
            ),
        }
    per_class = summary.get("per_class") or []
    if per_class and "num_issues" in per_class[0]:
        names = [str(c["class"]) for c in per_class]
        counts = [float(c["num_issues"]) for c in per_class]
        noise = [float(c.get("label_noise", 0.0)) for c in per_class]
    else:
        flagged = report[report["is_label_issue"].astype(bool)]
        grouped = flagged.groupby(flagged["given_label"].astype(str)).size()
        names, counts, noise = list(grouped.index), [float(v) for v in grouped.values], None
    if not names:
        return None
    return {
        "title": "Issues per class",
        "note": "Rows flagged per given class"
        + ("; the thin bar is the estimated label noise of the class." if noise is not None else "."),
        "svg": _svg.bars(
            names, counts, label="issues per class", secondary=noise, secondary_label="label noise"
        ),
    }


def _joint_chart(summary: dict[str, Any]) -> dict[str, Any] | None:
    matrix, names = summary.get("confident_joint"), summary.get("class_names")
    if not matrix or not names:
        return None
    if isinstance(matrix, dict):  # large K: the nonzero cells only
        return _sparse_joint_chart(matrix, names)
    array = np.asarray(matrix, dtype=np.float64)
    note = (
        "Rows: given label; columns: the class the model is confident of. Off-diagonal cells are "
        "estimated label errors."
    )
    if len(names) <= _svg.HEATMAP_MAX_CLASSES:
        svg = _svg.heatmap(array, names, label="Confident joint", row_axis="given", col_axis="suggested")
        return {"title": "Confident joint", "note": note, "svg": svg, "cells": None, "tall": True}
    cells = _svg.top_cells(array, names, limit=40)
    return {
        "title": "Confident joint",
        "note": f"{len(names)} classes: too many for a readable heatmap; the 40 largest off-diagonal cells.",
        "svg": _svg.bars([f"{a} → {b}" for a, b, _ in cells], [v for *_, v in cells], label="largest cells"),
        "cells": cells,
    }


def _sparse_joint_chart(cells: dict[str, Any], names: list[Any]) -> dict[str, Any]:
    given, true, count = (
        np.asarray(cells.get(key, []), dtype=np.int64) for key in ("given", "true", "count")
    )
    off = np.flatnonzero(given != true)
    order = off[np.lexsort((true[off], given[off], -count[off]))][:40]
    top = [(str(names[given[i]]), str(names[true[i]]), int(count[i])) for i in order]
    return {
        "title": "Confident joint",
        "note": f"{len(names)} classes: too many for a readable heatmap; the 40 largest off-diagonal cells.",
        "svg": _svg.bars([f"{a} → {b}" for a, b, _ in top], [v for *_, v in top], label="largest cells"),
        "cells": top,
    }


def _per_class_table(summary: dict[str, Any]) -> dict[str, Any] | None:
    per_class = summary.get("per_class") or []
    if not per_class:
        return None
    keys = [k for k in per_class[0] if not isinstance(per_class[0][k], (list, dict))]
    numeric = [
        isinstance(per_class[0][k], (int, float)) and not isinstance(per_class[0][k], bool) for k in keys
    ]
    return {"headers": keys, "numeric": numeric, "rows": [[c.get(k) for k in keys] for c in per_class]}


def _overlap_table(summary: dict[str, Any]) -> dict[str, Any] | None:
    pairs = summary.get("overlapping_classes") or []
    if not pairs:
        return None
    return {
        "headers": ["class A", "class B", "joint probability", "given A, really B", "given B, really A"],
        "numeric": [False, False, True, True, True],
        "rows": [
            [
                *p["classes"],
                p["joint"],
                p["count_given_first_true_second"],
                p["count_given_second_true_first"],
            ]
            for p in pairs[:20]
        ],
    }


def _annotator_section(annotators: list[dict[str, Any]], summary: dict[str, Any]) -> dict[str, Any] | None:
    if not annotators:
        return None
    ordered = sorted(annotators, key=lambda a: (_nan_low(a.get("quality")), str(a.get("annotator"))))
    names = [str(a.get("annotator")) for a in ordered]
    quality = [_nan_low(a.get("quality")) for a in ordered]
    agreement = [_nan_low(a.get("agreement")) for a in ordered]
    sizes = [float(a.get("num_annotations") or 0) for a in ordered]
    classes = [str(c) for c in summary.get("classes") or []]
    matrices = []
    for a in ordered[:MAX_ANNOTATOR_MATRICES]:
        matrix = a.get("confusion_matrix")
        if isinstance(matrix, str):
            matrix = json.loads(matrix)
        if matrix is None or not classes or len(matrix) != len(classes):
            continue
        matrices.append(
            {
                "name": str(a.get("annotator")),
                "quality": a.get("quality"),
                "svg": _svg.heatmap(
                    np.asarray(matrix, dtype=np.float64),
                    classes,
                    label=f"Confusion matrix of {a.get('annotator')}",
                    row_axis="true",
                    col_axis="answered",
                    value_format="prob",
                ),
            }
        )
    keys = [k for k in ordered[0] if k != "confusion_matrix"]
    return {
        "scatter": _svg.scatter(
            agreement, quality, names, x_label="agreement", y_label="quality", sizes=sizes
        ),
        "bars": _svg.bars(
            names, quality, label="lowest annotator quality", value_format="prob", smallest_first=True
        ),
        "table": {
            "headers": keys,
            "numeric": [
                isinstance(ordered[0][k], (int, float)) and not isinstance(ordered[0][k], bool) for k in keys
            ],
            "rows": [[a.get(k) for k in keys] for a in ordered[:500]],
        },
        "shown": min(len(ordered), 500),
        "count": len(ordered),
        "matrices": matrices,
        "matrices_total": len(ordered),
    }


def _nan_low(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return -1.0
    return number if math.isfinite(number) else -1.0


def _tag_table(summary: dict[str, Any]) -> dict[str, Any] | None:
    classes = summary.get("classes") or []
    if not classes or not isinstance(classes[0], dict):
        return None
    rows = []
    for c in classes:
        spurious, missing = c.get("given_but_absent") or {}, c.get("absent_but_should_be") or {}
        rows.append(
            [
                c.get("class"),
                c.get("given_count"),
                spurious.get("count"),
                spurious.get("rate"),
                missing.get("count"),
                missing.get("rate"),
                c.get("noise_rate"),
                c.get("estimated_errors"),
            ]
        )
    return {
        "headers": [
            "tag",
            "given",
            "spurious",
            "spurious rate",
            "missing",
            "missing rate",
            "noise rate",
            "estimated errors",
        ],
        "numeric": [False, True, True, True, True, True, True, True],
        "rows": rows,
    }


# --- the header -------------------------------------------------------------------------------------------


def _now() -> str:
    """The rendering time; ``SOURCE_DATE_EPOCH`` (reproducible builds) fixes it, so pages can be byte-identical."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    moment = datetime.fromtimestamp(int(epoch), UTC) if epoch.isdigit() else datetime.now(UTC)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _header(
    report: pd.DataFrame,
    metadata: dict[str, Any],
    schema: str,
    source: str | None,
    generated: str | None,
) -> dict[str, Any]:
    summary = metadata.get("summary") or {}
    parameters = metadata.get("parameters") or {}
    versions = metadata.get("versions") or {}
    if schema == AGGREGATE_SCHEMA:
        n = int(summary.get("num_items", len(report)))
        cards = [("items", f"{n:,}")]
        for key, label in (("num_annotators", "annotators"), ("num_annotations", "annotations")):
            if key in summary:
                cards.append((label, f"{int(summary[key]):,}"))
        if "mean_consensus_quality" in summary:
            cards.append(("mean consensus quality", f"{summary['mean_consensus_quality']:.3f}"))
        if "num_ties" in summary:
            cards.append(("ties", f"{int(summary['num_ties']):,}"))
        method = str(summary.get("method") or parameters.get("method") or "")
    else:
        n = int(summary.get("num_examples", len(report)))
        issues = int(summary.get("num_issues", int(report["is_label_issue"].sum())))
        cards = [("rows", f"{n:,}"), ("issues", f"{issues:,}")]
        cards.append(("share flagged", f"{issues / n:.1%}" if n else "-"))
        if "expected_label_errors" in summary:  # the sum of the rows' error probabilities
            cards.append(("estimated errors", f"{round(summary['expected_label_errors']):,}"))
        elif "estimated_noise_rate" in summary:  # the confident joint's off-diagonal share
            cards.append(("estimated errors", f"{round(summary['estimated_noise_rate'] * n):,}"))
        elif summary.get("classes") and isinstance(summary["classes"][0], dict):
            total = sum(float(c.get("estimated_errors") or 0) for c in summary["classes"])
            cards.append(("estimated tag errors", f"{round(total):,}"))
        if "health_score" in summary:
            cards.append(("health", f"{summary['health_score']:.3f}"))
        method = str(parameters.get("method") or "")
        if parameters.get("score"):
            method += f" · score {parameters['score']}"
        if parameters.get("compat"):
            method += f" · compat {parameters['compat']}"
    gate = metadata.get("gate") or summary.get("gate")
    return {
        "dataset": source or str(parameters.get("input") or "report"),
        "method": method,
        "created": metadata.get("created"),
        "generated": generated or _now(),
        "version": versions.get("labelaudit", ""),
        "schema": schema,
        "cards": cards,
        "gate": (
            {"passed": bool(gate.get("passed")), "failures": [str(f) for f in gate.get("failures") or []]}
            if isinstance(gate, dict)
            else None
        ),
        "parameters": [(k, v) for k, v in parameters.items() if v is not None],
        "versions": list(versions.items()),
    }


def render_report(
    report: pd.DataFrame,
    metadata: dict[str, Any],
    *,
    show: pd.DataFrame | None = None,
    thumbnails: Sequence[str | None] | None = None,
    thumbnail_col: str | None = None,
    probabilities: tuple[np.ndarray, Sequence[str]] | None = None,
    annotators: list[dict[str, Any]] | None = None,
    top: int | None = None,
    title: str | None = None,
    source: str | None = None,
    generated: str | None = None,
) -> str:
    """The HTML document of a report.

    ``report`` holds the report's rows (any order); ``metadata`` its schema, parameters, versions and summary
    (and optionally ``gate``, ``created``, ``annotators``). ``show`` (input columns to show), ``thumbnails``
    (one ``data:`` URI or None per row, for ``thumbnail_col`` of ``show``) and ``probabilities`` (an N×K
    matrix and its class names, for the top classes of each row) are aligned with ``report``'s rows.
    ``top`` keeps only the most suspicious rows in the table. ``source`` names the data set in the header.
    """
    schema = schema_of(report, metadata)
    check_report(report, schema, source or "report")
    n = len(report)
    for name, part in (("show", show), ("thumbnails", thumbnails)):
        if part is not None and len(part) != n:
            raise ValueError(f"{name} has {len(part)} rows, the report {n}")
    if probabilities is not None and len(probabilities[0]) != n:
        raise ValueError(f"probabilities have {len(probabilities[0])} rows, the report {n}")
    summary = metadata.get("summary") or {}
    order = ranked_positions(report, schema)
    if top is not None:
        order = order[:top]
    rows = report.iloc[order].reset_index(drop=True)
    shown = show.iloc[order].reset_index(drop=True) if show is not None else None
    thumbs = [thumbnails[i] for i in order] if thumbnails is not None else None
    probs = (np.asarray(probabilities[0])[order], probabilities[1]) if probabilities is not None else None
    spec = _table_spec(rows, schema, metadata, shown, thumbs, thumbnail_col, probs)
    script, script_hash = _asset("report.js")
    style, style_hash = _asset("report.css")
    csp = (
        f"default-src 'none'; script-src {script_hash}; style-src {style_hash}; img-src data:; "
        "base-uri 'none'; form-action 'none'"
    )
    header = _header(report, metadata, schema, source, generated)
    kind = {SCAN_SCHEMA: "scan", MULTILABEL_SCHEMA: "multi-label scan", AGGREGATE_SCHEMA: "aggregate"}[schema]
    annotator_records = annotators if annotators is not None else metadata.get("annotators") or []
    context = {
        "title": title or f"labelaudit {kind}: {header['dataset']}",
        "kind": kind,
        "csp": csp,
        "style": style,
        "script": script,
        "island": json_island(spec),
        "header": header,
        "charts": [
            c
            for c in (
                _score_chart(report, schema, summary),
                _joint_chart(summary),
                _issues_per_class(report, summary, schema),
            )
            if c
        ],
        "per_class": _per_class_table(summary) if schema == SCAN_SCHEMA else None,
        "overlap": _overlap_table(summary),
        "tags": _tag_table(summary) if schema == MULTILABEL_SCHEMA else None,
        "annotators": _annotator_section(annotator_records, summary) if schema == AGGREGATE_SCHEMA else None,
        "spec": spec,
        "first_page": _first_page(spec, FIRST_PAGE_ROWS),
        "total_rows": n,
        "table_rows": spec["n"],
        "filter_options": {f["key"]: spec["cats"].get("_labels", []) for f in spec["filters"]},
    }
    return _environment().get_template("report.html.j2").render(**context)
