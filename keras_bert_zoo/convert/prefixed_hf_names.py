"""HF names of a family whose encoder keeps BERT's names under its own prefix (ELECTRA, RoBERTa)."""

from keras_bert_zoo.convert.hf_format import google_to_hf_name, hf_to_google_name

# The sentence classifier's output layer is "classifier.out_proj" (behind its dense layer), the
# token classifier's is "classifier" itself: both are our "output_weights".
_OUTPUT_LAYER = {"classifier": "classifier.out_proj"}
_OURS_OF_OUTPUT = {"classifier.out_proj.weight": "output_weights", "classifier.out_proj.bias": "output_bias",
                   "classifier.weight": "output_weights", "classifier.bias": "output_bias"}


class PrefixedHfNames:
    """Maps a family's HF state-dict keys onto our (google-research/bert) weight names and back.

    The encoder's keys are BERT's with `prefix` in place of "bert" (and none
    in an `XModel` checkpoint); the heads' keys are the family's own.

    Args:
        family: The family's name, for errors ("ELECTRA").
        prefix: Its encoder's HF prefix ("electra", "roberta").
        head_keys: (our name, HF key) of each head tensor besides the
            classifiers' output layers; ours ending in "/kernel" are
            transposed (HF's Linear weights are [out, in]).
        ignored_keys: HF keys that hold no weight of ours (tied to the word
            embeddings or to another key).
    """

    def __init__(self, family, prefix, head_keys, ignored_keys=()):
        self.family = family
        self.prefix = prefix + "."
        self.hf_of_head = dict(head_keys)
        self.ours_of_head = {hf: ours for ours, hf in head_keys}
        self.ignored_keys = frozenset(ignored_keys)

    def hf_key(self, name, task=None):
        """Maps our weight name to (the family's HF state-dict key, whether to transpose).

        Args:
            name: Our weight name.
            task: The model's task; it decides the name of the output layer
                ("classifier.out_proj" of a sentence classifier, "classifier" of a tagger).
        """
        if name in self.hf_of_head:
            return self.hf_of_head[name], name.endswith("/kernel")
        if name in ("output_weights", "output_bias"):
            layer = _OUTPUT_LAYER.get(task, "classifier")
            return f"{layer}.{'weight' if name == 'output_weights' else 'bias'}", False
        key, transpose = google_to_hf_name(name)
        if not key.startswith("bert."):
            raise ValueError(f"{self.family} has no weight for {name!r}.")
        return self.prefix + key.removeprefix("bert."), transpose

    def internal_name(self, key, task=None):
        """Maps the family's HF key to (our weight name, whether to transpose), or None if it holds none of ours.

        The names don't depend on the checkpoint's `task`.
        """
        if key in self.ignored_keys:
            return None
        if key in self.ours_of_head:
            return self.ours_of_head[key], self.ours_of_head[key].endswith("/kernel")
        if key in _OURS_OF_OUTPUT:
            return _OURS_OF_OUTPUT[key], False
        return hf_to_google_name("bert." + key.removeprefix(self.prefix))
