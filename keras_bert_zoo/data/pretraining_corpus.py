"""Pretraining text corpora: one sentence per line, a blank line between documents, tokenized."""

import dataclasses
import re
import typing

import numpy as np

# Lines per tokenizer call: large batches are fast, and bound the memory of one call.
_TOKENIZE_BATCH = 8192

_WIKITEXT_TITLE = re.compile(r"^ = [^=].* = $")
_WIKITEXT_HEADING = re.compile(r"^ (= )+.* (= )+$")
# WikiText is pre-tokenized: sentence-final punctuation stands alone between spaces.
_WIKITEXT_SENTENCE_END = re.compile(r"(?<= [.!?]) +")


@dataclasses.dataclass
class TokenizedCorpus:
    """Documents of sentences ("segments") of WordPiece ids, stored flat.

    Segment `s` is `token_ids[segment_offsets[s]:segment_offsets[s + 1]]`;
    document `d` is segments `document_offsets[d]` to `document_offsets[d + 1]`.
    Every segment and every document is non-empty.

    Args:
        token_ids: int32 [tokens] WordPiece ids of all segments, in order.
        segment_offsets: int64 [segments + 1] token offsets of segments.
        document_offsets: int64 [documents + 1] segment offsets of documents.
        word_continuations: Optional bool [tokens]: the tokens that continue
            the word before them whatever their id (the characters of a
            segmented Chinese word after its first), for whole-word masking.
    """

    token_ids: np.ndarray
    segment_offsets: np.ndarray
    document_offsets: np.ndarray
    word_continuations: typing.Optional[np.ndarray] = None

    @property
    def num_documents(self):
        return len(self.document_offsets) - 1

    @property
    def num_segments(self):
        return len(self.segment_offsets) - 1

    @property
    def num_tokens(self):
        return len(self.token_ids)

    def shard(self, index, count):
        """The sub-corpus of documents `index`, `index + count`, ... (one input pipeline's share)."""
        documents = np.arange(index, self.num_documents, count)
        segments = concatenate_ranges(self.document_offsets[documents], self.document_offsets[documents + 1])
        tokens = concatenate_ranges(self.segment_offsets[segments], self.segment_offsets[segments + 1])
        segment_lengths = np.diff(self.segment_offsets)[segments]
        document_lengths = np.diff(self.document_offsets)[documents]
        return TokenizedCorpus(
            token_ids=self.token_ids[tokens],
            segment_offsets=np.concatenate([[0], np.cumsum(segment_lengths)]),
            document_offsets=np.concatenate([[0], np.cumsum(document_lengths)]),
            word_continuations=None if self.word_continuations is None else self.word_continuations[tokens])


def concatenate_ranges(starts, ends):
    """np.concatenate([np.arange(s, e) for s, e in zip(starts, ends)]), vectorized."""
    lengths = ends - starts
    shifts = np.repeat(starts - np.cumsum(lengths) + lengths, lengths)
    return shifts + np.arange(lengths.sum())


def expand_file_patterns(file_patterns):
    """The files matching comma-separated glob patterns (or a list of them), sorted per pattern.

    Raises:
        ValueError: A pattern matches no file; the message names it.
    """
    import tensorflow as tf

    if isinstance(file_patterns, str):
        file_patterns = file_patterns.split(",")
    files = {}  # Ordered, without repeats.
    for pattern in (p.strip() for p in file_patterns):
        if not pattern:
            continue
        matches = sorted(tf.io.gfile.glob(pattern))
        if not matches:
            raise ValueError(f"No input file matches {pattern!r}.")
        files.update(dict.fromkeys(matches))
    if not files:
        raise ValueError("No input files given.")
    return list(files)


def read_documents(files):
    """Reads one-sentence-per-line files into documents.

    A blank (or whitespace-only) line ends a document, and so does the end of
    a file. Lines are stripped of surrounding whitespace.

    Args:
        files: Paths (local or any tf.io.gfile file system) of UTF-8 text.

    Returns:
        (sentences, document_ids): the non-blank lines and, for each, the
        index of its document.

    Raises:
        ValueError: A file can't be read or isn't UTF-8; the message names the file (and line).
    """
    import tensorflow as tf

    sentences, document_ids = [], []
    document = 0
    for path in files:
        try:
            with tf.io.gfile.GFile(path, "rb") as f:
                data = f.read()
        except (OSError, tf.errors.OpError) as e:
            raise ValueError(f"Cannot read {path}: {e}") from e
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as e:
            line = data.count(b"\n", 0, e.start) + 1
            raise ValueError(f"{path}:{line}: not valid UTF-8 ({e.reason}).") from e
        for line in text.split("\n"):
            line = line.strip()
            if line:
                sentences.append(line)
                document_ids.append(document)
            elif document_ids and document_ids[-1] == document:
                document += 1
        if document_ids and document_ids[-1] == document:
            document += 1
    return sentences, np.asarray(document_ids, np.int64)


def tokenize_documents(sentences, document_ids, tokenizer, word_segmenter=None):
    """Tokenizes sentences in large batches into a TokenizedCorpus.

    Sentences without tokens are dropped, then documents without sentences.

    Args:
        sentences: Texts, one per segment.
        document_ids: Non-decreasing document index of each sentence.
        tokenizer: A `keras_bert_zoo.text.BertTokenizer` (or anything whose
            `tokenize(list_of_str)` returns a RaggedTensor of ids).
        word_segmenter: Optional `ChineseWordSegmenter` that marks the
            corpus' `word_continuations`, each sentence segmented once.
    """
    ids, lengths, continuations = [], [], []
    for start in range(0, len(sentences), _TOKENIZE_BATCH):
        batch = sentences[start:start + _TOKENIZE_BATCH]
        ragged = tokenizer.tokenize(batch)
        ids.append(ragged.flat_values.numpy().astype(np.int32))
        lengths.append(ragged.row_lengths().numpy())
        if word_segmenter is not None:
            continuations.append(word_segmenter.word_continuations(batch, ids[-1], tokenizer))
    lengths = np.concatenate(lengths) if lengths else np.zeros([0], np.int64)
    kept = lengths > 0
    _, segments_per_document = np.unique(np.asarray(document_ids)[kept], return_counts=True)
    word_continuations = None
    if word_segmenter is not None:
        word_continuations = np.concatenate([np.zeros([0], bool), *continuations])
    return TokenizedCorpus(
        token_ids=np.concatenate(ids) if ids else np.zeros([0], np.int32),
        segment_offsets=np.concatenate([[0], np.cumsum(lengths[kept])]).astype(np.int64),
        document_offsets=np.concatenate([[0], np.cumsum(segments_per_document)]).astype(np.int64),
        word_continuations=word_continuations)


def read_corpus(file_patterns, tokenizer, word_segmenter=None):
    """Reads and tokenizes one-sentence-per-line files (blank line between documents).

    Args:
        file_patterns: Comma-separated glob patterns, or a list of them.
        tokenizer: A `keras_bert_zoo.text.BertTokenizer`.
        word_segmenter: Optional `ChineseWordSegmenter` for whole-word masking of Chinese words.

    Returns:
        (corpus, files): the TokenizedCorpus and the files read.

    Raises:
        ValueError: No file matches, a file is unreadable or not UTF-8, or the
            files hold no tokens; the message names the pattern, file or line.
    """
    files = expand_file_patterns(file_patterns)
    sentences, document_ids = read_documents(files)
    corpus = tokenize_documents(sentences, document_ids, tokenizer, word_segmenter)
    if corpus.num_documents == 0:
        raise ValueError(f"No text in {', '.join(files)}: every line is blank or has no tokens.")
    return corpus, files


def wikitext_to_sentence_lines(raw_text):
    """Converts WikiText raw text into one sentence per line, a blank line between articles.

    Articles start at their " = Title = " line; section headings are dropped and
    paragraphs are split after standalone ".", "?" and "!".

    Args:
        raw_text: The contents of a WikiText `*.raw` file.

    Returns:
        The converted text, in the input format of `read_documents`.
    """
    articles = []
    for line in raw_text.split("\n"):
        if _WIKITEXT_TITLE.match(line):
            articles.append([])
        elif line.strip() and not _WIKITEXT_HEADING.match(line):
            if not articles:
                articles.append([])
            articles[-1].extend(s for s in _WIKITEXT_SENTENCE_END.split(line.strip()) if s)
    return "\n\n".join("\n".join(article) for article in articles if article) + "\n"
