"""Sentence-level metrics: classification (accuracy, F1, MCC) and regression (Pearson, Spearman)."""

import numpy as np


def classification_metrics(labels, predictions, num_classes=None):
    """Accuracy, F1 and Matthews correlation of predicted class ids.

    F1 is the binary F1 of class 1 (the positive class) for two classes and
    the macro average over the classes that occur in `labels` or
    `predictions` otherwise, as GLUE reports them.

    Args:
        labels: int [N] gold class ids.
        predictions: int [N] predicted class ids, or float [N, C] scores
            (logits or probabilities), which are arg-maxed.
        num_classes: Number of classes C; defaults to the score width, or to
            one more than the largest id seen (at least 2). It only chooses
            between binary and macro F1.

    Returns:
        {"accuracy", "f1", "mcc"} as Python floats.
    """
    from sklearn import metrics

    labels = np.asarray(labels)
    predictions = np.asarray(predictions)
    if predictions.ndim == 2:
        num_classes = num_classes or predictions.shape[1]
        predictions = predictions.argmax(axis=1)
    if labels.shape != predictions.shape or labels.ndim != 1:
        raise ValueError(f"labels {labels.shape} and predictions {predictions.shape} must both be [N].")
    if num_classes is None:
        num_classes = max(2, int(max(labels.max(initial=0), predictions.max(initial=0))) + 1)
    if num_classes == 2:
        f1 = metrics.f1_score(labels, predictions, pos_label=1, average="binary", zero_division=0)
    else:
        f1 = metrics.f1_score(labels, predictions, average="macro", zero_division=0)
    return {
        "accuracy": float(metrics.accuracy_score(labels, predictions)),
        "f1": float(f1),
        "mcc": float(metrics.matthews_corrcoef(labels, predictions)),
    }


def regression_metrics(labels, predictions):
    """Pearson and Spearman correlations of predicted scores (GLUE STS-B style).

    Args:
        labels: float [N] gold scores.
        predictions: float [N] (or [N, 1]) predicted scores.

    Returns:
        {"pearson", "spearman"} as Python floats; NaN when either side is constant.
    """
    from scipy import stats

    labels = np.asarray(labels, np.float64).reshape(-1)
    predictions = np.asarray(predictions, np.float64).reshape(-1)
    if labels.shape != predictions.shape:
        raise ValueError(f"{labels.size} labels but {predictions.size} predictions.")
    # Correlation is undefined for constant (or empty) inputs; scipy would warn and return NaN.
    if np.all(labels == labels[:1]) or np.all(predictions == predictions[:1]):
        return {"pearson": float("nan"), "spearman": float("nan")}
    return {
        "pearson": float(stats.pearsonr(labels, predictions)[0]),
        "spearman": float(stats.spearmanr(labels, predictions)[0]),
    }
