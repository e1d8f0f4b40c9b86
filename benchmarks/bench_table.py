"""`--format table` (and `-o report.txt`) against CSV: the plain-text table is written in time linear in the rows.

Writes a synthetic scan report (row, id, given_label, suggested_label, label_quality, is_label_issue, rank)
with :func:`labelaudit.io.writers.write_frame` as CSV and as the table, median of ``--repeats`` runs, and,
for the smaller sizes, the previous implementation (a rich ``Table`` exported as text) for comparison.

    python benchmarks/bench_table.py [--sizes 20000,100000,1000000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from labelaudit.io.writers import write_frame
from labelaudit.report.table import format_cell

CLASSES = np.array(["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"])


def report(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    quality = rng.random(n)
    return pd.DataFrame(
        {
            "row": np.arange(n, dtype=np.int64),
            "id": [f"img-{i:07d}" for i in range(n)],
            "given_label": CLASSES[rng.integers(0, 10, n)],
            "suggested_label": CLASSES[rng.integers(0, 10, n)],
            "label_quality": quality,
            "is_label_issue": quality < 0.1,
            "rank": (np.argsort(np.argsort(quality, kind="stable"), kind="stable") + 1).astype(np.int64),
        }
    )


def rich_table_text(frame: pd.DataFrame) -> str:
    """The previous `--format table`: one rich Table of every row, exported as text."""
    import io

    from rich.console import Console
    from rich.table import Table

    console = Console(width=200, record=True, color_system=None, force_terminal=False, file=io.StringIO())
    table = Table(show_lines=False, pad_edge=False, box=None)
    for column in frame.columns:
        table.add_column(str(column))
    for record in frame.itertuples(index=False):
        table.add_row(*(format_cell(v) for v in record))
    console.print(table)
    return console.export_text()


def timed(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="20000,100000,1000000")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--previous-up-to", type=int, default=20000, help="largest size to time the rich table at"
    )
    args = parser.parse_args()
    print(
        f"| rows | csv | table | table / csv | previous rich table | previous / table |  (median of {args.repeats})"
    )
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for n in (int(s) for s in args.sizes.split(",")):
            frame = report(n)
            csv = timed(lambda frame=frame: write_frame(frame, str(Path(tmp) / "r.csv"), "csv"), args.repeats)
            table = timed(
                lambda frame=frame: write_frame(frame, str(Path(tmp) / "r.txt"), "table"), args.repeats
            )
            if n <= args.previous_up_to:
                previous = timed(lambda frame=frame: rich_table_text(frame), 1)
                old = f"{previous:.2f} s | {previous / table:.0f}x"
            else:
                old = "not run (quadratic) | -"
            print(f"| {n:,} | {csv:.2f} s | {table:.2f} s | {table / csv:.2f} | {old} |")


if __name__ == "__main__":
    main()
