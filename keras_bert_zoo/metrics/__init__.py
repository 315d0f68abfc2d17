"""Evaluation metrics: classification/regression, entity-level NER and SQuAD."""

from keras_bert_zoo.config.lazy_exports import lazy_exports

lazy_exports(__name__, {
    "classification_metrics": ("classification_metrics", "regression_metrics"),
    "ner_metrics": ("ner_metrics",),
    "squad_metrics": ("exact_match", "normalize_answer", "squad_v1_metrics", "squad_v2_metrics", "token_f1"),
    "tag_schemes": ("TAG_SCHEMES", "canonical_tag_scheme", "check_tag", "convert_tag_scheme", "detect_tag_scheme"),
})
