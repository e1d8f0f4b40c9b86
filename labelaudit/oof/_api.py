"""``out_of_fold``: every row's class probabilities from a model that never saw that row."""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from labelaudit.errors import ColumnError, InputError, LabelauditWarning, UsageError
from labelaudit.oof import _folds, _labels
from labelaudit.oof._features import encode_features, select_columns
from labelaudit.oof._models import DEVICES, MODELS, fit_predict
from labelaudit.oof._neighbours import DEFAULT_NEIGHBOURS, neighbour_agreement, neighbour_indices
from labelaudit.oof._result import SCHEMA, OOFResult

#: progress(folds_done, folds, seconds_of_the_last_fold)
Progress = Callable[[int, int, float], None]


def _check_parameters(model: str, folds: int, device: str, neighbours: int) -> None:
    if model not in MODELS:
        raise UsageError(f"--model must be one of {', '.join(MODELS)}, not {model!r}")
    if isinstance(folds, bool) or not isinstance(folds, int | np.integer) or folds < 2:
        raise UsageError(f"--folds must be an integer >= 2, not {folds!r}")
    if device not in DEVICES:
        raise UsageError(f"--device must be one of {', '.join(DEVICES)}, not {device!r}")
    if device == "cuda" and model != "mlp":
        raise UsageError("--device cuda applies only to --model mlp")
    if isinstance(neighbours, bool) or not isinstance(neighbours, int | np.integer) or neighbours < 0:
        raise UsageError(f"--neighbours must be an integer >= 0 (0 = off), not {neighbours!r}")


def _versions(model: str) -> dict[str, str]:
    import sklearn

    from labelaudit import __version__

    found = {"labelaudit": __version__, "numpy": np.__version__, "scikit-learn": sklearn.__version__}
    if model == "mlp":
        import torch

        found["torch"] = torch.__version__
    return found


def out_of_fold(
    data: pd.DataFrame | str,
    *,
    features: str | Sequence[str] = "auto",
    label_col: str = "label",
    model: str = "logreg",
    folds: int = 5,
    seed: int = 0,
    id_col: str | None = None,
    multi_label: bool = False,
    label_sep: str = ",",
    categorical: str = "onehot",
    device: str = "auto",
    neighbours: int = DEFAULT_NEIGHBOURS,
    input_format: str | None = None,
    source: str | None = None,
    progress: Progress | None = None,
) -> OOFResult:
    """Out-of-fold predicted probabilities of every row of ``data`` (a DataFrame or a table file).

    Stratified ``folds``-fold cross-validation: each row's probabilities come from ``model`` fitted on the
    other folds. ``features`` is ``"auto"`` (every column but ``label_col`` and ``id_col``) or column names
    / globs. Folds, model fits and the ``neighbours``-nearest-neighbour agreement depend on the rows'
    content (or ids) and ``seed``, not on the row order. Classes (tags) with fewer examples than folds are
    kept, warned about and listed in ``metadata["rare_classes"]``. ``source`` names a DataFrame in messages.
    """
    from threadpoolctl import threadpool_limits

    _check_parameters(model, folds, device, neighbours)
    if isinstance(data, str):
        from labelaudit.io.readers import read_table

        source = "<stdin>" if data == "-" else data
        # labels and ids as text, as `labelaudit scan` reads them: class names match its reading
        frame = read_table(data, input_format, text_columns=(label_col, *([id_col] if id_col else [])))
    else:
        source = source or "data"
        frame = data
    if label_col not in frame.columns:
        raise ColumnError(f"{source}: no column {label_col!r} (--label-col)")
    ids = None
    if id_col is not None:
        if id_col not in frame.columns:
            raise ColumnError(f"{source}: no column {id_col!r} (--id-col)")
        if id_col == label_col:
            raise UsageError("--id-col and --label-col name the same column")
        id_series = frame[id_col]
        if id_series.isna().any():
            row = int(np.flatnonzero(id_series.isna().to_numpy())[0])
            raise ColumnError(f"{source}: column {id_col!r} row {row}: id is missing")
        ids = id_series.astype(str)
        duplicated = ids.duplicated()
        if duplicated.any():
            raise InputError(f"{source}: id {ids[duplicated].iloc[0]!r} appears more than once in {id_col!r}")
    columns = select_columns(
        frame, features, exclude=[label_col, *([id_col] if id_col else [])], source=source
    )
    encoded = encode_features(frame, columns, source=source, categorical=categorical)
    if multi_label:
        labels, class_names = _labels.tag_matrix(frame[label_col], source, label_col, label_sep)
        counts = labels.sum(axis=0).astype(np.int64)
    else:
        labels, class_names = _labels.class_labels(frame[label_col], source, label_col)
        counts = np.bincount(labels, minlength=len(class_names))
    n = len(frame)
    if folds > n:
        raise UsageError(f"--folds {folds} is more than the {n} rows of {source}")
    if model == "mlp":
        from labelaudit.oof._mlp import resolve_device

        device = resolve_device(device)
    else:
        device = "cpu"

    keys = (
        _folds.keys_from_ids(ids, seed)
        if ids is not None
        else _folds.keys_from_content(encoded.matrix, labels, seed)
    )
    fold = _folds.stratified_folds(_folds.strata(labels), keys, folds)
    order = _folds.key_order(keys)
    X = encoded.matrix
    rare = {name: int(c) for name, c in zip(class_names, counts, strict=True) if c < folds}
    if rare:
        shown = ", ".join(f"{name!r} ({count})" for name, count in list(rare.items())[:5])
        more = f" and {len(rare) - 5} more" if len(rare) > 5 else ""
        what = "tags" if multi_label else "classes"
        warnings.warn(
            f"{source}: {len(rare)} {what} have fewer examples than the {folds} folds: {shown}{more}; "
            "when held out, their rows are predicted from even fewer (none: probability near 0)",
            LabelauditWarning,
            stacklevel=2,
        )

    probabilities = np.zeros((n, len(class_names)), dtype=np.float32)
    # one thread per fit: the same numbers on any machine, and no oversubscription on shared cores
    with threadpool_limits(limits=1):
        for f in range(folds):
            t0 = time.perf_counter()
            train = order[fold[order] != f]
            test = order[fold[order] == f]
            probabilities[test] = fit_predict(
                model,
                X[train],
                labels[train],
                X[test],
                num_classes=len(class_names),
                seed=seed,
                device=device,
            )
            if progress is not None:
                progress(f + 1, folds, time.perf_counter() - t0)
        agreement = None
        if neighbours > 0 and n > 1:
            agreement = neighbour_agreement(labels, neighbour_indices(X, order, neighbours))

    if multi_label:
        predicted = probabilities >= 0.5
        accuracy = float((predicted == labels.astype(bool)).mean())
    else:
        accuracy = float((probabilities.argmax(axis=1) == labels).mean())
    metadata: dict[str, Any] = {
        "schema": SCHEMA,
        "input": source,
        "model": model,
        "folds": folds,
        "seed": seed,
        "device": device,
        "multi_label": multi_label,
        "label_col": label_col,
        "id_col": id_col,
        "features": encoded.columns,
        "encoding": encoded.encoding,
        "categorical": categorical,
        "neighbours": neighbours if agreement is not None else 0,
        "classes": class_names,
        "class_counts": {name: int(c) for name, c in zip(class_names, counts, strict=True)},
        "rare_classes": rare,
        "fold_sizes": np.bincount(fold, minlength=folds).tolist(),
        "accuracy_against_given_labels": accuracy,
        "versions": _versions(model),
    }
    return OOFResult(
        probabilities=probabilities,
        class_names=class_names,
        labels=labels,
        fold=fold,
        ids=ids.to_numpy(dtype=object) if ids is not None else None,
        id_col=id_col,
        neighbour_agreement=agreement,
        metadata=metadata,
    )
