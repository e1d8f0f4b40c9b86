"""The gate as CI runs it: subprocesses on the bundled CIFAR-10 slice, exit codes, tables, files read back.

The fixture (fixtures/cifar10-test-slice.csv, see fixtures/README.md) has 2,000 rows; the default method
flags a few percent of them, so ``--max-issues 0`` fails and a large limit passes.
"""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd
import pytest

from labelaudit.io.writers import read_parquet_metadata
from tests.conftest import FIXTURES, assert_one_line_error, run_cli

FIXTURE = FIXTURES / "cifar10-test-slice.csv"


@pytest.fixture(scope="module")
def flagged(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    out = tmp_path_factory.mktemp("gate") / "r.parquet"
    assert run_cli("scan", FIXTURE, "-q", "-o", out).returncode == 0
    report = pd.read_parquet(out)
    assert report["is_label_issue"].sum() > 5
    return report


def test_passing_gate_prints_its_table_and_records_the_block(tmp_path: Path, flagged: pd.DataFrame) -> None:
    n = int(flagged["is_label_issue"].sum())
    summary, report = tmp_path / "s.json", tmp_path / "r.parquet"
    result = run_cli(
        "scan", FIXTURE, "--top", "0", "--max-issues", n, "--max-issue-rate", "0.5", "--min-health", "0.5",
        "--max-class-noise", "cat=0.9,dog=0.9", "--summary", summary, "-o", report,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert "Gate passed" in result.stderr
    for name in (
        "max_issues",
        "max_issue_rate",
        "min_health",
        "max_class_noise[cat]",
        "max_class_noise[dog]",
    ):
        assert name in result.stderr
    assert result.stderr.count("PASS") == 5 and "FAIL" not in result.stderr
    gate = json.loads(summary.read_text())["gate"]
    assert gate["passed"] and gate["failures"] == []
    checks = {(c["name"], c.get("class")): c for c in gate["checks"]}
    assert checks[("max_issues", None)]["value"] == n and checks[("max_issues", None)]["limit"] == n
    noise = {c["class"]: c["label_noise"] for c in json.loads(summary.read_text())["per_class"]}
    assert checks[("max_class_noise", "cat")]["value"] == pytest.approx(noise["cat"])
    assert read_parquet_metadata(str(report))["gate"] == gate


def test_failing_gate_exits_1_after_writing_and_exit_zero_exits_0(
    tmp_path: Path, flagged: pd.DataFrame
) -> None:
    n = int(flagged["is_label_issue"].sum())
    summary = tmp_path / "s.json"
    result = run_cli("scan", FIXTURE, "--top", "0", "--max-issues", n - 1, "--summary", summary)
    assert result.returncode == 1, result.stderr
    assert "Gate failed" in result.stderr and "FAIL" in result.stderr
    assert f"gate failed: {n} label issues > --max-issues {n - 1}" in result.stderr
    gate = json.loads(summary.read_text())["gate"]
    assert not gate["passed"] and not gate["exit_zero"]
    assert gate["failures"] == [f"{n} label issues > --max-issues {n - 1}"]

    result = run_cli(
        "scan", FIXTURE, "--top", "0", "--max-issues", n - 1, "--exit-zero", "--summary", summary
    )
    assert result.returncode == 0, result.stderr
    assert "FAIL" in result.stderr and "--exit-zero" in result.stderr
    gate = json.loads(summary.read_text())["gate"]
    assert not gate["passed"] and gate["exit_zero"]


def test_class_noise_check_fails_for_the_noisiest_class(tmp_path: Path) -> None:
    summary = tmp_path / "s.json"
    result = run_cli("scan", FIXTURE, "-q", "--max-class-noise", "cat=0", "--summary", summary)
    assert result.returncode == 1
    assert "label noise of cat" in result.stderr and "--max-class-noise cat=0" in result.stderr


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--max-class-noise", "cat"], "CLASS=SHARE"),
        (["--max-class-noise", "cat=lots"], "not a number"),
        (["--max-class-noise", "cat=1.5"], "in [0, 1]"),
        (["--max-class-noise", "zebra=0.1"], "no class 'zebra'"),
        (["--max-issue-rate", "2"], "--max-issue-rate"),
        (["--baseline", "missing.parquet"], "baseline file not found"),
    ],
)
def test_bad_gate_options_are_one_line_exit_2(tmp_path: Path, args: list[str], needle: str) -> None:
    result = run_cli("scan", FIXTURE, "-q", *args, cwd=tmp_path)
    assert_one_line_error(result, needle)
    assert needle in result.stderr


def test_baseline_turns_the_gate_green_and_a_new_finding_red(tmp_path: Path, flagged: pd.DataFrame) -> None:
    report, base = tmp_path / "r.parquet", tmp_path / ".labelaudit-baseline.parquet"
    assert run_cli("scan", FIXTURE, "-q", "--id-col", "id", "-o", report, "--max-issues", "0").returncode == 1
    made = run_cli("baseline", report, "-o", base)
    assert made.returncode == 0, made.stderr
    assert "keyed by ids" in made.stderr
    recorded = pd.read_parquet(base)
    assert set(recorded["key_type"]) == {"id"}
    assert sorted(recorded["key"]) == sorted(
        flagged.loc[flagged["is_label_issue"], "row"].map(_id_of).tolist()
    )

    again = tmp_path / "r2.parquet"
    green = run_cli("scan", FIXTURE, "--top", "0", "--id-col", "id", "--max-issues", "0", "--baseline", base,
                    "-o", again)  # fmt: skip
    assert green.returncode == 0, green.stderr
    assert (
        "Gate passed" in green.stderr and f"{len(recorded)} of {len(recorded)} entries match" in green.stderr
    )
    out = pd.read_parquet(again)
    assert out["in_baseline"].tolist() == out["is_label_issue"].tolist()
    gate = read_parquet_metadata(str(again))["gate"]
    assert gate["counted_issues"] == 0 and gate["baseline_matches"] == len(recorded)

    # a new wrong label: the label of a confidently-classified row changed to another class
    frame = pd.read_csv(FIXTURE)
    probs = frame.filter(like="p_")
    row = int((probs.max(axis=1)).idxmax())
    top_class = probs.columns[probs.iloc[row].to_numpy().argmax()][2:]
    frame.loc[row, "label"] = "truck" if top_class != "truck" else "cat"
    # one fixed label: a baseline entry that no longer matches a finding
    fixed = flagged.loc[flagged["is_label_issue"], "row"].iloc[0]
    frame.loc[fixed, "label"] = frame.loc[fixed, probs.columns].astype(float).idxmax()[2:]
    changed = tmp_path / "changed.csv"
    frame.to_csv(changed, index=False)
    red = run_cli("scan", changed, "--top", "0", "--id-col", "id", "--max-issues", "0", "--baseline", base,
                  "--summary", tmp_path / "s.json")  # fmt: skip
    assert red.returncode == 1, red.stderr
    assert "gate failed:" in red.stderr
    block = json.loads((tmp_path / "s.json").read_text())["gate"]
    assert block["counted_issues"] >= 1
    assert (
        block["baseline"]["unmatched"] >= 1
        and str(frame.loc[fixed, "id"]) in block["baseline"]["unmatched_examples"]
    )
    assert "match no finding" in red.stderr


def _id_of(row: int) -> str:
    return str(pd.read_csv(FIXTURE, usecols=["id"], dtype=str)["id"].iloc[row])


def test_baseline_of_ids_used_without_id_col_is_an_error(tmp_path: Path) -> None:
    report, base = tmp_path / "r.parquet", tmp_path / "b.parquet"
    assert run_cli("scan", FIXTURE, "-q", "--id-col", "id", "-o", report).returncode == 0
    assert run_cli("baseline", report, "-o", base, "-q").returncode == 0
    result = run_cli("scan", FIXTURE, "-q", "--max-issues", "0", "--baseline", base)
    assert_one_line_error(result, "baseline keys are ids")


def test_content_hash_baseline_survives_reordered_rows(tmp_path: Path) -> None:
    report, base = tmp_path / "r.csv", tmp_path / "b.csv"
    assert run_cli("scan", FIXTURE, "-q", "-o", report).returncode == 0
    made = run_cli("baseline", report, "-o", base)
    assert made.returncode == 0 and "keyed by content hashes" in made.stderr
    assert pd.read_csv(base)["key"].str.startswith("h:").all()
    shuffled = tmp_path / "shuffled.csv"
    pd.read_csv(FIXTURE).sample(frac=1.0, random_state=3).to_csv(shuffled, index=False)
    result = run_cli("scan", shuffled, "-q", "--max-issues", "0", "--baseline", base)
    assert result.returncode == 0, result.stderr


def test_junit_xml_parses_one_case_per_check(tmp_path: Path, flagged: pd.DataFrame) -> None:
    junit = tmp_path / "gate.xml"
    n = int(flagged["is_label_issue"].sum())
    result = run_cli("scan", FIXTURE, "-q", "--max-issues", n - 1, "--min-health", "0.5", "--junit", junit)
    assert result.returncode == 1
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None and suite.get("tests") == "2" and suite.get("failures") == "1"
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    assert set(cases) == {"max_issues", "min_health"}
    failure = cases["max_issues"].find("failure")
    assert failure is not None and f"{n} label issues > --max-issues {n - 1}" in failure.get("message", "")
    assert cases["min_health"].find("failure") is None


def test_github_annotations_and_step_summary(tmp_path: Path, flagged: pd.DataFrame) -> None:
    step = tmp_path / "step.md"
    step.write_text("earlier step\n")
    n = int(flagged["is_label_issue"].sum())
    env = {"GITHUB_STEP_SUMMARY": str(step)}
    failing = run_cli("scan", FIXTURE, "-q", "--max-issues", n - 1, "--min-health", "0.5", "--format", "github",
                      env=env)  # fmt: skip
    assert failing.returncode == 1
    lines = failing.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("::error file=")
    assert "title=labelaudit gate%3A max_issues::" in lines[0]
    assert lines[0].endswith(f"{n} label issues > --max-issues {n - 1}")
    text = step.read_text()
    assert text.startswith("earlier step\n") and "gate failed" in text
    assert "| max_issues | " in text and "**FAIL**" in text and "| min_health |" in text

    passing = run_cli("scan", FIXTURE, "-q", "--max-issues", n, "--format", "github", env=env)
    assert passing.returncode == 0
    assert passing.stdout.startswith("::notice ") and "gate passed" in passing.stdout
    assert step.read_text().count("### ") == 2


def test_exit_codes_are_in_help() -> None:
    for command in ("scan", "aggregate"):
        result = run_cli(command, "-h")
        assert result.returncode == 0
        assert "0 passed, 1 gate failed, 2 usage" in " ".join(result.stdout.split())


def test_environment_does_not_leak_github_summary(tmp_path: Path) -> None:
    # without --format github nothing is appended, even in a workflow
    step = tmp_path / "step.md"
    result = run_cli("scan", FIXTURE, "-q", "--max-issues", "0", env={"GITHUB_STEP_SUMMARY": str(step)})
    assert result.returncode == 1 and not step.exists() and result.stdout == ""
    assert os.environ.get("GITHUB_STEP_SUMMARY") != str(step)


def test_keep_cols_carry_input_columns_and_key_the_baseline(tmp_path: Path) -> None:
    report, base = tmp_path / "r.csv", tmp_path / "b.csv"
    result = run_cli("scan", FIXTURE, "-q", "--keep-cols", "id", "-o", report)
    assert result.returncode == 0, result.stderr
    frame = pd.read_csv(report, dtype={"id": str})
    assert list(frame.columns)[-1] == "id"
    assert frame["id"].tolist() == pd.read_csv(FIXTURE, dtype={"id": str})["id"].tolist()
    assert run_cli("baseline", report, "-o", base, "-q").returncode == 0
    assert set(pd.read_csv(base)["key_type"]) == {"id"}  # a kept id column is the key
    assert_one_line_error(run_cli("scan", FIXTURE, "-q", "--keep-cols", "nope"), "--keep-cols", "nope")
    assert_one_line_error(run_cli("scan", FIXTURE, "-q", "--keep-cols", "row"), "already a report column")


def test_a_csv_of_accepted_ids_is_a_baseline(tmp_path: Path, flagged: pd.DataFrame) -> None:
    accepted = tmp_path / "accepted.csv"
    ids = pd.read_csv(FIXTURE, dtype={"id": str})["id"]
    pd.DataFrame({"id": ids[flagged["is_label_issue"].to_numpy()]}).to_csv(accepted, index=False)
    result = run_cli("scan", FIXTURE, "-q", "--id-col", "id", "--max-issues", "0", "--baseline", accepted)
    assert result.returncode == 0, result.stderr


def _stderr_on_a_terminal(*args: str, env: dict[str, str]) -> bytes:
    """Run the CLI with stderr on a pseudo-terminal; what it wrote there."""
    import pty
    import subprocess
    import sys

    leader, follower = pty.openpty()
    full = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    full.update(env, COLUMNS="100")
    proc = subprocess.Popen([sys.executable, "-m", "labelaudit", *args], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=follower, env=full)  # fmt: skip
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    proc.wait(timeout=120)
    os.close(leader)
    return b"".join(chunks)


def test_color_follows_the_terminal_no_color_and_the_flag(tmp_path: Path) -> None:
    args = ("scan", str(FIXTURE), "--top", "0", "--max-issues", "0", "--exit-zero")
    red = b";31m"  # FAIL in bold red; NO_COLOR keeps bold, drops colour
    assert red in _stderr_on_a_terminal(*args, env={})
    assert red not in _stderr_on_a_terminal(*args, env={"NO_COLOR": "1"})
    assert red not in _stderr_on_a_terminal(*args, "--color", "never", env={})
    piped = run_cli(*args, "--color", "always")
    assert piped.returncode == 0 and red.decode() in piped.stderr and piped.stdout == ""
    assert "\x1b[" not in run_cli(*args).stderr  # not a terminal: no escape sequences at all
    assert_one_line_error(
        run_cli(*args, "--color", "sometimes"), "--color must be one of auto, always, never"
    )


def test_progress_only_on_a_terminal_and_never_with_quiet(tmp_path: Path) -> None:
    args = ("scan", str(FIXTURE), "--top", "0")
    assert b"scanning " in _stderr_on_a_terminal(*args, env={})
    assert b"scanning" not in _stderr_on_a_terminal(*args, "-q", env={})
    assert "scanning" not in run_cli(*args).stderr


def test_the_html_page_shows_the_gate(tmp_path: Path) -> None:
    page = tmp_path / "r.html"
    result = run_cli(
        "scan", FIXTURE, "-q", "--max-issues", "0", "--max-class-noise", "cat=0.5", "--html", page
    )
    assert result.returncode == 1
    text = page.read_text()
    assert 'id="gate"' in text and "failed" in text
    assert "label issues &gt; --max-issues 0" in text


def test_scan_help_groups_its_options() -> None:
    result = run_cli("scan", "-h")
    assert result.returncode == 0
    heads = [line for line in result.stdout.splitlines() if line.endswith("options:")]
    assert heads == [
        "Input options:",
        "Method options:",
        "Output options:",
        "Gate options:",
        "Other options:",
    ]
    gate_part = result.stdout.split("Gate options:")[1].split("Other options:")[0]
    for option in ("--max-issues", "--max-class-noise", "--baseline", "--exit-zero", "--junit"):
        assert option in gate_part


def test_baseline_reads_stdin_and_writes_stdout(tmp_path: Path) -> None:
    import subprocess
    import sys

    scan = subprocess.run([sys.executable, "-m", "labelaudit", "scan", str(FIXTURE), "-q", "--id-col", "id",
                           "--format", "csv"], capture_output=True, check=True)  # fmt: skip
    made = run_cli("baseline", "-", "-o", "-", input=scan.stdout)
    assert made.returncode == 0, made.stderr
    lines = made.stdout.splitlines()
    assert lines[0] == "key,key_type,given_label,suggested_label" and len(lines) > 5
    assert all(line.split(",")[1] == "id" for line in lines[1:])
    assert_one_line_error(
        run_cli("baseline", "-", "-o", tmp_path / "b.csv", input="a,b\n1,2\n"), "is_label_issue"
    )
