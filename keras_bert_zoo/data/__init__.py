"""Data readers, example builders and input pipelines."""

from keras_bert_zoo.config.lazy_exports import lazy_exports

lazy_exports(__name__, {
    "classification_data": ("ClassificationData", "read_classification_data", "read_classification_file",
                            "read_tfds_classification"),
    "conll_data": ("ner_label_names", "read_conll_file"),
    "dynamic_pretraining": ("dynamic_pretraining_dataset",),
    "ner_features": ("NerFeatures", "ner_features"),
    "pretraining_records": ("read_pretraining_records",),
    "sequence_batches": ("inference_batches", "training_batches"),
    "squad_examples": ("SquadExample", "read_squad_file", "squad_gold_answers"),
    "squad_features": ("SquadFeatures", "squad_features"),
})
