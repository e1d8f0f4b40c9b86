"""Speed and memory of labelaudit's find_label_issues against cleanlab 2.9, side by side.

Each tool runs in its own fresh subprocess, which loads the same .npy files, records its resident
memory (baseline), then times one first call and ``--repeat`` further calls. Extra memory is the
process's peak RSS (ru_maxrss) minus that baseline. labelaudit's numba kernels are cached on disk
(``cache=True``): the first call in a fresh process only loads them; the cold compile time is
measured separately in a process pointed at an empty cache directory.

    python benchmarks/bench_confident.py                 # 1,000,000 x 100 float32
    python benchmarks/bench_confident.py --n 20000 --k 10 # smoke test
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))


def _worker(args: argparse.Namespace) -> None:
    import numpy as np
    from _util import current_rss_bytes, max_rss_bytes, timed

    if args.worker == "labelaudit":
        from labelaudit.core.filter import find_label_issues

        def run(labels, probs):
            return find_label_issues(labels, probs, filter_by=args.filter_by)

    else:
        from cleanlab.filter import find_label_issues as cl_find

        n_jobs = None if args.cleanlab_n_jobs == 0 else args.cleanlab_n_jobs

        def run(labels, probs):
            return cl_find(labels, probs, filter_by=args.filter_by, n_jobs=n_jobs)

    labels = np.load(Path(args.data) / "labels.npy")
    probs = np.load(Path(args.data) / "pred_probs.npy")
    # warm-up on a small slice: imports settle and numba loads its cached kernels (reported apart)
    load_wall = timed(run, labels[:2000].copy(), probs[:2000].copy())[0]
    base = max(current_rss_bytes(), max_rss_bytes())
    first_wall, first_cpu, mask = timed(run, labels, probs)
    walls, cpus = [], []
    for _ in range(args.repeat):
        w, c, mask = timed(run, labels, probs)
        walls.append(w)
        cpus.append(c)
    np.save(Path(args.data) / f"mask_{args.worker}.npy", np.asarray(mask))
    print(
        json.dumps(
            {
                "load_wall": load_wall,
                "first_wall": first_wall,
                "wall": min(walls) if walls else first_wall,
                "cpu": min(cpus) if cpus else first_cpu,
                "extra_bytes": max_rss_bytes() - base,
                "base_bytes": base,
                "input_bytes": probs.nbytes,
                "flagged": int(np.asarray(mask).sum()),
            }
        )
    )


def _run_worker(tool: str, data: Path, args: argparse.Namespace, env: dict[str, str] | None = None) -> dict:
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--worker",
        tool,
        "--data",
        str(data),
        "--repeat",
        str(args.repeat),
        "--filter-by",
        args.filter_by,
        "--cleanlab-n-jobs",
        str(args.cleanlab_n_jobs),
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **(env or {})})
    if out.returncode != 0:
        raise SystemExit(f"{tool} worker failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _compile_seconds(data: Path) -> float:
    """Cold numba compile + first call, in a process with an empty cache directory."""
    code = (
        "import numpy as np, time\n"
        "from labelaudit.core.filter import find_label_issues\n"
        f"l = np.load({str(data / 'labels.npy')!r})[:2000]\n"
        f"p = np.load({str(data / 'pred_probs.npy')!r})[:2000]\n"
        "t = time.perf_counter(); find_label_issues(l, p); print(time.perf_counter() - t)\n"
    )
    with tempfile.TemporaryDirectory() as cache:
        out = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            env={**os.environ, "NUMBA_CACHE_DIR": cache, "PYTHONPATH": str(HERE.parent)},
        )
        if out.returncode != 0:
            raise SystemExit(out.stderr)
        return float(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--k", type=int, default=100)
    ap.add_argument("--noise", type=float, default=0.2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=2, help="timed calls after the first (best is reported)")
    ap.add_argument("--filter-by", default="prune_by_noise_rate")
    ap.add_argument(
        "--cleanlab-n-jobs", type=int, default=1, help="n_jobs for cleanlab (0 = its default, all cores)"
    )
    ap.add_argument("--skip-cleanlab", action="store_true")
    ap.add_argument("--small", action="store_true", help="shorthand for --n 20000 --k 10 --repeat 1")
    ap.add_argument("--worker", choices=["labelaudit", "cleanlab"], help=argparse.SUPPRESS)
    ap.add_argument("--data", help=argparse.SUPPRESS)
    args, _unknown = ap.parse_known_args(argv)
    if args.worker:
        _worker(args)
        return 0
    if args.small:
        args.n, args.k, args.repeat = 20_000, 10, 1

    import numpy as np
    from _util import synthetic

    with tempfile.TemporaryDirectory(prefix="labelaudit-bench-") as tmp:
        data = Path(tmp)
        labels, probs = synthetic(args.n, args.k, noise=args.noise, seed=args.seed)
        np.save(data / "labels.npy", labels)
        np.save(data / "pred_probs.npy", probs)
        input_mb = probs.nbytes / 2**20
        del labels, probs
        compile_s = _compile_seconds(data)
        rows = {"labelaudit": _run_worker("labelaudit", data, args)}
        if not args.skip_cleanlab:
            try:
                import cleanlab  # noqa: F401
            except ImportError:
                print("cleanlab is not installed: skipping it")
            else:
                rows["cleanlab"] = _run_worker("cleanlab", data, args)
        masks = {t: np.load(data / f"mask_{t}.npy") for t in rows}

    jobs = "all cores" if args.cleanlab_n_jobs == 0 else f"n_jobs={args.cleanlab_n_jobs}"
    print(
        f"find_label_issues(filter_by={args.filter_by!r}) on {args.n:,} x {args.k} float32 "
        f"({input_mb:.0f} MB), noise {args.noise:.0%}; best of {max(args.repeat, 1)} calls; "
        f"cleanlab {jobs}; each tool in a fresh process"
    )
    header = (
        f"{'tool':<11} {'warm-up s':>9} {'first call s':>12} {'best wall s':>11} {'cpu s':>7} "
        f"{'extra MB':>9} {'extra/input':>11} {'flagged':>9}"
    )
    print(header)
    print("-" * len(header))
    for tool, r in rows.items():
        extra = r["extra_bytes"] / 2**20
        print(
            f"{tool:<11} {r['load_wall']:>9.3f} {r['first_wall']:>12.3f} {r['wall']:>11.3f} {r['cpu']:>7.3f} "
            f"{extra:>9.1f} {extra / input_mb:>11.2f} {r['flagged']:>9,}"
        )
    if "cleanlab" in rows:
        la, cl = rows["labelaudit"], rows["cleanlab"]
        agree = float((masks["labelaudit"] == masks["cleanlab"]).mean())
        print(
            f"speed-up (cleanlab wall / labelaudit wall): {cl['wall'] / la['wall']:.1f}x; "
            f"cpu: {cl['cpu'] / la['cpu']:.1f}x; masks agree on {agree:.4%} of rows "
            "(labelaudit compat='paper' vs cleanlab)"
        )
    print(
        f"warm-up = first call on 2,000 rows in the fresh process (labelaudit: loading cached numba code); "
        f"extra MB = peak RSS after the warm-up minus RSS before the full-size calls.\n"
        f"labelaudit numba compile with a cold cache (excluded above): {compile_s:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
