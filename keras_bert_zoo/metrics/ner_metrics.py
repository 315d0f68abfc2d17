"""Entity-level NER precision, recall and F1 (seqeval semantics)."""

from keras_bert_zoo.metrics.tag_schemes import canonical_tag_scheme, convert_tag_scheme, detect_tag_scheme


def ner_metrics(true_tags, predicted_tags, scheme=None, strict=False):
    """Micro-averaged entity precision, recall and F1, computed by seqeval.

    An entity counts as correct when its type, start and end all match.
    IOB1 sequences are first rewritten as IOB2 (the same entities), so every
    scheme is scored alike.

    Args:
        true_tags: Gold sentences, each a list of tags.
        predicted_tags: Predicted sentences, the same lengths.
        scheme: "IOB1", "IOB2" or "BIOES" (alias "IOBES"); None detects it
            from `true_tags` (see `detect_tag_scheme`).
        strict: False reads entities with conlleval's lenient rules (seqeval's
            default, what CoNLL and most papers report); True uses seqeval's
            strict mode, where an entity must be well formed in the scheme
            (e.g. "O I-PER" is no entity in IOB2).

    Returns:
        {"precision", "recall", "f1"} as Python floats in [0, 1].
    """
    from seqeval import metrics
    from seqeval import scheme as seqeval_schemes

    true_tags = [list(tags) for tags in true_tags]
    predicted_tags = [list(tags) for tags in predicted_tags]
    if [len(t) for t in true_tags] != [len(p) for p in predicted_tags]:
        raise ValueError("true_tags and predicted_tags must have the same sentence lengths.")
    scheme = detect_tag_scheme(true_tags) if scheme is None else canonical_tag_scheme(scheme)
    if scheme == "IOB1":
        true_tags = convert_tag_scheme(true_tags, "IOB2")
        predicted_tags = convert_tag_scheme(predicted_tags, "IOB2")
        scheme = "IOB2"
    options = {"zero_division": 0}
    if strict:
        options.update(mode="strict", scheme={"IOB2": seqeval_schemes.IOB2, "BIOES": seqeval_schemes.IOBES}[scheme])
    return {
        "precision": float(metrics.precision_score(true_tags, predicted_tags, **options)),
        "recall": float(metrics.recall_score(true_tags, predicted_tags, **options)),
        "f1": float(metrics.f1_score(true_tags, predicted_tags, **options)),
    }
