"""Educators' decisions on error reports (quizzes.error_reports): one report with its reply,
or many at once, recording who decided and when."""

import datetime

import pytest
from django.core.exceptions import ValidationError

from questions.models import ErrorReport
from questions.quizzes import error_reports
from tests.factories import PublishableQuestionFactory, UserFactory

pytestmark = pytest.mark.django_db

Status = ErrorReport.Status
T0 = datetime.datetime(2026, 11, 1, 9, tzinfo=datetime.UTC)
NOW = datetime.datetime(2026, 11, 22, 10, tzinfo=datetime.UTC)


def make_report(reporter, *, question=None, kind=ErrorReport.Kind.TYPO, status=Status.NEW):
    report = ErrorReport.objects.create(
        question=question or PublishableQuestionFactory(),
        reporter=reporter,
        kind=kind,
        comment="Spelling of gluteus.",
        status=status,
    )
    # As if reported a while ago, so that a decision's time can be told from it.
    ErrorReport.objects.filter(pk=report.pk).update(updated_at=T0)
    report.refresh_from_db()
    return report


def stored(report):
    return ErrorReport.objects.select_related("handled_by").get(pk=report.pk)


@pytest.fixture
def report(resident):
    return make_report(resident)


@pytest.mark.parametrize("status", [Status.ACCEPTED, Status.REJECTED, Status.FIXED])
def test_deciding_a_report_records_the_decision_its_reply_and_who_and_when(
    report, educator, status
):
    error_reports.decide_report(report=report, status=status, reply="Thank you.", by=educator)

    saved = stored(report)
    assert (saved.status, saved.reply, saved.handled_by) == (status, "Thank you.", educator)
    assert saved.updated_at > T0


def test_a_later_decision_replaces_the_earlier_one_and_its_decider(report, educator):
    error_reports.decide_report(report=report, status=Status.ACCEPTED, reply="Fixing.", by=educator)
    colleague = UserFactory(is_staff=True)

    error_reports.decide_report(report=report, status=Status.FIXED, reply="Fixed.", by=colleague)

    saved = stored(report)
    assert (saved.status, saved.reply, saved.handled_by) == (Status.FIXED, "Fixed.", colleague)


def test_a_status_that_is_not_one_is_refused_and_nothing_saved(report, educator):
    with pytest.raises(ValidationError) as exc:
        error_reports.decide_report(report=report, status="bogus", reply="No.", by=educator)

    assert [e.code for e in exc.value.error_dict["status"]] == ["invalid_choice"]
    saved = stored(report)
    assert (saved.status, saved.reply, saved.handled_by, saved.updated_at) == (
        Status.NEW,
        "",
        None,
        T0,
    )


def test_reopening_a_report_is_refused_while_the_resident_has_a_newer_open_one(resident, educator):
    question = PublishableQuestionFactory()
    older = make_report(resident, question=question, status=Status.REJECTED)
    make_report(resident, question=question)  # the same kind, still open

    with pytest.raises(ValidationError, match="already reported this"):
        error_reports.decide_report(report=older, status=Status.NEW, reply="", by=educator)

    saved = stored(older)
    assert (saved.status, saved.handled_by) == (Status.REJECTED, None)
    assert ErrorReport.objects.filter(status=Status.NEW).count() == 1


def test_reopening_a_report_is_allowed_when_nothing_else_is_open(resident, educator):
    question = PublishableQuestionFactory()
    older = make_report(resident, question=question, status=Status.REJECTED)
    make_report(resident, question=question, kind=ErrorReport.Kind.UNCLEAR)  # another kind

    error_reports.decide_report(
        report=older, status=Status.NEW, reply="Looking again.", by=educator
    )

    saved = stored(older)
    assert (saved.status, saved.reply, saved.handled_by) == (
        Status.NEW,
        "Looking again.",
        educator,
    )


@pytest.mark.parametrize("status", ["accepted", "rejected", "fixed"])
def test_deciding_reports_in_bulk_records_who_and_when_in_one_update_and_one_job(
    resident, educator, status, django_assert_num_queries
):
    chosen = [make_report(resident), make_report(resident)]
    chosen[1].reply = "Already answered."
    chosen[1].save()
    other = make_report(resident)

    # The ids, one update, one job that tells the reporters; a savepoint and its release.
    with django_assert_num_queries(5):
        count = error_reports.decide_reports(
            reports=ErrorReport.objects.filter(pk__in=[r.pk for r in chosen]),
            status=status,
            by=educator,
            now=NOW,
        )

    assert count == 2
    rows = [stored(r) for r in chosen]
    assert [(r.status, r.handled_by, r.updated_at) for r in rows] == [(status, educator, NOW)] * 2
    assert [r.reply for r in rows] == ["", "Already answered."]
    untouched = stored(other)
    assert (untouched.status, untouched.handled_by, untouched.updated_at) == (Status.NEW, None, T0)


def test_deciding_no_reports_in_bulk_counts_none(educator):
    count = error_reports.decide_reports(
        reports=ErrorReport.objects.none(), status=Status.FIXED, by=educator, now=NOW
    )
    assert count == 0


@pytest.mark.parametrize("status", [Status.NEW, "new", "bogus", ""])
def test_a_bulk_decision_must_be_a_decision(resident, educator, status):
    report = make_report(resident)

    with pytest.raises(ValueError, match="Not a decision"):
        error_reports.decide_reports(
            reports=ErrorReport.objects.all(), status=status, by=educator, now=NOW
        )

    saved = stored(report)
    assert (saved.status, saved.handled_by, saved.updated_at) == (Status.NEW, None, T0)
