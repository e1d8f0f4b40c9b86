"""IBCC, EBCC, auto's choice and the next-item ranking, in-process on small simulated crowds."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from labelaudit.core.aggregate import (
    AUTO_CANDIDATES,
    Annotations,
    aggregate,
    choose_method,
    dawid_skene,
    ebcc,
    ibcc,
    majority_vote,
    next_items,
    simulate_crowd,
)
from labelaudit.core.aggregate.select import fold_of_annotations, subset
from labelaudit.core.aggregate_methods import METHOD_HELP, METHODS
from labelaudit.errors import UsageError


def _accuracy(consensus: np.ndarray, ann: Annotations, truth: pd.DataFrame) -> float:
    labels = pd.Series(ann.classes[consensus], index=ann.items)
    gold = truth.set_index("item")["label"]
    return float((labels.reindex(gold.index).to_numpy() == gold.to_numpy()).mean())


@pytest.fixture(scope="module")
def crowd():
    return simulate_crowd(500, 25, 3, (3, 5), scenario="heterogeneous", seed=4)


@pytest.fixture(scope="module")
def ann(crowd) -> Annotations:
    return Annotations.from_long(crowd.annotations)


def test_ibcc_bound_rises_and_beats_majority_on_a_heterogeneous_crowd(ann, crowd) -> None:
    bounds = [ibcc(ann, max_iter=m, tol=1e-300).info["elbo"] for m in (4, 8, 12, 16, 20)]
    assert all(b2 >= b1 - 1e-6 * abs(b1) for b1, b2 in itertools.pairwise(bounds))
    fit = ibcc(ann)
    assert fit.info["converged"] and np.allclose(fit.posterior.sum(axis=1), 1.0)
    assert _accuracy(fit.consensus, ann, crowd.truth) > _accuracy(
        majority_vote(ann).consensus, ann, crowd.truth
    )
    pi = np.exp(fit.log_pi_t)  # [j, l, k]
    assert np.allclose(pi.sum(axis=1), 1.0)


def test_ebcc_keeps_the_best_of_its_starts_and_is_deterministic(ann, crowd) -> None:
    fit = ebcc(ann, restarts=3, seed=5)
    bounds = fit.info["restart_elbos"]
    assert len(bounds) == 3 and fit.info["best_restart"] == int(np.argmax(bounds))
    # the best start, run on to convergence, only raises its bound
    assert fit.info["elbo"] >= max(bounds) - 1e-6 * abs(max(bounds)) and fit.info["converged"]
    again = ebcc(ann, restarts=3, seed=5)
    assert np.array_equal(fit.posterior, again.posterior)
    shuffled = Annotations.from_long(crowd.annotations.sample(frac=1.0, random_state=3))
    assert np.array_equal(ebcc(shuffled, restarts=3, seed=5).posterior, fit.posterior)
    assert _accuracy(fit.consensus, ann, crowd.truth) > _accuracy(
        majority_vote(ann).consensus, ann, crowd.truth
    )


@pytest.mark.parametrize("method", ["dawid-skene", "one-coin", "ibcc", "ebcc", "auto"])
def test_zero_pseudo_counts_stay_finite(method: str) -> None:
    crowd = simulate_crowd(300, 19, 3, (2, 4), scenario="spammers", seed=5)
    result = aggregate(Annotations.from_long(crowd.annotations), method=method, smoothing=0, diagonal=0)
    assert np.isfinite(result.posterior).all()
    assert result.items["consensus_quality"].notna().all()
    assert result.annotators["quality"].notna().all()
    # the consensus is not carried by one annotator: most items agree with their own majority
    assert (result.items["agreement"] >= 0.5).mean() > 0.8


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("smoothing", -1.0),
        ("smoothing", float("nan")),
        ("smoothing", float("inf")),
        ("smoothing", 1e308),
        ("diagonal", -0.5),
        ("diagonal", float("inf")),
        ("tol", 0.0),
        ("tol", float("nan")),
        ("tol", 2.0),
        ("max_iter", 0),
        ("max_iter", 10**9),
        ("seed", -1),
        ("seed", 2**64),
        ("method", "glad"),
    ],
)
def test_bad_parameters_are_refused_before_any_work(ann, option: str, value: object) -> None:
    with pytest.raises(UsageError, match=option):
        aggregate(ann, **{option: value})


def test_method_vocabulary_is_one_list() -> None:
    assert tuple(METHOD_HELP) == METHODS and set(AUTO_CANDIDATES) < set(METHODS)
    assert METHODS[0] == "auto" and "crowdlab" not in AUTO_CANDIDATES


def test_folds_keep_every_item_and_ignore_row_order(crowd, ann) -> None:
    fold = fold_of_annotations(ann, 5, seed=1)
    assert (fold[ann.annotations_per_item[ann.item_idx] < 2] == -1).all()
    for f in range(5):
        train = subset(ann, fold != f)
        assert (train.annotations_per_item >= 1).all()
    shuffled = Annotations.from_long(crowd.annotations.sample(frac=1.0, random_state=9))
    assert np.array_equal(fold_of_annotations(shuffled, 5, seed=1), fold)


def test_choose_method_scores_held_out_agreement(ann) -> None:
    fitters = {
        "majority": lambda a: majority_vote(a),
        "dawid-skene": lambda a: dawid_skene(a),
        "constant": _constant,  # ignores the annotations: must score worst
    }
    choice = choose_method(ann, fitters, seed=0)
    assert choice.method == max(choice.scores, key=choice.scores.get)
    assert choice.scores["constant"] < choice.scores["majority"] < choice.scores["dawid-skene"]
    held = fold_of_annotations(ann, 5, seed=0) >= 0
    assert choice.held_out == int(held.sum()) and choice.folds_scored == 5
    assert "dawid-skene" in choice.reason and "constant" in choice.reason


def _constant(a: Annotations):
    fit = majority_vote(a)
    fit.consensus = np.zeros(a.n_items, dtype=np.int64)
    return fit


def test_next_items_prefers_contested_items() -> None:
    rows = [("unanimous", f"a{j}", "x") for j in range(5)]
    rows += [("split", "a0", "x"), ("split", "a1", "y")]
    rows += [("single", "a2", "x")]
    rows += [(f"filler{i}", f"a{j}", "x" if (i + j) % 4 else "y") for i in range(30) for j in range(4)]
    ann = Annotations.from_long(pd.DataFrame(rows, columns=["item", "annotator", "label"]))
    fit = dawid_skene(ann)
    order, gain = next_items(ann, fit, 3)
    top = [ann.items[i] for i in order]
    assert top[0] == "split" and "unanimous" not in top
    assert (np.diff(gain) <= 0).all() and (gain >= 0).all()
    everything, _ = next_items(ann, fit, 10_000)
    assert len(everything) == ann.n_items
    position = {ann.items[i]: r for r, i in enumerate(everything)}
    assert position["single"] < position["unanimous"]


def test_docs_table_lists_every_method() -> None:
    from pathlib import Path

    docs = (Path(__file__).resolve().parents[2] / "docs" / "aggregate.md").read_text()
    table = docs[docs.index("## Methods (`--method`)") :]
    rows = {line.split("|")[1].strip().strip("`") for line in table.splitlines() if line.startswith("| `")}
    assert rows >= set(METHODS), set(METHODS) - rows


def test_large_data_cross_validate_a_seeded_item_sample(monkeypatch, crowd, ann) -> None:
    from labelaudit.core.aggregate import select

    sample = select.sample_items(ann, 600, seed=3)
    assert sample.n_annotations <= 600 and (sample.annotations_per_item >= 1).all()
    assert set(sample.items) <= set(ann.items)
    shuffled = Annotations.from_long(crowd.annotations.sample(frac=1.0, random_state=5))
    assert np.array_equal(select.sample_items(shuffled, 600, seed=3).items, sample.items)
    monkeypatch.setattr(select, "CV_ANNOTATIONS", 600)
    fitters = {"majority": majority_vote, "dawid-skene": dawid_skene}
    choice = choose_method(ann, fitters, seed=3)
    assert choice.folds_scored == 1 and choice.sampled_items == sample.n_items
    assert "sample of" in choice.reason and choice.held_out < 600


def test_digamma_and_log_gamma_kernels() -> None:
    from labelaudit.core.aggregate._kernels import digamma, gammaln

    # psi(1) = -Euler-Mascheroni, psi(1/2) = -gamma - 2 log 2, psi(x + 1) = psi(x) + 1/x
    euler = 0.5772156649015329
    x = np.array([1.0, 0.5, 7.25, 1e-6, 3e5])
    psi = digamma(x)
    assert abs(psi[0] + euler) < 1e-12 and abs(psi[1] + euler + 2 * np.log(2)) < 1e-12
    assert np.allclose(digamma(x + 1.0), psi + 1.0 / x, rtol=1e-12, atol=1e-9)
    assert np.allclose(gammaln(np.array([1.0, 2.0, 5.0, 0.5])), [0, 0, np.log(24), 0.5 * np.log(np.pi)])


def test_auto_without_anything_to_hold_out_says_so() -> None:
    frame = pd.DataFrame(
        {"item": ["a", "b", "c"], "annotator": ["x", "y", "x"], "label": ["cat", "dog", "cat"]}
    )
    result = aggregate(Annotations.from_long(frame))
    assert result.method == AUTO_CANDIDATES[0]
    assert "none can be held out" in result.summary["auto_reason"]
    assert result.summary["auto"]["held_out_annotations"] == 0
