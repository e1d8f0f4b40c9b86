"""`labelaudit.scan` in-process: every kind of input, the result object and what it writes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import labelaudit as la
from labelaudit.errors import InputError, UsageError
from labelaudit.io.writers import read_parquet_metadata
from tests.conftest import FIXTURES

FIXTURE = FIXTURES / "cifar10-test-slice.csv"


@pytest.fixture(scope="module")
def result() -> la.ScanResult:
    return la.scan(str(FIXTURE), id_col="id")


def test_scan_of_a_file_returns_the_report_summary_and_metadata(result: la.ScanResult) -> None:
    frame = pd.read_csv(FIXTURE, dtype={"id": str})
    assert len(result.report) == len(frame)
    assert result.report["id"].tolist() == frame["id"].tolist()
    assert result.report["given_label"].astype(str).tolist() == frame["label"].tolist()
    assert result.summary["num_examples"] == len(frame)
    assert result.num_issues == int(result.report["is_label_issue"].sum()) > 0
    assert result.metadata["schema"] == "labelaudit.scan/1"
    assert result.parameters["id_col"] == "id" and result.versions["labelaudit"] == la.__version__


def test_arrays_and_tables_give_the_file_s_numbers(result: la.ScanResult) -> None:
    frame = pd.read_csv(FIXTURE)
    columns = [c for c in frame.columns if c.startswith("p_")]
    names = [c[2:] for c in columns]
    from_arrays = la.scan(frame["label"].to_numpy(), probs=frame[columns].to_numpy(), classes=names)
    np.testing.assert_array_equal(from_arrays.report["is_label_issue"], result.report["is_label_issue"])
    np.testing.assert_array_equal(from_arrays.report["label_quality"], result.report["label_quality"])
    codes = frame["label"].map({n: k for k, n in enumerate(names)}).to_numpy()
    from_codes = la.scan(codes, probs=frame[columns].to_numpy(dtype=np.float32))
    assert from_codes.num_issues > 0
    with pytest.raises(InputError, match="has 3 rows"):
        la.scan(codes, probs=frame[columns].to_numpy()[:3])
    with pytest.raises(UsageError, match="data must be"):
        la.scan(3.5)


def test_write_round_trips_every_format(result: la.ScanResult, tmp_path: Path) -> None:
    for suffix in ("csv", "jsonl", "json", "parquet"):
        out = tmp_path / f"report.{suffix}"
        result.write(str(out), sort="rank", issues_only=True)
        if suffix == "parquet":
            back = pd.read_parquet(out)
            assert read_parquet_metadata(str(out))["schema"] == "labelaudit.scan/1"
        elif suffix == "json":
            back = pd.DataFrame(json.loads(out.read_text())["rows"])
        else:
            back = pd.read_csv(out) if suffix == "csv" else pd.read_json(out, lines=True)
        assert len(back) == result.num_issues
        assert back["rank"].is_monotonic_increasing
    result.write_summary(str(tmp_path / "s.json"))
    assert json.loads((tmp_path / "s.json").read_text())["num_examples"] == len(result.report)
    assert "<html" in result.to_html().lower()


def test_gate_counts_new_findings_and_refuses_meaningless_thresholds(result: la.ScanResult) -> None:
    strict = result.gate(max_issues=0)
    assert not strict.passed
    lenient = result.gate(max_issue_rate=1.0)
    assert lenient.passed
    for bad in ({"max_issue_rate": float("nan")}, {"max_issue_rate": 1.5}, {"min_health": -0.1}):
        with pytest.raises(UsageError):
            result.gate(**bad)


def test_multi_label_through_the_same_call(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    n, k = 300, 4
    truth = rng.random((n, k)) < 0.3
    probs = 1 / (1 + np.exp(-(np.where(truth, 2.0, -2.0) + rng.normal(0, 1, (n, k)))))
    tags = ["|".join(f"t{j}" for j in range(k) if truth[i, j]) for i in range(n)]
    frame = pd.DataFrame({"label": tags, **{f"p_t{j}": probs[:, j] for j in range(k)}})
    out = la.scan(frame, multi_label=True, label_sep="|")
    assert out.schema == "labelaudit.scan-multilabel/1"
    assert len(out.report) == n and {"missing_tags", "spurious_tags"} <= set(out.report.columns)
