"""Read a Parquet scan input straight from Arrow: one float matrix filled row group by row group, labels
dictionary-encoded by Arrow, no pandas frame of the N x K probabilities ever built.

Only the plain case is handled here; anything unusual (a null or non-float probability, a label that names no
class, a numeric label column) returns ``None`` so that the general pandas path reads the file and words the
error exactly as it does for every other format.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from labelaudit.errors import ColumnError, InputFileError
from labelaudit.io.columns import encode_labels, label_mode, match_columns, require_column
from labelaudit.io.readers import check_file, unreadable


def read_parquet_scan(
    path: str, label_col: str, prob_cols: str, id_col: str | None
) -> tuple[np.ndarray, np.ndarray, list[str], np.ndarray | None] | None:
    """(labels int64[N], probabilities float32/float64 [N, K], class names, ids or None), or ``None``."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    check_file(path)
    try:
        parquet = pq.ParquetFile(path)
    except Exception as exc:
        raise unreadable(path, "parquet", exc) from None
    schema = parquet.schema_arrow
    names = [str(n) for n in schema.names]
    if len(set(names)) != len(names) or parquet.metadata.num_rows == 0:
        return None
    header = pd.DataFrame(columns=names)
    require_column(header, label_col, path, "--label-col")
    if id_col is not None:
        require_column(header, id_col, path, "--id-col")
    prob_columns, class_names = match_columns(header, prob_cols, path, "--prob-cols")
    types = [schema.field(c).type for c in prob_columns]
    if not all(pa.types.is_floating(t) and not pa.types.is_float16(t) for t in types):
        return None
    label_type = schema.field(label_col).type
    if not (pa.types.is_string(label_type) or pa.types.is_large_string(label_type)):
        return None

    n, k = parquet.metadata.num_rows, len(prob_columns)
    dtype = np.float32 if all(pa.types.is_float32(t) for t in types) else np.float64
    matrix = np.empty((n, k), dtype=dtype)
    offset = 0
    try:
        for group in range(parquet.num_row_groups):
            table = parquet.read_row_group(group, columns=prob_columns)
            rows = table.num_rows
            for j, column in enumerate(table.columns):
                if column.null_count:
                    return None
                start = offset
                for chunk in column.chunks:
                    matrix[start : start + len(chunk), j] = chunk.to_numpy(zero_copy_only=False)
                    start += len(chunk)
            offset += rows
            del table
        wanted = [label_col] if id_col is None or id_col == label_col else [label_col, id_col]
        table = parquet.read(columns=wanted)
    except Exception as exc:
        raise unreadable(path, "parquet", exc) from None
    if offset != n:
        raise InputFileError(f"{path}: the row groups hold {offset} rows but the footer says {n}")

    labels_column = table.column(label_col)
    if labels_column.null_count:
        return None
    encoded = pc.dictionary_encode(labels_column).combine_chunks()
    # the K distinct labels go through the same rules as a whole column (encode_labels); the rows follow
    dictionary = pd.Series(encoded.dictionary.to_pylist(), dtype=object)
    mode = label_mode(False, set(dictionary.astype(str).str.strip()), class_names, path, label_col)
    try:
        mapping, _ = encode_labels(dictionary, class_names, path, label_col, mode=mode)
    except ColumnError:
        return None  # the general path names the row
    labels = mapping[encoded.indices.to_numpy(zero_copy_only=False)]
    ids = None
    if id_col is not None:
        ids = table.column(id_col).to_pandas().astype(str).to_numpy()
    return labels, matrix, class_names, ids
