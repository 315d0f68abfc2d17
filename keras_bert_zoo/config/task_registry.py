"""The one registry of tasks: each task's name, tool alias, model class, HF architecture, serving module, objective.

Built-in specs name their classes by import path, so that this registry (and
`import keras_bert_zoo`) needs neither TensorFlow nor the models; a path is
imported the first time the spec's class is asked for. Users register their
own specs with the classes themselves.
"""

import importlib


class TaskSpec:
    """What the library needs to know about one task.

    Args:
        name: The task's name, as in checkpoints' metadata ("classifier").
        model_class: Its keras.Model class, or an import path
            "package.module:Class".
        serving_module: Its `kbz.export.ServingModule` subclass (or import
            path): the SavedModel signatures it exports.
        alias: The name the tools' --task flag uses ("ner"); default `name`.
        hf_architectures: transformers architectures of the task; the first
            is written into config.json, all are read as this task.
        objective: Callable model -> training objective (see
            `kbz.training.Trainer`), or its import path; None if the task
            has no fine-tuning objective.
    """

    def __init__(self, name, model_class, serving_module, alias=None, hf_architectures=(), objective=None):
        self.name = name
        self.alias = alias or name
        self.hf_architectures = tuple(hf_architectures)
        self._model_class = model_class
        self._serving_module = serving_module
        self._objective = objective

    @property
    def model_class(self):
        return resolve(self._model_class)

    @property
    def serving_module(self):
        return resolve(self._serving_module)

    def objective(self, model):
        """The training objective for `model` (an instance of `model_class`)."""
        if self._objective is None:
            raise ValueError(f"Task {self.name!r} has no training objective.")
        return resolve(self._objective)(model)

    def __repr__(self):
        return f"TaskSpec(name={self.name!r}, alias={self.alias!r})"


def resolve(target):
    """`target`, or the object its "package.module:attribute.path" import path names ("package.module:" the module)."""
    if not isinstance(target, str):
        return target
    module_name, _, attributes = target.partition(":")
    value = importlib.import_module(module_name)
    for attribute in filter(None, attributes.split(".")):
        value = getattr(value, attribute)
    return value


_SPECS = {}


def register(spec, replace=False):
    """Adds `spec` to the registry and returns it.

    Args:
        spec: A `TaskSpec`.
        replace: Replace a spec registered under the same task name.

    Raises:
        ValueError: If its name or alias names another task, or its task is
            registered already and `replace` is False.
    """
    for key in {spec.name, spec.alias}:
        taken = _SPECS.get(key)
        if taken is not None and taken.name != spec.name:
            raise ValueError(f"{key!r} already names task {taken.name!r}.")
        if taken is not None and not replace:
            raise ValueError(f"Task {key!r} is already registered; pass replace=True to replace it.")
    for key in [key for key, registered in _SPECS.items() if registered.name == spec.name]:
        del _SPECS[key]  # A replaced spec's old alias goes too.
    _SPECS[spec.name] = spec
    _SPECS[spec.alias] = spec
    return spec


def get(name):
    """The spec registered under a task name or tool alias."""
    try:
        return _SPECS[name]
    except KeyError:
        raise ValueError(f"Unknown task {name!r}; registered: {', '.join(aliases())}.") from None


def specs():
    """Every registered spec, in registration order."""
    return list({id(spec): spec for spec in _SPECS.values()}.values())


def aliases():
    """The tools' --task values, in registration order."""
    return [spec.alias for spec in specs()]


def spec_of_model(model):
    """The spec of the most derived registered class that `model` is an instance of.

    Raises:
        ValueError: If no registered task model class matches.
    """
    for cls in type(model).__mro__:
        for spec in specs():
            if spec.model_class is cls:
                return spec
    raise ValueError(f"{type(model).__name__} is no registered task model; register a kbz.tasks.TaskSpec for it "
                     "(see the README's custom task).")


def spec_of_architectures(architectures):
    """The spec of the first of transformers `architectures` that a task claims, or None."""
    for architecture in architectures:
        for spec in specs():
            if architecture in spec.hf_architectures:
                return spec
    return None


_MODELS = "keras_bert_zoo.models"
_EXPORT = "keras_bert_zoo.export"
_TRAINING = "keras_bert_zoo.training"
register(TaskSpec("encoder", f"{_MODELS}:BertEncoder", f"{_EXPORT}:EncoderServing",
                  hf_architectures=("BertModel",)))
register(TaskSpec("pretrainer", f"{_MODELS}:Pretrainer", f"{_EXPORT}:PretrainerServing",
                  hf_architectures=("BertForPreTraining",),
                  objective=f"{_TRAINING}:PretrainingObjective.for_model"))
register(TaskSpec("masked_lm", f"{_MODELS}:MaskedLM", f"{_EXPORT}:PretrainerServing",
                  hf_architectures=("BertForMaskedLM",), objective=f"{_TRAINING}:PretrainingObjective.for_model"))
register(TaskSpec("classifier", f"{_MODELS}:BertClassifier", f"{_EXPORT}:ClassifierServing",
                  hf_architectures=("BertForSequenceClassification",),
                  objective=f"{_TRAINING}:ClassificationObjective.for_model"))
register(TaskSpec("token_classifier", f"{_MODELS}:BertTokenClassifier", f"{_EXPORT}:NerServing", alias="ner",
                  hf_architectures=("BertForTokenClassification",),
                  objective=f"{_TRAINING}:TokenClassificationObjective.for_model"))
register(TaskSpec("question_answerer", f"{_MODELS}:BertQuestionAnswerer", f"{_EXPORT}:SquadServing",
                  alias="squad", hf_architectures=("BertForQuestionAnswering",),
                  objective=f"{_TRAINING}:SpanObjective.for_model"))
