"""The gate for people and CI systems: a pass/fail table, GitHub workflow annotations and step summary, JUnit XML.

Everything here reads the ``gate`` block a command records (``GateResult.as_dict()``: ``passed``, ``checks``
with ``name``, ``option``, ``limit``, ``value``, ``passed``, ``description``, optionally ``class``, and
``baseline``), so a saved report can be rendered the same way.

* GitHub: `workflow commands <https://docs.github.com/actions/reference/workflow-commands-for-github-actions>`_
  (``::error title=...::message``), one per failed check, ``::notice`` when the gate passes; the Markdown
  summary is appended to the file named by ``GITHUB_STEP_SUMMARY``.
* JUnit XML: one ``<testsuite name="labelaudit.<command>">``, one ``<testcase>`` per check, a ``<failure>``
  for each failed one (the format pytest's ``--junitxml`` writes and CI systems read).
"""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree as ET

from rich.table import Table
from rich.text import Text

from labelaudit.report.terminal import printable


def _label(check: dict[str, Any]) -> str:
    return f"{check['name']}[{check['class']}]" if "class" in check else str(check["name"])


def _number(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) and not float(value).is_integer() else f"{value:g}"


def gate_table(gate: dict[str, Any], *, color: bool = True) -> Table:
    """The checks, one per row: check, measured value, limit, PASS/FAIL; the title says the outcome."""
    outcome = "passed" if gate["passed"] else "failed"
    if not gate["passed"] and gate.get("exit_zero"):
        outcome += " (--exit-zero: exit 0)"
    table = Table(title=Text(f"Gate {outcome}"), title_justify="left")
    table.add_column("check")
    table.add_column("value", justify="right")
    table.add_column("limit", justify="right")
    table.add_column("result")
    for check in gate["checks"]:
        mark = "PASS" if check["passed"] else "FAIL"
        style = ("green" if check["passed"] else "bold red") if color else ""
        table.add_row(
            Text(printable(_label(check))),
            Text(_number(check["value"])),
            Text(("<= " if check["name"].startswith("max") else ">= ") + _number(check["limit"])),
            Text(mark, style=style),
        )
    return table


def baseline_lines(gate: dict[str, Any]) -> list[str]:
    """What the baseline matched, and how many of its entries match no finding any more."""
    base = gate.get("baseline")
    if not base:
        return []
    lines = [
        f"baseline: {base['matched']} of {base['entries']} entries match findings "
        f"({gate['baseline_matches']} findings not counted)"
    ]
    if base["unmatched"]:
        examples = ", ".join(printable(k) for k in base["unmatched_examples"][:5])
        lines.append(
            f"baseline: {base['unmatched']} entries match no finding (fixed, or keyed differently): {examples}"
        )
    return lines


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def github_annotations(gate: dict[str, Any], *, file: str | None = None) -> str:
    """Workflow commands: ``::error`` per failed check (``::warning`` with --exit-zero), else one ``::notice``."""
    where = f"file={_escape_property(file)}," if file else ""
    lines = []
    for check in gate["checks"]:
        if check["passed"]:
            continue
        level = "warning" if gate.get("exit_zero") else "error"
        title = _escape_property(f"labelaudit gate: {_label(check)}")
        lines.append(f"::{level} {where}title={title}::{_escape_data(check['description'])}")
    base = gate.get("baseline")
    if base and base["unmatched"]:
        lines.append(
            f"::notice {where}title=labelaudit baseline::"
            + _escape_data(f"{base['unmatched']} baseline entries match no finding; refresh the baseline")
        )
    if gate["passed"]:
        summary = ", ".join(f"{_label(c)} {_number(c['value'])}" for c in gate["checks"]) or "no checks"
        lines.append(f"::notice {where}title=labelaudit gate passed::{_escape_data(summary)}")
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    return printable(str(text)).replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def step_summary(gate: dict[str, Any], *, command: str, source: str | None = None) -> str:
    """The Markdown step summary: the outcome, one table row per check, the baseline."""
    icon = ":white_check_mark:" if gate["passed"] else ":x:"
    head = f"### {icon} labelaudit {command}: gate {'passed' if gate['passed'] else 'failed'}"
    if source:
        head += f" ({_md(source)})"
    lines = [head, "", "| check | value | limit | result |", "|---|---:|---:|---|"]
    for check in gate["checks"]:
        op = "<=" if check["name"].startswith("max") else ">="
        mark = "pass" if check["passed"] else "**FAIL**"
        limit = _md(f"{op} {_number(check['limit'])}")
        lines.append(f"| {_md(_label(check))} | {_number(check['value'])} | {limit} | {mark} |")
    lines.append("")
    lines.extend(f"{_md(line)}  " for line in baseline_lines(gate))
    return "\n".join(lines) + "\n"


def junit_xml(gate: dict[str, Any], *, command: str, elapsed: float = 0.0) -> str:
    """JUnit XML: one test case per check, a ``<failure>`` for each failed one."""
    checks = gate["checks"]
    failed = sum(not c["passed"] for c in checks)
    suites = ET.Element("testsuites", name="labelaudit", tests=str(len(checks)), failures=str(failed))
    suite = ET.SubElement(
        suites,
        "testsuite",
        name=f"labelaudit.{command}",
        tests=str(len(checks)),
        failures=str(failed),
        errors="0",
        skipped="0",
        time=f"{elapsed:.3f}",
    )
    for check in checks:
        case = ET.SubElement(suite, "testcase", classname=f"labelaudit.{command}.gate", name=_label(check))
        case.set("time", "0")
        if not check["passed"]:
            failure = ET.SubElement(case, "failure", message=check["description"], type="GateFailed")
            failure.text = check["description"]
    out = ET.SubElement(suite, "system-out")
    out.text = "\n".join([*(c["description"] for c in checks), *baseline_lines(gate)])
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
