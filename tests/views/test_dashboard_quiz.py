"""Quizzes in progress at the top of the dashboard (kind, progress, time left by the
server's clock, Resume), discarding a practice quiz (asked first, then it counts nowhere),
and every time on the dashboard in mm:ss at the resident's own pace."""

import datetime
import re

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from questions.models import (
    Accommodation,
    Assignment,
    Attempt,
    Cohort,
    ErrorReport,
    ResidentProfile,
)
from questions.models.simulations import MIN_BLOCK_SIZE
from questions.quizzes import assignments, engine, simulation, starting
from questions.quizzes import error_reports as reports
from tests.factories import PublishableQuestionFactory, TopicFactory, UserFactory, finished_attempts

pytestmark = pytest.mark.django_db

DASHBOARD = reverse("questions:dashboard")


@pytest.fixture
def questions():
    topic = TopicFactory(name="Anatomy")
    questions = PublishableQuestionFactory.create_batch(6)
    for question in questions:
        question.topics.add(topic)
    return questions


@pytest.fixture
def ann(client, questions):
    user = UserFactory(username="ann")
    client.force_login(user)
    return user


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def start(user, *, count=3, mode=Attempt.Mode.TIMED, now=None):
    return starting.start_attempt(
        user=user, config=starting.QuizConfig(question_count=count, mode=mode), now=now
    )


def open_assignment(user, questions, **options):
    cohort = Cohort.objects.create(name="Alpha")
    cohort.residents.add(user)
    now = timezone.now()
    return assignments.create_assignment(
        **{
            "cohort": cohort,
            "created_by": None,
            "title": "Week 1",
            "kind": Assignment.Kind.FIXED,
            "mode": Attempt.Mode.TIMED,
            "opens_at": now - datetime.timedelta(hours=1),
            "due_at": now + datetime.timedelta(days=2),
            "questions": questions,
        }
        | options
    )


# --- At the top ------------------------------------------------------------------------------


def test_a_quiz_in_progress_comes_first_with_its_progress_time_left_and_resume(client, ann):
    started = timezone.now() - datetime.timedelta(seconds=60)
    attempt = start(ann, count=3, now=started)  # 270 s: about 210 left
    engine.answer(attempt=attempt, position=1, letter="A")
    engine.answer(attempt=attempt, position=2, letter="B")

    page = text(client.get(DASHBOARD))
    section = page.index('id="in-progress-heading"')
    assert section < page.index('id="summary-heading"')  # above everything else
    assert "Quiz in progress</h2>" in page
    card = page[section : page.index("</section>", section)]
    assert "Practice quiz · Timed mode" in card
    assert 'Answered <span class="in-progress-answered">2 of 3</span>' in card
    left = re.search(r'Time left: <strong class="in-progress-time">(\d+):(\d\d)</strong>', card)
    assert 205 <= int(left.group(1)) * 60 + int(left.group(2)) <= 210
    assert "The clock keeps running while you are away." in card
    assert f'href="{attempt.get_absolute_url()}">Resume' in card
    assert reverse("questions:attempt_discard", args=[attempt.pk]) in card


def test_several_quizzes_in_progress_are_listed_most_recent_first(client, ann, questions):
    now = timezone.now()
    older = start(ann, mode=Attempt.Mode.TUTOR, now=now - datetime.timedelta(hours=3))
    newer = start(ann, now=now - datetime.timedelta(minutes=1))
    assigned = starting.start_assignment(
        user=ann, assignment=open_assignment(ann, questions[:2], mode=Attempt.Mode.TUTOR)
    )
    page = text(client.get(DASHBOARD))
    assert "3 quizzes in progress</h2>" in page
    order = [int(pk) for pk in re.findall(r'id="in-progress-(\d+)"', page)]
    assert order == [assigned.pk, newer.pk, older.pk]
    assigned_card = page[page.index(f'id="in-progress-{assigned.pk}"') :]
    assigned_card = assigned_card[: assigned_card.index("</li>")]
    assert "Assignment: Week 1 · Tutor mode" in assigned_card
    assert "Due " in assigned_card
    assert "discard" not in assigned_card  # an assignment cannot be discarded
    older_card = page[page.index(f'id="in-progress-{older.pk}"') :]
    assert "No clock: take your time." in older_card[: older_card.index("</li>")]


def test_a_block_of_an_exam_simulation_is_shown_as_such_and_cannot_be_discarded(client, ann):
    PublishableQuestionFactory.create_batch(2 * MIN_BLOCK_SIZE)
    exam = simulation.create_simulation(
        user=ann, block_count=2, block_size=MIN_BLOCK_SIZE, break_seconds=60
    )
    block = simulation.start_block(simulation=exam, user=ann)
    page = text(client.get(DASHBOARD))
    card = page[page.index(f'id="in-progress-{block.pk}"') :]
    card = card[: card.index("</li>")]
    assert "Exam simulation, block 1 · Timed mode" in card
    assert "Discard" not in card
    assert discard_url(block) not in client.get(reverse("questions:attempt_list")).content.decode()
    assert "cannot be discarded on its own" in text(client.get(discard_url(block)))


def test_a_paused_quiz_shows_the_time_it_will_have_when_resumed(client, ann):
    attempt = start(ann, count=3)
    paused_at = timezone.now() - datetime.timedelta(minutes=5)
    Attempt.objects.filter(pk=attempt.pk).update(
        paused_at=paused_at,
        deadline_before_pause=paused_at + datetime.timedelta(seconds=200),
        deadline_at=paused_at + datetime.timedelta(hours=1),
    )
    page = text(client.get(DASHBOARD))
    assert 'Paused with <strong class="in-progress-time">3:20</strong> left' in page


def test_a_timed_quiz_past_its_deadline_is_finished_not_shown_in_progress(client, ann):
    start(ann, count=1, now=timezone.now() - datetime.timedelta(minutes=10))
    page = text(client.get(DASHBOARD))
    assert 'id="in-progress-heading"' not in page
    assert Attempt.objects.get(user=ann).finish_reason == Attempt.FinishReason.DEADLINE


def test_educators_do_not_see_a_residents_quizzes_in_progress_at_the_top(
    client, ann, educator, questions
):
    assignment = open_assignment(ann, questions[:2])
    assignment.cohort.educators.add(educator)
    start(ann)
    client.force_login(educator)
    url = reverse("questions:cohort_resident", args=[assignment.cohort.pk, ann.pk])
    page = text(client.get(url))
    assert "in-progress-heading" not in page
    assert "Discard" not in page


def test_the_dashboards_queries_do_not_grow_with_quizzes_in_progress(client, ann, questions):
    open_assignment(ann, questions[:2])  # listed in the assignments too (and held back)
    start(ann)

    def queries():
        cache.clear()
        with CaptureQueriesContext(connection) as captured:
            assert client.get(DASHBOARD).status_code == 200
        return len(captured)

    one = queries()
    for n in range(7):
        start(ann, count=2 + n % 3, mode=Attempt.Mode.TUTOR if n % 2 else Attempt.Mode.TIMED)
    starting.start_assignment(user=ann, assignment=Assignment.objects.get())
    finished_attempts([(ann, [(q, "A", 20) for q in questions[2:5]]) for _ in range(5)])
    assert Attempt.objects.filter(user=ann, status="in_progress").count() == 9
    assert queries() == one


# --- Times on the dashboard -------------------------------------------------------------------


def test_times_are_mm_ss_at_the_residents_own_pace(client, ann, questions):
    ResidentProfile.objects.create(user=ann, time_setting=ResidentProfile.TimeSetting.EXTENDED_1_5)
    # Practice on other questions than the assignment's, which it holds back from figures.
    finished_attempts([(ann, [(q, "C", 100) for q in questions[2:4]])])
    assignment = open_assignment(ann, questions[:2], time_limit_minutes=30)
    page = text(client.get(DASHBOARD))
    assert '<div class="fs-3 fw-semibold" id="avg-time">1:40</div>' in page
    assert "Your pace: 2:15, within pace" in page
    # The resident's own setting is for practice: the assignment's 30 minutes stand...
    assert "Timed, 30:00" in page
    # ...unless an educator grants an accommodation.
    Accommodation.objects.create(
        cohort=assignment.cohort, resident=ann, time_setting="x1.5", granted_at=timezone.now()
    )
    assert "Timed, 45:00" in text(client.get(DASHBOARD))
    assert not re.search(r"\d s\b", page)  # no "100 s" anywhere


def test_an_untimed_resident_has_no_pace_but_the_assignments_clock(client, ann, questions):
    ResidentProfile.objects.create(user=ann, time_setting=ResidentProfile.TimeSetting.UNTIMED)
    assignment = open_assignment(ann, questions[:2])
    page = text(client.get(DASHBOARD))
    assert "Your time setting: untimed" in page
    assert "Timed, 3:00" in page  # two questions at the standard pace
    Accommodation.objects.create(
        cohort=assignment.cohort, resident=ann, time_setting="untimed", granted_at=timezone.now()
    )
    assert "Timed, untimed (accommodation)" in text(client.get(DASHBOARD))


# --- Discarding -------------------------------------------------------------------------------


def discard_url(attempt):
    return reverse("questions:attempt_discard", args=[attempt.pk])


def test_discarding_asks_first_then_the_quiz_counts_nowhere(client, ann):
    attempt = start(ann, mode=Attempt.Mode.TUTOR)
    item = engine.answer(attempt=attempt, position=1, letter="A")  # submitted: scored now
    report = reports.report_problem(user=ann, item=item, kind="typo", comment="A typo.")
    assert 'id="answered">1<' in text(client.get(DASHBOARD))

    page = text(client.get(discard_url(attempt)))
    assert "Discard this quiz?" in page
    assert '<span id="discard-answered">1 of 3</span> answered' in page
    assert "This cannot be undone." in page
    assert Attempt.objects.filter(pk=attempt.pk).exists()  # asking changes nothing

    response = client.post(discard_url(attempt), follow=True)
    assert response.redirect_chain == [(DASHBOARD, 302)]
    assert "Quiz discarded." in text(response)
    assert not Attempt.objects.filter(pk=attempt.pk).exists()
    assert 'id="in-progress-heading"' not in text(response)
    assert 'id="answered">0<' in text(response)
    assert ErrorReport.objects.get(pk=report.pk).attempt_item is None


def test_an_assignment_cannot_be_discarded_and_the_page_says_why(client, ann, questions):
    attempt = starting.start_assignment(user=ann, assignment=open_assignment(ann, questions[:2]))
    page = text(client.get(discard_url(attempt)))
    assert "An assignment cannot be discarded" in page
    assert 'method="post"' not in page.split("<main", 1)[1].split("</main>")[0].split("footer")[0]
    response = client.post(discard_url(attempt), follow=True)
    assert "An assignment cannot be discarded" in text(response)
    assert Attempt.objects.filter(pk=attempt.pk).exists()


def test_a_finished_quiz_cannot_be_discarded(client, ann):
    attempt = engine.finish_attempt(attempt=start(ann))
    assert "This quiz is finished" in text(client.get(discard_url(attempt)))
    client.post(discard_url(attempt))
    assert Attempt.objects.filter(pk=attempt.pk).exists()


def test_another_residents_quiz_is_not_found(client, ann):
    theirs = start(UserFactory())
    assert client.get(discard_url(theirs)).status_code == 404
    assert client.post(discard_url(theirs)).status_code == 404
    assert Attempt.objects.filter(pk=theirs.pk).exists()


def test_the_quiz_list_offers_discard_for_practice_quizzes_in_progress_only(client, ann, questions):
    practice = start(ann)
    finished = engine.finish_attempt(attempt=start(ann))
    assigned = starting.start_assignment(user=ann, assignment=open_assignment(ann, questions[:2]))
    page = client.get(reverse("questions:attempt_list")).content.decode()
    assert discard_url(practice) in page
    assert discard_url(finished) not in page
    assert discard_url(assigned) not in page
    assert "Assignment, timed" in page and "Practice, timed" in page


def test_the_quiz_list_finishes_a_quiz_whose_time_ran_out(client, ann):
    """A timed quiz left running past its deadline is not offered to resume: the list
    finishes it as of its deadline, as the dashboard does."""
    overdue = start(ann, count=3, now=timezone.now() - datetime.timedelta(hours=2))
    running = start(ann, count=3)
    page = text(client.get(reverse("questions:attempt_list")))
    overdue.refresh_from_db()
    running.refresh_from_db()
    assert (overdue.status, overdue.finish_reason) == (
        Attempt.Status.FINISHED,
        Attempt.FinishReason.DEADLINE,
    )
    assert overdue.finished_at == overdue.deadline_at
    assert running.status == Attempt.Status.IN_PROGRESS
    assert discard_url(overdue) not in page and discard_url(running) in page
