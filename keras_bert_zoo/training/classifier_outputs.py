"""Turning classifier logits into probabilities, class ids, metrics and prediction records."""

import numpy as np

from keras_bert_zoo.metrics import classification_metrics, regression_metrics


def class_probabilities(logits):
    """[N, C] probabilities from [N, C] softmax logits or [N, 1] sigmoid logits (as [N, 2])."""
    logits = np.asarray(logits, np.float64)
    if logits.shape[1] == 1:
        positive = 1.0 / (1.0 + np.exp(-logits[:, 0]))
        return np.stack([1.0 - positive, positive], axis=1)
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def evaluate_classifier(logits, labels, regression=False):
    """eval_results.json metrics: accuracy/f1/mcc, or pearson/spearman for regression."""
    if regression:
        return regression_metrics(labels, np.asarray(logits)[:, 0])
    probabilities = class_probabilities(logits)
    return classification_metrics(labels, probabilities.argmax(axis=1), num_classes=probabilities.shape[1])


def prediction_records(texts, text_pairs, logits, label_names=None, regression=False):
    """One JSON-able dict per example: text(s), then score, or label and probabilities."""
    records = []
    for i, text in enumerate(texts):
        record = {"text": text}
        if text_pairs is not None:
            record["text_b"] = text_pairs[i]
        if regression:
            record["score"] = float(np.asarray(logits)[i, 0])
        else:
            probabilities = class_probabilities(np.asarray(logits)[i:i + 1])[0]
            label_id = int(probabilities.argmax())
            record["label_id"] = label_id
            record["label"] = label_names[label_id] if label_names else str(label_id)
            record["probabilities"] = [round(float(p), 6) for p in probabilities]
        records.append(record)
    return records
