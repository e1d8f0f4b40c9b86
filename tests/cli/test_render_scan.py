"""`scan --html` and `aggregate --html` through a subprocess: the page holds what the options ask for."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import FIXTURES, assert_one_line_error, run_cli

DEMO = FIXTURES / "cifar10-test-slice.csv"


def island(path: Path) -> dict:
    text = path.read_text(encoding="utf-8")
    return json.loads(text.split('id="la-data">', 1)[1].split("</script>", 1)[0])


def test_scan_page_holds_every_row_with_top_classes_and_shown_columns(tmp_path) -> None:
    page, report = tmp_path / "page.html", tmp_path / "report.parquet"
    result = run_cli(
        "scan", DEMO, "--id-col", "id", "-o", report, "--html", page, "--show-cols", "label", "-q"
    )
    assert result.returncode == 0, result.stderr
    spec = island(page)
    rows = pd.read_parquet(report).sort_values("rank")
    assert spec["n"] == len(rows) == 2000
    assert spec["data"]["row"] == rows["row"].tolist()
    source = pd.read_csv(DEMO)
    assert spec["data"]["show:label"] == source["label"].iloc[rows["row"]].tolist()
    # each row's most probable class is its suggested label
    names = spec["cats"]["_labels"]
    assert [names[int(t[0])] for t in spec["data"]["top"]] == rows["suggested_label"].tolist()


def test_scan_top_limits_the_page_and_the_gate_is_in_the_header(tmp_path) -> None:
    page = tmp_path / "page.html"
    result = run_cli("scan", DEMO, "--html", page, "--top", "7", "--max-issues", "0", "-q")
    assert result.returncode == 1  # the gate failed; the page was written first
    assert island(page)["n"] == 7
    text = page.read_text(encoding="utf-8")
    assert 'id="gate"' in text and ">failed<" in text and "--max-issues 0" in text


def test_scan_kept_columns_show_and_thumbnails(tmp_path) -> None:
    image = pytest.importorskip("PIL.Image")
    source = pd.read_csv(DEMO).head(120)
    (tmp_path / "img").mkdir()
    source["path"] = [f"img/{i}.png" for i in range(len(source))]
    for i in range(len(source)):
        image.new("RGB", (32, 32), (i, 2 * i % 256, 90)).save(tmp_path / "img" / f"{i}.png")
    data, page = tmp_path / "data.csv", tmp_path / "page.html"
    source.to_csv(data, index=False)
    # relative image paths are found beside the data, whatever the working directory
    result = run_cli(
        "scan", data, "--keep-cols", "label", "--html", page, "--thumbnails", "path", "-q", cwd=FIXTURES
    )
    assert result.returncode == 0, result.stderr
    spec = island(page)
    assert "show:label" in spec["data"]  # the kept column is shown without being asked
    column = next(c for c in spec["columns"] if c["type"] == "thumb")
    assert all(src and src.startswith("data:image/") for src in column["src"])


def test_scan_html_option_errors(tmp_path) -> None:
    page, summary = tmp_path / "page.html", tmp_path / "summary.json"
    assert_one_line_error(run_cli("scan", DEMO, "--show-cols", "label"), "--html")
    result = run_cli("scan", DEMO, "--html", page, "--summary", summary, "--show-cols", "nope")
    assert_one_line_error(result, "cifar10-test-slice.csv", "'nope'")
    assert not page.exists() and not summary.exists()  # nothing written half-way
    # stdin is read once, but the memory engine keeps the table for the page
    result = run_cli("scan", "-", "--html", page, "--show-cols", "label", "-q", input=DEMO.read_bytes())
    assert result.returncode == 0, result.stderr
    assert "show:label" in island(page)["data"]


def test_aggregate_page(tmp_path) -> None:
    rng = np.random.default_rng(5)
    rows = []
    for i in range(80):
        truth = int(rng.integers(0, 2))
        for a in range(4):
            label = ["yes", "no"][truth ^ int(rng.random() < (0.4 if a == 0 else 0.1))]
            rows.append((f"q{i}", f"<b>ann{a}</b>", label, f"question {i}?"))
    data, page = tmp_path / "ann.csv", tmp_path / "items.html"
    pd.DataFrame(rows, columns=["item", "annotator", "label", "text"]).to_csv(data, index=False)
    result = run_cli("aggregate", data, "--html", page, "--show-cols", "text", "-q")
    assert result.returncode == 0, result.stderr
    spec = island(page)
    assert spec["n"] == 80 and spec["data"]["show:text"][0] == f"question {spec['data']['item'][0][1:]}?"
    text = page.read_text(encoding="utf-8")
    assert text.count("<details>") == 4 and "<b>ann" not in text and "&lt;b&gt;ann0&lt;/b&gt;" in text
