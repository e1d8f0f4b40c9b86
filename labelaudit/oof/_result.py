"""The result of ``out_of_fold``: probabilities, class names, ids, the neighbour signal, and how they were made.

Output table schema ``labelaudit.oof/1`` (one row per input row, in input order):

======================  =======  ==================================================================
column                  type     meaning
======================  =======  ==================================================================
``<id_col>``            string   the ``id_col`` value (only with ``id_col``): ``scan --probs`` joins on it
``p_<class>``           float32  out-of-fold probability of the class (multi-label: of the tag)
neighbour_agreement     float64  share of the row's k nearest neighbours with the same label
                                 (multi-label: the lowest share over the tags); lower = more suspect
======================  =======  ==================================================================

Parquet files carry the metadata (model, folds, seed, classes, rare classes, ...) as JSON under the
key-value metadata key ``labelaudit``; JSON files wrap the rows as ``{"metadata": ..., "rows": [...]}``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

SCHEMA = "labelaudit.oof/1"
PROB_PREFIX = "p_"


@dataclass
class OOFResult:
    """Out-of-fold probabilities of every row and what produced them."""

    probabilities: np.ndarray  # N x K float32; row i never saw row i's label
    class_names: list[str]
    labels: np.ndarray  # class codes (N,) or 0/1 tags (N x K), as given
    fold: np.ndarray  # the fold that held each row out
    ids: np.ndarray | None = None
    id_col: str | None = None
    neighbour_agreement: np.ndarray | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def multi_label(self) -> bool:
        return self.labels.ndim == 2

    def to_frame(self) -> pd.DataFrame:
        """The output table (schema ``labelaudit.oof/1``)."""
        columns: dict[str, Any] = {}
        if self.ids is not None:
            columns[self.id_col or "id"] = self.ids
        for k, name in enumerate(self.class_names):
            columns[f"{PROB_PREFIX}{name}"] = self.probabilities[:, k]
        if self.neighbour_agreement is not None:
            columns["neighbour_agreement"] = self.neighbour_agreement
        return pd.DataFrame(columns)

    def scan_columns(self) -> dict[str, np.ndarray]:
        """What ``scan --features`` adds to its report: ``neighbour_agreement`` and, where it measurably helps
        (single-label, a model other than knn: docs/oof.md), ``combined_quality``, the mean of the given
        label's out-of-fold probability (self-confidence) and the neighbour agreement; lower = more suspect."""
        if self.neighbour_agreement is None:
            return {}
        columns = {"neighbour_agreement": np.asarray(self.neighbour_agreement, dtype=np.float64)}
        if not self.multi_label and self.metadata.get("model") != "knn":
            given = self.probabilities[np.arange(len(self.labels)), self.labels].astype(np.float64)
            columns["combined_quality"] = (given + columns["neighbour_agreement"]) / 2
        return columns

    def provenance(self) -> dict[str, Any]:
        """How the probabilities were made, for the metadata of a report built on them."""
        skip = ("schema", "input", "versions", "label_col", "id_col", "multi_label", "classes")
        return {k: v for k, v in self.metadata.items() if k not in skip}

    def write(self, path: str, fmt: str | None = None) -> None:
        """Write the table atomically; the format from ``fmt`` or the extension (csv, parquet, jsonl, json)."""
        from labelaudit.io.writers import output_format_for, write_frame

        write_frame(self.to_frame(), path, output_format_for(path, fmt), metadata=self.metadata)
