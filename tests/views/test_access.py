"""Who may open which URL: every URL of the site, the admin's included, for every kind of visitor.

Roles: anonymous; the resident who owns the objects in the URL; another resident; an
educator of another cohort; the cohort's educator; a staff user with no permissions; a
superuser. Another person's attempt or report is a 404, never a 403 that confirms it exists;
in the admin, another cohort's object gets the answer a missing one gets (back to the
admin's index). A POST that a role may not make leaves the database as it was.
A test below fails when a URL, or a model in the admin, is added without rows here."""

import datetime
from collections.abc import Callable
from typing import NamedTuple

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.models import Group
from django.contrib.auth.tokens import default_token_generator
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django_tasks_db.models import DBTaskResult

from questions.models import (
    Assignment,
    Attempt,
    Cohort,
    Diagram,
    ErrorReport,
    ExamSimulation,
    Question,
    SiteSetting,
)
from questions.notifications import unsubscribe
from questions.people.roles import EDUCATORS_GROUP
from questions.quizzes import assignments, control, engine, simulation, starting
from tests.factories import PublishableQuestionFactory, TopicFactory, UserFactory

DIAGRAM_SVG = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect/></svg>'

pytestmark = pytest.mark.django_db

ROLES = ("anon", "owner", "other", "educator_other", "educator", "staff", "superuser")
SIGNED_IN = ROLES[1:]
NOT_STAFF = ("anon", "owner", "other")
EDUCATORS = ("educator_other", "educator")
EDITORS = (*EDUCATORS, "superuser")
# Expected outcomes besides a status code: a redirect to that page.
LOGIN, ADMIN_LOGIN = "login", "admin_login"
# The admin's answer for an object that does not exist, and the same for one it hides from
# the user ("doesn't exist. Perhaps it was deleted?"): it confirms nothing.
ADMIN_INDEX = "admin_index"
PASSWORD = "a-long-test-password"  # the factories' password
NEW_PASSWORD = "another-long-password-2026"


def everyone(status):
    return dict.fromkeys(ROLES, status)


def signed_in(status):
    return everyone(status) | {"anon": LOGIN}


def owner_only(status):
    return everyone(404) | {"anon": LOGIN, "owner": status}


def in_the_admin(status, *, not_staff=ADMIN_LOGIN):
    """Staff users get ``status``; anyone else is sent to the admin's login."""
    return everyone(status) | dict.fromkeys(NOT_STAFF, not_staff)


def authors(status):
    return in_the_admin(status) | {"staff": 403}


def superuser_only(status):
    return in_the_admin(403) | {"superuser": status}


AUTHORS = authors(200)
COHORT_PAGE = {
    "anon": LOGIN,
    "owner": 403,
    "other": 403,
    "educator_other": 404,
    "educator": 200,
    "staff": 404,
    "superuser": 200,
}


class Row(NamedTuple):
    name: str
    method: str
    args: Callable[[dict], list]
    expected: dict
    data: Callable[[dict], dict]  # the query string of a GET, the form of a POST
    writes: frozenset  # the roles whose POST changes the database; nobody else's may


def no_args(w):
    return []


def get(name, expected, args=no_args, query=None):
    return Row(name, "get", args, expected, lambda w: query or {}, frozenset())


def post(name, expected, args=no_args, data=lambda w: {}, writes=()):
    return Row(name, "post", args, expected, data, frozenset(writes))


def _local(moment: datetime.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def _new_assignment(w) -> dict:
    return {
        "title": "Week 2", "kind": Assignment.Kind.FIXED, "questions": [w["question"].pk],
        "mode": Attempt.Mode.TUTOR, "opens_at": _local(timezone.now()),
        "due_at": _local(timezone.now() + datetime.timedelta(days=7)),
    }  # fmt: skip


def _reset_link(w) -> list[str]:
    """The owner's password reset link as mailed now (signing in spends an older one)."""
    owner = type(w["owner"]).objects.get(pk=w["owner"].pk)
    return [urlsafe_base64_encode(force_bytes(owner.pk)), default_token_generator.make_token(owner)]


def _question_version(w) -> list[int]:
    return [w["question"].pk, w["question"].history.first().history_id]


def _simulation(owner) -> ExamSimulation:
    """The owner's exam simulation, 2 blocks of 5: the world's 3 practice questions and 7
    more (the assignment's 3 are held back)."""
    PublishableQuestionFactory.create_batch(7)
    return simulation.create_simulation(user=owner, block_count=2, block_size=5, break_seconds=600)


def _autocomplete(model_name: str, field_name: str) -> dict:
    return {"app_label": "questions", "model_name": model_name, "field_name": field_name}


def _notice(w, key: str) -> list[int]:
    """The owner's notification ``key`` (made on first use, before the request)."""
    defaults = {"kind": "assignment_set", "title": "Hi", "url": "/quizzes/",
                "created_at": timezone.now()}  # fmt: skip
    return [w["owner"].notifications.get_or_create(key=key, defaults=defaults)[0].pk]


CONTROLLED = COHORT_PAGE | {"educator": 302, "superuser": 302}


def _edited_assignment(w) -> dict:
    """The assignment as it is now, renamed: its dates as the cohort reads them."""
    assignment = Assignment.objects.get(pk=w["assignment"].pk)
    local = assignment.cohort.tzinfo
    return {"title": "Week 1 renamed", "release": assignment.release,
            "opens_at": f"{assignment.opens_at.astimezone(local):%Y-%m-%dT%H:%M}",
            "due_at": f"{assignment.due_at.astimezone(local):%Y-%m-%dT%H:%M}"}  # fmt: skip


def _admin_assignment(w) -> dict:
    """The assignment's admin form as it is now (dates in the cohort's zone), renamed."""
    assignment = Assignment.objects.get(pk=w["assignment"].pk)
    opens, due = (d.astimezone(assignment.cohort.tzinfo)
                  for d in (assignment.opens_at, assignment.due_at))  # fmt: skip
    return {"title": "Week 1 (admin)", "release": assignment.release,
            "opens_at_0": f"{opens:%Y-%m-%d}", "opens_at_1": f"{opens:%H:%M:%S}",
            "due_at_0": f"{due:%Y-%m-%d}", "due_at_1": f"{due:%H:%M:%S}"}  # fmt: skip


# Rows run in this order, in one world per role: a POST may change what a later row opens.
SITE = [
    get("healthz", everyone(200)),
    get("login", everyone(200)),
    get("questions:home", everyone(200)),
    get("questions:reference_list", everyone(200)),
    get("questions:diagram_svg", everyone(200), lambda w: [w["diagram"].slug]),
    # Signed in already: sent to the dashboard (a second account would replace the session).
    get("questions:signup", everyone(302) | {"anon": 200}),
    get("questions:profile", signed_in(200)),
    get("questions:dashboard", signed_in(200)),
    get("questions:attempt_list", signed_in(200)),
    get("questions:attempt_new", signed_in(200)),
    get("questions:attempt_counts", signed_in(200), query={"pool": "unused", "question_count": 2}),
    get("questions:error_report_list", signed_in(200)),
    get("questions:attempt_detail", owner_only(302), lambda w: [w["finished"].pk]),
    get("questions:attempt_question", owner_only(200), lambda w: [w["open"].pk, 1]),
    get("questions:attempt_results", owner_only(200), lambda w: [w["finished"].pk]),
    # Another's attempt looks like one that does not exist.
    get("questions:attempt_results", signed_in(404), lambda w: [w["nobodys"]]),
    get("questions:attempt_results_all", owner_only(200), lambda w: [w["finished"].pk]),
    get("questions:attempt_result_item", owner_only(200), lambda w: [w["finished"].pk, 1]),
    get("questions:attempt_result_item", signed_in(404), lambda w: [w["nobodys"], 1]),
    # A quiz in progress is not reviewed: its owner is sent to the question.
    get("questions:attempt_result_item", owner_only(302), lambda w: [w["open"].pk, 1]),
    get("questions:note_list", signed_in(200)),
    get("questions:question_preview", AUTHORS, lambda w: [w["question"].pk]),
    get("questions:item_analysis", AUTHORS),
    get("questions:cohort_list", everyone(200) | {"anon": LOGIN, "owner": 403, "other": 403}),
    get("questions:cohort_detail", COHORT_PAGE, lambda w: [w["cohort"].pk]),
    get("questions:cohort_detail", COHORT_PAGE | {"educator": 404, "superuser": 404},
        lambda w: [w["nobodys"]]),
    get("questions:cohort_export", COHORT_PAGE, lambda w: [w["cohort"].pk]),
    get("questions:cohort_resident", COHORT_PAGE, lambda w: [w["cohort"].pk, w["owner"].pk]),
    get("questions:cohort_resident_attempt", COHORT_PAGE,
        lambda w: [w["cohort"].pk, w["owner"].pk, w["finished"].pk]),
    get("questions:assignment_new", COHORT_PAGE, lambda w: [w["cohort"].pk]),
    get("questions:assignment_detail", COHORT_PAGE,
        lambda w: [w["cohort"].pk, w["assignment"].pk]),
    # What changes something is sent by POST only.
    get("questions:attempt_answer", everyone(405), lambda w: [w["open"].pk, 1]),
    get("questions:item_note", everyone(405), lambda w: [w["finished"].pk, 1]),
    get("questions:attempt_finish", everyone(405), lambda w: [w["open"].pk]),
    get("questions:error_report_new", everyone(405), lambda w: [w["finished"].pk, 1]),
    get("questions:item_miss_type", everyone(405), lambda w: [w["finished"].pk, 1]),
    get("questions:flashcards", signed_in(200), lambda w: ["apkg"]),
    get("questions:flashcards", signed_in(200), lambda w: ["csv"]),
    # The start screen: the cohort's residents only (anyone else: as if it did not exist).
    get("questions:assignment_start", owner_only(200), lambda w: [w["assignment"].pk]),
    get("questions:cohort_join", everyone(405)),
    # The answer and the flag before the finish: they need the attempt open.
    post("questions:attempt_answer", owner_only(302), lambda w: [w["open"].pk, 1],
         lambda w: {"letter": "A"}, writes=["owner"]),
    post("questions:attempt_answer", owner_only(302), lambda w: [w["open"].pk, 1],
         lambda w: {"go": "flag"}, writes=["owner"]),
    get("questions:attempt_submit", owner_only(200), lambda w: [w["open"].pk]),
    post("questions:attempt_finish", owner_only(302), lambda w: [w["open"].pk],
         writes=["owner"]),
    post("questions:error_report_new", owner_only(302), lambda w: [w["finished"].pk, 1],
         lambda w: {"kind": ErrorReport.Kind.UNCLEAR, "comment": "Which nerve?"},
         writes=["owner"]),
    post("questions:item_miss_type", owner_only(302), lambda w: [w["finished"].pk, 1],
         lambda w: {"miss_type": "knowledge"}, writes=["owner"]),
    post("questions:item_note", owner_only(302), lambda w: [w["finished"].pk, 1],
         lambda w: {"note": "Check the iliac crest landmarks."}, writes=["owner"]),
    post("questions:assignment_start", owner_only(302), lambda w: [w["assignment"].pk],
         writes=["owner"]),
    # Residents join with the code; staff accounts are told they cannot.
    post("questions:cohort_join", signed_in(302),
         data=lambda w: {"code": w["open_cohort"].join_code}, writes=["owner", "other"]),
    post("questions:attempt_new", signed_in(302),
         data=lambda w: {"question_count": 1, "mode": "timed", "pool": "all"}, writes=SIGNED_IN),
    # Discarding the owner's second practice quiz in progress: asked, then done.
    get("questions:attempt_discard", owner_only(200), lambda w: [w["discardable"].pk]),
    post("questions:attempt_discard", owner_only(302), lambda w: [w["discardable"].pk],
         writes=["owner"]),
    # Exam simulations: the owner's is at block 1's start screen (no break to end yet).
    get("questions:simulation_new", signed_in(200)),
    get("questions:simulation_detail", owner_only(200), lambda w: [w["simulation"].pk]),
    get("questions:simulation_start_block", everyone(405), lambda w: [w["simulation"].pk]),
    get("questions:simulation_end_break", everyone(405), lambda w: [w["simulation"].pk]),
    post("questions:simulation_end_break", owner_only(302), lambda w: [w["simulation"].pk]),
    post("questions:simulation_start_block", owner_only(302), lambda w: [w["simulation"].pk],
         lambda w: {"block": "1"}, writes=["owner"]),
    post("questions:simulation_new", signed_in(302),
         data=lambda w: {"block_count": 2, "block_size": 5, "break_minutes": 10, "pool": "all"},
         writes=SIGNED_IN),
    post("questions:profile", signed_in(302),
         data=lambda w: {"program": "Elsewhere", "training_year": 2, "time_setting": "standard"},
         writes=SIGNED_IN),
    post("questions:assignment_new", COHORT_PAGE | {"educator": 302, "superuser": 302},
         lambda w: [w["cohort"].pk], _new_assignment, writes=["educator", "superuser"]),
    # Controlling an assignment (quizzes.control): the cohort's educators only. Confirmation
    # pages on GET; the POSTs in an order that each can still be done: edit, one resident's
    # extension, an accommodation, release, close, archive, restore.
    *(get(f"questions:assignment_{name}", COHORT_PAGE,
          lambda w: [w["cohort"].pk, w["assignment"].pk])
      for name in ("monitor", "edit", "preview", "close", "release", "archive", "unarchive")),
    get("questions:assignment_resident", COHORT_PAGE,
        lambda w: [w["cohort"].pk, w["assignment"].pk, w["owner"].pk]),
    get("questions:cohort_accommodations", COHORT_PAGE, lambda w: [w["cohort"].pk]),
    post("questions:assignment_edit", CONTROLLED, lambda w: [w["cohort"].pk, w["assignment"].pk],
         _edited_assignment, writes=["educator", "superuser"]),
    post("questions:assignment_resident", CONTROLLED,
         lambda w: [w["cohort"].pk, w["assignment"].pk, w["owner"].pk],
         lambda w: {"grant": "extension", "extra_minutes": "10", "note": "Night float"},
         writes=["educator", "superuser"]),
    post("questions:cohort_accommodations", CONTROLLED, lambda w: [w["cohort"].pk],
         lambda w: {"resident": w["owner"].pk, "time_setting": "x2", "note": "Letter"},
         writes=["educator", "superuser"]),
    *(post(f"questions:assignment_{name}", CONTROLLED,
           lambda w: [w["cohort"].pk, w["assignment"].pk], writes=["educator", "superuser"])
      for name in ("release", "close", "archive", "unarchive")),
    # The bell: one's own notifications only; another's is a 404.
    get("questions:notification_list", signed_in(200)),
    get("questions:notification_read", everyone(405), lambda w: _notice(w, "a")),
    get("questions:notification_open", everyone(405), lambda w: _notice(w, "b")),
    get("questions:notification_read_all", everyone(405)),
    post("questions:notification_open", owner_only(302), lambda w: _notice(w, "a"),
         writes=["owner"]),
    post("questions:notification_read", owner_only(302), lambda w: _notice(w, "b"),
         writes=["owner"]),
    post("questions:notification_read_all", signed_in(302)),  # nothing is left unread
    # Unsubscribing: the signed token is the credential, whoever opens it, signed in or not.
    get("questions:notification_unsubscribe", everyone(200),
        lambda w: [unsubscribe.token_for(w["owner"])]),
    get("questions:notification_unsubscribe", everyone(400), lambda w: ["1:forged"]),
    post("questions:notification_unsubscribe", everyone(400), lambda w: ["1:forged"]),
    post("questions:notification_unsubscribe", everyone(200),
         lambda w: [unsubscribe.token_for(w["owner"])], writes=ROLES),
]  # fmt: skip

AUTH = [
    get("logout", everyone(405)),  # Django 5 logs out on POST only
    post("logout", everyone(302)),
    get("password_change", signed_in(200)),
    post("password_change", signed_in(302),
         data=lambda w: {"old_password": PASSWORD, "new_password1": NEW_PASSWORD,
                         "new_password2": NEW_PASSWORD},
         writes=SIGNED_IN),
    get("password_change_done", signed_in(200)),
    # By e-mail, or a page that says whom to ask: open to everyone either way.
    get("password_reset", everyone(200)),
    get("password_reset_done", everyone(200)),
    # The link's token is the credential, whoever opens it: a good one leads on to the form.
    get("password_reset_confirm", everyone(302), _reset_link),
    get("password_reset_confirm", everyone(200), lambda w: [_reset_link(w)[0], "1-bad"]),
    get("password_reset_complete", everyone(200)),
    # Anyone not signed in may open an account.
    post("questions:signup", everyone(302),
         data=lambda w: {"username": "newcomer", "email": "newcomer@example.org",
                         "password1": NEW_PASSWORD, "password2": NEW_PASSWORD,
                         "program": "Somewhere", "training_year": 1},
         writes=["anon"]),
]  # fmt: skip


class AdminPolicy(NamedTuple):
    """What the admin lets each role do with a model's objects."""

    obj: Callable[[dict], object]  # the world's object its change, delete and history pages open
    educator: str = ""  # what the Educators group may do: "view add change delete"
    scoped: bool = False  # educators see only their own cohorts' objects
    refused: str = ""  # what the admin lets nobody do, a superuser included


# Every model in the admin. Educators author the bank and follow their cohorts; they hold
# no permission on accounts, groups or login records, and delete nothing.
ADMIN_MODELS = {
    "auth.group": AdminPolicy(lambda w: w["educators_group"]),
    "auth.user": AdminPolicy(lambda w: w["owner"]),
    "axes.accessattempt": AdminPolicy(lambda w: w["access_attempt"], refused="add"),
    "axes.accesslog": AdminPolicy(lambda w: w["access_log"], refused="add"),
    "axes.accessfailurelog": AdminPolicy(lambda w: w["access_failure_log"], refused="add"),
    "questions.question": AdminPolicy(lambda w: w["question"], "view add change"),
    "questions.reference": AdminPolicy(lambda w: w["reference"], "view add change"),
    "questions.diagram": AdminPolicy(lambda w: w["diagram"], "view add change"),
    "questions.topic": AdminPolicy(lambda w: w["topic"], "view"),
    # One row, made on first use: never a second, never deleted.
    "questions.sitesetting": AdminPolicy(
        lambda w: w["site_setting"], "view change", refused="add delete"
    ),
    "questions.cohort": AdminPolicy(lambda w: w["cohort"], "view add change", scoped=True),
    # Made on the cohort page only (assignments.create_assignment draws and checks them);
    # its educators change the title, dates and release (through quizzes.control).
    "questions.assignment": AdminPolicy(
        lambda w: w["assignment"], "view change", scoped=True, refused="add"
    ),
    # Made on the cohort pages through quizzes.control, which logs them: read here.
    "questions.accommodation": AdminPolicy(
        lambda w: w["accommodation"], "view", scoped=True, refused="add"
    ),
    "questions.assignmentgrant": AdminPolicy(
        lambda w: w["grant"], "view", scoped=True, refused="add"
    ),
    "questions.cohortlogentry": AdminPolicy(
        lambda w: w["log_entry"], "view", scoped=True, refused="add"
    ),
    # Reports come from residents' review pages only. They are about the bank: every
    # educator sees every report (the reporter is named only to their cohort's educators).
    "questions.errorreport": AdminPolicy(lambda w: w["report"], "view change", refused="add"),
    # The task queue's jobs (django-tasks-db): read-only, for superusers (failed jobs' tracebacks).
    "django_tasks_database.dbtaskresult": AdminPolicy(
        lambda w: DBTaskResult.objects.earliest("enqueued_at"), refused="add delete"
    ),
}

# Each standard page of a model: (the permission it needs, whether it opens one object).
ADMIN_PAGES = {
    "changelist": ("view", False),
    "add": ("add", False),
    "change": ("view", True),
    "delete": ("delete", True),
    "history": ("view", True),
}


def admin_expected(policy: AdminPolicy, page: str) -> dict:
    action, on_object = ADMIN_PAGES[page]

    def outcome(role):
        if role in NOT_STAFF:
            return ADMIN_LOGIN
        if action in policy.refused:
            return 403
        if role == "superuser":
            return 200
        granted = role in EDUCATORS and action in policy.educator.split()
        hidden = on_object and policy.scoped and role != "educator"
        # The history page looks the object up before it checks any permission.
        if hidden and (granted or page == "history"):
            return ADMIN_INDEX
        return 200 if granted else 403

    return {role: outcome(role) for role in ROLES}


def admin_model_rows(label: str, policy: AdminPolicy) -> list[Row]:
    prefix = "admin:" + label.replace(".", "_")
    return [
        get(
            f"{prefix}_{page}",
            admin_expected(policy, page),
            (lambda w: [policy.obj(w).pk]) if on_object else no_args,
        )
        for page, (_, on_object) in ADMIN_PAGES.items()
    ]


def app_index_expected(app_label: str) -> dict:
    """An app's page in the admin is a 404 to whoever may see none of its models."""
    apps_policies = [(label.split(".")[0], policy) for label, policy in ADMIN_MODELS.items()]
    visible = any(policy.educator for app, policy in apps_policies if app == app_label)
    for_educators = 200 if visible else 404
    return in_the_admin(404) | {"superuser": 200} | dict.fromkeys(EDUCATORS, for_educators)


ADMIN = [
    get("admin:index", in_the_admin(200)),
    get("admin:login", everyone(ADMIN_INDEX) | dict.fromkeys(NOT_STAFF, 200)),
    get("admin:logout", in_the_admin(405, not_staff=ADMIN_INDEX)),
    post("admin:logout", in_the_admin(302, not_staff=ADMIN_INDEX)),
    get("admin:password_change", in_the_admin(200)),
    get("admin:password_change_done", in_the_admin(200)),
    get("admin:jsi18n", in_the_admin(200)),
    get("admin:autocomplete", in_the_admin(403)),  # without saying what for
    # Only the cohorts an educator follows (test below).
    get("admin:autocomplete", AUTHORS, query=_autocomplete("assignment", "cohort")),
    # Accounts, only for whoever may view them.
    get("admin:autocomplete", superuser_only(200), query=_autocomplete("errorreport", "reporter")),
    get("admin:view_on_site", in_the_admin(404),  # no model here has a page on the site
        lambda w: [ContentType.objects.get_for_model(Question).pk, w["question"].pk]),
    *(
        get("admin:app_list", app_index_expected(app_label), lambda w, a=app_label: [a])
        for app_label in sorted({label.split(".")[0] for label in ADMIN_MODELS})
    ),
    *(row for label, policy in ADMIN_MODELS.items() for row in admin_model_rows(label, policy)),
    # The project's own admin pages (QuestionAdmin.get_urls), and simple-history's.
    get("admin:questions_question_import", AUTHORS),
    post("admin:questions_question_import", AUTHORS),  # no file: the form again, nothing saved
    get("admin:questions_question_restore", AUTHORS, _question_version),
    # A question's version page leads to the restore page, which checks the permission.
    get("admin:questions_question_simple_history", in_the_admin(302), _question_version),
    get("admin:questions_reference_simple_history", AUTHORS,
        lambda w: [w["reference"].pk, w["reference"].history.first().history_id]),
    get("admin:questions_diagram_simple_history", AUTHORS,
        lambda w: [w["diagram"].pk, w["diagram"].history.first().history_id]),
    get("admin:auth_user_password_change", superuser_only(200), lambda w: [w["owner"].pk]),
]  # fmt: skip

# Changes made in the admin: after the pages above, deletions last of all.
ADMIN_WRITES = [
    post("admin:questions_question_restore", authors(302), _question_version, writes=EDITORS),
    post("admin:questions_cohort_add", authors(302),
         data=lambda w: {"name": "Delta", "program": "", "description": "",
                         "join_code": "DELTA234", "time_zone": "America/Chicago"},
         writes=EDITORS),
    # Another cohort's is missing to an educator, as on the cohort pages.
    post("admin:questions_cohort_change", authors(302) | {"educator_other": ADMIN_INDEX},
         lambda w: [w["cohort"].pk],
         lambda w: {"name": "Alpha renamed", "program": "", "description": "",
                    "educators": [w["educator"].pk], "join_code": w["cohort"].join_code,
                    "time_zone": "America/New_York",
                    "residents": [w["owner"].pk]},
         writes=["educator", "superuser"]),
    post("admin:questions_errorreport_change", authors(302), lambda w: [w["report"].pk],
         lambda w: {"status": ErrorReport.Status.ACCEPTED, "reply": "Thank you."},
         writes=EDITORS),
    post("admin:questions_errorreport_changelist", authors(302),
         data=lambda w: {"action": "mark_fixed", "_selected_action": [w["report"].pk]},
         writes=EDITORS),
    # Nobody but a superuser sets a password or makes someone staff.
    post("admin:auth_user_password_change", superuser_only(302), lambda w: [w["owner"].pk],
         lambda w: {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD,
                    "usable_password": "true"},
         writes=["superuser"]),
    post("admin:auth_user_change", superuser_only(302), lambda w: [w["other"].pk],
         lambda w: {"username": "other", "is_active": "on", "is_staff": "on",
                    "is_superuser": "on", "date_joined_0": "2026-01-05",
                    "date_joined_1": "09:00:00"},
         writes=["superuser"]),
    # Another cohort's is missing to an educator; dates as the cohort reads them.
    post("admin:questions_assignment_change", authors(302) | {"educator_other": ADMIN_INDEX},
         lambda w: [w["assignment"].pk], _admin_assignment, writes=["educator", "superuser"]),
    post("admin:questions_assignment_delete", superuser_only(302),
         lambda w: [w["assignment"].pk], lambda w: {"post": "yes"}, writes=["superuser"]),
    post("admin:questions_cohort_delete", superuser_only(302),
         lambda w: [w["cohort"].pk], lambda w: {"post": "yes"}, writes=["superuser"]),
]  # fmt: skip

MATRIX = [*SITE, *AUTH, *ADMIN, *ADMIN_WRITES]


@pytest.fixture
def world():
    questions = PublishableQuestionFactory.create_batch(3)  # the assignment's
    PublishableQuestionFactory.create_batch(3)  # for practice: the assignment holds its back
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
    assignment = assignments.create_assignment(
        cohort=cohort,
        created_by=educator,
        title="Week 1",
        kind=Assignment.Kind.FIXED,
        mode=Attempt.Mode.TIMED,
        opens_at=now - datetime.timedelta(days=1),
        due_at=now + datetime.timedelta(days=1),
        questions=questions,
    )
    config = starting.QuizConfig(question_count=3)
    finished = engine.finish_attempt(attempt=starting.start_attempt(user=owner, config=config))
    reported = finished.items.get(position=1)
    report = ErrorReport.objects.create(
        question_id=reported.question_id,
        attempt_item=reported,
        reporter=owner,
        kind=ErrorReport.Kind.TYPO,
        comment="A typo.",
    )
    login_record = {"username": "owner", "ip_address": "127.0.0.1", "user_agent": "test",
                    "http_accept": "*/*", "path_info": "/accounts/login/"}  # fmt: skip
    return {
        "owner": owner,
        "other": other,
        "educator": educator,
        "educator_other": educator_other,
        "staff": UserFactory(username="staff", is_staff=True),
        "superuser": UserFactory(username="root", is_staff=True, is_superuser=True),
        "educators_group": educators,
        "cohort": cohort,
        "open_cohort": Cohort.objects.create(name="Gamma"),  # residents join it in the matrix
        "assignment": assignment,
        "question": questions[0],
        "reference": questions[0].citations.get().reference,
        "diagram": Diagram.objects.create(
            slug="crest", title="Crest", svg=DIAGRAM_SVG, alt="The crest.", credit="Original"
        ),
        "topic": TopicFactory(),
        "site_setting": SiteSetting.current(),
        "finished": finished,
        "open": starting.start_attempt(user=owner, config=config),
        "discardable": starting.start_attempt(user=owner, config=config),
        "report": report,
        "access_attempt": AccessAttempt.objects.create(
            **login_record, get_data="", post_data="", failures_since_start=1
        ),
        "access_log": AccessLog.objects.create(**login_record),
        "access_failure_log": AccessFailureLog.objects.create(**login_record),
        "nobodys": 2**31 - 1,  # an id no object has
        "simulation": _simulation(owner),
        # The educators' grants, each logged (control): read-only in the admin.
        "accommodation": control.set_accommodation(
            cohort=cohort, resident=owner, actor=educator, time_setting="x1.5", note="Letter"
        ),
        "grant": control.grant_extension(
            assignment=assignment, resident=owner, actor=educator, extra_minutes=5
        ),
        "log_entry": cohort.log_entries.earliest("at"),
    }


def outcome(response) -> object:
    if response.status_code == 302:
        if response.url.startswith(reverse("admin:login")):
            return ADMIN_LOGIN
        if response.url == reverse("admin:index"):
            return ADMIN_INDEX
        if response.url.startswith(reverse("login")):
            return LOGIN
    return response.status_code


# Not the site's data: sessions, login records, content types.
UNTRACKED_APPS = {"sessions", "axes", "contenttypes"}


def database_rows() -> dict:
    """Every row of the site's data, to compare before and after a request."""
    return {
        model._meta.label: list(model._base_manager.order_by("pk").values_list())
        for model in apps.get_models(include_auto_created=True)
        if model._meta.app_label not in UNTRACKED_APPS
    }


def visit(world, role) -> Client:
    client = Client()
    if role != "anon":
        world[role].refresh_from_db()  # as the user is now: a row may change the password
        client.force_login(world[role])
    return client


# Responses that are the same for everyone (versioned, cached on purpose). Every other page a
# signed-in user gets carries Cache-Control: no-store: it shows their data, or a key.
SHARED_CACHE_OK = {"questions:diagram_svg", "admin:jsi18n"}


@pytest.mark.parametrize("role", ROLES)
def test_every_url_gives_each_role_exactly_what_it_should(world, role):
    wrong = []
    client = visit(world, role)
    for row in MATRIX:
        url = reverse(row.name, args=row.args(world))
        before = database_rows() if row.method == "post" else None
        response = getattr(client, row.method)(url, row.data(world))
        if outcome(response) != row.expected[role]:
            wrong.append(
                f"{row.method.upper()} {url}: {outcome(response)}, expected {row.expected[role]}"
            )
        if (
            role != "anon"
            and response.status_code == 200
            and row.name not in SHARED_CACHE_OK
            and "no-store" not in response.get("Cache-Control", "")
        ):
            wrong.append(f"{row.method.upper()} {url}: may be stored by a browser or a proxy")
        if before is not None and (database_rows() != before) != (role in row.writes):
            said = "changed the database" if role not in row.writes else "changed nothing"
            wrong.append(f"POST {url} {said}")
        if settings.SESSION_COOKIE_NAME in response.cookies:
            # Logged out, signed in as someone else, or a new session: visit again.
            client = visit(world, role)
    assert not wrong, "\n".join(wrong)


def _names(resolver, namespace=""):
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            yield from _names(
                entry, f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            )
        elif isinstance(entry, URLPattern) and entry.name:
            yield namespace + entry.name


def test_the_matrix_covers_every_url_of_the_site():
    covered = {row.name for row in MATRIX}
    missing = set(_names(get_resolver())) - covered
    assert not missing, f"add these URLs to the access matrix: {sorted(missing)}"


def test_the_matrix_has_a_policy_for_every_model_in_the_admin():
    registered = {model._meta.label_lower for model in admin.site._registry}
    assert registered == set(ADMIN_MODELS), (
        f"add these models to ADMIN_MODELS: {sorted(registered - set(ADMIN_MODELS))}; "
        f"no longer in the admin: {sorted(set(ADMIN_MODELS) - registered)}"
    )


@pytest.mark.parametrize(
    ("role", "cohort_names", "assignment_titles"),
    [
        ("educator", ["Alpha"], ["Week 1"]),
        ("educator_other", ["Beta"], []),
        ("superuser", ["Alpha", "Beta", "Gamma"], ["Week 1"]),
    ],
)
def test_the_admin_autocomplete_offers_only_the_cohorts_an_educator_follows(
    world, role, cohort_names, assignment_titles
):
    client = Client()
    client.force_login(world[role])

    def offered(model_name, field_name):
        query = _autocomplete(model_name, field_name) | {"term": ""}
        response = client.get(reverse("admin:autocomplete"), query)
        return sorted(result["text"] for result in response.json()["results"])

    assert offered("assignment", "cohort") == cohort_names
    assert offered("attempt", "assignment") == assignment_titles


# Until the first sign-up page made the row, any staff user could create it (fixed: the
# admin's add permission now needs the permission too, not only "no row yet").
@pytest.mark.parametrize("role", ["educator", "staff"])
def test_the_site_settings_are_created_only_with_the_add_permission(world, role):
    SiteSetting.objects.all().delete()
    client = Client()
    client.force_login(world[role])

    response = client.post(reverse("admin:questions_sitesetting_add"), {"is_signup_open": ""})

    assert response.status_code == 403
    assert not SiteSetting.objects.exists()
