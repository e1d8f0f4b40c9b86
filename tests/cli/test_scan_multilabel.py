"""`labelaudit scan --multi-label` run as a user runs it: a subprocess on real files in every label
format, reports read back and compared with the library; each bad input gives one line and exit 2."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from labelaudit.core import multilabel as ml
from labelaudit.io.writers import read_parquet_metadata
from tests.conftest import assert_one_line_error

CLASSES = ["beach", "sunset", "fall_foliage", "field", "mountain", "urban"]
REPORT_COLUMNS = [
    "row",
    "id",
    "given_label",
    "missing_tags",
    "spurious_tags",
    "label_quality",
    "is_label_issue",
    "rank",
]


def _problem(n: int = 240, seed: int = 3):
    """Given tags (some rows without any), sigmoid probabilities, about 4% of tags flipped."""
    rng = np.random.default_rng(seed)
    k = len(CLASSES)
    truth = rng.random((n, k)) < rng.uniform(0.1, 0.45, k)
    logit = np.where(truth, 1.0, -1.0) * rng.gamma(2.0, 1.2, (n, k)) + rng.normal(0.0, 1.0, (n, k))
    probs = np.round(1.0 / (1.0 + np.exp(-logit)), 6)
    tags = truth ^ (rng.random((n, k)) < 0.04)
    tags[:5] = False  # examples without tags
    return tags, probs


def _names(row: np.ndarray, sep: str = ",") -> str:
    return sep.join(np.asarray(CLASSES)[row])


@pytest.fixture(scope="module")
def problem():
    return _problem()


@pytest.fixture(scope="module")
def files(tmp_path_factory, problem) -> dict[str, Path]:
    tags, probs = problem
    root = tmp_path_factory.mktemp("multilabel")
    ids = [f"img{i:04d}" for i in range(len(tags))]
    probs_frame = pd.DataFrame(probs, columns=[f"p_{c}" for c in CLASSES])
    out: dict[str, Path] = {}

    delimited = pd.DataFrame({"id": ids, "tags": [_names(r) for r in tags]}).join(probs_frame)
    out["csv"] = root / "scene.csv"
    delimited.to_csv(out["csv"], index=False)

    listed = pd.DataFrame({"id": ids, "tags": [list(np.asarray(CLASSES)[r]) for r in tags]}).join(probs_frame)
    out["parquet"] = root / "scene.parquet"
    listed.to_parquet(out["parquet"])

    indexed = pd.DataFrame({"id": ids, "tags": [np.flatnonzero(r).tolist() for r in tags]}).join(probs_frame)
    out["jsonl"] = root / "scene.jsonl"
    indexed.to_json(out["jsonl"], orient="records", lines=True)

    columns = pd.DataFrame({"id": ids})
    for j, c in enumerate(CLASSES):
        columns[f"y_{c}"] = tags[:, j].astype(int)
    out["columns"] = root / "scene-cols.csv"
    columns.join(probs_frame).to_csv(out["columns"], index=False)

    piped = pd.DataFrame({"id": ids, "tags": [_names(r, " | ") for r in tags]})
    out["piped"] = root / "scene-piped.tsv"
    piped.to_csv(out["piped"], sep="\t", index=False)
    out["npy"] = root / "probs.npy"
    np.save(out["npy"], probs)
    return out


def _expected(tags: np.ndarray, probs: np.ndarray, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ml.audit_multilabel(tags, probs, **kwargs)


def _joined(mask: np.ndarray) -> list[str]:
    return [_names(r) for r in mask]


def test_delimited_csv_report_summary_and_api_parity(cli, files, problem, tmp_path):
    tags, probs = problem
    out = tmp_path / "report.parquet"
    summary_path = tmp_path / "summary.json"
    result = cli(
        "scan",
        files["csv"],
        "--multi-label",
        "--label-col",
        "tags",
        "--id-col",
        "id",
        "-o",
        out,
        "--summary",
        summary_path,
        "--top",
        "3",
    )
    assert result.returncode == 0, result.stderr
    report = pd.read_parquet(out)
    assert list(report.columns) == REPORT_COLUMNS
    assert report["row"].tolist() == list(range(len(tags)))
    assert report["id"].tolist()[:2] == ["img0000", "img0001"]
    assert report["given_label"].tolist() == _joined(tags)
    assert report["given_label"].iloc[0] == ""
    audit = _expected(tags, probs)
    assert report["missing_tags"].tolist() == _joined(audit.missing)
    assert report["spurious_tags"].tolist() == _joined(audit.spurious)
    np.testing.assert_allclose(report["label_quality"].to_numpy(), audit.quality, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(report["is_label_issue"].to_numpy(), audit.is_issue)
    assert report["is_label_issue"].dtype == bool
    assert sorted(report["rank"]) == list(range(1, len(tags) + 1))
    worst = report.sort_values("rank").iloc[0]
    assert worst["label_quality"] == report["label_quality"].min()

    meta = read_parquet_metadata(str(out))
    assert meta["schema"] == "labelaudit.scan-multilabel/1"
    summary = json.loads(summary_path.read_text())
    assert summary["num_examples"] == len(tags)
    assert summary["num_classes"] == len(CLASSES)
    assert summary["num_issues"] == int(audit.is_issue.sum())
    assert summary["health_score"] == pytest.approx(1 - audit.is_issue.mean())
    beach = next(c for c in summary["classes"] if c["class"] == "beach")
    assert beach["given_count"] == int(tags[:, 0].sum())
    assert beach["given_but_absent"]["count"] == int(audit.spurious[:, 0].sum())
    assert beach["absent_but_should_be"]["count"] == int(audit.missing[:, 0].sum())
    assert set(beach) >= {"given_but_absent", "absent_but_should_be", "noise_rate"}
    assert "label issues" in result.stderr and "noisiest classes" in result.stderr


@pytest.mark.parametrize("fmt", ["parquet", "jsonl", "columns"])
def test_every_label_format_gives_the_same_report(cli, files, problem, tmp_path, fmt):
    tags, probs = problem
    out = tmp_path / "report.csv"
    extra = ["--label-cols", "y_*"] if fmt == "columns" else ["--label-col", "tags"]
    result = cli("scan", files[fmt], "--multi-label", *extra, "--id-col", "id", "-o", out, "-q")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    report = pd.read_csv(out, keep_default_na=False)
    audit = _expected(tags, probs)
    assert report["given_label"].tolist() == _joined(tags)
    assert report["missing_tags"].tolist() == _joined(audit.missing)
    assert report["spurious_tags"].tolist() == _joined(audit.spurious)
    np.testing.assert_array_equal(report["is_label_issue"].to_numpy(), audit.is_issue)


def test_separate_probs_file_custom_separator_and_options(cli, files, problem, tmp_path):
    tags, probs = problem
    out = tmp_path / "report.jsonl"
    result = cli(
        "scan",
        files["piped"],
        "--multi-label",
        "--label-col",
        "tags",
        "--label-sep",
        "|",
        "--probs",
        files["npy"],
        "--classes",
        ",".join(CLASSES),
        "--compat",
        "cleanlab",
        "--method",
        "both",
        "--score",
        "normalized_margin",
        "--aggregate",
        "softmin",
        "-o",
        out,
        "--sort",
        "rank",
        "--issues-only",
        "-q",
    )
    assert result.returncode == 0, result.stderr
    report = pd.read_json(
        out, lines=True, dtype={"given_label": str, "missing_tags": str, "spurious_tags": str}
    )
    audit = _expected(
        tags, probs, compat="cleanlab", filter_by="both", method="normalized_margin", aggregate="softmin"
    )
    assert len(report) == int(audit.is_issue.sum())
    assert report["rank"].is_monotonic_increasing
    assert sorted(report["row"]) == np.flatnonzero(audit.is_issue).tolist()
    first = report.iloc[0]
    assert first["given_label"] == _names(tags[first["row"]], "|")


def test_gate_counts_flagged_examples(cli, files, tmp_path):
    result = cli(
        "scan",
        files["csv"],
        "--multi-label",
        "--label-col",
        "tags",
        "--max-issues",
        "0",
        "-q",
        "-o",
        tmp_path / "r.csv",
    )
    assert result.returncode == 1
    assert "gate failed" in result.stderr


# --------------------------------------------------------------------------------------
# bad input: one line, exit 2
# --------------------------------------------------------------------------------------


def _write(tmp_path: Path, name: str, frame: pd.DataFrame) -> Path:
    path = tmp_path / name
    if name.endswith(".parquet"):
        frame.to_parquet(path)
    elif name.endswith(".jsonl"):
        frame.to_json(path, orient="records", lines=True)
    else:
        frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def frames(problem):
    tags, probs = problem
    probs_frame = pd.DataFrame(probs, columns=[f"p_{c}" for c in CLASSES])
    delimited = pd.DataFrame({"tags": [_names(r) for r in tags]}).join(probs_frame)
    listed = pd.DataFrame({"tags": [list(np.asarray(CLASSES)[r]) for r in tags]}).join(probs_frame)
    columns = pd.DataFrame({f"y_{c}": tags[:, j].astype(int) for j, c in enumerate(CLASSES)}).join(
        probs_frame
    )
    return delimited, listed, columns


def test_tag_without_probability_column(cli, frames, tmp_path):
    frame = frames[0].copy()
    frame.loc[7, "tags"] = "beach,volcano"
    result = cli("scan", _write(tmp_path, "d.csv", frame), "--multi-label", "--label-col", "tags")
    assert_one_line_error(result, "d.csv", "row 7", "'volcano'", "no probability column")


def test_wrong_separator_gets_a_hint(cli, frames, tmp_path):
    frame = frames[0].copy()
    frame["tags"] = frame["tags"].str.replace(",", ";")
    frame.loc[0, "tags"] = "beach;field"
    result = cli("scan", _write(tmp_path, "d.csv", frame), "--multi-label", "--label-col", "tags")
    assert_one_line_error(result, "'beach;field'", "--label-sep ','")


def test_tag_column_without_probabilities(cli, frames, tmp_path):
    frame = frames[2].copy()
    frame["y_volcano"] = 0
    result = cli("scan", _write(tmp_path, "c.csv", frame), "--multi-label", "--label-cols", "y_*")
    assert_one_line_error(result, "'volcano'", "column 'y_volcano'", "no probability column")


def test_class_without_tag_column(cli, frames, tmp_path):
    frame = frames[2].drop(columns=["y_urban"])
    result = cli("scan", _write(tmp_path, "c.csv", frame), "--multi-label", "--label-cols", "y_*")
    assert_one_line_error(result, "class 'urban' has probabilities but no --label-cols column")


def test_tag_column_values_must_be_0_or_1(cli, frames, tmp_path):
    frame = frames[2].copy()
    frame["y_field"] = frame["y_field"].astype(object)
    frame.loc[4, "y_field"] = 2
    result = cli("scan", _write(tmp_path, "c.csv", frame), "--multi-label", "--label-cols", "y_*")
    assert_one_line_error(result, "column 'y_field' row 4", "is 2, not 0 or 1")


@pytest.mark.parametrize(
    ("value", "needle"),
    [(1.25, "1.25 is not a probability in [0, 1]"), (-3.0, "-3 is negative; probabilities are in [0, 1]")],
)
def test_probability_outside_unit_interval(cli, frames, tmp_path, value, needle):
    frame = frames[0].copy()
    frame.loc[9, "p_mountain"] = value
    result = cli("scan", _write(tmp_path, "d.csv", frame), "--multi-label", "--label-col", "tags")
    assert_one_line_error(result, "column 'p_mountain' row 9", needle)


def test_missing_probability(cli, frames, tmp_path):
    frame = frames[0].copy()
    frame.loc[11, "p_beach"] = np.nan
    result = cli("scan", _write(tmp_path, "d.csv", frame), "--multi-label", "--label-col", "tags")
    assert_one_line_error(result, "'p_beach' row 11", "missing")


@pytest.mark.parametrize("name", ["l.parquet", "l.jsonl"])
def test_null_label_set_is_an_error_where_it_differs_from_no_tags(cli, frames, tmp_path, name):
    frame = frames[1].copy()
    frame["tags"] = frame["tags"].astype(object)
    frame.at[6, "tags"] = None
    result = cli("scan", _write(tmp_path, name, frame), "--multi-label", "--label-col", "tags")
    assert_one_line_error(result, name, "row 6", "tags are missing (null)", "empty list")


def test_empty_csv_cell_is_the_empty_tag_set(cli, frames, tmp_path):
    frame = frames[0].copy()
    frame.loc[6, "tags"] = ""
    out = tmp_path / "r.csv"
    result = cli(
        "scan", _write(tmp_path, "d.csv", frame), "--multi-label", "--label-col", "tags", "-o", out, "-q"
    )
    assert result.returncode == 0, result.stderr
    assert pd.read_csv(out, keep_default_na=False)["given_label"].iloc[6] == ""


def test_no_tags_anywhere(cli, frames, tmp_path):
    frame = frames[0].copy()
    frame["tags"] = ""
    result = cli("scan", _write(tmp_path, "d.csv", frame), "--multi-label", "--label-col", "tags")
    assert_one_line_error(result, "no tags in any row")


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--aggregate", "max"], "--pooling must be one of ema, softmin, min, mean"),
        (["--method", "vote"], "--method must be one of"),
        (["--normalize"], "--normalize does not apply to --multi-label"),
        (["--label-col", "labels"], "no column 'labels' (--label-col)"),
    ],
)
def test_bad_options(cli, files, args, needle):
    result = cli("scan", files["csv"], "--multi-label", "--label-col", "tags", *args)
    assert_one_line_error(result, needle)


@pytest.mark.data
def test_development_set_matches_the_library(cli, data_dir, tmp_path):
    folder = data_dir / "multilabel" / "emotions"
    if not folder.is_dir():
        pytest.skip(f"{folder} not found")
    tags = np.load(folder / "labels.npy")
    probs = np.load(folder / "pred_probs.npy")
    names = [f"c{j}" for j in range(tags.shape[1])]
    frame = pd.DataFrame({"tags": [";".join(np.asarray(names)[r]) for r in tags]})
    path = _write(tmp_path, "emotions.csv", frame)
    out = tmp_path / "r.parquet"
    result = cli(
        "scan",
        path,
        "--multi-label",
        "--label-col",
        "tags",
        "--label-sep",
        ";",
        "--probs",
        folder / "pred_probs.npy",
        "--classes",
        ",".join(names),
        "-o",
        out,
        "-q",
    )
    assert result.returncode == 0, result.stderr
    report = pd.read_parquet(out)
    audit = _expected(tags, probs)
    np.testing.assert_array_equal(report["is_label_issue"].to_numpy(), audit.is_issue)
    np.testing.assert_allclose(report["label_quality"].to_numpy(), audit.quality, atol=1e-12)
