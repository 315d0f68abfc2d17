"""Training a SentencePiece model as XLM-RoBERTa's, with the reference trainer (the `sentencepiece` library)."""

import io
import os

from keras_bert_zoo.files import write_directory_atomically

# XLM-RoBERTa's fairseq ids put <s> <pad> </s> <unk> in place of the model's first three pieces and <mask> last.
_IDS_BEYOND_MODEL = 2


def train_sentence_piece_vocab(text_files, directory, vocab_size, model_type="unigram", lower_case=False,
                               **trainer_options):
    """Trains a SentencePiece model on the lines of `text_files` and writes it into `directory` as XLM-RoBERTa's.

    `directory` gets sentencepiece.bpe.model (XLM-RoBERTa's file name, whatever
    the model type) and tokenizer_config.json, as
    `SentencePieceTokenizer.save_pretrained` writes them, so transformers'
    `XLMRobertaTokenizer.from_pretrained` and `kbz.Tokenizer.from_pretrained`
    load it with the same ids; it is written under a temporary name and
    renamed, replacing an old one whole.

    Args:
        text_files: UTF-8 text files, one sentence a line (longer lines than
            SentencePiece's max_sentence_length, 4192 bytes, are skipped).
        directory: The output directory.
        vocab_size: Ids in all: the model's pieces plus 2 (XLM-RoBERTa's
            <pad> and <mask>).
        model_type: "unigram" (XLM-RoBERTa's) or "bpe".
        lower_case: Case-fold inside the model: its normalization rule is
            nmt_nfkc_cf instead of nmt_nfkc, so every reader of the model
            file lower-cases (tokenizer_config.json's do_lower_case stays
            false: nothing else needs to).
        **trainer_options: More `SentencePieceTrainer.train` options
            (character_coverage, input_sentence_size, ...).

    Returns:
        The number of ids of the tokenizer written.

    Raises:
        ValueError: The trainer refused (a vocab_size too large for the
            corpus, for one); the message names the files.
    """
    import sentencepiece as spm

    from keras_bert_zoo.text.sentence_piece_tokenizer import SentencePieceTokenizer

    model = io.BytesIO()
    options = {"num_threads": os.cpu_count(), "minloglevel": 2, **trainer_options}
    try:
        spm.SentencePieceTrainer.train(input=list(text_files), model_writer=model, model_type=model_type,
                                       vocab_size=vocab_size - _IDS_BEYOND_MODEL,
                                       normalization_rule_name="nmt_nfkc_cf" if lower_case else "nmt_nfkc",
                                       **options)
    except RuntimeError as e:
        raise ValueError(f"SentencePiece could not train on {', '.join(text_files)} a model of "
                         f"{vocab_size - _IDS_BEYOND_MODEL} pieces (vocab_size={vocab_size}, less XLM-RoBERTa's "
                         f"{_IDS_BEYOND_MODEL} ids beyond the model's pieces): {e}") from e
    tokenizer = SentencePieceTokenizer(model.getvalue(), layout="xlm-roberta")
    write_directory_atomically(directory, tokenizer.save_pretrained)
    return tokenizer.vocab_size
