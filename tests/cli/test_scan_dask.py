"""`labelaudit scan DATA --engine dask` writes the report and summary of the local scan of the concatenated data."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import FIXTURES, assert_one_line_error, run_cli

pytest.importorskip("dask")

FIXTURE = FIXTURES / "cifar10-test-slice.csv"
CUTS = (0, 137, 901, 1210, 2000)  # four files of uneven sizes


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """parts/part-{0..3}.parquet (row groups of 170 rows: 13 partitions) and all.parquet, the concatenation."""
    root = tmp_path_factory.mktemp("dask")
    frame = pd.read_csv(FIXTURE)
    parts = root / "parts"
    parts.mkdir()
    # written out of name order: the partition order is the sorted file names, not the creation order
    for i in reversed(range(len(CUTS) - 1)):
        piece = frame.iloc[CUTS[i] : CUTS[i + 1]].reset_index(drop=True)
        piece.to_parquet(parts / f"part-{i}.parquet", row_group_size=170)
    frame.to_parquet(root / "all.parquet")
    return root


def _summary(path: Path) -> dict:
    data = json.loads(path.read_text())
    data.pop("versions", None)
    data["parameters"].pop("input")
    return data


def _scan(data: Path | str, out: Path, *extra: str, env: dict[str, str] | None = None) -> tuple[bytes, dict]:
    summary = out.with_suffix(".json")
    result = run_cli("scan", data, "--id-col", "id", "-o", out, "--summary", summary, "-q", *extra, env=env)
    assert result.returncode == 0, result.stderr
    return out.read_bytes(), _summary(summary)


@pytest.mark.parametrize("method", ["prune_by_noise_rate", "both"])
def test_dask_report_equals_local_scan(dataset: Path, tmp_path: Path, method: str) -> None:
    local = _scan(dataset / "all.parquet", tmp_path / "local.csv", "--method", method)
    dask = _scan(dataset / "parts", tmp_path / "dask.csv", "--method", method, "--engine", "dask")
    assert local[0] == dask[0]
    assert local[1] == dask[1]
    report = pd.read_csv(tmp_path / "dask.csv")
    assert report["row"].tolist() == list(range(2000))
    assert report["id"].tolist() == pd.read_csv(FIXTURE)["id"].tolist()


def test_glob_and_schedulers_give_the_same_bytes(dataset: Path, tmp_path: Path) -> None:
    runs = {
        name: _scan(
            data,
            tmp_path / f"{name}.csv",
            "--engine",
            "dask",
            "--method",
            "confident_learning",
            "--score",
            "normalized_margin",
            env={"DASK_SCHEDULER": scheduler},
        )
        for name, data, scheduler in (
            ("sync", dataset / "parts", "synchronous"),
            ("threads", dataset / "parts", "threads"),
            ("glob", str(dataset / "parts" / "*.parquet"), "threads"),
        )
    }
    local = _scan(
        dataset / "all.parquet",
        tmp_path / "local.csv",
        "--method",
        "confident_learning",
        "--score",
        "normalized_margin",
    )
    assert runs["sync"] == runs["threads"] == runs["glob"] == local


def test_bad_input_exits_2_with_one_line(dataset: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    for i, file in enumerate(sorted((dataset / "parts").glob("*.parquet"))):
        frame = pd.read_parquet(file)
        if i == 2:
            frame = frame.drop(columns=["p_cat"])
        frame.to_parquet(bad / file.name)
    assert_one_line_error(run_cli("scan", bad, "--engine", "dask"), "part-2.parquet", "'p_cat'")

    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("no parquet here")
    assert_one_line_error(run_cli("scan", empty, "--engine", "dask"), "empty", "no .parquet files")

    assert_one_line_error(
        run_cli("scan", dataset / "parts", "--engine", "dask", "--compat", "cleanlab"), "--engine memory"
    )
    assert_one_line_error(
        run_cli("scan", dataset / "parts", "--dask-scheduler", "tcp://127.0.0.1:1"), "--engine dask"
    )


def test_missing_dask_is_a_usage_error(dataset: Path, tmp_path: Path) -> None:
    fake = tmp_path / "site"
    (fake / "dask").mkdir(parents=True)
    (fake / "dask" / "__init__.py").write_text("raise ImportError('No module named dask')\n")
    import os

    path = os.pathsep.join([str(fake), os.environ.get("PYTHONPATH", "")])
    result = run_cli("scan", dataset / "parts", "--engine", "dask", env={"PYTHONPATH": path})
    assert_one_line_error(result, "--engine dask needs the dask extra: pip install 'labelaudit[dask]'")
