"""Run every benchmark script in this folder and print their tables (`make bench`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
SCRIPTS = [
    "bench_confident.py",
    "paper_agreement.py",
    "bench_multilabel.py",
    "bench_aggregate.py",
    "bench_streaming.py",
    "bench_oof.py",
    "bench_html.py",
]


def main() -> int:
    failed = []
    for name in SCRIPTS:
        script = HERE / name
        if not script.exists():
            continue
        print(f"\n=== {name} ===", flush=True)
        if subprocess.run([sys.executable, str(script), *sys.argv[1:]]).returncode != 0:
            failed.append(name)
    if failed:
        print("failed: " + ", ".join(failed), file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
