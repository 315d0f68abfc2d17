"""Pretraining from TFRecords or raw text: model, data, optimizer and loop wired together."""

import dataclasses
import os
import typing

import tensorflow as tf

from keras_bert_zoo.config import BertConfig, architecture_registry, is_preset, unknown_preset_hint
from keras_bert_zoo.convert import checkpoint_exists
from keras_bert_zoo.data.chinese_word_segmenter import ChineseWordSegmenter
from keras_bert_zoo.data.dynamic_pretraining import dynamic_pretraining_dataset
from keras_bert_zoo.data.pretraining_records import read_pretraining_records
from keras_bert_zoo.files import expand_globs
from keras_bert_zoo.models import Pretrainer
from keras_bert_zoo.models.pretrainer import OBJECTIVES, model_class_of_objective, pretrainer_class_for
from keras_bert_zoo.text import BertTokenizer, BytePairTokenizer, Tokenizer, locate_vocab, read_vocab
from keras_bert_zoo.text.tokenizer import tokenizer_class_of
from keras_bert_zoo.training.optimization import create_optimizer
from keras_bert_zoo.training.pretraining_objective import objective_for_model, split_pretraining_features
from keras_bert_zoo.training.trainer import Trainer, write_model_dir_files


@dataclasses.dataclass
class PretrainingSettings:
    """What to pretrain, on what, and how (the flags of tools/run_pretraining.py).

    Construction checks the sizes against each other and the model (raising
    ValueError that names the flag); `from_flags` also resolves and checks the
    model, vocab and input files.

    Args:
        model_dir: Checkpoints, summaries, config.json and vocab go here.
        bert_config: Encoder config of any family for a fresh model (None with init_checkpoint).
        init_checkpoint: Any `from_pretrained` source to start from.
        objective: "mlm_nsp" (BERT's), "mlm" or "rtd" (ELECTRA's replaced-token
            detection); None: the encoder family's own.
        input_files: TFRecords from create_pretraining_data (static masks).
        text_files: Raw text, one sentence per line, blank lines between
            documents (dynamic masking: fresh masks every epoch; sentence
            pairs for next-sentence prediction and ELECTRA, else RoBERTa's
            full sentences across documents).
        vocab_file: WordPiece vocab, or a directory of any tokenizer's files,
            for text_files (the tokenizer is saved into model_dir).
        lower_case: Whether text is lower-cased for the vocab (None: as the
            tokenizer's files state).
        train_batch_size: Global batch per optimizer update.
        max_seq_length: Tokens per example.
        max_predictions_per_seq: Masked positions per example.
        num_train_steps: Optimizer updates in total (resumed runs included).
        num_warmup_steps: Linear warmup updates.
        learning_rate: Peak learning rate.
        optimizer: "adamw" or "lamb".
        optimizer_semantics: "google", "torch" or "keras" (see `create_optimizer`).
        adam_epsilon: Adam's epsilon (None: the semantics' own).
        weight_decay: Decoupled weight decay (not on LayerNorm or biases).
        gradient_accumulation_steps: Micro-batches per update; each holds
            train_batch_size / gradient_accumulation_steps examples.
        save_checkpoints_steps: Updates between checkpoints.
        log_steps: Updates between progress lines.
        steps_per_execution: Micro-steps per tf.function call.
        jit_compile: XLA-compile the forward/backward pass.
        masked_lm_prob: Masking rate for text_files.
        short_seq_prob: Share of shorter target lengths for text_files' sentence pairs.
        do_whole_word_mask: Mask whole words for text_files.
        chinese_word_segmenter: With do_whole_word_mask, a segmenter ("jieba")
            whose Chinese words text_files masks whole (WordPiece vocabs).
        seed: Seed of data shuffling and masking.
        mixed_float16: Whether the global policy is mixed_float16 (loss scaling).
        nan_policy: "stop" or "skip_step" (see `Trainer`).
    """

    model_dir: str
    bert_config: typing.Optional[BertConfig] = None
    init_checkpoint: typing.Optional[str] = None
    objective: typing.Optional[str] = None
    input_files: typing.Sequence[str] = ()
    text_files: typing.Sequence[str] = ()
    vocab_file: typing.Optional[str] = None
    lower_case: typing.Optional[bool] = True
    train_batch_size: int = 32
    max_seq_length: int = 128
    max_predictions_per_seq: int = 20
    num_train_steps: int = 100000
    num_warmup_steps: int = 10000
    learning_rate: float = 5e-5
    optimizer: str = "adamw"
    optimizer_semantics: str = "torch"
    adam_epsilon: typing.Optional[float] = None
    weight_decay: float = 0.01
    gradient_accumulation_steps: int = 1
    save_checkpoints_steps: int = 1000
    log_steps: int = 100
    steps_per_execution: int = 1
    jit_compile: bool = False
    masked_lm_prob: float = 0.15
    short_seq_prob: float = 0.1
    do_whole_word_mask: bool = False
    chinese_word_segmenter: typing.Optional[str] = None
    seed: int = 12345
    mixed_float16: bool = False
    nan_policy: str = "stop"

    def __post_init__(self):
        """Checks the sizes against each other and the model; each message names its flag."""
        config = self.bert_config
        if self.objective is not None and self.objective not in OBJECTIVES:
            raise ValueError(f"--objective={self.objective}: one of {', '.join(OBJECTIVES)}.")
        if config is not None:
            try:
                pretrainer_class_for(config, self.objective)
            except ValueError as e:
                raise ValueError(f"--objective: {e}") from None
        if config is not None and self.max_seq_length > config.max_position_embeddings:
            raise ValueError(f"--max_seq_length={self.max_seq_length} exceeds the model's max_position_embeddings="
                             f"{config.max_position_embeddings}.")
        if not 0 < self.max_predictions_per_seq <= self.max_seq_length:
            raise ValueError(f"--max_predictions_per_seq={self.max_predictions_per_seq} must be in "
                             f"[1, --max_seq_length={self.max_seq_length}].")
        for name in ("train_batch_size", "num_train_steps", "gradient_accumulation_steps", "save_checkpoints_steps",
                     "log_steps"):
            if getattr(self, name) < 1:
                raise ValueError(f"--{name}={getattr(self, name)}: must be at least 1.")
        if self.train_batch_size % self.gradient_accumulation_steps:
            raise ValueError(f"--train_batch_size={self.train_batch_size} is not divisible by "
                             f"--gradient_accumulation_steps={self.gradient_accumulation_steps}.")
        if self.chinese_word_segmenter:
            self._check_chinese_word_segmenter()

    def _check_chinese_word_segmenter(self):
        """Checks that the segmenter is installed and that the run masks whole words of WordPiece raw text."""
        flag = f"--chinese_word_segmenter={self.chinese_word_segmenter}"
        if self.input_files:
            raise ValueError(f"{flag} works on --text_file: --input_file's TFRecords are masked already "
                             "(create_pretraining_data.py takes it too).")
        if not self.do_whole_word_mask:
            raise ValueError(f"{flag} groups Chinese words for whole-word masking: it needs --do_whole_word_mask.")
        if self.vocab_file and tokenizer_class_of(self.vocab_file) is not BertTokenizer:
            raise ValueError(f"{flag} needs a WordPiece vocab, whose Chinese characters are tokens of their own; "
                             f"--vocab_file={self.vocab_file} is not one.")
        try:
            ChineseWordSegmenter(self.chinese_word_segmenter)
        except (ValueError, ImportError) as e:
            raise ValueError(f"--{e}") from None

    @classmethod
    def from_flags(cls, model_dir, preset=None, bert_config_file=None, init_checkpoint=None, input_file=None,
                   text_file=None, vocab_file=None, do_lower_case=True, **options):
        """Checks the flags of tools/run_pretraining.py, before any work, and returns their settings.

        The checks run in the order the tool has always reported them: the
        model and data sources, the model, the vocab, the sizes, and last the
        input files.

        Args:
            model_dir: --model_dir.
            preset: --preset, a preset name for a fresh model.
            bert_config_file: --bert_config_file, a Google or HF config of a fresh model.
            init_checkpoint: --init_checkpoint, any `from_pretrained` source.
                Exactly one of preset, bert_config_file and init_checkpoint is given.
            input_file: --input_file, comma-separated globs of TFRecords.
            text_file: --text_file, comma-separated globs of raw text.
                Exactly one of input_file and text_file is given.
            vocab_file: --vocab_file; with text_file it defaults to the checkpoint's.
            do_lower_case: --do_lower_case, unless the checkpoint states its own.
            **options: The other fields, by name (train_batch_size, seed, ...).

        Raises:
            ValueError: A flag is missing, conflicts, is out of range or names
                no file; the message names the flag (`--max_seq_length=...`).
        """
        if not model_dir:
            raise ValueError("--model_dir is required.")
        sources = [f"--{name}" for name, value in
                   (("preset", preset), ("bert_config_file", bert_config_file), ("init_checkpoint", init_checkpoint))
                   if value]
        if len(sources) != 1:
            raise ValueError("Give exactly one of --preset, --bert_config_file or --init_checkpoint "
                             f"(got {', '.join(sources) or 'none'}).")
        if bool(input_file) == bool(text_file):
            raise ValueError("Give exactly one of --input_file (TFRecords) or --text_file (raw text).")
        config = _fresh_config(preset, bert_config_file, init_checkpoint)
        vocab_file, lower_case = _vocab(vocab_file, do_lower_case, bool(text_file), preset or init_checkpoint, config)
        settings = cls(model_dir=model_dir, bert_config=config, init_checkpoint=init_checkpoint,
                       vocab_file=vocab_file, lower_case=lower_case, **options)
        # Files are matched last, so that every other mistake is reported before a missing file.
        return dataclasses.replace(settings, input_files=_matched_files("input_file", input_file),
                                   text_files=_matched_files("text_file", text_file))


def _fresh_config(preset, bert_config_file, init_checkpoint):
    """The encoder config of a fresh model, of its family's class (None for init_checkpoint, checked to exist)."""
    if preset:
        if not is_preset(preset):
            raise ValueError(f"--preset={preset} is unknown; {unknown_preset_hint(preset)}")
        return BertConfig.from_preset(preset)
    if bert_config_file:
        if not os.path.isfile(bert_config_file):
            raise ValueError(f"--bert_config_file={bert_config_file} does not exist.")
        try:
            return architecture_registry.config_from_json_file(bert_config_file)
        except ValueError as e:
            raise ValueError(f"--bert_config_file: {e}") from e
    if not checkpoint_exists(init_checkpoint):
        raise ValueError(f"--init_checkpoint={init_checkpoint} does not exist and is not a preset name.")
    return None


def _vocab(vocab_file, lower_case, needed, checkpoint, config):
    """(vocab source, lower_case) of the run, the vocab checked against a fresh model's config.

    Args:
        vocab_file: --vocab_file (a WordPiece vocab file, or a directory of
            any tokenizer's files), or None.
        lower_case: --do_lower_case, unless the checkpoint's vocab states its
            own; None for byte-level BPE, which is cased.
        needed: Whether a vocab is needed (raw text is tokenized).
        checkpoint: The preset or init_checkpoint to take a vocab from, if any.
        config: The fresh model's BertConfig, or None.
    """
    if vocab_file and not os.path.exists(vocab_file):
        raise ValueError(f"--vocab_file={vocab_file} does not exist.")
    if needed and not vocab_file:
        if not checkpoint:
            raise ValueError("--vocab_file is required with --text_file and --bert_config_file.")
        if tokenizer_class_of(checkpoint) is not BertTokenizer:
            vocab_file = checkpoint
        else:
            try:
                vocab_file, stated = locate_vocab(checkpoint)
            except ValueError as e:
                raise ValueError("--vocab_file is required with --text_file (the checkpoint has no tokenizer "
                                 "files).") from e
            lower_case = stated if stated is not None else lower_case
    if vocab_file and tokenizer_class_of(vocab_file) is BytePairTokenizer:
        lower_case = None
    if config is not None and vocab_file:
        try:
            vocab_size = (len(read_vocab(vocab_file)) if tokenizer_class_of(vocab_file) is BertTokenizer
                          else Tokenizer.from_pretrained(vocab_file).vocab_size)
        except ValueError as e:
            raise ValueError(f"--vocab_file: {e}") from e
        if vocab_size != config.vocab_size:
            raise ValueError(f"--vocab_file: {vocab_size} tokens, but the model's vocab_size is {config.vocab_size}.")
    return vocab_file, lower_case


def _matched_files(flag_name, patterns):
    """The files of --<flag_name>'s globs; none for an empty flag."""
    try:
        return expand_globs(patterns) if patterns else ()
    except ValueError as e:
        raise ValueError(f"--{flag_name}: {e}") from e


def _pretraining_model(settings):
    """The model of the run's objective over the checkpoint's or fresh config's encoder."""
    if settings.init_checkpoint is None:
        return pretrainer_class_for(settings.bert_config, settings.objective).build_from_config(settings.bert_config)
    if settings.objective is None:
        return Pretrainer.from_pretrained(settings.init_checkpoint)
    model = model_class_of_objective(settings.objective).from_pretrained(settings.init_checkpoint)
    try:
        pretrainer_class_for(model.encoder.config, settings.objective)
    except ValueError as e:
        raise ValueError(f"--objective: {e}") from None
    return model


def run_pretraining(settings, strategy, training_run=None):
    """Trains the pretraining model of settings.objective under `strategy` until settings.num_train_steps.

    Args:
        settings: `PretrainingSettings`.
        strategy: The tf.distribute strategy.
        training_run: Optional `TrainingRun` recorded in the model_dir (see `Trainer`).

    Returns:
        The metrics of the last logged window (losses, accuracies, step).
    """
    accumulation = settings.gradient_accumulation_steps
    micro_batch = settings.train_batch_size // accumulation
    tokenizer = Tokenizer.from_pretrained(settings.vocab_file, lower_case=settings.lower_case) if settings.vocab_file else None
    with strategy.scope():
        model = _pretraining_model(settings)
        optimizer = create_optimizer(
            settings.optimizer, settings.learning_rate, settings.num_train_steps, settings.num_warmup_steps,
            weight_decay=settings.weight_decay, gradient_accumulation_steps=accumulation,
            mixed_float16=settings.mixed_float16, semantics=settings.optimizer_semantics,
            epsilon=settings.adam_epsilon)
    objective = objective_for_model(model)
    replaced_token_detection = "rtd_logits" in model.output  # ELECTRA's model takes the original ids too.
    # Masked LM alone trains on RoBERTa's full sentences; sentence-pair prediction and ELECTRA on pairs.
    full_sentences = not (replaced_token_detection or objective.next_sentence)
    sentence_order = getattr(objective, "sentence_output", None) == "sop_logits"
    if strategy.extended.should_checkpoint:
        write_model_dir_files(model, settings.model_dir, tokenizer)

    def dataset_fn(context):
        if settings.text_files:
            examples = dynamic_pretraining_dataset(
                settings.text_files, tokenizer, settings.max_seq_length, settings.max_predictions_per_seq,
                masked_lm_prob=settings.masked_lm_prob, short_seq_prob=settings.short_seq_prob,
                do_whole_word_mask=settings.do_whole_word_mask, seed=settings.seed, input_context=context,
                full_sentences=full_sentences, chinese_word_segmenter=settings.chinese_word_segmenter,
                sentence_order=sentence_order)
        else:
            examples = read_pretraining_records(
                settings.input_files, settings.max_seq_length, settings.max_predictions_per_seq,
                input_context=context, shuffle=True, seed=settings.seed)
        # Static shapes throughout (drop_remainder, fixed lengths): what TPUs and XLA need.
        batches = examples.batch(context.get_per_replica_batch_size(micro_batch), drop_remainder=True)
        return batches.map(lambda features: split_pretraining_features(features, replaced_token_detection),
                           num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)

    print(f"Pretraining on {strategy.num_replicas_in_sync} replica(s) with {type(strategy).__name__}, "
          f"global batch {settings.train_batch_size}: {type(model).__name__}", flush=True)
    trainer = Trainer(
        model, optimizer, objective, strategy, settings.model_dir,
        steps_per_execution=settings.steps_per_execution, jit_compile=settings.jit_compile,
        save_checkpoints_steps=settings.save_checkpoints_steps, log_every_steps=settings.log_steps,
        micro_batches_per_update=accumulation, nan_policy=settings.nan_policy, training_run=training_run)
    return trainer.train(dataset_fn, settings.num_train_steps)
