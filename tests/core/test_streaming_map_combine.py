"""The streaming core's map/combine steps, run per partition and combined in partition order (what
``--engine dask`` does), give exactly ``find_label_issues`` / ``label_quality_scores``."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest

from labelaudit.core.filter import find_label_issues
from labelaudit.core.scores import label_quality_scores
from labelaudit.core.streaming import (
    ChecksFold,
    ConfidentFold,
    Heaps,
    check_chunk,
    confident_chunk,
    confident_params,
    heap_capacities,
    prepare_chunk,
    thresholds_from,
)
from tests.core.test_streaming import _random


def _map_combine(labels, probs, bounds, filter_by, score):
    parts = [prepare_chunk(labels[a:b], probs[a:b], a) for a, b in pairwise(bounds)]
    offsets = bounds[:-1]
    fold = ChecksFold(False)
    for lab, p in parts:
        fold.add(check_chunk(lab, p, False))
    all_labels, k, dtype, sums, counts, renormalise = fold.finish()
    params = confident_params(thresholds_from(sums, counts), dtype, filter_by, score, renormalise)
    confident = ConfidentFold(len(all_labels), k, filter_by)
    for offset, (lab, p) in zip(offsets, parts, strict=True):
        confident.add(offset, confident_chunk(lab, p, params))
    _raw, cj = confident.finish(counts)
    if confident.flagged is not None:
        return confident.flagged & ~confident.label_is_top, confident.quality
    capacities = heap_capacities(cj, counts, filter_by, 1.0, 1)
    heaps = Heaps(capacities)
    for offset, (lab, p) in zip(offsets, parts, strict=True):
        local = Heaps(capacities)
        local.offer(lab, p, offset)
        heaps.offer_candidates(local.candidates())
    return heaps.mask(len(all_labels)) & ~confident.label_is_top, confident.quality


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("filter_by", ["prune_by_noise_rate", "prune_by_class", "both", "confident_learning"])
def test_partitions_combined_in_order_equal_in_memory(dtype, filter_by) -> None:
    labels, probs = _random(7, 900, 6, dtype)  # rounded probabilities: many equal margins
    expected = find_label_issues(labels, probs, filter_by=filter_by, compat="paper")
    quality = label_quality_scores(labels, probs, method="normalized_margin")
    for bounds in ([0, 900], [0, 1, 2, 450, 451, 900], [0, 13, 100, 101, 700, 900]):
        issues, scores = _map_combine(labels, probs, bounds, filter_by, "normalized_margin")
        np.testing.assert_array_equal(issues, expected)
        np.testing.assert_array_equal(scores, quality)
