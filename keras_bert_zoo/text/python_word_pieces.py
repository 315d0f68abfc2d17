"""The reference BERT tokenizer in plain Python, for one text per eager call."""

import re
import unicodedata

from keras_bert_zoo.text.bert_char_classes import is_punctuation, python_patterns

# Printable ASCII and \t \n \r: nothing to remove, space out or compose.
_CLEAN_ASCII = re.compile(r"[\t\n\r\x20-\x7e]*")
# In a word of printable ASCII, every character but letters and digits is punctuation.
_ASCII_WORD_PARTS = re.compile(r"[0-9A-Za-z]+|[^0-9A-Za-z]")


class PythonWordPieces:
    """WordPiece ids of one text, computed as the reference's Python does, word by cached word.

    A TensorFlow function call costs about a quarter of a millisecond here
    before any op runs, more than HF's Rust tokenizer needs for a whole
    sentence; so `BertTokenizer` answers an eager call on one string with this
    class. It follows HF's `BasicTokenizer` + `WordpieceTokenizer` step by
    step (drop control characters, space out CJK ideographs, NFC, split on
    whitespace, then per word: lower-case, strip accents by NFD, split off
    punctuation, WordPiece), with the same `unicodedata`. Everything after the
    whitespace split depends on the word alone, so each distinct word is
    worked out once and its ids are cached.

    Args:
        token_ids: Dict of token -> id.
        unk_id: Id of words that WordPiece can't cover.
        lower_case: Whether to lower-case and strip accents.
        max_chars_per_word: Longer words become [UNK].
        max_cached_words: The cache is emptied when it holds this many words.
    """

    def __init__(self, token_ids, unk_id, lower_case=True, max_chars_per_word=100, max_cached_words=1 << 16):
        self.token_ids = token_ids
        self.unk_id = unk_id
        self.lower_case = lower_case
        self.max_chars_per_word = max_chars_per_word
        self.max_cached_words = max_cached_words
        self._patterns = python_patterns()
        self._word_ids = {}

    def ids(self, text):
        """WordPiece ids (a list of ints) of `text`, a str, or UTF-8 bytes (invalid bytes are dropped)."""
        if isinstance(text, bytes):
            # U+FFFD is a character the reference drops, as the graph drops what it reads invalid bytes as.
            text = text.decode("utf-8", errors="replace")
        if not _CLEAN_ASCII.fullmatch(text):
            # isprintable() is False for every "C*" character (and most whitespace), in C: most
            # texts skip the control class, whose regex costs half a microsecond a character.
            if not text.isprintable() or "\ufffd" in text:
                text = self._patterns["control"].sub("", text)
            text = self._patterns["cjk"].sub(r" \g<0> ", text)
            text = unicodedata.normalize("NFC", text)
        ids = []
        cache = self._word_ids
        for word in text.split():
            word_ids = cache.get(word)
            if word_ids is None:
                if len(cache) >= self.max_cached_words:
                    cache.clear()
                word_ids = cache[word] = self._ids_of_word(word)
            ids += word_ids
        return ids

    def _ids_of_word(self, word):
        if word.isascii():
            # Control characters are gone by now, and ASCII has no accents.
            pieces = _ASCII_WORD_PARTS.findall(word.lower() if self.lower_case else word)
        else:
            if self.lower_case:
                word = "".join(c for c in unicodedata.normalize("NFD", word.lower()) if unicodedata.category(c) != "Mn")
            pieces, start = [], 0
            for index, char in enumerate(word):
                if is_punctuation(char, unicodedata.category(char)):
                    pieces += [word[start:index], char]
                    start = index + 1
            pieces.append(word[start:])
        return [i for piece in pieces if piece for i in self._word_piece_ids(piece)]

    def _word_piece_ids(self, word):
        """Greedy longest-match-first WordPiece, as the reference's `WordpieceTokenizer`."""
        if len(word) > self.max_chars_per_word:
            return [self.unk_id]
        ids, start = [], 0
        while start < len(word):
            prefix = "##" if start else ""
            for end in range(len(word), start, -1):
                token_id = self.token_ids.get(prefix + word[start:end])
                if token_id is not None:
                    break
            else:
                return [self.unk_id]
            ids.append(token_id)
            start = end
        return ids
