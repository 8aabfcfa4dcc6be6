"""Residents' error reports: sending one from a review, seeing what became of it, and the
educators' queue in the admin."""

import pytest
from django.urls import reverse

from questions.models import Attempt, ErrorReport
from questions.quizzes import engine, starting
from tests.factories import PublishableQuestionFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def finished(resident):
    PublishableQuestionFactory.create_batch(3)
    attempt = starting.start_attempt(user=resident, config=starting.QuizConfig(question_count=3))
    return engine.finish_attempt(attempt=attempt)


def report_url(attempt, position=1):
    return reverse("questions:error_report_new", args=[attempt.pk, position])


def test_results_offer_a_report_form_and_a_report_is_recorded(client, resident, finished):
    client.force_login(resident)
    first_result = reverse("questions:attempt_result_item", args=[finished.pk, 1])
    assert report_url(finished) in client.get(first_result).content.decode()

    response = client.post(
        report_url(finished), {"kind": "wrong_key", "comment": "B is also defensible."}
    )

    report = ErrorReport.objects.get()
    item = finished.items.get(position=1)
    assert response.status_code == 302
    # Back to the question's result page, where the form was (a block's too, not its simulation).
    assert response.url == reverse("questions:attempt_result_item", args=[finished.pk, 1])
    assert (report.question_id, report.attempt_item, report.reporter) == (
        item.question_id,
        item,
        resident,
    )
    assert report.status == "new"
    again = client.get(first_result).content.decode()
    assert "You reported this question (the marked answer is wrong): <strong>New" in again


def test_a_second_identical_open_report_is_refused(client, resident, finished):
    client.force_login(resident)
    data = {"kind": "typo", "comment": "Spelling of gluteus."}
    client.post(report_url(finished), data)
    response = client.post(report_url(finished), data, follow=True)
    assert "already reported this" in response.content.decode()
    assert ErrorReport.objects.count() == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"kind": "typo", "comment": "   "}, "This field cannot be blank"),
        ({"kind": "nonsense", "comment": "x"}, "is not a valid choice"),
    ],
)
def test_bad_reports_get_a_message_and_nothing_is_saved(client, resident, finished, data, message):
    client.force_login(resident)
    response = client.post(report_url(finished), data, follow=True)
    assert message in response.content.decode()
    assert not ErrorReport.objects.exists()


def test_no_report_before_the_answer_is_final(client, resident):
    PublishableQuestionFactory.create_batch(3)
    attempt = starting.start_attempt(user=resident, config=starting.QuizConfig(question_count=3))
    client.force_login(resident)
    response = client.post(report_url(attempt), {"kind": "typo", "comment": "x"}, follow=True)
    assert "once your answer is final" in response.content.decode()
    assert not ErrorReport.objects.exists()


def test_tutor_review_offers_the_report_form_once_answered(client, resident):
    PublishableQuestionFactory.create_batch(2)
    attempt = starting.start_attempt(
        user=resident, config=starting.QuizConfig(question_count=2, mode=Attempt.Mode.TUTOR)
    )
    item = attempt.items.get(position=1)
    client.force_login(resident)
    url = reverse("questions:attempt_question", args=[attempt.pk, 1])
    assert report_url(attempt) not in client.get(url).content.decode()
    engine.answer(attempt=attempt, position=1, letter=item.shown["choices"][0]["letter"])
    assert report_url(attempt) in client.get(url).content.decode()


def test_nobody_reports_from_another_residents_quiz(client, finished):
    client.force_login(UserFactory())
    assert client.post(report_url(finished), {"kind": "typo", "comment": "x"}).status_code == 404


def test_the_resident_sees_the_decision_and_reply(client, resident, finished):
    item = finished.items.get(position=1)
    ErrorReport.objects.create(
        question_id=item.question_id,
        attempt_item=item,
        reporter=resident,
        kind="reference",
        comment="The 2008 paper was superseded.",
        status="fixed",
        reply="Updated to the 2022 review. Thank you.",
    )
    ErrorReport.objects.create(
        question_id=item.question_id, reporter=UserFactory(), kind="typo", comment="Not mine"
    )
    client.force_login(resident)
    page = client.get(reverse("questions:error_report_list")).content.decode()
    assert "Updated to the 2022 review. Thank you." in page
    assert "Fixed" in page
    assert "Not mine" not in page


def test_educators_work_the_queue_in_the_admin(educator_client, educator, resident, finished):
    item = finished.items.get(position=1)
    report = ErrorReport.objects.create(
        question_id=item.question_id,
        attempt_item=item,
        reporter=resident,
        kind="unclear",
        comment="Which side?",
    )
    changelist = reverse("admin:questions_errorreport_changelist")

    queue = educator_client.get(changelist, {"status__exact": "new"})
    assert list(queue.context["cl"].result_list) == [report]
    assert reverse("admin:questions_question_change", args=[item.question_id]) in (
        queue.content.decode()
    )

    educator_client.post(changelist, {"action": "mark_accepted", "_selected_action": [report.pk]})
    report.refresh_from_db()
    assert (report.status, report.handled_by) == ("accepted", educator)

    change = reverse("admin:questions_errorreport_change", args=[report.pk])
    educator_client.post(change, {"status": "fixed", "reply": "Reworded: left side."})
    report.refresh_from_db()
    assert (report.status, report.reply) == ("fixed", "Reworded: left side.")


def test_reopening_a_report_when_a_newer_one_is_open_is_refused_with_a_message(
    educator_client, resident, finished
):
    item = finished.items.get(position=1)
    old = ErrorReport.objects.create(
        question_id=item.question_id, reporter=resident, kind="typo", comment="1", status="fixed"
    )
    ErrorReport.objects.create(
        question_id=item.question_id, reporter=resident, kind="typo", comment="2"
    )
    response = educator_client.post(
        reverse("admin:questions_errorreport_change", args=[old.pk]), {"status": "new", "reply": ""}
    )
    assert response.status_code == 200
    assert "newer open report" in response.content.decode()
    old.refresh_from_db()
    assert old.status == "fixed"


def test_the_reporter_is_named_only_to_the_educators_of_their_cohort(
    client, educator_client, educator, resident, finished
):
    """Every educator works the queue (the bank is shared), but who reported, and their
    answer, is a resident's result: named only to that resident's cohort educators."""
    from django.contrib.auth.models import User

    from questions.models import Cohort

    item = finished.items.get(position=1)
    report = ErrorReport.objects.create(
        question_id=item.question_id, attempt_item=item, reporter=resident, kind="typo"
    )
    changelist = reverse("admin:questions_errorreport_changelist")
    change = reverse("admin:questions_errorreport_change", args=[report.pk])
    hidden = "a resident outside your cohorts"

    for url in (changelist, change):
        page = educator_client.get(url).content.decode()
        assert hidden in page and resident.username not in page
    found = educator_client.get(changelist, {"q": resident.username})
    assert list(found.context["cl"].result_list) == []

    cohort = Cohort.objects.create(name="PGY-2")
    cohort.educators.add(educator)
    cohort.residents.add(resident)
    for url in (changelist, change):
        page = educator_client.get(url).content.decode()
        assert resident.username in page and hidden not in page

    client.force_login(User.objects.create_superuser("root", "root@example.org", "x"))
    assert resident.username in client.get(change).content.decode()


def test_only_educators_can_be_made_a_cohorts_educators(educator_client, educator):
    from questions.models import Cohort

    plain_staff = UserFactory(username="plainstaff", is_staff=True)
    cohort = Cohort.objects.create(name="Mine")
    cohort.educators.add(educator)
    form = educator_client.get(reverse("admin:questions_cohort_change", args=[cohort.pk]))
    offered = form.context["adminform"].form.fields["educators"].queryset
    assert educator in offered and plain_staff not in offered
    educator_client.post(
        reverse("admin:questions_cohort_change", args=[cohort.pk]),
        {"name": "Mine", "program": "", "description": "",
         "educators": [educator.pk, plain_staff.pk]},
    )  # fmt: skip
    assert list(cohort.educators.all()) == [educator]
