"""The one vocabulary of aggregation methods: the CLI choices, the API checks and the docs read it.

Importing this module is cheap (no NumPy, no numba), so ``labelaudit aggregate --help`` can list the methods.
"""

from __future__ import annotations

#: Every value ``method`` accepts, with one line each (``docs/aggregate.md`` repeats these lines).
METHOD_HELP = {
    "auto": "choose per data set by cross-validated agreement with held-out annotations (crowdlab with --probs)",
    "majority": "majority (plurality) vote",
    "wawa": "vote weighted by each annotator's agreement with the majority",
    "dawid-skene": "Dawid-Skene confusion matrices by EM (Dirichlet-smoothed MAP)",
    "one-coin": "Dawid-Skene with one accuracy per annotator",
    "ibcc": "Bayesian classifier combination by variational inference (Kim & Ghahramani 2012)",
    "ebcc": "IBCC with item subtypes for correlated errors (Li, Rubinstein & Cohn 2019), best of several starts",
    "crowdlab": "annotators pooled with a model's out-of-fold probabilities (needs --probs)",
}
METHODS = tuple(METHOD_HELP)
#: The methods ``auto`` compares without model probabilities. Exact ties go to the first listed: simpler models
#: first, and among full confusion matrices the Bayesian fits before the point estimate. One-coin is left out:
#: its symmetric-error model lets a skewed class prior pull contested items into the majority class, which
#: held-out agreement rewards when annotators share that skew (see docs/aggregate.md).
AUTO_CANDIDATES = ("majority", "wawa", "ibcc", "ebcc", "dawid-skene")
#: Methods whose ``--smoothing`` / ``--diagonal`` / ``--max-iter`` / ``--tol`` apply.
ITERATIVE = ("dawid-skene", "one-coin", "ibcc", "ebcc")
