"""`labelaudit aggregate` as a user runs it: the new methods, --posteriors into scan, --next, and the
regressions of issue 8 (each with its exact input), through a subprocess on real files."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from labelaudit.core.aggregate import simulate_crowd
from tests.conftest import assert_one_line_error, run_cli

TINY = "item,annotator,label\n" + "".join(
    f"i{i},a{j},{'cat' if (i + j * (i % 3 == 0)) % 4 else 'dog'}\n" for i in range(12) for j in range(4)
)


@pytest.fixture()
def tiny(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.csv"
    path.write_text(TINY)
    return path


@pytest.fixture(scope="module")
def crowd19():
    """The shape of issue 8's report: 19 annotators, a third of them spammers."""
    return simulate_crowd(300, 19, 3, (2, 4), scenario="spammers", seed=5)


@pytest.mark.parametrize("method", ["ibcc", "ebcc", "auto"])
def test_each_method_on_a_tiny_data_set(tmp_path: Path, tiny: Path, method: str) -> None:
    out, summary = tmp_path / "out.csv", tmp_path / "summary.json"
    result = run_cli("aggregate", tiny, "--method", method, "-o", out, "--summary", summary, "-q")
    assert result.returncode == 0, result.stderr
    assert result.stderr == "" and result.stdout == ""
    report = pd.read_csv(out)
    assert len(report) == 12 and set(report["consensus_label"]) <= {"cat", "dog"}
    assert report["consensus_quality"].between(0, 1).all()
    doc = json.loads(summary.read_text())
    if method == "auto":
        assert doc["method"] in doc["auto"]["scores"] and doc["auto_reason"]
    else:
        assert doc["method"] == method
    if method in ("ibcc", "ebcc"):
        assert doc["fit"]["elbo"] is not None and doc["fit"]["converged"] is True


def test_posteriors_pipe_into_scan(tmp_path: Path, crowd19) -> None:
    source = tmp_path / "annotations.csv"
    crowd19.annotations.to_csv(source, index=False)
    env = dict(os.environ)
    aggregate = subprocess.Popen(
        [sys.executable, "-m", "labelaudit", "aggregate", str(source), "--posteriors", "-", "-q"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    report = tmp_path / "report.csv"
    scan = subprocess.run(
        [
            sys.executable,
            "-m",
            "labelaudit",
            "scan",
            "-",
            "--label-col",
            "consensus_label",
            "--id-col",
            "item",
            "-o",
            str(report),
            "-q",
        ],
        stdin=aggregate.stdout,
        capture_output=True,
        env=env,
        timeout=300,
    )
    aggregate.stdout.close()
    assert aggregate.wait(timeout=300) == 0, aggregate.stderr.read().decode()
    assert scan.returncode == 0, scan.stderr.decode()
    rows = pd.read_csv(report)
    assert len(rows) == 300 and {"label_quality", "is_label_issue"} <= set(rows.columns)
    # the consensus is each row's most probable class, so scan agrees with it
    assert (rows["given_label"].astype(str) == rows["suggested_label"].astype(str)).mean() > 0.99


def test_posteriors_file_rows_sum_to_one(tmp_path: Path, crowd19) -> None:
    source, posteriors = tmp_path / "a.csv", tmp_path / "posteriors.parquet"
    crowd19.annotations.to_csv(source, index=False)
    result = run_cli("aggregate", source, "--method", "ebcc", "--posteriors", posteriors, "-q")
    assert result.returncode == 0, result.stderr
    frame = pd.read_parquet(posteriors)
    assert list(frame.columns) == ["item", "consensus_label", "p_0", "p_1", "p_2"]
    assert (frame[["p_0", "p_1", "p_2"]].sum(axis=1) - 1).abs().max() < 1e-9


def test_next_ranks_contested_items_first(tmp_path: Path) -> None:
    source, ranked = tmp_path / "a.csv", tmp_path / "next.csv"
    rows = [("unanimous", f"a{j}", "x") for j in range(5)] + [("split", "a0", "x"), ("split", "a1", "y")]
    rows += [(f"f{i}", f"a{j}", "x" if (i + j) % 4 else "y") for i in range(30) for j in range(4)]
    pd.DataFrame(rows, columns=["item", "annotator", "label"]).to_csv(source, index=False)
    result = run_cli("aggregate", source, "--next", "5", "--next-out", ranked, "-q")
    assert result.returncode == 0, result.stderr
    table = pd.read_csv(ranked)
    assert list(table.columns) == [
        "rank",
        "item",
        "consensus_label",
        "consensus_quality",
        "num_annotations",
        "expected_gain",
    ]
    assert len(table) == 5 and table["item"].iloc[0] == "split" and "unanimous" not in set(table["item"])
    assert table["expected_gain"].is_monotonic_decreasing
    shown = run_cli("aggregate", source, "--next", "3", "--top", "0")
    assert shown.returncode == 0 and "Label next (3 items" in shown.stderr and "split" in shown.stderr
    assert_one_line_error(run_cli("aggregate", source, "--next-out", ranked), "--next")


# ---------------------------------------------------------------------------------------------- issue 8
@pytest.mark.parametrize("method", ["dawid-skene", "ebcc", "auto"])
def test_zero_pseudo_counts_write_a_finite_consensus(tmp_path: Path, crowd19, method: str) -> None:
    source, out, annotators = tmp_path / "a.csv", tmp_path / "out.csv", tmp_path / "annotators.csv"
    crowd19.annotations.to_csv(source, index=False)
    result = run_cli(
        "aggregate",
        source,
        "--method",
        method,
        "--smoothing",
        "0",
        "--diagonal",
        "0",
        "-o",
        out,
        "--annotators-out",
        annotators,
        "--summary",
        tmp_path / "s.json",
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    report, quality = pd.read_csv(out), pd.read_csv(annotators)
    assert report[["consensus_label", "consensus_quality"]].notna().all().all()
    assert quality["quality"].notna().all() and len(quality) == 19
    truth = crowd19.truth.set_index("item")["label"]
    accuracy = (report.set_index("item")["consensus_label"] == truth).mean()
    assert accuracy > 0.8  # not "backed by 1 of 19 annotators"


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--smoothing", "-1"),
        ("--smoothing", "nan"),
        ("--smoothing", "1e308"),
        ("--diagonal", "inf"),
        ("--tol", "0"),
        ("--max-iter", "1000000000"),
        ("--seed", "-1"),
        ("--method", "glad"),
    ],
)
def test_bad_numbers_are_one_line_errors(tmp_path: Path, tiny: Path, option: str, value: str) -> None:
    out = tmp_path / "out.csv"
    result = run_cli("aggregate", tiny, f"{option}={value}", "-o", out)
    assert_one_line_error(result, option.lstrip("-").replace("-", "_").split("_")[0])
    assert not out.exists()


def test_ids_and_labels_are_read_as_text(tmp_path: Path) -> None:
    source, out = tmp_path / "ids.csv", tmp_path / "out.csv"
    source.write_text("item,annotator,label\n1,007,01\n01,7,1\n1,7,2.0\n01,007,2\n2,7,true\n2,007,1\n")
    summary = tmp_path / "s.json"
    result = run_cli("aggregate", source, "--method", "majority", "-o", out, "--summary", summary, "-q")
    assert result.returncode == 0, result.stderr
    doc = json.loads(summary.read_text())
    assert doc["num_items"] == 3 and doc["num_annotators"] == 2
    assert sorted(map(str, doc["classes"])) == ["01", "1", "2", "2.0", "true"]
    items = pd.read_csv(out, dtype=str)["item"].tolist()
    assert items == ["01", "1", "2"]


def test_probs_npy_is_refused_without_suggesting_input_format(tmp_path: Path, tiny: Path) -> None:
    import numpy as np

    probs = tmp_path / "x.npy"
    np.save(probs, np.full((12, 2), 0.5))
    result = run_cli("aggregate", tiny, "--probs", probs)
    assert_one_line_error(result, "--probs", "x.npy", "item")
    assert "--input-format" not in result.stderr


def test_probability_errors_name_the_column(tmp_path: Path, tiny: Path) -> None:
    probs = tmp_path / "probs.csv"
    rows = [f"i{i},0.5,{1.5 if i == 3 else 0.5}" for i in range(12)]
    probs.write_text("item,p_cat,p_dog\n" + "\n".join(rows) + "\n")
    result = run_cli("aggregate", tiny, "--probs", probs, "--method", "crowdlab")
    assert_one_line_error(result, "'p_dog'", "row 3")
    assert "column 2" not in result.stderr and "column 1 " not in result.stderr


def test_all_blank_wide_item_warns(tmp_path: Path) -> None:
    source, out = tmp_path / "wide.csv", tmp_path / "out.csv"
    source.write_text("item,ann1,ann2\nx,cat,cat\nblank,,\ny,dog,cat\n")
    result = run_cli("aggregate", source, "--wide", "--method", "majority", "-o", out)
    assert result.returncode == 0, result.stderr
    assert "1 item(s) have no label" in result.stderr and "'blank'" in result.stderr
    assert pd.read_csv(out)["item"].tolist() == ["x", "y"]


def test_output_onto_the_input_is_refused(tmp_path: Path, tiny: Path) -> None:
    before = tiny.read_bytes()
    result = run_cli("aggregate", tiny, "-o", f"{tiny.parent}/./{tiny.name}", cwd=tmp_path)
    assert_one_line_error(result, "input")
    assert tiny.read_bytes() == before
    result = run_cli("aggregate", tiny, "--posteriors", "-", "--summary", "-")
    assert_one_line_error(result, "standard output")


def test_auto_is_deterministic_under_seed_and_row_order(tmp_path: Path, crowd19) -> None:
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    crowd19.annotations.to_csv(first, index=False)
    crowd19.annotations.sample(frac=1.0, random_state=4).to_csv(second, index=False)
    outputs = []
    for source in (first, second):
        out = tmp_path / f"{source.stem}.json"
        result = run_cli("aggregate", source, "--seed", "7", "--summary", out, "-o", tmp_path / "r.csv", "-q")
        assert result.returncode == 0, result.stderr
        doc = json.loads(out.read_text())
        outputs.append((doc["method"], doc["auto"]["scores"], pd.read_csv(tmp_path / "r.csv")))
    assert outputs[0][0] == outputs[1][0] and outputs[0][1] == outputs[1][1]
    assert outputs[0][2].equals(outputs[1][2])
    assert all(not math.isnan(v) for v in outputs[0][1].values())
