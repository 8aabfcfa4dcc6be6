"""Spaced review: what enters the schedule, the intervals FSRS gives a sequence of outcomes,
mastery of a corrected miss, the "due" pool and the dashboard's figures."""

import datetime
import io
import random

import pytest
from django.core.management import call_command
from django.utils import timezone

from questions.learning import recall
from questions.models import Attempt, Question, RecallCard
from questions.quizzes import drawing, engine, starting
from tests.factories import PublishableQuestionFactory, UserFactory, shown_letter

pytestmark = pytest.mark.django_db

T0 = datetime.datetime(2026, 11, 2, 9, 0, tzinfo=datetime.UTC)
DAY = datetime.timedelta(days=1)


def take(user, questions, outcomes, *, at, confidence=""):
    """A tutor quiz on ``questions`` answered at ``at`` (True right, False wrong, None
    skipped), finished a minute later."""
    attempt = _start(user, questions, at)
    for item in attempt.items.order_by("position"):
        outcome = outcomes[questions.index(item.question)]
        if outcome is not None:
            engine.answer(
                attempt=attempt, position=item.position, letter=shown_letter(item, correct=outcome),
                confidence=confidence, now=at,
            )  # fmt: skip
    return engine.finish_attempt(attempt=attempt, now=at + datetime.timedelta(minutes=1))


def _start(user, questions, at):
    """A tutor quiz over exactly ``questions`` (the rest of the bank retired meanwhile)."""
    others = Question.objects.exclude(pk__in=[q.pk for q in questions])
    statuses = dict(others.values_list("pk", "status"))
    others.update(status=Question.Status.RETIRED)
    try:
        return starting.start_attempt(
            user=user,
            config=starting.QuizConfig(question_count=len(questions), mode=Attempt.Mode.TUTOR),
            now=at,
            rng=random.Random(1),
        )
    finally:
        for pk, status in statuses.items():
            Question.objects.filter(pk=pk).update(status=status)


@pytest.fixture
def resident():
    return UserFactory()


def test_a_miss_comes_back_at_growing_intervals_and_counts_as_mastered_once_right(resident):
    q = PublishableQuestionFactory()
    take(resident, [q], [False], at=T0)
    card = RecallCard.objects.get(user=resident, question=q)
    assert (card.reason, card.reviews, card.mastered_at) == ("missed", 1, None)
    assert card.due - T0 == 1 * DAY
    intervals = []
    for _ in range(3):  # answered right and sure each time it is due
        due = card.due
        take(resident, [q], [True], at=due, confidence="sure")
        card.refresh_from_db()
        intervals.append((card.due - due).days)
    assert intervals == [2, 6, 17]  # FSRS-6 defaults, no learning steps, no fuzzing
    assert card.mastered_at is not None and card.lapses == 0
    take(resident, [q], [False], at=card.due)  # missed again: a lapse
    card.refresh_from_db()
    assert (card.mastered_at, card.lapses, card.reviews) == (None, 1, 5)


@pytest.mark.parametrize(
    ("correct", "confidence", "enters", "days"),
    [
        (True, "sure", False, None),
        (True, "", False, None),
        (True, "unsure", True, 1),  # Hard
        (True, "guess", True, 1),  # Again: a lucky guess is not knowledge
        (False, "sure", True, 1),
    ],
)
def test_what_enters_the_schedule(resident, correct, confidence, enters, days):
    q = PublishableQuestionFactory()
    take(resident, [q], [correct], at=T0, confidence=confidence)
    card = RecallCard.objects.filter(user=resident, question=q).first()
    assert (card is not None) == enters
    if card:
        assert (card.due - T0).days == days
        assert card.reason == ("missed" if not correct else "unsure")


def test_a_correct_guess_at_review_is_not_mastery(resident):
    q = PublishableQuestionFactory()
    take(resident, [q], [False], at=T0)
    take(resident, [q], [True], at=T0 + DAY, confidence="guess")
    card = RecallCard.objects.get(user=resident, question=q)
    assert card.mastered_at is None and card.lapses == 0 and card.reviews == 2


def test_finishing_twice_reviews_once(resident):
    q = PublishableQuestionFactory()
    attempt = take(resident, [q], [False], at=T0)
    engine.finish_attempt(attempt=attempt.pk, now=T0 + DAY)
    recall.schedule_attempt(attempt, list(attempt.items.all()))  # even called again by hand
    assert RecallCard.objects.get(user=resident, question=q).reviews == 1


def test_the_due_pool_and_the_dashboard_summary(resident):
    due, later, retired, right = PublishableQuestionFactory.create_batch(4)
    yesterday = timezone.now() - DAY - datetime.timedelta(hours=1)
    take(resident, [due, later, retired, right], [False, False, False, True], at=yesterday)
    # "later" is answered right when it came due, an hour ago: not due again for two days.
    take(resident, [later], [True], at=yesterday + DAY, confidence="sure")
    retired.status = Question.Status.RETIRED
    retired.save()
    pool = set(
        drawing.pool_questions(user=resident, pool=Attempt.Pool.DUE).values_list("pk", flat=True)
    )
    assert pool == {due.pk}
    later_card = RecallCard.objects.get(user=resident, question=later)
    assert recall.summary(resident) == {
        "due": 1,  # the retired question no longer counts
        "scheduled": 2,
        "mastered": 1,
        "next_due": later_card.due,
    }
    [drawn] = drawing.draw_questions(user=resident, count=1, pool=Attempt.Pool.DUE)
    assert drawn == due
    with pytest.raises(drawing.PoolTooSmall):
        drawing.draw_questions(user=resident, count=2, pool=Attempt.Pool.DUE)


def test_rebuilding_replays_history_into_the_same_schedule(resident):
    q1, q2 = PublishableQuestionFactory.create_batch(2)
    take(resident, [q1, q2], [False, True], at=T0, confidence="unsure")
    take(resident, [q1], [True], at=T0 + DAY, confidence="sure")
    before = list(RecallCard.objects.order_by("question_id").values(*recall.RESCHEDULED_FIELDS))
    RecallCard.objects.all().delete()  # history from before spaced review existed
    out = io.StringIO()
    call_command("rebuild_review_schedule", stdout=out)
    assert "2 question(s)" in out.getvalue()
    after = list(RecallCard.objects.order_by("question_id").values(*recall.RESCHEDULED_FIELDS))
    assert after == before


def test_an_answer_before_the_question_is_due_reschedules_but_is_not_mastery(resident):
    q = PublishableQuestionFactory()
    take(resident, [q], [False], at=T0)
    # Right an hour later, the explanation still fresh: the card moves on, not mastered.
    take(resident, [q], [True], at=T0 + datetime.timedelta(hours=1), confidence="sure")
    card = RecallCard.objects.get(user=resident, question=q)
    assert (card.reviews, card.mastered_at) == (2, None)
    take(resident, [q], [True], at=card.due, confidence="sure")
    card.refresh_from_db()
    assert card.mastered_at is not None


def test_a_question_that_entered_unsure_is_never_counted_as_a_corrected_miss(resident):
    q = PublishableQuestionFactory()
    take(resident, [q], [True], at=T0, confidence="unsure")
    card = RecallCard.objects.get(user=resident, question=q)
    take(resident, [q], [True], at=card.due, confidence="sure")
    card.refresh_from_db()
    assert (card.reason, card.reviews, card.mastered_at) == ("unsure", 2, None)


def test_a_review_quiz_takes_the_most_overdue_questions_first(resident):
    questions = PublishableQuestionFactory.create_batch(3)
    for days_ago, question in zip((3, 9, 6), questions, strict=True):
        take(resident, [question], [False], at=timezone.now() - days_ago * DAY)
    drawn = drawing.draw_questions(user=resident, count=2, pool=Attempt.Pool.DUE)
    assert {q.pk for q in drawn} == {questions[1].pk, questions[2].pk}


def test_times_in_another_zone_are_given_to_the_library_in_utc(resident):
    q = PublishableQuestionFactory()
    eastern = datetime.timezone(datetime.timedelta(hours=-5))
    take(resident, [q], [False], at=T0.astimezone(eastern))
    assert RecallCard.objects.get(user=resident, question=q).due == T0 + DAY


def test_a_tutor_quiz_answered_through_and_left_open_is_finished_as_of_its_last_answer(
    resident,
):
    questions = PublishableQuestionFactory.create_batch(2)
    done = _start(resident, questions, T0)
    half = _start(resident, questions, T0)
    for item in done.items.all():
        engine.answer(attempt=done, position=item.position, letter=shown_letter(item), now=T0)
    item = half.items.get(position=1)
    engine.answer(attempt=half, position=1, letter=shown_letter(item, correct=False), now=T0)
    assert engine.finish_completed(now=T0 + datetime.timedelta(minutes=59)) == 0
    assert engine.finish_completed(now=T0 + datetime.timedelta(hours=2)) == 1
    done.refresh_from_db()
    half.refresh_from_db()
    assert (done.status, done.finish_reason, done.finished_at) == ("finished", "completed", T0)
    assert half.status == "in_progress"
    # Right answers with no confidence do not enter; the half-done quiz is not finished.
    assert RecallCard.objects.filter(user=resident).count() == 0
