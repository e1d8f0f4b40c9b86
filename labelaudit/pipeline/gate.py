"""The quality gate: thresholds, the checks they give, baselines of reviewed findings.

A gate is a list of :class:`GateCheck` (one per threshold: name, limit, value measured, passed) and the
findings it counted; :class:`GateResult` is written as the ``gate`` block of the summary JSON, of a report's
metadata and of the HTML page::

    {"passed": false, "exit_zero": false, "counted_issues": 12, "baseline": {...},
     "checks": [{"name": "max_issue_rate", "option": "--max-issue-rate", "limit": 0.05,
                 "value": 0.06, "passed": false, "description": "..."}],
     "failures": ["issue rate 0.0600 > --max-issue-rate 0.05"]}

Scan thresholds: ``max_issues``, ``max_issue_rate`` (both count only findings not in the baseline),
``min_health`` and ``max_class_noise`` (class -> largest accepted estimated label noise of that class).
Aggregate thresholds: ``min_consensus_quality`` (mean consensus quality), ``min_annotator_quality`` (the
worst annotator's quality) and ``max_low_agreement_rate`` (share of items whose consensus quality is below
1/2).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from labelaudit.errors import ConfigError, UsageError

BASELINE_SCHEMA = "labelaudit.baseline/1"
#: Every scan threshold: name -> (option, "max" or "min", a share in [0, 1]?)
SCAN_THRESHOLDS = {
    "max_issues": ("--max-issues", "max", False),
    "max_issue_rate": ("--max-issue-rate", "max", True),
    "min_health": ("--min-health", "min", True),
    "max_class_noise": ("--max-class-noise", "max", True),
}
AGGREGATE_THRESHOLDS = {
    "min_consensus_quality": ("--min-consensus-quality", "min", True),
    "min_annotator_quality": ("--min-annotator-quality", "min", True),
    "max_low_agreement_rate": ("--max-low-agreement-rate", "max", True),
}
_WHAT = {
    "max_issues": "label issues",
    "max_issue_rate": "issue rate",
    "min_health": "health score",
    "max_class_noise": "label noise of",
    "min_consensus_quality": "mean consensus quality",
    "min_annotator_quality": "worst annotator quality",
    "max_low_agreement_rate": "share of items with consensus quality < 0.5",
}


@dataclass(frozen=True)
class GateCheck:
    """One threshold of the gate: its name, the limit, the value measured and whether it passed."""

    name: str
    limit: float
    value: float
    passed: bool
    subject: str | None = None  # the class of a per-class check

    @property
    def option(self) -> str:
        return {**SCAN_THRESHOLDS, **AGGREGATE_THRESHOLDS}[self.name][0]

    @property
    def label(self) -> str:
        """The check as a name a person or a CI system shows: ``max_class_noise[cat]``."""
        return self.name if self.subject is None else f"{self.name}[{self.subject}]"

    def describe(self) -> str:
        kind = {**SCAN_THRESHOLDS, **AGGREGATE_THRESHOLDS}[self.name][1]
        ok = self.passed
        op = ("<=" if ok else ">") if kind == "max" else (">=" if ok else "<")
        what = _WHAT[self.name] + (f" {self.subject}" if self.subject is not None else "")
        if self.name == "max_issues":
            return f"{int(self.value)} {what} {op} {self.option} {int(self.limit)}"
        limit = f"{self.subject}={self.limit:g}" if self.subject is not None else f"{self.limit:g}"
        return f"{what} {self.value:.4f} {op} {self.option} {limit}"

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "option": self.option}
        if self.subject is not None:
            out["class"] = self.subject
        out.update(limit=self.limit, value=self.value, passed=self.passed, description=self.describe())
        return out


@dataclass(frozen=True)
class GateResult:
    """The outcome of a gate: every check, the findings it counted, and what the baseline matched."""

    checks: tuple[GateCheck, ...]
    counted_issues: int = 0
    baseline_matches: int = 0
    baseline: dict[str, Any] | None = None
    exit_zero: bool = False

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)

    @property
    def failures(self) -> list[str]:
        return [check.describe() for check in self.checks if not check.passed]

    @property
    def fails_the_run(self) -> bool:
        """Whether the command should exit 1 (never with ``exit_zero``)."""
        return not self.passed and not self.exit_zero

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "passed": self.passed,
            "exit_zero": self.exit_zero,
            "counted_issues": self.counted_issues,
            "baseline_matches": self.baseline_matches,
            "checks": [c.as_dict() for c in self.checks],
            "failures": self.failures,
        }
        if self.baseline is not None:
            out["baseline"] = self.baseline
        return out


def _check_number(option: str, value: Any, *, share: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise UsageError(f"{option} must be a number, not {value!r}")
    if value < 0 or (share and value > 1):
        raise UsageError(f"{option} must be {'in [0, 1]' if share else 'at least 0'}, not {value:g}")
    return float(value)


def parse_class_limits(values: Iterable[str] | Mapping[str, Any] | None) -> dict[str, float]:
    """``--max-class-noise cat=0.1`` (repeatable, or comma-separated) as ``{"cat": 0.1}``, checked."""
    if values is None:
        return {}
    if isinstance(values, Mapping):
        items = [(str(k), v) for k, v in values.items()]
    else:
        items = []
        for text in values:
            for part in str(text).split(","):
                if not part.strip():
                    continue
                name, sep, number = part.rpartition("=")
                if not sep or not name.strip():
                    raise UsageError(f"--max-class-noise takes CLASS=SHARE (like cat=0.1), not {part!r}")
                try:
                    items.append((name.strip(), float(number)))
                except ValueError:
                    raise UsageError(f"--max-class-noise {name.strip()}: not a number: {number!r}") from None
    return {name: _check_number(f"--max-class-noise {name}", value, share=True) for name, value in items}


def check_thresholds(thresholds: Mapping[str, Any], known: Mapping[str, tuple[str, str, bool]]) -> None:
    """Reject thresholds that could never mean anything (NaN, negative, a share above 1) before any work."""
    for name, value in thresholds.items():
        if value is None:
            continue
        if name not in known:
            raise UsageError(f"unknown gate threshold {name!r}; known: {', '.join(known)}")
        option, _, share = known[name]
        if name == "max_class_noise":
            parse_class_limits(value)
        else:
            _check_number(option, value, share=share)


def check_gate_thresholds(
    max_issues: int | None = None, max_issue_rate: float | None = None, min_health: float | None = None
) -> None:
    """The scan thresholds, checked (kept for callers of the first API)."""
    check_thresholds(
        {"max_issues": max_issues, "max_issue_rate": max_issue_rate, "min_health": min_health},
        SCAN_THRESHOLDS,
    )


# ---------------------------------------------------------------------------------------------------- baselines


def content_keys(report: Any, columns: Iterable[str]) -> list[str]:
    """A key per report row from its content: ``h:`` + the 64-bit hash of the given columns, in hex.

    Numbers count to 6 decimals, everything else as text, so a report read back from CSV keys its rows
    as the Parquet one does. Rows with the same content get ``#2``, ``#3``... in input order, so two
    identical rows stay two findings. Vectorised (pandas' ``hash_pandas_object``, fixed key).
    """
    import numpy as np
    import pandas as pd

    parts: dict[str, Any] = {}
    for column in (c for c in columns if c in report.columns):
        values = report[column]
        if values.dtype.kind == "f":
            scaled = np.nan_to_num(values.to_numpy(dtype=np.float64), nan=-1.0) * 1e6
            parts[column] = np.rint(scaled).astype(np.int64)
        elif isinstance(values.dtype, pd.CategoricalDtype):  # K names hashed, not N strings
            names = pd.Series(values.cat.categories.astype(str), dtype=object)
            named = pd.util.hash_pandas_object(names, index=False).to_numpy(dtype=np.uint64)
            codes = values.cat.codes.to_numpy()
            parts[column] = np.where(codes >= 0, named[codes], np.uint64(0))
        else:  # the same per-value hash as a categorical's names: text and categorical columns key alike
            text = pd.Series(values.astype(str).to_numpy(dtype=object), dtype=object)
            parts[column] = pd.util.hash_pandas_object(text, index=False).to_numpy(dtype=np.uint64)
    if not parts:
        parts["_"] = np.zeros(len(report), dtype=np.int64)
    hashes = pd.util.hash_pandas_object(pd.DataFrame(parts), index=False).to_numpy(dtype=np.uint64)
    # occurrence of each hash in input order: 1 for the first row with that content, 2 for the next...
    order = np.argsort(hashes, kind="stable")
    ordered = hashes[order]
    starts = np.r_[True, ordered[1:] != ordered[:-1]]
    run_start = np.maximum.accumulate(np.where(starts, np.arange(len(ordered)), 0))
    occurrence = np.empty(len(hashes), dtype=np.int64)
    occurrence[order] = np.arange(len(ordered)) - run_start + 1
    text = hashes.astype(">u8").tobytes().hex()
    keys = ["h:" + text[i : i + 16] for i in range(0, len(text), 16)]
    for row in np.flatnonzero(occurrence > 1).tolist():
        keys[row] = f"{keys[row]}#{int(occurrence[row])}"
    return keys


#: Report columns that are not part of a row's content key: positions, flags and the error probability
#: (which moves with the whole data set's noise estimate). The label, the suggested label, the label
#: quality and any kept input columns (--keep-cols) are.
_NOT_CONTENT = {"row", "rank", "error_probability", "is_label_issue", "in_baseline"}


def report_keys(report: Any) -> tuple[str, list[str]]:
    """How a report's rows are matched against a baseline: ``("id", ids)`` or ``("hash", content keys)``."""
    if "id" in report.columns:
        return "id", report["id"].astype(str).tolist()
    columns = sorted(c for c in report.columns if c not in _NOT_CONTENT)
    return "hash", content_keys(report, columns)


def baseline_frame(report: Any) -> Any:
    """The baseline of a report: one row per finding (``key``, ``key_type``, ``given_label``...)."""
    import pandas as pd

    if "is_label_issue" not in report.columns:
        raise ConfigError("the report has no is_label_issue column: is it a labelaudit scan report?")
    key_type, keys = report_keys(report)
    flagged = report["is_label_issue"].astype(bool).to_numpy()
    frame = pd.DataFrame({"key": [k for k, f in zip(keys, flagged, strict=True) if f]})
    frame["key_type"] = key_type
    for column in ("given_label", "suggested_label"):
        if column in report.columns:
            frame[column] = report.loc[flagged, column].astype(str).to_numpy()
    return frame


def read_baseline(path: str) -> tuple[str | None, set[str]]:
    """A baseline file: ``(key type, keys)``. A ``labelaudit baseline`` file, a previous report, or text.

    Text files (``.txt``) hold one key a line (``#`` starts a comment); their key type is ``None`` (any).
    """
    from pathlib import Path

    from labelaudit.io.readers import read_table

    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"{path}: baseline file not found")
    if file.suffix.lower() in (".txt", ""):
        lines = file.read_text(errors="replace").splitlines()
        return None, {line.strip() for line in lines if line.strip() and not line.startswith("#")}
    try:
        frame = read_table(path, text_columns=("key", "id"))
    except Exception as exc:
        raise ConfigError(f"{path}: cannot read baseline: {exc}") from None
    if "key" in frame.columns and "key_type" in frame.columns:
        types = set(frame["key_type"].astype(str))
        if len(types) > 1:
            raise ConfigError(f"{path}: baseline mixes key types {sorted(types)}")
        return (types.pop() if types else None), set(frame["key"].astype(str))
    if "is_label_issue" in frame.columns:  # a previous report
        base = baseline_frame(frame)
        return (str(base["key_type"].iloc[0]) if len(base) else None), set(base["key"])
    for column, key_type in (("id", "id"), ("row", None)):  # a table of accepted ids (or row numbers)
        if column in frame.columns:
            return key_type, set(frame[column].astype(str))
    raise ConfigError(f"{path}: not a baseline: no key, id or row column, and not a labelaudit report")


@dataclass
class BaselineMatch:
    """Which rows of a report a baseline accepts, and which baseline entries match no row."""

    in_baseline: Any  # bool array, one per report row
    entries: int
    unmatched: list[str] = field(default_factory=list)
    key_type: str | None = None

    def as_dict(self, path: str | None) -> dict[str, Any]:
        return {
            "file": path,
            "key_type": self.key_type,
            "entries": self.entries,
            "matched": self.entries - len(self.unmatched),
            "unmatched": len(self.unmatched),
            "unmatched_examples": self.unmatched[:20],
        }


def match_baseline(
    report: Any, key_type: str | None, keys: set[str], path: str = "baseline"
) -> BaselineMatch:
    """Match ``keys`` against the report's rows (ids, or content hashes) and its flagged findings."""
    import numpy as np

    own_type, own_keys = report_keys(report)
    if key_type is not None and key_type != own_type:
        hint = "--id-col" if key_type == "id" else "no --id-col"
        raise ConfigError(
            f"{path}: baseline keys are {'ids' if key_type == 'id' else 'content hashes'} but this report "
            f"has {'ids' if own_type == 'id' else 'no id column'}; scan with {hint} as when it was made"
        )
    if key_type is None and own_type == "hash":
        own_keys = report["row"].astype(str).tolist()  # a text file of row numbers (the first baselines)
    known = np.fromiter((k in keys for k in own_keys), dtype=bool, count=len(own_keys))
    flagged = report["is_label_issue"].to_numpy(dtype=bool)
    present = {k for k, f in zip(own_keys, flagged, strict=True) if f}
    unmatched = sorted(keys - present)
    return BaselineMatch(known & flagged, len(keys), unmatched, key_type or own_type)


# ---------------------------------------------------------------------------------------------------- gates


def scan_gate(
    report: Any,
    summary: Mapping[str, Any],
    *,
    max_issues: int | None = None,
    max_issue_rate: float | None = None,
    min_health: float | None = None,
    max_class_noise: Mapping[str, float] | Iterable[str] | None = None,
    baseline: BaselineMatch | None = None,
    baseline_path: str | None = None,
    exit_zero: bool = False,
) -> GateResult:
    """The checks of a scan; findings the baseline accepts are not counted."""
    check_gate_thresholds(max_issues, max_issue_rate, min_health)
    class_limits = parse_class_limits(max_class_noise)
    issues = report["is_label_issue"].to_numpy(dtype=bool)
    matches = 0
    if baseline is not None:
        matches = int(baseline.in_baseline.sum())
        issues = issues & ~baseline.in_baseline
    counted = int(issues.sum())
    n = max(int(summary.get("num_examples", len(report))), 1)
    checks = []
    if max_issues is not None:
        checks.append(GateCheck("max_issues", float(max_issues), float(counted), counted <= max_issues))
    if max_issue_rate is not None:
        rate = counted / n
        checks.append(GateCheck("max_issue_rate", float(max_issue_rate), rate, rate <= max_issue_rate))
    health = summary.get("health_score")
    if min_health is not None:
        if health is None:
            raise UsageError("--min-health needs a health score; this scan has none")
        checks.append(GateCheck("min_health", float(min_health), float(health), health >= min_health))
    if class_limits:
        noise = {str(c["class"]): c.get("label_noise") for c in summary.get("per_class") or []}
        for name, limit in class_limits.items():
            if name not in noise or noise[name] is None:
                known = ", ".join(sorted(noise)[:20])
                raise UsageError(f"--max-class-noise: no class {name!r} in the data (classes: {known})")
            value = float(noise[name])
            checks.append(GateCheck("max_class_noise", limit, value, value <= limit, subject=name))
    block = baseline.as_dict(baseline_path) if baseline is not None else None
    return GateResult(tuple(checks), counted, matches, block, exit_zero)


def aggregate_gate(
    items: Any,
    annotators: Any,
    summary: Mapping[str, Any],
    *,
    min_consensus_quality: float | None = None,
    min_annotator_quality: float | None = None,
    max_low_agreement_rate: float | None = None,
    exit_zero: bool = False,
) -> GateResult:
    """The checks of an aggregation: mean consensus quality, the worst annotator, low-quality items."""
    import numpy as np

    thresholds = {
        "min_consensus_quality": min_consensus_quality,
        "min_annotator_quality": min_annotator_quality,
        "max_low_agreement_rate": max_low_agreement_rate,
    }
    check_thresholds(thresholds, AGGREGATE_THRESHOLDS)
    quality = items["consensus_quality"].to_numpy(dtype=np.float64)
    checks = []
    if min_consensus_quality is not None:
        mean = float(quality.mean()) if quality.size else 0.0
        checks.append(
            GateCheck("min_consensus_quality", min_consensus_quality, mean, mean >= min_consensus_quality)
        )
    if min_annotator_quality is not None:
        values = annotators["quality"].to_numpy(dtype=np.float64)
        values = values[np.isfinite(values)]
        worst = float(values.min()) if values.size else 0.0
        checks.append(
            GateCheck("min_annotator_quality", min_annotator_quality, worst, worst >= min_annotator_quality)
        )
    if max_low_agreement_rate is not None:
        low = float((quality < 0.5).mean()) if quality.size else 0.0
        checks.append(
            GateCheck("max_low_agreement_rate", max_low_agreement_rate, low, low <= max_low_agreement_rate)
        )
    return GateResult(tuple(checks), int((quality < 0.5).sum()), 0, None, exit_zero)
