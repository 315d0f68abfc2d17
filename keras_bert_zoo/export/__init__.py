"""SavedModel export with in-graph tokenization, for TF Serving."""

from keras_bert_zoo.export.batching_parameters import BatchingParameters
from keras_bert_zoo.export.classifier_serving import ClassifierServing
from keras_bert_zoo.export.encoder_serving import EncoderServing
from keras_bert_zoo.export.ner_serving import NerServing
from keras_bert_zoo.export.pretrainer_serving import PretrainerServing
from keras_bert_zoo.export.quantization import (
    INT8_KERNELS,
    QUANTIZE_MODES,
    check_quantize_options,
    quantize_model,
    use_int8_kernel,
)
from keras_bert_zoo.export.saved_model_export import (
    export_saved_model,
    require_tensorflow_backend,
    versions,
    write_batching_parameters,
    write_models_config,
)
from keras_bert_zoo.export.serving_module import ServingModule
from keras_bert_zoo.export.squad_serving import SquadServing
from keras_bert_zoo.export.warmup_requests import read_warmup_requests, write_warmup_requests
