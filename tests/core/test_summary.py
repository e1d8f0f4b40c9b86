"""dataset_summary on a hand-computed example."""

from __future__ import annotations

import json

import numpy as np
import pytest

from labelaudit.core.summary import dataset_summary
from labelaudit.errors import InputError

L = np.array([0, 0, 1, 1, 2, 2])
P = np.array(
    [[0.7, 0.2, 0.1], [0.5, 0.4, 0.1], [0.1, 0.8, 0.1], [0.6, 0.3, 0.1], [0.2, 0.2, 0.6], [0.1, 0.1, 0.8]]
)  # calibrated confident joint [[2,0,0],[1,1,0],[0,0,2]]


def test_summary_by_hand():
    issues = np.array([False, False, False, True, False, False])
    s = dataset_summary(L, P, class_names=["cat", "dog", "eel"], issues=issues)
    json.dumps(s)  # JSON-serialisable
    assert s["num_examples"] == 6 and s["num_classes"] == 3 and s["num_issues"] == 1
    assert s["estimated_noise_rate"] == pytest.approx(1 / 6)
    assert s["health_score"] == pytest.approx(5 / 6)
    first = s["per_class"][0]
    assert first == {
        "class": "dog",
        "given_count": 2,
        "estimated_true_count": 1,
        "label_noise": pytest.approx(0.5),
        "inverse_label_noise": pytest.approx(0.0),
        "num_issues": 1,
    }
    # then by label_noise desc, ties by class index: cat (inverse noise 1/3) before eel
    assert [c["class"] for c in s["per_class"]] == ["dog", "cat", "eel"]
    assert s["per_class"][1]["inverse_label_noise"] == pytest.approx(1 / 3)
    assert s["overlapping_classes"] == [
        {
            "classes": ["cat", "dog"],
            "class_indices": [0, 1],
            "joint": pytest.approx(1 / 6),
            "count_given_first_true_second": 0,
            "count_given_second_true_first": 1,
        }
    ]
    assert s["confident_joint"] == [[2, 0, 0], [1, 1, 0], [0, 0, 2]]
    assert s["class_names"] == ["cat", "dog", "eel"]


def test_summary_without_issues_or_names():
    s = dataset_summary(L, P)
    assert "num_issues" not in s
    assert all(c["num_issues"] is None for c in s["per_class"])
    assert s["class_names"] == [0, 1, 2]


def test_summary_rejects_bad_names_and_mask():
    with pytest.raises(InputError, match="class_names has 2 entries"):
        dataset_summary(L, P, class_names=["a", "b"])
    with pytest.raises(InputError, match="issues must have shape"):
        dataset_summary(L, P, issues=np.zeros(5, dtype=bool))


def test_overlapping_pairs_sorted_and_capped():
    rng = np.random.default_rng(0)
    k = 12
    probs = rng.dirichlet(np.ones(k) * 0.3, 3000)
    labels = rng.integers(0, k, 3000)
    pairs = dataset_summary(labels, probs)["overlapping_classes"]
    assert 0 < len(pairs) <= 20
    masses = [p["joint"] for p in pairs]
    assert masses == sorted(masses, reverse=True) and min(masses) > 0
