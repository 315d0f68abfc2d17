"""Loading a checkpoint as the task model that saved it, heads included."""

from keras_bert_zoo.config import task_registry
from keras_bert_zoo.convert import find_training_checkpoint, read_checkpoint


def load_saved_task_model(path_or_preset):
    """The model of the task a checkpoint was saved from, with its heads.

    Checkpoints that name no task (Google's, Hugging Face's BertModel) load as
    a `BertPretrainer` when they hold the masked-LM head ("cls/predictions/"),
    else as a `BertEncoder`.

    Args:
        path_or_preset: Anything `from_pretrained` reads.
    """
    training = find_training_checkpoint(path_or_preset)
    task = training.task if training is not None else read_checkpoint(path_or_preset).held_task
    return task_registry.get(task).model_class.from_pretrained(path_or_preset)
