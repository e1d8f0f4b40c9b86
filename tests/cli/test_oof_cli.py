"""`labelaudit oof` run as a user runs it, then `labelaudit scan --probs` on its output.

Data: scikit-learn's bundled digits and wine (BSD-3-Clause, copies of the UCI sets) with 10 % of the
labels flipped at random (seeded), and small synthetic tables written by the tests themselves.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from labelaudit.io.writers import read_parquet_metadata
from tests.conftest import assert_one_line_error, run_cli


def _flipped(X: np.ndarray, y: np.ndarray, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """A table (id, features, label) with 10 % of the labels moved to another class, and the flipped mask."""
    rng = np.random.default_rng(seed)
    k = int(y.max()) + 1
    flip = rng.permutation(len(y))[: len(y) // 10]
    noisy = y.copy()
    noisy[flip] = (y[flip] + rng.integers(1, k, len(flip))) % k
    frame = pd.DataFrame(X, columns=[f"x{j}" for j in range(X.shape[1])])
    frame.insert(0, "id", [f"r{i}" for i in range(len(y))])
    frame["label"] = noisy
    return frame, noisy != y


@pytest.fixture(scope="module")
def digits(tmp_path_factory) -> tuple[Path, np.ndarray]:
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    frame, wrong = _flipped(X, y)
    path = tmp_path_factory.mktemp("digits") / "digits.csv"
    frame.to_csv(path, index=False)
    return path, wrong


@pytest.fixture(scope="module")
def wine(tmp_path_factory) -> tuple[Path, np.ndarray]:
    from sklearn.datasets import load_wine

    X, y = load_wine(return_X_y=True)
    frame, wrong = _flipped(X, y)
    path = tmp_path_factory.mktemp("wine") / "wine.parquet"
    frame.to_parquet(path, index=False)
    return path, wrong


def _f1(flagged: np.ndarray, wrong: np.ndarray) -> float:
    tp = int((flagged & wrong).sum())
    precision = tp / max(int(flagged.sum()), 1)
    recall = tp / max(int(wrong.sum()), 1)
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def _oof_then_scan(data: Path, tmp_path: Path, *oof_args: str) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    probs = tmp_path / "probs.parquet"
    result = run_cli("oof", data, "--id-col", "id", "-o", probs, *oof_args)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert "fold 1/" not in result.stderr  # progress only on a terminal
    report = tmp_path / "report.parquet"
    scanned = run_cli("scan", data, "--probs", probs, "--id-col", "id", "-o", report, "--quiet")
    assert scanned.returncode == 0, scanned.stderr
    return pd.read_parquet(probs), pd.read_parquet(report), read_parquet_metadata(str(probs))


@pytest.mark.parametrize("model", ["logreg", "mlp"])
def test_digits_flipped_labels_found(digits, tmp_path: Path, model: str) -> None:
    data, wrong = digits
    probs, report, meta = _oof_then_scan(data, tmp_path, "--model", model, "--seed", "3")
    assert list(probs.columns) == ["id", *[f"p_{k}" for k in range(10)], "neighbour_agreement"]
    assert probs["id"].tolist() == [f"r{i}" for i in range(len(wrong))]
    matrix = probs.filter(like="p_").to_numpy()
    np.testing.assert_allclose(matrix.sum(axis=1), 1.0, atol=1e-5)
    assert meta["schema"] == "labelaudit.oof/1"
    assert (meta["model"], meta["folds"], meta["seed"]) == (model, 5, 3)
    assert meta["fold_sizes"] == [360, 360, 359, 359, 359]
    f1 = _f1(report["is_label_issue"].to_numpy(), wrong)
    assert f1 >= 0.8, f1


@pytest.mark.parametrize("model", ["hgb", "knn"])
def test_other_models_on_wine(wine, tmp_path: Path, model: str) -> None:
    data, wrong = wine
    probs, report, meta = _oof_then_scan(data, tmp_path, "--model", model, "--folds", "3")
    assert meta["model"] == model and meta["folds"] == 3
    assert [c for c in probs.columns if c.startswith("p_")] == ["p_0", "p_1", "p_2"]
    # the model learned something: flipped rows rank as more suspicious than the rest
    quality = report["label_quality"].to_numpy()
    assert quality[wrong].mean() < quality[~wrong].mean()
    assert probs["neighbour_agreement"].min() >= 0.0 and probs["neighbour_agreement"].max() <= 1.0


def test_row_order_does_not_change_the_output(wine, tmp_path: Path) -> None:
    data, _ = wine
    frame = pd.read_parquet(data)
    shuffled = tmp_path / "shuffled.parquet"
    frame.sample(frac=1.0, random_state=7).to_parquet(shuffled, index=False)
    for name, source in (("a", data), ("b", shuffled)):
        # no --id-col: folds come from the rows' content
        assert run_cli("oof", source, "--features", "x*", "-o", tmp_path / f"{name}.csv").returncode == 0
    a = pd.read_csv(tmp_path / "a.csv")
    b = pd.read_csv(tmp_path / "b.csv")
    b.index = frame.sample(frac=1.0, random_state=7).index
    pd.testing.assert_frame_equal(a, b.sort_index())


def test_embedding_list_column_equals_its_columns(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 3, (3, 8))
    y = rng.integers(0, 3, 150)
    emb = centres[y] + rng.normal(0, 1, (150, 8))
    wide = pd.DataFrame(emb, columns=[f"e{j}" for j in range(8)])
    wide["label"] = np.array(["ant", "bee", "cat"])[y]
    listed = pd.DataFrame({"emb": list(emb), "label": wide["label"]})
    listed.to_parquet(tmp_path / "listed.parquet", index=False)
    wide.to_parquet(tmp_path / "wide.parquet", index=False)
    as_text = pd.DataFrame({"emb": [json.dumps(v.tolist()) for v in emb], "label": wide["label"]})
    as_text.to_csv(tmp_path / "text.csv", index=False)
    outputs = {}
    for name in ("listed.parquet", "wide.parquet", "text.csv"):
        out = tmp_path / f"{name}.out.parquet"
        result = run_cli("oof", tmp_path / name, "--model", "knn", "-o", out)
        assert result.returncode == 0, result.stderr
        outputs[name] = pd.read_parquet(out)
    pd.testing.assert_frame_equal(outputs["listed.parquet"], outputs["wide.parquet"])
    pd.testing.assert_frame_equal(outputs["listed.parquet"], outputs["text.csv"])
    meta = read_parquet_metadata(str(tmp_path / "listed.parquet.out.parquet"))
    assert meta["encoding"] == {"emb": "embedding(8)"}
    predicted = outputs["listed.parquet"][["p_ant", "p_bee", "p_cat"]].to_numpy().argmax(axis=1)
    assert (predicted == y).mean() > 0.9

    mlp = tmp_path / "mlp.parquet"
    result = run_cli(
        "oof", tmp_path / "listed.parquet", "--model", "mlp", "--device", "cpu", "--folds", "3", "-o", mlp
    )
    assert result.returncode == 0, result.stderr
    assert (pd.read_parquet(mlp)[["p_ant", "p_bee", "p_cat"]].to_numpy().argmax(axis=1) == y).mean() > 0.9


def test_categorical_and_missing_features(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    n = 200
    colour = rng.choice(["red", "green", "blue"], n)
    size = rng.normal(0, 1, n)
    label = np.where(colour == "red", "hot", np.where(size > 0, "big", "small"))
    frame = pd.DataFrame({"colour": colour, "size": size, "label": label})
    frame.loc[::17, "size"] = np.nan
    frame.loc[5::23, "colour"] = None
    frame.to_csv(tmp_path / "cat.csv", index=False)
    for encoding, expected in (("onehot", "onehot(3)"), ("ordinal", "ordinal(3)")):
        out = tmp_path / f"{encoding}.parquet"
        result = run_cli("oof", tmp_path / "cat.csv", "--categorical", encoding, "-o", out)
        assert result.returncode == 0, result.stderr
        meta = read_parquet_metadata(str(out))
        assert meta["encoding"] == {"colour": expected, "size": "numeric"}
        probs = pd.read_parquet(out)
        assert np.isfinite(probs.to_numpy()).all()
    onehot = pd.read_parquet(tmp_path / "onehot.parquet")
    red = (colour == "red") & frame["colour"].notna().to_numpy()
    assert (onehot["p_hot"].to_numpy()[red] > 0.5).mean() > 0.9


def test_rare_classes_are_reported_not_fatal(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    n = 120
    label = np.array(["a", "b"], dtype=object)[rng.integers(0, 2, n)]
    label[:2] = "rare"
    label[2] = "single"
    frame = pd.DataFrame({"x": rng.normal(0, 1, n), "y": rng.normal(0, 1, n), "label": label})
    frame.to_csv(tmp_path / "rare.csv", index=False)
    out = tmp_path / "probs.parquet"
    result = run_cli("oof", tmp_path / "rare.csv", "-o", out)
    assert result.returncode == 0, result.stderr
    assert "warning" in result.stderr and "'rare' (2)" in result.stderr and "'single' (1)" in result.stderr
    meta = read_parquet_metadata(str(out))
    assert meta["rare_classes"] == {"rare": 2, "single": 1}
    probs = pd.read_parquet(out)
    assert list(probs.columns) == ["p_a", "p_b", "p_rare", "p_single", "neighbour_agreement"]
    assert probs.loc[2, "p_single"] == 0.0  # held out, its class was never seen in training
    scanned = run_cli("scan", tmp_path / "rare.csv", "--probs", out, "--quiet")
    assert scanned.returncode == 0, scanned.stderr


def test_multi_label_one_probability_per_tag(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    n = 240
    X = rng.normal(0, 1, (n, 4))
    tags = [",".join(t for t, on in zip("abc", row, strict=True) if on) for row in (X[:, :3] > 0.3)]
    frame = pd.DataFrame(X, columns=["f0", "f1", "f2", "f3"])
    frame["tags"] = tags
    frame.to_csv(tmp_path / "ml.csv", index=False)
    for model in ("logreg", "mlp"):
        out = tmp_path / f"{model}.csv"
        result = run_cli(
            "oof",
            tmp_path / "ml.csv",
            "--multi-label",
            "--label-col",
            "tags",
            "--model",
            model,
            "--folds",
            "3",
            "-o",
            out,
        )
        assert result.returncode == 0, result.stderr
        probs = pd.read_csv(out)
        assert list(probs.columns) == ["p_a", "p_b", "p_c", "neighbour_agreement"]
        given = X[:, :3] > 0.3
        assert ((probs[["p_a", "p_b", "p_c"]].to_numpy() > 0.5) == given).mean() > 0.85
        scanned = run_cli(
            "scan", tmp_path / "ml.csv", "--multi-label", "--label-col", "tags", "--probs", out, "--quiet"
        )
        assert scanned.returncode == 0, scanned.stderr


def test_no_network_needed(wine, tmp_path: Path) -> None:
    blocker = tmp_path / "offline"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(
        "import socket\n"
        "def _refuse(*args, **kwargs):\n"
        "    raise OSError('network access attempted')\n"
        "socket.socket.connect = _refuse\n"
        "socket.create_connection = _refuse\n"
        "socket.getaddrinfo = _refuse\n"
    )
    data, _ = wine
    result = run_cli(
        "oof",
        data,
        "--model",
        "mlp",
        "--folds",
        "2",
        "--id-col",
        "id",
        "-o",
        tmp_path / "p.parquet",
        env={"PYTHONPATH": str(blocker)},
    )
    assert result.returncode == 0, result.stderr


# --- bad input: one line on stderr, exit 2, nothing written ---------------------------------------------


def _write(tmp_path: Path, frame: pd.DataFrame, name: str = "bad.csv") -> Path:
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


def test_no_feature_columns(tmp_path: Path) -> None:
    path = _write(tmp_path, pd.DataFrame({"id": ["a", "b", "c", "d"], "label": [0, 1, 0, 1]}))
    out = tmp_path / "p.parquet"
    assert_one_line_error(run_cli("oof", path, "--id-col", "id", "-o", out), str(path), "no feature columns")
    assert not out.exists()


def test_text_feature_without_encoding(tmp_path: Path) -> None:
    frame = pd.DataFrame({"colour": ["red", "blue"] * 10, "x": range(20), "label": [0, 1] * 10})
    path = _write(tmp_path, frame)
    result = run_cli("oof", path, "--categorical", "none", "-o", tmp_path / "p.parquet")
    assert_one_line_error(result, str(path), "'colour'", "not numeric")


def test_stray_word_in_a_number_column(tmp_path: Path) -> None:
    values = [str(v) for v in range(30)]
    values[17] = "n/a?"
    path = _write(tmp_path, pd.DataFrame({"x": values, "label": [0, 1, 2] * 10}))
    assert_one_line_error(run_cli("oof", path, "-o", tmp_path / "p.csv"), "'x'", "row 17", "not a number")


def test_free_text_column(tmp_path: Path) -> None:
    frame = pd.DataFrame({"note": [f"note {i}" for i in range(60)], "x": range(60), "label": [0, 1] * 30})
    path = _write(tmp_path, frame)
    assert_one_line_error(run_cli("oof", path, "-o", tmp_path / "p.csv"), "'note'", "free text")


def test_single_class(tmp_path: Path) -> None:
    path = _write(tmp_path, pd.DataFrame({"x": range(10), "label": ["cat"] * 10}))
    assert_one_line_error(run_cli("oof", path, "-o", tmp_path / "p.csv"), str(path), "single class")


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--model", "forest"), "--model"),
        (("--folds", "1"), "--folds"),
        (("--folds", "50"), "--folds"),
        (("--device", "cuda"), "--device cuda"),
        (("--label-col", "nope"), "'nope'"),
        (("--features", "x,zz"), "'zz'"),
        (("--categorical", "hash"), "--categorical"),
    ],
)
def test_bad_options(tmp_path: Path, args: tuple[str, ...], needle: str) -> None:
    path = _write(tmp_path, pd.DataFrame({"x": range(20), "label": [0, 1] * 10}))
    assert_one_line_error(run_cli("oof", path, "-o", tmp_path / "p.csv", *args), needle)


def test_mlp_without_torch(tmp_path: Path) -> None:
    shadow = tmp_path / "shadow" / "torch"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('No module named torch')\n")
    path = _write(tmp_path, pd.DataFrame({"x": range(20), "label": [0, 1] * 10}))
    result = run_cli(
        "oof", path, "--model", "mlp", "-o", tmp_path / "p.csv", env={"PYTHONPATH": str(shadow.parent)}
    )
    assert_one_line_error(result, "PyTorch", "labelaudit[torch]")
    # the other models never import torch
    ok = run_cli("oof", path, "-o", tmp_path / "p.csv", env={"PYTHONPATH": str(shadow.parent)})
    assert ok.returncode == 0, ok.stderr


def test_progress_per_fold_on_a_terminal(wine, tmp_path: Path) -> None:
    import os
    import pty
    import subprocess
    import sys

    data, _ = wine
    primary, secondary = pty.openpty()
    try:
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "labelaudit",
                "oof",
                str(data),
                "--folds",
                "3",
                "--id-col",
                "id",
                "-o",
                str(tmp_path / "p.csv"),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=secondary,
            timeout=300,
        )
        os.close(secondary)
        chunks = []
        while True:
            try:
                chunk = os.read(primary, 4096)
            except OSError:  # the terminal closed
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(primary)
    terminal = b"".join(chunks).decode()
    assert proc.returncode == 0, terminal
    assert proc.stdout == b""
    for fold in (1, 2, 3):
        assert f"fold {fold}/3 fitted" in terminal


# --- scan --features: probabilities computed on the fly ---------------------------------------------------


def test_scan_features_equals_oof_then_scan(digits, tmp_path: Path) -> None:
    data, wrong = digits
    _, piped, _ = _oof_then_scan(data, tmp_path, "--features", "x*")
    report_path = tmp_path / "direct.parquet"
    result = run_cli("scan", data, "--features", "x*", "--id-col", "id", "-o", report_path, "--quiet")
    assert result.returncode == 0, result.stderr
    direct = pd.read_parquet(report_path)
    shared = list(piped.columns)
    pd.testing.assert_frame_equal(direct[shared], piped)
    assert _f1(direct["is_label_issue"].to_numpy(), wrong) >= 0.8
    meta = read_parquet_metadata(str(report_path))
    assert meta["out_of_fold"]["model"] == "logreg"
    assert meta["out_of_fold"]["folds"] == 5
    assert meta["out_of_fold"]["seed"] == 0
    # the neighbour signal and its mean with the self-confidence, beside the confident-learning columns
    agreement = direct["neighbour_agreement"].to_numpy()
    assert ((agreement >= 0) & (agreement <= 1)).all()
    combined = direct["combined_quality"].to_numpy()
    assert ((combined >= 0) & (combined <= 1)).all()
    from sklearn.metrics import average_precision_score

    assert average_precision_score(wrong, -combined) > average_precision_score(
        wrong, -direct["label_quality"].to_numpy()
    )


def test_scan_features_multi_label_and_conflicts(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    X = rng.normal(0, 1, (150, 3))
    frame = pd.DataFrame(X, columns=["f0", "f1", "f2"])
    frame["tags"] = [",".join(t for t, on in zip("ab", row, strict=True) if on) for row in (X[:, :2] > 0)]
    frame.to_csv(tmp_path / "ml.csv", index=False)
    out = tmp_path / "report.json"
    result = run_cli(
        "scan", tmp_path / "ml.csv", "--multi-label", "--label-col", "tags", "--features", "f*", "-o", out
    )
    assert result.returncode == 0, result.stderr
    document = json.loads(out.read_text())
    assert document["metadata"]["out_of_fold"]["model"] == "logreg"
    assert len(document["rows"]) == 150 and "neighbour_agreement" in document["rows"][0]
    probs = tmp_path / "p.csv"
    probs.write_text("p_a,p_b\n" + "0.5,0.5\n" * 150)
    clash = run_cli("scan", tmp_path / "ml.csv", "--features", "f*", "--probs", probs, "--label-col", "tags")
    assert_one_line_error(clash, "--features", "--probs")
