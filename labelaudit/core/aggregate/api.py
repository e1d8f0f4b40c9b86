"""`aggregate`: consensus labels, their quality and annotator quality from several annotators per item."""

from __future__ import annotations

import json
import numbers
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from labelaudit.core.aggregate.base import MethodFit, vote_counts
from labelaudit.core.aggregate.crowdlab import crowdlab
from labelaudit.core.aggregate.data import Annotations, _common_type, canonical_values, id_key
from labelaudit.core.aggregate.dawid_skene import (
    DEFAULT_DIAGONAL,
    DEFAULT_PRIOR_SMOOTHING,
    DEFAULT_SMOOTHING,
    confusion_matrices,
    dawid_skene,
)
from labelaudit.core.aggregate.ebcc import DEFAULT_RESTARTS, DEFAULT_SUBTYPES, ebcc
from labelaudit.core.aggregate.ibcc import DEFAULT_VB_DIAGONAL, DEFAULT_VB_SMOOTHING, ibcc
from labelaudit.core.aggregate.majority import majority_vote
from labelaudit.core.aggregate.quality import (
    AnnotatorMetrics,
    ItemMetrics,
    annotator_metrics,
    item_metrics,
    majority_vote_regime,
)
from labelaudit.core.aggregate.select import Choice, choose_method
from labelaudit.core.aggregate.wawa import wawa
from labelaudit.core.aggregate_methods import AUTO_CANDIDATES, METHODS
from labelaudit.errors import InputError, InvalidProbabilitiesError, LabelauditWarning, UsageError

#: Largest accepted pseudo-count (larger ones only drown the data, and overflow far beyond).
MAX_PSEUDO_COUNT = 1e6
#: Largest accepted number of EM / variational iterations.
MAX_ITERATIONS = 100_000
ITEM_COLUMNS = (
    "item",
    "consensus_label",
    "consensus_quality",
    "agreement",
    "num_annotations",
    "is_tie",
    "runner_up_label",
    "confusion_probability",
)
ANNOTATOR_COLUMNS = (
    "annotator",
    "quality",
    "agreement",
    "num_annotations",
    "num_items",
    "worst_class",
    "worst_class_accuracy",
)


@dataclass
class AggregateResult:
    """Everything :func:`aggregate` estimated.

    Attributes
    ----------
    items : pandas.DataFrame
        One row per item (sorted by item id), columns :data:`ITEM_COLUMNS`.
    annotators : pandas.DataFrame
        One row per annotator (sorted by id), columns :data:`ANNOTATOR_COLUMNS` plus ``confusion_matrix`` (JSON
        text, rows = true class, columns = given label, classes in ``summary["classes"]`` order) for the
        Dawid-Skene methods.
    summary : dict
        Method, convergence, class prior, majority-vote regime, warnings and per-annotator statistics; JSON-ready.
    posterior : numpy.ndarray, shape (I, K)
        Each item's class probabilities under the method that ran.
    annotations : Annotations
        The canonical annotations (with every class of the probabilities, if any).
    fit : MethodFit
    """

    items: pd.DataFrame
    annotators: pd.DataFrame
    summary: dict[str, Any]
    posterior: np.ndarray
    annotations: Annotations
    fit: MethodFit
    item_metrics: ItemMetrics = field(repr=False)
    annotator_metrics: AnnotatorMetrics = field(repr=False)
    pred_probs: np.ndarray | None = field(default=None, repr=False)

    @property
    def method(self) -> str:
        return self.fit.method

    @property
    def classes(self) -> np.ndarray:
        return self.annotations.classes

    def confusion_matrices(self) -> np.ndarray | None:
        """``pi[j, k, l] = P(annotator j says l | true class k)`` for the Dawid-Skene methods, else None."""
        return confusion_matrices(self.fit)


def check_parameters(
    *,
    method: str,
    seed: int,
    max_iter: int,
    tol: float,
    smoothing: float | None,
    diagonal: float | None,
    prior_smoothing: float,
    has_probs: bool,
) -> None:
    """Validate every parameter up front; raise one :class:`UsageError` naming the first bad one.

    Pseudo-counts must be finite numbers in ``[0, MAX_PSEUDO_COUNT]`` (``None``: the method's default); EM and
    the variational updates stay finite for every accepted value (cells with no mass get a floor).
    """
    if not isinstance(method, str) or method not in METHODS:
        raise UsageError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
    if method == "crowdlab" and not has_probs:
        raise UsageError("method 'crowdlab' needs model probabilities (--probs)")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or not 0 <= seed < 2**63:
        raise UsageError(f"seed must be an integer in [0, 2**63), not {seed!r}")
    if (
        isinstance(max_iter, bool)
        or not isinstance(max_iter, numbers.Integral)
        or not 1 <= max_iter <= MAX_ITERATIONS
    ):
        raise UsageError(f"max_iter must be an integer in [1, {MAX_ITERATIONS}], not {max_iter!r}")
    if isinstance(tol, bool) or not (isinstance(tol, numbers.Real) and np.isfinite(tol) and 0 < tol <= 1):
        raise UsageError(f"tol must be a number in (0, 1], not {tol!r}")
    for name, value in (
        ("smoothing", smoothing),
        ("diagonal", diagonal),
        ("prior_smoothing", prior_smoothing),
    ):
        if value is None and name != "prior_smoothing":
            continue
        if isinstance(value, bool) or not (
            isinstance(value, numbers.Real) and np.isfinite(value) and 0 <= value <= MAX_PSEUDO_COUNT
        ):
            raise UsageError(f"{name} must be a number in [0, {MAX_PSEUDO_COUNT:g}], not {value!r}")


def resolve_method(method: str, has_probs: bool) -> str:
    """``auto`` is ``crowdlab`` with model probabilities; without, it stays ``auto`` (chosen from the data)."""
    if method == "auto" and has_probs:
        return "crowdlab"
    return method


def _fitters(
    *,
    probs: np.ndarray | None,
    seed: int,
    max_iter: int,
    tol: float,
    smoothing: float | None,
    diagonal: float | None,
    prior_smoothing: float,
) -> dict[str, Callable[[Annotations], MethodFit]]:
    """Every method as a function of the annotations, with the caller's settings."""
    ds = {
        "smoothing": DEFAULT_SMOOTHING if smoothing is None else smoothing,
        "diagonal": DEFAULT_DIAGONAL if diagonal is None else diagonal,
        "prior_smoothing": prior_smoothing,
        "max_iter": max_iter,
        "tol": tol,
        "seed": seed,
        "pred_probs": probs,
    }
    vb = {
        **ds,
        "smoothing": DEFAULT_VB_SMOOTHING if smoothing is None else smoothing,
        "diagonal": DEFAULT_VB_DIAGONAL if diagonal is None else diagonal,
    }
    fitters: dict[str, Callable[[Annotations], MethodFit]] = {
        "majority": lambda a: majority_vote(a, pred_probs=probs, seed=seed),
        "wawa": lambda a: wawa(a, pred_probs=probs, seed=seed),
        "dawid-skene": lambda a: dawid_skene(a, **ds),
        "one-coin": lambda a: dawid_skene(a, one_coin=True, **ds),
        "ibcc": lambda a: ibcc(a, **vb),
        "ebcc": lambda a: ebcc(a, n_subtypes=DEFAULT_SUBTYPES, restarts=DEFAULT_RESTARTS, **vb),
    }
    if probs is not None:
        fitters["crowdlab"] = lambda a: crowdlab(a, probs, seed=seed)
    return fitters


def _held_out_fitters(
    fitters: dict[str, Callable[[Annotations], MethodFit]],
) -> dict[str, Callable[[Annotations], MethodFit]]:
    return {name: fitters[name] for name in AUTO_CANDIDATES}


def _fit_chosen(
    ann: Annotations, chosen: str, fitters: dict[str, Callable[[Annotations], MethodFit]], seed: int
) -> tuple[MethodFit, Choice | None]:
    choice = None
    if chosen == "auto":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", LabelauditWarning)
            choice = choose_method(ann, _held_out_fitters(fitters), seed=seed)
        chosen = choice.method
    if choice is not None and chosen in ("majority", "wawa"):
        # the vote cannot break its own ties; the IBCC posterior can (it knows who voted)
        referee = fitters["ibcc"](ann).posterior
        fit = (majority_vote if chosen == "majority" else wawa)(ann, pred_probs=referee, seed=seed)
        fit.info["ties_broken_by"] = "ibcc posterior"
    else:
        fit = fitters[chosen](ann)
    if not np.isfinite(fit.posterior).all():
        raise FloatingPointError(f"{fit.method}: the fit produced non-finite posteriors")
    return fit, choice


def fit_consensus(
    annotations: Annotations,
    *,
    method: str = "auto",
    seed: int = 0,
    max_iter: int = 100,
    tol: float = 1e-7,
    smoothing: float | None = None,
    diagonal: float | None = None,
) -> tuple[MethodFit, Choice | None]:
    """Only the consensus: what :func:`aggregate` fits (``auto``'s choice included), without its quality
    measures, tables and summary. Returns the fit and, for ``auto``, the :class:`Choice`."""
    check_parameters(
        method=method,
        seed=seed,
        max_iter=max_iter,
        tol=tol,
        smoothing=smoothing,
        diagonal=diagonal,
        prior_smoothing=DEFAULT_PRIOR_SMOOTHING,
        has_probs=False,
    )
    fitters = _fitters(
        probs=None,
        seed=seed,
        max_iter=max_iter,
        tol=tol,
        smoothing=smoothing,
        diagonal=diagonal,
        prior_smoothing=DEFAULT_PRIOR_SMOOTHING,
    )
    return _fit_chosen(annotations, method, fitters, seed)


def aggregate(
    annotations: Annotations,
    *,
    method: str = "auto",
    pred_probs: np.ndarray | None = None,
    seed: int = 0,
    max_iter: int = 100,
    tol: float = 1e-7,
    smoothing: float | None = None,
    diagonal: float | None = None,
    prior_smoothing: float = DEFAULT_PRIOR_SMOOTHING,
) -> AggregateResult:
    """Consensus labels and annotator quality from several annotators per item.

    Parameters
    ----------
    annotations : Annotations
        Build with :meth:`Annotations.from_long`, :meth:`Annotations.from_wide` or
        :meth:`Annotations.from_arrays`; with model probabilities, first pass both through
        :func:`align_probabilities`.
    method : str
        One of :data:`~labelaudit.core.aggregate.methods.METHODS`. ``auto`` runs ``crowdlab`` when
        ``pred_probs`` is given; otherwise it scores every method of
        :data:`~labelaudit.core.aggregate.methods.AUTO_CANDIDATES` by cross-validated agreement with held-out
        annotations and runs the best (:func:`~labelaudit.core.aggregate.select.choose_method`);
        ``summary["auto"]`` holds the scores and ``summary["auto_reason"]`` says why.
    pred_probs : numpy.ndarray, shape (I, K), optional
        Out-of-fold model probabilities aligned with ``annotations.items`` / ``annotations.classes``. CROWDLAB
        pools them with the annotators; the other methods use them only to break ties.
    seed : int
        Seed of the tie rule (a hash of the seed and the item id), of the cross-validation folds of ``auto``
        and of EBCC's random starts. The same annotations in any row order give the same result.
    max_iter, tol, smoothing, diagonal, prior_smoothing
        Settings of the iterative methods (ignored by the others). ``smoothing`` / ``diagonal`` default to
        0.5 / 1.0 for Dawid-Skene and one-coin, 1.0 / 2.0 for IBCC and EBCC.

    Raises
    ------
    UsageError
        A parameter is invalid (checked before any work).
    InputError
        ``pred_probs`` has the wrong shape or holds values that are not probabilities.
    """
    check_parameters(
        method=method,
        seed=seed,
        max_iter=max_iter,
        tol=tol,
        smoothing=smoothing,
        diagonal=diagonal,
        prior_smoothing=prior_smoothing,
        has_probs=pred_probs is not None,
    )
    ann = annotations
    probs = None
    if pred_probs is not None:
        probs = np.ascontiguousarray(pred_probs, dtype=np.float64)
        if probs.shape != (ann.n_items, ann.n_classes):
            raise InputError(
                f"pred_probs must have shape ({ann.n_items}, {ann.n_classes}), not {probs.shape}"
            )
        probs = check_probabilities(probs, "pred_probs")
    chosen = resolve_method(method, probs is not None)
    fitters = _fitters(
        probs=probs,
        seed=seed,
        max_iter=max_iter,
        tol=tol,
        smoothing=smoothing,
        diagonal=diagonal,
        prior_smoothing=prior_smoothing,
    )
    fit, choice = _fit_chosen(ann, chosen, fitters, seed)
    for message in fit.warnings:
        warnings.warn(message, LabelauditWarning, stacklevel=2)

    mv = fit if fit.method == "majority" else majority_vote(ann, pred_probs=probs, seed=seed)
    counts = vote_counts(ann)
    annotator_m = annotator_metrics(ann, fit)
    item_m = item_metrics(ann, fit, counts, annotator_m.reliability)
    if fit.method in ("majority", "wawa"):
        # their posteriors are symmetric in the annotators, so they cannot tell annotators apart: take the
        # accuracies and class prior for the regime check from a one-coin Dawid-Skene fit
        reference = fitters["one-coin"](ann)
        accuracy, prior = annotator_metrics(ann, reference).quality, reference.class_prior
        regime_source = "one-coin"
    else:
        accuracy, prior, regime_source = annotator_m.quality, fit.class_prior, fit.method
    regime = majority_vote_regime(ann, accuracy, prior, fit.consensus, mv.consensus, fit.method)
    regime["accuracies_from"] = regime_source

    items = _items_frame(ann, fit, item_m)
    annotators = _annotators_frame(ann, fit, annotator_m)
    summary = _summary(ann, fit, method, item_m, annotators, regime, probs is not None)
    if choice is not None:
        summary["auto"] = _clean(choice.as_dict())
        summary["auto_reason"] = choice.reason
        if fit.info.get("ties_broken_by"):
            summary["auto_reason"] += f"; its ties broken by the {fit.info['ties_broken_by']}"
    elif method == "auto":
        summary["auto_reason"] = "model probabilities were given: crowdlab pools them with the annotators"
    return AggregateResult(items, annotators, summary, fit.posterior, ann, fit, item_m, annotator_m, probs)


def check_probabilities(
    matrix: np.ndarray, source: str, column_names: list[str] | None = None, rows: np.ndarray | None = None
) -> np.ndarray:
    """Finite values in [0, 1] whose rows sum to 1 (rows off by more than 1e-3 are rescaled, with a warning).

    Messages name the column (``column_names``, else its position) and the row (``rows[i]`` when the matrix
    was re-ordered from a file, else ``i``).
    """

    def where(row: int, col: int | None = None) -> str:
        at = f"row {int(rows[row]) if rows is not None else int(row)}"
        if col is None:
            return at
        name = repr(column_names[col]) if column_names is not None else str(int(col))
        return f"column {name} {at}"

    bad = ~np.isfinite(matrix)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise InvalidProbabilitiesError(f"{source}: {where(row, col)}: value is not finite")
    outside = (matrix < -1e-9) | (matrix > 1 + 1e-9)
    if outside.any():
        row, col = np.argwhere(outside)[0]
        raise InvalidProbabilitiesError(
            f"{source}: {where(row, col)}: {matrix[row, col]:g} is not a probability in [0, 1] "
            "(logits? apply a softmax first)"
        )
    matrix = np.clip(matrix, 0.0, 1.0)
    sums = matrix.sum(axis=1)
    if (sums <= 0).any():
        row = int(np.flatnonzero(sums <= 0)[0])
        raise InvalidProbabilitiesError(f"{source}: {where(row)}: probabilities are all zero")
    off = np.abs(sums - 1.0) > 1e-3
    if off.any():
        warnings.warn(
            f"{source}: {int(off.sum())} row(s) do not sum to 1; rescaled", LabelauditWarning, stacklevel=3
        )
    return np.ascontiguousarray(matrix / sums[:, None])


def align_probabilities(
    annotations: Annotations,
    items: object,
    class_names: list[object],
    matrix: np.ndarray,
    *,
    source: str = "probabilities",
    column_names: list[str] | None = None,
) -> tuple[Annotations, np.ndarray]:
    """Line up model probabilities (one row per item id, one column per class) with ``annotations``.

    Classes are matched by value (``p_3`` is class ``3`` when labels are integers); classes that only the
    probabilities know are added to the class set. Every annotated item needs exactly one row and every
    annotated class a column; rows for items nobody annotated are ignored (with a warning).

    Returns the annotations re-coded against the union of classes and an ``I x K`` matrix in their order.
    """
    matrix = np.asarray(matrix, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[1] != len(class_names):
        raise InputError(
            f"{source}: expected one column per class ({len(class_names)}), got shape {matrix.shape}"
        )
    names = canonical_values(pd.Series(list(class_names), dtype=object), integer_strings=True)
    if len(set(names.tolist())) != len(names):
        raise InputError(f"{source}: the same class appears in two probability columns")
    annotated, names = _common_type(annotations.classes, names)
    name_index = pd.Index(names)
    missing = name_index.get_indexer(annotated) < 0
    if missing.any():
        absent = annotated[np.flatnonzero(missing)[0]]
        raise InputError(
            f"{source}: no probability column for class {id_key(absent)!r}, which annotators used "
            f"(probability classes: {', '.join(id_key(n) for n in names[:20])})"
        )
    union = np.array(sorted(set(names.tolist())), dtype=names.dtype)
    if annotated.dtype != annotations.classes.dtype:
        annotations = Annotations(**{**annotations.__dict__, "classes": annotated})
    ann = annotations.with_classes(union)
    columns = name_index.get_indexer(union)
    matrix = matrix[:, columns]
    if column_names is not None:
        column_names = [column_names[c] for c in columns]

    keys = canonical_values(pd.Series(np.asarray(items, dtype=object)))
    ann_keys, keys = _common_type(ann.items, keys)
    key_index = pd.Index(keys)
    if key_index.has_duplicates:
        dup = key_index[key_index.duplicated()][0]
        raise InputError(f"{source}: item {id_key(dup)!r} has more than one row")
    position = key_index.get_indexer(ann_keys)
    if (position < 0).any():
        absent_at = np.flatnonzero(position < 0)
        raise InputError(
            f"{source}: no probabilities for item {id_key(ann.items[absent_at[0]])!r} "
            f"({len(absent_at)} annotated item(s) have no row)"
        )
    extra = len(keys) - len(ann_keys)
    if extra > 0:
        warnings.warn(
            f"{source}: {extra} row(s) for items nobody annotated were ignored",
            LabelauditWarning,
            stacklevel=2,
        )
    aligned = np.ascontiguousarray(matrix[position])
    return ann, check_probabilities(aligned, source, column_names, rows=position)


# ---------------------------------------------------------------------------------------------- frames
def _values(classes: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Class values for codes, with None where the code is -1."""
    ok = codes >= 0
    if ok.all():
        return classes[codes]
    out = np.empty(len(codes), dtype=object)
    out[ok] = classes[codes[ok]]
    out[~ok] = None
    return out


def _items_frame(ann: Annotations, fit: MethodFit, m: ItemMetrics) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "item": ann.items,
            "consensus_label": ann.classes[fit.consensus],
            "consensus_quality": m.quality.astype(np.float64),
            "agreement": m.agreement.astype(np.float64),
            "num_annotations": m.num_annotations,
            "is_tie": fit.is_tie.astype(bool),
            "runner_up_label": _values(ann.classes, m.runner_up),
            "confusion_probability": m.confusion_probability.astype(np.float64),
        }
    )


def _nullable(values: np.ndarray) -> np.ndarray:
    out = values.astype(object)
    out[~np.isfinite(values)] = None
    return out


def _annotators_frame(ann: Annotations, fit: MethodFit, m: AnnotatorMetrics) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "annotator": ann.annotators,
            "quality": m.quality,
            "agreement": m.agreement,
            "num_annotations": m.num_annotations,
            "num_items": m.num_items,
            "worst_class": _values(ann.classes, m.worst_class),
            "worst_class_accuracy": _nullable(m.worst_class_accuracy)
            if not np.isfinite(m.worst_class_accuracy).all()
            else m.worst_class_accuracy,
        }
    )
    pi = confusion_matrices(fit)
    if pi is not None:
        frame["confusion_matrix"] = [json.dumps(np.round(p, 6).tolist()) for p in pi]
    return frame


# ---------------------------------------------------------------------------------------------- summary
def _clean(value: Any) -> Any:
    """JSON-ready: numpy scalars to Python, non-finite floats to None, arrays to lists."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "iub" or (value.dtype.kind == "f" and np.isfinite(value).all()):
            return value.tolist()  # already JSON-ready: skip the per-element walk (large confusion matrices)
        return [_clean(v) for v in value.tolist()]
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        value = float(value)
        return value if np.isfinite(value) else None
    return value


def _class_value(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def _summary(
    ann: Annotations,
    fit: MethodFit,
    requested: str,
    m: ItemMetrics,
    annotators: pd.DataFrame,
    regime: dict[str, Any],
    has_probs: bool,
) -> dict[str, Any]:
    n_i = m.num_annotations
    classes = [_class_value(c) for c in ann.classes]
    info = {k: v for k, v in fit.info.items() if not isinstance(v, np.ndarray)}
    records = []
    pi = confusion_matrices(fit)
    for j, row in enumerate(annotators.itertuples(index=False)):
        record = {
            "annotator": _class_value(row.annotator),
            "quality": row.quality,
            "agreement": row.agreement,
            "num_annotations": row.num_annotations,
            "num_items": row.num_items,
            "worst_class": _class_value(row.worst_class),
            "worst_class_accuracy": row.worst_class_accuracy,
        }
        if pi is not None:
            record["confusion_matrix"] = np.round(pi[j], 6)
        records.append(record)
    quality = m.quality
    summary = {
        "method": fit.method,
        "method_requested": requested,
        "model_probabilities": has_probs,
        "num_items": ann.n_items,
        "num_annotators": ann.n_annotators,
        "num_annotations": ann.n_annotations,
        "num_classes": ann.n_classes,
        "classes": classes,
        "annotations_per_item": {"min": int(n_i.min()), "mean": float(n_i.mean()), "max": int(n_i.max())},
        "items_with_one_annotation": int((n_i == 1).sum()),
        "duplicate_annotations": ann.num_duplicates,
        "dropped_rows": ann.num_dropped,
        "num_ties": int(fit.is_tie.sum()),
        "mean_consensus_quality": float(quality.mean()),
        "items_below_0.5_quality": int((quality < 0.5).sum()),
        "class_prior": {id_key(c): float(p) for c, p in zip(ann.classes, fit.class_prior, strict=True)},
        "fit": info,
        "majority_vote": regime,
        "warnings": list(fit.warnings),
        "annotators": records,
    }
    if ann.num_duplicates:
        summary["warnings"].append(
            f"{ann.num_duplicates} annotation(s) repeat an (item, annotator) pair; each one was counted"
        )
    return _clean(summary)
