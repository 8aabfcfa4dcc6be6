"""The browser tests' waits must work under the site's Content Security Policy.

Playwright evaluates a bare expression given to ``wait_for_function`` with ``eval`` on every
poll after the first; ``script-src 'self'`` forbids that, so such a wait passes when its
condition already holds and fails with an EvalError when it has to poll (CI, on
2026-12-04). A function (``"() => ..."``) is compiled once by Playwright and polls freely.
"""

import ast
from pathlib import Path

import pytest

BROWSER_TESTS = Path(__file__).resolve().parents[1] / "browser"


def _bare_expression_waits(source: str) -> list[int]:
    lines = []
    for node in ast.walk(ast.parse(source)):
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "wait_for_function"
            and node.args
        ):
            continue
        first = node.args[0]
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            text = first.value
        elif isinstance(first, ast.JoinedStr):
            head = first.values[0] if first.values else None
            text = head.value if isinstance(head, ast.Constant) else ""
        else:
            continue
        stripped = text.lstrip()
        if not (stripped.startswith("(") or stripped.startswith("function")):
            lines.append(node.lineno)
    return lines


@pytest.mark.parametrize(
    ("source", "flagged"),
    [
        ("page.wait_for_function(\"document.title == 'x'\")", [1]),
        ("page.wait_for_function(f\"document.querySelector('#{n}') !== null\")", [1]),
        ("page.wait_for_function(\"() => document.title == 'x'\")", []),
        ("page.wait_for_function(f\"() => document.querySelector('#{n}')\")", []),
        ('page.wait_for_function("function () { return true }")', []),
    ],
)
def test_the_check_tells_an_expression_from_a_function(source, flagged):
    assert _bare_expression_waits(source) == flagged


def test_every_browser_wait_for_a_condition_is_a_function():
    found = {
        path.name: lines
        for path in sorted(BROWSER_TESTS.glob("*.py"))
        if (lines := _bare_expression_waits(path.read_text()))
    }
    assert found == {}
