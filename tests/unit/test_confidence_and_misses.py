"""Confidence given with an answer, calibration, and the reasons residents tag on misses."""

import datetime
import random

import pytest
from django.db import IntegrityError, transaction

from questions.analytics import progress
from questions.learning import calibration
from questions.models import Attempt, AttemptItem
from questions.quizzes import engine, errors, starting
from questions.quizzes.starting import QuizConfig
from tests.factories import (
    PublishableQuestionFactory,
    TopicFactory,
    UserFactory,
    finished_attempts,
    shown_letter,
)

pytestmark = pytest.mark.django_db

T0 = datetime.datetime(2026, 11, 21, 9, 0, tzinfo=datetime.UTC)


def start(user, *, count=3, mode=Attempt.Mode.TIMED):
    return starting.start_attempt(
        user=user,
        config=QuizConfig(question_count=count, mode=mode),
        now=T0,
        rng=random.Random(1),
    )


@pytest.fixture
def resident():
    return UserFactory()


@pytest.fixture
def questions():
    return PublishableQuestionFactory.create_batch(3)


def test_a_timed_answer_carries_its_confidence_and_a_later_save_changes_it(resident, questions):
    attempt = start(resident)
    item = attempt.items.get(position=1)
    engine.answer(
        attempt=attempt, position=1, letter=shown_letter(item), confidence="guess", now=T0
    )
    engine.answer(attempt=attempt, position=1, letter=shown_letter(item), confidence="Sure", now=T0)
    assert attempt.items.get(position=1).confidence == "sure"
    engine.answer(attempt=attempt, position=1, letter=shown_letter(item, correct=False), now=T0)
    assert attempt.items.get(position=1).confidence == ""  # the form sent none: not said


def test_in_tutor_mode_the_confidence_is_fixed_with_the_answer(resident, questions):
    attempt = start(resident, mode=Attempt.Mode.TUTOR)
    item = attempt.items.get(position=1)
    engine.answer(
        attempt=attempt, position=1, letter=shown_letter(item), confidence="unsure", now=T0
    )
    # The key has been shown: resubmitting cannot turn "unsure" into "sure".
    engine.answer(attempt=attempt, position=1, letter=shown_letter(item), confidence="sure", now=T0)
    assert attempt.items.get(position=1).confidence == "unsure"


def test_an_unknown_confidence_is_refused_and_nothing_is_saved(resident, questions):
    attempt = start(resident)
    item = attempt.items.get(position=1)
    with pytest.raises(errors.InvalidConfidence):
        engine.answer(
            attempt=attempt, position=1, letter=shown_letter(item), confidence="very", now=T0
        )
    item.refresh_from_db()
    assert (item.selected_letter, item.confidence) == ("", "")


def _with_confidence(attempts, confidences):
    items = list(AttemptItem.objects.filter(attempt__in=attempts).order_by("attempt", "position"))
    for item, confidence in zip(items, confidences, strict=True):
        item.confidence = confidence
    AttemptItem.objects.bulk_update(items, ["confidence"])
    return items


def test_calibration_against_a_hand_computed_example(resident):
    qs = PublishableQuestionFactory.create_batch(10)
    # The factory's key is C. Ten answers: right, right, right, wrong | right, wrong, wrong |
    # wrong, unanswered | right (no confidence).
    picks = ["C", "C", "C", "B", "C", "B", "B", "A", None, "C"]
    attempts = finished_attempts([(resident, [(q, p, 30) for q, p in zip(qs, picks, strict=True)])])
    items = _with_confidence(attempts, ["sure"] * 4 + ["unsure"] * 3 + ["guess"] * 2 + [""])
    expected = [
        {"confidence": "sure", "label": "Sure", "answered": 4, "correct": 3, "percent": 75.0},
        {"confidence": "unsure", "label": "Unsure", "answered": 3, "correct": 1, "percent": 33.3},
        {"confidence": "guess", "label": "Guess", "answered": 2, "correct": 0, "percent": 0.0},
    ]
    assert calibration.calibration(resident) == expected
    assert calibration.calibration_of(items) == expected
    assert calibration.calibration(UserFactory())[0] == {
        "confidence": "sure", "label": "Sure", "answered": 0, "correct": 0, "percent": None,
    }  # fmt: skip


def test_confident_misses_are_listed_by_topic_in_curriculum_order(resident):
    first, second = TopicFactory(order=1, name="Anatomy"), TopicFactory(order=2, name="Blocks")
    q1, q2, q3 = PublishableQuestionFactory.create_batch(3)
    q1.topics.set([second])
    q2.topics.set([first, second])
    q3.topics.set([first])
    attempts = finished_attempts([(resident, [(q1, "B", 30), (q2, "B", 30), (q3, "C", 30)])])
    _with_confidence(attempts, ["sure", "sure", "sure"])  # q3 was right: not a miss
    groups = calibration.confident_misses(resident)
    assert [g["topic"].name for g in groups] == ["Anatomy", "Blocks"]
    assert [q["question_id"] for q in groups[0]["questions"]] == [q2.pk]
    assert {q["question_id"] for q in groups[1]["questions"]} == {q1.pk, q2.pk}
    assert groups[0]["questions"][0]["times"] == 1


def _finished_with_a_miss(user):
    q_right, q_wrong = PublishableQuestionFactory.create_batch(2)
    [attempt] = finished_attempts([(user, [(q_right, "C", 30), (q_wrong, "B", 30)])])
    return attempt


def test_only_the_resident_tags_a_miss_and_only_a_miss(resident):
    attempt = _finished_with_a_miss(resident)
    engine.tag_miss(attempt=attempt.pk, position=2, miss_type="misread", user=resident)
    assert attempt.items.get(position=2).miss_type == "misread"
    with pytest.raises(errors.NotAMiss):
        engine.tag_miss(attempt=attempt.pk, position=1, miss_type="misread", user=resident)
    with pytest.raises(Attempt.DoesNotExist):
        engine.tag_miss(attempt=attempt.pk, position=2, miss_type="time", user=UserFactory())
    with pytest.raises(errors.EngineError):
        engine.tag_miss(attempt=attempt.pk, position=2, miss_type="bad luck", user=resident)
    assert attempt.items.get(position=2).miss_type == "misread"
    engine.tag_miss(attempt=attempt.pk, position=2, miss_type="", user=resident)
    assert attempt.items.get(position=2).miss_type == ""


def test_the_database_refuses_a_miss_type_on_a_correct_answer(resident):
    attempt = _finished_with_a_miss(resident)
    with pytest.raises(IntegrityError), transaction.atomic():
        attempt.items.filter(position=1).update(miss_type="misread")


def test_miss_mix_counts_tagged_and_untagged_misses_per_month(resident):
    q = PublishableQuestionFactory.create_batch(3)
    october = datetime.datetime(2026, 10, 5, 12, tzinfo=datetime.UTC)
    november = datetime.datetime(2026, 11, 5, 12, tzinfo=datetime.UTC)
    [old] = finished_attempts([(resident, [(q[0], "B", 30), (q[1], "B", 30)])], started_at=october)
    [new] = finished_attempts([(resident, [(q[0], "B", 30), (q[2], "C", 30)])], started_at=november)
    engine.tag_miss(attempt=old.pk, position=1, miss_type="knowledge", user=resident)
    engine.tag_miss(attempt=new.pk, position=1, miss_type="knowledge", user=resident)
    rows = progress.miss_type_mix(resident)
    assert [r["month"] for r in rows] == [datetime.date(2026, 11, 1), datetime.date(2026, 10, 1)]
    assert (rows[0]["misses"], rows[0]["untagged"]) == (1, 0)
    assert (rows[1]["misses"], rows[1]["untagged"]) == (2, 1)
    assert dict(rows[1]["counts"])["Knowledge gap"] == 1
    assert dict(rows[1]["counts"])["Ran out of time"] == 0


def test_a_confident_miss_without_a_topic_is_listed_last_under_no_topic(resident):
    with_topic, without = PublishableQuestionFactory.create_batch(2)
    with_topic.topics.set([TopicFactory(name="Blocks")])
    attempts = finished_attempts([(resident, [(without, "B", 30), (with_topic, "B", 30)])])
    _with_confidence(attempts, ["sure", "sure"])
    groups = calibration.confident_misses(resident)
    assert [str(g["topic"]) for g in groups] == ["Blocks", "No topic"]
    assert [q["question_id"] for q in groups[1]["questions"]] == [without.pk]
