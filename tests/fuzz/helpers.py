"""Shared pieces of the property-based tests: strategies for hostile input, a per-example
rollback, the tables a request changed (compared row for row), and the feedback a response
carries.

With hypothesis inside one pytest-django test, the database is not reset between examples:
every example runs inside ``rolled_back()``, a savepoint undone at its end, so each example
starts from the same world (the ``world`` fixture: the module's, each test's writes undone).
"""

from __future__ import annotations

import contextlib
import functools
import re
from dataclasses import dataclass
from typing import Any

from django import forms
from django.apps import apps
from django.conf import settings as django_settings
from django.contrib.admin import helpers as admin_helpers
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages
from django.db import DatabaseError, connection, transaction
from django.test import Client
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from questions.interchange.transfer import ImportPlan

ON_POSTGRES = "postgresql" in django_settings.DATABASES["default"]["ENGINE"]
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


# The share of each test's examples that a Hypothesis profile runs (profiles: tests/conftest.py).
# Any profile not named here, "ci" and "default" included, runs every example.
EXAMPLE_SHARE = {"dev": 0.25}
MIN_EXAMPLES = 3


def fuzz_settings(max_examples: int):
    """``max_examples`` is the count CI runs; the active profile's share of it elsewhere
    (EXAMPLE_SHARE). Examples share the test's world (undone per example by ``rolled_back``);
    no example database is written (nothing outside tests/ is created)."""
    share = EXAMPLE_SHARE.get(settings.get_current_profile_name(), 1)
    if share < 1:
        max_examples = min(max_examples, max(MIN_EXAMPLES, round(max_examples * share)))
    return settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


# --------------------------------------------------------------------------- strategies

# Values that have broken web forms before: blanks, NUL and control characters, numbers
# written every way, markup, bidi and byte-order marks, emoji, very long text.
ODD_TEXTS = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\t\r\n",
    "\x1b[31m",
    "0",
    "-1",
    "1.5",
    "3.0",
    "1e309",
    "NaN",
    "-inf",
    "٣",
    "１",
    "1_0",
    "99999999999999999999",
    str(2**63),
    "9" * 5000,
    "None",
    "null",
    "true",
    "[]",
    "{}",
    "<script>alert(1)</script>",
    "' OR '1'='1",
    "%00",
    "../../etc/passwd",
    "\u202eevil",
    "\ufeff",
    "😀" * 5,
    "x" * 10_000,
]

control_text = st.text(st.characters(max_codepoint=0x1F), max_size=8)
long_text = st.integers(min_value=201, max_value=20_000).map(lambda n: "y" * n)
junk_text = st.one_of(
    st.sampled_from(ODD_TEXTS),
    st.text(max_size=30),
    control_text,
    st.integers().map(str),
    st.floats().map(str),
    long_text,
)
# A list posts the field several times (the view reads the last, or all of them).
junk_value = st.one_of(junk_text, st.lists(junk_text, max_size=3))
no_nul_text = junk_text.filter(lambda s: "\x00" not in s)


# Ids past SQLite's 64-bit integers: ModelMultipleChoiceField's ``pk__in`` query raises
# OverflowError there unless the form checks the range first. PostgreSQL compares them as numeric.
SQLITE_SAFE = 2**63 - 1 if not ON_POSTGRES else 2**200


def fits_sqlite(text: str) -> bool:
    """False for text Python reads as an integer past SQLite's range (see SQLITE_SAFE)."""
    try:
        return abs(int(text)) <= SQLITE_SAFE
    except ValueError:
        return True


def odd_ids(*known: int, overflow: bool = True) -> st.SearchStrategy[str]:
    """Ids as posted: of the world's objects (others' included), and ones no row has."""
    limit = 2**70 if overflow else SQLITE_SAFE
    fixed = ["0", "-1", "abc", "", "1.0", " 1", "1 ", "+1", str(2**31), str(2**63 - 1)]
    if overflow:
        fixed += [str(2**63), str(10**30)]
    return st.one_of(
        st.sampled_from([str(pk) for pk in known] or ["1"]),
        st.sampled_from(fixed),
        st.integers(min_value=-limit, max_value=limit).map(str),
    )


url_ints = st.one_of(
    st.integers(min_value=0, max_value=10),
    st.sampled_from([2**15, 2**31, 2**63, 10**30]),
    st.integers(min_value=0, max_value=2**80),
)


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING = _Missing()  # a field left out of the POST


def post_data(fields: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in fields.items() if value is not MISSING}


def sends_something(data: dict) -> bool:
    """Whether the POST body holds any field at all. An empty POST is its own case: the
    views must still bind the form and name the missing fields."""
    return any(value is not MISSING and value != [] for value in data.values())


def posted(value: Any) -> str | None:
    """What ``request.POST.get`` returns for a value given to the test client."""
    if value is MISSING:
        return None
    if isinstance(value, list):
        return str(value[-1]) if value else None
    return str(value)


def posted_list(value: Any) -> list[str]:
    """What ``request.POST.getlist`` returns."""
    if value is MISSING:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def verdict_field(valid=None, invalid=None, unknown=None) -> st.SearchStrategy:
    """(value, verdict): True when the value is known to be valid, False when known to be
    invalid, None when only the response can tell."""
    options = []
    if valid is not None:
        options.append(valid.map(lambda v: (v, True)))
    if invalid is not None:
        options.append(invalid.map(lambda v: (v, False)))
    if unknown is not None:
        options.append(unknown.map(lambda v: (v, None)))
    return st.one_of(options)


@dataclass(frozen=True)
class Field:
    """How to fill one form field: values known valid, known invalid, and junk (unknown)."""

    valid: st.SearchStrategy
    invalid: st.SearchStrategy | None = None
    unknown: st.SearchStrategy | None = None


@st.composite
def form_cases(draw, fields: dict[str, Field], max_spoiled: int = 3):
    """{name: (value, verdict)}: a valid form with up to ``max_spoiled`` fields spoiled
    (given an invalid or a junk value), so that valid and invalid forms both come up."""
    spoiled = draw(st.sets(st.sampled_from(sorted(fields)), max_size=max_spoiled))
    case = {}
    for name, field in fields.items():
        if name in spoiled and (field.invalid is not None or field.unknown is not None):
            case[name] = draw(verdict_field(invalid=field.invalid, unknown=field.unknown))
        else:
            case[name] = (draw(field.valid), True)
    return case


def values_of(case: dict) -> dict:
    return post_data({name: value for name, (value, _) in case.items()})


def combine(verdicts) -> bool | None:
    verdicts = list(verdicts)
    if False in verdicts:
        return False
    if None in verdicts:
        return None
    return True


# --------------------------------------------------------------------------- database


class _Undo(Exception):
    pass


@contextlib.contextmanager
def rolled_back():
    """Run the body in a savepoint and undo it, whatever happens."""
    try:
        with transaction.atomic():
            yield
            raise _Undo
    except _Undo:
        pass


def _tracked_models():
    user_model = get_user_model()
    models = list(apps.get_app_config("questions").get_models(include_auto_created=True))
    return [*models, user_model, user_model.groups.through, user_model.user_permissions.through]


def _rows(model) -> list[tuple]:
    return list(model._base_manager.order_by("pk").values_list())


def db_state() -> dict[str, list[tuple]]:
    """Every row of every table the site's code writes (sessions and lockout logs aside)."""
    return {model._meta.db_table: _rows(model) for model in _tracked_models()}


def changed_tables(before: dict, after: dict) -> set[str]:
    return {name for name in before if before[name] != after[name]}


# Statements that never change a table's rows. Anything else (INSERT, UPDATE, DELETE,
# REPLACE, an upsert, TRUNCATE, a WITH that may hide a write, DDL, what cannot be parsed)
# may write.
_READ_ONLY = {"select", "savepoint", "release", "rollback", "begin", "commit", "set", "show"}
_READ_ONLY |= {"pragma"}  # SQLite's settings and checks
# The statement's first word, past blanks, comments and opening parentheses.
_FIRST_WORD = re.compile(r"(?:\s|--[^\n]*(?:\n|$)|/\*.*?\*/|\()*([a-z]+)", re.I | re.S)


@functools.cache
def _table_names(vendor: str) -> tuple[dict[str, Any], re.Pattern, re.Pattern]:
    """The tracked tables' models by lower-case name, and patterns finding a tracked table's
    name and any table's name (tracked or not) in a lower-cased statement."""
    tracked = {model._meta.db_table.lower(): model for model in _tracked_models()}
    every = set(tracked) | {name.lower() for name in connection.introspection.table_names()}

    def pattern(names):
        alternatives = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
        return re.compile(rf"(?<![\w$])(?:{alternatives})(?![\w$])")

    return tracked, pattern(tracked), pattern(every)


class WriteWatch:
    """A ``connection.execute_wrapper`` that reads a tracked table just before the first
    statement that may write to it, so that the request's "before" costs nothing for the
    tables it leaves alone (most requests refused write nothing).

    A statement may write to a table when it is not read-only (``_READ_ONLY``) and names
    the table; a statement that may write and names no table the database has (raw SQL
    through a view, say) has every tracked table read first. Rows change only through
    statements, so a table no statement may write to is unchanged: the comparison is the
    one of two whole snapshots, for the tables that can differ."""

    def __init__(self):
        self.tracked, self.tracked_names, self.any_names = _table_names(connection.vendor)
        self.before: dict[str, list[tuple]] = {}
        self._reading = False

    def __call__(self, execute, sql, params, many, context):
        if not self._reading:
            written = self.may_write(sql)
            if written:
                self._read_before(written)
        return execute(sql, params, many, context)

    def may_write(self, sql) -> set[str]:
        text = (sql if isinstance(sql, str) else str(sql)).lower()
        first = _FIRST_WORD.match(text)
        if first and first.group(1) in _READ_ONLY:
            return set()
        named = set(self.tracked_names.findall(text))
        if not named and not self.any_names.search(text):
            return set(self.tracked)  # a write to who knows what: read everything first
        return named

    def _read_before(self, names: set[str]) -> None:
        self._reading = True
        try:
            for name in sorted(names):
                model = self.tracked[name]
                if model._meta.db_table not in self.before:
                    self.before[model._meta.db_table] = _rows(model)
        except DatabaseError:
            # A broken transaction refuses the read as it will refuse the write: the table
            # is unchanged so far, and is read before the next statement that may write.
            pass
        finally:
            self._reading = False

    def after(self) -> dict[str, list[tuple]]:
        return {name: _rows(self.tracked[name.lower()]) for name in self.before}


def table(model) -> str:
    return model._meta.db_table


# --------------------------------------------------------------------------- requests


def client_for(user=None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user, backend=MODEL_BACKEND)
    return client


def messages_of(response) -> list[str]:
    request = getattr(response, "wsgi_request", None)
    return [str(m) for m in get_messages(request)] if request is not None else []


def _form_errors(value) -> list[str]:
    if isinstance(value, admin_helpers.AdminForm):
        value = value.form
    if isinstance(value, admin_helpers.InlineAdminFormSet):
        value = value.formset
    if isinstance(value, forms.BaseForm) and value.is_bound:
        return [f"{name}: {error}" for name, errors in value.errors.items() for error in errors]
    if isinstance(value, forms.BaseFormSet) and value.is_bound:
        out = [str(e) for e in value.non_form_errors()]
        for form in value.forms:
            out += _form_errors(form)
        return out
    if isinstance(value, ImportPlan):
        return list(value.problems)
    return []


def form_errors(response) -> list[str]:
    """Every error a rendered page shows: its forms', formsets' and import plan's."""
    context = response.context
    if context is None:
        return []
    contexts = context if isinstance(context, list) else [context]
    found: list[str] = []
    seen: set[int] = set()
    for ctx in contexts:
        for value in ctx.flatten().values():
            candidates = value if isinstance(value, list | tuple) else [value]
            for candidate in candidates:
                if id(candidate) not in seen:
                    seen.add(id(candidate))
                    found += _form_errors(candidate)
    return found


def field_errors(response, form_name: str = "form") -> dict[str, list[str]]:
    form = response.context[form_name] if response.context is not None else None
    return {k: list(v) for k, v in form.errors.items()} if form is not None else {}


@dataclass
class Outcome:
    response: Any
    before: dict
    after: dict

    @property
    def status(self) -> int:
        return self.response.status_code

    @property
    def changed(self) -> set[str]:
        return changed_tables(self.before, self.after)

    @property
    def feedback(self) -> list[str]:
        return messages_of(self.response) + form_errors(self.response)


def send(client: Client, method: str, url: str, data=None, **extra) -> Outcome:
    """Make the request, each tracked table read before the request's first statement that
    may write to it, and again after (``WriteWatch``)."""
    watch = WriteWatch()
    with connection.execute_wrapper(watch):
        response = getattr(client, method)(url, data if data is not None else {}, **extra)
    return Outcome(response, watch.before, watch.after())


def assert_refused(outcome: Outcome, *, allow_silent_4xx: bool = True) -> None:
    """A refused request: no 500, nothing written, and either a 4xx or words saying why."""
    assert outcome.status < 500, outcome.status
    assert not outcome.changed, f"refused, yet wrote to {sorted(outcome.changed)}"
    if allow_silent_4xx and 400 <= outcome.status < 500:
        return
    assert outcome.feedback, f"refused without a message (status {outcome.status})"


def assert_wrote_only(outcome: Outcome, *models) -> None:
    allowed = {table(m) if not isinstance(m, str) else m for m in models}
    assert outcome.changed <= allowed, f"wrote to {sorted(outcome.changed - allowed)} too"


# --------------------------------------------------------------------------- admin pages


def checkbox(value: Any) -> bool:
    """What Django's CheckboxInput reads from a posted value (the last, for a list)."""
    text = posted(value)
    return text is not None and text.lower() != "false" and text != ""


def shows_errornote(response) -> bool:
    """Whether an admin page shows its "Please correct the error(s) below." note."""
    return b'class="errornote"' in response.content


def admin_error_fields(response) -> set[str]:
    """The names an admin change form marks wrong: its own fields ("__all__" for the form as
    a whole) and, for an inline with any error (a row's or the formset's), the inline's
    prefix ("choices", "citations")."""
    context = response.context
    if context is None:
        return set()
    names: set[str] = set()
    adminform = context.get("adminform")
    if adminform is not None:
        names |= set(adminform.form.errors)
    for inline in context.get("inline_admin_formsets") or []:
        formset = inline.formset
        if formset.non_form_errors() or any(form.errors for form in formset.forms):
            names.add(formset.prefix)
    return names


def assert_admin_refused(outcome: Outcome, names: set[str] | None = None) -> None:
    """A refused admin form: the page again (200) with its error note, nothing written, and
    each of ``names`` (when given) among the fields it marks wrong."""
    assert outcome.status == 200, (outcome.status, outcome.feedback)
    assert_refused(outcome)
    assert shows_errornote(outcome.response), outcome.feedback
    if names:
        marked = admin_error_fields(outcome.response)
        assert names <= marked, (names, marked, outcome.feedback)
