"""`labelaudit scan` run as a user runs it: a subprocess on real files, reports read back."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from labelaudit.core.filter import DEFAULT_FILTER
from labelaudit.io.writers import read_parquet_metadata
from tests.conftest import FIXTURES, assert_one_line_error, run_cli

FIXTURE = FIXTURES / "cifar10-test-slice.csv"
REVIEW = FIXTURES / "cifar10-test-slice.review.csv"
CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
REPORT_COLUMNS = [
    "row",
    "id",
    "given_label",
    "suggested_label",
    "label_quality",
    "error_probability",
    "is_label_issue",
    "rank",
]


@pytest.fixture(scope="module")
def fixture_frame() -> pd.DataFrame:
    return pd.read_csv(FIXTURE)


def _api_result(frame: pd.DataFrame, **kwargs):
    from labelaudit import find_label_issues, label_quality_scores

    labels = frame["label"].map({c: k for k, c in enumerate(CLASSES)}).to_numpy()
    probs = frame[[f"p_{c}" for c in CLASSES]].to_numpy(dtype=np.float64)
    score = kwargs.pop("score", None)  # None: the default score, as the CLI's
    return find_label_issues(labels, probs, **kwargs), label_quality_scores(labels, probs, method=score)


def test_csv_to_parquet_report_schema_and_api_parity(tmp_path: Path, fixture_frame: pd.DataFrame) -> None:
    out = tmp_path / "report.parquet"
    summary_path = tmp_path / "summary.json"
    result = run_cli("scan", FIXTURE, "--id-col", "id", "-o", out, "--summary", summary_path, "--top", "5")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    report = pd.read_parquet(out)
    assert list(report.columns) == REPORT_COLUMNS
    assert len(report) == len(fixture_frame)
    assert report["row"].tolist() == list(range(len(fixture_frame)))
    assert report["id"].tolist() == fixture_frame["id"].tolist()
    assert report["given_label"].tolist() == fixture_frame["label"].tolist()
    assert report["is_label_issue"].dtype == bool
    assert sorted(report["rank"]) == list(range(1, len(report) + 1))
    # rank 1 is the lowest quality; ranks follow quality, ties by row
    by_rank = report.sort_values("rank")
    assert (np.diff(by_rank["label_quality"].to_numpy()) >= 0).all()
    suggested = np.array(CLASSES)[fixture_frame[[f"p_{c}" for c in CLASSES]].to_numpy().argmax(axis=1)]
    assert report["suggested_label"].tolist() == suggested.tolist()

    issues, quality = _api_result(fixture_frame)
    np.testing.assert_array_equal(report["is_label_issue"].to_numpy(), issues)
    np.testing.assert_allclose(report["label_quality"].to_numpy(), quality, rtol=0, atol=1e-12)
    from labelaudit import error_probability

    labels = fixture_frame["label"].map({c: k for k, c in enumerate(CLASSES)}).to_numpy()
    expected_error = error_probability(
        labels, fixture_frame[[f"p_{c}" for c in CLASSES]].to_numpy(dtype=np.float64)
    )
    assert report["error_probability"].dtype == np.float64
    np.testing.assert_array_equal(report["error_probability"].to_numpy(), expected_error)

    meta = read_parquet_metadata(str(out))
    assert meta["schema"] == "labelaudit.scan/1"
    assert meta["parameters"]["method"] == DEFAULT_FILTER
    assert meta["summary"]["num_issues"] == int(issues.sum())
    assert meta["versions"]["labelaudit"]
    summary = json.loads(summary_path.read_text())
    assert summary["num_examples"] == len(fixture_frame)
    assert summary["num_issues"] == int(issues.sum())
    assert [row["class"] for row in summary["per_class"]].count("cat") == 1
    assert 0.0 <= summary["health_score"] <= 1.0
    # the terminal table and summary went to stderr
    assert "Most suspicious rows" in result.stderr
    assert f"label issues: {int(issues.sum())}" in result.stderr


def test_flags_human_confirmed_errors(tmp_path: Path) -> None:
    """On the reviewed items of the fixture, flagged rows are mostly the ones humans confirmed as wrong."""
    out = tmp_path / "r.csv"
    assert run_cli("scan", FIXTURE, "--id-col", "id", "-o", out, "-q").returncode == 0
    report = pd.read_csv(out).set_index("id")
    review = pd.read_csv(REVIEW).set_index("id")
    confirmed = review.index[review["confirmed_error"] == 1]
    assert len(confirmed) >= 5
    recall = report.loc[confirmed, "is_label_issue"].mean()
    assert recall >= 0.8, recall
    # confirmed errors rank far above the median row
    assert report.loc[confirmed, "rank"].median() < 0.05 * len(report)


def test_stdin_to_stdout_csv(fixture_frame: pd.DataFrame) -> None:
    result = run_cli("scan", "-", "--format", "csv", "--quiet", input=FIXTURE.read_bytes())
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    report = pd.read_csv(pd.io.common.StringIO(result.stdout))
    assert list(report.columns) == [c for c in REPORT_COLUMNS if c != "id"]
    issues, _ = _api_result(fixture_frame)
    np.testing.assert_array_equal(report["is_label_issue"].to_numpy(), issues)


def test_parquet_and_jsonl_inputs_give_the_same_report(tmp_path: Path, fixture_frame: pd.DataFrame) -> None:
    parquet_in = tmp_path / "data.parquet"
    jsonl_in = tmp_path / "data.jsonl"
    fixture_frame.to_parquet(parquet_in)
    fixture_frame.to_json(jsonl_in, orient="records", lines=True)
    outputs = []
    for source in (FIXTURE, parquet_in, jsonl_in):
        result = run_cli("scan", source, "--format", "jsonl", "-q")
        assert result.returncode == 0, result.stderr
        outputs.append([json.loads(line) for line in result.stdout.splitlines()])
    assert outputs[0] == outputs[1] == outputs[2]
    assert len(outputs[0]) == len(fixture_frame)


def test_probs_from_npy_with_integer_labels(tmp_path: Path, fixture_frame: pd.DataFrame) -> None:
    probs = fixture_frame[[f"p_{c}" for c in CLASSES]].to_numpy(dtype=np.float32)
    np.save(tmp_path / "probs.npy", probs)
    data = pd.DataFrame({"label": fixture_frame["label"].map({c: k for k, c in enumerate(CLASSES)})})
    data.to_csv(tmp_path / "labels.csv", index=False)
    result = run_cli(
        "scan", tmp_path / "labels.csv", "--probs", tmp_path / "probs.npy", "--format", "csv", "-q"
    )
    assert result.returncode == 0, result.stderr
    report = pd.read_csv(pd.io.common.StringIO(result.stdout))
    issues, _ = _api_result(fixture_frame)
    np.testing.assert_array_equal(report["is_label_issue"].to_numpy(), issues)
    assert report["given_label"].tolist() == data["label"].tolist()
    # with --classes the names are the user's
    named = run_cli(
        "scan",
        tmp_path / "labels.csv",
        "--probs",
        tmp_path / "probs.npy",
        "--classes",
        ",".join(CLASSES),
        "--format",
        "csv",
        "-q",
    )
    assert (
        pd.read_csv(pd.io.common.StringIO(named.stdout))["given_label"].tolist()
        == fixture_frame["label"].tolist()
    )


def test_probs_table_joined_on_id(tmp_path: Path, fixture_frame: pd.DataFrame) -> None:
    labels = fixture_frame[["id", "label"]]
    probs = fixture_frame[["id", *[f"p_{c}" for c in CLASSES]]].sample(frac=1.0, random_state=0)
    labels.to_csv(tmp_path / "labels.csv", index=False)
    probs.to_parquet(tmp_path / "probs.parquet")
    result = run_cli(
        "scan",
        tmp_path / "labels.csv",
        "--probs",
        tmp_path / "probs.parquet",
        "--id-col",
        "id",
        "--format",
        "csv",
        "-q",
    )
    assert result.returncode == 0, result.stderr
    report = pd.read_csv(pd.io.common.StringIO(result.stdout))
    issues, _ = _api_result(fixture_frame)
    np.testing.assert_array_equal(report["is_label_issue"].to_numpy(), issues)
    # an id with no probabilities is named
    probs.iloc[1:].to_parquet(tmp_path / "partial.parquet")
    missing = run_cli(
        "scan", tmp_path / "labels.csv", "--probs", tmp_path / "partial.parquet", "--id-col", "id"
    )
    assert_one_line_error(missing, "partial.parquet", repr(probs.iloc[0]["id"]))


@pytest.mark.parametrize(
    "method",
    [
        "prune_by_class",
        "both",
        "confident_learning",
        "predicted_neq_given",
        "low_self_confidence",
        "low_normalized_margin",
    ],
)
def test_every_method_matches_the_api(method: str, fixture_frame: pd.DataFrame) -> None:
    result = run_cli(
        "scan", FIXTURE, "--method", method, "--score", "normalized_margin", "--format", "csv", "-q"
    )
    assert result.returncode == 0, result.stderr
    report = pd.read_csv(pd.io.common.StringIO(result.stdout))
    issues, quality = _api_result(fixture_frame, filter_by=method, score="normalized_margin")
    np.testing.assert_array_equal(report["is_label_issue"].to_numpy(), issues)
    np.testing.assert_allclose(report["label_quality"].to_numpy(), quality, atol=1e-12)


def test_json_output_carries_metadata_and_rows() -> None:
    result = run_cli("scan", FIXTURE, "--format", "json", "--issues-only", "--sort", "rank", "-q")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["metadata"]["schema"] == "labelaudit.scan/1"
    rows = document["rows"]
    assert rows and all(r["is_label_issue"] for r in rows)
    assert [r["rank"] for r in rows] == sorted(r["rank"] for r in rows)
    assert len(rows) == document["metadata"]["summary"]["num_issues"]


def test_output_is_deterministic_across_thread_counts(tmp_path: Path) -> None:
    first = run_cli("scan", FIXTURE, "--format", "csv", "-q", env={"NUMBA_NUM_THREADS": "1"})
    second = run_cli("scan", FIXTURE, "--format", "csv", "-q", env={"NUMBA_NUM_THREADS": "2"})
    assert first.returncode == second.returncode == 0
    assert first.stdout_bytes == second.stdout_bytes
    a, b = tmp_path / "a.parquet", tmp_path / "b.parquet"
    run_cli("scan", FIXTURE, "-o", a, "-q")
    run_cli("scan", FIXTURE, "-o", b, "-q")
    assert pq.read_table(a).equals(pq.read_table(b))
    assert read_parquet_metadata(str(a)) == read_parquet_metadata(str(b))


def test_gate_and_baseline(tmp_path: Path) -> None:
    out = tmp_path / "report.csv"
    failed = run_cli("scan", FIXTURE, "--id-col", "id", "-o", out, "--max-issues", "0", "-q")
    assert failed.returncode == 1
    assert "gate failed" in failed.stderr and "--max-issues 0" in failed.stderr
    assert out.exists(), "the report is still written when the gate fails"
    # accepting today's findings as the baseline makes the same data pass
    passed = run_cli("scan", FIXTURE, "--id-col", "id", "--baseline", out, "--max-issues", "0", "-q")
    assert passed.returncode == 0, passed.stderr
    assert run_cli("scan", FIXTURE, "--min-health", "0.5", "-q").returncode == 0
    assert run_cli("scan", FIXTURE, "--min-health", "0.9999", "-q").returncode == 1
    assert run_cli("scan", FIXTURE, "--max-issue-rate", "0.5", "-q").returncode == 0


def test_quiet_prints_nothing() -> None:
    result = run_cli("scan", FIXTURE, "--quiet")
    assert result.returncode == 0
    assert result.stdout == "" and result.stderr == ""


# ---- bad input: one line, exit 2, nothing written -------------------------------------------------------


def _write(tmp_path: Path, name: str, frame: pd.DataFrame) -> Path:
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


def _small(fixture_frame: pd.DataFrame) -> pd.DataFrame:
    return fixture_frame.head(50).copy()


def test_missing_label_column(tmp_path: Path, fixture_frame: pd.DataFrame) -> None:
    path = _write(tmp_path, "d.csv", _small(fixture_frame).drop(columns=["label"]))
    out = tmp_path / "out.parquet"
    assert_one_line_error(run_cli("scan", path, "-o", out), "d.csv", "'label'", "--label-col")
    assert not out.exists() and list(tmp_path.iterdir()) == [path]


def test_unknown_class_in_labels(tmp_path: Path, fixture_frame: pd.DataFrame) -> None:
    frame = _small(fixture_frame)
    frame.loc[7, "label"] = "kat"
    path = _write(tmp_path, "d.csv", frame)
    assert_one_line_error(run_cli("scan", path), "d.csv", "row 7", "'kat'")


def test_lengths_differ(tmp_path: Path, fixture_frame: pd.DataFrame) -> None:
    frame = _small(fixture_frame)
    np.save(tmp_path / "p.npy", frame[[f"p_{c}" for c in CLASSES]].to_numpy()[:-3])
    path = _write(tmp_path, "d.csv", frame[["label"]])
    assert_one_line_error(run_cli("scan", path, "--probs", tmp_path / "p.npy"), "p.npy", "47 rows", "50")


def test_non_numeric_probability(tmp_path: Path, fixture_frame: pd.DataFrame) -> None:
    frame = _small(fixture_frame).astype({"p_cat": object})
    frame.loc[3, "p_cat"] = "high"
    path = _write(tmp_path, "d.csv", frame)
    assert_one_line_error(run_cli("scan", path), "d.csv", "'p_cat'", "row 3", "'high'")


def test_missing_probability(tmp_path: Path, fixture_frame: pd.DataFrame) -> None:
    frame = _small(fixture_frame)
    frame.loc[4, "p_dog"] = np.nan
    path = _write(tmp_path, "d.csv", frame)
    assert_one_line_error(run_cli("scan", path), "d.csv", "'p_dog'", "row 4", "missing")


def test_logits_are_named(tmp_path: Path, fixture_frame: pd.DataFrame) -> None:
    frame = _small(fixture_frame)
    columns = [f"p_{c}" for c in CLASSES]
    frame[columns] = np.log(frame[columns].to_numpy() + 1e-6) * 3
    path = _write(tmp_path, "d.csv", frame)
    assert_one_line_error(run_cli("scan", path), "d.csv", "logits")


def test_no_probability_columns(tmp_path: Path, fixture_frame: pd.DataFrame) -> None:
    path = _write(tmp_path, "d.csv", _small(fixture_frame)[["id", "label"]])
    assert_one_line_error(run_cli("scan", path), "d.csv", "'p_*'")


def test_empty_file_directory_and_missing_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert_one_line_error(run_cli("scan", empty), "empty.csv", "empty")
    header_only = tmp_path / "header.csv"
    header_only.write_text("label,p_a,p_b\n")
    assert_one_line_error(run_cli("scan", header_only), "header.csv", "no data")
    folder = tmp_path / "folder.csv"
    folder.mkdir()
    assert_one_line_error(run_cli("scan", folder), "folder.csv", "directory")
    assert_one_line_error(run_cli("scan", tmp_path / "nope.csv"), "nope.csv", "no such file")
    assert_one_line_error(run_cli("scan", "-", input=b""), "<stdin>")


def test_bad_options(tmp_path: Path) -> None:
    assert_one_line_error(run_cli("scan", FIXTURE, "--method", "vibes"), "--method", "prune_by_noise_rate")
    assert_one_line_error(run_cli("scan", FIXTURE, "--score", "vibes"), "--score")
    assert_one_line_error(run_cli("scan", FIXTURE, "-o", tmp_path / "r.xlsx"), "r.xlsx", "--format")
    assert_one_line_error(run_cli("scan", FIXTURE, "-o", tmp_path / "no" / "r.csv"), "does not exist")
    unknown = run_cli("scan", FIXTURE, "--frobnicate")
    assert unknown.returncode == 2 and "Traceback" not in unknown.stderr


def test_cifar10_train_csv_matches_api(tmp_path: Path, data_dir: Path) -> None:
    """Issue 3's acceptance check on a 50,000-row set written as CSV with string labels and p_<class> columns."""
    source = data_dir / "cl" / "cifar10-train-sparsity0_2-noise0_4"
    labels = np.load(source / "labels.npy")
    probs = np.load(source / "pred_probs.npy")
    frame = pd.DataFrame({"label": np.array(CLASSES)[labels]})
    for k, name in enumerate(CLASSES):
        frame[f"p_{name}"] = probs[:, k]
    data = tmp_path / "data.csv"
    frame.to_csv(data, index=False, float_format="%.9g")
    out = tmp_path / "out.parquet"
    result = run_cli("scan", data, "-o", out, "-q")
    assert result.returncode == 0, result.stderr
    from labelaudit import find_label_issues

    written = pd.read_csv(data)[[f"p_{c}" for c in CLASSES]].to_numpy()
    expected = find_label_issues(labels, written)
    report = pd.read_parquet(out)
    np.testing.assert_array_equal(report["is_label_issue"].to_numpy(), expected)
    assert 0.15 * len(labels) < expected.sum() < 0.6 * len(labels)


def test_rows_not_summing_to_one_warn_once(tmp_path: Path) -> None:
    path = tmp_path / "w.csv"
    path.write_text("label,p_a,p_b\na,0.9,0.2\nb,0.3,0.7\na,0.6,0.4\n")
    result = run_cli("scan", path, "--top", "0")
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("labelaudit: warning:")]
    assert len(warnings) == 1, result.stderr
    assert "w.csv" in warnings[0] and "row 0" in warnings[0] and "--normalize" in warnings[0]
    quiet = run_cli("scan", path, "-q")
    assert quiet.returncode == 0 and quiet.stderr == ""


def test_negative_probability_names_column_and_row(tmp_path: Path) -> None:
    path = tmp_path / "neg.csv"
    path.write_text("label,p_a,p_b\na,0.9,0.1\nb,1.5,-0.5\n")
    assert_one_line_error(run_cli("scan", path), "neg.csv", "'p_b'", "row 1", "-0.5", "negative")


def test_table_format_to_stdout_and_file_are_the_same(tmp_path: Path, fixture_frame: pd.DataFrame) -> None:
    to_stdout = run_cli("scan", FIXTURE, "--format", "table", "-q")
    assert to_stdout.returncode == 0, to_stdout.stderr
    out = tmp_path / "report.txt"
    assert run_cli("scan", FIXTURE, "-o", out, "-q").returncode == 0
    assert out.read_text(encoding="utf-8") == to_stdout.stdout
    lines = to_stdout.stdout.splitlines()
    assert lines[0].split() == [c for c in REPORT_COLUMNS if c != "id"]
    assert len(lines) == 1 + len(fixture_frame)
