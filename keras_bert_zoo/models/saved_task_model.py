"""Loading a checkpoint as the task model that saved it, heads included."""

from keras_bert_zoo.convert import find_training_checkpoint, read_checkpoint
from keras_bert_zoo.models.bert_classifier import BertClassifier
from keras_bert_zoo.models.bert_encoder import BertEncoder
from keras_bert_zoo.models.bert_pretrainer import BertPretrainer
from keras_bert_zoo.models.bert_question_answerer import BertQuestionAnswerer
from keras_bert_zoo.models.bert_token_classifier import BertTokenClassifier

TASK_MODELS = {model.task: model for model in (
    BertEncoder, BertPretrainer, BertClassifier, BertTokenClassifier, BertQuestionAnswerer)}


def load_saved_task_model(path_or_preset):
    """The model of the task a checkpoint was saved from, with its heads.

    Checkpoints that name no task (Google's, Hugging Face's BertModel) load as
    a `BertPretrainer` when they hold the masked-LM head ("cls/predictions/"),
    else as a `BertEncoder`.

    Args:
        path_or_preset: Anything `from_pretrained` reads.
    """
    training = find_training_checkpoint(path_or_preset)
    if training is not None:
        task = training.task
    else:
        checkpoint = read_checkpoint(path_or_preset)
        task = checkpoint.task
        if task is None:
            has_mlm = any(name.startswith("cls/predictions/") for name in checkpoint.weights)
            task = "pretrainer" if has_mlm else "encoder"
    return TASK_MODELS.get(task, BertEncoder).from_pretrained(path_or_preset)
