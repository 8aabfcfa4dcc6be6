"""An assignment's results are released immediately, at the (last) due date, or when an
educator releases them. Until then a resident who finished sees only that they finished:
no score, no answer's correctness, no explanation, on any page or in any figure; their
educators see everything throughout."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from questions.learning import recall, withholding
from questions.models import Assignment, Attempt, Cohort
from questions.quizzes import assignments, control
from tests.factories import PublishableQuestionFactory, UserFactory, shown_letter
from tests.views.test_dashboards import make_educator

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    cohort = Cohort.objects.create(name="Alpha")
    ann, educator = UserFactory(username="ann"), make_educator("edu")
    cohort.residents.add(ann)
    cohort.educators.add(educator)
    questions = PublishableQuestionFactory.create_batch(3)
    for question in questions:
        for choice in question.choices.all():
            choice.rationale = f"Rationale {choice.letter} of {question.key}"
            choice.save()
    return {"cohort": cohort, "ann": ann, "educator": educator, "questions": questions}


def set_week(world, *, mode=Attempt.Mode.TIMED, release=Assignment.Release.AT_DUE, questions=None):
    now = timezone.now()
    assignment = assignments.create_assignment(
        cohort=world["cohort"],
        created_by=world["educator"],
        title="Week 1",
        kind=Assignment.Kind.FIXED,
        mode=mode,
        opens_at=now - datetime.timedelta(hours=1),
        due_at=now + datetime.timedelta(days=2),
        questions=questions or world["questions"],
    )
    Assignment.objects.filter(pk=assignment.pk).update(release=release)
    assignment.refresh_from_db()
    return assignment


def take(client, world, assignment, *, finish=True) -> Attempt:
    """Ann begins, answers the first question right and the second wrongly, sure of both."""
    client.force_login(world["ann"])
    client.post(reverse("questions:assignment_start", args=[assignment.pk]))
    attempt = Attempt.objects.get(assignment=assignment, user=world["ann"])
    for position, correct in ((1, True), (2, False)):
        item = attempt.items.get(position=position)
        client.post(
            reverse("questions:attempt_answer", args=[attempt.pk, position]),
            {"letter": shown_letter(item, correct=correct), "confidence": "sure", "go": "stay"},
        )
    if finish:
        client.post(reverse("questions:attempt_finish", args=[attempt.pk]))
    attempt.refresh_from_db()
    return attempt


def results_pages(attempt) -> list[str]:
    return [
        reverse("questions:attempt_results", args=[attempt.pk]),
        reverse("questions:attempt_results_all", args=[attempt.pk]),
        reverse("questions:attempt_result_item", args=[attempt.pk, 2]),
    ]


def shows_nothing_of_the_results(page: str, world) -> bool:
    rationales = [c.rationale for q in world["questions"] for c in q.choices.all()]
    return (
        "Finished — results at release" in page
        and 'id="score"' not in page
        and "Correct" not in page
        and "Incorrect" not in page
        and not any(r in page for r in rationales)
    )


def test_until_release_a_finished_resident_sees_only_that_they_finished(client, world):
    assignment = set_week(world)
    attempt = take(client, world, assignment)
    assert attempt.is_finished and attempt.correct_count == 1  # scored on the server
    for url in results_pages(attempt):
        page = " ".join(client.get(url).content.decode().split())
        assert shows_nothing_of_the_results(page, world), url
        assert "2 of 3" in page  # answered
        assert "when the assignment has closed for everyone" in page
    listing = client.get(reverse("questions:attempt_list")).content.decode()
    assert "Finished — results at release" in listing and "1/3" not in listing
    dashboard = client.get(reverse("questions:dashboard"))
    page = dashboard.content.decode()
    assert "Finished — results at release" in page and "1/3" not in page
    assert dashboard.context["summary"]["answered"] == 0
    assert dashboard.context["trend"] == []
    assert dashboard.context["confident_misses"] == []
    assert dashboard.context["calibration"][0]["answered"] == 0
    assert dashboard.context["miss_mix"] == []
    assert recall.summary(world["ann"])["scheduled"] == 0  # the misses wait too
    # Tagging a miss would tell which answers were wrong.
    response = client.post(
        reverse("questions:item_miss_type", args=[attempt.pk, 2]), {"miss_type": "knowledge"}
    )
    assert response.status_code == 302
    assert attempt.items.get(position=2).miss_type == ""


def test_the_educator_sees_the_results_before_release(client, world):
    assignment = set_week(world)
    attempt = take(client, world, assignment)
    client.force_login(world["educator"])
    url = reverse(
        "questions:cohort_resident_attempt", args=[world["cohort"].pk, world["ann"].pk, attempt.pk]
    )
    page = " ".join(client.get(url).content.decode().split())
    assert 'id="score">1 / 3' in page


def test_an_educators_release_shows_everything(client, world):
    assignment = set_week(world, release=Assignment.Release.MANUAL)
    attempt = take(client, world, assignment)
    control.release_results(assignment=assignment, actor=world["educator"])
    client.force_login(world["ann"])
    summary = " ".join(client.get(results_pages(attempt)[0]).content.decode().split())
    assert 'id="score">1 / 3' in summary and "Finished — results at release" not in summary
    item_page = client.get(results_pages(attempt)[2]).content.decode()
    assert "Rationale" in item_page
    dashboard = client.get(reverse("questions:dashboard"))
    assert "Finished: 1/3" in dashboard.content.decode()
    assert dashboard.context["summary"]["answered"] == 3
    assert [p["correct"] for p in dashboard.context["trend"]] == [1]


def test_at_the_due_date_means_the_last_residents_due_date(client, world):
    assignment = set_week(world)
    attempt = take(client, world, assignment)
    other = UserFactory(username="bob")
    world["cohort"].residents.add(other)
    control.grant_extension(
        assignment=assignment,
        resident=other,
        actor=world["educator"],
        due_at=assignment.due_at + datetime.timedelta(days=2),
    )
    past_due = assignment.due_at + datetime.timedelta(hours=1)
    assignment = Assignment.objects.get(pk=assignment.pk)
    assert not assignment.results_released(past_due)  # bob may still be answering
    assert withholding.unreleased_assignments(past_due).filter(pk=assignment.pk).exists()
    after_all = assignment.due_at + datetime.timedelta(days=3)
    assert assignment.results_released(after_all)
    assert not withholding.unreleased_assignments(after_all).exists()
    # As time passes the due dates (moved here, the server's clock being now).
    Assignment.objects.filter(pk=assignment.pk).update(
        opens_at=timezone.now() - datetime.timedelta(days=5),
        due_at=timezone.now() - datetime.timedelta(days=1),
    )
    assignment.grants.update(due_at=timezone.now() - datetime.timedelta(minutes=1))
    page = client.get(results_pages(attempt)[0]).content.decode()
    assert "Finished — results at release" not in page and 'id="score"' in page


@pytest.mark.parametrize(
    ("release", "released_at_offset", "due_offset", "expected"),
    [
        (Assignment.Release.IMMEDIATELY, None, 1, True),
        (Assignment.Release.AT_DUE, None, 1, False),
        (Assignment.Release.AT_DUE, None, -1, True),
        (Assignment.Release.MANUAL, None, -1, False),
        (Assignment.Release.MANUAL, -1, 1, True),
        (Assignment.Release.MANUAL, 1, 1, False),
    ],
)
def test_the_query_of_unreleased_assignments_agrees_with_results_released(
    world, release, released_at_offset, due_offset, expected
):
    assignment = set_week(world)
    now = timezone.now()
    Assignment.objects.filter(pk=assignment.pk).update(
        release=release,
        opens_at=now - datetime.timedelta(days=3),
        due_at=now + datetime.timedelta(hours=due_offset),
        released_at=now + datetime.timedelta(hours=released_at_offset)
        if released_at_offset
        else None,
    )
    assignment = Assignment.objects.get(pk=assignment.pk)
    assert assignment.results_released(now) is expected
    assert withholding.unreleased_assignments(now).filter(pk=assignment.pk).exists() is not expected


def test_released_immediately_the_results_show_as_soon_as_the_resident_finishes(client, world):
    assignment = set_week(world, release=Assignment.Release.IMMEDIATELY)
    attempt = take(client, world, assignment)
    summary = " ".join(client.get(results_pages(attempt)[0]).content.decode().split())
    assert 'id="score">1 / 3' in summary
    # Its own questions are not held back from it by its own assignment.
    assert "Held back" not in summary
    assert client.get(reverse("questions:dashboard")).context["summary"]["answered"] == 3


def test_a_tutor_assignment_records_answers_but_explains_them_only_at_release(client, world):
    assignment = set_week(world, mode=Attempt.Mode.TUTOR)
    attempt = take(client, world, assignment, finish=False)
    item = attempt.items.get(position=1)
    assert item.is_locked and item.is_correct
    response = client.get(reverse("questions:attempt_question", args=[attempt.pk, 1]))
    page = " ".join(response.content.decode().split())
    assert response.context["explained"] is None
    assert "is recorded" in page and "come with its results" in page
    assert not any(c.rationale in page for c in item.question.choices.all())

    # Released immediately, its explanations come with each answer (of questions no other
    # open assignment asks: those stay held back).
    immediate = set_week(
        world,
        mode=Attempt.Mode.TUTOR,
        release=Assignment.Release.IMMEDIATELY,
        questions=PublishableQuestionFactory.create_batch(3),
    )
    open_now = take(client, world, immediate, finish=False)
    response = client.get(reverse("questions:attempt_question", args=[open_now.pk, 1]))
    assert response.context["explained"] is not None
