"""What an assignment assesses stays out of its residents' practice until it is due: no
practice pool, review or flashcard shows those questions (and so their keys) meanwhile; no
past result, tutor feedback, figure, export or peer statistic of the resident's own gives
their results away; all of it comes back once the assignment is over."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from questions.learning import flashcards
from questions.models import Assignment, Attempt, Cohort, Question, Topic
from questions.quizzes import assignments, drawing, engine, starting
from tests.factories import (
    PublishableQuestionFactory,
    TopicFactory,
    UserFactory,
    finished_attempts,
)

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
    assert Question.objects.published().assessed_for(ann, NOW).count() == 2
    # The builder's one query says the same, in any topics.
    assert drawing.builder_counts(user=ann, now=NOW) == (counts, 2)
    assert drawing.builder_counts(user=ann, topics=[bank["topic"]], now=NOW)[1] == 2
    assert drawing.builder_counts(user=ann, topics=[TopicFactory()], now=NOW)[1] == 0


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
    assert Question.objects.published().assessed_for(ann, after).count() == 0
    assert drawing.builder_counts(user=ann, now=NOW)[1] == 2  # the same SQL, another time
    assert drawing.builder_counts(user=ann, now=after)[1] == 0


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
    # No topic chosen: every topic, so not "of these topics".
    assert "2 questions are held back" in page
    assert "This selection holds <strong>4</strong> questions" in page
    topic = Topic.objects.get()
    page = client.get(
        reverse("questions:attempt_counts"), {"pool": "all", "topics": [topic.pk]}
    ).content.decode()
    assert "2 questions of these topics are held back" in page


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


def test_no_report_form_on_a_held_back_question_and_a_posted_report_is_refused(
    client, answered_then_assessed
):
    """An educator's answer to "the key is wrong" would give the key away."""
    from questions.models import ErrorReport

    quiz, position, _, _ = answered_then_assessed
    report_url = reverse("questions:error_report_new", args=[quiz.pk, position])
    for page in (
        client.get(reverse("questions:attempt_result_item", args=[quiz.pk, position])),
        client.get(reverse("questions:attempt_results_all", args=[quiz.pk])),
    ):
        assert report_url not in page.content.decode()
    other = 1 if position != 1 else 2
    other_page = client.get(reverse("questions:attempt_result_item", args=[quiz.pk, other]))
    assert reverse("questions:error_report_new", args=[quiz.pk, other]) in (
        other_page.content.decode()
    )

    client.post(report_url, {"kind": "wrong_key", "comment": "It is B"})

    assert not ErrorReport.objects.exists()


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


# --- Score, topics and confidence of a past result leave the held-back question out -------------


def test_a_past_results_score_and_topics_leave_the_held_back_question_out(
    client, answered_then_assessed
):
    quiz, _, _, assignment = answered_then_assessed
    response = client.get(reverse("questions:attempt_results", args=[quiz.pk]))
    page = " ".join(response.content.decode().split())
    # Six right, one held back: 5 / 5, and the page says why (not 6 / 6, which would tell).
    assert response.context["score"].correct == 5 and response.context["score"].total == 5
    assert 'id="score">5 / 5 (100.0%)' in page
    assert "The score leaves out 1 question held back" in page
    assert response.context["topics"] == [{"topic": "Anatomy", "correct": 5, "total": 5}]
    assert all(
        row["share_correct"] is None for row in response.context["rows"] if row["held_until"]
    )

    from questions.analytics import pages

    after = assignment.due_at + datetime.timedelta(seconds=1)
    context = pages.results_context(quiz, explained=False, now=after)
    assert (context["score"].correct, context["score"].total, context["held_count"]) == (6, 6, 0)
    assert context["topics"] == [{"topic": "Anatomy", "correct": 6, "total": 6}]


def test_a_topic_of_held_back_questions_only_is_not_shown(ann, bank):
    from questions.analytics import pages

    lone = TopicFactory(name="Lone topic")
    bank["questions"][0].topics.set([lone])
    [quiz] = finished_attempts([(ann, [(q, "C", 30) for q in bank["questions"]])])
    set_assignment(
        ann,
        bank["questions"][:1],
        opens_at=NOW - datetime.timedelta(hours=1),
        due_at=NOW + datetime.timedelta(days=2),
    )
    topics = pages.results_context(quiz, explained=False, now=NOW)["topics"]
    assert [t["topic"] for t in topics] == ["Anatomy"]  # not "Lone topic: 1 / 1"


# --- Tutor mode: a practice quiz started before the assignment was set -------------------------


@pytest.fixture
def tutor_then_assessed(client, ann, bank):
    """Ann's tutor practice quiz on every question, started before an assignment of her
    cohort set the first question (answer recorded, explanation to hold back)."""
    quiz = starting.start_attempt(
        user=ann, config=starting.QuizConfig(question_count=6, mode=Attempt.Mode.TUTOR)
    )
    assessed = bank["questions"][0]
    for choice in assessed.choices.all():
        choice.rationale = f"Only the assessed question says this ({choice.letter})."
        choice.save()
    assignment = set_assignment(
        ann,
        [assessed],
        opens_at=NOW - datetime.timedelta(hours=1),
        due_at=NOW + datetime.timedelta(days=2),
    )
    client.force_login(ann)
    item = quiz.items.get(question=assessed)
    return quiz, item, assessed, assignment


def test_tutor_feedback_on_a_question_an_assignment_now_asks_is_held_back(
    client, tutor_then_assessed
):
    quiz, item, assessed, assignment = tutor_then_assessed
    from tests.factories import shown_letter

    url = reverse("questions:attempt_answer", args=[quiz.pk, item.position])
    client.post(url, {"letter": shown_letter(item), "go": "stay"})
    item.refresh_from_db()
    assert item.is_locked and item.is_correct  # recorded and scored all the same
    page = client.get(reverse("questions:attempt_question", args=[quiz.pk, item.position]))
    text = page.content.decode()
    assert 'id="held-back"' in text and "is recorded" in text
    assert page.context["explained"] is None
    assert all(choice.rationale not in text for choice in assessed.choices.all())
    assert "Correct answer" not in text and 'name="letter"' not in text

    # Another question of the same quiz is explained as usual.
    other = quiz.items.exclude(pk=item.pk).first()
    client.post(
        reverse("questions:attempt_answer", args=[quiz.pk, other.position]),
        {"letter": shown_letter(other), "go": "stay"},
    )
    other_page = client.get(reverse("questions:attempt_question", args=[quiz.pk, other.position]))
    assert other_page.context["explained"] is not None

    # Once the assignment is over (its due date passed, released then), the key comes back.
    Assignment.objects.filter(pk=assignment.pk).update(
        opens_at=NOW - datetime.timedelta(days=3), due_at=timezone.now()
    )
    page = client.get(reverse("questions:attempt_question", args=[quiz.pk, item.position]))
    assert page.context["explained"] is not None
    assert 'id="held-back"' not in page.content.decode()


def test_tagging_a_miss_on_a_held_back_question_is_refused(client, ann, bank):
    [quiz] = finished_attempts([(ann, [(q, "A", 30) for q in bank["questions"]])])  # all wrong
    set_assignment(
        ann,
        bank["questions"][:1],
        opens_at=NOW - datetime.timedelta(hours=1),
        due_at=NOW + datetime.timedelta(days=2),
    )
    client.force_login(ann)
    held = quiz.items.get(question=bank["questions"][0])
    response = client.post(
        reverse("questions:item_miss_type", args=[quiz.pk, held.position]),
        {"miss_type": "knowledge"},
        follow=True,
    )
    held.refresh_from_db()
    assert held.miss_type == ""
    assert "tag it once it comes back" in response.content.decode()
    other = quiz.items.exclude(pk=held.pk).first()
    client.post(
        reverse("questions:item_miss_type", args=[quiz.pk, other.position]),
        {"miss_type": "knowledge"},
    )
    other.refresh_from_db()
    assert other.miss_type == "knowledge"


# --- Every figure of the resident's own, while the assignment is open and after ------------------


@pytest.fixture
def history_then_assessed(ann, bank):
    """Ann's finished practice quiz on every question, the first answered wrongly while
    sure, the others right; five peers answered the first question too; then an open
    assignment of her cohort asks the first question."""
    first, *rest = bank["questions"]
    [quiz] = finished_attempts([(ann, [(first, "A", 30)] + [(q, "C", 30) for q in rest])])
    quiz.items.update(confidence="sure")
    peers = UserFactory.create_batch(5)
    finished_attempts([(peer, [(first, "C", 20)]) for peer in peers])
    assignment = set_assignment(
        ann,
        [first],
        opens_at=NOW - datetime.timedelta(hours=1),
        due_at=NOW + datetime.timedelta(days=2),
    )
    return quiz, first, assignment


def test_every_figure_of_the_dashboard_holds_the_question_back_until_it_is_due(
    ann, bank, history_then_assessed
):
    from questions.analytics import progress
    from questions.learning import calibration, recall

    quiz, first, assignment = history_then_assessed
    after = assignment.due_at + datetime.timedelta(seconds=1)
    for at, answered, correct in [(NOW, 5, 5), (after, 6, 5)]:
        summary = progress.resident_summary(ann, withhold_at=at)
        assert (summary["answered"], summary["correct"]) == (answered, correct)
        [anatomy] = progress.topic_mastery(ann, withhold_at=at)
        assert (anatomy["answered"], anatomy["correct"]) == (answered, correct)
        sure = calibration.calibration(ann, withhold_at=at)[0]
        assert (sure["answered"], sure["correct"]) == (answered, correct)
        [point] = progress.score_trend(ann, withhold_at=at)
        assert (point["correct"], point["total"]) == (correct, answered)
    # Wrong while sure, the misses by month, the review schedule: the miss comes back after.
    assert calibration.confident_misses(ann, withhold_at=NOW) == []
    assert progress.miss_type_mix(ann, withhold_at=NOW) == []
    [group] = calibration.confident_misses(ann, withhold_at=after)
    assert [q["question_id"] for q in group["questions"]] == [first.pk]
    assert progress.miss_type_mix(ann, withhold_at=after)[0]["misses"] == 1
    assert recall.summary(ann, NOW)["scheduled"] == 0
    assert recall.summary(ann, after)["scheduled"] == 1
    # Educators' views hold nothing back.
    assert progress.resident_summary(ann)["answered"] == 6
    assert calibration.confident_misses(ann) != []


def test_the_dashboard_page_and_the_quiz_list_hold_it_back(client, ann, history_then_assessed):
    quiz, _, _ = history_then_assessed
    client.force_login(ann)
    response = client.get(reverse("questions:dashboard"))
    assert response.context["summary"]["answered"] == 5
    assert response.context["confident_misses"] == []
    [recent] = response.context["recent_attempts"]
    assert recent.shown == {"awaiting": False, "correct": 5, "total": 5, "held": 1}
    assert "(1 held back)" in response.content.decode()
    listing = " ".join(client.get(reverse("questions:attempt_list")).content.decode().split())
    assert "5/5" in listing and "1 held back" in listing and "5/6" not in listing


def test_percentile_ranks_the_resident_without_what_is_held_back(ann, history_then_assessed):
    from questions.analytics import progress
    from questions.models import ResidentProfile

    ResidentProfile.objects.create(user=ann, training_year=2)
    own = progress.resident_summary(ann, withhold_at=NOW)
    ranked = progress.percentile_rank(ann, own=own)
    assert ranked["peers"] == 1  # the peers have no training year: only ann ranks
    assert own["answered"] == 5


def test_peer_statistics_of_a_held_back_question_are_not_shown(ann, history_then_assessed):
    from questions.analytics import pages

    quiz, first, _ = history_then_assessed
    context = pages.results_context(quiz, now=NOW)
    [held_row] = [row for row in context["rows"] if row["item"].question_id == first.pk]
    assert held_row["held_until"] and held_row["share_correct"] is None
    [held_item] = [e for e in context["explained_items"] if e["item"].question_id == first.pk]
    assert "choices" not in held_item and "residents" not in held_item
    after = pages.results_context(quiz, now=NOW + datetime.timedelta(days=3))
    [row] = [row for row in after["rows"] if row["item"].question_id == first.pk]
    assert row["share_correct"] == 83  # five peers right, ann wrong


@pytest.mark.parametrize("fmt", ["csv", "apkg"])
def test_both_flashcard_formats_leave_the_held_back_miss_out(
    client, ann, bank, history_then_assessed, fmt
):
    import io
    import sqlite3
    import tempfile
    import zipfile

    _, first, assignment = history_then_assessed
    client.force_login(ann)

    def exported() -> str:
        body = client.get(reverse("questions:flashcards", args=[fmt])).content
        if fmt == "csv":
            return body.decode()
        with zipfile.ZipFile(io.BytesIO(body)) as archive, tempfile.NamedTemporaryFile() as f:
            f.write(archive.read("collection.anki2"))
            f.flush()
            with sqlite3.connect(f.name) as db:
                return " ".join(row[0] for row in db.execute("select flds from notes"))

    assert first.key not in exported()
    Assignment.objects.filter(pk=assignment.pk).update(
        opens_at=NOW - datetime.timedelta(days=3), due_at=timezone.now()
    )
    assert first.key in exported()


def test_a_quick_quiz_on_a_topic_asks_no_more_than_practice_can_draw(client, ann, bank):
    finished_attempts([(ann, [(q, "A", 30) for q in bank["questions"]])])  # a weak topic
    set_assignment(
        ann,
        bank["questions"][:1],
        opens_at=NOW - datetime.timedelta(hours=1),
        due_at=NOW + datetime.timedelta(days=2),
    )
    assert drawing.held_back_by_topic(user=ann) == {bank["topic"].pk: 1}
    client.force_login(ann)
    [weakest] = client.get(reverse("questions:dashboard")).context["weakest"]
    assert weakest["quiz_size"] == 5  # six in the topic, one held back
    assert drawing.pool_counts(user=ann)["all"][bank["topic"].pk] == 5


def test_the_review_due_count_matches_what_a_review_can_draw(ann, bank):
    from questions.learning import recall

    [quiz] = finished_attempts([(ann, [(q, "A", 30) for q in bank["questions"]])])
    set_assignment(
        ann,
        bank["questions"][:2],
        opens_at=NOW - datetime.timedelta(hours=1),
        due_at=NOW + datetime.timedelta(days=20),
    )
    later = NOW + datetime.timedelta(days=10)  # every miss due again
    due = recall.summary(ann, later)["due"]
    assert due == 4
    assert len(drawing.draw_questions(user=ann, count=due, pool="due", now=later)) == 4


def test_a_released_assignments_dashboard_score_leaves_out_what_another_still_holds(
    client, bank, ann
):
    from tests.factories import shown_letter

    week_0 = set_assignment(
        ann, bank["questions"][:2], opens_at=NOW - datetime.timedelta(days=3),
        due_at=NOW - datetime.timedelta(days=1),
    )  # fmt: skip
    attempt = starting.start_assignment(
        user=ann, assignment=week_0, now=NOW - datetime.timedelta(days=2)
    )
    for item in attempt.items.all():
        engine.answer(
            attempt=attempt, position=item.position, letter=shown_letter(item),
            now=NOW - datetime.timedelta(days=2),
        )  # fmt: skip
    engine.finish_attempt(attempt=attempt, now=NOW - datetime.timedelta(days=2))
    week_1 = assignments.create_assignment(
        cohort=week_0.cohort, created_by=None, title="Week 1 again", kind="fixed",
        mode="timed", opens_at=NOW - datetime.timedelta(hours=1),
        due_at=NOW + datetime.timedelta(days=2), questions=bank["questions"][:1],
    )  # fmt: skip
    client.force_login(ann)

    page = " ".join(client.get(reverse("questions:dashboard")).content.decode().split())

    assert "Finished: 1/1" in page and "(1 held back)" in page
    assert "Finished: 2/2" not in page
    assert week_1.pk
