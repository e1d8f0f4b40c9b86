"""A PyTorch multi-layer perceptron for dense features and embeddings, stopped early on an inner split.

One hidden layer (ReLU, dropout; Srivastava et al., "Dropout: A Simple Way to Prevent Neural Networks from
Overfitting", JMLR 15, 2014), trained with AdamW (Loshchilov and Hutter, "Decoupled Weight Decay
Regularization", ICLR 2019, arXiv:1711.05101) on softmax cross-entropy (one class per row) or per-tag
sigmoid cross-entropy (multi-label). A tenth of the training rows, stratified, is held out; training stops
when their loss has not improved for ``patience`` epochs and the best weights are kept (early stopping:
Prechelt, "Early Stopping - But When?", Neural Networks: Tricks of the Trade, 1998,
DOI 10.1007/3-540-49430-8_3). On noisy labels this stops before the network memorises the wrong ones.

torch is imported here only, so the rest of labelaudit runs without it. Training runs on one CPU thread
with seeded initialisation and batch order: the same rows in the same order give the same probabilities.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from labelaudit.errors import UsageError
from labelaudit.oof._folds import strata, stratified_folds
from labelaudit.oof._models import preprocessing

MISSING_TORCH = "--model mlp needs PyTorch, which is not installed: pip install 'labelaudit[torch]'"


def require_torch() -> Any:
    """The torch module, or a :class:`UsageError` saying how to install it."""
    try:
        import torch
    except ImportError:
        raise UsageError(MISSING_TORCH) from None
    return torch


def resolve_device(device: str) -> str:
    """``auto`` -> cuda when PyTorch sees a GPU, else cpu; ``cuda`` without a GPU is an error."""
    torch = require_torch()
    available = bool(torch.cuda.is_available())
    if device == "auto":
        return "cuda" if available else "cpu"
    if device == "cuda" and not available:
        raise UsageError("--device cuda: PyTorch sees no CUDA device (use --device cpu or auto)")
    return device


class MLP:
    """``fit(X, y, num_classes)`` then ``predict_proba(X)``; ``y`` is class codes or a 0/1 tag matrix."""

    def __init__(
        self,
        *,
        seed: int = 0,
        device: str = "cpu",
        hidden: int = 256,
        dropout: float = 0.2,
        learning_rate: float = 1e-3,
        weight_decay: float = 1e-4,
        batch_size: int = 128,
        max_epochs: int = 200,
        patience: int = 10,
        validation_folds: int = 10,
    ) -> None:
        self.seed = seed
        self.device = device
        self.hidden = hidden
        self.dropout = dropout
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.validation_folds = validation_folds

    def _transform(self, X: np.ndarray) -> np.ndarray:
        for step in self.steps_:
            X = step.transform(X)
        return np.ascontiguousarray(X, dtype=np.float32)

    def fit(self, X: np.ndarray, y: np.ndarray, *, num_classes: int) -> MLP:
        torch = require_torch()
        self.steps_ = preprocessing()
        for step in self.steps_:
            X = step.fit_transform(X)
        X = np.ascontiguousarray(X, dtype=np.float32)
        self.multi_label_ = y.ndim == 2
        self.num_classes_ = num_classes
        n = len(X)
        held_out = stratified_folds(strata(y), np.arange(n, dtype=np.uint64), self.validation_folds) == 0
        if held_out.sum() < 2 or (~held_out).sum() < 2:
            held_out[:] = False  # too few rows to hold any out: train for a fixed number of epochs
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(self.seed)
                self._train(torch, X, y, held_out)
        finally:
            torch.set_num_threads(threads)
        return self

    def _train(self, torch: Any, X: np.ndarray, y: np.ndarray, held_out: np.ndarray) -> None:
        nn = torch.nn
        device = torch.device(self.device)
        net = nn.Sequential(
            nn.Linear(X.shape[1], self.hidden),
            nn.ReLU(),
            nn.Dropout(self.dropout),
            nn.Linear(self.hidden, self.num_classes_),
        ).to(device)
        if self.multi_label_:
            loss_fn = nn.BCEWithLogitsLoss()
            targets = torch.as_tensor(y, dtype=torch.float32)
        else:
            loss_fn = nn.CrossEntropyLoss()
            targets = torch.as_tensor(y, dtype=torch.int64)
        inputs = torch.as_tensor(X)
        train_rows = torch.as_tensor(np.flatnonzero(~held_out))
        x_fit, y_fit = inputs[train_rows].to(device), targets[train_rows].to(device)
        validate = bool(held_out.any())
        if validate:
            val_rows = torch.as_tensor(np.flatnonzero(held_out))
            x_val, y_val = inputs[val_rows].to(device), targets[val_rows].to(device)
        optimizer = torch.optim.AdamW(net.parameters(), lr=self.learning_rate, weight_decay=self.weight_decay)
        generator = torch.Generator().manual_seed(self.seed)
        best_loss, best_state, stale = float("inf"), None, 0
        epochs = self.max_epochs if validate else min(self.max_epochs, 50)
        self.epochs_ = 0
        for _epoch in range(epochs):
            net.train()
            order = torch.randperm(len(x_fit), generator=generator).to(device)
            for start in range(0, len(order), self.batch_size):
                batch = order[start : start + self.batch_size]
                optimizer.zero_grad()
                loss_fn(net(x_fit[batch]), y_fit[batch]).backward()
                optimizer.step()
            self.epochs_ += 1
            if not validate:
                continue
            net.eval()
            with torch.no_grad():
                loss = float(loss_fn(net(x_val), y_val))
            if loss < best_loss - 1e-4:
                best_loss, stale = loss, 0
                best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
            else:
                stale += 1
                if stale >= self.patience:
                    break
        if best_state is not None:
            net.load_state_dict(best_state)
        net.eval()
        self.net_ = net

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        torch = require_torch()
        X = self._transform(X)
        device = next(self.net_.parameters()).device
        out = np.empty((len(X), self.num_classes_), dtype=np.float64)
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            with torch.no_grad():
                for start in range(0, len(X), 4096):
                    logits = self.net_(torch.as_tensor(X[start : start + 4096]).to(device)).double()
                    probs = torch.sigmoid(logits) if self.multi_label_ else torch.softmax(logits, dim=1)
                    out[start : start + 4096] = probs.cpu().numpy()
        finally:
            torch.set_num_threads(threads)
        return out
