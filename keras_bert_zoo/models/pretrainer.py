"""`kbz.Pretrainer`: the pretraining model of an encoder's family."""

from keras_bert_zoo.config import architecture_registry
from keras_bert_zoo.config.task_registry import resolve
from keras_bert_zoo.models.bert_task_model import BertTaskModel

# Each pretraining objective's model (import paths: they subclass Pretrainer, or are MaskedLM).
_MODEL_OF_OBJECTIVE = {
    "mlm_nsp": "keras_bert_zoo.models.bert_pretrainer:BertPretrainer",
    "mlm_sop": "keras_bert_zoo.models.albert_pretrainer:AlbertPretrainer",
    "mlm": "keras_bert_zoo.models.masked_lm:MaskedLM",
    "rtd": "keras_bert_zoo.models.electra_pretrainer:ElectraPretrainer",
}
OBJECTIVES = tuple(_MODEL_OF_OBJECTIVE)


def pretrainer_class_for(config, objective=None):
    """The model class of `objective` (default: the family's own) for an encoder config.

    Raises:
        ValueError: If `objective` is unknown, or needs what the family lacks
            (next-sentence and sentence-order prediction need a pooler;
            replaced-token detection is ELECTRA's).
    """
    family = architecture_registry.for_config(config)
    objective = objective or family.pretraining_objective
    model_class = model_class_of_objective(objective)
    if objective in ("mlm_nsp", "mlm_sop") and not config.has_pooler:
        raise ValueError(f"{family.name} has no pooler for sentence-pair prediction; pretrain it with 'mlm'.")
    if objective == "rtd" and family.pretraining_objective != "rtd":
        raise ValueError(f"Replaced-token detection needs ELECTRA's encoder, not {family.name}'s.")
    return model_class


def model_class_of_objective(objective):
    """The model class that trains `objective` ("mlm_nsp", "mlm_sop", "mlm" or "rtd"), whatever the family."""
    if objective not in _MODEL_OF_OBJECTIVE:
        raise ValueError(f"Unknown pretraining objective {objective!r}; one of {', '.join(OBJECTIVES)}.")
    return resolve(_MODEL_OF_OBJECTIVE[objective])


class Pretrainer(BertTaskModel):
    """Base of the families' pretraining models, and the factory of the right one.

    `kbz.Pretrainer(encoder)` builds the pretraining model of the encoder's
    family: `BertPretrainer` (masked LM + next sentence) for BERT,
    `AlbertPretrainer` (masked LM + sentence order) for ALBERT,
    `ElectraPretrainer` (replaced-token detection with a generator) for
    ELECTRA, and `MaskedLM` for families pretrained by masked LM alone
    (RoBERTa, XLM-RoBERTa, DistilBERT). `kbz.Pretrainer.from_pretrained(path)`
    does the same for the checkpoint's family. Every one takes the encoder's
    inputs plus `masked_lm_positions` and returns `mlm_logits` [B, P, V].
    """

    task = "pretrainer"

    def __new__(cls, *args, **kwargs):
        encoder = args[0] if args else kwargs.get("encoder")
        if cls is Pretrainer and encoder is not None:  # Keras itself calls __new__ without arguments.
            family_class = pretrainer_class_for(encoder.config)
            if not issubclass(family_class, Pretrainer):
                return family_class(*args, **kwargs)  # MaskedLM: built here, as Python won't call its __init__.
            cls = family_class
        return super().__new__(cls, *args, **kwargs)

    @classmethod
    def class_for_config(cls, config):
        """The family's pretraining model for `config`: this class where it is (a subclass of) that one."""
        family_class = pretrainer_class_for(config)
        return cls if cls is not Pretrainer and issubclass(cls, family_class) else family_class
