"""Readers and writers: format detection, one-line errors, atomic writes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from labelaudit.errors import InputFileError, UsageError
from labelaudit.io.readers import detect_format, read_table
from labelaudit.io.writers import atomic_path, output_format_for, read_parquet_metadata, write_frame


def test_detect_format() -> None:
    assert detect_format("a.csv") == "csv"
    assert detect_format("a.TSV") == "tsv"
    assert detect_format("a.csv.gz") == "csv"
    assert detect_format("a.parquet") == "parquet"
    assert detect_format("a.jsonl") == "jsonl"
    assert detect_format("-") == "csv"
    assert detect_format("a.txt", "tsv") == "tsv"
    with pytest.raises(UsageError, match=r"a.xlsx"):
        detect_format("a.xlsx")
    with pytest.raises(UsageError, match="--input-format"):
        detect_format("a.csv", "xml")


def test_output_format_for() -> None:
    assert output_format_for("r.parquet", None) == "parquet"
    assert output_format_for(None, None) == "table"
    assert output_format_for("r.out", "csv") == "csv"
    with pytest.raises(UsageError):
        output_format_for("r.out", None)


def test_read_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match=r"missing.csv: no such file"):
        read_table(str(tmp_path / "missing.csv"))
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(InputFileError, match=r"empty.csv: file is empty"):
        read_table(str(tmp_path / "empty.csv"))
    (tmp_path / "bad.parquet").write_text("not parquet at all")
    with pytest.raises(InputFileError, match=r"bad.parquet: cannot read as parquet"):
        read_table(str(tmp_path / "bad.parquet"))


def test_atomic_path_leaves_nothing_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    target.write_text("previous\n")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("boom")
    assert target.read_text() == "previous\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]


def test_parquet_metadata_round_trip(tmp_path: Path) -> None:
    frame = pd.DataFrame({"row": [0, 1], "is_label_issue": [True, False]})
    path = tmp_path / "r.parquet"
    write_frame(frame, str(path), "parquet", metadata={"schema": "x/1", "summary": {"n": 2}})
    assert read_parquet_metadata(str(path)) == {"schema": "x/1", "summary": {"n": 2}}
    pd.testing.assert_frame_equal(pd.read_parquet(path), frame)


def test_public_api_resolves() -> None:
    import labelaudit

    assert "find_label_issues" in labelaudit.__all__
    with pytest.raises(AttributeError):
        labelaudit.does_not_exist  # noqa: B018


def test_written_files_follow_the_umask(tmp_path: Path) -> None:
    import os

    previous = os.umask(0o022)
    try:
        path = tmp_path / "r.csv"
        write_frame(pd.DataFrame({"row": [0]}), str(path), "csv")
        assert path.stat().st_mode & 0o777 == 0o644
    finally:
        os.umask(previous)
