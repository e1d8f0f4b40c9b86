"""The models ``oof`` fits on each fold, behind one call: fit on the training rows, predict the held-out ones.

* ``logreg``: median imputation (with missing-value indicators), standardisation, multinomial logistic
  regression with strong L2 regularisation (C = 0.1: noisy labels must not be memorised);
* ``hgb``: scikit-learn's histogram gradient boosting (missing values handled natively);
* ``knn``: imputation, standardisation, 15 nearest neighbours weighted by inverse distance (embeddings);
* ``mlp``: a PyTorch multi-layer perceptron with early stopping (:mod:`labelaudit.oof._mlp`).

Multi-label problems get one binary model per tag (binary relevance) from the scikit-learn models and one
sigmoid output per tag from the MLP.
"""

from __future__ import annotations

from typing import Any

import numpy as np

MODELS = ("logreg", "hgb", "knn", "mlp")
DEVICES = ("auto", "cpu", "cuda")
KNN_NEIGHBOURS = 15


def preprocessing() -> list[Any]:
    """Median imputation with missing-value indicators, then standardisation (fitted on training rows only)."""
    from sklearn.impute import SimpleImputer
    from sklearn.preprocessing import StandardScaler

    return [SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True), StandardScaler()]


def _estimator(model: str, seed: int, num_train: int) -> Any:
    from sklearn.pipeline import make_pipeline

    if model == "logreg":
        from sklearn.linear_model import LogisticRegression

        return make_pipeline(*preprocessing(), LogisticRegression(C=0.1, max_iter=2000))
    if model == "hgb":
        from sklearn.ensemble import HistGradientBoostingClassifier

        return HistGradientBoostingClassifier(random_state=seed)
    if model == "knn":
        from sklearn.neighbors import KNeighborsClassifier

        return make_pipeline(
            *preprocessing(),
            KNeighborsClassifier(n_neighbors=min(KNN_NEIGHBOURS, num_train), weights="distance"),
        )
    raise AssertionError(model)


def _single_label(
    model: str, X: np.ndarray, y: np.ndarray, X_test: np.ndarray, num_classes: int, seed: int
) -> np.ndarray:
    out = np.zeros((len(X_test), num_classes), dtype=np.float64)
    present = np.unique(y)
    if len(present) == 1:
        out[:, present[0]] = 1.0
        return out
    estimator = _estimator(model, seed, len(X)).fit(X, y)
    out[:, estimator.classes_] = estimator.predict_proba(X_test)
    return out


def _binary_relevance(model: str, X: np.ndarray, Y: np.ndarray, X_test: np.ndarray, seed: int) -> np.ndarray:
    out = np.empty((len(X_test), Y.shape[1]), dtype=np.float64)
    for k in range(Y.shape[1]):
        y = Y[:, k]
        positives = int(y.sum())
        if positives in (0, len(y)):
            out[:, k] = (positives + 1) / (len(y) + 2)  # never or always tagged here: the smoothed prior
            continue
        estimator = _estimator(model, seed, len(X)).fit(X, y)
        out[:, k] = estimator.predict_proba(X_test)[:, list(estimator.classes_).index(1)]
    return out


def fit_predict(
    model: str,
    X: np.ndarray,
    y: np.ndarray,
    X_test: np.ndarray,
    *,
    num_classes: int,
    seed: int,
    device: str = "cpu",
) -> np.ndarray:
    """Fit ``model`` on (X, y) and return the probabilities of ``X_test``, ``len(X_test) x num_classes``.

    ``y`` is a class code per row, or a 0/1 tag matrix (multi-label: independent probabilities per tag).
    """
    if model == "mlp":
        from labelaudit.oof._mlp import MLP

        return MLP(seed=seed, device=device).fit(X, y, num_classes=num_classes).predict_proba(X_test)
    if y.ndim == 2:
        return _binary_relevance(model, X, y, X_test, seed)
    return _single_label(model, X, y, X_test, num_classes, seed)
