"""Reading masked-LM/NSP pretraining TFRecords (ours, or google-research/bert's)."""

import tensorflow as tf

from keras_bert_zoo.data.pretraining_corpus import expand_file_patterns

# Records parsed per batch: tf.io.parse_example on batches is much faster than one by one.
_PARSE_BATCH = 256
_SHUFFLE_BUFFER = 10_000
_PARALLEL_FILES = 8


def pretraining_feature_spec(max_seq_length, max_predictions_per_seq):
    """The tf.io.parse_example spec of pretraining records.

    The names and layout are google-research/bert's: int64 lists except the
    float `masked_lm_weights`, and one `next_sentence_labels` value (1: B is a
    random next sentence).
    """
    sequence = tf.io.FixedLenFeature([max_seq_length], tf.int64)
    predictions = tf.io.FixedLenFeature([max_predictions_per_seq], tf.int64)
    return {
        "input_ids": sequence,
        "input_mask": sequence,
        "segment_ids": sequence,
        "masked_lm_positions": predictions,
        "masked_lm_ids": predictions,
        "masked_lm_weights": tf.io.FixedLenFeature([max_predictions_per_seq], tf.float32),
        "next_sentence_labels": tf.io.FixedLenFeature([], tf.int64),
    }


def pretraining_element_spec(max_seq_length, max_predictions_per_seq):
    """The element spec shared by the record reader and the dynamic pipeline.

    A dict of int32 `input_ids`, `input_mask`, `segment_ids` [max_seq_length];
    int32 `masked_lm_positions`, `masked_lm_ids` and float32
    `masked_lm_weights` [max_predictions_per_seq]; int32 scalar
    `next_sentence_labels`.
    """
    return {
        name: tf.TensorSpec(feature.shape, tf.float32 if feature.dtype == tf.float32 else tf.int32)
        for name, feature in pretraining_feature_spec(max_seq_length, max_predictions_per_seq).items()
    }


def read_pretraining_records(file_patterns, max_seq_length, max_predictions_per_seq, input_context=None,
                             shuffle=True, seed=None):
    """An unbatched dataset of pretraining instances from TFRecord files.

    Reads files written by tools/create_pretraining_data.py or by
    google-research/bert's create_pretraining_data.py.

    Args:
        file_patterns: Comma-separated glob patterns, or a list of them.
        max_seq_length: T of the records.
        max_predictions_per_seq: P of the records.
        input_context: Optional `tf.distribute.InputContext`: each input
            pipeline reads its share of the files (of the records, if there are
            fewer files than pipelines).
        shuffle: Training mode: shuffle files and records, and repeat forever.
            Otherwise one pass, in file order.
        seed: Shuffle seed.

    Returns:
        A `tf.data.Dataset` of dicts as `pretraining_element_spec`.

    Raises:
        ValueError: A pattern matches no file.
    """
    files = expand_file_patterns(file_patterns)
    num_pipelines = input_context.num_input_pipelines if input_context else 1
    pipeline = input_context.input_pipeline_id if input_context else 0
    shard_files = len(files) >= num_pipelines
    dataset = tf.data.Dataset.from_tensor_slices(files)
    if shard_files:
        dataset = dataset.shard(num_pipelines, pipeline)
    if shuffle:
        dataset = dataset.shuffle(len(files), seed=seed).repeat()
        dataset = dataset.interleave(tf.data.TFRecordDataset, cycle_length=min(len(files), _PARALLEL_FILES),
                                     num_parallel_calls=tf.data.AUTOTUNE, deterministic=seed is not None)
    else:
        dataset = dataset.flat_map(tf.data.TFRecordDataset)
    if not shard_files:
        dataset = dataset.shard(num_pipelines, pipeline)
    if shuffle:
        dataset = dataset.shuffle(_SHUFFLE_BUFFER, seed=seed)
    spec = pretraining_feature_spec(max_seq_length, max_predictions_per_seq)

    def parse(records):
        features = tf.io.parse_example(records, spec)
        return {name: tf.cast(value, tf.int32) if value.dtype == tf.int64 else value
                for name, value in features.items()}

    dataset = dataset.batch(_PARSE_BATCH).map(parse, num_parallel_calls=tf.data.AUTOTUNE,
                                               deterministic=not shuffle or seed is not None)
    return dataset.unbatch()
