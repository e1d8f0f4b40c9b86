"""`labelaudit.aggregate(...)`, the library entry point, called in-process."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import labelaudit as la
from labelaudit.core.aggregate import simulate_crowd
from labelaudit.errors import ColumnError, InvalidProbabilitiesError, LabelauditWarning, UsageError
from labelaudit.io.writers import read_parquet_metadata


@pytest.fixture(scope="module")
def crowd():
    return simulate_crowd(200, 12, 3, (2, 4), scenario="heterogeneous", seed=8)


@pytest.fixture()
def csv_path(tmp_path: Path, crowd) -> Path:
    path = tmp_path / "annotations.csv"
    crowd.annotations.to_csv(path, index=False)
    return path


def test_path_pandas_and_arrow_give_the_same_result(csv_path: Path) -> None:
    from_path = la.aggregate(csv_path, method="ibcc")
    frame = pd.read_csv(csv_path, dtype=str)
    from_pandas = la.aggregate(frame, method="ibcc")
    from_arrow = la.aggregate(pa.Table.from_pandas(frame), method="ibcc")
    for other in (from_pandas, from_arrow):
        assert other.items.equals(from_path.items)
        assert other.annotators.equals(from_path.annotators)
    assert isinstance(from_path, la.AggregateResult) and from_path.method == "ibcc"
    assert from_path.parameters["method"] == "ibcc" and from_path.parameters["seed"] == 0


def test_write_is_atomic_and_carries_the_metadata(tmp_path: Path, csv_path: Path) -> None:
    result = la.aggregate(csv_path, seed=4, next_n=10, audit=True)
    out = tmp_path / "consensus.parquet"
    result.write(out)
    meta = read_parquet_metadata(str(out))
    assert meta["schema"] == "labelaudit.aggregate/1" and meta["parameters"]["seed"] == 4
    assert meta["summary"]["method"] == result.method and "auto" in meta["summary"]
    assert pd.read_parquet(out).equals(result.items)
    result.write_summary(tmp_path / "summary.json")
    doc = json.loads((tmp_path / "summary.json").read_text())
    assert doc["schema"] == "labelaudit.aggregate.summary/1" and len(doc["annotators"]) == 12
    result.write_next(tmp_path / "next.csv")
    assert len(pd.read_csv(tmp_path / "next.csv")) == 10
    result.write_audit(tmp_path / "audit.csv")
    assert len(pd.read_csv(tmp_path / "audit.csv")) == len(pd.read_csv(csv_path))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["annotations.csv", "consensus.parquet", "summary.json", "next.csv", "audit.csv"]
    )  # no temporary files left behind


def test_posteriors_are_the_method_posterior(csv_path: Path) -> None:
    result = la.aggregate(csv_path, method="ebcc", seed=2)
    post = result.posteriors()
    assert list(post.columns) == ["item", "consensus_label", "p_0", "p_1", "p_2"]
    matrix = post[["p_0", "p_1", "p_2"]].to_numpy()
    assert np.allclose(matrix.sum(axis=1), 1.0)
    assert (matrix.argmax(axis=1) == post["consensus_label"].to_numpy()).all()
    assert (post["item"] == result.items["item"]).all()


def test_text_ids_and_labels_stay_distinct(tmp_path: Path) -> None:
    path = tmp_path / "ids.csv"
    path.write_text("item,annotator,label\n1,007,01\n01,7,1\n1,7,2.0\n01,007,2\n2,7,true\n2,007,1\n")
    result = la.aggregate(path, method="majority")
    assert result.items["item"].tolist() == ["01", "1", "2"]
    assert sorted(result.annotators["annotator"]) == ["007", "7"]
    assert sorted(map(str, result.classes)) == ["01", "1", "2", "2.0", "true"]


def test_probabilities_errors_name_the_column_and_npy_is_refused(
    tmp_path: Path, csv_path: Path, crowd
) -> None:
    probs = pd.DataFrame({"item": crowd.truth["item"], "p_0": 0.2, "p_1": 0.3, "p_2": 0.5})
    probs.loc[5, "p_1"] = -0.5
    with pytest.raises(InvalidProbabilitiesError, match="'p_1'") as info:
        la.aggregate(csv_path, probs=probs)
    assert "row 5" in str(info.value)
    np.save(tmp_path / "x.npy", np.zeros((3, 3)))
    with pytest.raises(UsageError, match="no item ids") as info:
        la.aggregate(csv_path, probs=tmp_path / "x.npy")
    assert "--input-format" not in str(info.value)


def test_model_probabilities_run_crowdlab(csv_path: Path, crowd) -> None:
    onehot = np.eye(3)[crowd.truth["label"].to_numpy()] * 0.7 + 0.1
    probs = pd.DataFrame({"item": crowd.truth["item"], **{f"p_{k}": onehot[:, k] for k in range(3)}})
    result = la.aggregate(csv_path, probs=probs)
    assert result.method == "crowdlab" and "probabilities" in result.summary["auto_reason"]


def test_bad_parameters_before_reading(tmp_path: Path) -> None:
    missing = tmp_path / "nope.csv"
    for kwargs in ({"smoothing": float("nan")}, {"next_n": -1}, {"method": "mace"}, {"tol": 0.0}):
        with pytest.raises(UsageError):
            la.aggregate(missing, **kwargs)


def test_wide_blank_item_warns(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    path.write_text("item,ann1,ann2\nx,cat,cat\nblank,,\ny,dog,cat\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = la.aggregate(path, wide=True, method="majority")
    messages = [str(w.message) for w in caught if issubclass(w.category, LabelauditWarning)]
    assert any("'blank'" in m for m in messages)
    assert result.items["item"].tolist() == ["x", "y"]
    with pytest.raises(ColumnError, match="--item-col"):
        la.aggregate(path, wide=True, item_col="id")
