"""The shape of the code base: modules small enough to read, and no import circles (imports inside functions included)."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "vndiplo"
MAX_LINES = 450


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_in(source: str, name: str, package: str, modules: set[str]) -> set[str]:
    """The project modules that module `name` of `package` imports anywhere in `source`, functions included."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            target = ".".join(base + ([node.module] if node.module else []))
            submodules = {f"{target}.{alias.name}" for alias in node.names} & modules
            found |= submodules or ({target} & modules)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names} & modules
    return found - {name}


def test_no_module_is_longer_than_a_newcomer_reads_at_once():
    long = {module_name(path): n for path in PACKAGE.rglob("*.py") if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}


def test_there_are_no_import_circles():
    paths = {module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph = {
        name: imports_in(path.read_text(encoding="utf-8"), name, name if path.name == "__init__.py" else name.rpartition(".")[0], set(paths))
        for name, path in paths.items()
    }

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        return any(step == goal or (step not in seen and reaches(step, goal, seen | {step})) for step in graph[start])

    circles = sorted(name for name in graph if reaches(name, name, set()))
    assert circles == []


@pytest.mark.parametrize(
    "text, expected",
    [
        ("from . import errors", {"vndiplo.errors"}),
        ("def f():\n    from .corpus import read_corpus", {"vndiplo.corpus"}),
        ("from .. import paths", {"vndiplo.paths"}),
    ],
)
def test_the_import_reader_sees_relative_imports_inside_functions_too(text, expected):
    modules = {"vndiplo.errors", "vndiplo.corpus", "vndiplo.paths"}
    package = "vndiplo.cli" if ".." in text else "vndiplo"
    assert imports_in(text, f"{package}.probe", package, modules) == expected
