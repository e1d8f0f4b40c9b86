"""`ScanResult`: what a scan found, with the methods a notebook or the CLI needs to keep it.

>>> import labelaudit as la
>>> result = la.scan("data.csv")                       # doctest: +SKIP
>>> result.report.head()                                # doctest: +SKIP
>>> result.write("report.parquet")                      # doctest: +SKIP
>>> result.gate(max_issue_rate=0.05).passed             # doctest: +SKIP
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from labelaudit.errors import ConfigError, UsageError

SORT_ORDERS = ("row", "rank")


@dataclass(frozen=True)
class GateCheck:
    """One threshold of the gate: its name, the limit, the value measured and whether it passed."""

    name: str
    limit: float
    value: float
    passed: bool

    def describe(self) -> str:
        if self.name == "max_issues":
            return f"{int(self.value)} label issues > --max-issues {int(self.limit)}"
        if self.name == "max_issue_rate":
            return f"issue rate {self.value:.4f} > --max-issue-rate {self.limit:g}"
        return f"health score {self.value:.4f} < --min-health {self.limit:g}"


@dataclass(frozen=True)
class GateResult:
    """The outcome of :meth:`ScanResult.gate`: every check, and the findings it counted."""

    checks: tuple[GateCheck, ...]
    counted_issues: int
    baseline_matches: int

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)

    @property
    def failures(self) -> list[str]:
        return [check.describe() for check in self.checks if not check.passed]

    def as_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "counted_issues": self.counted_issues,
            "baseline_matches": self.baseline_matches,
            "checks": [
                {"name": c.name, "limit": c.limit, "value": c.value, "passed": c.passed} for c in self.checks
            ],
        }


def _check_threshold(name: str, value: float | None, *, rate: bool) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise UsageError(f"--{name.replace('_', '-')} must be a number, not {value!r}")
    if value < 0 or (rate and value > 1):
        bounds = "in [0, 1]" if rate else "at least 0"
        raise UsageError(f"--{name.replace('_', '-')} must be {bounds}, not {value:g}")


def check_gate_thresholds(
    max_issues: int | None = None, max_issue_rate: float | None = None, min_health: float | None = None
) -> None:
    """Reject thresholds that could never mean anything (NaN, negative, a rate above 1) before any work."""
    _check_threshold("max_issues", max_issues, rate=False)
    _check_threshold("max_issue_rate", max_issue_rate, rate=True)
    _check_threshold("min_health", min_health, rate=True)


def baseline_keys(path: str, key: str) -> set[str]:
    """Accepted findings: a previous report (any format labelaudit writes) or a text file with one key a line."""
    from pathlib import Path

    from labelaudit.io.readers import read_table

    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"{path}: baseline file not found")
    if file.suffix.lower() in (".txt", ""):
        lines = file.read_text(errors="replace").splitlines()
        return {line.strip() for line in lines if line.strip() and not line.startswith("#")}
    try:
        frame = read_table(path)
    except Exception as exc:
        raise ConfigError(f"{path}: cannot read baseline: {exc}") from None
    if key not in frame.columns:
        raise ConfigError(f"{path}: baseline has no {key!r} column")
    if "is_label_issue" in frame.columns:
        frame = frame[frame["is_label_issue"].astype(bool)]
    return set(frame[key].astype(str))


@dataclass
class ScanResult:
    """The report (one row per input row), the data set summary and the metadata of one scan."""

    report: Any  # pandas.DataFrame
    summary: dict[str, Any]
    table_columns: list[str]
    schema: str
    parameters: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    extra_metadata: dict[str, Any] = field(default_factory=dict)
    gate_result: GateResult | None = None
    engine: str = "memory"
    engine_reason: str = ""

    @property
    def num_issues(self) -> int:
        return int(self.report["is_label_issue"].sum())

    @property
    def metadata(self) -> dict[str, Any]:
        """What a report file carries besides its rows: schema, parameters, versions, summary, gate."""
        meta = {
            "schema": self.schema,
            "parameters": self.parameters,
            "versions": self.versions,
            "summary": self.summary,
            **self.extra_metadata,
        }
        if self.gate_result is not None:
            meta["gate"] = self.gate_result.as_dict()
        return meta

    def rows(self, *, sort: str = "row", issues_only: bool = False) -> Any:
        """The report's rows in input order (``sort="row"``) or most suspicious first (``"rank"``)."""
        if sort not in SORT_ORDERS:
            raise UsageError(f"--sort must be one of {', '.join(SORT_ORDERS)}, not {sort!r}")
        report = self.report
        if sort == "rank":
            report = report.sort_values("rank", kind="stable").reset_index(drop=True)
        if issues_only:
            report = report[report["is_label_issue"].to_numpy()].reset_index(drop=True)
        return report

    def write(
        self, path: str, format: str | None = None, *, sort: str = "row", issues_only: bool = False
    ) -> None:
        """Write the report atomically; the format comes from ``format`` or the extension (``-`` is stdout)."""
        from labelaudit.io.writers import output_format_for, write_frame

        fmt = output_format_for(path, format)
        write_frame(self.rows(sort=sort, issues_only=issues_only), path, fmt, metadata=self.metadata)

    def summary_document(self) -> dict[str, Any]:
        """The ``--summary`` JSON document: the summary with its schema, parameters, versions and gate."""
        document = {
            "schema": self.schema.replace("/", ".summary/"),
            **self.summary,
            "parameters": self.parameters,
            "versions": self.versions,
        }
        if self.gate_result is not None:
            document["gate"] = self.gate_result.as_dict()
        return document

    def write_summary(self, path: str) -> None:
        from labelaudit.io.writers import write_json

        write_json(self.summary_document(), path)

    def to_html(self, *, top: int = 100, title: str = "labelaudit scan") -> str:
        from labelaudit.report.html import render_html

        return render_html(
            self.report, self.summary, self.metadata, table_columns=self.table_columns, title=title, top=top
        )

    def write_html(self, path: str, *, top: int = 100) -> None:
        from labelaudit.io.writers import write_text

        write_text(self.to_html(top=top), path)

    def gate(
        self,
        *,
        max_issues: int | None = None,
        max_issue_rate: float | None = None,
        min_health: float | None = None,
        baseline: str | set[str] | None = None,
    ) -> GateResult:
        """Check the thresholds (findings in ``baseline`` are not counted); the outcome is kept in the metadata."""
        import numpy as np

        check_gate_thresholds(max_issues, max_issue_rate, min_health)
        key = "id" if "id" in self.report.columns else "row"
        accepted = baseline_keys(baseline, key) if isinstance(baseline, str) else set(baseline or ())
        issues = self.report["is_label_issue"].to_numpy(dtype=bool)
        matches = 0
        if accepted:
            keys = self.report[key].astype(str).to_numpy()
            known = np.isin(keys, list(accepted))
            matches = int((issues & known).sum())
            issues = issues & ~known
        counted = int(issues.sum())
        n = max(int(self.summary.get("num_examples", len(self.report))), 1)
        checks = []
        if max_issues is not None:
            checks.append(GateCheck("max_issues", float(max_issues), float(counted), counted <= max_issues))
        if max_issue_rate is not None:
            rate = counted / n
            checks.append(GateCheck("max_issue_rate", float(max_issue_rate), rate, rate <= max_issue_rate))
        health = self.summary.get("health_score")
        if min_health is not None and health is not None:
            checks.append(GateCheck("min_health", float(min_health), float(health), health >= min_health))
        self.gate_result = GateResult(tuple(checks), counted, matches)
        return self.gate_result
