"""RoBERTa's and XLM-RoBERTa's Hugging Face state-dict keys, mapped onto our (google-research/bert) names.

Both families' checkpoints keep BERT's encoder names under "roberta." (none
in an `XModel` checkpoint); the heads are RoBERTa's own.
"""

from keras_bert_zoo.convert.prefixed_hf_names import PrefixedHfNames

# Head tensors besides the classifiers' output layers: ours, HF's.
_HEAD_KEYS = (
    ("pre_classifier/dense/kernel", "classifier.dense.weight"),
    ("pre_classifier/dense/bias", "classifier.dense.bias"),
    ("cls/squad/output_weights", "qa_outputs.weight"),
    ("cls/squad/output_bias", "qa_outputs.bias"),
    ("cls/predictions/transform/dense/kernel", "lm_head.dense.weight"),
    ("cls/predictions/transform/dense/bias", "lm_head.dense.bias"),
    ("cls/predictions/transform/LayerNorm/gamma", "lm_head.layer_norm.weight"),
    ("cls/predictions/transform/LayerNorm/beta", "lm_head.layer_norm.bias"),
    ("cls/predictions/output_bias", "lm_head.bias"),
)
# The decoder is tied to the word embeddings and to lm_head.bias (older checkpoints store both).
_NAMES = PrefixedHfNames("RoBERTa", "roberta", _HEAD_KEYS,
                         ignored_keys=("lm_head.decoder.weight", "lm_head.decoder.bias"))
hf_key = _NAMES.hf_key
internal_name = _NAMES.internal_name
