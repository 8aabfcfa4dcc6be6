"""The browser tests' waits must work under the site's Content Security Policy.

Playwright evaluates a bare expression given to ``wait_for_function`` with ``eval`` on every
poll after the first; ``script-src 'self'`` forbids that, so such a wait passes when its
condition already holds and fails with an EvalError when it has to poll (CI, on
2026-12-04). A function (``"() => ..."``) is compiled once by Playwright and polls freely.
"""

import ast
import re
from pathlib import Path

import pytest

BROWSER_TESTS = Path(__file__).resolve().parents[1] / "browser"
# What Playwright takes for a function: `function`, `(a, b) =>`, `x =>`, any of them async.
A_FUNCTION = re.compile(r"\s*(async\s+)?(function\b|\([^()]*\)\s*=>|[A-Za-z_$][\w$]*\s*=>)")


def _bare_expression_waits(source: str) -> list[int]:
    lines = []
    for node in ast.walk(ast.parse(source)):
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "wait_for_function"
        ):
            continue
        given = node.args[:1] + [k.value for k in node.keywords if k.arg == "expression"]
        if not given:
            continue
        first = given[0]
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            text = first.value
        elif isinstance(first, ast.JoinedStr):
            head = first.values[0] if first.values else None
            text = head.value if isinstance(head, ast.Constant) else ""
        else:
            continue
        if not A_FUNCTION.match(text):
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
        ("page.wait_for_function(\"(document.title == 'x')\")", [1]),  # bracketed, not called
        ("page.wait_for_function(expression=\"document.title == 'x'\")", [1]),
        ('page.wait_for_function("async () => true")', []),
        ('page.wait_for_function("el => el !== null")', []),
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
