"""Audit individual annotations against the consensus with confident learning."""

from __future__ import annotations

import numpy as np
import pandas as pd

from labelaudit.core.aggregate._kernels import leave_one_out_one_coin, leave_one_out_posterior
from labelaudit.core.aggregate.api import AggregateResult
from labelaudit.errors import InputError, UsageError

AUDIT_COLUMNS = ("item", "annotator", "label", "consensus_label", "quality", "is_label_issue")


def leave_one_out(result: AggregateResult) -> np.ndarray:
    r"""For every annotation, the item's posterior with that annotation's own evidence removed (``N x K``).

    Dawid-Skene methods divide out the annotation's likelihood :math:`\pi^{(j)}_{k l}` exactly. The other
    methods divide out a one-coin likelihood with the annotator's estimated accuracy (exact for majority vote;
    an approximation for the weighted and pooled methods). Removing the annotation keeps it from vouching for
    itself, so these play the role of out-of-fold probabilities in confident learning.
    """
    ann = result.annotations
    fit = result.fit
    post = np.ascontiguousarray(fit.posterior, dtype=np.float64)
    out = np.empty((ann.n_annotations, ann.n_classes))
    if fit.log_pi_t is not None:
        leave_one_out_posterior(ann.item_idx, ann.annotator_idx, ann.label_idx, fit.log_pi_t, post, out)
    else:
        accuracy = np.ascontiguousarray(result.annotator_metrics.quality, dtype=np.float64)
        leave_one_out_one_coin(ann.item_idx, ann.annotator_idx, ann.label_idx, accuracy, post, out)
    return out


def audit_annotations(
    result: AggregateResult, *, filter_by: str = "prune_by_noise_rate", score: str = "self_confidence"
) -> pd.DataFrame:
    """Flag annotations that are probably wrong: confident learning on (annotation label, leave-one-out posterior).

    Runs :func:`labelaudit.core.filter.find_label_issues` and :func:`labelaudit.core.scores.label_quality_scores`
    (Northcutt et al. 2021) with each annotation's label as the given label and :func:`leave_one_out` as the
    predicted probabilities. Returns one row per annotation (sorted by item, annotator, label) with columns
    :data:`AUDIT_COLUMNS`; ``quality`` is the label-quality score (lower = more suspicious).
    """
    try:
        from labelaudit.core.filter import find_label_issues
        from labelaudit.core.scores import label_quality_scores
    except ImportError as exc:  # pragma: no cover - only while the confident-learning core is missing
        raise UsageError(f"the annotation audit needs labelaudit.core.filter ({exc})") from None
    ann = result.annotations
    labels = ann.label_idx
    if ann.n_classes < 2:  # one class: no annotation can be wrong
        issues = np.zeros(ann.n_annotations, dtype=bool)
        quality = np.ones(ann.n_annotations)
    else:
        loo = leave_one_out(result)
        try:
            issues = np.asarray(find_label_issues(labels, loo, filter_by=filter_by), dtype=bool)
            quality = np.asarray(label_quality_scores(labels, loo, method=score), dtype=np.float64)
        except ValueError as exc:
            raise InputError(f"annotation audit: {exc}") from None
    return pd.DataFrame(
        {
            "item": ann.items[ann.item_idx],
            "annotator": ann.annotators[ann.annotator_idx],
            "label": ann.classes[labels],
            "consensus_label": ann.classes[result.fit.consensus[ann.item_idx]],
            "quality": quality,
            "is_label_issue": issues,
        }
    )
