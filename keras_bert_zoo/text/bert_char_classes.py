"""RE2 character classes that reproduce the reference BERT tokenizer's Python predicates.

The reference tokenizer (google-research tokenization.py and its HF port)
classifies characters with Python's `unicodedata`. Deriving the regex classes
from the same `unicodedata` keeps the in-graph tokenizer in step with the
reference for every code point, whatever Unicode tables RE2 or ICU ship.
"""

import functools
import re
import sys
import unicodedata

# Ranges that the reference treats as CJK ideographs (each becomes its own word).
CJK_RANGES = (
    (0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F),
    (0x2B740, 0x2B81F), (0x2B820, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F),
)


def is_punctuation(char, category):
    """The reference's `_is_punctuation`: ASCII symbols, and every "P*" category."""
    code = ord(char)
    if 33 <= code <= 47 or 58 <= code <= 64 or 91 <= code <= 96 or 123 <= code <= 126:
        return True
    return category.startswith("P")


def _ranges(codes):
    """Sorted code points as (first, last) runs of consecutive ones."""
    runs = []
    for code in codes:
        if runs and code == runs[-1][1] + 1:
            runs[-1][1] = code
        else:
            runs.append([code, code])
    return [tuple(run) for run in runs]


def _to_class(codes):
    """An RE2 class "[...]" matching exactly the sorted code points `codes`."""
    return "[" + "".join(r"\x{%X}" % a if a == b else r"\x{%X}-\x{%X}" % (a, b) for a, b in _ranges(codes)) + "]"


@functools.lru_cache(maxsize=None)
def _code_points():
    """Sorted code points of each class that `char_classes` describes (but cjk, which is ranges)."""
    control, whitespace, punctuation, marks = [], [], [], []
    for code in range(sys.maxunicode + 1):
        if 0xD800 <= code <= 0xDFFF:
            continue
        char = chr(code)
        category = unicodedata.category(char)
        if char not in "\t\n\r" and (category.startswith("C") or code == 0xFFFD):
            control.append(code)
        elif char in " \t\n\r" or category == "Zs" or char.isspace():
            whitespace.append(code)
        elif is_punctuation(char, category):
            punctuation.append(code)
        elif category == "Mn":
            marks.append(code)
    return {"control": control, "whitespace": whitespace, "punctuation": punctuation, "nonspacing_mark": marks}


@functools.lru_cache(maxsize=None)
def char_classes():
    """Returns a dict of RE2 classes: control, whitespace, non_ascii_whitespace, punctuation, cjk, nonspacing_mark.

    - control: removed before anything else (NUL, U+FFFD, and every "C*"
      category except \\t \\n \\r, as HF's `_is_control`).
    - whitespace: word separators (HF's `_is_whitespace` plus what Python's
      `str.split()` splits on).
    - non_ascii_whitespace: the whitespace beyond " \\t\\n\\r", which
      `tf.strings.split()` does not split on by itself.
    - punctuation: split off as one-character words.
    - cjk: surrounded by spaces.
    - nonspacing_mark: accents (Mn) stripped after NFD when lower-casing.
    """
    code_points = _code_points()
    cjk = "[" + "".join(r"\x{%X}-\x{%X}" % r for r in CJK_RANGES) + "]"
    return {
        "control": _to_class(code_points["control"]),
        "whitespace": _to_class(code_points["whitespace"]),
        "non_ascii_whitespace": _to_class([code for code in code_points["whitespace"] if code > 0x7F]),
        "punctuation": _to_class(code_points["punctuation"]),
        "cjk": cjk,
        "nonspacing_mark": _to_class(code_points["nonspacing_mark"]),
    }


@functools.lru_cache(maxsize=None)
def python_patterns():
    """Python `re` patterns of the classes that the reference applies to whole texts: control and cjk."""
    def char_class(ranges):
        return re.compile("[" + "".join(f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in ranges) + "]")

    return {"control": char_class(_ranges(_code_points()["control"])), "cjk": char_class(CJK_RANGES)}


@functools.lru_cache(maxsize=None)
def fast_path_patterns():
    """RE2 patterns of the texts that FastWordpieceTokenizer's own BERT pre-tokenization reads as the reference does.

    Besides printable ASCII and \\t \\n \\r: CJK ideographs and punctuation
    that no step of the reference changes (NFC, lower-casing, NFD with marks
    stripped), since that pre-tokenization only splits on whitespace, CJK
    and punctuation. Chinese text then takes the fast path whole.

    Returns:
        (a text of only such characters, a space-delimited word with at least one other character).
    """
    ascii_items = r"\t\n\r\x20-\x7e"
    codes = []
    for first, last in CJK_RANGES:
        codes += [code for code in range(first, last + 1) if unicodedata.category(chr(code)).startswith("L")]
    codes += [code for code in _code_points()["punctuation"] if code > 0x7F]
    unchanged = [code for code in sorted(codes) if not unicodedata.combining(chr(code))
                 and all(unicodedata.normalize(form, chr(code)) == chr(code) for form in ("NFC", "NFD"))
                 and chr(code).lower() == chr(code)]
    items = ascii_items + _to_class(unchanged)[1:-1]
    return f"[{items}]*", f"[^ ]*[^{items}][^ ]*"
