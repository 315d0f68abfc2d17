"""run_classifier's data flags and their reader, shared with distill.py --task=classifier."""

from absl import flags

from tool_runner import usage_error

from training_flags import FLAGS

flags.DEFINE_string("text_column", "sentence", "Column (header name or 0-based index) of the text.")
flags.DEFINE_string("text_b_column", None, "Column of the second text, for pairs.")
flags.DEFINE_string("label_column", "label", "Column of the label.")
flags.DEFINE_string("tfds_name", None, "TFDS dataset instead of files, e.g. glue/sst2.")
flags.DEFINE_string("tfds_data_dir", None, "TFDS data directory.")
flags.DEFINE_string("tfds_train_split", "train", "TFDS split for --do_train.")
flags.DEFINE_string("tfds_eval_split", "validation", "TFDS split for --do_eval.")
flags.DEFINE_string("tfds_predict_split", "test", "TFDS split for --do_predict.")

# Measured on held-out SST-2 sentences (BENCHMARKS.md): google's update scores highest in runs of one epoch
# and shorter; from three epochs on, torch's scores higher (the README says so).
DEFAULTS = {"optimizer_semantics": "google"}


def read_split(split_flag, label_names=None, regression=False):
    """The examples of --<split_flag> (train_file, eval_file or predict_file), or its --tfds_*_split.

    Args:
        split_flag: The file flag; predict_file is read without labels.
        label_names: Class names in id order; None: those of the file.
        regression: The labels are real values.

    Returns:
        A `ClassificationData`; exits 2 naming the flag if the data doesn't read.
    """
    from keras_bert_zoo.data.classification_data import read_classification_data

    tfds_split = FLAGS[f"tfds_{split_flag.split('_')[0]}_split"].value
    try:
        data = read_classification_data(
            FLAGS[split_flag].value, tfds_name=FLAGS.tfds_name, tfds_split=tfds_split,
            tfds_data_dir=FLAGS.tfds_data_dir, text_column=FLAGS.text_column, text_b_column=FLAGS.text_b_column,
            label_column=FLAGS.label_column if split_flag != "predict_file" else None, label_names=label_names,
            regression=regression, skip_bad_examples=FLAGS.skip_bad_examples)
    except ValueError as e:
        usage_error(f"--{split_flag}: {e}")
    if data.num_skipped:
        print(f"Skipped {data.num_skipped} malformed example(s) in {FLAGS[split_flag].value or tfds_split}.")
    return data
