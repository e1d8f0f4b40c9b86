"""Exact rendering of the terminal table and summary in a fixed-width console."""

from __future__ import annotations

import io

import pandas as pd
from rich.console import Console

from labelaudit.report.table import issues_table, print_scan_summary

REPORT = pd.DataFrame(
    {
        "row": [0, 1, 2],
        "given_label": ["cat", "dog", "cat"],
        "suggested_label": ["cat", "cat", "dog"],
        "label_quality": [0.9, 0.05, 0.2],
        "is_label_issue": [False, True, True],
        "rank": [3, 1, 2],
    }
)

SUMMARY = {
    "num_examples": 3,
    "num_issues": 2,
    "estimated_noise_rate": 0.5,
    "health_score": 0.5,
    "per_class": [{"class": "cat", "label_noise": 0.5}, {"class": "dog", "label_noise": 0.25}],
    "overlapping_classes": [{"classes": ["cat", "dog"], "joint": 0.5}],
}

EXPECTED = """\
Top 2
┏━━━━━━┳━━━━━┳━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━┓
┃ rank ┃ row ┃ given_label ┃ label_quality ┃ is_label_issue ┃
┡━━━━━━╇━━━━━╇━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━┩
│    1 │   1 │ dog         │        0.0500 │ yes            │
│    2 │   2 │ cat         │        0.2000 │ yes            │
└──────┴─────┴─────────────┴───────────────┴────────────────┘
examples: 3   label issues: 2 (66.7%)
estimated noise rate: 50.0%   health score: 0.500
noisiest classes: cat (50.0%), dog (25.0%)
most overlapping classes: cat <-> dog (50.00% of examples)
"""


def test_table_and_summary_render_exactly() -> None:
    console = Console(width=100, record=True, color_system=None, force_terminal=False, file=io.StringIO())
    console.print(
        issues_table(
            REPORT, ["rank", "row", "given_label", "label_quality", "is_label_issue"], top=2, title="Top 2"
        )
    )
    print_scan_summary(console, SUMMARY)
    lines = [line.rstrip() for line in console.export_text().splitlines()]
    assert "\n".join(lines) + "\n" == EXPECTED


def test_summary_says_what_the_count_means() -> None:
    console = Console(width=120, record=True, color_system=None, force_terminal=False, file=io.StringIO())
    print_scan_summary(console, {"num_examples": 10, "num_issues": 3, "expected_label_errors": 3.6})
    print_scan_summary(
        console,
        {"num_examples": 10, "num_issues": 3, "expected_label_errors": 2.4, "unflagged_in_top_ranks": 1},
    )
    lines = [line.rstrip() for line in console.export_text().splitlines()]
    assert lines == [
        "examples: 10   label issues: 3 (30.0%)",
        "about 4 labels are probably wrong (the sum of error_probability); these 3 are flagged",
        "examples: 10   label issues: 3 (30.0%)",
        "about 2 labels are probably wrong (the sum of error_probability); these 3 are flagged",
        "1 of the top 3 by rank are not flagged: the rank orders label_quality (--score), the flags come from --method",
    ]


def test_format_cell() -> None:
    import numpy as np

    from labelaudit.report.table import format_cell

    assert format_cell(0.5) == "0.5000"
    assert format_cell(np.float32(0.25)) == "0.2500"
    assert format_cell(float("nan")) == ""
    assert format_cell(None) == ""
    assert format_cell(True) == "yes" and format_cell(np.bool_(False)) == ""
    assert format_cell(7) == "7" and format_cell("cat") == "cat"
