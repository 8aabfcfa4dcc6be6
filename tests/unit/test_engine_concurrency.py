"""Two tabs submitting at once: the attempt row lock serialises them (PostgreSQL)."""

import uuid

import pytest
from django.db import connection

from questions.models import Attempt, AttemptItem
from questions.quizzes import engine, starting
from questions.quizzes.errors import AnswerLocked
from questions.quizzes.starting import QuizConfig
from tests.concurrency import run_together
from tests.factories import PublishableQuestionFactory, UserFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.slow,  # PostgreSQL only; each test commits and empties the tables
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="row locks need PostgreSQL (set DATABASE_URL)"
    ),
]


def test_the_same_answer_from_many_tabs_is_recorded_once():
    PublishableQuestionFactory.create_batch(2)
    attempt = starting.start_attempt(user=UserFactory(), config=QuizConfig(question_count=2))
    errors = run_together(6, lambda i: engine.answer(attempt=attempt, position=1, letter="C"))
    assert errors == [None] * 6
    item = AttemptItem.objects.get(attempt=attempt, position=1)
    assert item.selected_letter == "C"


def test_two_tabs_answering_differently_in_tutor_mode_lock_one_answer():
    PublishableQuestionFactory.create_batch(2)
    attempt = starting.start_attempt(
        user=UserFactory(), config=QuizConfig(question_count=2, mode=Attempt.Mode.TUTOR)
    )
    letters = ["A", "B", "C", "D"]
    errors = run_together(
        4, lambda i: engine.answer(attempt=attempt, position=1, letter=letters[i])
    )
    item = AttemptItem.objects.get(attempt=attempt, position=1)
    winners = [letters[i] for i, e in enumerate(errors) if e is None]
    assert winners == [item.selected_letter]
    assert all(isinstance(e, AnswerLocked) for e in errors if e is not None)


def test_finishing_from_two_tabs_at_once_scores_once():
    PublishableQuestionFactory.create_batch(3)
    attempt = starting.start_attempt(user=UserFactory(), config=QuizConfig(question_count=3))
    errors = run_together(3, lambda i: engine.finish_attempt(attempt=attempt))
    assert errors == [None] * 3
    attempt.refresh_from_db()
    assert (attempt.status, attempt.correct_count) == ("finished", 0)
    assert AttemptItem.objects.filter(attempt=attempt, locked_at=attempt.finished_at).count() == 3


def test_expire_attempts_on_several_hosts_at_once_finishes_each_attempt_once():
    import datetime

    from django.core.management import call_command
    from django.utils import timezone

    PublishableQuestionFactory.create_batch(3)
    long_ago = timezone.now() - datetime.timedelta(hours=2)
    attempts = [
        starting.start_attempt(
            user=UserFactory(), config=QuizConfig(question_count=3), now=long_ago
        )
        for _ in range(5)
    ]
    counts = []

    def host(_):
        counts.append(engine.expire_overdue())

    assert run_together(4, host) == [None] * 4
    assert sum(counts) == 5  # each attempt finished by exactly one "host"
    for attempt in attempts:
        attempt.refresh_from_db()
        assert attempt.is_finished
        assert attempt.finished_at == attempt.deadline_at
    call_command("expire_attempts")  # nothing left to do, and no error


def test_the_same_quiz_form_sent_from_two_tabs_at_once_starts_one_quiz():
    PublishableQuestionFactory.create_batch(3)
    user, token = UserFactory(), uuid.uuid4()
    started = [None] * 4

    def start(i):
        started[i] = starting.start_attempt(
            user=user, config=QuizConfig(question_count=3), token=token
        ).pk

    errors = run_together(4, start)
    assert errors == [None] * 4
    assert Attempt.objects.filter(user=user).count() == 1
    assert set(started) == {Attempt.objects.get(user=user).pk}
