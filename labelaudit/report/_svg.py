"""Inline SVG charts for the HTML report: histogram with a cut, bars, heatmaps, a scatter.

Every function returns one ``<svg>`` element as a string. Colours come from CSS classes (``c-*``) so the
page's stylesheet can switch them for dark mode and print; intensities use ``fill-opacity``. No ``style``
attributes, so the page's Content-Security-Policy needs no ``'unsafe-inline'``. Every user string (class
and annotator names) goes through :func:`html.escape`.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

import numpy as np

HEATMAP_MAX_CLASSES = 50
"""Beyond this many classes a heatmap is unreadable: :func:`top_cells` lists the largest cells instead."""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _num(value: float) -> str:
    """A compact coordinate: two decimals, no trailing zeros."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _short(name: str, limit: int = 18) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "…"


def _svg(width: float, height: float, body: list[str], label: str) -> str:
    return (
        f'<svg class="chart" viewBox="0 0 {_num(width)} {_num(height)}" width="{_num(width)}" '
        f'height="{_num(height)}" role="img" aria-label="{_e(label)}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{_e(label)}</title>{''.join(body)}</svg>"
    )


def _fmt_count(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else f"{value:.3g}"


def histogram(
    values: np.ndarray,
    flagged: np.ndarray | None,
    *,
    cut: float | None,
    label: str,
    cut_label: str = "",
    bins: int = 40,
    width: int = 640,
    height: int = 220,
) -> str:
    """Distribution of scores in [0, 1], flagged rows stacked in the accent colour, the cut as a line."""
    values = np.asarray(values, dtype=np.float64)
    keep = np.isfinite(values)
    values = values[keep]
    edges = np.linspace(0.0, 1.0, bins + 1)
    clipped = np.clip(values, 0.0, 1.0)
    total, _ = np.histogram(clipped, bins=edges)
    if flagged is not None:
        marked, _ = np.histogram(clipped[np.asarray(flagged, dtype=bool)[keep]], bins=edges)
    else:
        marked = np.zeros_like(total)
    left, right, top, bottom = 48, 12, 12, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max(int(total.max(initial=0)), 1)
    # square-root scale: the few suspicious rows stay visible next to the mass of good ones
    scale = plot_h / math.sqrt(peak)
    bar_w = plot_w / bins
    body = [
        f'<line class="c-axis" x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}"/>',
        f'<line class="c-axis" x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}"/>',
    ]
    for i in range(bins):
        x = left + i * bar_w
        for count, cls, base in ((total[i] - marked[i], "c-bar", marked[i]), (marked[i], "c-flag", 0)):
            if count <= 0:
                continue
            y1 = top + plot_h - math.sqrt(base + count) * scale
            y0 = top + plot_h - math.sqrt(base) * scale
            body.append(
                f'<rect class="{cls}" x="{_num(x + 0.5)}" y="{_num(y1)}" width="{_num(max(bar_w - 1, 0.5))}" '
                f'height="{_num(max(y0 - y1, 0.5))}"><title>{_num(edges[i])}–{_num(edges[i + 1])}: '
                f"{int(count):,}{' flagged' if cls == 'c-flag' else ''}</title></rect>"
            )
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        x = left + tick * plot_w
        body.append(
            f'<text class="c-text" x="{_num(x)}" y="{height - 18}" text-anchor="middle">{tick:g}</text>'
        )
    for count in sorted({peak, max(peak // 4, 1)}):
        y = top + plot_h - math.sqrt(count) * scale
        body.append(
            f'<text class="c-text" x="{left - 4}" y="{_num(y + 4)}" text-anchor="end">{count:,}</text>'
        )
    body.append(
        f'<text class="c-text" x="{left + plot_w / 2}" y="{height - 3}" text-anchor="middle">{_e(label)}</text>'
    )
    if cut is not None and math.isfinite(cut):
        x = left + min(max(cut, 0.0), 1.0) * plot_w
        body.append(f'<line class="c-cut" x1="{_num(x)}" y1="{top}" x2="{_num(x)}" y2="{top + plot_h}"/>')
        anchor = "start" if cut < 0.7 else "end"
        dx = 4 if anchor == "start" else -4
        body.append(
            f'<text class="c-text c-cut-label" x="{_num(x + dx)}" y="{top + 10}" text-anchor="{anchor}">'
            f"{_e(cut_label or f'cut {cut:.3f}')}</text>"
        )
    return _svg(width, height, body, f"Distribution of {label}")


def bars(
    names: Sequence[str],
    values: Sequence[float],
    *,
    label: str,
    secondary: Sequence[float] | None = None,
    secondary_label: str = "",
    limit: int = 50,
    width: int = 640,
    value_format: str = "count",
    smallest_first: bool = False,
) -> str:
    """Horizontal bars, largest first (at most ``limit``); ``secondary`` draws a thin bar under each.

    ``value_format="prob"`` draws values in [0, 1] on a 0-1 scale (three decimals); ``smallest_first``
    keeps and shows the smallest values instead.
    """
    sign = 1.0 if smallest_first else -1.0
    order = sorted(range(len(names)), key=lambda i: (sign * float(values[i]), str(names[i])))[:limit]
    row_h = 18 if secondary is None else 24
    label_w = 150
    left, right, top = label_w + 6, 70, 6
    plot_w = width - left - right
    height = top + row_h * len(order) + 8
    peak = 1.0 if value_format == "prob" else max((float(values[i]) for i in order), default=0.0)
    peak2 = max((float(secondary[i]) for i in order), default=0.0) if secondary is not None else 0.0
    body = []
    for row, i in enumerate(order):
        y = top + row * row_h
        value = float(values[i])
        w = plot_w * value / peak if peak > 0 else 0.0
        text = _fmt_count(value) if value_format == "count" else f"{value:.3f}"
        body.append(
            f'<text class="c-text" x="{label_w}" y="{y + 12}" text-anchor="end">{_e(_short(str(names[i]), 24))}'
            f"<title>{_e(names[i])}</title></text>"
            f'<rect class="c-bar" x="{left}" y="{y + 2}" width="{_num(max(w, 0.5 if value else 0))}" height="12">'
            f"<title>{_e(names[i])}: {text}</title></rect>"
            f'<text class="c-text" x="{_num(left + w + 4)}" y="{y + 12}">{text}</text>'
        )
        if secondary is not None:
            w2 = plot_w * float(secondary[i]) / peak2 if peak2 > 0 else 0.0
            body.append(
                f'<rect class="c-flag" x="{left}" y="{y + 16}" width="{_num(w2)}" height="4">'
                f"<title>{_e(names[i])}: {_e(secondary_label)} {float(secondary[i]):.3g}</title></rect>"
            )
    return _svg(width, height, body, label)


# report.css's page background and heatmap colours (light, dark): a cell's number is black or white,
# whichever contrasts more with the cell as painted in each colour scheme
_SCHEMES = (
    {"bg": "#ffffff", "c-heat": "#b42318", "c-diag": "#5f7388"},
    {"bg": "#14181d", "c-heat": "#ff7b6b", "c-diag": "#9fb3c8"},
)


def _luminance(rgb: Sequence[float]) -> float:
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def _ink(cls: str, opacity: float) -> str:
    """Classes giving the number in a cell of class ``cls`` black (``b``) or white (``w``) ink per scheme."""
    inks = []
    for scheme in _SCHEMES:
        fg, bg = scheme[cls], scheme["bg"]
        rgb = [
            (opacity * int(fg[i : i + 2], 16) + (1 - opacity) * int(bg[i : i + 2], 16)) / 255
            for i in (1, 3, 5)
        ]
        # contrast with white is 1.05 / (L + .05), with black (L + .05) / .05: equal at L = 0.179
        inks.append("w" if _luminance(rgb) < 0.179 else "b")
    return f"c-l-{inks[0]} c-d-{inks[1]}"


def _cell_opacity(value: float, peak: float) -> str:
    return _num(0.08 + 0.92 * math.sqrt(value / peak)) if value > 0 and peak > 0 else "0"


def heatmap(
    matrix: np.ndarray,
    names: Sequence[str],
    *,
    label: str,
    row_axis: str,
    col_axis: str,
    value_format: str = "count",
    cell: int | None = None,
) -> str:
    """A K×K matrix with class names; off-diagonal cells shaded by size (the diagonal in a neutral tone)."""
    matrix = np.asarray(matrix, dtype=np.float64)
    k = matrix.shape[0]
    cell = cell or (34 if k <= 12 else 22 if k <= 25 else 14)
    names = [str(n) for n in names]
    label_w = min(max((len(_short(n)) for n in names), default=4) * 7 + 10, 140)
    left, top = label_w + 16, label_w + 16
    width, height = left + k * cell + 8, top + k * cell + 8
    off = matrix.copy()
    np.fill_diagonal(off, 0.0)
    peak = float(off.max(initial=0.0))
    diag_peak = float(np.diag(matrix).max(initial=0.0))
    show_numbers = cell >= 30
    body = [
        f'<text class="c-text c-axis-label" x="{left}" y="10">{_e(col_axis)} →</text>',
        f'<text class="c-text c-axis-label" x="10" y="{top}" transform="rotate(90 10 {top})">{_e(row_axis)} →</text>',
    ]
    for j, name in enumerate(names):
        x = left + j * cell + cell / 2 + 4
        body.append(
            f'<text class="c-text" x="{_num(x)}" y="{top - 4}" transform="rotate(-60 {_num(x)} {top - 4})">'
            f"{_e(_short(name))}<title>{_e(name)}</title></text>"
        )
    for i, name in enumerate(names):
        y = top + i * cell
        body.append(
            f'<text class="c-text" x="{left - 4}" y="{_num(y + cell / 2 + 4)}" text-anchor="end">'
            f"{_e(_short(name))}<title>{_e(name)}</title></text>"
        )
        for j in range(k):
            value = float(matrix[i, j])
            diagonal = i == j
            cls = "c-diag" if diagonal else "c-heat"
            opacity = _cell_opacity(value, diag_peak if diagonal else peak)
            text = _fmt_count(value) if value_format == "count" else f"{value:.3f}"
            x = left + j * cell
            body.append(
                f'<rect class="c-grid" x="{x}" y="{y}" width="{cell}" height="{cell}"/>'
                f'<rect class="{cls}" x="{x}" y="{y}" width="{cell}" height="{cell}" fill-opacity="{opacity}">'
                f"<title>{_e(row_axis)} {_e(name)}, {_e(col_axis)} {_e(names[j])}: {text}</title></rect>"
            )
            if show_numbers and value:
                body.append(
                    f'<text class="c-cell {_ink(cls, float(opacity))}" x="{_num(x + cell / 2)}" '
                    f'y="{_num(y + cell / 2 + 4)}" text-anchor="middle">'
                    f"{_e(text if value_format == 'count' else f'{value:.2f}')}</text>"
                )
    return _svg(width, height, body, label)


def top_cells(matrix: np.ndarray, names: Sequence[str], limit: int = 30) -> list[tuple[str, str, float]]:
    """The largest off-diagonal cells as (row name, column name, value), largest first, ties by position."""
    matrix = np.asarray(matrix, dtype=np.float64)
    k = matrix.shape[0]
    cells = [
        (str(names[i]), str(names[j]), float(matrix[i, j]))
        for i in range(k)
        for j in range(k)
        if i != j and matrix[i, j] > 0
    ]
    cells.sort(key=lambda c: -c[2])
    return cells[:limit]


def scatter(
    x: Sequence[float],
    y: Sequence[float],
    names: Sequence[str],
    *,
    x_label: str,
    y_label: str,
    sizes: Sequence[float] | None = None,
    width: int = 640,
    height: int = 300,
) -> str:
    """Points in [0, 1]², one per annotator (size ~ sqrt of ``sizes``), each with its name as a tooltip."""
    left, right, top, bottom = 48, 16, 12, 36
    plot_w, plot_h = width - left - right, height - top - bottom
    body = [
        f'<line class="c-axis" x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}"/>',
        f'<line class="c-axis" x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}"/>',
        f'<line class="c-grid-line" x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top}"/>',
    ]
    for tick in (0.0, 0.5, 1.0):
        body.append(
            f'<text class="c-text" x="{_num(left + tick * plot_w)}" y="{top + plot_h + 14}" '
            f'text-anchor="middle">{tick:g}</text>'
            f'<text class="c-text" x="{left - 4}" y="{_num(top + (1 - tick) * plot_h + 4)}" '
            f'text-anchor="end">{tick:g}</text>'
        )
    peak = max((float(s) for s in sizes), default=1.0) if sizes is not None else 1.0
    for i, name in enumerate(names):
        xv, yv = float(x[i]), float(y[i])
        if not (math.isfinite(xv) and math.isfinite(yv)):
            continue
        r = 2.0 + 6.0 * math.sqrt(float(sizes[i]) / peak) if sizes is not None and peak > 0 else 3.0
        body.append(
            f'<circle class="c-point" cx="{_num(left + min(max(xv, 0), 1) * plot_w)}" '
            f'cy="{_num(top + (1 - min(max(yv, 0), 1)) * plot_h)}" r="{_num(r)}">'
            f"<title>{_e(name)}: {_e(x_label)} {xv:.3f}, {_e(y_label)} {yv:.3f}</title></circle>"
        )
    body.append(
        f'<text class="c-text" x="{left + plot_w / 2}" y="{height - 4}" text-anchor="middle">{_e(x_label)}</text>'
        f'<text class="c-text" x="12" y="{top + plot_h / 2}" text-anchor="middle" '
        f'transform="rotate(-90 12 {top + plot_h / 2})">{_e(y_label)}</text>'
    )
    return _svg(width, height, body, f"{y_label} against {x_label}")
