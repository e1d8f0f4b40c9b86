"""End to end: `labelaudit scan data.parquet -o report.parquet` against what a user would write instead.

Three commands on the same Parquet file (N rows x K float32 ``p_<class>`` columns, string labels), each a fresh
process, timed over several runs (median) with its peak RSS:

* labelaudit: ``labelaudit scan data.parquet -o report.parquet -q``;
* the script: pandas reads the file, cleanlab 2.9 finds the issues and scores them, pandas writes the report;
* the floor: pyarrow reads the same columns and writes a report of the same shape (no auditing at all).

A 2,000-row CSV scan is timed the same way (the start-up cost a user sees on a small file).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _util import synthetic  # noqa: E402

_RSS_WRAPPER = """
import resource, runpy, sys
rss_file = sys.argv[1]
sys.argv = sys.argv[2:]
code = 0
try:
    if sys.argv[0] == "-c":
        exec(compile(sys.argv[1], "<script>", "exec"), {"__name__": "__main__"})
    else:
        from labelaudit.cli.app import main
        sys.argv = ["labelaudit", *sys.argv]
        main()
except SystemExit as exc:
    code = exc.code or 0
with open(rss_file, "w") as fh:
    fh.write(str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024))
sys.exit(code)
"""

_SCRIPT = """
import sys
import numpy as np, pandas as pd
from cleanlab.filter import find_label_issues
from cleanlab.rank import get_label_quality_scores
data, out = sys.argv[2], sys.argv[3]
frame = pd.read_parquet(data)
columns = [c for c in frame.columns if c.startswith("p_")]
classes = [c[2:] for c in columns]
probs = frame[columns].to_numpy(dtype=np.float32)
labels = frame["label"].map({c: k for k, c in enumerate(classes)}).to_numpy()
issues = find_label_issues(labels, probs)
quality = get_label_quality_scores(labels, probs)
report = pd.DataFrame({"row": np.arange(len(labels)), "given_label": frame["label"],
                       "suggested_label": np.asarray(classes, dtype=object)[probs.argmax(1)],
                       "label_quality": quality, "is_label_issue": issues})
report["rank"] = report["label_quality"].rank(method="first").astype("int64")
report.to_parquet(out)
"""

_FLOOR = """
import sys
import numpy as np, pyarrow as pa, pyarrow.parquet as pq
data, out = sys.argv[2], sys.argv[3]
table = pq.read_table(data)
n = table.num_rows
label = table.column("label")
report = pa.table({"row": pa.array(np.arange(n)), "given_label": label, "suggested_label": label,
                   "label_quality": pa.array(np.zeros(n)), "is_label_issue": pa.array(np.zeros(n, bool)),
                   "rank": pa.array(np.arange(1, n + 1))})
pq.write_table(report, out)
"""


def write_parquet(path: Path, rows: int, classes: int, *, seed: int = 0, group: int = 250_000) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    names = np.asarray([f"class{k:03d}" for k in range(classes)], dtype=object)
    writer = None
    for start in range(0, rows, group):
        n = min(group, rows - start)
        labels, probs = synthetic(n, classes, seed=seed + start)
        columns = {"label": pa.array(names[labels])}
        columns.update({f"p_{name}": pa.array(probs[:, k]) for k, name in enumerate(names)})
        table = pa.table(columns)
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema)
        writer.write_table(table)
    assert writer is not None
    writer.close()


def timed_run(args: list[str], env: dict[str, str] | None = None) -> tuple[float, int]:
    with tempfile.NamedTemporaryFile(suffix=".rss", delete=False) as fh:
        rss_file = fh.name
    try:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", _RSS_WRAPPER, rss_file, *args], check=True, env=env)
        return time.perf_counter() - started, int(Path(rss_file).read_text())
    finally:
        os.unlink(rss_file)


def median_run(args: list[str], repeats: int) -> tuple[float, int]:
    runs = [timed_run(args) for _ in range(repeats)]
    return statistics.median(w for w, _ in runs), max(r for _, r in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--classes", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-script", action="store_true", help="leave out the pandas + cleanlab script")
    opts = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="labelaudit-bench-scan-"))
    data = workdir / "data.parquet"
    # written by a child: Linux carries a process's peak RSS across fork and exec, so this process must stay small
    subprocess.run(
        [
            sys.executable,
            "-c",
            f"import sys; sys.path.insert(0, {str(HERE)!r}); from bench_scan import write_parquet; "
            f"from pathlib import Path; write_parquet(Path({str(data)!r}), {opts.rows}, {opts.classes})",
        ],
        check=True,
    )
    matrix = opts.rows * opts.classes * 4
    baseline = timed_run(["-c", "pass"])[1]
    print(
        f"{opts.rows:,} rows x {opts.classes} float32 classes in Parquet ({data.stat().st_size / 2**20:,.0f} MiB "
        f"on disk, {matrix / 2**20:,.0f} MiB of probabilities); median of {opts.repeats} runs; "
        f"interpreter baseline RSS {baseline / 2**20:,.0f} MiB"
    )
    commands = {
        "labelaudit scan": ["scan", str(data), "-q", "-o", str(workdir / "la.parquet")],
        "floor (pyarrow read + write)": ["-c", _FLOOR, str(data), str(workdir / "floor.parquet")],
    }
    if not opts.skip_script:
        commands["pandas + cleanlab 2.9 script"] = ["-c", _SCRIPT, str(data), str(workdir / "cl.parquet")]
    results = {name: median_run(args, opts.repeats) for name, args in commands.items()}
    ours = results["labelaudit scan"][0]
    print(f"{'command':<32} {'wall s':>8} {'x labelaudit':>13} {'peak RSS MiB':>13} {'RSS / matrix':>13}")
    for name, (wall, rss) in results.items():
        ratio = (rss - baseline) / matrix
        print(f"{name:<32} {wall:>8.2f} {wall / ours:>13.2f} {rss / 2**20:>13,.0f} {ratio:>13.2f}")

    import pandas as pd

    small = workdir / "small.csv"
    labels, probs = synthetic(2000, 10, seed=1)
    frame = pd.DataFrame({"label": [f"c{k}" for k in labels]})
    for k in range(10):
        frame[f"p_c{k}"] = probs[:, k]
    frame.to_csv(small, index=False)
    wall, _ = median_run(["scan", str(small), "-q", "-o", str(workdir / "small.parquet")], opts.repeats)
    print(f"2,000-row CSV scan: {wall:.2f} s wall (median of {opts.repeats})")
    for path in workdir.iterdir():
        path.unlink()
    workdir.rmdir()


if __name__ == "__main__":
    main()
