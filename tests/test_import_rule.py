"""DESIGN's import rule, read from every module's imports with `ast`.

"tools → benchmarks → export, training → models → layers, convert, data →
kernels, text, metrics, config. Nothing lower imports anything higher, and no
module imports a tool." Packages on one line are peers and may import each other.
"""

import ast
import pathlib

import pytest

_ROOT = pathlib.Path(__file__).resolve().parents[1]
_PACKAGE = _ROOT / "keras_bert_zoo"
# benchmarks/ sits beside the library, outside its wheel, between the tools and everything in keras_bert_zoo.
_BENCHMARKS = "benchmarks"

# Higher levels may import lower ones. The package root (keras_bert_zoo/__init__.py and its
# `tasks` facade over config's registry) is the public API, above everything it re-exports.
_LEVELS = {
    _BENCHMARKS: 6,  # beside the package, above its public API
    "<root>": 5, "tasks": 5,
    # distill is training (a student's objective and its layer-copied start), kbz.distill as the issue names it.
    "export": 3, "training": 3, "distill": 3,
    "models": 2,
    "layers": 1, "convert": 1, "data": 1,
    # files: atomic writes that text, config and everything above them share.
    "kernels": 0, "text": 0, "metrics": 0, "config": 0, "files": 0,
}
_TOOL_MODULES = {path.stem for path in (_ROOT / "tools").glob("*.py")}


def _area(module):
    """The level-table key of a dotted module name inside keras_bert_zoo (or benchmarks, above them all)."""
    parts = module.split(".")
    if parts[0] == _BENCHMARKS:
        return _BENCHMARKS
    return parts[1] if len(parts) > 1 else "<root>"


def _imported_modules(path):
    """Absolute dotted names of every module `path` imports, with their line numbers."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = ".".join(path.relative_to(_ROOT).with_suffix("").parts)
    if path.name != "__init__.py":
        package = package.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from ((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            # `from keras_bert_zoo import layers` imports keras_bert_zoo.layers.
            names = [f"{base}.{alias.name}" for alias in node.names] if base == "keras_bert_zoo" else [base]
            yield from ((name, node.lineno) for name in names)


def _violations():
    found = []
    for path in sorted([*_PACKAGE.rglob("*.py"), *(_ROOT / _BENCHMARKS).glob("*.py")]):
        module = ".".join(path.relative_to(_ROOT).with_suffix("").parts)
        source_area = _area(module.removesuffix(".__init__"))
        for imported, line in _imported_modules(path):
            where = f"{path.relative_to(_ROOT)}:{line} imports {imported}"
            if imported.split(".")[0] in _TOOL_MODULES | {"tools"}:
                found.append(f"{where} (a tool)")
            elif imported.split(".")[0] == _BENCHMARKS and source_area != _BENCHMARKS:
                found.append(f"{where} (the library can't import the benchmarks, which its wheel lacks)")
            elif imported.split(".")[0] == "keras_bert_zoo" and imported != "keras_bert_zoo":
                target_area = _area(imported)
                if target_area in _LEVELS and _LEVELS[target_area] > _LEVELS[source_area]:
                    found.append(f"{where} ({source_area} is below {target_area})")
            elif imported == "keras_bert_zoo" and _LEVELS[source_area] < _LEVELS["<root>"]:
                found.append(f"{where} ({source_area} is below the package root)")
    return found


def test_every_package_area_has_a_level():
    areas = {path.name for path in _PACKAGE.iterdir() if path.is_dir() and (path / "__init__.py").exists()}
    assert areas <= set(_LEVELS), f"add {sorted(areas - set(_LEVELS))} to the level table"


def test_no_module_imports_upward_or_a_tool():
    assert _violations() == []


def test_the_library_needs_neither_torch_nor_transformers():
    """The peers are test and benchmark extras: no library module imports them, even deferred."""
    found = [f"{path.relative_to(_ROOT)}:{line} imports {imported}" for path in sorted(_PACKAGE.rglob("*.py"))
             for imported, line in _imported_modules(path) if imported.split(".")[0] in ("torch", "transformers")]
    assert found == []


def test_tools_share_only_flag_modules():
    """A tool is a thin main() over the library: it may import tool_runner and *_flags modules, no other tool."""
    shared = {"tool_runner"} | {name for name in _TOOL_MODULES if name.endswith("_flags")}
    found = [f"tools/{path.name}:{line} imports {imported}"
             for path in sorted((_ROOT / "tools").glob("*.py"))
             for imported, line in _imported_modules(path)
             if imported.split(".")[0] in _TOOL_MODULES - shared]
    assert found == []


@pytest.mark.parametrize("source, imported", [
    ("kernels", "layers"), ("layers", "models"), ("config", "training"),
])
def test_the_check_sees_an_upward_import(tmp_path, monkeypatch, source, imported):
    package = tmp_path / "keras_bert_zoo"
    (package / source).mkdir(parents=True)
    (package / source / "bad.py").write_text(f"from keras_bert_zoo.{imported} import anything\n")
    monkeypatch.setitem(globals(), "_ROOT", tmp_path)
    monkeypatch.setitem(globals(), "_PACKAGE", package)
    assert [f"keras_bert_zoo/{source}/bad.py:1 imports keras_bert_zoo.{imported} ({source} is below {imported})"] \
        == _violations()
