"""The in-memory engine: the whole table and its probability matrix at once (every capability)."""

from __future__ import annotations

import warnings
from typing import Any

from labelaudit.engines.base import RowResults, ScanOptions, located
from labelaudit.io.columns import Probabilities, display_name, load_probabilities


def load_probabilities_for(frame: Any, opts: ScanOptions, source: str) -> Probabilities:
    """:func:`~labelaudit.io.columns.load_probabilities` with the options of a scan."""
    return load_probabilities(
        frame,
        source,
        probs_path=opts.probs,
        prob_cols=opts.prob_cols,
        id_col=opts.id_col,
        class_names=opts.classes,
        input_format=opts.input_format,
    )


def run_single_label(frame: Any, opts: ScanOptions) -> RowResults:
    """The single-label confident-learning scan of an already-read table."""
    from labelaudit.io.columns import encode_labels, require_column

    source = display_name(opts.data)
    label_series = require_column(frame, opts.label_col, source, "--label-col")
    ids = require_column(frame, opts.id_col, source, "--id-col") if opts.id_col else None
    probs = load_probabilities_for(frame, opts, source)
    labels, class_names = encode_labels(label_series, probs.class_names, source, opts.label_col)
    id_values = ids.astype(str).to_numpy() if ids is not None else None
    return _scan_arrays(labels, probs.matrix, class_names, id_values, probs.source, opts)


def run_single_label_parquet(opts: ScanOptions) -> RowResults | None:
    """The scan of a Parquet file read straight from Arrow: the matrix filled row group by row group (never a
    pandas frame), labels dictionary-encoded by Arrow. ``None`` when the file is anything but the plain case
    (probabilities elsewhere, non-float or null cells, labels that do not all name classes): the caller then
    takes the general path, which also words the error."""
    from labelaudit.io.arrow import read_parquet_scan

    read = read_parquet_scan(opts.data, opts.label_col, opts.prob_cols, opts.id_col)
    if read is None:
        return None
    labels, matrix, class_names, ids = read
    from labelaudit.core.validate import check_inputs
    from labelaudit.errors import InputError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # said again, in the caller's words, by _scan_arrays
            check_inputs(labels, matrix)
    except InputError:
        return None  # the general path names the column and row
    return _scan_arrays(labels, matrix, class_names, ids, opts.data, opts)


def _scan_arrays(
    labels: Any, matrix: Any, class_names: list[str], id_values: Any, probs_source: str, opts: ScanOptions
) -> RowResults:
    from labelaudit.core.filter import find_label_issues
    from labelaudit.core.posterior import error_probability
    from labelaudit.core.scores import label_quality_scores, predicted_labels
    from labelaudit.core.summary import dataset_summary
    from labelaudit.core.validate import check_inputs
    from labelaudit.errors import LabelauditWarning

    with located(probs_source):
        labels, pred_probs = check_inputs(labels, matrix, normalize=opts.normalize)

    with warnings.catch_warnings():
        # the inputs were checked (and warned about) once above; the calls below check them again
        warnings.simplefilter("ignore", LabelauditWarning)
        error = error_probability(labels, pred_probs, compat=opts.compat)
        issues = find_label_issues(
            labels,
            pred_probs,
            filter_by=opts.method,
            frac_noise=opts.frac_noise,
            compat=opts.compat,
            error_probability=error,
        )
        quality = label_quality_scores(labels, pred_probs, method=opts.score, compat=opts.compat)
        suggested = predicted_labels(pred_probs)
        summary = dataset_summary(
            labels, pred_probs, class_names=class_names, compat=opts.compat, issues=issues
        )

    return RowResults(
        labels, suggested, quality, issues, class_names, id_values, summary, error_probability=error
    )
