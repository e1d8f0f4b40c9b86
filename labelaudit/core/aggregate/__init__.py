"""Consensus labels and annotator quality from several annotators per item (``labelaudit aggregate``).

Methods: majority vote, WAWA, Dawid-Skene (full and one-coin, EM in numba over the sparse annotations), IBCC
and EBCC (variational Bayes), CROWDLAB (annotators pooled with a classifier's out-of-fold probabilities), and
``auto``, which picks one per data set. Their names live in :mod:`labelaudit.core.aggregate_methods` (cheap to
import). See ``docs/aggregate.md``.

>>> from labelaudit.core.aggregate import Annotations, aggregate
>>> ann = Annotations.from_arrays(["a", "a", "b"], ["x", "y", "x"], ["cat", "cat", "dog"])
>>> aggregate(ann, method="majority").items["consensus_label"].tolist()
['cat', 'dog']
"""

from __future__ import annotations

from labelaudit.core.aggregate.api import (
    ANNOTATOR_COLUMNS,
    ITEM_COLUMNS,
    AggregateResult,
    aggregate,
    align_probabilities,
    check_parameters,
    resolve_method,
)
from labelaudit.core.aggregate.audit import AUDIT_COLUMNS, audit_annotations, leave_one_out
from labelaudit.core.aggregate.base import MethodFit, tie_hash_index
from labelaudit.core.aggregate.crowdlab import crowdlab
from labelaudit.core.aggregate.data import Annotations
from labelaudit.core.aggregate.dawid_skene import dawid_skene, label_switch_share
from labelaudit.core.aggregate.ebcc import ebcc
from labelaudit.core.aggregate.ibcc import ibcc
from labelaudit.core.aggregate.majority import majority_vote
from labelaudit.core.aggregate.quality import majority_vote_regime
from labelaudit.core.aggregate.select import Choice, choose_method, next_items
from labelaudit.core.aggregate.simulate import simulate_crowd, simulate_model_probs
from labelaudit.core.aggregate.wawa import wawa
from labelaudit.core.aggregate_methods import AUTO_CANDIDATES, METHOD_HELP, METHODS

__all__ = [
    "ANNOTATOR_COLUMNS",
    "AUDIT_COLUMNS",
    "AUTO_CANDIDATES",
    "ITEM_COLUMNS",
    "METHODS",
    "METHOD_HELP",
    "AggregateResult",
    "Annotations",
    "Choice",
    "MethodFit",
    "aggregate",
    "align_probabilities",
    "audit_annotations",
    "check_parameters",
    "choose_method",
    "crowdlab",
    "dawid_skene",
    "ebcc",
    "ibcc",
    "label_switch_share",
    "leave_one_out",
    "majority_vote",
    "majority_vote_regime",
    "next_items",
    "resolve_method",
    "simulate_crowd",
    "simulate_model_probs",
    "tie_hash_index",
    "wawa",
]
