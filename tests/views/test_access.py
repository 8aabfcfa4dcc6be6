"""Who may open which URL: every URL of the site, for every kind of visitor.

Roles: anonymous; the resident who owns the objects in the URL; another resident; an
educator of another cohort; the cohort's educator; a staff user with no permissions; a
superuser. Another person's attempt or report is a 404, never a 403 that confirms it exists.
A test below fails when a URL is added without a row here."""

import datetime

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from questions import cohorts, engine
from questions.accounts import EDUCATORS_GROUP
from questions.models import Assignment, Attempt, Cohort, ErrorReport
from tests.factories import PublishableQuestionFactory, UserFactory

pytestmark = pytest.mark.django_db

ROLES = ("anon", "owner", "other", "educator_other", "educator", "staff", "superuser")
LOGIN, ADMIN_LOGIN = "login", "admin_login"  # expected: a redirect to that login page


def everyone(status):
    return dict.fromkeys(ROLES, status)


def signed_in(status):
    return everyone(status) | {"anon": LOGIN}


def owner_only(status):
    return everyone(404) | {"anon": LOGIN, "owner": status}


AUTHORS = everyone(200) | {
    "anon": ADMIN_LOGIN,
    "owner": ADMIN_LOGIN,
    "other": ADMIN_LOGIN,
    "staff": 403,
}
COHORT_PAGE = {
    "anon": LOGIN,
    "owner": 403,
    "other": 403,
    "educator_other": 404,
    "educator": 200,
    "staff": 404,
    "superuser": 200,
}

# (url name, method, args from the world, expected status per role)
MATRIX = [
    ("healthz", "get", lambda w: [], everyone(200)),
    ("login", "get", lambda w: [], everyone(200)),
    ("questions:home", "get", lambda w: [], everyone(200)),
    ("questions:reference_list", "get", lambda w: [], everyone(200)),
    ("questions:signup", "get", lambda w: [], everyone(200)),
    ("questions:profile", "get", lambda w: [], signed_in(200)),
    ("questions:dashboard", "get", lambda w: [], signed_in(200)),
    ("questions:attempt_list", "get", lambda w: [], signed_in(200)),
    ("questions:attempt_new", "get", lambda w: [], signed_in(200)),
    ("questions:report_list", "get", lambda w: [], signed_in(200)),
    ("questions:cohort_join", "post", lambda w: [], signed_in(302)),
    ("questions:attempt_detail", "get", lambda w: [w["finished"].pk], owner_only(302)),
    ("questions:attempt_question", "get", lambda w: [w["open"].pk, 1], owner_only(200)),
    ("questions:attempt_answer", "post", lambda w: [w["open"].pk, 1], owner_only(302)),
    ("questions:attempt_flag", "post", lambda w: [w["open"].pk, 1], owner_only(302)),
    ("questions:attempt_finish", "post", lambda w: [w["open"].pk], owner_only(302)),
    ("questions:attempt_results", "get", lambda w: [w["finished"].pk], owner_only(200)),
    ("questions:item_report", "post", lambda w: [w["finished"].pk, 1], owner_only(302)),
    ("questions:assignment_start", "post", lambda w: [w["assignment"].pk], owner_only(302)),
    ("questions:question_preview", "get", lambda w: [w["question"].pk], AUTHORS),
    ("questions:item_analysis", "get", lambda w: [], AUTHORS),
    (
        "questions:cohort_list",
        "get",
        lambda w: [],
        everyone(200) | {"anon": LOGIN, "owner": 403, "other": 403},
    ),
    ("questions:cohort_detail", "get", lambda w: [w["cohort"].pk], COHORT_PAGE),
    ("questions:cohort_export", "get", lambda w: [w["cohort"].pk], COHORT_PAGE),
    ("questions:cohort_resident", "get", lambda w: [w["cohort"].pk, w["owner"].pk], COHORT_PAGE),
    (
        "questions:cohort_resident_attempt",
        "get",
        lambda w: [w["cohort"].pk, w["owner"].pk, w["finished"].pk],
        COHORT_PAGE,
    ),
    ("questions:assignment_new", "get", lambda w: [w["cohort"].pk], COHORT_PAGE),
    (
        "questions:assignment_detail",
        "get",
        lambda w: [w["cohort"].pk, w["assignment"].pk],
        COHORT_PAGE,
    ),
    ("admin:questions_question_changelist", "get", lambda w: [], AUTHORS),
    ("admin:questions_question_change", "get", lambda w: [w["question"].pk], AUTHORS),
    ("admin:questions_question_history", "get", lambda w: [w["question"].pk], AUTHORS),
    (
        "admin:questions_question_restore",
        "get",
        lambda w: [w["question"].pk, w["question"].history.first().history_id],
        AUTHORS,
    ),
    ("admin:questions_question_import", "get", lambda w: [], AUTHORS),
    ("admin:questions_errorreport_changelist", "get", lambda w: [], AUTHORS),
    ("admin:questions_errorreport_change", "get", lambda w: [w["report"].pk], AUTHORS),
]


@pytest.fixture
def world():
    questions = PublishableQuestionFactory.create_batch(3)
    owner, other = UserFactory(username="owner"), UserFactory(username="other")
    educators = Group.objects.get(name=EDUCATORS_GROUP)
    educator = UserFactory(username="educator", is_staff=True)
    educator_other = UserFactory(username="educator-other", is_staff=True)
    educator.groups.add(educators)
    educator_other.groups.add(educators)
    cohort = Cohort.objects.create(name="Alpha")
    cohort.residents.add(owner)
    cohort.educators.add(educator)
    Cohort.objects.create(name="Beta").educators.add(educator_other)
    now = timezone.now()
    assignment = cohorts.create_assignment(
        cohort=cohort,
        created_by=educator,
        title="Week 1",
        kind=Assignment.Kind.FIXED,
        mode=Attempt.Mode.TIMED,
        opens_at=now - datetime.timedelta(days=1),
        due_at=now + datetime.timedelta(days=1),
        questions=questions,
    )
    config = engine.QuizConfig(question_count=3)
    finished = engine.finish_attempt(attempt=engine.start_attempt(user=owner, config=config))
    report = ErrorReport.objects.create(
        question=questions[0],
        attempt_item=finished.items.get(position=1),
        reporter=owner,
        kind="typo",
        comment="A typo.",
    )
    return {
        "owner": owner,
        "other": other,
        "educator": educator,
        "educator_other": educator_other,
        "staff": UserFactory(username="staff", is_staff=True),
        "superuser": UserFactory(username="root", is_staff=True, is_superuser=True),
        "cohort": cohort,
        "assignment": assignment,
        "question": questions[0],
        "finished": finished,
        "open": engine.start_attempt(user=owner, config=config),
        "report": report,
    }


def outcome(response) -> object:
    if response.status_code == 302:
        if response.url.startswith(reverse("admin:login")):
            return ADMIN_LOGIN
        if response.url.startswith(reverse("login")):
            return LOGIN
    return response.status_code


@pytest.mark.parametrize("role", ROLES)
def test_every_url_gives_each_role_exactly_what_it_should(world, role):
    client = Client()
    if role != "anon":
        client.force_login(world[role])
    wrong = []
    for name, method, args, expected in MATRIX:
        url = reverse(name, args=args(world))
        data = {"letter": "A", "kind": "typo", "comment": "x", "code": "NOPE"}
        response = getattr(client, method)(url, data) if method == "post" else client.get(url)
        if outcome(response) != expected[role]:
            wrong.append(f"{method.upper()} {url}: {outcome(response)}, expected {expected[role]}")
    assert not wrong, "\n".join(wrong)


def _names(resolver, namespace=""):
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            if entry.namespace == "admin":
                continue  # the admin's own pages are its business; ours are listed above
            yield from _names(
                entry, f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            )
        elif isinstance(entry, URLPattern) and entry.name:
            yield namespace + entry.name


def test_the_matrix_covers_every_url_of_the_site():
    auth_only = {
        "logout", "password_change", "password_change_done", "password_reset",
        "password_reset_done", "password_reset_confirm", "password_reset_complete",
    }  # fmt: skip
    covered = {name for name, *_ in MATRIX}
    missing = set(_names(get_resolver())) - covered - auth_only
    assert not missing, f"add these URLs to the access matrix: {sorted(missing)}"
