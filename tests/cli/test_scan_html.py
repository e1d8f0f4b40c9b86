"""The HTML report: self-contained, and its numbers are the report's numbers."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd

from tests.conftest import FIXTURES, run_cli


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.tables: list[list[list[str]]] = []
        self.headings: list[str] = []
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._in_heading = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "h2":
            self._in_heading = True
            self.headings.append("")

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.tables[-1].append(self._row)
            self._row = None
        elif tag == "h2":
            self._in_heading = False

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self._in_heading:
            self.headings[-1] += data


def test_html_report_is_self_contained_and_consistent(tmp_path: Path) -> None:
    page, out, summary = tmp_path / "report.html", tmp_path / "r.csv", tmp_path / "s.json"
    result = run_cli(
        "scan",
        FIXTURES / "cifar10-test-slice.csv",
        "--id-col",
        "id",
        "--html",
        page,
        "-o",
        out,
        "--summary",
        summary,
        "-q",
    )
    assert result.returncode == 0, result.stderr
    text = page.read_text(encoding="utf-8")
    parser = _Collector()
    parser.feed(text)
    # nothing fetched from elsewhere: the policy forbids it, and nothing names another origin
    csp = next(a for t, a in parser.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy")
    assert "default-src 'none'" in (csp["content"] or "")
    scripts = [attrs for tag, attrs in parser.tags if tag == "script"]
    assert [a.get("type") for a in scripts] == ["application/json", None]
    assert not any("src" in a for a in scripts)
    for tag, attrs in parser.tags:
        for key in ("src", "href"):
            assert not (attrs.get(key) or "").startswith(("http:", "https:", "//")), (tag, attrs)
    assert any(h.startswith("Most suspicious rows") for h in parser.headings)
    assert "Per class" in parser.headings and "Confident joint" in parser.headings

    report = pd.read_csv(out)
    facts = json.loads(summary.read_text())
    assert f"{facts['num_issues']:,}" in text
    # the first page of the rows table is plain HTML: the most suspicious rows in rank order
    rows_table = next(t for t in parser.tables if t and t[0][:2] == ["rank", "row"])
    header, rows = rows_table[0], rows_table[1:]
    assert len(rows) == 50
    expected = report.sort_values("rank").head(50)
    assert [r[header.index("id")] for r in rows] == expected["id"].tolist()
    assert [r[header.index("given")] for r in rows] == expected["given_label"].tolist()
    # the confident joint is pictured with one labelled cell per pair of classes
    k = len(facts["class_names"])
    assert text.count("<title>given ") == k * k


def test_html_to_an_existing_directory_fails_cleanly(tmp_path: Path) -> None:
    result = run_cli("scan", FIXTURES / "cifar10-test-slice.csv", "--html", tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "directory" in result.stderr
