"""An author's edit of a question (authoring.edits.record_edit): who wrote the current
version, and a published question that changed going back to review."""

import datetime

import pytest

from questions.authoring import edits, workflow
from questions.models import Question, StatusChange
from tests.factories import PublishableQuestionFactory, UserFactory

pytestmark = pytest.mark.django_db

DRAFT, REVIEW, PUBLISHED = (
    Question.Status.DRAFT,
    Question.Status.IN_REVIEW,
    Question.Status.PUBLISHED,
)
NOW = datetime.datetime(2026, 11, 22, 10, tzinfo=datetime.UTC)


@pytest.fixture
def author():
    return UserFactory(username="author", is_staff=True)


@pytest.fixture
def editor():
    return UserFactory(username="editor", is_staff=True)


@pytest.mark.parametrize(
    ("status", "is_new", "has_changed", "sent_back", "status_after", "edited"),
    [
        (PUBLISHED, False, True, True, REVIEW, True),
        (REVIEW, False, True, False, REVIEW, True),
        (DRAFT, False, True, False, DRAFT, True),
        (PUBLISHED, False, False, False, PUBLISHED, False),
        (DRAFT, False, False, False, DRAFT, False),
        (PUBLISHED, True, True, False, PUBLISHED, True),
        (PUBLISHED, True, False, False, PUBLISHED, True),
    ],
    ids=[
        "published-changed",
        "in-review-changed",
        "draft-changed",
        "published-unchanged",
        "draft-unchanged",
        "new-published",
        "new-published-unchanged-form",
    ],
)
def test_an_edit_records_its_editor_and_sends_a_changed_published_question_back(
    author, editor, status, is_new, has_changed, sent_back, status_after, edited
):
    question = PublishableQuestionFactory(status=status, author=author)

    went_back = edits.record_edit(
        question=question, by=editor, is_new=is_new, has_changed=has_changed, now=NOW
    )

    assert went_back is sent_back
    saved = Question.objects.get(pk=question.pk)
    assert saved.status == status_after
    assert saved.last_edited_by == (editor if edited else None)
    assert StatusChange.objects.filter(question=question).exists() is sent_back


def test_a_published_question_sent_back_is_logged_with_who_when_and_why(author, editor):
    question = PublishableQuestionFactory(author=author)

    edits.record_edit(question=question, by=editor, is_new=False, has_changed=True, now=NOW)

    change = StatusChange.objects.get(question=question)
    assert (change.from_status, change.to_status) == (PUBLISHED, REVIEW)
    assert (change.changed_by, change.changed_at) == (editor, NOW)
    assert change.note == "edited while published"


def test_an_unchanged_save_keeps_the_earlier_editor(author, editor):
    question = PublishableQuestionFactory(author=author, last_edited_by=editor)

    edits.record_edit(question=question, by=author, is_new=False, has_changed=False, now=NOW)

    assert Question.objects.get(pk=question.pk).last_edited_by == editor


def test_the_editor_of_a_published_question_cannot_republish_their_edit(author, editor):
    question = PublishableQuestionFactory(author=author)
    edits.record_edit(question=question, by=editor, is_new=False, has_changed=True, now=NOW)

    with pytest.raises(workflow.TransitionError, match="Another educator must review it"):
        workflow.change_status(question=question, to=PUBLISHED, by=editor, now=NOW)
    workflow.change_status(question=question, to=PUBLISHED, by=author, now=NOW)

    assert Question.objects.get(pk=question.pk).status == PUBLISHED
