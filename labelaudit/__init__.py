"""labelaudit: find wrong labels in datasets.

The public API is imported lazily so that `labelaudit --help` does not load numba.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    # the library pipeline: what `labelaudit scan` runs
    "scan": "labelaudit.pipeline.scan",
    "ScanResult": "labelaudit.pipeline.result",
    "GateResult": "labelaudit.pipeline.result",
    # what `labelaudit aggregate` runs
    "aggregate": "labelaudit.pipeline.aggregate",
    "AggregateResult": "labelaudit.pipeline.aggregate",
    "CAPABILITIES": "labelaudit.engines.base",
    # confident learning (Northcutt et al. 2021)
    "find_label_issues": "labelaudit.core.filter",
    "FILTER_METHODS": "labelaudit.core.filter",
    "label_quality_scores": "labelaudit.core.scores",
    "SCORE_METHODS": "labelaudit.core.scores",
    "num_label_issues": "labelaudit.core.scores",
    "error_probability": "labelaudit.core.posterior",
    "per_class_threshold": "labelaudit.core.confident",
    "compute_confident_joint": "labelaudit.core.confident",
    "estimate_noise_matrices": "labelaudit.core.confident",
    "NoiseEstimate": "labelaudit.core.confident",
    "dataset_summary": "labelaudit.core.summary",
    # multi-label (Thyagarajan et al. 2023)
    "find_multilabel_issues": "labelaudit.core.multilabel",
    "multilabel_quality_scores": "labelaudit.core.multilabel",
    # out-of-fold probabilities from features or embeddings
    "out_of_fold": "labelaudit.oof",
    "OOFResult": "labelaudit.oof",
    # errors
    "LabelauditError": "labelaudit.errors",
    "InputError": "labelaudit.errors",
    "InvalidProbabilitiesError": "labelaudit.errors",
    "UsageError": "labelaudit.errors",
    "GateFailed": "labelaudit.errors",
    "LabelauditWarning": "labelaudit.errors",
}

__all__ = ["__version__", *sorted(_EXPORTS)]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'labelaudit' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
