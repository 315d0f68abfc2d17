"""Package namespaces whose names are imported from their modules on first use."""

import importlib


def lazy_exports(package, modules):
    """A module-level `__getattr__` and `__dir__` (PEP 562) for `package`'s public names.

    A package's `__init__` then imports nothing until a name is used, so a
    light module (the SQuAD reader, the SQuAD metric) doesn't pull in
    TensorFlow or seqeval through its package, as on the JAX/GPU machine.

    Args:
        package: The package's `__name__`.
        modules: {module name inside the package: names it exports}.

    Returns:
        (`__getattr__`, `__dir__`) for the package's namespace.
    """
    home = {name: module for module, names in modules.items() for name in names}

    def __getattr__(name):
        if name not in home:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{home[name]}"), name)

    def __dir__():
        return sorted(home)

    return __getattr__, __dir__
