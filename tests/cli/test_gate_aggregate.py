"""`labelaudit aggregate`'s gate: consensus quality, the worst annotator, items of low agreement."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import assert_one_line_error, run_cli


@pytest.fixture(scope="module")
def annotations(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """60 items, 3 careful annotators (90 % right) and one who answers at random; seeded."""
    rng = np.random.default_rng(7)
    classes = ["cat", "dog", "fox"]
    rows = []
    for item in range(60):
        truth = int(rng.integers(3))
        for worker, accuracy in (("w0", 0.9), ("w1", 0.9), ("w2", 0.9), ("spammer", 0.0)):
            label = truth if rng.random() < accuracy else int(rng.integers(3))
            rows.append((f"i{item}", worker, classes[label]))
    path = tmp_path_factory.mktemp("agg") / "ann.csv"
    pd.DataFrame(rows, columns=["item", "annotator", "label"]).to_csv(path, index=False)
    return path


def test_passing_and_failing_aggregate_gate(annotations: Path, tmp_path: Path) -> None:
    summary, junit = tmp_path / "s.json", tmp_path / "j.xml"
    ok = run_cli("aggregate", annotations, "--method", "dawid-skene", "--top", "0", "--min-consensus-quality",
                 "0.5", "--max-low-agreement-rate", "0.5", "--summary", summary)  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert "Gate passed" in ok.stderr and ok.stderr.count("PASS") == 2
    gate = json.loads(summary.read_text())["gate"]
    items_quality = json.loads(summary.read_text())["mean_consensus_quality"]
    assert gate["passed"] and gate["checks"][0]["value"] == pytest.approx(items_quality)

    bad = run_cli("aggregate", annotations, "--method", "dawid-skene", "-q", "--min-annotator-quality", "0.6",
                  "--junit", junit, "--summary", summary)  # fmt: skip
    assert bad.returncode == 1, bad.stderr
    assert "gate failed: worst annotator quality" in bad.stderr
    annotators = {a["annotator"]: a["quality"] for a in json.loads(summary.read_text())["annotators"]}
    assert min(annotators, key=annotators.get) == "spammer"
    case = ET.parse(junit).getroot().find("testsuite/testcase")
    assert case is not None and case.get("name") == "min_annotator_quality"
    assert case.find("failure") is not None

    zero = run_cli("aggregate", annotations, "--method", "dawid-skene", "-q", "--min-annotator-quality", "0.6",
                   "--exit-zero")  # fmt: skip
    assert zero.returncode == 0, zero.stderr


def test_aggregate_gate_is_in_the_report_metadata(annotations: Path, tmp_path: Path) -> None:
    from labelaudit.io.writers import read_parquet_metadata

    report = tmp_path / "items.parquet"
    result = run_cli("aggregate", annotations, "-q", "--min-consensus-quality", "0.99", "-o", report)
    assert result.returncode == 1
    gate = read_parquet_metadata(str(report))["gate"]
    assert not gate["passed"] and gate["checks"][0]["name"] == "min_consensus_quality"


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--min-consensus-quality", "1.5"], "--min-consensus-quality must be in [0, 1]"),
        (["--max-low-agreement-rate", "-0.1"], "--max-low-agreement-rate must be in [0, 1]"),
        (["--min-annotator-quality", "nan"], "--min-annotator-quality must be a number"),
    ],
)
def test_bad_aggregate_thresholds_exit_2(annotations: Path, args: list[str], needle: str) -> None:
    assert_one_line_error(run_cli("aggregate", annotations, "-q", *args), needle)


def test_aggregate_github_annotations(annotations: Path) -> None:
    result = run_cli("aggregate", annotations, "-q", "--min-consensus-quality", "0.99", "--format", "github")
    assert result.returncode == 1
    assert result.stdout.startswith("::error ") and "min_consensus_quality" in result.stdout
