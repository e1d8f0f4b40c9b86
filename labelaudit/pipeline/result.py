"""`ScanResult`: what a scan found, with the methods a notebook or the CLI needs to keep it.

>>> import labelaudit as la
>>> result = la.scan("data.csv")                       # doctest: +SKIP
>>> result.report.head()                                # doctest: +SKIP
>>> result.write("report.parquet")                      # doctest: +SKIP
>>> result.gate(max_issue_rate=0.05).passed             # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from labelaudit.errors import UsageError
from labelaudit.pipeline.gate import (  # noqa: F401 - re-exported: the first API's names
    GateCheck,
    GateResult,
    check_gate_thresholds,
    match_baseline,
    read_baseline,
    scan_gate,
)

SORT_ORDERS = ("row", "rank")


#: In a report's metadata (Parquet key-value, JSON header), a summary keeps at most this many classes and
#: confident-joint cells: the metadata stays small whatever K (the --summary file has everything).
METADATA_MAX_CLASSES = 200
METADATA_MAX_CELLS = 2000


def compact_summary(summary: dict[str, Any]) -> dict[str, Any]:
    """The summary for a report's metadata: the per-class list and the joint cut to their largest entries."""
    per_class = summary.get("per_class")
    joint = summary.get("confident_joint")
    small = not isinstance(per_class, list) or len(per_class) <= METADATA_MAX_CLASSES
    if small and not isinstance(joint, dict):
        return summary
    out = dict(summary)
    if isinstance(per_class, list) and len(per_class) > METADATA_MAX_CLASSES:
        out["per_class"] = per_class[:METADATA_MAX_CLASSES]  # sorted noisiest first
        out["per_class_truncated"] = {"shown": METADATA_MAX_CLASSES, "total": len(per_class)}
    if isinstance(joint, dict) and len(joint.get("count", [])) > METADATA_MAX_CELLS:
        import numpy as np

        count = np.asarray(joint["count"], dtype=np.int64)
        given, true = np.asarray(joint["given"]), np.asarray(joint["true"])
        keep = np.sort(np.lexsort((true, given, -count))[:METADATA_MAX_CELLS])
        out["confident_joint"] = {
            "shape": joint["shape"],
            "given": given[keep].tolist(),
            "true": true[keep].tolist(),
            "count": count[keep].tolist(),
            "truncated": {"shown": METADATA_MAX_CELLS, "total": int(count.shape[0])},
        }
    return out


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
    #: the table the memory engine read (the HTML page's shown columns and top classes); never written
    input_frame: Any = field(default=None, repr=False, compare=False)

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
            "summary": compact_summary(self.summary),
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

    def to_html(
        self,
        *,
        top: int | None = None,
        title: str | None = None,
        data: Any = None,
        show_cols: Sequence[str] = (),
        thumbnails: str | None = None,
    ) -> str:
        """The HTML page (docs/html.md): every row, or the ``top`` most suspicious, searchable and sortable.

        ``data`` is the scanned table (a DataFrame or a path) for ``show_cols``, ``thumbnails`` and each
        row's top classes; by default the table the memory engine read, or the input file read again when
        columns are asked for (the stream and dask engines keep no table).
        """
        import os

        from labelaudit.pipeline.render import render_page

        source = self.parameters.get("input")
        on_disk = isinstance(source, str) and os.path.isfile(source)
        if data is None:
            data = self.input_frame
        if data is None and (show_cols or thumbnails) and on_disk:
            data = source
        return render_page(
            self.report,
            self.metadata,
            data=data,
            show_cols=show_cols,
            thumbnail_col=thumbnails,
            top=top,
            title=title,
            source=source,
            image_dir=os.path.dirname(os.path.abspath(source)) if on_disk else None,
            data_name=source if isinstance(source, str) else None,
        )

    def write_html(self, path: str, **options: Any) -> None:
        """Write :meth:`to_html` (same options) atomically; ``-`` is stdout."""
        from labelaudit.io.writers import write_text

        write_text(self.to_html(**options), path)

    def keep_input_columns(self, source: Any, columns: list[str], input_format: str | None = None) -> None:
        """Carry input columns (a text, a path) into the report, after its own columns, so it stands alone.

        ``source`` is the input: a DataFrame, or a path read again (not stdin, which is consumed).
        """
        from labelaudit.errors import ColumnError

        if not columns:
            return
        clash = [c for c in columns if c in self.report.columns]
        if clash:
            raise UsageError(f"--keep-cols: {clash[0]!r} is already a report column")
        if isinstance(source, str):
            if source == "-":
                raise UsageError("--keep-cols needs the input as a file or a table, not stdin read once")
            from labelaudit.io.readers import read_table

            source = read_table(source, input_format, text_columns=tuple(columns))
        missing = [c for c in columns if c not in source.columns]
        if missing:
            raise ColumnError(f"--keep-cols: no column {missing[0]!r} in the input")
        if len(source) != len(self.report):
            raise ColumnError(f"--keep-cols: the input has {len(source)} rows, the report {len(self.report)}")
        for column in columns:
            self.report[column] = source[column].to_numpy()

    def gate(
        self,
        *,
        max_issues: int | None = None,
        max_issue_rate: float | None = None,
        min_health: float | None = None,
        max_class_noise: Any = None,
        baseline: str | set[str] | None = None,
        exit_zero: bool = False,
    ) -> GateResult:
        """Check the thresholds; the outcome is kept in the metadata and the summary.

        ``baseline`` (a ``labelaudit baseline`` file, a previous report, a text file of keys, or a set of
        keys) lists reviewed findings: they are not counted, and the report gets an ``in_baseline`` column.
        ``max_class_noise`` maps a class to the largest estimated label noise accepted for it.
        """
        match = None
        path = None
        if baseline is not None:
            if isinstance(baseline, str):
                path = baseline
                key_type, keys = read_baseline(baseline)
            else:
                key_type, keys = None, {str(k) for k in baseline}
            match = match_baseline(self.report, key_type, keys, path or "baseline")
            self.report["in_baseline"] = match.in_baseline
            if "in_baseline" not in self.table_columns:
                self.table_columns.append("in_baseline")
        self.gate_result = scan_gate(
            self.report,
            self.summary,
            max_issues=max_issues,
            max_issue_rate=max_issue_rate,
            min_health=min_health,
            max_class_noise=max_class_noise,
            baseline=match,
            baseline_path=path,
            exit_zero=exit_zero,
        )
        return self.gate_result
