"""Hostile requests to the admin that once gave a 500: a NUL in a change list's query
(PostgreSQL refuses NUL in a text parameter), junk version ids in the history pages, a
Moodle file nested thousands of levels deep; and an educator grouping error reports by a
resident outside their cohorts through the reporter filter. Run on SQLite and on
PostgreSQL (DATABASE_URL): the NUL only fails on the latter."""

import logging

import pytest
from django.apps import apps
from django.contrib import admin
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import models
from django.test import Client
from django.urls import reverse
from simple_history.admin import SimpleHistoryAdmin

from questions.models import Cohort, Diagram, ErrorReport, Question
from questions.quizzes import control, engine, starting
from tests.factories import PublishableQuestionFactory, QuestionFactory, UserFactory
from tests.unit.test_hardening_moodle import TOO_DEEP, deepened, moodle_export
from tests.views.test_access import ADMIN_MODELS, DIAGRAM_SVG

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser_client():
    client = Client()
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


def changelist(label: str) -> str:
    return reverse(f"admin:{label.replace('.', '_')}_changelist")


def text_field(label: str) -> str:
    """The model's first text column: a filter on it sends the value to the database as
    text. The id for a model without one (the site setting's booleans)."""
    model = apps.get_model(label)
    for field in model._meta.concrete_fields:
        if isinstance(field, (models.CharField, models.TextField)) and not field.primary_key:
            return field.name
    return "id"


# ---------------------------------------------------------------- a NUL in the query string


@pytest.mark.parametrize("label", sorted(ADMIN_MODELS))
@pytest.mark.parametrize("where", ["value", "key", "search"])
def test_a_nul_in_any_change_lists_query_is_a_400(superuser_client, label, where):
    query = {
        "value": {text_field(label): "a\x00b"},
        "key": {text_field(label) + "\x00": "a"},
        "search": {"q": "\x00"},
    }[where]
    response = superuser_client.get(changelist(label), query)
    assert response.status_code == 400


# The ones the black-box test found, as an educator opens them.
@pytest.mark.parametrize(
    ("label", "query"),
    [
        ("questions.question", {"status": "\x00"}),
        ("questions.question", {"key": "\x00"}),
        ("questions.question", {"stem__contains": "\x00"}),
        ("questions.question", {"q": "\x00"}),
        ("questions.errorreport", {"comment": "\x00"}),
        ("questions.errorreport", {"status__exact": "new", "kind": "typo\x00"}),
    ],
)
def test_the_reported_nul_filters_are_400s(educator_client, label, query):
    QuestionFactory()
    response = educator_client.get(changelist(label), query)
    assert response.status_code == 400


def test_the_same_filters_without_the_nul_still_work(educator_client):
    draft = QuestionFactory(key="scn-draft")
    response = educator_client.get(
        changelist("questions.question"), {"status": "draft", "stem__contains": "iliac"}
    )
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [draft]


def test_a_nul_in_a_query_outside_the_admin_is_a_400_too(client, resident):
    client.force_login(resident)
    assert client.get(reverse("questions:attempt_list"), {"page": "\x00"}).status_code == 400
    assert Client().get(reverse("login"), {"next": "/\x00"}).status_code == 400


def test_the_refused_nul_is_logged_as_a_security_event(educator_client, caplog):
    with caplog.at_level(logging.WARNING, logger="django.security"):
        educator_client.get(changelist("questions.question"), {"status": "\x00"})
    (record,) = [r for r in caplog.records if r.name.startswith("django.security")]
    assert record.name == "django.security.NulInRequest"
    assert "NUL" in record.getMessage()


def test_a_nul_typed_into_a_form_still_gets_the_forms_own_message(educator_client):
    """Forms refuse NUL field by field (Django's ProhibitNullCharactersValidator), which says
    what to fix: a posted NUL is left to them, not answered with a bare 400."""
    response = educator_client.post(
        reverse("admin:questions_question_add"), {"key": "a\x00b", "stem": "x"}
    )
    assert response.status_code == 200
    assert "Null characters are not allowed." in response.content.decode()
    assert not Question.objects.exists()


# ---------------------------------------------------------------- junk ids in history pages

HISTORY_MODELS = sorted(
    model._meta.label_lower
    for model, model_admin in admin.site._registry.items()
    if isinstance(model_admin, SimpleHistoryAdmin)
)
JUNK_IDS = ["abc", "1.5", "-1", "1e3", " 1", "²", "٣", str(2**63), "9" * 30, "0x1"]


@pytest.fixture
def history_objects():
    """One object of each model with history, saved twice (two versions)."""
    question = PublishableQuestionFactory()
    objects = {
        "questions.question": question,
        "questions.reference": question.citations.get().reference,
        "questions.diagram": Diagram.objects.create(
            slug="crest", title="Crest", svg=DIAGRAM_SVG, alt="The crest.", credit="Original"
        ),
    }
    for obj in objects.values():
        obj.save()
    return objects


def test_the_history_tests_cover_every_model_with_history():
    assert HISTORY_MODELS == ["questions.diagram", "questions.question", "questions.reference"]


@pytest.mark.parametrize("label", HISTORY_MODELS)
@pytest.mark.parametrize("junk", JUNK_IDS)
def test_a_junk_version_id_in_a_history_page_is_a_404(
    superuser_client, history_objects, label, junk
):
    obj = history_objects[label]
    prefix = f"/admin/{label.replace('.', '/')}"
    assert superuser_client.get(f"{prefix}/{obj.pk}/history/{junk}/").status_code == 404
    assert superuser_client.get(f"{prefix}/{junk}/history/1/").status_code == 404
    assert superuser_client.get(f"{prefix}/{junk}/history/").status_code == 404


@pytest.mark.parametrize("junk", [str(2**63), "9" * 30])
def test_an_id_past_the_databases_range_in_the_restore_page_is_a_404(
    superuser_client, history_objects, junk
):
    question = history_objects["questions.question"]
    version = question.history.first().history_id
    prefix = "/admin/questions/question"
    for url in (f"{prefix}/{question.pk}/history/{junk}/restore/",
                f"{prefix}/{junk}/history/{version}/restore/"):  # fmt: skip
        assert superuser_client.get(url).status_code == 404


@pytest.mark.parametrize("label", HISTORY_MODELS)
def test_a_real_version_still_opens(superuser_client, history_objects, label):
    obj = history_objects[label]
    version = obj.history.earliest("history_date").history_id
    prefix = f"/admin/{label.replace('.', '/')}"
    assert superuser_client.get(f"{prefix}/{obj.pk}/history/").status_code == 200
    response = superuser_client.get(f"{prefix}/{obj.pk}/history/{version}/", follow=True)
    assert response.status_code == 200


def test_an_action_on_a_superscript_digit_id_is_refused_not_a_500(educator_client):
    """A "²" is a digit to str.isdigit but not to int(): the action's id check raised
    ValueError."""
    question = QuestionFactory()
    response = educator_client.post(
        changelist("questions.question"),
        {"action": "send_to_review", "_selected_action": ["²", str(question.pk)]},
    )
    assert response.status_code == 302
    question.refresh_from_db()
    assert question.status == Question.Status.DRAFT  # it has no choices: refused, not moved


def test_a_superscript_digit_in_a_multiple_select_gets_the_fields_message_not_a_500(
    educator_client,
):
    """The same "²" posted as a topic of a new question: IdChoiceField's id check raised
    ValueError in int()."""
    response = educator_client.post(
        reverse("admin:questions_question_add"), {"stem": "A stem", "topics": ["²"]}
    )
    assert response.status_code == 200
    assert "is not one of the available choices" in response.content.decode()
    assert not Question.objects.exists()


# ---------------------------------------------------------------- deeply nested imports

IMPORT = reverse("admin:questions_question_import")


def xml_upload(text: str) -> SimpleUploadedFile:
    return SimpleUploadedFile("bank.xml", text.encode(), "application/xml")


@pytest.mark.parametrize("depth", [1_000, 5_000])
def test_the_import_page_names_html_nested_too_deep_and_imports_nothing(educator_client, depth):
    response = educator_client.post(
        IMPORT, {"file": xml_upload(deepened(moodle_export("deep-one"), depth))}
    )
    assert response.status_code == 200
    assert TOO_DEEP in response.content.decode()
    assert "token" not in response.context  # nothing staged to confirm
    assert not Question.objects.filter(key="deep-one").exists()


def test_the_import_page_still_imports_a_normal_moodle_file(educator_client):
    checked = educator_client.post(IMPORT, {"file": xml_upload(moodle_export("moodle-one"))})
    assert checked.context["plan"].created == ["moodle-one"]
    educator_client.post(IMPORT, {"token": checked.context["token"], "apply": "1"})
    assert Question.objects.filter(key="moodle-one").exists()


# ---------------------------------------------------------------- the reporter filter


@pytest.fixture
def reports(educator):
    """A report by a resident of the educator's cohort, and two by a resident of another
    educator's cohort."""
    PublishableQuestionFactory.create_batch(3)
    inside, outside = UserFactory(username="inside"), UserFactory(username="outside")
    mine, theirs = Cohort.objects.create(name="Mine"), Cohort.objects.create(name="Theirs")
    mine.educators.add(educator)
    mine.residents.add(inside)
    theirs.educators.add(UserFactory(username="other-educator", is_staff=True))
    theirs.residents.add(outside)
    made = {}
    for user in (inside, outside):
        attempt = starting.start_attempt(user=user, config=starting.QuizConfig(question_count=3))
        attempt = engine.finish_attempt(attempt=attempt)
        made[f"{user.username}_reports"] = [
            ErrorReport.objects.create(
                question_id=item.question_id, attempt_item=item, reporter=user, kind="typo"
            )
            for item in attempt.items.order_by("position")[: 1 if user is inside else 2]
        ]
    return {"inside": inside, "outside": outside, "mine": mine, "theirs": theirs, **made}


REPORTS = changelist("questions.errorreport")


def test_an_educator_filters_reports_by_a_resident_of_their_own_cohort(educator_client, reports):
    response = educator_client.get(REPORTS, {"reporter": reports["inside"].pk})
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == reports["inside_reports"]


def test_an_educator_cannot_filter_reports_by_a_resident_outside_their_cohorts(
    educator_client, reports
):
    response = educator_client.get(REPORTS, {"reporter": reports["outside"].pk})
    assert response.status_code == 400
    assert b"outside" not in response.content


@pytest.mark.parametrize(
    "query",
    [
        {"reporter__id__exact": "{outside}"},
        {"reporter__exact": "{outside}"},
        {"reporter_id": "{outside}"},
        {"reporter__pk": "{outside}"},
        {"reporter__in": "{inside},{outside}"},
        {"reporter__id__in": "{outside}"},
        {"reporter__username": "outside"},
        {"reporter__username__startswith": "out"},
        {"reporter__gte": "{outside}", "reporter__lte": "{outside}"},
        {"reporter__isnull": "false"},
        {"reporter": "987654"},  # no such account: refused alike, so nothing is confirmed
        {"reporter": "abc"},
        {"attempt_item__gte": "0"},
        {"attempt_item": "1"},
        {"attempt_item__attempt__user": "{outside}"},
        {"question__error_reports__reporter": "{outside}"},
    ],
)
def test_no_other_lookup_groups_reports_by_a_resident_outside_the_cohorts(
    educator_client, reports, query
):
    ids = {"inside": reports["inside"].pk, "outside": reports["outside"].pk}
    query = {key: value.format(**ids) for key, value in query.items()}
    assert educator_client.get(REPORTS, query).status_code == 400


@pytest.mark.parametrize(
    "query",
    [
        {"reporter__in": "{inside}"},
        {"reporter__id__exact": "{inside}"},
        {"status__exact": "new"},
        {"kind__exact": "typo"},
        {"question": "{question}"},
    ],
)
def test_the_queues_own_filters_and_the_cohorts_residents_stay_open(
    educator_client, reports, query
):
    ids = {"inside": reports["inside"].pk, "question": reports["outside_reports"][0].question_id}
    query = {key: value.format(**ids) for key, value in query.items()}
    response = educator_client.get(REPORTS, query)
    assert response.status_code == 200
    assert response.context["cl"].result_count >= 1


def test_a_superuser_filters_reports_by_anyone(superuser_client, reports):
    response = superuser_client.get(REPORTS, {"reporter": reports["outside"].pk})
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == list(reversed(reports["outside_reports"]))
    by_name = superuser_client.get(REPORTS, {"reporter__username": "outside"})
    assert by_name.status_code in (200, 400)  # Django's own rule on two-part lookups


@pytest.mark.parametrize(
    ("label", "lookup", "person"),
    [
        ("questions.accommodation", "resident", "outside"),
        ("questions.accommodation", "granted_by", "other"),
        ("questions.cohortlogentry", "actor", "other"),
    ],
)
def test_the_cohort_records_show_no_one_outside_the_cohorts_however_filtered(
    educator_client, reports, label, lookup, person
):
    """These admins (AssignmentGrant's too: the same CohortRecordAdmin) list only the rows
    of the educator's cohorts, so a person filter only narrows what the educator may see."""
    outsider, other = reports["outside"], reports["theirs"].educators.get()
    control.set_accommodation(
        cohort=reports["theirs"], resident=outsider, actor=other, time_setting="x1.5", note="Letter"
    )
    people = {"outside": outsider, "other": other}
    response = educator_client.get(changelist(label), {lookup: people[person].pk})
    assert response.status_code == 200
    assert response.context["cl"].result_count == 0


def test_admin_pages_name_their_icon_so_no_request_for_a_favicon_404s(educator_client):
    """The site's pages say ``rel=icon href=data:,``; the admin's did not, so every admin page
    made the browser ask for /favicon.ico, a 404 in the console and the log."""
    page = educator_client.get(reverse("admin:questions_question_changelist")).content.decode()
    assert '<link rel="icon" href="data:,">' in page
