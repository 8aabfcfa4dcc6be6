"""Starting a quiz again resumes an identical one in progress (the dashboard's quick starts),
and discarding a practice quiz in progress: it then counts nowhere."""

import datetime
import random

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from questions.analytics import progress
from questions.learning import recall
from questions.models import Assignment, Attempt, AttemptItem, Cohort, ErrorReport, RecallCard
from questions.models.simulations import MIN_BLOCK_SIZE
from questions.quizzes import assignments, drawing, engine, simulation, starting
from questions.quizzes import error_reports as reports
from questions.quizzes.errors import NotDiscardable
from questions.quizzes.starting import QuizConfig
from tests.concurrency import run_together
from tests.factories import PublishableQuestionFactory, TopicFactory, UserFactory

pytestmark = pytest.mark.django_db

T0 = datetime.datetime(2026, 11, 21, 9, 0, tzinfo=datetime.UTC)


def at(seconds):
    return T0 + datetime.timedelta(seconds=seconds)


@pytest.fixture
def resident():
    return UserFactory()


@pytest.fixture
def questions():
    return PublishableQuestionFactory.create_batch(6)


def quick(user, config, *, now=T0, seed=1):
    return starting.start_attempt(
        user=user, config=config, now=now, rng=random.Random(seed), resume_identical=True
    )


def wrong_letter(item):
    return next(c["letter"] for c in item.shown["choices"] if not c["is_correct"])


# --- The same quick start twice ------------------------------------------------------------


def test_the_same_quick_start_twice_resumes_the_first(resident, questions):
    config = QuizConfig(question_count=3, mode=Attempt.Mode.TUTOR)
    first = quick(resident, config)
    again = quick(resident, config, now=at(60), seed=2)
    assert again.pk == first.pk
    assert Attempt.objects.filter(user=resident).count() == 1


def test_the_same_topics_in_another_order_are_the_same_quiz(resident, questions):
    a, b = TopicFactory(), TopicFactory()
    for question in questions:
        question.topics.add(a, b)
    first = quick(resident, QuizConfig(question_count=2, topics=[a, b]))
    assert quick(resident, QuizConfig(question_count=2, topics=[b, a])).pk == first.pk


@pytest.mark.parametrize(
    "change",
    [
        {"question_count": 2},
        {"mode": Attempt.Mode.TIMED},
        {"pool": Attempt.Pool.UNUSED},
        {"topics": "one topic"},
    ],
    ids=["count", "mode", "pool", "topics"],
)
def test_another_configuration_starts_a_new_quiz(resident, questions, change):
    topic = TopicFactory()
    for question in questions:
        question.topics.add(topic)
    base = {"question_count": 3, "mode": Attempt.Mode.TUTOR, "pool": Attempt.Pool.ALL}
    first = quick(resident, QuizConfig(**base))
    if change.get("topics"):
        change = {"topics": [topic]}
    second = quick(resident, QuizConfig(**(base | change)))
    assert second.pk != first.pk
    assert Attempt.objects.filter(user=resident).count() == 2


def test_a_finished_quiz_is_not_resumed(resident, questions):
    config = QuizConfig(question_count=3, mode=Attempt.Mode.TUTOR)
    first = quick(resident, config)
    engine.finish_attempt(attempt=first, now=at(30))
    assert quick(resident, config, now=at(60)).pk != first.pk


def test_a_timed_quiz_past_its_deadline_is_not_resumed(resident, questions):
    config = QuizConfig(question_count=2)  # 180 s
    first = quick(resident, config)
    later = at(180 + engine.GRACE_SECONDS + 1)
    assert quick(resident, config, now=later).pk != first.pk


def test_another_residents_quiz_is_never_resumed(resident, questions):
    config = QuizConfig(question_count=3, mode=Attempt.Mode.TUTOR)
    theirs = quick(UserFactory(), config)
    assert quick(resident, config).pk != theirs.pk


def test_only_quick_starts_resume_the_builder_starts_what_it_is_asked(resident, questions):
    config = QuizConfig(question_count=3, mode=Attempt.Mode.TUTOR)
    first = quick(resident, config)
    built = starting.start_attempt(user=resident, config=config, now=at(5))
    assert built.pk != first.pk


def test_an_assignments_attempt_is_never_resumed_as_practice(resident, questions):
    cohort = Cohort.objects.create(name="Alpha")
    cohort.residents.add(resident)
    assignment = assignments.create_assignment(
        cohort=cohort,
        created_by=None,
        title="Week 1",
        kind=Assignment.Kind.FIXED,
        mode=Attempt.Mode.TUTOR,
        opens_at=T0 - datetime.timedelta(days=1),
        due_at=T0 + datetime.timedelta(days=1),
        questions=questions[:3],
    )
    assigned = starting.start_assignment(user=resident, assignment=assignment, now=T0)
    config = QuizConfig(question_count=3, mode=Attempt.Mode.TUTOR)
    assert quick(resident, config).pk != assigned.pk


# --- Discarding ----------------------------------------------------------------------------


def test_discarding_deletes_the_quiz_and_its_items(resident, questions):
    attempt = quick(resident, QuizConfig(question_count=3))
    starting.discard_attempt(attempt=attempt, user=resident, now=at(10))
    assert not Attempt.objects.filter(pk=attempt.pk).exists()
    assert not AttemptItem.objects.filter(attempt_id=attempt.pk).exists()


def test_a_discarded_quiz_counts_nowhere(resident, questions):
    """Tutor answers are scored at once: discarded, they leave the resident's figures, the
    questions are unused again, and nothing reached the recall schedule or the first
    encounters."""
    before = progress.resident_summary(resident)
    attempt = quick(resident, QuizConfig(question_count=3, mode=Attempt.Mode.TUTOR))
    for item in attempt.items.all():
        engine.answer(attempt=attempt, position=item.position, letter=wrong_letter(item))
    assert progress.resident_summary(resident)["answered"] == 3

    starting.discard_attempt(attempt=attempt, user=resident, now=at(10))

    assert progress.resident_summary(resident) == before
    assert drawing.pool_counts(user=resident)["unused"]["total"] == len(questions)
    assert drawing.pool_counts(user=resident)["incorrect"]["total"] == 0
    assert not RecallCard.objects.filter(user=resident).exists()
    assert recall.summary(resident)["scheduled"] == 0
    assert not AttemptItem.objects.filter(attempt__user=resident, first_encounter=True).exists()


def test_an_error_report_outlives_the_discarded_quiz(resident, questions):
    attempt = quick(resident, QuizConfig(question_count=3, mode=Attempt.Mode.TUTOR))
    item = attempt.items.get(position=1)
    item = engine.answer(attempt=attempt, position=1, letter=wrong_letter(item))
    report = reports.report_problem(user=resident, item=item, kind="typo", comment="A typo.")

    starting.discard_attempt(attempt=attempt, user=resident)

    report = ErrorReport.objects.get(pk=report.pk)
    assert (report.attempt_item_id, report.question_id) == (None, item.question_id)


def test_a_finished_quiz_cannot_be_discarded(resident, questions):
    attempt = quick(resident, QuizConfig(question_count=3))
    engine.finish_attempt(attempt=attempt, now=at(30))
    with pytest.raises(NotDiscardable) as refused:
        starting.discard_attempt(attempt=attempt, user=resident, now=at(40))
    assert refused.value.reason == NotDiscardable.FINISHED
    assert "finished" in str(refused.value)
    assert Attempt.objects.filter(pk=attempt.pk).exists()


def test_a_timed_quiz_past_its_deadline_cannot_be_discarded(resident, questions):
    """Its time ran out: it counts, as of its deadline, and is finished when next read."""
    attempt = quick(resident, QuizConfig(question_count=2))
    with pytest.raises(NotDiscardable):
        starting.discard_attempt(
            attempt=attempt, user=resident, now=at(180 + engine.GRACE_SECONDS + 1)
        )
    assert Attempt.objects.filter(pk=attempt.pk).exists()


def test_an_assignments_attempt_cannot_be_discarded(resident, questions):
    cohort = Cohort.objects.create(name="Alpha")
    cohort.residents.add(resident)
    assignment = assignments.create_assignment(
        cohort=cohort,
        created_by=None,
        title="Week 1",
        kind=Assignment.Kind.FIXED,
        mode=Attempt.Mode.TIMED,
        opens_at=T0 - datetime.timedelta(days=1),
        due_at=T0 + datetime.timedelta(days=1),
        questions=questions[:2],
    )
    attempt = starting.start_assignment(user=resident, assignment=assignment, now=T0)
    assert starting.discard_refusal(attempt, now=at(1)).reason == NotDiscardable.ASSIGNMENT
    with pytest.raises(NotDiscardable, match="assignment"):
        starting.discard_attempt(attempt=attempt, user=resident, now=at(1))
    assert Attempt.objects.filter(pk=attempt.pk).exists()


def test_a_block_of_an_exam_simulation_cannot_be_discarded_nor_resumed_as_practice(resident):
    PublishableQuestionFactory.create_batch(2 * MIN_BLOCK_SIZE)
    exam = simulation.create_simulation(
        user=resident, block_count=2, block_size=MIN_BLOCK_SIZE, break_seconds=60
    )
    block = simulation.start_block(simulation=exam, user=resident)
    assert starting.discard_refusal(block).reason == NotDiscardable.SIMULATION
    with pytest.raises(NotDiscardable, match="simulation"):
        starting.discard_attempt(attempt=block, user=resident)
    assert Attempt.objects.filter(pk=block.pk).exists()
    same = QuizConfig(question_count=block.question_count, mode=block.mode, pool=block.pool)
    assert starting.identical_in_progress(user=resident, config=same) is None


def test_another_residents_quiz_cannot_be_discarded(resident, questions):
    attempt = quick(UserFactory(), QuizConfig(question_count=2))
    with pytest.raises(Attempt.DoesNotExist):
        starting.discard_attempt(attempt=attempt, user=resident, now=at(1))
    assert Attempt.objects.filter(pk=attempt.pk).exists()


def test_discarding_takes_the_attempts_row_lock_first(resident, questions):
    attempt = quick(resident, QuizConfig(question_count=2))
    with CaptureQueriesContext(connection) as captured:
        starting.discard_attempt(attempt=attempt, user=resident, now=at(1))
    reads = [q["sql"] for q in captured.captured_queries if q["sql"].startswith("SELECT")]
    assert reads[0].startswith('SELECT "questions_attempt"')
    if connection.features.has_select_for_update:
        assert reads[0].endswith("FOR UPDATE")


# --- At the same moment (PostgreSQL) -------------------------------------------------------


def postgresql_only(test):
    """Threads committing for real: each test empties the tables afterwards."""
    for mark in (
        pytest.mark.django_db(transaction=True),
        pytest.mark.slow,
        pytest.mark.skipif(
            connection.vendor != "postgresql", reason="row locks need PostgreSQL (DATABASE_URL)"
        ),
    ):
        test = mark(test)
    return test


@postgresql_only
@pytest.mark.usefixtures("questions")
def test_the_same_quick_start_pressed_in_four_tabs_at_once_starts_one_quiz(resident):
    config = QuizConfig(question_count=3, mode=Attempt.Mode.TUTOR)
    errors = run_together(
        4,
        lambda i: starting.start_attempt(user=resident, config=config, resume_identical=True),
    )
    assert errors == [None] * 4
    assert Attempt.objects.filter(user=resident).count() == 1


@postgresql_only
def test_discarding_while_finishing_either_finishes_or_discards(resident, questions):
    attempt = starting.start_attempt(user=resident, config=QuizConfig(question_count=3))
    actions = [
        lambda: engine.finish_attempt(attempt=attempt),
        lambda: starting.discard_attempt(attempt=attempt, user=resident),
    ]
    errors = run_together(2, lambda i: actions[i]())
    remaining = Attempt.objects.filter(pk=attempt.pk).first()
    if remaining is None:  # discarded first: the finish found no quiz
        assert errors[1] is None and isinstance(errors[0], Attempt.DoesNotExist)
    else:  # finished first: the discard was refused
        assert remaining.is_finished and errors[0] is None
        assert isinstance(errors[1], NotDiscardable)
