"""Core tests of `labelaudit.core.aggregate`: hand-checked cases, determinism, EM, warnings, regime."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pandas as pd
import pytest

from labelaudit.core.aggregate import (
    AUTO_CANDIDATES,
    Annotations,
    aggregate,
    align_probabilities,
    dawid_skene,
    majority_vote,
    simulate_crowd,
    simulate_model_probs,
    tie_hash_index,
)
from labelaudit.core.aggregate._kernels import majority_vote_margin, top_two_confusion
from labelaudit.core.aggregate.quality import shrink_accuracies
from labelaudit.errors import (
    ColumnError,
    InputError,
    InvalidProbabilitiesError,
    LabelauditWarning,
    UsageError,
)

METHODS = ("majority", "wawa", "dawid-skene", "one-coin")


def _frame(rows: list[tuple[object, object, object]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["item", "annotator", "label"])


def _accuracy(result, truth: pd.DataFrame) -> float:
    gold = truth.set_index("item")["label"].reindex(result.items["item"]).to_numpy()
    return float((result.items["consensus_label"].to_numpy() == gold).mean())


# ------------------------------------------------------------------------------------------ encoding
def test_canonical_encoding_sorts_values_not_rows() -> None:
    frame = _frame([("b", "y", 10), ("a", "x", 2), ("a", "y", 10), ("b", "x", 2), ("a", "x", 2)])
    ann = Annotations.from_long(frame)
    assert ann.items.tolist() == ["a", "b"]
    assert ann.annotators.tolist() == ["x", "y"]
    assert ann.classes.tolist() == [2, 10]  # numerically, not as text
    assert ann.item_ptr.tolist() == [0, 3, 5]
    assert ann.num_duplicates == 1  # ("a", "x") twice: both counted
    assert ann.n_annotations == 5


def test_integer_strings_become_integers_but_padded_ones_stay_text() -> None:
    ann = Annotations.from_arrays(
        ["i1", "i2", "i3"], ["a", "a", "a"], pd.Series(["10", "2", "2"], dtype=object)
    )
    assert ann.classes.tolist() == [2, 10]
    ann = Annotations.from_arrays(["i1", "i2"], ["a", "a"], pd.Series(["02", "2"], dtype=object))
    assert ann.classes.tolist() == ["02", "2"]


def test_wide_equals_long() -> None:
    wide = pd.DataFrame(
        {
            "item": [1, 2, 3],
            "ann1": ["cat", "dog", None],
            "ann2": ["cat", "", "dog"],
            "ann3": [None, "dog", "dog"],
        }
    )
    long = _frame(
        [
            (1, "ann1", "cat"),
            (2, "ann1", "dog"),
            (1, "ann2", "cat"),
            (3, "ann2", "dog"),
            (2, "ann3", "dog"),
            (3, "ann3", "dog"),
        ]
    )
    a, b = Annotations.from_wide(wide), Annotations.from_long(long)
    for name in ("items", "annotators", "classes", "item_idx", "annotator_idx", "label_idx", "item_ptr"):
        assert getattr(a, name).tolist() == getattr(b, name).tolist(), name


def test_blank_labels_are_dropped_with_a_warning_and_missing_ids_are_errors() -> None:
    frame = _frame([("a", "x", "cat"), ("a", "y", None), ("b", "x", "dog")])
    with pytest.warns(LabelauditWarning, match="1 row"):
        ann = Annotations.from_long(frame)
    assert ann.n_annotations == 2 and ann.num_dropped == 1
    with pytest.raises(ColumnError, match="'annotator' row 1"):
        Annotations.from_long(_frame([("a", "x", "cat"), ("a", None, "dog")]))
    with pytest.raises(ColumnError, match="no column 'worker'"):
        Annotations.from_long(_frame([("a", "x", "cat")]), annotator_col="worker")


# ------------------------------------------------------------------------------------------ majority vote
def test_majority_vote_hand_checked() -> None:
    rows = [
        ("a", "x", "cat"),
        ("a", "y", "cat"),
        ("a", "z", "dog"),
        ("b", "x", "dog"),
        ("b", "y", "cat"),
        ("c", "z", "bird"),
    ]
    rows += [(f"u{i}", w, "cat" if i % 2 else "dog") for i in range(4) for w in "xyz"]  # unanimous
    result = aggregate(Annotations.from_long(_frame(rows)), method="majority", seed=3)
    items = result.items.set_index("item")
    assert items.loc["a", "consensus_label"] == "cat"
    assert items.loc["a", "agreement"] == pytest.approx(2 / 3)
    assert not items.loc["a", "is_tie"]
    assert items.loc["a", "runner_up_label"] == "dog"
    assert items.loc["b", "is_tie"]
    tied = ["cat", "dog"]  # class order
    assert items.loc["b", "consensus_label"] == tied[tie_hash_index(3, "b", 2)]
    assert items.loc["b", "agreement"] == 0.5
    assert items.loc["c", "consensus_label"] == "bird" and items.loc["c", "num_annotations"] == 1
    # posterior of the homogeneous one-coin model: 2 votes vs 1 is surer than a tie, a tie is 1/2 each
    # pairwise agreement 26/32 -> a = (1 + sqrt(1 - K + K (K-1) A)) / K, w = log((K-1) a / (1-a))
    a = (1 + np.sqrt(1 - 3 + 6 * 26 / 32)) / 3
    w = np.log(2 * a / (1 - a))
    assert result.summary["fit"]["pooled_accuracy"] == pytest.approx(a)
    assert items.loc["a", "consensus_quality"] == pytest.approx(
        np.exp(2 * w) / (np.exp(2 * w) + np.exp(w) + 1)
    )
    assert items.loc["c", "consensus_quality"] == pytest.approx(np.exp(w) / (np.exp(w) + 2))
    assert items.loc["b", "consensus_quality"] == pytest.approx(np.exp(w) / (2 * np.exp(w) + 1))  # tie
    assert result.summary["num_ties"] == 1


def test_ties_broken_by_model_probabilities_then_by_the_seeded_hash() -> None:
    frame = _frame([("a", "x", 0), ("a", "y", 1), ("b", "x", 0), ("b", "y", 1)])
    ann = Annotations.from_long(frame)
    probs = np.array([[0.3, 0.7], [0.5, 0.5]])
    fit = majority_vote(ann, pred_probs=probs, seed=0)
    assert fit.consensus[0] == 1 and fit.is_tie.all()
    assert fit.consensus[1] == tie_hash_index(0, "b", 2)  # the model ties too


def test_tie_rule_ignores_other_items_and_row_order() -> None:
    base = [("t", "x", "p"), ("t", "y", "q")]
    picks = set()
    for extra in ([], [("u", "x", "q"), ("u", "y", "q")], [("a", "z", "p")]):
        for rows in (base + extra, (base + extra)[::-1]):
            result = aggregate(Annotations.from_long(_frame(rows)), method="majority", seed=7)
            picks.add(result.items.set_index("item").loc["t", "consensus_label"])
    assert len(picks) == 1


@pytest.mark.parametrize("method", [*METHODS, "crowdlab"])
def test_same_annotations_in_any_row_order_give_identical_output(method: str) -> None:
    crowd = simulate_crowd(300, 15, 3, (1, 4), scenario="spammers", seed=11)
    probs = simulate_model_probs(crowd.truth["label"].to_numpy(), 3, 0.7, seed=1)
    prob_frame = pd.DataFrame(probs, columns=["p_0", "p_1", "p_2"]).assign(item=crowd.truth["item"])
    outputs = []
    for seed in (0, 1, 2):
        shuffled = crowd.annotations.sample(frac=1.0, random_state=seed).reset_index(drop=True)
        ann = Annotations.from_long(shuffled)
        pred = None
        if method == "crowdlab":
            order = prob_frame.sample(frac=1.0, random_state=seed)
            ann, pred = align_probabilities(
                ann, order["item"], ["0", "1", "2"], order[["p_0", "p_1", "p_2"]].to_numpy()
            )
        result = aggregate(ann, method=method, pred_probs=pred)
        outputs.append(
            (result.items.to_csv(index=False), result.annotators.to_csv(index=False), repr(result.summary))
        )
    assert outputs[0] == outputs[1] == outputs[2]


# ------------------------------------------------------------------------------------------ Dawid-Skene
def test_dawid_skene_recovers_truth_and_beats_majority_with_adversaries() -> None:
    crowd = simulate_crowd(1500, 30, 4, (3, 5), scenario="adversarial", seed=5)
    ann = Annotations.from_long(crowd.annotations)
    ds = aggregate(ann, method="dawid-skene")
    mv = aggregate(ann, method="majority")
    assert _accuracy(ds, crowd.truth) > _accuracy(mv, crowd.truth) + 0.1
    fit = ds.summary["fit"]
    assert fit["converged"] and fit["iterations"] < 100 and abs(fit["delta"]) <= 1e-7 * ann.n_annotations
    # estimated accuracies track the simulated ones
    quality = ds.annotators.set_index("annotator")["quality"]
    truth_acc = pd.Series(crowd.accuracy, index=[f"w{j:04d}" for j in range(30)]).reindex(quality.index)
    assert np.corrcoef(quality, truth_acc)[0, 1] > 0.9


def test_em_objective_never_decreases() -> None:
    crowd = simulate_crowd(400, 12, 3, 3, scenario="heterogeneous", seed=2)
    ann = Annotations.from_long(crowd.annotations)
    for one_coin in (False, True):
        objectives = [
            dawid_skene(ann, one_coin=one_coin, max_iter=m, tol=1e-300).info["objective"]
            for m in range(1, 12)
        ]
        assert all(b >= a - 1e-9 for a, b in itertools.pairwise(objectives)), objectives


def test_hand_checked_dawid_skene_on_unanimous_annotators() -> None:
    frame = _frame([(i, j, i % 2) for i in range(20) for j in ("x", "y", "z")])
    result = aggregate(Annotations.from_long(frame), method="dawid-skene")
    assert result.items["consensus_label"].tolist() == [i % 2 for i in range(20)]
    assert (result.items["consensus_quality"] > 0.99).all()
    assert (result.items["agreement"] == 1.0).all() and (result.items["confusion_probability"] == 0).all()
    pi = result.confusion_matrices()
    assert pi.shape == (3, 2, 2) and np.allclose(pi.sum(axis=2), 1.0)
    # 10 items per class, pseudo-counts 0.5 per cell and 1 more on the diagonal: (10 + 1.5) / (10 + 2)
    assert pi[0, 0, 0] == pytest.approx(11.5 / 12, rel=1e-3)
    assert result.summary["fit"]["converged"]
    assert not result.summary["warnings"]


def test_label_switch_warning() -> None:
    crowd = simulate_crowd(600, 10, 2, 5, scenario="homogeneous", seed=4)
    ann = Annotations.from_long(crowd.annotations)
    good = dawid_skene(ann)
    assert not good.info["label_switched"] and not good.warnings
    swapped = dawid_skene(ann, init_posterior=good.posterior[:, ::-1])
    assert swapped.info["label_switched"]
    assert any("label-switched" in w for w in swapped.warnings)
    # the warning reaches users of aggregate() as a LabelauditWarning
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        aggregate(ann, method="dawid-skene")
    assert not [w for w in caught if "label-switched" in str(w.message)]


def test_constant_annotator_is_not_label_switched() -> None:
    rows = [(i, "good1", i % 3) for i in range(60)] + [(i, "good2", i % 3) for i in range(60)]
    rows += [(i, "lazy", 0) for i in range(60)]
    fit = dawid_skene(Annotations.from_long(_frame(rows)))
    assert not fit.info["label_switched"]


# ------------------------------------------------------------------------------------------ CROWDLAB
def test_crowdlab_beats_annotators_alone_and_model_alone() -> None:
    crowd = simulate_crowd(2000, 40, 4, (1, 3), scenario="heterogeneous", seed=8)
    ann = Annotations.from_long(crowd.annotations)
    truth = crowd.truth.set_index("item")["label"].reindex(ann.items).to_numpy()
    for temperature in (0.4, 1.0, 3.0):  # over-confident, calibrated, under-confident
        probs = simulate_model_probs(truth, 4, 0.8, seed=8, temperature=temperature)
        cl = aggregate(ann, pred_probs=probs)
        assert cl.method == "crowdlab" and cl.summary["method_requested"] == "auto"
        ds = aggregate(ann, method="dawid-skene")
        model = float((probs.argmax(axis=1) == truth).mean())
        assert _accuracy(cl, crowd.truth) > max(_accuracy(ds, crowd.truth), model) + 0.02


def test_crowdlab_needs_probabilities() -> None:
    ann = Annotations.from_long(_frame([("a", "x", 1)]))
    with pytest.raises(UsageError, match="crowdlab"):
        aggregate(ann, method="crowdlab")
    with pytest.raises(InputError, match="shape"):
        aggregate(ann, pred_probs=np.ones((2, 2)))


# ------------------------------------------------------------------------------------------ probabilities
def test_align_probabilities() -> None:
    ann = Annotations.from_long(_frame([("a", "x", 1), ("b", "x", 2)]))
    with pytest.warns(LabelauditWarning, match="1 row"):
        ann2, probs = align_probabilities(
            ann,
            ["b", "a", "zzz"],
            ["2", "1", "3"],
            np.array([[0.9, 0.1, 0.0], [0.2, 0.7, 0.1], [0.3, 0.3, 0.4]]),
        )
    assert ann2.classes.tolist() == [1, 2, 3]  # class 3 comes from the probabilities
    assert np.allclose(probs, [[0.7, 0.2, 0.1], [0.1, 0.9, 0.0]])
    with pytest.raises(InputError, match="no probabilities for item 'b'"):
        align_probabilities(ann, ["a"], ["1", "2"], np.array([[0.5, 0.5]]))
    with pytest.raises(InputError, match="no probability column for class '2'"):
        align_probabilities(ann, ["a", "b"], ["1", "3"], np.array([[0.5, 0.5], [0.5, 0.5]]))
    with pytest.raises(InputError, match="more than one row"):
        align_probabilities(ann, ["a", "a", "b"], ["1", "2"], np.full((3, 2), 0.5))
    with pytest.raises(InvalidProbabilitiesError, match="not a probability"):
        align_probabilities(ann, ["a", "b"], ["1", "2"], np.array([[2.0, -1.0], [0.5, 0.5]]))


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"method": "vote"}, "method must be one of"),
        ({"seed": -1}, "seed"),
        ({"max_iter": 0}, "max_iter"),
        ({"tol": 0.0}, "tol"),
        ({"smoothing": -1.0}, "smoothing"),
        ({"seed": 1.5}, "seed"),
    ],
)
def test_parameters_are_validated_up_front(kwargs: dict, needle: str) -> None:
    ann = Annotations.from_long(_frame([("a", "x", 1)]))
    with pytest.raises(UsageError, match=needle):
        aggregate(ann, **kwargs)


# ------------------------------------------------------------------------------------------ kernels
def test_majority_vote_margin_hand_checked() -> None:
    ptr = np.array([0, 3, 6, 7], dtype=np.int64)
    who = np.array([0, 1, 2, 0, 1, 3, 3], dtype=np.int64)
    weight = np.array([1.0, 1.0, 1.0, 5.0])
    binary = majority_vote_margin(ptr, who, weight, True)
    # equal weights: 2 weakest vs 1 strongest = 1; one strong annotator: 1 + 1 - 5 = -3; single vote: 5
    assert binary.tolist() == [1.0, -3.0, 5.0]
    multi = majority_vote_margin(ptr, who, weight, False)
    assert multi.tolist() == [1.0, -3.0, 5.0]  # c=1 gives the weakest single vote: 1 > -3


def test_top_two_confusion_mle() -> None:
    ptr = np.array([0, 4, 8, 10], dtype=np.int64)
    who = np.arange(10, dtype=np.int64)
    labels = np.array([0, 0, 0, 1, 0, 0, 1, 1, 2, 2], dtype=np.int64)
    reliability = np.ones(10)
    top = np.array([0, 0, 2], dtype=np.int64)
    second = np.array([1, 1, 0], dtype=np.int64)
    conf = top_two_confusion(ptr, who, labels, reliability, top, second, 3)
    assert conf[0] == pytest.approx(0.25, abs=1e-9)  # 3 vs 1 with perfectly reliable annotators
    assert conf[1] == pytest.approx(0.5, abs=1e-9)  # 2 vs 2
    assert conf[2] == 0.0  # nobody named the runner-up
    flat = top_two_confusion(ptr, who, labels, np.zeros(10), top, second, 3)
    assert flat[0] == pytest.approx(0.25)  # nobody credible: the vote share of the runner-up


def test_majority_vote_regime() -> None:
    homogeneous = simulate_crowd(1000, 30, 3, 3, scenario="homogeneous", seed=1)
    result = aggregate(Annotations.from_long(homogeneous.annotations))
    regime = result.summary["majority_vote"]
    assert regime["optimal_share"] > 0.95 and regime["good_enough"]
    spammers = simulate_crowd(1000, 30, 3, (3, 6), scenario="spammers", seed=1)
    result = aggregate(Annotations.from_long(spammers.annotations))
    regime = result.summary["majority_vote"]
    assert regime["optimal_share"] < 0.5 and not regime["good_enough"]
    assert regime["disagreement_rate"] > 0.05


def test_auto_runs_the_candidate_with_the_best_held_out_agreement() -> None:
    crowd = simulate_crowd(600, 20, 3, (3, 5), scenario="spammers", seed=7)
    ann = Annotations.from_long(crowd.annotations)
    auto = aggregate(ann, seed=3)
    scores = auto.summary["auto"]["scores"]
    assert set(scores) == set(AUTO_CANDIDATES)
    assert auto.method == max(AUTO_CANDIDATES, key=lambda m: (scores[m], -AUTO_CANDIDATES.index(m)))
    assert auto.method in auto.summary["auto_reason"] or "highest agreement" in auto.summary["auto_reason"]
    # a third of the crowd answers at random: weighting annotators must beat counting them
    assert scores[auto.method] > scores["majority"] and auto.method != "majority"
    direct = aggregate(ann, method=auto.method, seed=3)
    assert (auto.items["consensus_label"] == direct.items["consensus_label"]).all()
    # deterministic under the seed, whatever the row order
    shuffled = crowd.annotations.sample(frac=1.0, random_state=1)
    again = aggregate(Annotations.from_long(shuffled), seed=3)
    assert again.summary["auto"] == auto.summary["auto"]
    assert (again.items["consensus_label"] == auto.items["consensus_label"]).all()


def test_shrinkage_pools_noise_but_keeps_real_spread() -> None:
    n = np.full(50, 40.0)
    rng = np.random.default_rng(0)
    noisy = rng.binomial(40, 0.8, size=50) / 40
    assert np.ptp(shrink_accuracies(noisy, n)) < 0.5 * np.ptp(noisy)
    spread = np.linspace(0.4, 0.95, 50)
    assert np.ptp(shrink_accuracies(spread, n)) > 0.7 * np.ptp(spread)


def test_annotator_table() -> None:
    rows = [(i, "a", i % 2) for i in range(10)] + [(i, "b", i % 2) for i in range(10)] + [(3, "c", 0)]
    result = aggregate(Annotations.from_long(_frame(rows)), method="dawid-skene")
    table = result.annotators.set_index("annotator")
    assert table.loc["c", "num_items"] == 1 and table.loc["c", "agreement"] == 0.0
    assert table.loc["a", "agreement"] == 1.0 and table.loc["a", "num_annotations"] == 10
    assert table.loc["c", "quality"] < table.loc["a", "quality"]
    assert {"confusion_matrix", "worst_class"} <= set(table.columns)
    record = {r["annotator"]: r for r in result.summary["annotators"]}
    assert len(record["a"]["confusion_matrix"]) == 2


# ------------------------------------------------------------------------------------------ real data
@pytest.mark.data
@pytest.mark.parametrize(("name", "floor"), [("temp", 435 / 462), ("wsd", 176 / 177)])
def test_real_data_at_least_as_accurate_as_crowd_kit(data_dir, name: str, floor: float) -> None:
    folder = data_dir / "crowd" / name
    if not folder.is_dir():
        pytest.skip(f"{folder} not found")
    annotations = pd.read_csv(folder / "annotations.csv")
    truth = pd.read_csv(folder / "truth.csv")
    result = aggregate(Annotations.from_long(annotations))
    assert result.method in AUTO_CANDIDATES
    assert _accuracy(result, truth) >= floor
