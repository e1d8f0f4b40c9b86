"""Out-of-fold predicted probabilities from features or embeddings (``labelaudit oof``).

Confident learning needs, for every row, class probabilities from a model that never saw that row's label:
in-sample probabilities have learned the wrong labels and hide them. :func:`out_of_fold` fits one model per
fold of a stratified K-fold split (logistic regression, gradient boosting, nearest neighbours, or a
PyTorch MLP for embeddings) and returns an :class:`OOFResult` whose ``.write(path)`` gives the ``p_<class>``
table that ``labelaudit scan --probs`` reads, with a model-free neighbour-agreement column beside it.

This package sits at the engines level: it imports ``labelaudit.core``, ``labelaudit.io`` and
``labelaudit.errors`` only.
"""

from labelaudit.oof._api import out_of_fold
from labelaudit.oof._features import CATEGORICAL
from labelaudit.oof._models import DEVICES, MODELS
from labelaudit.oof._result import SCHEMA, OOFResult

__all__ = ["CATEGORICAL", "DEVICES", "MODELS", "SCHEMA", "OOFResult", "out_of_fold"]
