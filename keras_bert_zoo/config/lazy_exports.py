"""Package namespaces whose names are imported from their modules on first use."""

import importlib
import sys
import types


def lazy_exports(package, modules):
    """Makes `package`'s public names import their modules on first use (PEP 562).

    A package's `__init__` then imports nothing until a name is used, so a
    light module (the SQuAD reader, the SQuAD metric) doesn't pull in
    TensorFlow or seqeval through its package, as on the JAX/GPU machine.
    Call it from the package's `__init__`.

    Args:
        package: The package's `__name__`.
        modules: {module name inside the package: names it exports}.
    """
    home = {name: module for module, names in modules.items() for name in names}

    class LazyPackage(types.ModuleType):
        def __getattr__(self, name):
            if name not in home:
                raise AttributeError(f"module {package!r} has no attribute {name!r}")
            return getattr(importlib.import_module(f"{package}.{home[name]}"), name)

        def __dir__(self):
            return sorted(set(super().__dir__()) | set(home))

        def __setattr__(self, name, value):
            # Importing a submodule binds it on its package; where a function bears the module's name
            # (metrics.ner_metrics), the package exports the function, as an eager __init__ would.
            if isinstance(value, types.ModuleType) and home.get(name) == name:
                value = getattr(value, name)
            super().__setattr__(name, value)

    sys.modules[package].__class__ = LazyPackage
