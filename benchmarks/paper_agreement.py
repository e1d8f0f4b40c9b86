"""Agreement of find_label_issues with the masks published with the Confident Learning paper.

For the 12 noisy CIFAR-10 settings in ../shared/data/cl (``paper_kept_masks/*.npy``, True = kept),
prints the percentage of examples on which labelaudit's issue mask equals ``~kept``, for every
rule and both ``compat`` modes.

    python benchmarks/paper_agreement.py
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from _util import DATA_DIR  # noqa: E402

from labelaudit.core.filter import find_label_issues  # noqa: E402
from labelaudit.errors import LabelauditWarning  # noqa: E402

RULES = {
    "cl_pbnr": "prune_by_noise_rate",
    "cl_pbc": "prune_by_class",
    "cl_both": "both",
    "argmax": "predicted_neq_given",
    "conf_joint_only": "confident_learning",
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DATA_DIR / "cl")
    ap.add_argument("--compat", choices=["cleanlab", "paper", "both"], default="both")
    args, _unknown = ap.parse_known_args(argv)
    sets = sorted(p for p in args.data.glob("cifar10-train-*") if "noise0_0" not in p.name)
    if not sets:
        print(f"no cifar10-train-* sets under {args.data}: skipping")
        return 0
    modes = ["cleanlab", "paper"] if args.compat == "both" else [args.compat]
    for compat in modes:
        print(f"\nagreement with the published masks, % of 50,000 examples (compat={compat!r})")
        header = f"{'setting':<22}" + "".join(f"{r:>20}" for r in RULES.values())
        print(header)
        print("-" * len(header))
        worst = dict.fromkeys(RULES, 100.0)
        for folder in sets:
            labels = np.load(folder / "labels.npy")
            probs = np.load(folder / "pred_probs.npy")
            cells = []
            for mask_name, rule in RULES.items():
                kept = np.load(folder / "paper_kept_masks" / f"{mask_name}.npy")
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", LabelauditWarning)
                    issues = find_label_issues(labels, probs, filter_by=rule, compat=compat)
                pct = 100.0 * float((issues == ~kept).mean())
                worst[mask_name] = min(worst[mask_name], pct)
                cells.append(f"{pct:>19.2f}%")
            print(f"{folder.name.removeprefix('cifar10-train-'):<22}" + "".join(cells))
        print(f"{'minimum':<22}" + "".join(f"{worst[m]:>19.2f}%" for m in RULES))
    print(
        "\nconfident_learning: the published masks are the confident joint's off-diagonal without the"
        "\n'given label is the model's top class' exclusion that labelaudit (like cleanlab 2.9) applies;"
        "\nsee docs/confident-learning.md."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
