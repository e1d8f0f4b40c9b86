"""Peak RSS and wall time of `labelaudit scan` in memory vs `--chunk-rows` on a big float32 Parquet file.

    python benchmarks/bench_streaming.py [--rows 2000000] [--classes 50] [--chunk-rows 200000]

The file (labels + K float32 probability columns, written row group by row group) goes under /tmp and is
removed afterwards unless --keep. Each scan runs in its own subprocess, which reports its own peak RSS;
the two reports are compared for equality.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

_CHILD = """
import resource, sys
from labelaudit.cli.app import app
code = 0
try:
    app(sys.argv[2:], prog_name="labelaudit")
except SystemExit as exc:
    code = exc.code or 0
with open(sys.argv[1], "w") as fh:
    fh.write(str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024))
sys.exit(code)
"""


def write_parquet(path: Path, rows: int, classes: int, *, seed: int = 0, group: int = 250_000) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _util import synthetic

    names = [f"c{k}" for k in range(classes)]
    writer = None
    for start in range(0, rows, group):
        n = min(group, rows - start)
        labels, probs = synthetic(n, classes, seed=seed + start)
        columns = {"label": pa.array(np.asarray(names, dtype=object)[labels])}
        columns.update({f"p_{name}": pa.array(probs[:, k]) for k, name in enumerate(names)})
        table = pa.table(columns)
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema)
        writer.write_table(table)
    assert writer is not None
    writer.close()


def run_scan(args: list[str]) -> tuple[float, int]:
    with tempfile.NamedTemporaryFile(suffix=".rss", delete=False) as fh:
        rss_file = fh.name
    try:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", _CHILD, rss_file, *args], check=True)
        return time.perf_counter() - started, int(Path(rss_file).read_text())
    finally:
        os.unlink(rss_file)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--classes", type=int, default=50)
    parser.add_argument("--chunk-rows", type=int, default=200_000)
    parser.add_argument("--keep", action="store_true")
    opts = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="labelaudit-bench-streaming-", dir="/tmp"))
    data = workdir / "big.parquet"
    started = time.perf_counter()
    write_parquet(data, opts.rows, opts.classes)
    matrix_mb = opts.rows * opts.classes * 4 / 2**20
    print(
        f"{data}: {opts.rows:,} x {opts.classes} float32 ({matrix_mb:,.0f} MiB of probabilities, "
        f"{data.stat().st_size / 2**20:,.0f} MiB on disk), written in {time.perf_counter() - started:.1f}s"
    )
    print(f"{'mode':<28} {'wall s':>8} {'peak RSS MiB':>14}")
    reports = {}
    for name, extra in (
        ("in memory", []),
        (f"--chunk-rows {opts.chunk_rows}", ["--chunk-rows", str(opts.chunk_rows)]),
    ):
        out = workdir / f"report-{len(extra)}.parquet"
        wall, rss = run_scan(["scan", str(data), "-q", "-o", str(out), *extra])
        reports[name] = out
        print(f"{name:<28} {wall:>8.1f} {rss / 2**20:>14,.0f}")
    import pandas as pd

    a, b = (pd.read_parquet(p) for p in reports.values())
    print("reports equal:", a.equals(b))
    if not opts.keep:
        for p in workdir.iterdir():
            p.unlink()
        workdir.rmdir()


if __name__ == "__main__":
    main()
