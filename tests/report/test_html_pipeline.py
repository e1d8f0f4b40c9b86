"""The page from the library's results: ``AggregateResult.to_html`` and ``render_page`` with an input table."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from labelaudit.pipeline.render import render_page, row_extras


def island(text: str) -> dict:
    return json.loads(text.split('id="la-data">', 1)[1].split("</script>", 1)[0])


def annotations(seed: int = 0) -> pd.DataFrame:
    """120 items, 5 annotators each (one careless), three classes, and a text column per item."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(120):
        truth = int(rng.integers(0, 3))
        for a in range(5):
            wrong = rng.random() < (0.45 if a == 0 else 0.08)
            label = ["cat", "dog", "fox"][(truth + int(wrong) * int(rng.integers(1, 3))) % 3]
            rows.append((f"item{i:03d}", f"w{a}", label, f"text of item {i}"))
    return pd.DataFrame(rows, columns=["item", "annotator", "label", "text"])


def test_aggregate_page_has_posteriors_annotators_and_item_text() -> None:
    from labelaudit.pipeline.aggregate import aggregate

    table = annotations()
    result = aggregate(table, method="dawid-skene")
    text = result.to_html(data=table, show_cols=["text"])
    spec = island(text)
    order = result.items.sort_values(["consensus_quality", "item"], kind="stable")
    assert spec["data"]["item"] == order["item"].tolist()
    # each item's text is its own, and its most probable class is the consensus
    assert spec["data"]["show:text"] == [f"text of item {int(i[4:])}" for i in order["item"]]
    names = spec["cats"]["_labels"]
    consensus = [names[c] for c in spec["data"]["consensus_label"]]
    assert [names[int(t[0])] for t in spec["data"]["top"]] == consensus
    # one confusion matrix per annotator, on demand, the least trusted first
    details = re.findall(r"<details><summary>([^ <]*) \(quality", text)
    qualities = sorted(result.summary["annotators"], key=lambda a: (a["quality"], a["annotator"]))
    assert details == [a["annotator"] for a in qualities]
    assert details[0] == "w0"
    # the saved report carries the annotators, so `labelaudit render` can draw them too
    assert [a["annotator"] for a in result.metadata["annotators"]] == sorted(table["annotator"].unique())


def test_render_page_with_a_frame_matches_rows_by_position() -> None:
    report = pd.DataFrame(
        {
            "row": [2, 0, 1],
            "given_label": ["a", "b", "a"],
            "suggested_label": ["b", "b", "a"],
            "label_quality": [0.1, 0.9, 0.5],
            "is_label_issue": [True, False, False],
            "rank": [1, 3, 2],
        }
    )
    data = pd.DataFrame({"caption": ["zero", "one", "two"], "p_a": [0.2, 0.6, 0.3], "p_b": [0.8, 0.4, 0.7]})
    metadata = {"schema": "labelaudit.scan/1", "parameters": {"prob_cols": "p_*"}}
    spec = island(render_page(report, metadata, data=data, show_cols=["caption"]))
    assert spec["data"]["row"] == [2, 1, 0]
    assert spec["data"]["show:caption"] == ["two", "one", "zero"]
    names = spec["cats"]["_labels"]
    assert [(names[int(t[0])], t[1]) for t in spec["data"]["top"]] == [("b", 0.7), ("a", 0.6), ("b", 0.8)]


def test_rows_the_data_does_not_have_are_an_input_error() -> None:
    from labelaudit.errors import ColumnError, InputError, UsageError

    report = pd.DataFrame(
        {
            "row": [5],
            "given_label": ["a"],
            "suggested_label": ["a"],
            "label_quality": [0.5],
            "is_label_issue": [False],
            "rank": [1],
        }
    )
    metadata = {"schema": "labelaudit.scan/1"}
    with pytest.raises(InputError, match="has 2 rows but the report names row 5"):
        row_extras(report, metadata, pd.DataFrame({"x": [1, 2]}), source="d.csv", show_cols=["x"])
    with pytest.raises(ColumnError, match=r"d\.csv: no column 'y'"):
        row_extras(report, metadata, pd.DataFrame({"x": [1, 2]}), source="d.csv", show_cols=["y"])
    with pytest.raises(UsageError, match="the report has no column 'x'; give the input table"):
        row_extras(report, metadata, None, show_cols=["x"])
    with pytest.raises(UsageError, match="--top must be at least 0"):
        render_page(report, metadata, top=-1)
