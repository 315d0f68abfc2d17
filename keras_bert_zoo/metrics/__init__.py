"""Evaluation metrics: classification/regression, entity-level NER and SQuAD."""

from keras_bert_zoo.metrics.classification_metrics import classification_metrics, regression_metrics
from keras_bert_zoo.metrics.ner_metrics import ner_metrics
from keras_bert_zoo.metrics.squad_metrics import (
    exact_match,
    normalize_answer,
    squad_v1_metrics,
    squad_v2_metrics,
    token_f1,
)
from keras_bert_zoo.metrics.tag_schemes import (
    TAG_SCHEMES,
    canonical_tag_scheme,
    check_tag,
    convert_tag_scheme,
    detect_tag_scheme,
)
