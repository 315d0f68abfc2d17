"""`kbz.tasks`: the registry of tasks (built-in and users' own), one `TaskSpec` each.

    spec = kbz.tasks.get("ner")          # by name or tool alias
    spec.model_class, spec.serving_module, spec.objective(model)
    kbz.tasks.register(kbz.tasks.TaskSpec("my_task", MyModel, MyServing))
"""

from keras_bert_zoo.config.task_registry import (  # noqa: F401
    TaskSpec,
    aliases,
    get,
    register,
    spec_of_architectures,
    spec_of_model,
    specs,
)
