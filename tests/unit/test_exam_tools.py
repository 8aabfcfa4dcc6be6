"""The exam's tools (strike-out, highlights, notes, pause) and the engine states they add
(tutor choices saved before submitting, the submit screen), with time passed explicitly."""

import datetime
import random

import pytest

from questions.models import Assignment, Attempt, Cohort, Question
from questions.quizzes import engine, errors, exam_tools, starting
from questions.quizzes.starting import QuizConfig
from tests.factories import PublishableQuestionFactory, UserFactory

pytestmark = pytest.mark.django_db

T0 = datetime.datetime(2026, 11, 21, 9, 0, tzinfo=datetime.UTC)
LIMIT = exam_tools.PAUSE_LIMIT_SECONDS


def at(seconds):
    return T0 + datetime.timedelta(seconds=seconds)


@pytest.fixture
def resident():
    return UserFactory()


@pytest.fixture(autouse=True)
def three_questions(db):
    return PublishableQuestionFactory.create_batch(3)


def start(user, *, mode=Attempt.Mode.TIMED):
    return starting.start_attempt(
        user=user,
        config=QuizConfig(question_count=3, mode=mode),
        now=T0,
        rng=random.Random(1),
    )


def key_letter(item):
    return next(c["letter"] for c in item.shown["choices"] if c["is_correct"])


def item_at(attempt, position):
    return attempt.items.get(position=position)


# --- strike-out ---------------------------------------------------------------------------


def test_strike_toggles_a_choice_and_keeps_the_answer(resident):
    attempt = start(resident)
    engine.answer(attempt=attempt, position=1, letter="B", now=at(5))
    exam_tools.toggle_strike(attempt=attempt, position=1, letter="d", now=at(6))
    exam_tools.toggle_strike(attempt=attempt, position=1, letter="B", now=at(7))
    item = item_at(attempt, 1)
    assert (item.struck_letters, item.selected_letter) == ("BD", "B")
    exam_tools.toggle_strike(attempt=attempt, position=1, letter="D", now=at(8))
    assert item_at(attempt, 1).struck_letters == "B"


def test_strike_of_a_letter_the_question_lacks_is_refused(resident):
    attempt = start(resident)
    with pytest.raises(errors.InvalidChoice):
        exam_tools.toggle_strike(attempt=attempt, position=1, letter="Z", now=at(5))
    assert item_at(attempt, 1).struck_letters == ""


def test_strike_after_the_deadline_finishes_the_quiz_and_is_refused(resident):
    attempt = start(resident)
    with pytest.raises(errors.DeadlinePassed):
        exam_tools.toggle_strike(attempt=attempt, position=1, letter="A", now=at(400))
    attempt.refresh_from_db()
    assert attempt.is_finished and attempt.finished_at == attempt.deadline_at


def test_another_residents_attempt_cannot_be_struck(resident):
    attempt = start(resident)
    with pytest.raises(Attempt.DoesNotExist):
        exam_tools.toggle_strike(
            attempt=attempt.pk, position=1, letter="A", user=UserFactory(), now=at(5)
        )


# --- highlights ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "start", "end", "after"),
    [
        ([], 3, 7, [[3, 7]]),
        ([[3, 7]], 7, 9, [[3, 9]]),  # touching ranges merge
        ([[3, 7]], 5, 12, [[3, 12]]),  # overlapping ranges merge
        ([[3, 7], [10, 12]], 0, 20, [[0, 20]]),
        ([[3, 12]], 5, 8, [[3, 5], [8, 12]]),  # inside a highlight: clears that part
        ([[3, 7]], 3, 7, []),
        ([[3, 7]], 8, 8, [[3, 7]]),  # nothing selected
        ([], -5, 4, [[0, 4]]),  # clipped to the stem
        ([], 25, 90, [[25, 30]]),
    ],
)
def test_merge_highlight(before, start, end, after):
    assert exam_tools.merge_highlight(before, start, end, 30) == after


def test_highlights_are_kept_on_the_item_as_ranges_of_the_frozen_stem(resident):
    attempt = start(resident)
    length = len(item_at(attempt, 2).shown["stem"])
    exam_tools.highlight(attempt=attempt, position=2, start=0, end=5, now=at(5))
    exam_tools.highlight(attempt=attempt, position=2, start=10, end=10**6, now=at(6))
    assert item_at(attempt, 2).highlights == [[0, 5], [10, length]]
    exam_tools.clear_highlights(attempt=attempt, position=2, now=at(7))
    assert item_at(attempt, 2).highlights == []


# --- notes --------------------------------------------------------------------------------


def test_a_note_is_written_during_and_after_the_quiz_and_deleted_when_blank(resident):
    attempt = start(resident)
    exam_tools.set_note(attempt=attempt, position=1, text="  Check L1-L3  \r\n", now=at(5))
    item = item_at(attempt, 1)
    assert (item.note, item.note_updated_at) == ("Check L1-L3", at(5))
    engine.finish_attempt(attempt=attempt, now=at(10))
    exam_tools.set_note(attempt=attempt, position=1, text="Iliac crest", now=at(20))
    assert item_at(attempt, 1).note == "Iliac crest"
    exam_tools.set_note(attempt=attempt, position=1, text=" ", now=at(30))
    item = item_at(attempt, 1)
    assert (item.note, item.note_updated_at) == ("", None)


def test_a_note_over_the_limit_is_refused_and_nothing_is_saved(resident):
    attempt = start(resident)
    exam_tools.set_note(attempt=attempt, position=1, text="first", now=at(5))
    with pytest.raises(errors.EngineError, match="at most 2000"):
        exam_tools.set_note(attempt=attempt, position=1, text="x" * 2001, now=at(6))
    assert item_at(attempt, 1).note == "first"


def test_notes_only_on_ones_own_attempts(resident):
    attempt = start(resident)
    with pytest.raises(Attempt.DoesNotExist):
        exam_tools.set_note(attempt=attempt.pk, position=1, text="x", user=UserFactory())
    with pytest.raises(Attempt.DoesNotExist):
        exam_tools.set_note(attempt=attempt.pk, position=9, text="x", user=resident)


# --- pause --------------------------------------------------------------------------------


def test_pause_and_resume_move_the_deadline_by_the_time_paused(resident):
    attempt = start(resident)  # 3 questions at 90 s: deadline T0 + 270 s
    exam_tools.pause(attempt=attempt, now=at(60))
    attempt.refresh_from_db()
    assert attempt.paused_at == at(60) and engine.is_paused(attempt, at(100))
    assert attempt.deadline_at == at(270 + LIMIT)  # the most it can move while paused
    exam_tools.resume(attempt=attempt, now=at(160))
    attempt.refresh_from_db()
    assert (attempt.deadline_at, attempt.paused_seconds, attempt.paused_at) == (
        at(370),
        100,
        None,
    )


def test_a_pause_nobody_ends_ends_by_itself_at_the_allowance(resident):
    attempt = start(resident)
    exam_tools.pause(attempt=attempt, now=at(60))
    attempt.refresh_from_db()
    assert not engine.is_paused(attempt, at(60 + LIMIT))
    exam_tools.resume(attempt=attempt, now=at(60 + LIMIT + 100))
    attempt.refresh_from_db()
    assert (attempt.deadline_at, attempt.paused_seconds) == (at(270 + LIMIT), LIMIT)
    with pytest.raises(errors.CannotPause, match="no pause left"):
        exam_tools.pause(attempt=attempt, now=at(60 + LIMIT + 101))


def test_an_abandoned_paused_quiz_finishes_at_its_deadline_plus_the_allowance(resident):
    attempt = start(resident)
    exam_tools.pause(attempt=attempt, now=at(60))
    assert engine.expire_overdue(now=at(270 + LIMIT + engine.GRACE_SECONDS + 1)) == 1
    attempt.refresh_from_db()
    assert attempt.is_finished and attempt.finished_at == at(270 + LIMIT)
    assert (attempt.paused_at, attempt.deadline_before_pause) == (None, None)


def test_a_paused_quiz_refuses_answers(resident):
    attempt = start(resident)
    exam_tools.pause(attempt=attempt, now=at(60))
    with pytest.raises(errors.QuizPaused):
        engine.answer(attempt=attempt, position=1, letter="A", now=at(70))
    assert item_at(attempt, 1).selected_letter == ""


def test_pausing_twice_is_one_pause(resident):
    attempt = start(resident)
    exam_tools.pause(attempt=attempt, now=at(60))
    exam_tools.pause(attempt=attempt, now=at(90))
    attempt.refresh_from_db()
    assert attempt.paused_at == at(60)


def test_finishing_a_paused_quiz_ends_the_pause(resident):
    attempt = start(resident)
    exam_tools.pause(attempt=attempt, now=at(60))
    engine.finish_attempt(attempt=attempt, now=at(90))
    attempt.refresh_from_db()
    assert attempt.is_finished and attempt.paused_at is None


def test_time_paused_is_not_credited_to_the_question(resident):
    attempt = start(resident)
    exam_tools.pause(attempt=attempt, now=at(40))
    exam_tools.resume(attempt=attempt, now=at(400))
    engine.save_and_go(attempt=attempt, position=1, to=2, now=at(410))
    assert item_at(attempt, 1).seconds_spent == 50


def test_tutor_quizzes_and_assignments_cannot_be_paused(resident):
    tutor = start(resident, mode=Attempt.Mode.TUTOR)
    with pytest.raises(errors.CannotPause, match="timed"):
        exam_tools.pause(attempt=tutor, now=at(5))
    cohort = Cohort.objects.create(name="A", join_code="ABCD2345")
    cohort.residents.add(resident)
    assignment = Assignment.objects.create(
        cohort=cohort,
        title="Block",
        question_count=3,
        opens_at=at(-60),
        due_at=at(3600),
        mode=Attempt.Mode.TIMED,
    )
    assignment.questions.set(Question.objects.all())
    attempt = starting.start_assignment(user=resident, assignment=assignment, now=T0)
    with pytest.raises(errors.CannotPause, match="assignment"):
        exam_tools.pause(attempt=attempt, now=at(5))
    attempt.refresh_from_db()
    assert attempt.paused_at is None


# --- tutor choices saved before submitting; the submit screen ------------------------------


def test_a_tutor_choice_saved_on_leaving_is_not_locked_until_submitted(resident):
    attempt = start(resident, mode=Attempt.Mode.TUTOR)
    item = item_at(attempt, 1)
    wrong = next(c["letter"] for c in item.shown["choices"] if not c["is_correct"])
    engine.answer(attempt=attempt, position=1, letter=wrong, lock=False, now=at(5))
    engine.answer(attempt=attempt, position=1, letter=key_letter(item), lock=False, now=at(6))
    item.refresh_from_db()
    assert (item.selected_letter, item.locked_at) == (key_letter(item), None)
    engine.answer(attempt=attempt, position=1, letter=key_letter(item), now=at(7))
    item.refresh_from_db()
    assert (item.locked_at, item.is_correct) == (at(7), True)


def test_a_tutor_choice_never_submitted_is_scored_when_the_quiz_finishes(resident):
    attempt = start(resident, mode=Attempt.Mode.TUTOR)
    item = item_at(attempt, 2)
    engine.answer(attempt=attempt, position=2, letter=key_letter(item), lock=False, now=at(5))
    attempt = engine.finish_attempt(attempt=attempt, now=at(9))
    assert attempt.correct_count == 1


def test_the_submit_screen_credits_the_question_left_and_returning_restarts_its_clock(
    resident,
):
    attempt = start(resident)
    engine.save_and_go(attempt=attempt, position=1, to=2, now=at(0))
    attempt, _ = engine.save_and_go(attempt=attempt, position=2, to=0, now=at(30))
    assert (attempt.current_position, attempt.position_entered_at) == (2, None)
    engine.save_and_go(attempt=attempt, position=2, to=0, now=at(200))  # staying: nothing
    engine.save_and_go(attempt=attempt, position=2, to=2, now=at(230))
    engine.save_and_go(attempt=attempt, position=2, to=3, now=at(240))
    assert item_at(attempt, 2).seconds_spent == 40


# --- time on a question reached by Back, a reload or its address (a read moves nothing) ---


def spent(attempt):
    return list(attempt.items.order_by("position").values_list("seconds_spent", flat=True))


def test_a_question_reopened_by_back_is_credited_from_when_it_was_read(resident):
    """Back is a page read, which moves nothing: the first thing sent from that page makes
    the move as of the read (the review's find: 75 s went to question 3 and 10 to 2)."""
    attempt = start(resident)
    engine.save_and_go(attempt=attempt, position=1, to=2, now=at(10))
    engine.save_and_go(attempt=attempt, position=2, to=3, now=at(20))
    engine.visit(attempt=attempt, position=2, now=at(25))  # Back to question 2
    engine.save_and_go(attempt=attempt, position=2, to=3, read_at=at(25), now=at(85))
    engine.finish_attempt(attempt=attempt, now=at(95))
    assert spent(attempt) == [10, 10 + 60, 5 + 10]


def test_a_question_opened_from_the_submit_screen_by_its_address_is_credited(resident):
    attempt = start(resident)
    engine.save_and_go(attempt=attempt, position=1, to=0, now=at(10))  # End quiz...
    engine.visit(attempt=attempt, position=1, now=at(15))  # Back, to question 1
    engine.save_and_go(attempt=attempt, position=1, letter="C", to=2, read_at=at(15), now=at(75))
    engine.finish_attempt(attempt=attempt, now=at(80))
    assert spent(attempt) == [10 + 60, 5, 0]


def test_a_page_served_before_the_last_move_changes_nothing(resident):
    """Another tab's older page: its read is before the move the other tab made."""
    attempt = start(resident)
    engine.save_and_go(attempt=attempt, position=1, to=2, now=at(30))
    engine.save_and_go(attempt=attempt, position=1, letter="B", read_at=at(5), now=at(40))
    attempt.refresh_from_db()
    assert (attempt.current_position, attempt.position_entered_at) == (1, at(40))
    assert spent(attempt) == [30, 10, 0]


@pytest.mark.parametrize(
    "token",
    ["", "junk", "1:2:3", None],
)
def test_a_page_read_token_is_believed_only_as_the_server_signed_it(resident, token):
    attempt = start(resident)
    good = engine.page_read_token(attempt=attempt, position=2, now=at(7))
    assert engine.page_read_at(good, attempt_pk=attempt.pk, position=2) == at(7)
    assert engine.page_read_at(good, attempt_pk=attempt.pk, position=3) is None
    assert engine.page_read_at(good, attempt_pk=attempt.pk + 1, position=2) is None
    forged = good.rsplit(":", 1)[0].replace(":2:", ":3:") + ":" + good.rsplit(":", 1)[1]
    assert engine.page_read_at(forged, attempt_pk=attempt.pk, position=3) is None
    if token is not None:
        assert engine.page_read_at(token, attempt_pk=attempt.pk, position=2) is None
