"""docs/writing-plugins.md states the plugin contract exactly: its code blocks are compared with the code.

The Python blocks of the guide are parsed (they are valid Python: signatures with docstrings as
bodies) and compared, through the syntax tree so that formatting and quotes do not matter, with
the source of:
- every hookspec (exact signature and a docstring saying when it is called);
- every field of every record (`ModelSpec`, ..., `DataSource`, `Converted`): name, type, default,
  order and decorator, each with a comment saying what it means;
- every public attribute and method of `Model`, `GANModel` and `StepContext`;
- every public function of `ganzoo.testing`, `ganzoo.configs.option` and `data_options_for`.
A signature that changes in the code without the guide fails here.
"""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import pytest

import ganzoo.testing
from ganzoo import configs, hookspecs, pretrained, specs
from ganzoo.data import source
from ganzoo.plugins import HOOK_PREFIX

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "writing-plugins.md"
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", re.DOTALL | re.MULTILINE)


def python_blocks() -> list[str]:
    return [body for lang, body in FENCE.findall(GUIDE.read_text(encoding="utf-8")) if lang == "python"]


def doc_nodes() -> tuple[dict[str, list[ast.FunctionDef]], dict[str, list[tuple[ast.ClassDef, list[str]]]]]:
    """Module-level functions and classes (with their block's lines) defined in the guide's Python blocks."""
    functions: dict[str, list[ast.FunctionDef]] = {}
    classes: dict[str, list[tuple[ast.ClassDef, list[str]]]] = {}
    for block in python_blocks():
        tree = ast.parse(block)  # every Python block of the guide must be valid Python
        for node in tree.body:
            if isinstance(node, ast.FunctionDef):
                functions.setdefault(node.name, []).append(node)
            elif isinstance(node, ast.ClassDef):
                classes.setdefault(node.name, []).append((node, block.splitlines()))
    return functions, classes


def source_tree(obj: object) -> ast.Module:
    return ast.parse(Path(inspect.getsourcefile(obj)).read_text(encoding="utf-8"))


def source_function(obj) -> ast.FunctionDef:
    module = inspect.getmodule(obj)
    for node in ast.walk(source_tree(module)):
        if isinstance(node, ast.FunctionDef) and node.name == obj.__name__:
            return node
    raise LookupError(obj)


def source_class(cls: type) -> ast.ClassDef:
    for node in ast.walk(source_tree(cls)):
        if isinstance(node, ast.ClassDef) and node.name == cls.__name__:
            return node
    raise LookupError(cls)


def signature(node: ast.FunctionDef) -> str:
    """`(args) -> returns` as canonical source text."""
    returns = f" -> {ast.unparse(node.returns)}" if node.returns is not None else ""
    return f"({ast.unparse(node.args)}){returns}"


def decorators(node: ast.FunctionDef | ast.ClassDef) -> list[str]:
    return [ast.unparse(d) for d in node.decorator_list]


def attributes(cls: ast.ClassDef) -> list[str]:
    return [ast.unparse(n) for n in cls.body if isinstance(n, (ast.AnnAssign, ast.Assign))]


def methods(cls: ast.ClassDef) -> dict[str, ast.FunctionDef]:
    return {n.name: n for n in cls.body if isinstance(n, ast.FunctionDef)}


def one_class(name: str) -> tuple[ast.ClassDef, list[str]]:
    _, classes = doc_nodes()
    assert name in classes, f"docs/writing-plugins.md has no Python block defining class {name}"
    assert len(classes[name]) == 1, f"docs/writing-plugins.md defines class {name} more than once"
    return classes[name][0]


HOOKS = sorted(name for name in dir(hookspecs) if name.startswith(HOOK_PREFIX))


def test_the_guide_exists_and_its_python_blocks_parse():
    assert len(python_blocks()) > 10
    doc_nodes()


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hookspec_is_documented_with_its_exact_signature(hook):
    functions, _ = doc_nodes()
    assert hook in functions, f"docs/writing-plugins.md does not document the hook {hook}"
    expected = signature(source_function(getattr(hookspecs, hook)))
    for node in functions[hook]:
        assert signature(node) == expected, f"{hook}: the guide says {signature(node)}, the code {expected}"
    documented = [n for n in functions[hook] if ast.get_docstring(n)]
    assert documented, f"{hook}: the guide's block needs a docstring saying when it is called"
    assert f"### `{hook}`" in GUIDE.read_text(encoding="utf-8")


def test_the_guide_documents_no_hook_that_does_not_exist():
    functions, _ = doc_nodes()
    assert {n for n in functions if n.startswith(HOOK_PREFIX)} == set(HOOKS)


RECORDS = [specs.ModelSpec, specs.DatasetSpec, specs.ExtractorSpec, specs.MetricSpec, specs.CommandSpec,
           source.DataRef, source.DataOptions, source.DataSource, pretrained.Converted]


@pytest.mark.parametrize("record", RECORDS, ids=lambda c: c.__name__)
def test_every_record_field_is_documented_exactly_with_its_meaning(record):
    doc, lines = one_class(record.__name__)
    real = source_class(record)
    fields = [n for n in real.body if isinstance(n, ast.AnnAssign)]
    documented = [n for n in doc.body if isinstance(n, ast.AnnAssign)]
    assert [ast.unparse(n) for n in documented] == [ast.unparse(n) for n in fields]
    assert decorators(doc) == decorators(real)
    for node in documented:
        assert "#" in lines[node.lineno - 1], f"{record.__name__}.{ast.unparse(node.target)} needs a comment"


@pytest.mark.parametrize(("name", "with_init"), [("Model", True), ("GANModel", True), ("StepContext", False)])
def test_every_public_member_of_the_model_interfaces_is_documented(name, with_init):
    from ganzoo import engine

    real = source_class(getattr(engine, name))
    doc, _ = one_class(name)
    assert attributes(doc) == attributes(real), f"{name}: class attributes differ from the code"
    real_methods = {k: v for k, v in methods(real).items() if not k.startswith("_") or (with_init and k == "__init__")}
    doc_methods = methods(doc)
    assert set(doc_methods) == set(real_methods), (
        f"{name}: undocumented {sorted(set(real_methods) - set(doc_methods))}, "
        f"not in the code {sorted(set(doc_methods) - set(real_methods))}"
    )
    for method, node in real_methods.items():
        documented = doc_methods[method]
        assert signature(documented) == signature(node), f"{name}.{method}: {signature(documented)} != {signature(node)}"
        assert decorators(documented) == [d for d in decorators(node) if d == "property"], f"{name}.{method}"
        assert ast.get_docstring(documented), f"{name}.{method} needs a docstring in the guide"


API = [getattr(ganzoo.testing, n) for n in ganzoo.testing.__all__ if inspect.isfunction(getattr(ganzoo.testing, n))]


@pytest.mark.parametrize("function", [*API, configs.option, configs.betas_option, "data_options_for"],
                         ids=lambda f: f if isinstance(f, str) else f.__name__)
def test_every_public_helper_is_documented_with_its_exact_signature(function):
    if isinstance(function, str):
        from ganzoo.engine import model

        function = getattr(model, function)
    functions, _ = doc_nodes()
    name = function.__name__
    assert name in functions, f"docs/writing-plugins.md does not document {name}"
    expected = signature(source_function(function))
    assert [signature(n) for n in functions[name]] == [expected] * len(functions[name])
    assert ast.get_docstring(functions[name][0])


def test_the_testing_kit_is_all_documented():
    text = GUIDE.read_text(encoding="utf-8")
    for name in ganzoo.testing.__all__:
        assert f"{name}" in text, f"ganzoo.testing.{name} is not mentioned in the guide"
    import ganzoo.testing.fixtures as fixtures

    for name, obj in vars(fixtures).items():
        if hasattr(obj, "_fixture_function_marker") or type(obj).__name__ == "FixtureFunctionDefinition":
            assert f"`{name}`" in text, f"fixture {name} is not documented"
