"""`labelaudit.aggregate`: read annotations, run an aggregation method, build every table and the summary.

The library entry point behind ``labelaudit aggregate``; the command only parses options, calls
:func:`aggregate`, writes what was asked and picks the exit code.

>>> import labelaudit as la
>>> result = la.aggregate("annotations.csv", method="auto")          # doctest: +SKIP
>>> result.write("consensus.parquet"); result.posteriors().head()    # doctest: +SKIP

Schemas (the ``schema`` key of each file's metadata):

* ``labelaudit.aggregate/1``: one row per item, sorted by item id: item, consensus_label, consensus_quality,
  agreement, num_annotations, is_tie, runner_up_label, confusion_probability.
* ``labelaudit.aggregate-annotators/1``: annotator, quality, agreement, num_annotations, num_items, worst_class,
  worst_class_accuracy (and confusion_matrix, JSON, for the methods with confusion matrices).
* ``labelaudit.aggregate-posteriors/1``: item, consensus_label, then ``p_<class>`` per class (rows sum to 1):
  the input of ``labelaudit scan --probs FILE --id-col item``, or soft labels for training.
* ``labelaudit.aggregate-next/1``: rank, item, consensus_label, consensus_quality, num_annotations,
  expected_gain (the expected information gain of one more annotation, in nats; see
  :func:`labelaudit.core.aggregate.next_items`).
* ``labelaudit.aggregate-audit/1``: item, annotator, label, consensus_label, quality, is_label_issue.

Text inputs (CSV, TSV) are read as strings, so items ``1`` and ``01``, annotators ``007`` and ``7``, and labels
``01``, ``2.0`` and ``true`` stay distinct from ``1``, ``2`` and ``1``. Labels that are all canonical integers
(``"3"``, not ``"03"``) become integers, so classes sort numerically.
"""

from __future__ import annotations

import io
import os
import sys
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from labelaudit.core.aggregate_methods import METHODS
from labelaudit.errors import ColumnError, InputFileError, UsageError

REPORT_SCHEMA = "labelaudit.aggregate/1"
ANNOTATORS_SCHEMA = "labelaudit.aggregate-annotators/1"
POSTERIORS_SCHEMA = "labelaudit.aggregate-posteriors/1"
NEXT_SCHEMA = "labelaudit.aggregate-next/1"
AUDIT_SCHEMA = "labelaudit.aggregate-audit/1"
SUMMARY_SCHEMA = "labelaudit.aggregate.summary/1"
NEXT_COLUMNS = ("rank", "item", "consensus_label", "consensus_quality", "num_annotations", "expected_gain")
_TEXT_FORMATS = ("csv", "tsv")

__all__ = ["METHODS", "AggregateResult", "aggregate"]


@dataclass
class AggregateResult:
    """What :func:`aggregate` found: the item report, the annotator table, the summary and the metadata.

    Attributes
    ----------
    items : pandas.DataFrame
        One row per item (schema ``labelaudit.aggregate/1``).
    annotators : pandas.DataFrame
        One row per annotator.
    summary : dict
        JSON-ready: the method that ran (and for ``auto`` why, and every candidate's score), the data's
        shape, convergence, class prior, the majority-vote verdict, per-annotator statistics.
    audit : pandas.DataFrame or None
        One row per annotation when ``audit=True``.
    next : pandas.DataFrame or None
        The items to label next when ``next_n > 0``.
    parameters, versions : dict
        What produced the result (recorded in every file written).
    """

    items: pd.DataFrame
    annotators: pd.DataFrame
    summary: dict[str, Any]
    parameters: dict[str, Any]
    versions: dict[str, str]
    core: Any = field(repr=False)
    audit: pd.DataFrame | None = field(default=None, repr=False)
    next: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def method(self) -> str:
        """The method that ran (for ``auto``, the one it chose)."""
        return self.summary["method"]

    @property
    def classes(self) -> list[Any]:
        return list(self.summary["classes"])

    @property
    def metadata(self) -> dict[str, Any]:
        """What the item report carries besides its rows: schema, parameters, versions, summary, annotators."""
        return {
            "schema": REPORT_SCHEMA,
            "parameters": self.parameters,
            "versions": self.versions,
            "summary": {k: v for k, v in self.summary.items() if k != "annotators"},
            # the HTML page of a saved report pictures the annotators (labelaudit render)
            "annotators": self.summary.get("annotators", []),
            # the outcome of `aggregate`'s gate, where the HTML page and CI tools read a scan's
            **({"gate": self.summary["gate"]} if "gate" in self.summary else {}),
        }

    def posteriors(self) -> pd.DataFrame:
        """item, consensus_label and one ``p_<class>`` column per class (each row sums to 1)."""
        from labelaudit.core.aggregate.data import id_key

        frame = pd.DataFrame(
            {
                "item": self.items["item"].to_numpy(),
                "consensus_label": self.items["consensus_label"].to_numpy(),
            }
        )
        posterior = np.asarray(self.core.posterior, dtype=np.float64)
        for k, cls in enumerate(self.core.classes):
            frame[f"p_{id_key(cls)}"] = posterior[:, k]
        return frame

    def to_html(
        self,
        *,
        data: pd.DataFrame | str | None = None,
        show_cols: Sequence[str] = (),
        thumbnails: str | None = None,
        top: int | None = None,
        title: str | None = None,
    ) -> str:
        """The HTML page (docs/html.md); ``data`` (the annotation table, or its path) adds ``show_cols``."""
        from labelaudit.pipeline.render import render_page

        return render_page(
            self.items,
            self.metadata,
            data=data,
            show_cols=show_cols,
            thumbnail_col=thumbnails,
            probabilities=(np.asarray(self.core.posterior), [str(c) for c in self.core.classes]),
            top=top,
            title=title,
            source=str(self.parameters.get("input") or ""),
        )

    def write_html(self, path: str | os.PathLike[str], **options: Any) -> None:
        """Write :meth:`to_html` atomically (``-`` for stdout)."""
        from labelaudit.io.writers import write_text

        write_text(self.to_html(**options), os.fspath(path))

    def _meta(self, schema: str, **extra: Any) -> dict[str, Any]:
        return {"schema": schema, "parameters": self.parameters, "versions": self.versions, **extra}

    def write(self, path: str | os.PathLike[str] | None, format: str | None = None) -> None:
        """Write the item report (format from the extension, or ``format``); atomic for files."""
        _write(self.items, path, format, self.metadata)

    def write_annotators(self, path: str | os.PathLike[str], format: str | None = None) -> None:
        _write(self.annotators, path, format, self._meta(ANNOTATORS_SCHEMA))

    def write_posteriors(self, path: str | os.PathLike[str] | None, format: str | None = None) -> None:
        _write(
            self.posteriors(), path, format, self._meta(POSTERIORS_SCHEMA, classes=self.summary["classes"])
        )

    def write_next(self, path: str | os.PathLike[str] | None, format: str | None = None) -> None:
        if self.next is None:
            raise UsageError("no next-item table: call aggregate(..., next_n=N) with N > 0")
        _write(self.next, path, format, self._meta(NEXT_SCHEMA, summary=self.summary.get("next")))

    def write_audit(self, path: str | os.PathLike[str], format: str | None = None) -> None:
        if self.audit is None:
            raise UsageError("no audit: call aggregate(..., audit=True)")
        _write(self.audit, path, format, self._meta(AUDIT_SCHEMA, summary=self.summary.get("audit")))

    def write_summary(self, path: str | os.PathLike[str] | None) -> None:
        """The summary (with the annotators) as one JSON document."""
        from labelaudit.io.writers import write_json

        document = {
            "schema": SUMMARY_SCHEMA,
            "parameters": self.parameters,
            "versions": self.versions,
            **self.summary,
        }
        write_json(document, "-" if path is None else os.fspath(path))


def _write(frame: pd.DataFrame, path: Any, fmt: str | None, metadata: dict[str, Any]) -> None:
    from labelaudit.io.writers import output_format_for, write_frame

    target = None if path is None else os.fspath(path)
    write_frame(frame, target, output_format_for(target, fmt), metadata=metadata)


# ---------------------------------------------------------------------------------------------- reading
def read_annotation_table(
    path: str,
    input_format: str | None = None,
    *,
    option: str = "DATA",
    text_columns: tuple[str, ...] = (),
) -> pd.DataFrame:
    """A table whose CSV/TSV columns are all read as text (ids and labels are never coerced to numbers).

    Every column, not only the named ones, because a wide table's annotator columns are only known after
    reading. JSON Lines and Parquet keep their own types, with ``text_columns`` read as text from JSON Lines.
    """
    from labelaudit.io.readers import STDIN, check_file, check_header, detect_format, read_table, unreadable

    if path != STDIN and path.lower().endswith(".npy"):
        raise UsageError(
            f"{option} {path}: aggregate needs a table (.csv, .tsv, .parquet, .jsonl) with an item column; "
            "a .npy array has no item ids to join on"
        )
    try:
        fmt = detect_format(path, input_format)
    except UsageError:
        if option == "DATA":
            raise
        raise UsageError(
            f"{option} {path}: cannot tell the format from the extension; name the file .csv, .tsv, "
            ".parquet or .jsonl"
        ) from None
    if fmt not in _TEXT_FORMATS:
        return read_table(path, fmt, text_columns=text_columns)
    if path == STDIN:
        if sys.stdin is None:
            raise InputFileError("<stdin>: standard input is closed")
        try:
            data = sys.stdin.buffer.read()
        except OSError as exc:
            raise InputFileError(f"<stdin>: cannot read: {exc.strerror or exc}") from None
        if not data.strip():
            raise InputFileError("<stdin>: no data on standard input")
        check_header(data, fmt)
        source: Any = io.BytesIO(data)
        label = "<stdin>"
    else:
        check_file(path)
        check_header(path, fmt)
        source, label = path, path
    try:
        frame = pd.read_csv(source, sep="\t" if fmt == "tsv" else ",", dtype=str)
    except pd.errors.EmptyDataError:
        raise InputFileError(f"{label}: file is empty") from None
    except Exception as exc:  # the parser's ValueError, OSError, UnicodeDecodeError ...
        raise unreadable(label, fmt, exc) from None
    if len(frame) == 0:
        raise InputFileError(f"{label}: no data rows")
    return frame


def _as_frame(
    data: Any, input_format: str | None, option: str, text_columns: tuple[str, ...] = ()
) -> tuple[pd.DataFrame, str]:
    if isinstance(data, (str, os.PathLike)):
        from labelaudit.io.columns import display_name

        path = os.fspath(data)
        frame = read_annotation_table(path, input_format, option=option, text_columns=text_columns)
        return frame, display_name(path)
    if isinstance(data, pd.DataFrame):
        return data, "<DataFrame>"
    if type(data).__module__.startswith("pyarrow") and hasattr(data, "to_pandas"):
        return data.to_pandas(), "<Arrow table>"
    raise UsageError(
        f"{option}: expected a file path, a pandas DataFrame or a pyarrow Table, not {type(data).__name__}"
    )


def _probabilities(ann: Any, probs: Any, item_col: str, prob_cols: str) -> tuple[Any, np.ndarray, str]:
    from labelaudit.core.aggregate import align_probabilities
    from labelaudit.io.columns import match_columns, numeric_matrix, require_column

    table, source = _as_frame(probs, None, "--probs", (item_col,))
    ids = require_column(table, item_col, source, "--item-col")
    missing = ids.isna().to_numpy()
    if missing.any():
        row = int(np.flatnonzero(missing)[0])
        raise ColumnError(f"{source}: column {item_col!r} row {row}: item id is missing")
    columns, names = match_columns(table, prob_cols, source, "--prob-cols")
    matrix = numeric_matrix(table, columns, source)
    aligned, matrix = align_probabilities(ann, ids, names, matrix, source=source, column_names=columns)
    return aligned, matrix, source


# ---------------------------------------------------------------------------------------------- the pipeline
def aggregate(
    data: Any,
    *,
    item_col: str = "item",
    annotator_col: str = "annotator",
    label_col: str = "label",
    wide: bool = False,
    method: str = "auto",
    probs: Any = None,
    prob_cols: str = "p_*",
    input_format: str | None = None,
    seed: int = 0,
    max_iter: int = 100,
    tol: float = 1e-7,
    smoothing: float | None = None,
    diagonal: float | None = None,
    audit: bool = False,
    next_n: int = 0,
) -> AggregateResult:
    """Consensus labels, their quality, annotator quality and (optionally) where to label next.

    Parameters
    ----------
    data : str, os.PathLike, pandas.DataFrame or pyarrow.Table
        Annotations: one row per annotation (``item_col``, ``annotator_col``, ``label_col``), or with
        ``wide=True`` one row per item and one column per annotator (blank = not labelled). Files: CSV, TSV,
        Parquet, JSON Lines, or ``-`` for standard input (format from the extension or ``input_format``).
    method : str
        One of :data:`~labelaudit.core.aggregate_methods.METHODS`; see ``docs/aggregate.md``.
    probs : str, os.PathLike, pandas.DataFrame or pyarrow.Table, optional
        Out-of-fold model probabilities: ``item_col`` and the ``prob_cols`` columns (``p_<class>``).
    seed : int
        Seed of the tie rule, of ``auto``'s cross-validation folds and of EBCC's random starts; recorded.
    max_iter, tol, smoothing, diagonal
        Settings of the iterative methods (``None``: each method's default).
    audit : bool
        Also flag individual annotations that are probably wrong (``result.audit``).
    next_n : int
        Rank the ``next_n`` items whose next annotation would most raise the expected accuracy of the
        consensus (``result.next``).

    Raises
    ------
    UsageError, InputError
        Bad parameters (checked before reading anything) or unusable data; one line naming the file, column
        or row.
    """
    from labelaudit.core.aggregate import check_parameters

    check_parameters(
        method=method,
        seed=seed,
        max_iter=max_iter,
        tol=tol,
        smoothing=smoothing,
        diagonal=diagonal,
        prior_smoothing=1.0,
        has_probs=probs is not None,
    )
    if isinstance(next_n, bool) or not isinstance(next_n, (int, np.integer)) or next_n < 0:
        raise UsageError(f"next_n must be an integer >= 0, not {next_n!r}")

    from labelaudit.core.aggregate import Annotations, audit_annotations, next_items
    from labelaudit.core.aggregate import aggregate as run_aggregate
    from labelaudit.pipeline.provenance import versions

    frame, source = _as_frame(data, input_format, "DATA", (item_col, annotator_col, label_col))
    if wide:
        ann = Annotations.from_wide(frame, item_col=item_col, source=source)
    else:
        ann = Annotations.from_long(
            frame, item_col=item_col, annotator_col=annotator_col, label_col=label_col, source=source
        )
    pred_probs = None
    probs_source = None
    if probs is not None:
        ann, pred_probs, probs_source = _probabilities(ann, probs, item_col, prob_cols)
    core = run_aggregate(
        ann,
        method=method,
        pred_probs=pred_probs,
        seed=seed,
        max_iter=max_iter,
        tol=tol,
        smoothing=smoothing,
        diagonal=diagonal,
    )
    if not np.isfinite(core.posterior).all() or not core.items["consensus_quality"].notna().all():
        raise FloatingPointError(f"{core.method}: non-finite consensus; nothing was written")
    summary = core.summary

    audit_frame = None
    if audit:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            audit_frame = audit_annotations(core)
        flagged = int(audit_frame["is_label_issue"].sum())
        per_annotator = audit_frame.groupby("annotator", sort=True)["is_label_issue"].sum()
        summary["audit"] = {
            "num_annotations": len(audit_frame),
            "num_issues": flagged,
            "issue_rate": flagged / max(len(audit_frame), 1),
            "method": "confident learning (prune_by_noise_rate) on leave-one-out consensus posteriors",
            "issues_per_annotator": {str(k): int(v) for k, v in per_annotator.items() if v > 0},
        }
    next_frame = None
    if next_n:
        order, gain = next_items(core.annotations, core.fit, int(next_n))
        chosen = core.items.iloc[order]
        next_frame = pd.DataFrame(
            {
                "rank": np.arange(1, len(order) + 1, dtype=np.int64),
                "item": chosen["item"].to_numpy(),
                "consensus_label": chosen["consensus_label"].to_numpy(),
                "consensus_quality": chosen["consensus_quality"].to_numpy(),
                "num_annotations": chosen["num_annotations"].to_numpy(),
                "expected_gain": gain,
            }
        )
        summary["next"] = {
            "num_items": len(order),
            "criterion": "expected information gain (nats) about the item's class from one more annotation "
            "by a typical annotator",
            "expected_gain_total": float(gain.sum()),
        }
    parameters = {
        "input": source,
        "wide": wide,
        "item_col": item_col,
        "annotator_col": None if wide else annotator_col,
        "label_col": None if wide else label_col,
        "method": method,
        "probs": probs_source,
        "prob_cols": prob_cols if probs is not None else None,
        "seed": seed,
        "max_iter": max_iter,
        "tol": tol,
        "smoothing": smoothing,
        "diagonal": diagonal,
        "audit": audit,
        "next": int(next_n),
    }
    return AggregateResult(
        items=core.items,
        annotators=core.annotators,
        summary=summary,
        parameters=parameters,
        versions=versions(),
        core=core,
        audit=audit_frame,
        next=next_frame,
    )
