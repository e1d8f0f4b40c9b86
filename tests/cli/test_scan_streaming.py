"""`labelaudit scan --chunk-rows N` writes the same report as the in-memory scan."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from labelaudit.io.writers import read_parquet_metadata
from tests.conftest import FIXTURES, assert_one_line_error, run_cli

FIXTURE = FIXTURES / "cifar10-test-slice.csv"


@pytest.fixture(scope="module")
def fixture_frame() -> pd.DataFrame:
    return pd.read_csv(FIXTURE)


def _summary(path: Path) -> dict:
    data = json.loads(path.read_text())
    data.pop("versions", None)
    return data


@pytest.mark.parametrize("method", ["prune_by_noise_rate", "both", "predicted_neq_given"])
def test_csv_report_is_byte_identical(tmp_path: Path, method: str) -> None:
    outs = {}
    for name, extra in (("memory", ()), ("stream", ("--chunk-rows", "300"))):
        out, summary = tmp_path / f"{name}.csv", tmp_path / f"{name}.json"
        result = run_cli(
            "scan",
            FIXTURE,
            "--method",
            method,
            "--id-col",
            "id",
            "-o",
            out,
            "--summary",
            summary,
            "-q",
            *extra,
        )
        assert result.returncode == 0, result.stderr
        outs[name] = (out.read_bytes(), _summary(summary))
    assert outs["memory"][0] == outs["stream"][0]
    assert outs["memory"][1] == outs["stream"][1]


def test_parquet_float32_report_rows_and_summary_equal(tmp_path: Path, fixture_frame: pd.DataFrame) -> None:
    data = tmp_path / "data.parquet"
    frame = fixture_frame.astype({c: "float32" for c in fixture_frame.columns if c.startswith("p_")})
    frame.to_parquet(data)
    reports = {}
    for name, extra in (("memory", ()), ("stream", ("--chunk-rows", "300"))):
        out = tmp_path / f"{name}.parquet"
        result = run_cli(
            "scan",
            data,
            "--method",
            "prune_by_class",
            "--score",
            "normalized_margin",
            "-o",
            out,
            "-q",
            "--sort",
            "rank",
            *extra,
        )
        assert result.returncode == 0, result.stderr
        meta = read_parquet_metadata(str(out))
        reports[name] = (pd.read_parquet(out), meta["summary"])
    pd.testing.assert_frame_equal(reports["memory"][0], reports["stream"][0])
    assert reports["memory"][1] == reports["stream"][1]


def test_integer_labels_and_tsv(tmp_path: Path, fixture_frame: pd.DataFrame) -> None:
    columns = [c for c in fixture_frame.columns if c.startswith("p_")]
    frame = fixture_frame.copy()
    frame["label"] = frame["label"].map({c[2:]: k for k, c in enumerate(columns)})
    data = tmp_path / "data.tsv"
    frame.to_csv(data, sep="\t", index=False)
    outs = []
    for extra in ((), ("--chunk-rows", "150")):
        out = tmp_path / f"out{len(extra)}.csv"
        result = run_cli("scan", data, "-o", out, "-q", *extra)
        assert result.returncode == 0, result.stderr
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]


def test_bad_values_in_a_late_chunk_name_the_global_row(tmp_path: Path, fixture_frame: pd.DataFrame) -> None:
    text = fixture_frame.copy()
    text["p_cat"] = text["p_cat"].astype(object)
    text.loc[1701, "p_cat"] = "abc"
    text.to_csv(tmp_path / "text.csv", index=False)
    assert_one_line_error(
        run_cli("scan", tmp_path / "text.csv", "--chunk-rows", "300"), "text.csv", "'p_cat'", "row 1701"
    )

    label = fixture_frame.copy()
    label.loc[1702, "label"] = "zebra"
    label.to_csv(tmp_path / "label.csv", index=False)
    assert_one_line_error(
        run_cli("scan", tmp_path / "label.csv", "--chunk-rows", "300"),
        "label.csv",
        "'label'",
        "row 1702",
        "'zebra'",
    )

    negative = fixture_frame.copy()
    negative.loc[1650, "p_dog"] = -0.5
    negative.to_parquet(tmp_path / "neg.parquet")
    memory = run_cli("scan", tmp_path / "neg.parquet")
    streamed = run_cli("scan", tmp_path / "neg.parquet", "--chunk-rows", "300")
    assert_one_line_error(streamed, "neg.parquet", "'p_dog' row 1650", "negative")
    assert streamed.stderr == memory.stderr


def test_unsupported_combinations_exit_2_with_one_line(tmp_path: Path) -> None:
    cases = [
        (("--compat", "cleanlab"), "--engine memory"),
        (("--method", "low_self_confidence"), "--engine memory"),
        (("--probs", str(tmp_path / "p.npy")), "--probs"),
        (("--chunk-rows", "0"), "--chunk-rows"),
    ]
    for extra, needle in cases:
        args = (
            ["scan", FIXTURE, *extra]
            if "--chunk-rows" in extra
            else ["scan", FIXTURE, "--chunk-rows", "50", *extra]
        )
        assert_one_line_error(run_cli(*args), needle)
    assert_one_line_error(
        run_cli("scan", "-", "--chunk-rows", "50", input=FIXTURE.read_bytes()), "standard input"
    )
    (tmp_path / "d.jsonl").write_text('{"label": "a", "p_a": 1.0, "p_b": 0.0}\n')
    assert_one_line_error(run_cli("scan", tmp_path / "d.jsonl", "--chunk-rows", "50"), "jsonl")
