"""`labelaudit aggregate` run as a user runs it: a subprocess on real files, outputs read back."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from labelaudit.core.aggregate import AUTO_CANDIDATES, simulate_crowd, simulate_model_probs
from labelaudit.io.writers import read_parquet_metadata
from tests.conftest import assert_one_line_error, run_cli

ITEM_COLUMNS = [
    "item",
    "consensus_label",
    "consensus_quality",
    "agreement",
    "num_annotations",
    "is_tie",
    "runner_up_label",
    "confusion_probability",
]
HAS_FILTER = importlib.util.find_spec("labelaudit.core.filter") is not None


@pytest.fixture(scope="module")
def crowd():
    return simulate_crowd(400, 20, 3, (2, 5), scenario="spammers", seed=21)


@pytest.fixture()
def long_csv(tmp_path: Path, crowd) -> Path:
    path = tmp_path / "annotations.csv"
    crowd.annotations.rename(columns={"annotator": "worker"}).to_csv(path, index=False)
    return path


def test_long_csv_to_parquet_with_summary_and_annotators(tmp_path: Path, long_csv: Path, crowd) -> None:
    out, summary, annotators = (
        tmp_path / "items.parquet",
        tmp_path / "summary.json",
        tmp_path / "annotators.csv",
    )
    result = run_cli(
        "aggregate",
        long_csv,
        "--annotator-col",
        "worker",
        "-o",
        out,
        "--summary",
        summary,
        "--annotators-out",
        annotators,
        "--top",
        "5",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert "Least certain items" in result.stderr and " (auto)" in result.stderr
    assert "auto chose" in result.stderr
    assert "majority vote:" in result.stderr
    report = pd.read_parquet(out)
    assert list(report.columns) == ITEM_COLUMNS
    assert len(report) == 400 and report["item"].is_monotonic_increasing
    assert report["is_tie"].dtype == bool
    assert report["consensus_quality"].between(0, 1).all()
    assert report["confusion_probability"].between(0, 0.5).all()
    gold = crowd.truth.set_index("item")["label"].reindex(report["item"]).to_numpy()
    assert (report["consensus_label"].to_numpy() == gold).mean() > 0.8
    meta = read_parquet_metadata(str(out))
    assert meta["schema"] == "labelaudit.aggregate/1" and meta["summary"]["method"] in AUTO_CANDIDATES
    doc = json.loads(summary.read_text())
    assert doc["schema"] == "labelaudit.aggregate.summary/1"
    assert doc["method"] in AUTO_CANDIDATES and doc["method_requested"] == "auto"
    assert doc["fit"]["converged"] is True and doc["fit"]["iterations"] >= 2
    assert {"optimal_share", "disagreement_rate", "verdict", "criterion"} <= set(doc["majority_vote"])
    assert len(doc["annotators"]) == 20 and len(doc["annotators"][0]["confusion_matrix"]) == 3
    table = pd.read_csv(annotators)
    assert list(table.columns[:7]) == [
        "annotator",
        "quality",
        "agreement",
        "num_annotations",
        "num_items",
        "worst_class",
        "worst_class_accuracy",
    ]
    assert len(json.loads(table["confusion_matrix"][0])) == 3


def test_wide_input_gives_the_same_consensus(tmp_path: Path, crowd) -> None:
    from labelaudit.core.aggregate import Annotations, aggregate

    wide = crowd.annotations.pivot(index="item", columns="annotator", values="label")
    wide = wide.astype("Int64").reset_index()  # labels written as 2, not 2.0 (text is read as text)
    path = tmp_path / "wide.csv"
    wide.to_csv(path, index=False)  # blanks where an annotator did not label the item
    result = run_cli("aggregate", path, "--wide", "--format", "csv", "-q")
    assert result.returncode == 0 and result.stderr == "", result.stderr
    expected = aggregate(Annotations.from_long(crowd.annotations)).items
    assert result.stdout == expected.to_csv(index=False, lineterminator="\n")


def test_stdin_string_labels_and_row_order_do_not_matter(crowd) -> None:
    names = np.array(["cat", "dog", "emu"], dtype=object)
    frame = crowd.annotations.assign(label=names[crowd.annotations["label"].to_numpy()])
    outputs = []
    for seed in (0, 1):
        text = frame.sample(frac=1.0, random_state=seed).to_csv(index=False)
        result = run_cli("aggregate", "-", "--method", "majority", "--format", "csv", "-q", input=text)
        assert result.returncode == 0, result.stderr
        outputs.append(result.stdout_bytes)
    assert outputs[0] == outputs[1]
    report = pd.read_csv(__import__("io").StringIO(outputs[0].decode()))
    assert set(report["consensus_label"]) <= {"cat", "dog", "emu"}
    assert report["is_tie"].any()  # items with two disagreeing annotators


def test_ties_single_label_annotator_and_single_annotation_item(tmp_path: Path) -> None:
    rows = [
        ("i1", "a", "x"),
        ("i1", "b", "y"),
        ("i2", "a", "x"),
        ("i2", "b", "x"),
        ("i2", "c", "x"),
        ("i3", "a", "y"),
        ("i3", "b", "y"),
        ("i4", "lonely", "y"),
        ("i5", "b", "x"),
    ]
    path = tmp_path / "small.jsonl"
    pd.DataFrame(rows, columns=["item", "annotator", "label"]).to_json(path, orient="records", lines=True)
    out = tmp_path / "out.json"
    result = run_cli("aggregate", path, "--method", "majority", "-o", out, "--seed", "5")
    assert result.returncode == 0, result.stderr
    doc = json.loads(out.read_text())
    rows_out = {r["item"]: r for r in doc["rows"]}
    assert rows_out["i1"]["is_tie"] is True and rows_out["i2"]["is_tie"] is False
    assert rows_out["i4"]["num_annotations"] == 1 and rows_out["i4"]["consensus_label"] == "y"
    assert doc["metadata"]["summary"]["items_with_one_annotation"] == 2


def test_probabilities_run_crowdlab(tmp_path: Path, crowd) -> None:
    truth = crowd.truth["label"].to_numpy()
    probs = simulate_model_probs(truth, 3, 0.75, seed=3)
    table = pd.DataFrame(probs, columns=["p_0", "p_1", "p_2"]).assign(item=crowd.truth["item"])
    probs_path = tmp_path / "probs.parquet"
    table.sample(frac=1.0, random_state=0).to_parquet(probs_path)
    ann_path = tmp_path / "ann.parquet"
    crowd.annotations.to_parquet(ann_path)
    out, summary = tmp_path / "out.csv", tmp_path / "summary.json"
    result = run_cli("aggregate", ann_path, "--probs", probs_path, "-o", out, "--summary", summary, "-q")
    assert result.returncode == 0, result.stderr
    doc = json.loads(summary.read_text())
    assert doc["method"] == "crowdlab" and doc["model_probabilities"] is True
    report = pd.read_csv(out)
    gold = crowd.truth.set_index("item")["label"].reindex(report["item"]).to_numpy()
    assert (report["consensus_label"].to_numpy() == gold).mean() > (probs.argmax(axis=1) == truth).mean()


@pytest.mark.skipif(not HAS_FILTER, reason="confident-learning core not available")
def test_audit_out(tmp_path: Path, long_csv: Path, crowd) -> None:
    audit, summary = tmp_path / "audit.csv", tmp_path / "s.json"
    result = run_cli(
        "aggregate", long_csv, "--annotator-col", "worker", "--audit-out", audit, "--summary", summary, "-q"
    )
    assert result.returncode == 0, result.stderr
    table = pd.read_csv(audit)
    assert list(table.columns) == [
        "item",
        "annotator",
        "label",
        "consensus_label",
        "quality",
        "is_label_issue",
    ]
    assert len(table) == len(crowd.annotations)
    gold = crowd.truth.set_index("item")["label"].reindex(table["item"]).to_numpy()
    wrong = table["label"].to_numpy() != gold
    flagged = table["is_label_issue"].to_numpy()
    assert flagged.any() and wrong[flagged].mean() > 1.5 * wrong.mean()
    assert json.loads(summary.read_text())["audit"]["num_issues"] == int(flagged.sum())


@pytest.mark.parametrize(
    ("content", "args", "needles"),
    [
        ("item,worker,label\na,x,1\n", [], ["no column 'annotator'", "--annotator-col"]),
        ("", [], ["file is empty"]),
        ("item,annotator,label\na,x,1\nb,y,2\n", ["--probs", "PROBS"], ["no probabilities for item 'b'"]),
        ("item,annotator,label\na,x,1\n", ["--max-iter", "0"], ["max_iter"]),
    ],
)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(
    tmp_path: Path, content: str, args: list[str], needles: list[str]
) -> None:
    data = tmp_path / "data.csv"
    data.write_text(content)
    probs = tmp_path / "probs.csv"
    probs.write_text("item,p_1,p_2\na,0.9,0.1\n")
    out, summary = tmp_path / "out.csv", tmp_path / "summary.json"
    args = [str(probs) if a == "PROBS" else a for a in args]
    result = run_cli("aggregate", data, *args, "-o", out, "--summary", summary)
    assert_one_line_error(result, *needles)
    if "PROBS" in args or str(probs) in args:
        assert str(probs) in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.csv", "probs.csv"]


@pytest.mark.data
def test_real_data_cli(data_dir: Path, tmp_path: Path) -> None:
    folder = data_dir / "crowd" / "temp"
    if not folder.is_dir():
        pytest.skip(f"{folder} not found")
    out = tmp_path / "temp.csv"
    result = run_cli("aggregate", folder / "annotations.csv", "-o", out, "-q")
    assert result.returncode == 0, result.stderr
    report = pd.read_csv(out, dtype={"item": str})
    truth = pd.read_csv(folder / "truth.csv", dtype={"item": str}).set_index("item")["label"]
    assert (
        report["consensus_label"].to_numpy() == truth.reindex(report["item"]).to_numpy()
    ).mean() >= 435 / 462
