"""`labelaudit oof`: out-of-fold predicted probabilities from features or embeddings.

Writes the ``labelaudit.oof/1`` table of :mod:`labelaudit.oof._result` (``p_<class>`` columns, the
``--id-col`` column when given, and ``neighbour_agreement``), ready for ``labelaudit scan DATA --probs``.
"""

from __future__ import annotations

import sys
import time

import typer

from labelaudit.cli.errors import handle_errors


@handle_errors
def oof(
    data: str = typer.Argument(..., help="Labelled table: .csv, .tsv, .parquet, .jsonl, or - for stdin."),
    output: str = typer.Option(
        ...,
        "-o",
        "--output",
        help="Write the probabilities here (.parquet, .csv, .jsonl, .json; - for stdout).",
    ),
    features: str = typer.Option(
        "auto",
        "--features",
        help="Feature columns, comma-separated (globs allowed), or auto: every column but the label and id.",
    ),
    label_col: str = typer.Option("label", "--label-col", help="Column with the given labels."),
    model: str = typer.Option(
        "logreg", "--model", help="logreg, hgb (gradient boosting), knn, or mlp (PyTorch; the torch extra)."
    ),
    folds: int = typer.Option(5, "--folds", help="Number of stratified folds (>= 2)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the fold split and the models."),
    device: str = typer.Option("auto", "--device", help="--model mlp: auto, cpu or cuda."),
    id_col: str | None = typer.Option(
        None, "--id-col", help="Column identifying rows: written beside the probabilities, for scan --id-col."
    ),
    multi_label: bool = typer.Option(
        False, "--multi-label", help="Each row has a set of tags: one independent probability per tag."
    ),
    label_sep: str = typer.Option(
        ",", "--label-sep", help="Multi-label: separator of tags in the label column."
    ),
    categorical: str = typer.Option(
        "onehot", "--categorical", help="Text columns: onehot, ordinal, or none (refuse them)."
    ),
    neighbours: int = typer.Option(
        10, "--neighbours", help="k of the neighbour-agreement column (0 = leave it out)."
    ),
    input_format: str | None = typer.Option(
        None, "--input-format", help="Force the input format: csv, tsv, parquet, jsonl."
    ),
    fmt: str | None = typer.Option(
        None, "--format", help="Output format: csv, jsonl, json, parquet (default: from -o's extension)."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print nothing but errors."),
) -> None:
    """Out-of-fold probabilities from features or embeddings, for `labelaudit scan --probs`."""
    from labelaudit.errors import UsageError
    from labelaudit.io.paths import check_paths
    from labelaudit.io.writers import output_format_for
    from labelaudit.oof import out_of_fold

    started = time.perf_counter()
    out_fmt = output_format_for(output, fmt)
    if out_fmt == "table":
        raise UsageError("--format table is for reports; write probabilities as parquet, csv, jsonl or json")
    check_paths([("DATA", data)], [("-o", output)])

    def progress(done: int, total: int, seconds: float) -> None:
        sys.stderr.write(f"labelaudit: fold {done}/{total} fitted ({seconds:.1f}s)\n")
        sys.stderr.flush()

    result = out_of_fold(
        data,
        features=features,
        label_col=label_col,
        model=model,
        folds=folds,
        seed=seed,
        id_col=id_col,
        multi_label=multi_label,
        label_sep=label_sep,
        categorical=categorical,
        device=device,
        neighbours=neighbours,
        input_format=input_format,
        progress=progress if (not quiet and sys.stderr.isatty()) else None,
    )
    result.write(output, out_fmt)
    if quiet:
        return
    meta = result.metadata
    what = "tags" if multi_label else "classes"
    rare = f", {len(meta['rare_classes'])} rare {what}" if meta["rare_classes"] else ""
    where = "stdout" if output == "-" else output
    sys.stderr.write(
        f"labelaudit: {meta['model']} over {meta['folds']} folds: {len(result.probabilities)} rows, "
        f"{len(result.class_names)} {what}{rare}, accuracy against the given labels "
        f"{meta['accuracy_against_given_labels']:.3f}; wrote {where} "
        f"[{time.perf_counter() - started:.1f}s]\n"
    )
