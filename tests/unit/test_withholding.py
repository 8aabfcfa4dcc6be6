"""What an assignment assesses stays out of its residents' practice until it is due: no
practice pool, review or flashcard shows those questions (and so their keys) meanwhile."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from questions.learning import flashcards
from questions.models import Assignment, Attempt, Cohort
from questions.quizzes import assignments, drawing, engine, starting
from tests.factories import PublishableQuestionFactory, TopicFactory, UserFactory

pytestmark = pytest.mark.django_db

NOW = timezone.now()


@pytest.fixture
def bank():
    topic = TopicFactory(name="Anatomy")
    questions = PublishableQuestionFactory.create_batch(6)
    for question in questions:
        question.topics.add(topic)
    return {"topic": topic, "questions": questions}


@pytest.fixture
def ann(bank):
    return UserFactory(username="ann")


def set_assignment(resident, questions, *, opens_at, due_at):
    cohort = Cohort.objects.create(name=f"Cohort of {resident.username}")
    cohort.residents.add(resident)
    return assignments.create_assignment(
        cohort=cohort,
        created_by=None,
        title="Week 1",
        kind=Assignment.Kind.FIXED,
        mode=Attempt.Mode.TIMED,
        opens_at=opens_at,
        due_at=due_at,
        questions=questions,
    )


def ids(questions) -> set[int]:
    return {q.pk for q in questions}


@pytest.fixture
def assessed(ann, bank):
    """An open assignment of ann's cohort on the first two questions, due in two days."""
    questions = bank["questions"][:2]
    set_assignment(
        ann,
        questions,
        opens_at=NOW - datetime.timedelta(hours=1),
        due_at=NOW + datetime.timedelta(days=2),
    )
    return ids(questions)


@pytest.mark.parametrize("pool", [Attempt.Pool.ALL, Attempt.Pool.UNUSED])
def test_no_practice_pool_holds_an_open_assignments_questions(ann, assessed, pool):
    held = drawing.pool_questions(user=ann, pool=pool, now=NOW)
    assert ids(held).isdisjoint(assessed)
    assert held.count() == 4


def test_a_practice_quiz_cannot_draw_them_and_the_builder_says_how_many_are_held_back(
    ann, bank, assessed
):
    drawn = drawing.draw_questions(user=ann, count=4, now=NOW)
    assert ids(drawn).isdisjoint(assessed)
    with pytest.raises(drawing.PoolTooSmall) as caught:
        drawing.draw_questions(user=ann, count=5, now=NOW)
    assert caught.value.available == 4
    counts = drawing.pool_counts(user=ann, now=NOW)
    assert counts["all"]["total"] == counts["unused"]["total"] == 4
    assert counts["all"][bank["topic"].pk] == 4
    assert drawing.held_back_count(user=ann, now=NOW) == 2
    assert drawing.held_back_count(user=ann, topics=[TopicFactory()], now=NOW) == 0


def test_a_review_of_missed_questions_and_the_flashcards_leave_them_out(ann, bank):
    # Missed in a practice quiz before the assignment was set.
    practice = starting.start_attempt(
        user=ann, config=starting.QuizConfig(question_count=6, mode=Attempt.Mode.TUTOR)
    )
    for item in practice.items.all():
        wrong = next(c["letter"] for c in item.shown["choices"] if not c["is_correct"])
        engine.answer(attempt=practice, position=item.position, letter=wrong, lock=True)
    engine.finish_attempt(attempt=practice)
    missed = {i.question_id for i in practice.items.all() if not i.is_correct}
    assert missed == ids(bank["questions"])
    first_two = ids(bank["questions"][:2])
    set_assignment(
        ann,
        bank["questions"][:2],
        opens_at=NOW - datetime.timedelta(hours=1),
        due_at=NOW + datetime.timedelta(days=2),
    )
    assert ids(drawing.pool_questions(user=ann, pool="incorrect", now=NOW)) == missed - first_two
    assert ids(flashcards.missed_questions(ann, now=NOW)) == missed - first_two
    later = NOW + datetime.timedelta(days=3)
    assert ids(flashcards.missed_questions(ann, now=later)) == missed


def test_they_return_once_it_is_due_and_an_announced_one_already_holds_them(ann, bank):
    assignment = set_assignment(
        ann,
        bank["questions"][:2],
        opens_at=NOW + datetime.timedelta(days=1),  # announced, not open yet
        due_at=NOW + datetime.timedelta(days=3),
    )
    assert drawing.pool_questions(user=ann, now=NOW).count() == 4
    after = assignment.due_at + datetime.timedelta(seconds=1)
    assert drawing.pool_questions(user=ann, now=after).count() == 6
    assert drawing.held_back_count(user=ann, now=after) == 0


def test_residents_outside_the_cohort_practice_everything(bank, assessed):
    other = UserFactory()
    assert drawing.pool_questions(user=other, now=NOW).count() == 6


def test_the_assignment_itself_still_serves_them(ann, assessed):
    assignment = Assignment.objects.get()
    attempt = starting.start_assignment(user=ann, assignment=assignment)
    assert set(attempt.items.values_list("question_id", flat=True)) == assessed


def test_the_builder_page_says_how_many_are_held_back(client, ann, assessed):
    client.force_login(ann)
    page = client.get(reverse("questions:attempt_new")).content.decode()
    assert "2 questions of these topics are held back" in page
    assert "This selection holds <strong>4</strong> questions" in page


# --- The resident's own past results --------------------------------------------------------


@pytest.fixture
def answered_then_assessed(client, ann, bank):
    """Ann's finished practice quiz on every question (each answered right), then an open
    assignment of her cohort on the first question (whose rationales are its own)."""
    for choice in bank["questions"][0].choices.all():
        choice.rationale = f"Rationale only the assessed question has ({choice.letter})."
        choice.save()
    quiz = starting.start_attempt(
        user=ann, config=starting.QuizConfig(question_count=6, mode=Attempt.Mode.TUTOR)
    )
    for item in quiz.items.all():
        key = next(c["letter"] for c in item.shown["choices"] if c["is_correct"])
        engine.answer(attempt=quiz, position=item.position, letter=key, lock=True)
    quiz = engine.finish_attempt(attempt=quiz)
    assessed = bank["questions"][0]
    assignment = set_assignment(
        ann,
        [assessed],
        opens_at=NOW - datetime.timedelta(hours=1),
        due_at=NOW + datetime.timedelta(days=2),
    )
    client.force_login(ann)
    position = quiz.items.get(question=assessed).position
    return quiz, position, assessed, assignment


def test_a_past_result_hides_the_key_of_a_question_an_open_assignment_asks(
    client, answered_then_assessed
):
    quiz, position, assessed, _ = answered_then_assessed
    item_page = client.get(
        reverse("questions:attempt_result_item", args=[quiz.pk, position])
    ).content.decode()
    assert 'id="held-back"' in item_page
    assert "Correct answer" not in item_page and "Your answer" not in item_page
    for choice in assessed.choices.all():
        assert choice.rationale not in item_page
    other = 1 if position != 1 else 2
    other_page = client.get(
        reverse("questions:attempt_result_item", args=[quiz.pk, other])
    ).content.decode()
    assert 'id="held-back"' not in other_page and "Correct answer" in other_page

    long_page = client.get(reverse("questions:attempt_results_all", args=[quiz.pk])).content
    assert long_page.decode().count("held-back") == 1
    assert all(c.rationale not in long_page.decode() for c in assessed.choices.all())

    summary = client.get(reverse("questions:attempt_results", args=[quiz.pk])).content.decode()
    assert summary.count("Held back: an open assignment") == 1
    assert summary.count("✓</span> Correct") == 5


def test_the_key_comes_back_once_the_assignment_is_due_and_educators_always_see_it(
    client, answered_then_assessed
):
    from questions.analytics import pages

    quiz, position, _, assignment = answered_then_assessed
    after = assignment.due_at + datetime.timedelta(seconds=1)
    assert pages.result_item_context(quiz, position, now=after)["explained"] is not None
    assert pages.result_item_context(quiz, position)["held_until"] == assignment.due_at
    rows = pages.results_context(quiz, withhold=False)["rows"]
    assert all(row["held_until"] is None for row in rows)
