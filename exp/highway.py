"""Start the classifier's highway (models/timer_xl_classifier.py) from a logistic regression.

The regression reads the same window summaries as the highway, is fitted on the train windows
with the loss's class weights, and its coefficients become the highway's weights; the
transformer's head starts at zero, so before the first step the model forecasts what the
regression forecasts, and training can only move it where the train loss falls. Without this
start the highway learns at the transformer's learning rate, far too slowly for a linear map.
"""
from __future__ import annotations

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression

from data_provider.windows import WindowSet


@torch.no_grad()
def window_summaries(model, windows: WindowSet, batch_size: int = 1024) -> np.ndarray:
    """[n, 3 * n_vars] float64: the highway's inputs for every window, on the CPU."""
    parts = [model.summaries(*inputs).double().numpy()
             for inputs, _, _ in windows.batches(batch_size)]
    return np.concatenate(parts) if parts else np.zeros((0, model.highway.in_features))


@torch.no_grad()
def start_highway(model, train: WindowSet, class_weights: torch.Tensor | None, seed: int) -> str:
    """Fits the regression and copies it in; returns one line for the log."""
    features = window_summaries(model, train)
    labels = np.asarray(train.labels)
    weights = None if class_weights is None else class_weights.double().numpy()[labels]
    present = np.unique(labels)
    if len(present) < 2:
        model.highway.weight.zero_()
        model.highway.bias.zero_()
        return "highway: the train windows hold one class only; it starts at zero"
    regression = LogisticRegression(max_iter=2000, random_state=seed).fit(features, labels, sample_weight=weights)
    coef, intercept = regression.coef_, regression.intercept_
    if coef.shape[0] == 1:  # binary: sklearn gives the log-odds of classes_[1]; split it over both logits
        coef = np.vstack([-coef / 2, coef / 2])
        intercept = np.array([-intercept[0] / 2, intercept[0] / 2])
    weight = torch.zeros_like(model.highway.weight)
    bias = torch.full_like(model.highway.bias, -30.0)  # a class absent from train stays improbable
    rows = torch.as_tensor(present)
    weight[rows] = torch.as_tensor(coef, dtype=weight.dtype)
    bias[rows] = torch.as_tensor(intercept, dtype=bias.dtype)
    model.highway.weight.copy_(weight)
    model.highway.bias.copy_(bias)
    model.classifier.weight.zero_()
    model.classifier.bias.zero_()
    accuracy = regression.score(features, labels)
    return (f"highway: started from a logistic regression on {features.shape[1]} window summaries of "
            f"{len(labels)} train windows (train accuracy {accuracy:.3f}); the transformer head starts at zero")
