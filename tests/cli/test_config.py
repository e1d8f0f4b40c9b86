"""Configuration files as a user writes them: found upward, --config over them, flags over both, errors named."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, assert_one_line_error, run_cli

FIXTURE = FIXTURES / "cifar10-test-slice.csv"


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    """A project with pyproject.toml at its root, the data in it, and a subdirectory to run from."""
    root = tmp_path / "project"
    (root / "sub" / "deeper").mkdir(parents=True)
    shutil.copy(FIXTURE, root / "data.csv")
    (root / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.labelaudit]\nmax-issues = 0\nid_col = "id"\ntop = 0\n\n'
        "[tool.labelaudit.aggregate]\nmin-consensus-quality = 0.9\n"
    )
    return root


def _gate(summary: Path) -> dict:
    return json.loads(summary.read_text())["gate"]


def test_pyproject_is_found_upward_and_flags_override_it(project: Path) -> None:
    summary = project / "s.json"
    here = project / "sub" / "deeper"
    result = run_cli("scan", "../../data.csv", "-q", "--summary", summary, cwd=here)
    assert result.returncode == 1, result.stderr  # max-issues = 0 from the file
    assert _gate(summary)["checks"][0]["limit"] == 0
    assert json.loads(summary.read_text())["parameters"]["id_col"] == "id"

    result = run_cli("scan", "../../data.csv", "-q", "--max-issues", "100000", "--summary", summary, cwd=here)
    assert result.returncode == 0, result.stderr  # the flag wins
    assert _gate(summary)["checks"][0]["limit"] == 100000


def test_labelaudit_toml_is_preferred_and_config_flag_overrides_it(project: Path) -> None:
    summary = project / "s.json"
    (project / "sub" / "labelaudit.toml").write_text("max-issues = 100000\n")
    result = run_cli("scan", "../data.csv", "-q", "--summary", summary, cwd=project / "sub")
    assert result.returncode == 0, result.stderr  # the nearer labelaudit.toml, not the pyproject
    other = project / "ci.toml"
    other.write_text('max-issue-rate = 0.0\nmax-class-noise = { cat = 0.5 }\nbaseline = "none-yet.txt"\n')
    (project / "none-yet.txt").write_text("# no reviewed findings yet\n")
    result = run_cli(
        "scan", "../data.csv", "-q", "--config", other, "--summary", summary, cwd=project / "sub"
    )
    assert result.returncode == 1, result.stderr
    names = [c["name"] for c in _gate(summary)["checks"]]
    assert names == ["max_issues", "max_issue_rate", "max_class_noise"]
    assert _gate(summary)["baseline"]["file"] == str(project / "none-yet.txt")  # relative to ci.toml


def test_config_show_names_each_source(project: Path) -> None:
    extra = project / "extra.toml"
    extra.write_text("top = 5\n[aggregate]\nseed = 3\n")
    result = run_cli("config", "show", "--config", extra, "--json", cwd=project / "sub")
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["found"] == str(project / "pyproject.toml")
    scan = shown["commands"]["scan"]
    assert scan["max_issues"] == {"value": 0, "source": str(project / "pyproject.toml")}
    assert scan["top"] == {"value": 5, "source": f"--config {extra}"}
    aggregate = shown["commands"]["aggregate"]
    assert aggregate["min_consensus_quality"]["value"] == 0.9 and aggregate["seed"]["value"] == 3
    text = run_cli("config", "show", cwd=project)
    assert text.returncode == 0 and "max-issues = 0   # " in text.stdout


@pytest.mark.parametrize(
    ("content", "needles"),
    [
        ("max-isues = 3\n", ["unknown key tool.labelaudit.max-isues"]),
        ('max-issue-rate = "high"\n', ["tool.labelaudit.max-issue-rate", "expected a number"]),
        ("max-issues = -1\n", ["tool.labelaudit.max-issues", "at least 0"]),
        ("max-class-noise = { cat = 2 }\n", ["tool.labelaudit.max-class-noise.cat"]),
        ("exit-zero = 1\n", ["tool.labelaudit.exit-zero", "true or false"]),
        (
            "[tool.labelaudit.aggregate]\nmin-healthy = 1\n",
            ["unknown key tool.labelaudit.aggregate.min-healthy"],
        ),
        ("max-issues = [\n", ["not valid TOML"]),
    ],
)
def test_bad_configuration_is_one_line_exit_2(project: Path, content: str, needles: list[str]) -> None:
    (project / "pyproject.toml").write_text("[tool.labelaudit]\n" + content)
    result = run_cli("scan", "data.csv", "-q", cwd=project)
    assert_one_line_error(result, *needles)
    for needle in needles:
        assert needle in result.stderr
    assert "pyproject.toml" in result.stderr
    shown = run_cli("config", "show", cwd=project)
    assert_one_line_error(shown)


def test_missing_config_file_is_exit_2(tmp_path: Path) -> None:
    result = run_cli("scan", FIXTURE, "-q", "--config", tmp_path / "nope.toml", cwd=tmp_path)
    assert_one_line_error(result, "configuration file not found")
