"""CoNLL column files for NER: one word per line, the tag in the last column."""

from keras_bert_zoo.metrics.tag_schemes import check_tag

_DOCUMENT_START = "-DOCSTART-"


def read_conll_file(path):
    """Reads sentences of words and tags from a CoNLL-2003 style file.

    Each non-blank line is a word and its columns, separated by whitespace:
    the word first, the tag last (CoNLL-2003: word POS chunk tag). A blank
    line ends a sentence; a `-DOCSTART-` line ends a document (and the
    sentence) and is not a word. Every line must have as many columns as
    the first one, and a valid tag ("O" or B-/I-/E-/S- plus a type).

    Args:
        path: The file (UTF-8).

    Returns:
        (sentences, tags): lists of sentences, each a list of words, and the
        matching lists of tags, in the file's tag scheme (see
        `keras_bert_zoo.metrics.detect_tag_scheme`).

    Raises:
        ValueError: The file can't be read, or a line is malformed; the
            message names file:line.
    """
    sentences, tags = [], []
    words, word_tags = [], []
    width = None
    try:
        with open(path, encoding="utf-8") as f:
            for line_number, line in enumerate(f, start=1):
                columns = line.split()
                if not columns or columns[0] == _DOCUMENT_START:
                    if words:
                        sentences.append(words)
                        tags.append(word_tags)
                    words, word_tags = [], []
                    continue
                width = width or len(columns)
                if len(columns) < 2 or len(columns) != width:
                    raise ValueError(f"{path}:{line_number}: line has {len(columns)} columns, expected "
                                     f"{max(width, 2)} (word first, tag last).")
                try:
                    check_tag(columns[-1])
                except ValueError as e:
                    raise ValueError(f"{path}:{line_number}: {e}") from None
                words.append(columns[0])
                word_tags.append(columns[-1])
    except (OSError, UnicodeDecodeError) as e:
        raise ValueError(f"Cannot read {path}: {e}") from e
    if words:
        sentences.append(words)
        tags.append(word_tags)
    return sentences, tags


def ner_label_names(tag_sequences):
    """The tag set of `tag_sequences` in a fixed order: "O" first, then by entity type and B, I, E, S.

    Build it from the training file and reuse it for evaluation and
    prediction, so tag ids stay the same.
    """
    tags = {tag for sequence in tag_sequences for tag in sequence} - {"O"}
    return ["O"] + sorted(tags, key=lambda tag: (tag[2:], "BIES".index(tag[0])))
