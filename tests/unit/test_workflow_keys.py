"""Clearing a question's old key before its new key is saved (workflow.clear_old_key), as
the admin's choice forms do under the database's one-correct-choice index."""

import pytest
from django.db import IntegrityError, transaction

from questions.authoring import workflow
from tests.factories import PublishableQuestionFactory

pytestmark = pytest.mark.django_db


def key_letters(question):
    return list(question.choices.filter(is_correct=True).values_list("letter", flat=True))


@pytest.fixture
def question():
    return PublishableQuestionFactory(correct_letter="C")


def choice(question, letter):
    return question.choices.get(letter=letter)


@pytest.mark.parametrize(
    ("kept", "cleared", "key_after"),
    [
        (["B"], 1, []),
        (["C"], 0, ["C"]),
        (["B", "C"], 0, ["C"]),
        ([], 1, []),
    ],
    ids=["new-key-elsewhere", "key-kept", "key-among-kept", "no-key-kept"],
)
def test_clearing_the_old_key_clears_only_keys_not_kept(question, kept, cleared, key_after):
    keep = [choice(question, letter).pk for letter in kept]

    assert workflow.clear_old_key(question=question, keep=keep) == cleared

    assert key_letters(question) == key_after


def test_a_new_key_in_an_unsaved_row_clears_the_old_key(question):
    # A choice row added on the page has no id yet: the formset's keep list holds None.
    assert workflow.clear_old_key(question=question, keep=[None]) == 1
    assert key_letters(question) == []


def test_a_question_without_a_key_has_nothing_to_clear():
    question = PublishableQuestionFactory(correct_letter="C")
    question.choices.update(is_correct=False)

    assert workflow.clear_old_key(question=question, keep=[]) == 0


def test_other_questions_keep_their_keys(question):
    other = PublishableQuestionFactory(correct_letter="C")

    workflow.clear_old_key(question=question, keep=[])

    assert key_letters(other) == ["C"]


def test_the_new_key_saves_once_the_old_key_is_cleared(question):
    new_key = choice(question, "B")
    new_key.is_correct = True
    with pytest.raises(IntegrityError), transaction.atomic():
        new_key.save()  # two keys at once: the one-correct-choice index refuses it

    workflow.clear_old_key(question=question, keep=[new_key.pk])
    new_key.save()

    assert key_letters(question) == ["B"]


def test_clearing_the_old_key_adds_no_version_to_its_history(question):
    old_key = choice(question, "C")
    versions = old_key.history.count()

    workflow.clear_old_key(question=question, keep=[])

    assert old_key.history.count() == versions
