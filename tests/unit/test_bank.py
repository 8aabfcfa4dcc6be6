import datetime

import pytest

from questions.authoring import rules, workflow
from questions.authoring.rules import ChoiceData
from questions.models import Question
from tests.factories import (
    ChoiceFactory,
    CitationFactory,
    PublishableQuestionFactory,
    QuestionFactory,
    ReferenceFactory,
)

DRAFT, REVIEW, PUBLISHED, RETIRED = (
    Question.Status.DRAFT,
    Question.Status.IN_REVIEW,
    Question.Status.PUBLISHED,
    Question.Status.RETIRED,
)


def choices(correct="B", count=5, rationale="Because."):
    return [
        ChoiceData(letter, f"Nerve {letter}", letter in correct, rationale)
        for letter in "ABCDE"[:count]
    ]


def codes(problems):
    return sorted(p.code for p in problems)


@pytest.mark.parametrize(
    ("status", "given", "expected"),
    [
        (PUBLISHED, choices(), []),
        (PUBLISHED, choices(count=4), []),
        (PUBLISHED, choices(correct=""), ["no_correct_choice"]),
        (PUBLISHED, choices(correct="AB"), ["several_correct_choices"]),
        (PUBLISHED, choices(count=3), ["choice_count"]),
        (PUBLISHED, choices(rationale=""), ["no_rationale"] * 5),
        (REVIEW, choices(count=3), ["choice_count"]),
        (DRAFT, choices(count=3), []),
        (DRAFT, choices(correct="AB"), ["several_correct_choices"]),
        (DRAFT, choices(correct=""), ["no_correct_choice"]),
        (DRAFT, [], []),
        (PUBLISHED, [], ["choice_count"]),
    ],
)
def test_choice_rules(status, given, expected):
    assert codes(rules.choice_problems(status=status, choices=given)) == expected


def test_choices_must_be_lettered_without_gaps():
    gapped = [c for c in choices() if c.letter != "C"]
    assert codes(rules.choice_problems(status=PUBLISHED, choices=gapped)) == [
        "letters_not_in_order"
    ]


def test_catch_all_and_duplicate_choices_are_refused():
    given = choices()
    given[3] = ChoiceData("D", "All of the above", False, "Because.")
    given[4] = ChoiceData("E", "nerve a", False, "Because.")
    assert codes(rules.choice_problems(status=PUBLISHED, choices=given)) == [
        "catch_all_choice",
        "duplicate_choice",
    ]


def test_published_question_needs_objective_explanation_and_citation():
    assert codes(rules.content_problems(status=PUBLISHED, objective=" ", explanation="")) == [
        "no_explanation",
        "no_objective",
    ]
    assert codes(rules.citation_problems(status=PUBLISHED, explanation="x", citation_keys=[])) == [
        "no_citation"
    ]
    assert rules.content_problems(status=DRAFT, objective="", explanation="") == []


def test_every_citation_marker_must_name_a_citation():
    problems = rules.citation_problems(
        status=DRAFT,
        explanation="A [@isu2018] and B [@gray1918] [@gray1918].",
        citation_keys=["isu2018"],
    )
    assert [p.message for p in problems] == [
        "The explanation cites [@gray1918], which is not one of this question's citations."
    ]


@pytest.mark.django_db
def test_published_question_may_not_cite_an_unverified_reference():
    question = PublishableQuestionFactory()
    CitationFactory(question=question, reference=ReferenceFactory(is_verified=False), order=2)
    assert codes(rules.question_problems(question)) == ["unverified_reference"]


@pytest.mark.django_db
def test_source_documents_may_be_cited_to_correct_them():
    question = PublishableQuestionFactory()
    document = ReferenceFactory(kind="document", is_verified=False)
    CitationFactory(question=question, reference=document, order=2)
    assert rules.question_problems(question) == []


@pytest.mark.django_db
def test_bank_problems_lists_only_broken_questions(django_assert_num_queries):
    PublishableQuestionFactory.create_batch(3)
    broken = PublishableQuestionFactory()
    broken.choices.filter(letter="E").delete()
    broken.choices.filter(letter="D").delete()
    with django_assert_num_queries(4):
        result = rules.bank_problems()
    assert [(q.key, codes(p)) for q, p in result] == [(broken.key, ["choice_count"])]


@pytest.mark.django_db
def test_publishing_stamps_the_review_date():
    question = PublishableQuestionFactory(status=REVIEW)
    now = datetime.datetime(2026, 3, 4, 12, tzinfo=datetime.UTC)
    workflow.change_status(question=question, to=PUBLISHED, now=now)
    question.refresh_from_db()
    assert (question.status, question.last_reviewed_on) == (PUBLISHED, datetime.date(2026, 3, 4))


@pytest.mark.django_db
def test_a_question_that_breaks_the_rules_cannot_go_to_review():
    question = QuestionFactory(status=DRAFT, objective="")
    ChoiceFactory(question=question, letter="A", is_correct=True)
    with pytest.raises(workflow.TransitionError) as excinfo:
        workflow.change_status(question=question, to=REVIEW)
    assert codes(excinfo.value.problems) == ["choice_count", "no_citation", "no_objective"]
    question.refresh_from_db()
    assert question.status == DRAFT


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("start", "to"),
    [
        (DRAFT, PUBLISHED),
        (PUBLISHED, DRAFT),
        (RETIRED, PUBLISHED),
        (RETIRED, REVIEW),
        (DRAFT, DRAFT),
    ],
)
def test_illegal_transitions_are_refused(start, to):
    question = PublishableQuestionFactory(status=start)
    with pytest.raises(workflow.TransitionError, match="cannot be moved to|already"):
        workflow.change_status(question=question, to=to)
    question.refresh_from_db()
    assert question.status == start


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("start", "to"),
    [(DRAFT, REVIEW), (REVIEW, PUBLISHED), (REVIEW, DRAFT), (PUBLISHED, RETIRED), (RETIRED, DRAFT)],
)
def test_legal_transitions_move_the_question(start, to):
    question = PublishableQuestionFactory(status=start)
    workflow.change_status(question=question, to=to)
    question.refresh_from_db()
    assert question.status == to


@pytest.mark.django_db
def test_save_choices_moves_the_key_without_breaking_the_one_key_index():
    question = PublishableQuestionFactory(correct_letter="E")
    workflow.save_choices(question=question, choices=choices(correct="A", count=4))
    assert list(question.choices.values_list("letter", "is_correct")) == [
        ("A", True),
        ("B", False),
        ("C", False),
        ("D", False),
    ]
