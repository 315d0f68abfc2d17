"""Training a SentencePiece model as XLM-RoBERTa's or ALBERT's, with the reference trainer (`sentencepiece`)."""

import io
import os

from keras_bert_zoo.files import write_directory_atomically

# The pieces each layout's model holds besides the learned ones (the trainer's options): XLM-RoBERTa's fairseq ids
# put <s> <pad> </s> <unk> in place of the model's first three pieces (<unk> <s> </s>) and <mask> last; ALBERT's
# special tokens are pieces of the model, ids 0 to 4.
_MODEL_SPECIALS = {
    "xlm-roberta": {},
    "albert": {"pad_id": 0, "unk_id": 1, "bos_id": -1, "eos_id": -1, "control_symbols": ["[CLS]", "[SEP]", "[MASK]"]},
}


def train_sentence_piece_vocab(text_files, directory, vocab_size, model_type="unigram", lower_case=False,
                               layout="xlm-roberta", **trainer_options):
    """Trains a SentencePiece model on the lines of `text_files` and writes it into `directory` as the layout's.

    `directory` gets the layout's model file (sentencepiece.bpe.model for
    XLM-RoBERTa, spiece.model for ALBERT, whatever the model type) and
    tokenizer_config.json, as `SentencePieceTokenizer.save_pretrained`
    writes them, so transformers' `XLMRobertaTokenizer.from_pretrained` (or
    `AlbertTokenizer`'s) and `kbz.Tokenizer.from_pretrained` load it with
    the same ids; it is written under a temporary name and renamed,
    replacing an old one whole.

    Args:
        text_files: UTF-8 text files, one sentence a line (longer lines than
            SentencePiece's max_sentence_length, 4192 bytes, are skipped).
        directory: The output directory.
        vocab_size: Ids in all: the model's pieces, plus 2 for XLM-RoBERTa
            (its <pad> and <mask>).
        model_type: "unigram" (XLM-RoBERTa's and ALBERT's) or "bpe".
        lower_case: Case-fold inside the model: its normalization rule is
            nmt_nfkc_cf instead of nmt_nfkc, so every reader of the model
            file lower-cases (tokenizer_config.json's do_lower_case stays
            false: nothing else needs to).
        layout: "xlm-roberta" or "albert" (`SentencePieceTokenizer`'s
            ID_LAYOUTS): the ids, special tokens and file name. ALBERT's
            tokenizer lower-cases by default whatever `lower_case` is.
        **trainer_options: More `SentencePieceTrainer.train` options
            (character_coverage, input_sentence_size, ...).

    Returns:
        The number of ids of the tokenizer written.

    Raises:
        ValueError: The trainer refused (a vocab_size too large for the
            corpus, for one); the message names the files.
    """
    import sentencepiece as spm

    from keras_bert_zoo.text.sentence_piece_tokenizer import ID_LAYOUTS, SentencePieceTokenizer

    if layout not in _MODEL_SPECIALS:
        raise ValueError(f"layout must be one of {sorted(_MODEL_SPECIALS)}, got {layout!r}.")
    ids = ID_LAYOUTS[layout]
    beyond_model = len(ids["leading_tokens"]) + len(ids["trailing_tokens"]) - ids["replaced_pieces"]
    model = io.BytesIO()
    options = {"num_threads": os.cpu_count(), "minloglevel": 2, **_MODEL_SPECIALS[layout], **trainer_options}
    try:
        spm.SentencePieceTrainer.train(input=list(text_files), model_writer=model, model_type=model_type,
                                       vocab_size=vocab_size - beyond_model,
                                       normalization_rule_name="nmt_nfkc_cf" if lower_case else "nmt_nfkc",
                                       **options)
    except RuntimeError as e:
        raise ValueError(f"SentencePiece could not train on {', '.join(text_files)} a model of "
                         f"{vocab_size - beyond_model} pieces (vocab_size={vocab_size}, less the {layout} layout's "
                         f"{beyond_model} ids beyond the model's pieces): {e}") from e
    tokenizer = SentencePieceTokenizer(model.getvalue(), layout=layout)
    write_directory_atomically(directory, tokenizer.save_pretrained)
    return tokenizer.vocab_size
