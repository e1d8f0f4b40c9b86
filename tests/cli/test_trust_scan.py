"""Regression tests for the scan-pipeline findings of the hostile-user review: each input is the one that
crashed or silently gave a wrong result, run through the real CLI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import assert_one_line_error, run_cli

CLASSES = ["airplane", "automobile", "bird", "cat"]


def _problem(n: int = 400, k: int = 4, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    probs = rng.dirichlet(np.ones(k) * 0.4, n)
    labels = probs.argmax(1)
    flip = rng.random(n) < 0.1
    labels[flip] = rng.integers(0, k, int(flip.sum()))
    return labels, probs


def test_float32_probabilities_just_above_one_are_accepted(tmp_path: Path) -> None:
    # the imdb-test development set: float32 softmax outputs of 1.00001 with rows summing to 1.00002
    labels, probs = _problem(k=2)
    probs = probs.astype(np.float32)
    top = probs.argmax(1)
    probs[np.arange(len(probs)), top] = np.float32(1.00001)
    probs[np.arange(len(probs)), 1 - top] = np.float32(1e-5)
    np.save(tmp_path / "pred_probs.npy", probs)
    pd.DataFrame({"label": labels}).to_csv(tmp_path / "d.csv", index=False)
    for extra in ((), ("--normalize",)):
        result = run_cli("scan", tmp_path / "d.csv", "--probs", tmp_path / "pred_probs.npy", "-q", *extra)
        assert result.returncode == 0, result.stderr
    # a value clearly above 1 is still refused, naming the row and column
    probs[7, 0] = 1.01
    np.save(tmp_path / "bad.npy", probs)
    assert_one_line_error(
        run_cli("scan", tmp_path / "d.csv", "--probs", tmp_path / "bad.npy"), "[7, 0]", "outside [0, 1]"
    )


def test_class_order_of_a_npy_file_is_never_guessed(tmp_path: Path) -> None:
    labels, probs = _problem()
    np.save(tmp_path / "p.npy", probs.astype(np.float32))
    pd.DataFrame({"label": np.array(CLASSES)[labels]}).to_csv(tmp_path / "d.csv", index=False)
    assert_one_line_error(
        run_cli("scan", tmp_path / "d.csv", "--probs", tmp_path / "p.npy"), "--classes", "'label'"
    )
    # numbered columns p_0 .. p_3 with named labels: the same refusal
    frame = pd.DataFrame({"label": np.array(CLASSES)[labels], **{f"p_{k}": probs[:, k] for k in range(4)}})
    frame.to_csv(tmp_path / "numbered.csv", index=False)
    assert_one_line_error(run_cli("scan", tmp_path / "numbered.csv"), "--classes")
    ok = run_cli(
        "scan", tmp_path / "d.csv", "--probs", tmp_path / "p.npy", "--classes", ",".join(CLASSES), "-q"
    )
    assert ok.returncode == 0, ok.stderr


def test_implausible_results_warn(tmp_path: Path) -> None:
    labels, probs = _problem(n=600)
    np.save(tmp_path / "p.npy", probs.astype(np.float32))
    pd.DataFrame({"label": np.array(CLASSES)[labels]}).to_csv(tmp_path / "d.csv", index=False)
    wrong_order = ",".join(reversed(CLASSES))
    result = run_cli(
        "scan", tmp_path / "d.csv", "--probs", tmp_path / "p.npy", "--classes", wrong_order, "--top", "0"
    )
    assert result.returncode == 0, result.stderr
    assert "warning:" in result.stderr and "class order" in result.stderr, result.stderr
    right = run_cli("scan", tmp_path / "d.csv", "--probs", tmp_path / "p.npy", "--classes", ",".join(CLASSES))
    assert "warning:" not in right.stderr, right.stderr


def test_shuffled_probabilities_table_is_refused_or_joined(tmp_path: Path) -> None:
    labels, probs = _problem()
    ids = [f"img-{i:05d}" for i in range(len(labels))]
    pd.DataFrame({"id": ids, "label": np.array(CLASSES)[labels]}).to_csv(tmp_path / "d.csv", index=False)
    table = pd.DataFrame({"id": ids, **{f"p_{c}": probs[:, k] for k, c in enumerate(CLASSES)}})
    table.sample(frac=1.0, random_state=3).to_csv(tmp_path / "p.csv", index=False)
    assert_one_line_error(
        run_cli("scan", tmp_path / "d.csv", "--probs", tmp_path / "p.csv"), "--id-col id", "order"
    )
    joined = run_cli(
        "scan", tmp_path / "d.csv", "--probs", tmp_path / "p.csv", "--id-col", "id", "-o", tmp_path / "r.csv"
    )
    assert joined.returncode == 0, joined.stderr
    report = pd.read_csv(tmp_path / "r.csv", dtype={"id": str})
    assert report["id"].tolist() == ids
    assert report["suggested_label"].tolist() == np.array(CLASSES)[probs.argmax(1)].tolist()


def test_duplicate_id_in_data_cannot_borrow_probabilities(tmp_path: Path) -> None:
    labels, probs = _problem(n=50)
    ids = [str(i) for i in range(50)]
    pd.DataFrame({"id": ids, **{f"p_{c}": probs[:, k] for k, c in enumerate(CLASSES)}}).to_csv(
        tmp_path / "p.csv", index=False
    )
    ids[9] = ids[4]
    pd.DataFrame({"id": ids, "label": np.array(CLASSES)[labels]}).to_csv(tmp_path / "d.csv", index=False)
    result = run_cli("scan", tmp_path / "d.csv", "--probs", tmp_path / "p.csv", "--id-col", "id")
    assert_one_line_error(result, "row 9", "'4'", "row 4")


@pytest.mark.parametrize(
    ("header", "column"), [("label,p_x,p_x", "p_x"), ("label,label,p_x,p_y", "label")], ids=["prob", "label"]
)
def test_duplicate_headers_are_refused(tmp_path: Path, header: str, column: str) -> None:
    cells = header.count(",") + 1
    row = ",".join(["x"] + ["0.5"] * (cells - 1))
    if column == "label":
        row = "x,y,0.5,0.5"
    (tmp_path / "d.csv").write_text(f"{header}\n{row}\n{row}\n")
    for extra in ((), ("--chunk-rows", "1")):
        assert_one_line_error(
            run_cli("scan", tmp_path / "d.csv", *extra), "d.csv", repr(column), "more than once"
        )


def test_ids_and_labels_are_text(tmp_path: Path) -> None:
    labels, probs = _problem(n=30)
    ids = [f"{i:05d}" for i in range(30)]
    ids[1] = "1"  # '1' and '00000'.. must not collide with '00001'
    frame = pd.DataFrame({"id": ids, "label": labels, **{f"p_{k + 1}": probs[:, k] for k in range(4)}})
    frame["label"] = (labels + 1).astype(str)
    frame.to_csv(tmp_path / "d.csv", index=False)
    result = run_cli("scan", tmp_path / "d.csv", "--id-col", "id", "-o", tmp_path / "r.jsonl", "-q")
    assert result.returncode == 0, result.stderr
    report = pd.read_json(tmp_path / "r.jsonl", lines=True, dtype={"id": str, "given_label": str})
    assert report["id"].tolist() == ids
    # a label written "01" is not class "1"
    frame.loc[3, "label"] = "01"
    frame.to_csv(tmp_path / "zero.csv", index=False)
    assert_one_line_error(run_cli("scan", tmp_path / "zero.csv"), "row 3", "'01'")


def test_tied_probabilities_give_the_same_flags_in_any_row_order(tmp_path: Path) -> None:
    # two-decimal probabilities: many exact ties in margins and self-confidences
    rng = np.random.default_rng(1)
    n, k = 6000, 4
    probs = np.round(rng.dirichlet(np.ones(k) * 0.5, n), 2)
    probs[:, 0] += 1 - probs.sum(1)
    probs = np.clip(probs, 0, 1)
    labels = probs.argmax(1)
    flip = rng.random(n) < 0.25
    labels[flip] = rng.integers(0, k, int(flip.sum()))
    frame = pd.DataFrame({"id": [f"r{i}" for i in range(n)], "label": np.array(CLASSES)[labels]})
    for j, c in enumerate(CLASSES):
        frame[f"p_{c}"] = probs[:, j]
    frame.to_csv(tmp_path / "a.csv", index=False)
    frame.sample(frac=1.0, random_state=5).to_csv(tmp_path / "b.csv", index=False)
    flags = {}
    for name in ("a", "b"):
        for method in ("prune_by_noise_rate", "prune_by_class", "both"):
            for extra in ((), ("--chunk-rows", "700")):
                out = tmp_path / f"{name}-{method}-{len(extra)}.csv"
                result = run_cli(
                    "scan", tmp_path / f"{name}.csv", "--id-col", "id", "--method", method, "-o", out, *extra
                )
                assert result.returncode == 0, result.stderr
                report = pd.read_csv(out).set_index("id").sort_index()
                flags[(name, method, len(extra))] = report["is_label_issue"]
    for method in ("prune_by_noise_rate", "prune_by_class", "both"):
        reference = flags[("a", method, 0)]
        assert reference.sum() > 0
        for key, value in flags.items():
            if key[1] == method:
                assert value.equals(reference), key


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--max-issue-rate", "nan"], "--max-issue-rate"),
        (["--min-health", "nan"], "--min-health"),
        (["--max-issue-rate", "-0.1"], "--max-issue-rate"),
        (["--max-issue-rate", "1.5"], "--max-issue-rate"),
        (["--min-health", "2"], "--min-health"),
        (["--max-issues", "-1"], "--max-issues"),
        (["--classes", "a,b"], "--classes"),
        (["--label-sep", "|"], "--label-sep"),
        (["--aggregate", "softmin"], "--pooling"),
        (["--frac-noise", "nan"], "--frac-noise"),
        (["--engine", "warp"], "--engine"),
        (["--scheduler", "tcp://127.0.0.1:1"], "--engine dask"),
    ],
)
def test_options_that_cannot_apply_are_refused(args: list[str], needle: str) -> None:
    from tests.conftest import FIXTURES

    assert_one_line_error(run_cli("scan", FIXTURES / "cifar10-test-slice.csv", *args), needle)


def test_thousands_of_classes_keep_the_report_small(tmp_path: Path) -> None:
    # K=3,000 and N=500 made a 232 MB report that pyarrow could not open ("Exceeded size limit")
    import json

    import pyarrow.parquet as pq

    rng = np.random.default_rng(0)
    n, k = 500, 3000
    probs = rng.dirichlet(np.ones(k) * 0.05, n).astype(np.float32)
    frame = pd.DataFrame(probs, columns=[f"p_c{j}" for j in range(k)])
    frame.insert(0, "label", [f"c{j}" for j in probs.argmax(1)])
    frame.to_parquet(tmp_path / "wide.parquet")
    out, summary = tmp_path / "r.parquet", tmp_path / "s.json"
    result = run_cli("scan", tmp_path / "wide.parquet", "-o", out, "--summary", summary, "-q")
    assert result.returncode == 0, result.stderr
    assert out.stat().st_size < 2_000_000
    assert pq.read_table(out).num_rows == n
    document = json.loads(summary.read_text())
    joint = document["confident_joint"]
    assert joint["shape"] == [k, k] and sum(joint["count"]) >= n
    assert len(document["per_class"]) == k


def test_multi_label_results_do_not_depend_on_row_order() -> None:
    # N > 32,768: calibration once read a subsample by position, so shuffling changed every label_quality
    from labelaudit.core.multilabel import audit_multilabel

    rng = np.random.default_rng(0)
    n, k = 40_000, 6
    truth = rng.random((n, k)) < 0.3
    probs = 1 / (1 + np.exp(-(np.where(truth, 1.5, -1.5) + rng.normal(0, 1.2, (n, k)))))
    tags = truth.copy()
    flip = rng.random((n, k)) < 0.04
    tags[flip] = ~tags[flip]
    first = audit_multilabel(tags.astype(np.int8), probs)
    perm = rng.permutation(n)
    second = audit_multilabel(tags[perm].astype(np.int8), probs[perm])
    np.testing.assert_array_equal(first.quality[perm], second.quality)
    np.testing.assert_array_equal(first.is_issue[perm], second.is_issue)


def test_thresholds_do_not_depend_on_row_order() -> None:
    # float64 sums in row order differed in the last bit for a reversed file, and so did label_quality
    from labelaudit.core.kernels import self_confidence_sums

    rng = np.random.default_rng(3)
    probs = rng.dirichlet(np.ones(5), 20_000)
    labels = rng.integers(0, 5, 20_000)
    sums, counts = self_confidence_sums(labels, probs)
    for seed in range(3):
        perm = np.random.default_rng(seed).permutation(len(labels))
        shuffled, shuffled_counts = self_confidence_sums(labels[perm], probs[perm])
        assert shuffled.tobytes() == sums.tobytes()
        np.testing.assert_array_equal(shuffled_counts, counts)
    exact = np.array([np.sum(probs[labels == c, c], dtype=np.longdouble) for c in range(5)], dtype=np.float64)
    np.testing.assert_allclose(sums, exact, rtol=1e-15)
