"""The HTML page, in-process: its structure, its numbers, and that no user string escapes its place."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

from labelaudit.report import _svg
from labelaudit.report.html import (
    AGGREGATE_SCHEMA,
    FIRST_PAGE_ROWS,
    MULTILABEL_SCHEMA,
    SCAN_SCHEMA,
    json_island,
    render_report,
)

HOSTILE = ["<script>alert(1)</script>", '"><img src=x onerror=alert(2)>', "</script><b>x", "a&b", "\u2028"]


class Page(HTMLParser):
    """Every element with its attributes, the text of each <script>, and the cells of the rows table."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self.rows: list[list[str]] = []
        self.headers: list[str] = []
        self.h2: list[str] = []
        self._script: dict[str, str | None] | None = None
        self._text: list[str] = []
        self._in_rows = False
        self._in_head = False
        self._cell: list[str] | None = None
        self._h2: list[str] | None = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.elements.append((tag, attrs))
        if tag == "script":
            self._script, self._text = attrs, []
        elif tag == "tbody" and attrs.get("id") == "rows":
            self._in_rows = True
        elif tag == "table" and attrs.get("id") == "rows-table":
            self._in_head = True
        elif tag == "tr" and self._in_rows:
            self.rows.append([])
        elif tag in ("td", "th") and (self._in_rows or self._in_head):
            self._cell = []
        elif tag == "h2":
            self._h2 = []

    def handle_endtag(self, tag):
        if tag == "script" and self._script is not None:
            self.scripts.append((self._script, "".join(self._text)))
            self._script = None
        elif tag == "tbody":
            self._in_rows = False
        elif tag == "thead":
            self._in_head = False
        elif tag in ("td", "th") and self._cell is not None:
            text = "".join(self._cell)
            if self._in_rows:
                self.rows[-1].append(text)
            else:
                self.headers.append(text)
            self._cell = None
        elif tag == "h2" and self._h2 is not None:
            self.h2.append("".join(self._h2).strip())
            self._h2 = None

    def handle_data(self, data):
        if self._script is not None:
            self._text.append(data)
        if self._cell is not None:
            self._cell.append(data)
        if self._h2 is not None:
            self._h2.append(data)

    @property
    def island(self) -> dict:
        (text,) = [t for a, t in self.scripts if a.get("type") == "application/json"]
        return json.loads(text)

    @property
    def csp(self) -> str:
        (meta,) = [
            a for t, a in self.elements if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"
        ]
        return meta["content"] or ""


def scan_report(n: int = 120, k: int = 4, names: list[str] | None = None, seed: int = 0):
    """A real single-label scan (library calls) of synthetic data: report frame, metadata, probabilities."""
    from labelaudit.core.filter import find_label_issues
    from labelaudit.core.scores import label_quality_scores, predicted_labels, rank_issues
    from labelaudit.core.summary import dataset_summary

    rng = np.random.default_rng(seed)
    true = rng.integers(0, k, n)
    probs = rng.dirichlet(np.full(k, 0.3), n)
    probs[np.arange(n), true] += 2.0
    probs /= probs.sum(axis=1, keepdims=True)
    labels = true.copy()
    flip = rng.random(n) < 0.15
    labels[flip] = rng.integers(0, k, int(flip.sum()))
    names = names or [f"class{i}" for i in range(k)]
    issues = find_label_issues(labels, probs)
    quality = label_quality_scores(labels, probs)
    suggested = predicted_labels(probs)
    summary = dataset_summary(labels, probs, class_names=names, issues=issues)
    array = np.asarray(names, dtype=object)
    report = pd.DataFrame(
        {
            "row": np.arange(n),
            "id": [f"item-{i}" for i in range(n)],
            "given_label": array[labels],
            "suggested_label": array[suggested],
            "label_quality": quality,
            "is_label_issue": issues,
            "rank": rank_issues(quality),
        }
    )
    metadata = {
        "schema": SCAN_SCHEMA,
        "parameters": {"input": "data.csv", "method": "prune_by_noise_rate"},
        "versions": {"labelaudit": "0.1.0"},
        "summary": summary,
    }
    return report, metadata, probs, names


def test_scan_page_numbers_order_and_first_page() -> None:
    report, metadata, probs, names = scan_report()
    page = Page(render_report(report, metadata, probabilities=(probs, names), generated="fixed"))
    island = page.island
    assert island["n"] == len(report)
    ranked = report.sort_values("rank")
    # the island holds every row, most suspicious first
    assert island["data"]["row"] == ranked["row"].tolist()
    labels = island["cats"]["_labels"]
    assert [labels[c] for c in island["data"]["given_label"]] == ranked["given_label"].tolist()
    # the plain-HTML first page is the first page of the ranked rows, with the same cells
    assert len(page.rows) == FIRST_PAGE_ROWS
    row_col = page.headers.index("row")
    assert [int(r[row_col]) for r in page.rows] == ranked["row"].head(FIRST_PAGE_ROWS).tolist()
    # the top classes are the row's most probable classes, most probable first
    top_col = page.headers.index("top classes")
    first = int(ranked["row"].iloc[0])
    best = np.argsort(-probs[first], kind="stable")[:3]
    assert page.rows[0][top_col] == " · ".join(f"{names[j]} {probs[first, j]:.2f}" for j in best)
    # every flagged row is flagged in the island, and only those
    flags = island["data"]["is_label_issue"]
    assert flags == ranked["is_label_issue"].astype(int).tolist()
    assert "Confident joint" in page.h2 and "Issues per class" in page.h2


def test_header_counts_and_gate() -> None:
    report, metadata, _, _ = scan_report()
    metadata["gate"] = {"passed": False, "failures": ["12 label issues > --max-issues 3"]}
    text = render_report(report, metadata, generated="fixed")
    summary = metadata["summary"]
    cards = dict(
        (k.strip(), v.strip())
        for v, k in re.findall(r'<div class="v">([^<]*)</div><div class="k">([^<]*)', text)
    )
    assert cards["rows"] == f"{summary['num_examples']:,}"
    assert cards["issues"] == f"{summary['num_issues']:,}"
    assert cards["estimated errors"] == f"{round(summary['estimated_noise_rate'] * len(report)):,}"
    assert "expected_label_errors" not in summary
    # with error probabilities, the estimate is their sum (as the terminal summary says)
    metadata["summary"] = {**summary, "expected_label_errors": 41.6}
    assert '<div class="v">42</div><div class="k">estimated errors</div>' in render_report(report, metadata)
    assert cards["health"] == f"{summary['health_score']:.3f}"
    assert 'id="gate"' in text and "failed" in text and "12 label issues &gt; --max-issues 3" in text
    metadata["gate"] = {"passed": True, "failures": []}
    assert ">passed<" in render_report(report, metadata)
    del metadata["gate"]
    assert 'id="gate"' not in render_report(report, metadata)


def test_csp_allows_exactly_the_inline_script_and_style() -> None:
    report, metadata, _, _ = scan_report(n=30)
    text = render_report(report, metadata)
    page = Page(text)
    csp = page.csp
    assert "default-src 'none'" in csp and "img-src data:" in csp
    (code,) = [t for a, t in page.scripts if "type" not in a]
    digest = base64.b64encode(hashlib.sha256(code.encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in csp
    style = re.search(r"<style>(.*?)</style>", text, re.S).group(1)
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    assert f"style-src 'sha256-{digest}'" in csp
    # nothing that could fetch: no external src/href, no style attributes the policy would block
    for tag, attrs in page.elements:
        for key in ("src", "href"):
            value = attrs.get(key) or ""
            assert not value or value.startswith("data:image/"), (tag, attrs)
        assert "style" not in attrs, (tag, attrs)


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_strings_stay_text(hostile: str) -> None:
    names = [hostile, "plain", f"{hostile}2"]
    report, metadata, probs, _ = scan_report(n=60, k=3, names=names)
    report["id"] = [f"{hostile}-{i}" for i in range(len(report))]
    show = pd.DataFrame({hostile: [hostile] * len(report)})
    metadata["parameters"]["input"] = f"{hostile}.csv"
    text = render_report(report, metadata, show=show, probabilities=(probs, names), source=f"{hostile}.csv")
    page = Page(text)
    # one executable script (ours), one data island; no element came from a user string
    assert [a.get("type") for a, _ in page.scripts] == ["application/json", None]
    tags = {tag for tag, _ in page.elements}
    assert "img" not in tags and not any(a.get("onerror") for _, a in page.elements)
    assert "b" not in tags
    island = page.island  # parses back to the very strings
    assert hostile in island["cats"]["_labels"]
    assert island["data"]["id"][0].startswith(hostile)
    assert any(c["label"] == hostile for c in island["columns"])
    assert hostile in page.rows[0][page.headers.index(hostile)]
    # the raw island text cannot close its element
    raw = text.split('id="la-data">', 1)[1].split("</script>", 1)[0]
    assert "<" not in raw and ">" not in raw and "\u2028" not in raw


def test_json_island_escapes_and_round_trips() -> None:
    value = {"a": "</script><!--", "b": "\u2028\u2029&", "c": [1.5, None]}
    text = json_island(value)
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text) == value


def test_top_keeps_the_most_suspicious_rows() -> None:
    report, metadata, _, _ = scan_report()
    page = Page(render_report(report, metadata, top=7))
    assert page.island["n"] == 7
    assert page.island["data"]["rank"] == list(range(1, 8))
    assert len(page.rows) == 7


def test_error_probability_is_pictured_when_present() -> None:
    report, metadata, _, _ = scan_report()
    report["error_probability"] = 1.0 - report["label_quality"]
    page = Page(render_report(report, metadata))
    assert "Distribution of error probability" in page.h2
    assert "P(error)" in page.headers


def test_many_classes_list_the_largest_cells() -> None:
    matrix = np.diag(np.full(60, 50.0))
    matrix[3, 7] = 9
    matrix[10, 2] = 4
    names = [f"c{i}" for i in range(60)]
    assert _svg.top_cells(matrix, names, limit=2) == [("c3", "c7", 9.0), ("c10", "c2", 4.0)]
    report, metadata, _, _ = scan_report(n=40)
    metadata["summary"] = {**metadata["summary"], "confident_joint": matrix.tolist(), "class_names": names}
    text = render_report(report, metadata)
    assert "60 classes: too many for a readable heatmap" in text
    assert "<td>c3</td><td>c7</td>" in text


def test_multilabel_page_has_chips_and_a_tag_table() -> None:
    report = pd.DataFrame(
        {
            "row": [0, 1, 2],
            "given_label": ["red|blue", "blue", ""],
            "missing_tags": ["", "red", "green"],
            "spurious_tags": ["blue", "", ""],
            "label_quality": [0.2, 0.3, 0.9],
            "is_label_issue": [True, True, False],
            "rank": [1, 2, 3],
        }
    )
    summary = {
        "num_examples": 3,
        "num_issues": 2,
        "health_score": 1 / 3,
        "classes": [
            {
                "class": name,
                "given_count": 1,
                "given_but_absent": {"count": 1, "rate": 0.5},
                "absent_but_should_be": {"count": 0, "rate": 0.0},
                "noise_rate": 0.25,
                "estimated_errors": 0.75,
            }
            for name in ("red", "green", "blue")
        ],
        "per_class": [
            {"class": n, "given_count": 1, "label_noise": 0.25, "spurious": 1, "missing": 0}
            for n in ("red", "green", "blue")
        ],
    }
    metadata = {"schema": MULTILABEL_SCHEMA, "parameters": {"label_sep": "|"}, "summary": summary}
    text = render_report(report, metadata)
    page = Page(text)
    assert '<span class="chip given_label">red</span><span class="chip given_label">blue</span>' in text
    assert '<span class="chip spurious_tags">blue</span>' in text
    assert '<span class="chip missing_tags">red</span>' in text
    assert "Per tag" in page.h2 and "Flagged tags per class" in page.h2
    assert page.island["cats"]["_labels"] == ["blue", "green", "red"]
    assert [f["match"] for f in page.island["filters"]] == ["tag", "tag", "tag"]


def test_aggregate_page_pictures_annotators() -> None:
    items = pd.DataFrame(
        {
            "item": ["i1", "i2", "i3"],
            "consensus_label": ["pos", "neg", "pos"],
            "consensus_quality": [0.99, 0.55, 0.8],
            "agreement": [1.0, 0.5, 0.66],
            "num_annotations": [3, 2, 3],
            "is_tie": [False, True, False],
            "runner_up_label": ["neg", "pos", "neg"],
            "confusion_probability": [0.0, 0.45, 0.2],
        }
    )
    annotators = [
        {
            "annotator": "<w1>",
            "quality": 0.9,
            "agreement": 0.8,
            "num_annotations": 3,
            "confusion_matrix": [[0.9, 0.1], [0.2, 0.8]],
        },
        {
            "annotator": "w2",
            "quality": 0.4,
            "agreement": 0.5,
            "num_annotations": 5,
            "confusion_matrix": "[[0.5, 0.5], [0.6, 0.4]]",
        },
    ]
    metadata = {
        "schema": AGGREGATE_SCHEMA,
        "summary": {"num_items": 3, "classes": ["neg", "pos"], "method": "dawid-skene"},
    }
    text = render_report(items, metadata, annotators=annotators)
    page = Page(text)
    assert "Annotators" in page.h2
    # least certain item first; the lowest-quality annotator's matrix first, on demand
    assert page.island["data"]["item"] == ["i2", "i3", "i1"]
    details = re.findall(r"<details><summary>([^<]*)</summary>", text)
    assert details == ["w2 (quality 0.4000)", "&lt;w1&gt; (quality 0.9000)"]
    assert "dawid-skene" in text


def test_report_without_required_columns_is_a_column_error() -> None:
    from labelaudit.errors import ColumnError

    report, metadata, _, _ = scan_report(n=20)
    with pytest.raises(ColumnError, match="no column 'label_quality'"):
        render_report(report.drop(columns=["label_quality"]), metadata, source="r.csv")


def test_thumbnails_are_embedded_and_urls_are_links(tmp_path) -> None:
    image = pytest.importorskip("PIL.Image")
    from labelaudit.io.thumbnails import thumbnails

    image.new("RGB", (300, 200), (200, 30, 30)).save(tmp_path / "a.png")
    values = ["a.png", "https://example.org/b.png", "missing.png", None]
    thumbs = thumbnails(values, tmp_path)
    assert thumbs[0].startswith("data:image/jpeg;base64,") and thumbs[1:] == [None, None, None]
    report, metadata, _, _ = scan_report(n=4, k=2)
    report["rank"] = [1, 2, 3, 4]
    show = pd.DataFrame({"path": values})
    text = render_report(report, metadata, show=show, thumbnails=thumbs, thumbnail_col="path")
    page = Page(text)
    imgs = [a for t, a in page.elements if t == "img"]
    assert len(imgs) == 1 and imgs[0]["src"] == thumbs[0]
    links = [a for t, a in page.elements if t == "a"]
    assert [a["href"] for a in links] == ["https://example.org/b.png"]
    assert links[0]["rel"] == "noopener noreferrer"


def test_same_report_same_page_whatever_the_row_order(monkeypatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "86400")
    report, metadata, probs, names = scan_report(n=80)
    page = render_report(report, metadata, probabilities=(probs, names))
    shuffled = np.random.default_rng(1).permutation(len(report))
    again = render_report(
        report.iloc[shuffled].reset_index(drop=True), metadata, probabilities=(probs[shuffled], names)
    )
    assert page == again
    assert "1970-01-02 00:00 UTC" in page


def test_heatmap_numbers_contrast_in_both_colour_schemes() -> None:
    # a pale cell takes black ink in the light scheme and white in the dark one; a saturated one white/black
    assert _svg._ink("c-heat", 0.1) == "c-l-b c-d-w"
    assert _svg._ink("c-heat", 1.0) == "c-l-w c-d-b"
    svg = _svg.heatmap(np.array([[5.0, 1.0], [0.0, 9.0]]), ["a", "b"], label="j", row_axis="r", col_axis="c")
    assert svg.count('class="c-cell c-') == 3  # zero cells carry no number
