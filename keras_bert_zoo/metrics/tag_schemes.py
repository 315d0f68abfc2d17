"""Entity tag schemes (IOB1, IOB2, BIOES): validation, detection and conversion.

IOB1 (CoNLL-2003's original files) starts an entity with I- and uses B- only
for an entity that directly follows one of the same type; IOB2 starts every
entity with B-; BIOES also marks the last token (E-) and single-token
entities (S-). Entities are read with conlleval's rules (seqeval's default
mode), which accept every scheme and also make sense of invalid predicted
sequences such as "O I-PER", so conversion never fails on model output.
"""

from seqeval.metrics.sequence_labeling import get_entities

TAG_SCHEMES = ("IOB1", "IOB2", "BIOES")
_PREFIXES = {"B", "I", "E", "S"}


def canonical_tag_scheme(scheme):
    """The name of `scheme` among TAG_SCHEMES ("iobes" -> "BIOES", "bio" -> "IOB2"); ValueError if unknown."""
    scheme = scheme.upper()
    scheme = {"IOBES": "BIOES", "BIO": "IOB2"}.get(scheme, scheme)
    if scheme not in TAG_SCHEMES:
        raise ValueError(f"Unknown tag scheme {scheme!r}; expected one of {TAG_SCHEMES}.")
    return scheme


def check_tag(tag):
    """Raises ValueError unless `tag` is "O" or PREFIX-TYPE with a B/I/E/S prefix and a type."""
    if tag == "O":
        return
    prefix, _, entity_type = tag.partition("-")
    if prefix not in _PREFIXES or not entity_type:
        raise ValueError(f"Invalid tag {tag!r}: expected 'O' or B-/I-/E-/S- and an entity type.")


def detect_tag_scheme(tag_sequences):
    """Guesses the scheme of gold tag sequences.

    Args:
        tag_sequences: Sentences, each a list of tags.

    Returns:
        "BIOES" if any tag has an E- or S- prefix; else "IOB1" if some
        entity starts with I- (after "O", at a sentence start, or after
        another type); else "IOB2" (which also reads any all-B- data right).
    """
    starts_with_inside = False
    for tags in tag_sequences:
        previous_type = None
        for tag in tags:
            prefix, _, entity_type = tag.partition("-")
            if prefix in ("E", "S"):
                return "BIOES"
            if prefix == "I" and entity_type != previous_type:
                starts_with_inside = True
            previous_type = entity_type if tag != "O" else None
    return "IOB1" if starts_with_inside else "IOB2"


def convert_tag_scheme(tag_sequences, target):
    """Rewrites tag sequences in the `target` scheme, keeping their entities.

    Args:
        tag_sequences: Sentences, each a list of tags in any of the schemes
            (entities are read with conlleval's rules).
        target: "IOB1", "IOB2" or "BIOES" ("IOBES" and "BIO" are aliases).

    Returns:
        A list of lists of tags, the same lengths as the input.
    """
    target = canonical_tag_scheme(target)
    converted = []
    for tags in tag_sequences:
        out = ["O"] * len(tags)
        previous_end, previous_type = -2, None
        for entity_type, start, end in get_entities(list(tags)):
            if target == "IOB1":
                adjacent = previous_end == start - 1 and previous_type == entity_type
                out[start:end + 1] = ["I-" + entity_type] * (end + 1 - start)
                if adjacent:
                    out[start] = "B-" + entity_type
            else:
                out[start:end + 1] = ["B-" + entity_type] + ["I-" + entity_type] * (end - start)
                if target == "BIOES":
                    if start == end:
                        out[start] = "S-" + entity_type
                    else:
                        out[end] = "E-" + entity_type
            previous_end, previous_type = end, entity_type
        converted.append(out)
    return converted
