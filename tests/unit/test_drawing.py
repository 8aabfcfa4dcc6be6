"""The builder's counts (drawing.pool_counts): what each pool and topic holds for a resident,
the same as what drawing would draw from, in one query whatever the number of topics."""

import datetime
import random
from collections import Counter

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from questions.models import Attempt, Question, Topic
from questions.quizzes import drawing, engine, starting
from questions.quizzes.starting import QuizConfig
from tests.factories import (
    PublishableQuestionFactory,
    QuestionFactory,
    TopicFactory,
    UserFactory,
    finished_attempts,
)

pytestmark = pytest.mark.django_db

POOLS = list(Attempt.Pool.values)


@pytest.fixture
def bank():
    """Six published questions over two topics (one question in both, one in neither) and
    a draft in the first topic."""
    first, second = TopicFactory(name="First"), TopicFactory(name="Second")
    questions = PublishableQuestionFactory.create_batch(6)
    for question in questions[:3]:
        question.topics.add(first)
    for question in questions[2:5]:
        question.topics.add(second)
    QuestionFactory().topics.add(first)  # a draft: in no pool
    return {"first": first, "second": second, "questions": questions}


def drawable(user, pool, topics=()):
    return drawing.pool_questions(user=user, pool=pool, topics=list(topics)).count()


def test_a_new_resident_has_everything_unused_and_nothing_else(bank):
    counts = drawing.pool_counts(user=UserFactory())
    first, second = bank["first"].pk, bank["second"].pk
    assert counts["all"] == {"total": 6, first: 3, second: 3}
    assert counts["unused"] == {"total": 6, first: 3, second: 3}
    for pool in ("incorrect", "flagged", "due"):
        assert counts[pool] == {"total": 0}


def test_each_count_is_what_drawing_would_draw_from(bank):
    resident = UserFactory()
    q = bank["questions"]
    two_days_ago = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=2)
    # Wrong on q0 and q2 (both now due), right on q1; q3..q5 never seen.
    finished_attempts(
        [(resident, [(q[0], "A", 30), (q[1], "C", 30), (q[2], None, 30)])],
        started_at=two_days_ago,
    )
    # Then a quiz in progress that showed q3 and flagged it.
    attempt = starting.start_attempt(
        user=resident,
        config=QuizConfig(question_count=1, topics=[bank["second"]], pool="unused"),
        rng=random.Random(3),
    )
    engine.set_flag(attempt=attempt, position=1, flagged=True)

    counts = drawing.pool_counts(user=resident)
    for pool in POOLS:
        assert counts[pool]["total"] == drawable(resident, pool), pool
        for topic in (bank["first"], bank["second"]):
            assert counts[pool].get(topic.pk, 0) == drawable(resident, pool, [topic]), pool
    assert (counts["incorrect"]["total"], counts["due"]["total"]) == (2, 2)
    assert counts["flagged"]["total"] == 1
    assert counts["unused"]["total"] == 2


def test_the_total_counts_a_question_in_two_chosen_topics_once(bank):
    counts = drawing.pool_counts(user=UserFactory(), topics=[bank["first"], bank["second"]])
    # 3 + 3 by topic, but the question in both counts once; the one in neither is out.
    assert counts["all"]["total"] == 5
    assert counts["all"][bank["first"].pk] + counts["all"][bank["second"].pk] == 6


def test_another_residents_answers_change_nothing(bank):
    resident, other = UserFactory(), UserFactory()
    finished_attempts([(other, [(q, "A", 30) for q in bank["questions"]])])
    counts = drawing.pool_counts(user=resident)
    assert counts["unused"]["total"] == 6
    assert counts["incorrect"] == {"total": 0}


def test_an_answer_of_a_running_timed_quiz_is_in_no_pool_until_it_finishes(bank):
    """The counts say nothing of how an answer not yet locked went (an assignment's among
    them): it is used, but neither incorrect nor due until the quiz finishes."""
    resident = UserFactory()
    attempt = starting.start_attempt(
        user=resident, config=QuizConfig(question_count=6), rng=random.Random(1)
    )
    for item in attempt.items.all():
        wrong = next(c["letter"] for c in item.shown["choices"] if not c["is_correct"])
        engine.answer(attempt=attempt, position=item.position, letter=wrong)
    running = drawing.pool_counts(user=resident)
    assert (running["unused"]["total"], running["incorrect"]["total"]) == (0, 0)
    engine.finish_attempt(attempt=attempt)
    assert drawing.pool_counts(user=resident)["incorrect"]["total"] == 6


def test_counts_take_one_query_whatever_the_number_of_topics(bank):
    resident = UserFactory()
    finished_attempts([(resident, [(q, "A", 30) for q in bank["questions"][:3]])])

    def queries():
        topics = list(Topic.objects.all())
        with CaptureQueriesContext(connection) as captured:
            counts = drawing.pool_counts(user=resident, topics=topics)
        return len(captured), counts

    few, _ = queries()
    many = [TopicFactory() for _ in range(40)]
    for n, topic in enumerate(many):
        for question in bank["questions"][n % 6 : n % 6 + 2]:
            question.topics.add(topic)
    more, counts = queries()
    assert few == more == 1
    assert all(counts["all"][topic.pk] >= 1 for topic in many)


def test_the_counts_query_is_written_once_not_on_every_call(bank):
    """Its SQL must not depend on its values: were it refused, the builder would still be
    right but 8 ms slower (models/prepared.py)."""
    drawing.builder_counts(user=UserFactory())
    assert drawing.BUILDER_ROWS.is_prepared(connection.alias)


def test_retired_questions_leave_every_count(bank):
    resident = UserFactory()
    finished_attempts([(resident, [(bank["questions"][0], "A", 30)])])
    Question.objects.filter(pk=bank["questions"][0].pk).update(status=Question.Status.RETIRED)
    counts = drawing.pool_counts(user=resident)
    assert counts["all"]["total"] == 5
    assert counts["incorrect"] == {"total": 0}


# --- Drawing ---------------------------------------------------------------------------------


def test_drawing_takes_three_queries_and_snapshotting_what_it_drew_none(
    django_assert_num_queries,
):
    PublishableQuestionFactory.create_batch(12)
    resident = UserFactory()
    with django_assert_num_queries(3):  # the draw; the questions' choices and citations
        drawn = drawing.draw_questions(user=resident, count=10, rng=random.Random(1))
    with django_assert_num_queries(0):
        shown = [starting.snapshot(question, random.Random(1)) for question in drawn]
    assert len({question.pk for question in drawn}) == 10
    assert all(len(frozen["choices"]) == 5 and frozen["citations"] for frozen in shown)


def test_the_same_rng_draws_the_same_and_every_question_comes_up_as_often():
    questions = PublishableQuestionFactory.create_batch(10)
    resident = UserFactory()

    def draw(seed):
        return [
            q.pk for q in drawing.draw_questions(user=resident, count=3, rng=random.Random(seed))
        ]

    assert draw(7) == draw(7)
    drawn = Counter(pk for seed in range(200) for pk in draw(seed))
    assert set(drawn) == {question.pk for question in questions}
    # Each 60 times in 600 draws, give or take: a fair draw stays within 4.6 standard
    # deviations (6.5 each) with a chance of failing below 1 in 20,000.
    assert all(30 <= times <= 90 for times in drawn.values()), drawn
