"""The recipes of docs/ci.md, the GitHub workflow step and the pre-commit hook, run verbatim through bash.

Each block is taken from the page (``<!-- recipe: NAME -->`` before a bash block, ``# recipe: NAME`` before a
workflow ``run:`` step), so the documentation cannot drift from what works. The commands run in a
directory holding data.csv (the bundled CIFAR-10 slice, fixtures/README.md) and annotations.csv (a seeded
simulated crowd), with this interpreter's ``labelaudit`` first on PATH.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import FIXTURES, REPO

DOC = REPO / "docs" / "ci.md"
FIXTURE = FIXTURES / "cifar10-test-slice.csv"


def recipe(name: str) -> str:
    text = DOC.read_text()
    match = re.search(rf"<!-- recipe: {re.escape(name)} -->\n```bash\n(.*?)```", text, re.S)
    assert match, f"docs/ci.md has no recipe {name}"
    return match.group(1)


def workflow_step(name: str) -> str:
    match = re.search(rf"# recipe: {re.escape(name)}\n\s*- run: (.*)\n", DOC.read_text())
    assert match, f"docs/ci.md has no workflow step {name}"
    return match.group(1)


def bash(script: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = dict(os.environ)
    full["PATH"] = str(Path(sys.executable).parent) + os.pathsep + full.get("PATH", "")
    full.update(env or {})
    return subprocess.run(
        ["bash", "-c", "set -o pipefail\n" + script],
        cwd=cwd,
        env=full,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture()
def workdir(tmp_path: Path) -> Path:
    if shutil.which("bash") is None:
        pytest.skip("no bash")
    shutil.copy(FIXTURE, tmp_path / "data.csv")
    rng = np.random.default_rng(11)
    rows = []
    for item in range(40):
        truth = int(rng.integers(3))
        for worker in range(4):
            label = truth if rng.random() < 0.8 else int(rng.integers(3))
            rows.append((f"i{item}", f"w{worker}", ["cat", "dog", "fox"][label]))
    pd.DataFrame(rows, columns=["item", "annotator", "label"]).to_csv(
        tmp_path / "annotations.csv", index=False
    )
    return tmp_path


def test_stdin_to_issue_rows_as_json_lines(workdir: Path) -> None:
    done = bash(recipe("stdin-issues-jsonl"), workdir)
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in (workdir / "issues.jsonl").read_text().splitlines()]
    assert rows and all(r["is_label_issue"] for r in rows)
    ids = set(pd.read_csv(FIXTURE, dtype={"id": str})["id"])
    assert {r["id"] for r in rows} <= ids


def test_aggregate_then_scan_the_consensus(workdir: Path) -> None:
    done = bash(recipe("aggregate-then-scan"), workdir)
    assert done.returncode == 0, done.stderr
    report = pd.read_csv(workdir / "consensus-issues.csv", dtype={"id": str})
    assert len(report) == 40 and set(report["id"]) == {f"i{k}" for k in range(40)}
    assert set(report["given_label"]) <= {"cat", "dog", "fox"}


def test_ci_gate_with_baseline_and_junit_then_a_new_finding(workdir: Path) -> None:
    assert bash(recipe("make-baseline"), workdir).returncode == 0
    step = workdir / "step.md"
    green = bash(recipe("ci-gate"), workdir, env={"GITHUB_STEP_SUMMARY": str(step)})
    assert green.returncode == 0, green.stderr
    assert green.stdout.startswith("::notice ") and "gate passed" in step.read_text()
    case = ET.parse(workdir / "labelaudit-junit.xml").getroot().find("testsuite/testcase")
    assert case is not None and case.get("name") == "max_issues" and case.find("failure") is None
    assert json.loads((workdir / "labelaudit-summary.json").read_text())["gate"]["passed"]

    # a confidently-classified row relabelled: a new finding, the same step goes red
    frame = pd.read_csv(workdir / "data.csv", dtype={"id": str})
    probs = frame.filter(like="p_")
    row = int(probs.max(axis=1).idxmax())
    top = probs.columns[int(probs.iloc[row].to_numpy().argmax())][2:]
    frame.loc[row, "label"] = "truck" if top != "truck" else "cat"
    frame.to_csv(workdir / "data.csv", index=False)
    red = bash(recipe("ci-gate"), workdir)
    assert red.returncode == 1, red.stderr
    assert red.stdout.startswith("::error ") and "max_issues" in red.stdout
    failure = ET.parse(workdir / "labelaudit-junit.xml").getroot().find("testsuite/testcase/failure")
    assert failure is not None and "label issues > --max-issues 0" in failure.get("message", "")


def test_github_workflow_step_and_pre_commit_hook_run(workdir: Path) -> None:
    assert bash(recipe("make-baseline"), workdir).returncode == 0
    done = bash(workflow_step("github-workflow"), workdir)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("::notice ")
    assert ET.parse(workdir / "labelaudit-junit.xml").getroot().tag == "testsuites"

    hooks = (REPO / ".pre-commit-hooks.yaml").read_text()
    entry = re.search(r"^\s*entry: (.+)$", hooks, re.M)
    assert entry is not None and "id: labelaudit-scan" in hooks
    args = re.search(r"args: \[(.*)\]", DOC.read_text())
    assert args is not None
    argv = [a.strip().strip('"') for a in args.group(1).split(",")]
    hook = bash(entry.group(1) + " " + " ".join(argv), workdir)  # what pre-commit runs
    assert hook.returncode == 0, hook.stderr
    assert hook.stdout == "" and hook.stderr == ""
