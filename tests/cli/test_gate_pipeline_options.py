"""Options for shell pipelines and users with raw model outputs: --logits, through the CLI on real files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import FIXTURES, assert_one_line_error, run_cli

FIXTURE = FIXTURES / "cifar10-test-slice.csv"


@pytest.fixture(scope="module")
def logit_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """The fixture's probabilities as logits (log p plus a per-row offset: softmax gives p back)."""
    root = tmp_path_factory.mktemp("logits")
    frame = pd.read_csv(FIXTURE, dtype={"id": str})
    cols = [c for c in frame.columns if c.startswith("p_")]
    probs = frame[cols].to_numpy(dtype=np.float64)
    offset = np.random.default_rng(5).normal(0, 3, size=(len(frame), 1))
    logits = np.log(np.clip(probs, 1e-12, None)) + offset
    as_logits = frame.copy()
    as_logits[cols] = logits
    csv = root / "logits.csv"
    as_logits.to_csv(csv, index=False)
    npy = root / "logits.npy"
    np.save(npy, logits)
    labels = root / "labels.csv"
    frame[["id", "label"]].to_csv(labels, index=False)
    return csv, npy, labels


def test_softmax_logits_give_the_report_of_the_probabilities(tmp_path: Path, logit_files) -> None:
    csv, npy, labels = logit_files
    reference, from_logits, from_npy = tmp_path / "p.csv", tmp_path / "l.csv", tmp_path / "n.csv"
    assert run_cli("scan", FIXTURE, "-q", "-o", reference).returncode == 0
    result = run_cli("scan", csv, "-q", "--logits", "softmax", "-o", from_logits)
    assert result.returncode == 0, result.stderr
    classes = "airplane,automobile,bird,cat,deer,dog,frog,horse,ship,truck"
    result = run_cli(
        "scan", labels, "-q", "--logits", "softmax", "--probs", npy, "--classes", classes, "-o", from_npy
    )
    assert result.returncode == 0, result.stderr
    want = pd.read_csv(reference)
    for path in (from_logits, from_npy):
        got = pd.read_csv(path)
        assert got["is_label_issue"].tolist() == want["is_label_issue"].tolist()
        np.testing.assert_allclose(
            got["label_quality"], want["label_quality"], atol=1e-5
        )  # zero probabilities became logits of 1e-12
    # without --logits the same file is refused: logits are not probabilities
    assert run_cli("scan", csv, "-q").returncode == 2


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--logits", "tanh"], "--logits must be one of softmax, sigmoid"),
        (["--logits", "sigmoid"], "--logits sigmoid is for --multi-label"),
        (["--logits", "softmax", "--engine", "stream"], "--logits needs --engine memory"),
    ],
)
def test_bad_logits_options_exit_2(logit_files, args: list[str], needle: str) -> None:
    assert_one_line_error(run_cli("scan", logit_files[0], "-q", *args), needle)
