"""The review workflow: who may publish, the status log, re-review, staleness, and
restoring an earlier version with its choices and citations."""

import datetime

import pytest

from questions.authoring import versions, workflow
from questions.authoring.rules import ChoiceData
from questions.models import Question, SiteSetting
from tests.factories import PublishableQuestionFactory, ReferenceFactory, UserFactory

pytestmark = pytest.mark.django_db

REVIEW, PUBLISHED = Question.Status.IN_REVIEW, Question.Status.PUBLISHED
NOW = datetime.datetime(2026, 11, 22, 10, tzinfo=datetime.UTC)


@pytest.fixture
def author():
    return UserFactory(username="author", is_staff=True)


@pytest.fixture
def in_review(author):
    return PublishableQuestionFactory(status=REVIEW, author=author)


def test_an_author_cannot_publish_their_own_question(in_review, author):
    with pytest.raises(workflow.TransitionError, match="Another educator must review it"):
        workflow.change_status(question=in_review, to=PUBLISHED, by=author, now=NOW)
    in_review.refresh_from_db()
    assert in_review.status == REVIEW
    assert not in_review.status_changes.exists()


def test_self_review_setting_lets_a_one_person_program_publish(in_review, author):
    setting = SiteSetting.current()
    setting.allows_self_review = True
    setting.save()
    workflow.change_status(question=in_review, to=PUBLISHED, by=author, now=NOW)
    in_review.refresh_from_db()
    assert in_review.status == PUBLISHED


def test_another_educator_publishes_and_the_move_is_logged(in_review):
    reviewer = UserFactory(username="reviewer", is_staff=True)
    workflow.change_status(question=in_review, to=PUBLISHED, by=reviewer, now=NOW)
    change = in_review.status_changes.get()
    assert (change.from_status, change.to_status) == (REVIEW, PUBLISHED)
    assert (change.changed_by, change.changed_at) == (reviewer, NOW)
    in_review.refresh_from_db()
    assert in_review.last_reviewed_on == datetime.date(2026, 11, 22)


def test_an_author_may_send_their_own_question_to_review(author):
    draft = PublishableQuestionFactory(status=Question.Status.DRAFT, author=author)
    workflow.change_status(question=draft, to=REVIEW, by=author, now=NOW)
    assert draft.status_changes.get().changed_by == author


def test_mark_reviewed_moves_the_date_and_logs_who(author):
    question = PublishableQuestionFactory(author=author, last_reviewed_on=datetime.date(2023, 1, 5))
    reviewer = UserFactory(is_staff=True)

    with pytest.raises(workflow.TransitionError, match="Another educator"):
        workflow.mark_reviewed(question=question, by=author, now=NOW)
    workflow.mark_reviewed(question=question, by=reviewer, now=NOW)

    question.refresh_from_db()
    assert question.last_reviewed_on == datetime.date(2026, 11, 22)
    assert question.status_changes.get().note == "reviewed: still accurate"


def test_only_published_questions_are_re_reviewed(in_review):
    with pytest.raises(workflow.TransitionError, match="Only a published question"):
        workflow.mark_reviewed(question=in_review, by=UserFactory(), now=NOW)


@pytest.mark.parametrize(
    ("today", "months", "due_before"),
    [
        (datetime.date(2026, 11, 22), 24, datetime.date(2024, 11, 22)),
        (datetime.date(2026, 3, 31), 1, datetime.date(2026, 2, 28)),  # no 31 February
        (datetime.date(2028, 2, 29), 12, datetime.date(2027, 2, 28)),
    ],
)
def test_review_due_before_counts_calendar_months(today, months, due_before):
    assert workflow.review_due_before(today, months) == due_before


def test_needing_attention_lists_overdue_reviews_and_unverified_references():
    today = datetime.date(2026, 11, 22)
    fresh = PublishableQuestionFactory(last_reviewed_on=datetime.date(2025, 1, 1))
    stale = PublishableQuestionFactory(last_reviewed_on=datetime.date(2024, 11, 21))
    never = PublishableQuestionFactory(last_reviewed_on=None)
    unverified = PublishableQuestionFactory()
    unverified.citations.update(reference=ReferenceFactory(is_verified=False))
    document = PublishableQuestionFactory()
    document.citations.update(reference=ReferenceFactory(is_verified=False, kind="document"))

    reasons = workflow.needing_attention(today=today, months=24)

    assert set(reasons["review_overdue"]) == {stale, never}
    assert set(reasons["unverified_reference"]) == {unverified}
    assert fresh not in reasons["review_overdue"]


def _edit(question, *, stem, key_letter, locator):
    question.stem = stem
    question.save()
    workflow.save_choices(
        question=question,
        choices=[
            ChoiceData(letter, f"{stem} choice {letter}", letter == key_letter, f"Why {letter}.")
            for letter in "ABCDE"
        ],
    )
    for citation in question.citations.all():  # saved one by one, so history records it
        citation.locator = locator
        citation.save()


def test_restoring_a_version_brings_back_its_choices_and_citations():
    question = PublishableQuestionFactory()
    _edit(question, stem="First wording", key_letter="B", locator="p. 1")
    first = question.history.order_by("history_date").last()
    _edit(question, stem="Second wording", key_letter="D", locator="p. 2")

    versions.restore_version(question=question, history_id=first.history_id)

    question.refresh_from_db()
    assert question.stem == "First wording"
    assert question.choices.get(is_correct=True).letter == "B"
    assert question.choices.get(letter="A").text == "First wording choice A"
    assert question.citations.get().locator == "p. 1"
    assert question.status == REVIEW  # restored wording is reviewed again before residents see it
    assert question.history.filter(
        history_change_reason__startswith="Restored the version"
    ).exists()


def test_a_version_that_breaks_the_published_rules_is_not_restored():
    question = PublishableQuestionFactory()
    question.save()
    workflow.save_choices(
        question=question,
        choices=[ChoiceData(letter, f"Only {letter}", letter == "A", "") for letter in "ABC"],
    )  # three choices, no rationales: fine for a draft's history, not for publishing
    weak = question.history.order_by("history_date").last()
    question.save()
    workflow.save_choices(
        question=question,
        choices=[ChoiceData(letter, f"Good {letter}", letter == "C", "Why.") for letter in "ABCDE"],
    )

    with pytest.raises(workflow.TransitionError, match="breaks the rules"):
        versions.restore_version(question=question, history_id=weak.history_id)

    assert question.choices.count() == 5
    assert question.choices.get(is_correct=True).text == "Good C"


def test_a_key_only_change_is_in_the_history_and_can_be_undone():
    question = PublishableQuestionFactory(correct_letter="C")
    question.save()  # a version with key C
    with_c = question.history.first()
    question.save()
    workflow.save_choices(
        question=question,
        choices=[
            ChoiceData(c.letter, c.text, c.letter == "B", c.rationale)
            for c in question.choices.order_by("letter")
        ],
    )

    version = versions.version_of(question=question, history_id=with_c.history_id)
    assert [c.letter for c in version.choices if c.is_correct] == ["C"]
    versions.restore_version(question=question, history_id=with_c.history_id)
    assert question.choices.get(is_correct=True).letter == "C"


def test_restoring_sends_a_published_question_back_to_review():
    question = PublishableQuestionFactory()
    question.stem = "Earlier wording."
    question.save()
    earlier = question.history.first()
    question.stem = "Later wording."
    question.save()
    editor = UserFactory(is_staff=True)

    versions.restore_version(question=question, history_id=earlier.history_id, by=editor)

    question.refresh_from_db()
    assert (question.stem, question.status) == ("Earlier wording.", REVIEW)
    assert question.status_changes.get().note == "restored an earlier version"


def test_a_version_citing_a_deleted_reference_is_refused_cleanly():
    question = PublishableQuestionFactory()
    question.save()
    old = question.history.first()
    old_reference = question.citations.get().reference
    question.save()
    question.citations.all().delete()
    replacement = ReferenceFactory()
    question.citations.create(reference=replacement, locator="p. 2", order=1)
    question.explanation = f"Cited [@{replacement.key}]."
    question.save()
    old_reference.delete()

    with pytest.raises(workflow.TransitionError, match="deleted since"):
        versions.restore_version(question=question, history_id=old.history_id)


def test_whoever_wrote_the_current_version_cannot_publish_it(in_review, author):
    """The second reader reviews the wording residents will see: once another educator
    edits the question, that editor may not publish it, and the author now may."""
    editor = UserFactory(username="editor", is_staff=True)
    in_review.last_edited_by = editor
    in_review.save()

    with pytest.raises(workflow.TransitionError, match="Another educator must review it"):
        workflow.change_status(question=in_review, to=PUBLISHED, by=editor, now=NOW)
    workflow.change_status(question=in_review, to=PUBLISHED, by=author, now=NOW)

    in_review.refresh_from_db()
    assert in_review.status == PUBLISHED


def test_restoring_a_version_makes_the_restorer_its_editor(author):
    question = PublishableQuestionFactory(author=author)
    old = question.history.first()
    question.stem = "Newer wording."
    question.save()
    restorer = UserFactory(is_staff=True)

    versions.restore_version(question=question, history_id=old.history_id, by=restorer)

    question.refresh_from_db()
    assert question.last_edited_by == restorer
    with pytest.raises(workflow.TransitionError, match="Another educator"):
        workflow.change_status(question=question, to=PUBLISHED, by=restorer, now=NOW)


def test_history_says_what_each_save_changed_in_choices_and_citations(author):
    question = PublishableQuestionFactory(author=author)
    created = question.history.last().history_id  # the oldest version
    question.stem = "Reworded."
    question.save()
    edit = question.history.first().history_id
    old_key = question.choices.get(is_correct=True)
    new_key = question.choices.exclude(pk=old_key.pk).order_by("letter").first()
    old_key.is_correct = False
    old_key.save()
    new_key.is_correct, new_key.text = True, "A reworded choice."
    new_key.save()
    citation = question.citations.get()
    citation.locator = "p. 12"
    citation.save()

    changes = versions.choice_and_citation_changes(question)

    assert f"Choice {old_key.letter} is no longer the key" in changes[edit]
    assert f"Choice {new_key.letter} is now the key" in changes[edit]
    assert f"Choice {new_key.letter}: text changed to “A reworded choice.”" in changes[edit]
    assert f"Citation of {citation.reference.key}: locator changed to “p. 12”" in changes[edit]
    assert all("added" in line or "Cites" in line for line in changes.get(created, []))
