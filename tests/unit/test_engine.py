"""The attempt lifecycle, with time passed explicitly."""

import datetime
import random

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from questions.models import Attempt, AttemptItem, ResidentProfile
from questions.quizzes import drawing, engine, errors, starting
from questions.quizzes.starting import QuizConfig
from tests.factories import PublishableQuestionFactory, UserFactory

pytestmark = pytest.mark.django_db

T0 = datetime.datetime(2026, 11, 21, 9, 0, tzinfo=datetime.UTC)


def at(seconds):
    return T0 + datetime.timedelta(seconds=seconds)


@pytest.fixture
def resident():
    return UserFactory()


@pytest.fixture
def three_questions():
    return PublishableQuestionFactory.create_batch(3)


def start(user, *, count=3, mode=Attempt.Mode.TIMED, seed=1, **config):
    return starting.start_attempt(
        user=user,
        config=QuizConfig(question_count=count, mode=mode, **config),
        now=T0,
        rng=random.Random(seed),
    )


def key_letter(item):
    return next(c["letter"] for c in item.shown["choices"] if c["is_correct"])


def wrong_letter(item):
    return next(c["letter"] for c in item.shown["choices"] if not c["is_correct"])


def test_start_fixes_the_deadline_and_freezes_what_is_shown(resident, three_questions):
    attempt = start(resident)
    assert (attempt.status, attempt.time_limit_seconds) == ("in_progress", 270)
    assert attempt.deadline_at == at(270)
    items = list(attempt.items.all())
    assert [i.position for i in items] == [1, 2, 3]
    assert {i.question_id for i in items} == {q.pk for q in three_questions}
    for item in items:
        assert [c["letter"] for c in item.shown["choices"]] == list("ABCDE")
        assert sum(c["is_correct"] for c in item.shown["choices"]) == 1


def test_time_setting_stretches_the_clock_and_untimed_has_none(resident, three_questions):
    ResidentProfile.objects.create(user=resident, time_setting="x1.5")
    assert start(resident).time_limit_seconds == 405
    ResidentProfile.objects.filter(user=resident).update(time_setting="untimed")
    untimed = start(resident)
    assert (untimed.time_limit_seconds, untimed.deadline_at) == (None, None)


def test_tutor_mode_has_no_clock(resident, three_questions):
    attempt = start(resident, mode=Attempt.Mode.TUTOR)
    assert (attempt.time_limit_seconds, attempt.deadline_at) == (None, None)


def test_choice_and_question_order_are_shuffled_per_attempt(resident):
    PublishableQuestionFactory.create_batch(8)
    orders = {
        tuple(i.question_id for i in start(resident, count=8, seed=seed).items.all())
        for seed in range(5)
    }
    keys = {key_letter(start(resident, count=8, seed=seed).items.first()) for seed in range(8)}
    assert len(orders) > 1
    assert len(keys) > 1


def test_a_pool_too_small_names_how_many_there_are(resident, three_questions):
    with pytest.raises(drawing.PoolTooSmall, match="Only 3 questions match"):
        start(resident, count=4)
    assert not Attempt.objects.exists()


def test_timed_answers_can_change_until_finish_and_are_scored_then(resident, three_questions):
    attempt = start(resident)
    first = attempt.items.get(position=1)
    engine.answer(attempt=attempt, position=1, letter=wrong_letter(first), now=at(10))
    engine.answer(attempt=attempt, position=1, letter=key_letter(first).lower(), now=at(20))
    first.refresh_from_db()
    assert (first.selected_letter, first.is_correct, first.locked_at) == (
        key_letter(first),
        None,
        None,
    )
    finished = engine.finish_attempt(attempt=attempt, now=at(100))
    assert (finished.status, finished.finish_reason, finished.correct_count) == (
        "finished",
        "submitted",
        1,
    )
    assert finished.finished_at == at(100)
    outcomes = list(finished.items.values_list("is_correct", flat=True))
    assert outcomes == [True, False, False]


def test_tutor_answer_is_final_and_scored_at_once(resident, three_questions):
    attempt = start(resident, mode=Attempt.Mode.TUTOR)
    item = attempt.items.get(position=2)
    engine.answer(attempt=attempt, position=2, letter=wrong_letter(item), now=at(5))
    item.refresh_from_db()
    assert (item.is_correct, item.locked_at) == (False, at(5))
    with pytest.raises(errors.AnswerLocked):
        engine.answer(attempt=attempt, position=2, letter=key_letter(item), now=at(6))
    engine.answer(attempt=attempt, position=2, letter=wrong_letter(item), now=at(7))  # same: no-op
    item.refresh_from_db()
    assert item.answered_at == at(5)


def test_the_same_answer_twice_is_recorded_once(resident, three_questions):
    attempt = start(resident)
    item = attempt.items.get(position=1)
    engine.answer(attempt=attempt, position=1, letter="B", now=at(5))
    engine.answer(attempt=attempt, position=1, letter="B", now=at(9))
    item.refresh_from_db()
    assert (item.selected_letter, item.answered_at) == ("B", at(5))


def test_answer_within_grace_after_deadline_is_accepted(resident, three_questions):
    attempt = start(resident)
    engine.answer(attempt=attempt, position=3, letter="C", now=at(270 + engine.GRACE_SECONDS))
    assert attempt.items.get(position=3).selected_letter == "C"


def test_late_answer_is_refused_and_the_attempt_is_finished_as_of_the_deadline(
    resident, three_questions
):
    attempt = start(resident)
    first = attempt.items.get(position=1)
    engine.answer(attempt=attempt, position=1, letter=key_letter(first), now=at(30))
    with pytest.raises(errors.DeadlinePassed):
        engine.answer(
            attempt=attempt, position=2, letter="A", now=at(270 + engine.GRACE_SECONDS + 1)
        )
    attempt.refresh_from_db()
    assert (attempt.status, attempt.finish_reason, attempt.finished_at) == (
        "finished",
        "deadline",
        at(270),
    )
    assert attempt.correct_count == 1
    assert attempt.items.get(position=2).selected_letter == ""


def test_reading_an_overdue_attempt_expires_it_at_the_deadline(resident, three_questions):
    attempt = start(resident)
    assert engine.expire_if_due(attempt, now=at(270)).status == "in_progress"
    expired = engine.expire_if_due(attempt, now=at(10_000))
    assert (expired.status, expired.finished_at, expired.correct_count) == ("finished", at(270), 0)


def test_finishing_twice_is_harmless(resident, three_questions):
    attempt = start(resident)
    first = engine.finish_attempt(attempt=attempt, now=at(60))
    second = engine.finish_attempt(attempt=attempt, now=at(90))
    assert (second.finished_at, second.correct_count) == (first.finished_at, first.correct_count)


def test_finishing_an_overdue_attempt_stamps_the_deadline(resident, three_questions):
    attempt = start(resident)
    finished = engine.finish_attempt(attempt=attempt, now=at(5000))
    assert (finished.finished_at, finished.finish_reason) == (at(270), "deadline")


def test_flag_and_position_are_remembered_for_resuming(resident, three_questions):
    attempt = start(resident)
    engine.set_flag(attempt=attempt, position=2, flagged=True, now=at(3))
    engine.set_flag(attempt=attempt, position=2, flagged=True, now=at(4))
    engine.go_to(attempt=attempt, position=3, now=at(5))
    attempt.refresh_from_db()
    assert attempt.current_position == 3
    assert list(attempt.items.values_list("is_flagged", flat=True)) == [False, True, False]


@pytest.mark.parametrize(
    ("action", "error"),
    [
        (
            lambda a: engine.answer(attempt=a, position=1, letter="A", now=at(100)),
            errors.AttemptFinished,
        ),
        (
            lambda a: engine.set_flag(attempt=a, position=1, flagged=True, now=at(100)),
            errors.AttemptFinished,
        ),
        (lambda a: engine.go_to(attempt=a, position=2, now=at(100)), errors.AttemptFinished),
    ],
)
def test_a_finished_attempt_refuses_every_change(resident, three_questions, action, error):
    attempt = start(resident)
    engine.finish_attempt(attempt=attempt, now=at(50))
    with pytest.raises(error):
        action(attempt)


@pytest.mark.parametrize(
    ("position", "letter", "error"),
    [
        (4, "A", errors.InvalidPosition),
        (0, "A", errors.InvalidPosition),
        (1, "F", errors.InvalidChoice),
        (1, "", errors.InvalidChoice),
    ],
)
def test_bad_positions_and_letters_are_refused(resident, three_questions, position, letter, error):
    attempt = start(resident)
    with pytest.raises(error):
        engine.answer(attempt=attempt, position=position, letter=letter, now=at(5))
    assert not attempt.items.exclude(selected_letter="").exists()


def test_editing_a_question_later_does_not_change_what_was_shown(resident, three_questions):
    attempt = start(resident)
    item = attempt.items.get(position=1)
    shown = item.shown
    question = item.question
    question.stem = "Rewritten stem."
    question.save()
    question.choices.update(text="Rewritten choice")
    item.refresh_from_db()
    assert item.shown == shown


class TestPools:
    def test_unused_excludes_questions_already_shown(self, resident, three_questions):
        attempt = start(resident, count=2)
        shown = set(attempt.items.values_list("question", flat=True))
        unused = set(
            drawing.pool_questions(user=resident, pool="unused").values_list("pk", flat=True)
        )
        assert unused == {q.pk for q in three_questions} - shown

    def test_incorrect_follows_the_most_recent_answer(self, resident, three_questions):
        first = start(resident, mode=Attempt.Mode.TUTOR, count=3)
        items = list(first.items.all())
        engine.answer(attempt=first, position=1, letter=wrong_letter(items[0]), now=at(1))
        engine.answer(attempt=first, position=2, letter=key_letter(items[1]), now=at(2))
        engine.finish_attempt(attempt=first, now=at(3))  # position 3 unanswered: wrong
        incorrect = set(
            drawing.pool_questions(user=resident, pool="incorrect").values_list("pk", flat=True)
        )
        assert incorrect == {items[0].question_id, items[2].question_id}
        assert not drawing.pool_questions(user=UserFactory(), pool="incorrect").exists()

    def test_flagged_pool_holds_flagged_questions(self, resident, three_questions):
        attempt = start(resident)
        engine.set_flag(attempt=attempt, position=1, flagged=True, now=at(1))
        flagged = list(
            drawing.pool_questions(user=resident, pool="flagged").values_list("pk", flat=True)
        )
        assert flagged == [attempt.items.get(position=1).question_id]

    def test_topics_narrow_the_pool_and_drafts_never_enter(self, resident, three_questions):
        from tests.factories import TopicFactory

        topic = TopicFactory()
        three_questions[0].topics.add(topic)
        PublishableQuestionFactory(status="draft").topics.add(topic)
        in_topic = list(
            drawing.pool_questions(user=resident, topics=[topic]).values_list("pk", flat=True)
        )
        assert in_topic == [three_questions[0].pk]


def test_time_on_each_question_is_credited_when_the_resident_moves_on(resident, three_questions):
    attempt = start(resident)
    engine.go_to(attempt=attempt, position=2, now=at(40))
    engine.answer(attempt=attempt, position=2, letter="A", now=at(50))
    engine.go_to(attempt=attempt, position=1, now=at(65))
    engine.finish_attempt(attempt=attempt, now=at(70))
    spent = list(attempt.items.values_list("seconds_spent", flat=True))
    assert spent == [45, 25, 0]


def test_a_tab_left_open_counts_at_most_ten_minutes(resident, three_questions):
    attempt = start(resident, mode=Attempt.Mode.TUTOR)
    engine.go_to(attempt=attempt, position=2, now=at(24 * 3600))
    assert attempt.items.get(position=1).seconds_spent == engine.MAX_SECONDS_PER_VISIT


def _first_encounters(user):
    """{question id: attempt id} of the user's marked first encounters."""
    marked = AttemptItem.objects.filter(attempt__user=user, first_encounter=True)
    pairs = list(marked.values_list("question_id", "attempt_id"))
    assert len(pairs) == len({q for q, _ in pairs}), "one first encounter per question"
    return dict(pairs)


def test_finishing_marks_the_first_finished_encounter_of_each_question(resident):
    questions = PublishableQuestionFactory.create_batch(3)
    first = start(resident, count=2, seed=1)
    assert _first_encounters(resident) == {}, "an unfinished quiz is not an encounter yet"
    engine.finish_attempt(attempt=first, now=at(60))
    first_pair = {item.question_id for item in first.items.all()}
    assert _first_encounters(resident) == dict.fromkeys(first_pair, first.pk)

    second = start(resident, count=3, seed=2)
    engine.finish_attempt(attempt=second, now=at(120))
    (new,) = {q.pk for q in questions} - first_pair
    expected = dict.fromkeys(first_pair, first.pk) | {new: second.pk}
    assert _first_encounters(resident) == expected


def test_a_quiz_started_earlier_but_finished_later_takes_the_first_encounter(resident):
    PublishableQuestionFactory.create_batch(2)
    earlier = start(resident, count=2, mode=Attempt.Mode.TUTOR, seed=1)
    later = starting.start_attempt(
        user=resident,
        config=QuizConfig(question_count=2, mode=Attempt.Mode.TUTOR),
        now=at(30),
        rng=random.Random(2),
    )
    engine.finish_attempt(attempt=later, now=at(60))
    assert set(_first_encounters(resident).values()) == {later.pk}

    engine.finish_attempt(attempt=earlier, now=at(90))
    assert set(_first_encounters(resident).values()) == {earlier.pk}
    assert len(_first_encounters(resident)) == 2


def test_an_expired_quiz_marks_its_first_encounters(resident, three_questions):
    attempt = start(resident)
    assert engine.expire_overdue(now=at(10_000)) == 1
    assert _first_encounters(resident) == {q.pk: attempt.pk for q in three_questions}


def test_refreshing_everything_repairs_marks_and_changes_nothing_when_right(resident):
    PublishableQuestionFactory.create_batch(2)
    attempt = start(resident, count=2)
    engine.finish_attempt(attempt=attempt, now=at(60))
    assert engine.refresh_first_encounters() == 0
    AttemptItem.objects.update(first_encounter=False)
    assert engine.refresh_first_encounters() == 2
    assert set(_first_encounters(resident).values()) == {attempt.pk}


# --- Start and finish in bulk: their statements do not grow with the quiz ------------------


def _statements(run) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        run()
    return [query["sql"] for query in captured.captured_queries]


def _whens(statements: list[str]) -> int:
    """The most CASE branches in one statement: bulk_update writes one per row and field."""
    return max(sql.count(" WHEN ") for sql in statements)


def test_finishing_scores_and_locks_every_item_with_statements_that_do_not_grow(resident):
    questions = PublishableQuestionFactory.create_batch(40)
    shapes = []
    for size in (5, 40):
        attempt = start(resident, count=size, seed=size)
        items = list(attempt.items.order_by("position"))
        engine.answer(attempt=attempt, position=1, letter=key_letter(items[0]), now=at(10))
        engine.answer(attempt=attempt, position=2, letter=wrong_letter(items[1]), now=at(20))
        statements = _statements(lambda a=attempt: engine.finish_attempt(attempt=a, now=at(30)))
        shapes.append((len(statements), _whens(statements)))
        finished = Attempt.objects.get(pk=attempt.pk)
        assert finished.correct_count == 1
        outcomes = list(finished.items.order_by("position").values_list("is_correct", flat=True))
        assert outcomes == [True] + [False] * (size - 1)
        assert not finished.items.filter(locked_at__isnull=True).exists()
        assert finished.items.get(position=2).seconds_spent == 10  # on it from 20 s to 30 s
    assert len(questions) == 40
    assert shapes[0] == shapes[1], shapes


def test_finishing_a_tutor_quiz_keeps_what_was_locked_and_scores_the_rest(resident):
    PublishableQuestionFactory.create_batch(4)
    attempt = start(resident, count=4, mode=Attempt.Mode.TUTOR)
    items = list(attempt.items.order_by("position"))
    engine.answer(attempt=attempt, position=1, letter=wrong_letter(items[0]), now=at(10))
    engine.answer(  # picked, not submitted: scored at the finish
        attempt=attempt, position=2, letter=key_letter(items[1]), lock=False, now=at(20)
    )
    engine.answer(attempt=attempt, position=3, letter=key_letter(items[2]), now=at(30))
    engine.go_to(attempt=attempt, position=3, now=at(40))
    before = Attempt.objects.get(pk=attempt.pk)
    spent = list(attempt.items.order_by("position").values_list("seconds_spent", flat=True))
    finished = engine.finish_attempt(attempt=attempt, now=at(100))
    rows = list(finished.items.order_by("position").values_list("is_correct", "locked_at"))
    assert rows == [(False, at(10)), (True, at(100)), (True, at(30)), (False, at(100))]
    assert finished.correct_count == 2
    # The question the resident was on (locked before) is credited up to the finish.
    assert before.current_position == 3
    spent[2] += int((at(100) - before.position_entered_at).total_seconds())
    assert (
        list(finished.items.order_by("position").values_list("seconds_spent", flat=True)) == spent
    )


def test_starting_a_quiz_takes_the_same_queries_for_5_questions_or_40(resident):
    PublishableQuestionFactory.create_batch(40)
    ResidentProfile.objects.create(user=resident)
    counts = [len(_statements(lambda n=n: start(resident, count=n))) for n in (5, 40)]
    # The draw, the questions' choices and citations; the resident's pace; the attempt and
    # its items; and the transaction (here a SAVEPOINT and its RELEASE, in the test's).
    assert counts == [8, 8]
