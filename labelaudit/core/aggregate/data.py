"""The canonical sparse representation of multi-annotator labels.

An :class:`Annotations` holds one entry per annotation in three aligned ``int64`` arrays (item, annotator,
label indices) sorted by item, then annotator, then label, together with the sorted distinct item ids,
annotator ids and classes. Because everything is sorted by value (never by position in the input), the same
annotations in any row order give identical arrays, and so identical results.

Ids and labels are canonicalised once, here:

* integer columns (and float columns whose values are all integers, as pandas reads integer columns with
  blanks) become ``int64`` and sort numerically;
* other numeric columns stay ``float64``;
* everything else becomes ``str``; a *label* column whose strings are all canonical integers (``"3"``, not
  ``"03"``) becomes ``int64``, so classes ``2`` and ``10`` sort numerically whatever the file format.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from labelaudit.errors import ColumnError, InputError, LabelauditWarning

_INT_RE = re.compile(r"0|-?[1-9][0-9]{0,17}")


def _missing_mask(series: pd.Series) -> np.ndarray:
    mask = series.isna().to_numpy()
    if series.dtype == object or pd.api.types.is_string_dtype(series):
        blank = series.astype(str).str.strip().eq("").to_numpy()
        mask = mask | (blank & ~mask)
    return mask


def canonical_values(series: pd.Series, *, integer_strings: bool = False) -> np.ndarray:
    """Values as ``int64``, ``float64`` or ``object`` (Python ``str``) — the canonical id/label types.

    ``series`` must hold no missing values. With ``integer_strings``, strings that are all canonical integers
    become ``int64``.
    """
    if pd.api.types.is_bool_dtype(series):
        return series.astype(str).to_numpy(dtype=object)
    if pd.api.types.is_integer_dtype(series):
        return series.to_numpy(dtype=np.int64)
    if pd.api.types.is_float_dtype(series):
        values = series.to_numpy(dtype=np.float64)
        if (
            np.all(np.isfinite(values))
            and np.all(values == np.round(values))
            and np.all(np.abs(values) < 2**53)
        ):
            return values.astype(np.int64)
        return values
    # objects: a mixture of python ints/floats/strings -> strings (ints written without a decimal point)
    raw = series.to_numpy(dtype=object)
    kind = pd.api.types.infer_dtype(raw, skipna=False)
    if kind == "integer":
        return raw.astype(np.int64)
    text = raw if kind == "string" else np.array([_to_text(v) for v in raw], dtype=object)
    if integer_strings and len(text):
        distinct = pd.unique(text)
        if all(_INT_RE.fullmatch(t) for t in distinct):
            return text.astype(np.int64)
    return text


def _to_text(value: object) -> str:
    if isinstance(value, float) and np.isfinite(value) and value == round(value):
        return str(int(value))
    return str(value)


def id_key(value: object) -> str:
    """The text of an id or class as used for hashing and for matching ``p_<class>`` columns."""
    if isinstance(value, (float, np.floating)) and np.isfinite(value) and value == round(value):
        return str(int(value))
    return str(value)


def encode_column(series: pd.Series, *, integer_strings: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """``(codes, uniques)``: canonical sorted distinct values (see :func:`canonical_values`) and int64 codes.

    Pandas string columns are factorised natively (much faster than going through Python objects).
    """
    if pd.api.types.is_string_dtype(series) and series.dtype != object:
        codes, uniques = pd.factorize(series, sort=True)
        uniques = np.asarray(uniques, dtype=object)
        codes = codes.astype(np.int64)
        if integer_strings and len(uniques) and all(_INT_RE.fullmatch(t) for t in uniques):
            numbers = uniques.astype(np.int64)
            order = np.argsort(numbers, kind="stable")
            rank = np.empty_like(order)
            rank[order] = np.arange(len(order))
            return rank[codes], numbers[order]
        return codes, uniques
    return _factorize_sorted(canonical_values(series, integer_strings=integer_strings))


def _factorize_sorted(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    codes, uniques = pd.factorize(values, sort=True)
    uniques = np.asarray(uniques)
    if values.dtype == object:
        uniques = uniques.astype(object)
    return codes.astype(np.int64), uniques


@dataclass(frozen=True)
class Annotations:
    """Annotations in canonical sparse form (see the module docstring).

    Attributes
    ----------
    items, annotators, classes : numpy.ndarray
        Sorted distinct values (``int64``, ``float64`` or ``object`` strings).
    item_idx, annotator_idx, label_idx : numpy.ndarray of int64, shape (N,)
        One entry per annotation, sorted by (item, annotator, label).
    item_ptr : numpy.ndarray of int64, shape (I + 1,)
        Annotations of item ``i`` are ``item_ptr[i]:item_ptr[i + 1]``.
    num_duplicates : int
        Annotations beyond the first by the same annotator on the same item (each one is counted).
    num_dropped : int
        Rows dropped because their label was missing (long format) — reported, not an error.
    """

    items: np.ndarray
    annotators: np.ndarray
    classes: np.ndarray
    item_idx: np.ndarray
    annotator_idx: np.ndarray
    label_idx: np.ndarray
    item_ptr: np.ndarray
    num_duplicates: int = 0
    num_dropped: int = 0

    @property
    def n_items(self) -> int:
        return len(self.items)

    @property
    def n_annotators(self) -> int:
        return len(self.annotators)

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    @property
    def n_annotations(self) -> int:
        return len(self.item_idx)

    @property
    def annotations_per_item(self) -> np.ndarray:
        return np.diff(self.item_ptr)

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_codes(
        cls,
        item_idx: np.ndarray,
        annotator_idx: np.ndarray,
        label_idx: np.ndarray,
        *,
        items: np.ndarray,
        annotators: np.ndarray,
        classes: np.ndarray,
        num_dropped: int = 0,
    ) -> Annotations:
        """Build from integer codes into already sorted ``items``, ``annotators`` and ``classes``."""
        item_idx = np.asarray(item_idx, dtype=np.int64)
        annotator_idx = np.asarray(annotator_idx, dtype=np.int64)
        label_idx = np.asarray(label_idx, dtype=np.int64)
        if not (len(item_idx) == len(annotator_idx) == len(label_idx)):
            raise InputError("item, annotator and label arrays have different lengths")
        if len(item_idx) == 0:
            raise InputError("no annotations")
        for name, codes, size in (
            ("item", item_idx, len(items)),
            ("annotator", annotator_idx, len(annotators)),
            ("label", label_idx, len(classes)),
        ):
            if codes.min() < 0 or codes.max() >= size:
                raise InputError(f"{name} codes must be in [0, {size})")
        n_ann, n_cls = max(len(annotators), 1), max(len(classes), 1)
        if len(items) * n_ann * n_cls < 2**62:
            order = np.argsort((item_idx * n_ann + annotator_idx) * n_cls + label_idx, kind="stable")
        else:
            order = np.lexsort((label_idx, annotator_idx, item_idx))
        item_idx = np.ascontiguousarray(item_idx[order])
        annotator_idx = np.ascontiguousarray(annotator_idx[order])
        label_idx = np.ascontiguousarray(label_idx[order])
        counts = np.bincount(item_idx, minlength=len(items))
        if (counts == 0).any():
            raise InputError("every item needs at least one annotation")
        item_ptr = np.zeros(len(items) + 1, dtype=np.int64)
        np.cumsum(counts, out=item_ptr[1:])
        same = (item_idx[1:] == item_idx[:-1]) & (annotator_idx[1:] == annotator_idx[:-1])
        return cls(
            items=items,
            annotators=annotators,
            classes=classes,
            item_idx=item_idx,
            annotator_idx=annotator_idx,
            label_idx=label_idx,
            item_ptr=item_ptr,
            num_duplicates=int(same.sum()),
            num_dropped=num_dropped,
        )

    @classmethod
    def from_arrays(
        cls,
        items: object,
        annotators: object,
        labels: object,
        *,
        classes: object = None,
        num_dropped: int = 0,
    ) -> Annotations:
        """Build from three equal-length sequences (one entry per annotation), none of them missing.

        ``classes`` optionally adds classes nobody used (the union with the labels is taken).
        """

        def as_series(values: object) -> pd.Series:
            return values if isinstance(values, pd.Series) else pd.Series(np.asarray(values, dtype=object))

        label_series = as_series(labels)
        if classes is not None:
            label_values = canonical_values(label_series, integer_strings=True)
            extra = canonical_values(pd.Series(np.asarray(classes, dtype=object)), integer_strings=True)
            label_values, extra = _common_type(label_values, extra)
            combined = np.concatenate([label_values, extra])
            codes, uniques = _factorize_sorted(combined)
            label_codes = codes[: len(label_values)]
        else:
            label_codes, uniques = encode_column(label_series, integer_strings=True)
        item_codes, item_uniques = encode_column(as_series(items))
        annotator_codes, annotator_uniques = encode_column(as_series(annotators))
        return cls.from_codes(
            item_codes,
            annotator_codes,
            label_codes,
            items=item_uniques,
            annotators=annotator_uniques,
            classes=uniques,
            num_dropped=num_dropped,
        )

    @classmethod
    def from_long(
        cls,
        frame: pd.DataFrame,
        *,
        item_col: str = "item",
        annotator_col: str = "annotator",
        label_col: str = "label",
        source: str = "input",
    ) -> Annotations:
        """One row per annotation. Rows with a missing label are dropped (with a warning)."""
        for column, option in (
            (item_col, "--item-col"),
            (annotator_col, "--annotator-col"),
            (label_col, "--label-col"),
        ):
            _require(frame, column, source, option)
        for column in (item_col, annotator_col):
            missing = _missing_mask(frame[column])
            if missing.any():
                row = int(np.flatnonzero(missing)[0])
                raise ColumnError(
                    f"{source}: column {column!r} row {row}: value is missing "
                    f"({int(missing.sum())} missing in all)"
                )
        missing = _missing_mask(frame[label_col])
        dropped = int(missing.sum())
        if dropped:
            if dropped == len(frame):
                raise ColumnError(
                    f"{source}: column {label_col!r} has no labels (all {dropped} rows are blank)"
                )
            warnings.warn(
                f"{source}: {dropped} row(s) with a blank {label_col!r} were skipped",
                LabelauditWarning,
                stacklevel=2,
            )
            frame = frame.loc[~missing]
        return cls.from_arrays(frame[item_col], frame[annotator_col], frame[label_col], num_dropped=dropped)

    @classmethod
    def from_wide(cls, frame: pd.DataFrame, *, item_col: str = "item", source: str = "input") -> Annotations:
        """One row per item, one column per annotator (the column name is the annotator); blanks are missing."""
        _require(frame, item_col, source, "--item-col")
        annotator_cols = [c for c in frame.columns if c != item_col]
        if not annotator_cols:
            raise ColumnError(f"{source}: --wide needs one column per annotator besides {item_col!r}")
        missing_items = _missing_mask(frame[item_col])
        if missing_items.any():
            row = int(np.flatnonzero(missing_items)[0])
            raise ColumnError(f"{source}: column {item_col!r} row {row}: item id is missing")
        item_parts, annotator_parts, label_parts = [], [], []
        labelled = np.zeros(len(frame), dtype=bool)
        for column in annotator_cols:
            series = frame[column]
            present = ~_missing_mask(series)
            labelled |= present
            if not present.any():
                continue
            item_parts.append(frame[item_col].to_numpy(dtype=object)[present])
            annotator_parts.append(np.full(int(present.sum()), str(column), dtype=object))
            label_parts.append(_object_labels(series[present]))
        if not label_parts:
            raise ColumnError(f"{source}: no labels in any annotator column")
        if not labelled.all():
            blank = np.flatnonzero(~labelled)
            warnings.warn(
                f"{source}: {len(blank)} item(s) have no label in any annotator column and were skipped "
                f"(first: {id_key(frame[item_col].iloc[blank[0]])!r}, row {int(blank[0])})",
                LabelauditWarning,
                stacklevel=2,
            )
        items = pd.Series(np.concatenate(item_parts), dtype=object)
        # keep the item column's own type (ints stay ints)
        item_dtype = frame[item_col].dtype
        if pd.api.types.is_integer_dtype(item_dtype) or pd.api.types.is_float_dtype(item_dtype):
            items = pd.Series(pd.to_numeric(items), dtype=item_dtype)
        return cls.from_arrays(
            items, np.concatenate(annotator_parts), pd.Series(np.concatenate(label_parts), dtype=object)
        )

    # ------------------------------------------------------------------ helpers
    def with_classes(self, classes: np.ndarray) -> Annotations:
        """The same annotations re-coded against a superset ``classes`` (sorted, same type)."""
        position = pd.Index(classes).get_indexer(self.classes)
        if (position < 0).any():
            raise InputError("classes must include every annotated class")
        return Annotations(
            items=self.items,
            annotators=self.annotators,
            classes=classes,
            item_idx=self.item_idx,
            annotator_idx=self.annotator_idx,
            label_idx=position.astype(np.int64)[self.label_idx],
            item_ptr=self.item_ptr,
            num_duplicates=self.num_duplicates,
            num_dropped=self.num_dropped,
        )


def _object_labels(series: pd.Series) -> np.ndarray:
    """Labels of one wide column as Python objects, with integral floats (blanks -> float) made ints."""
    values = canonical_values(series, integer_strings=True)
    return values.astype(object)


def _common_type(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bring two canonical arrays to one type (numbers if both are numeric, else strings)."""
    if a.dtype != object and b.dtype != object:
        if a.dtype == b.dtype:
            return a, b
        return a.astype(np.float64), b.astype(np.float64)
    to_text = np.vectorize(id_key, otypes=[object])
    return (a if a.dtype == object else to_text(a)), (b if b.dtype == object else to_text(b))


def _require(frame: pd.DataFrame, column: str, source: str, option: str) -> None:
    if column not in frame.columns:
        shown = ", ".join(map(str, list(frame.columns)[:12]))
        more = ", ..." if len(frame.columns) > 12 else ""
        raise ColumnError(f"{source}: no column {column!r} ({option}); columns are: {shown}{more}")
