"""labelaudit.out_of_fold in-process: the out-of-fold property, folds, the neighbour signal, encodings."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import labelaudit as la
from labelaudit.errors import ColumnError, InputError, UsageError
from labelaudit.oof._features import encode_features, select_columns
from labelaudit.oof._folds import keys_from_ids, stratified_folds


@pytest.fixture(scope="module")
def wine() -> pd.DataFrame:
    from sklearn.datasets import load_wine

    X, y = load_wine(return_X_y=True)
    frame = pd.DataFrame(X, columns=[f"x{j}" for j in range(X.shape[1])])
    frame.insert(0, "id", [f"w{i}" for i in range(len(y))])
    frame["label"] = np.array(["barolo", "grignolino", "barbera"], dtype=object)[y]
    return frame


def test_a_held_out_fold_never_sees_its_rows(wine: pd.DataFrame) -> None:
    base = la.out_of_fold(wine, id_col="id", neighbours=0)
    changed = wine.copy()
    row = 10
    changed.loc[row, [f"x{j}" for j in range(13)]] *= 25.0  # an absurd row: any model that saw it moves
    after = la.out_of_fold(changed, id_col="id", neighbours=0)
    np.testing.assert_array_equal(base.fold, after.fold)  # with ids, folds follow the ids only
    others = (base.fold == base.fold[row]) & (np.arange(len(wine)) != row)
    # the model of row 10's fold never saw row 10: its predictions of the other rows are bit for bit the same
    np.testing.assert_array_equal(base.probabilities[others], after.probabilities[others])
    # the models of the other folds trained on it, and moved
    elsewhere = base.fold != base.fold[row]
    assert not np.array_equal(base.probabilities[elsewhere], after.probabilities[elsewhere])


def test_folds_are_stratified_and_balanced(wine: pd.DataFrame) -> None:
    result = la.out_of_fold(wine, id_col="id", folds=4, neighbours=0)
    sizes = np.bincount(result.fold, minlength=4)
    assert sizes.max() - sizes.min() <= 1
    for k in range(len(result.class_names)):
        per_fold = np.bincount(result.fold[result.labels == k], minlength=4)
        assert per_fold.max() - per_fold.min() <= 1
    assert result.metadata["fold_sizes"] == sizes.tolist()


def test_fold_assignment_follows_keys_not_positions() -> None:
    ids = pd.Series([f"i{j}" for j in range(50)])
    groups = np.arange(50) % 3
    folds = stratified_folds(groups, keys_from_ids(ids, 5), 5)
    perm = np.random.default_rng(0).permutation(50)
    permuted = stratified_folds(groups[perm], keys_from_ids(ids[perm].reset_index(drop=True), 5), 5)
    np.testing.assert_array_equal(folds[perm], permuted)
    other_seed = stratified_folds(groups, keys_from_ids(ids, 6), 5)
    assert not np.array_equal(folds, other_seed)


@pytest.mark.parametrize("model", ["logreg", "mlp"])
def test_row_order_and_repeat_runs_give_identical_probabilities(wine: pd.DataFrame, model: str) -> None:
    first = la.out_of_fold(wine, id_col="id", model=model, device="cpu").to_frame()
    again = la.out_of_fold(wine, id_col="id", model=model, device="cpu").to_frame()
    pd.testing.assert_frame_equal(first, again)
    shuffled = wine.sample(frac=1.0, random_state=3).reset_index(drop=True)
    other = la.out_of_fold(shuffled, id_col="id", model=model, device="cpu").to_frame()
    pd.testing.assert_frame_equal(first, other.set_index("id").loc[first["id"]].reset_index())


def test_neighbour_agreement_equals_brute_force(wine: pd.DataFrame) -> None:
    result = la.out_of_fold(wine, id_col="id", neighbours=7)
    X = wine.filter(like="x").to_numpy()
    Z = (X - X.mean(axis=0)) / X.std(axis=0)
    distances = ((Z[:, None, :] - Z[None, :, :]) ** 2).sum(axis=2)
    np.fill_diagonal(distances, np.inf)
    nearest = np.argsort(distances, axis=1, kind="stable")[:, :7]
    labels = result.labels
    expected = (labels[nearest] == labels[:, None]).mean(axis=1)
    np.testing.assert_allclose(result.neighbour_agreement, expected)


def test_write_formats_carry_the_metadata(wine: pd.DataFrame, tmp_path: Path) -> None:
    result = la.out_of_fold(wine, id_col="id", folds=3, seed=11)
    result.write(str(tmp_path / "p.json"))
    document = json.loads((tmp_path / "p.json").read_text())
    assert document["metadata"]["seed"] == 11 and document["metadata"]["folds"] == 3
    assert document["metadata"]["classes"] == ["barbera", "barolo", "grignolino"]
    assert len(document["rows"]) == len(wine)
    result.write(str(tmp_path / "p.csv"))
    table = pd.read_csv(tmp_path / "p.csv")
    assert list(table.columns) == ["id", "p_barbera", "p_barolo", "p_grignolino", "neighbour_agreement"]
    np.testing.assert_allclose(table.filter(like="p_").to_numpy(), result.probabilities, rtol=1e-6)


def test_multi_label_with_a_tag_on_one_row() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(0, 1, (80, 3))
    tags = [["a"] if x > 0 else [] for x in X[:, 0]]
    tags[5] = [*tags[5], "lonely"]
    frame = pd.DataFrame({"f0": X[:, 0], "f1": X[:, 1], "f2": X[:, 2], "tags": tags})
    with pytest.warns(la.LabelauditWarning, match="'lonely' \\(1\\)"):
        result = la.out_of_fold(frame, label_col="tags", multi_label=True)
    assert result.class_names == ["a", "lonely"]
    assert result.metadata["rare_classes"] == {"lonely": 1}
    assert np.isfinite(result.probabilities).all()
    assert result.probabilities[5, 1] < 0.1  # never seen in training when held out


def test_feature_selection_and_encoding_errors() -> None:
    frame = pd.DataFrame(
        {
            "emb_a": [1.0, 2.0, 3.0],
            "emb_b": [1, 2, 3],
            "flag": [True, False, True],
            "when": pd.to_datetime(["2024-01-01"] * 3),
            "label": [0, 1, 0],
        }
    )
    assert select_columns(frame, "emb_*,flag", exclude=["label"], source="t") == ["emb_a", "emb_b", "flag"]
    with pytest.raises(UsageError, match="label or id"):
        select_columns(frame, "emb_a,label", exclude=["label"], source="t")
    with pytest.raises(ColumnError, match="dates"):
        encode_features(frame, ["when"], source="t")
    encoded = encode_features(frame, ["flag", "emb_b"], source="t")
    np.testing.assert_array_equal(encoded.matrix, [[1, 1], [0, 2], [1, 3]])
    ragged = pd.DataFrame({"e": [[1.0, 2.0], [1.0], [3.0, 4.0]]})
    with pytest.raises(ColumnError, match="row 1: embedding has 1 values, expected 2"):
        encode_features(ragged, ["e"], source="t")
    empty = pd.DataFrame({"x": [np.nan, np.nan]})
    with pytest.raises(ColumnError, match="no values"):
        encode_features(empty, ["x"], source="t")


def test_bad_labels() -> None:
    frame = pd.DataFrame({"x": range(10), "label": [1.0] * 9 + [np.nan]})
    with pytest.raises(ColumnError, match="row 9: label is missing"):
        la.out_of_fold(frame)
    with pytest.raises(InputError, match="single class"):
        la.out_of_fold(frame.iloc[:9])
    duplicated = pd.DataFrame({"id": ["a", "a", "b", "c"], "x": range(4), "label": [0, 1, 0, 1]})
    with pytest.raises(InputError, match="'a' appears more than once"):
        la.out_of_fold(duplicated, id_col="id", folds=2)


def test_scan_with_features_in_process(wine: pd.DataFrame) -> None:
    result = la.scan(wine, features="x*", id_col="id", model="logreg", folds=4, seed=2)
    oof = la.out_of_fold(wine, features="x*", id_col="id", folds=4, seed=2)
    assert result.extra_metadata["out_of_fold"]["folds"] == 4
    assert result.extra_metadata["out_of_fold"]["seed"] == 2
    np.testing.assert_array_equal(result.report["neighbour_agreement"], oof.neighbour_agreement)
    given = oof.probabilities[np.arange(len(wine)), oof.labels]
    np.testing.assert_allclose(result.report["combined_quality"], (given + oof.neighbour_agreement) / 2)
    with pytest.raises(UsageError, match="--probs"):
        la.scan(wine, features="x*", probs=oof.probabilities, classes=oof.class_names)
