"""The house's import rules that import-linter cannot state: no module reaches into another
module's private names. (The layers, the independence of the view modules and the absence
of cycles are import-linter contracts: ``.importlinter``, run by ``make importlint``.)

A private name is one with a leading underscore that is not a dunder. Reaching means
``from x import _name``, or ``x._name`` where ``x`` was bound by an import (a module, or a
class or function of another module), including imports inside functions. Attributes of
local objects (``self._cache``, ``question._change_reason``) are not followed.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("questions", "quizsite")

# Private by spelling, public by documentation: Django's model options API.
PUBLIC_BY_CONVENTION = {"_meta"}


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _modules() -> list[tuple[str, Path]]:
    modules = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if "migrations" in parts or "tests" in parts:
                continue
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules.append((".".join(parts), path))
    return modules


def _absolute(module: str, path: Path, node: ast.ImportFrom) -> str:
    """The absolute name of what ``node`` imports from (relative imports resolved)."""
    if not node.level:
        return node.module or ""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _reaches(module: str, path: Path, root: Path = ROOT) -> list[str]:
    """Every place in ``module`` that reaches into another module's private names."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    imported: set[str] = set()  # local names bound by an import
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                imported.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom):
            source = _absolute(module, path, node)
            for alias in node.names:
                if _is_private(alias.name) and source != module:
                    found.append(f"{path.relative_to(root)}:{node.lineno}: from {source} "
                                 f"import {alias.name}")  # fmt: skip
                imported.add(alias.asname or alias.name)
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Attribute) and _is_private(node.attr)):
            continue
        if node.attr in PUBLIC_BY_CONVENTION:
            continue
        base = node.value
        while isinstance(base, ast.Attribute):
            base = base.value
        if isinstance(base, ast.Name) and base.id in imported:
            found.append(
                f"{path.relative_to(root)}:{node.lineno}: {ast.unparse(node)} "
                f"(of the imported {base.id})"
            )
    return found


def test_the_walk_finds_the_modules():
    names = {name for name, _ in _modules()}
    assert {"questions.views.quiz", "questions.quizzes.engine", "quizsite.urls"} <= names


@pytest.mark.parametrize(
    "source, reaches",
    [
        ("from questions.quizzes.engine import _lock", True),
        ("from questions.quizzes.engine import answer as _answer", False),
        ("from questions.quizzes import engine\nengine._lock()", True),
        ("import questions.quizzes.engine\nquestions.quizzes.engine._lock()", True),
        ("def f():\n    from questions.quizzes import engine\n    return engine._lock", True),
        ("from questions.models import Question\nQuestion._meta.get_field('key')", False),
        ("from questions.models import Question\nQuestion.__name__", False),
        ("def f(question):\n    question._change_reason = 'x'", False),
    ],
)
def test_the_check_tells_reaching_from_not(tmp_path, source, reaches):
    path = tmp_path / "probe.py"
    path.write_text(source, encoding="utf-8")
    found = _reaches("probe", path, root=tmp_path)
    assert bool(found) is reaches, found


def test_no_module_reaches_into_another_modules_private_names():
    found = [line for module, path in _modules() for line in _reaches(module, path)]
    assert not found, "Private names reached from another module:\n" + "\n".join(found)
