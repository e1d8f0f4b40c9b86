"""`labelaudit render` through a subprocess, on real report files (good ones and bad ones)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import FIXTURES, assert_one_line_error, run_cli

DEMO = FIXTURES / "cifar10-test-slice.csv"


def island(text: str) -> dict:
    return json.loads(text.split('id="la-data">', 1)[1].split("</script>", 1)[0])


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> dict[str, Path]:
    """The demo data scanned once, saved as Parquet, JSON and CSV reports."""
    base = tmp_path_factory.mktemp("saved")
    paths = {fmt: base / f"report.{fmt}" for fmt in ("parquet", "json", "csv")}
    for path in paths.values():
        result = run_cli("scan", DEMO, "--id-col", "id", "-o", path, "-q")
        assert result.returncode == 0, result.stderr
    return paths


@pytest.mark.parametrize("fmt", ["parquet", "json"])
def test_render_a_saved_report_with_its_metadata(saved, tmp_path, fmt) -> None:
    page = tmp_path / "page.html"
    result = run_cli("render", saved[fmt], "-o", page, "-q")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "" and result.stderr == ""
    text = page.read_text(encoding="utf-8")
    data = island(text)
    report = pd.read_parquet(saved["parquet"])
    assert data["n"] == len(report) == 2000
    assert data["data"]["row"] == report.sort_values("rank")["row"].tolist()
    # the summary travelled in the report's metadata: the pictures and the header are there
    assert "Confident joint" in text and "Issues per class" in text
    metadata = json.loads(saved["json"].read_text())["metadata"]
    summary = metadata["summary"]
    assert f'<div class="v">{summary["num_issues"]:,}</div><div class="k">issues</div>' in text
    assert f'<span class="k">method</span> {metadata["parameters"]["method"]}' in text


def test_render_a_csv_report_without_metadata(saved, tmp_path) -> None:
    page = tmp_path / "page.html"
    result = run_cli("render", saved["csv"], "-o", page, "-q")
    assert result.returncode == 0, result.stderr
    text = page.read_text(encoding="utf-8")
    assert island(text)["n"] == 2000
    assert "Issues per class" in text and "Confident joint" not in text


def test_render_with_the_data_shows_columns_and_top_classes(saved, tmp_path) -> None:
    page = tmp_path / "page.html"
    result = run_cli(
        "render",
        saved["parquet"],
        "-o",
        page,
        "--data",
        DEMO,
        "--show-cols",
        "p_cat,label",
        "--top",
        "25",
        "-q",
    )
    assert result.returncode == 0, result.stderr
    data = island(page.read_text(encoding="utf-8"))
    assert data["n"] == 25
    source = pd.read_csv(DEMO)
    rows = data["data"]["row"]
    assert data["data"]["show:label"] == source["label"].iloc[rows].tolist()
    assert data["data"]["show:p_cat"] == source["p_cat"].iloc[rows].round(6).tolist()
    names = data["cats"]["_labels"]
    first = source.iloc[rows[0]]
    probs = first.filter(like="p_").astype(float)
    assert names[int(data["data"]["top"][0][0])] == probs.idxmax()[2:]


def test_render_to_stdout(saved) -> None:
    result = run_cli("render", saved["parquet"], "-o", "-", "--top", "3")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("<!DOCTYPE html>") and island(result.stdout)["n"] == 3


def test_thumbnails_and_urls(tmp_path) -> None:
    image = pytest.importorskip("PIL.Image")
    (tmp_path / "img").mkdir()
    source = pd.read_csv(DEMO).head(200)
    paths = []
    for i in range(len(source)):
        if i % 3 == 0:
            paths.append(f"https://example.org/{i}.png")
        else:
            paths.append(f"img/{i}.png")
            image.new("RGB", (40, 30), (i % 256, 80, 120)).save(tmp_path / "img" / f"{i}.png")
    source["path"] = paths
    data, report, page = tmp_path / "data.csv", tmp_path / "report.parquet", tmp_path / "page.html"
    source.to_csv(data, index=False)
    assert run_cli("scan", data, "-o", report, "-q").returncode == 0
    result = run_cli("render", report, "-o", page, "--data", data, "--thumbnails", "path", "-q")
    assert result.returncode == 0, result.stderr
    text = page.read_text(encoding="utf-8")
    spec = island(text)
    column = next(c for c in spec["columns"] if c["type"] == "thumb")
    for value, src in zip(spec["data"][column["key"]], column["src"], strict=True):
        assert (src is not None) == value.startswith("img/")
    # URLs are links (never fetched: img-src allows data: only)
    assert re.search(r'<a href="https://example.org/\d+.png" rel="noopener noreferrer"', text)
    assert not re.search(r'<img[^>]+src="http', text)


@pytest.mark.parametrize("hostile", ["<script>alert(1)</script>", '"><img src=x onerror=alert(2)>'])
def test_hostile_file_name_and_column(tmp_path, hostile) -> None:
    source = pd.read_csv(DEMO).head(150)
    source[hostile] = hostile
    source["label"] = source["label"].where(source.index % 5 != 0, hostile)
    # the hostile label needs a probability column of its own
    source[f"p_{hostile}"] = 0.0
    name = hostile.replace("/", "_")
    data, report, page = tmp_path / f"{name}.csv", tmp_path / f"{name}.parquet", tmp_path / "page.html"
    source.to_csv(data, index=False)
    result = run_cli("scan", data, "--id-col", hostile, "-o", report, "-q")
    assert result.returncode == 0, result.stderr
    result = run_cli("render", report, "-o", page, "--data", data, "--show-cols", hostile, "-q")
    assert result.returncode == 0, result.stderr
    text = page.read_text(encoding="utf-8")
    assert hostile not in text  # every occurrence is escaped
    spec = island(text)
    assert hostile in spec["cats"]["_labels"] and spec["data"]["id"][0] == hostile
    assert f"show:{hostile}" in spec["data"]


def test_bad_inputs_are_one_line_errors(saved, tmp_path) -> None:
    page = tmp_path / "page.html"
    assert_one_line_error(
        run_cli("render", tmp_path / "none.parquet", "-o", page), "none.parquet", "no such file"
    )
    assert_one_line_error(run_cli("render", DEMO, "-o", page), "cifar10-test-slice.csv", "given_label")
    assert_one_line_error(run_cli("render", saved["parquet"], "-o", page, "--show-cols", "text"), "--data")
    assert_one_line_error(
        run_cli("render", saved["parquet"], "-o", page, "--data", DEMO, "--show-cols", "text"),
        "cifar10-test-slice.csv",
        "'text'",
    )
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    assert_one_line_error(run_cli("render", broken, "-o", page), "broken.json")
    not_parquet = tmp_path / "x.parquet"
    not_parquet.write_text("hello")
    assert_one_line_error(run_cli("render", not_parquet, "-o", page), "x.parquet")
    assert_one_line_error(run_cli("render", saved["parquet"], "-o", tmp_path), "directory")
    assert not page.exists()  # nothing written half-way
