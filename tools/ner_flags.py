"""run_ner's data reading from its flags, shared with distill.py --task=ner."""

from tool_runner import usage_error

import finetuning_flags
from training_flags import FLAGS

# google's update (no bias correction, so larger early steps) scores several points of CoNLL-2003 dev
# entity F1 above torch's after one epoch and after 94 updates alike (BENCHMARKS.md).
DEFAULTS = {"optimizer_semantics": "google"}


def read_split(split_flag):
    """(sentences, tags) of the CoNLL file --<split_flag>; exits 2 naming the flag if it doesn't read."""
    from keras_bert_zoo.data.conll_data import read_conll_file

    try:
        return read_conll_file(FLAGS[split_flag].value)
    except ValueError as e:
        usage_error(f"--{split_flag}: {e}")


def features(tokenizer, sentences, tags, label_names, split_flag):
    """`ner_features` of sentences (tags None: unlabeled) in --max_seq_length windows; errors name the flag.

    Args:
        tokenizer: The `BertTokenizer`.
        sentences: Lists of words.
        tags: Matching lists of tags, or None.
        label_names: Tag names in id order.
        split_flag: The flag the sentences come from, for errors.

    Returns:
        An `NerFeatures`.
    """
    from keras_bert_zoo.data.ner_features import ner_features

    try:
        return ner_features(tokenizer, sentences, tags, label_names, FLAGS.max_seq_length)
    except ValueError as e:
        usage_error(f"--{split_flag}: {e}")


def predicted_tags(model, tokenizer, windows):
    """The tag names `model` predicts for each word of the sentences of `NerFeatures` `windows` (lists of lists)."""
    logits = finetuning_flags.predict_outputs(model, windows.model_inputs(), tokenizer, sequence_outputs=("logits",))
    return windows.word_tags(logits["logits"])
