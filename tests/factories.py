"""factory-boy factories. ``PublishableQuestionFactory`` builds a question that meets every
rule of ``questions.authoring.rules`` (5 choices, one key, a citation used in the explanation)."""

import datetime

import factory
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from questions.learning import recall
from questions.models import (
    CHOICE_LETTERS,
    Attempt,
    AttemptItem,
    Choice,
    Citation,
    Question,
    Reference,
    Topic,
)
from questions.quizzes import engine


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("a-long-test-password")


class TopicFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Topic

    slug = factory.Sequence(lambda n: f"topic-{n}")
    name = factory.Sequence(lambda n: f"Topic {n}")


class ReferenceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Reference

    key = factory.Sequence(lambda n: f"ref{n}")
    kind = Reference.Kind.ARTICLE
    authors = "Isu T, Kim K, Morimoto D, Iwamoto N"
    title = "Superior and middle cluneal nerve entrapment as a cause of low back pain"
    journal = "Neurospine"
    year = 2018
    volume = "15"
    issue = "1"
    pages = "25-32"
    doi = "10.14245/ns.1836024.012"
    pmid = "29656623"
    is_verified = True


class QuestionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Question

    key = factory.Sequence(lambda n: f"question-{n}")
    stem = "A 52-year-old man has low back pain over the posterior iliac crest."
    lead_in = "Which nerve is most likely entrapped?"
    objective = "Identify the superior cluneal nerves as a cause of low back pain."
    explanation = "The superior cluneal nerves cross the iliac crest."
    status = Question.Status.DRAFT


class ChoiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Choice

    question = factory.SubFactory(QuestionFactory)
    letter = "A"
    text = factory.Sequence(lambda n: f"Choice {n}")
    rationale = "Because."


class CitationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Citation

    question = factory.SubFactory(QuestionFactory)
    reference = factory.SubFactory(ReferenceFactory)
    locator = "Abstract"
    order = 1


class PublishableQuestionFactory(QuestionFactory):
    """A published question with 5 choices, key ``correct_letter`` (default C), and one cited,
    verified reference: ``PublishableQuestionFactory(correct_letter="B")``."""

    status = Question.Status.PUBLISHED
    last_reviewed_on = factory.LazyFunction(timezone.localdate)

    class Meta:
        skip_postgeneration_save = True

    @factory.post_generation
    def correct_letter(self, create, extracted, **kwargs):
        if not create:
            return
        for letter in CHOICE_LETTERS:
            ChoiceFactory(
                question=self,
                letter=letter,
                text=f"Nerve {letter} for {self.key}",
                is_correct=letter == (extracted or "C"),
                rationale=f"Rationale for {letter}.",
            )
        citation = CitationFactory(question=self)
        self.explanation = f"The nerves cross the iliac crest [@{citation.reference.key}]."
        self.save(update_fields=["explanation"])


def _shown(question: Question) -> dict:
    """A snapshot in the question's own letter order (no shuffle), as starting.snapshot's."""
    return {
        "stem": question.stem,
        "lead_in": question.lead_in,
        "objective": question.objective,
        "explanation": question.explanation,
        "choices": [
            {
                "choice_id": c.pk,
                "letter": c.letter,
                "text": c.text,
                "rationale": c.rationale,
                "is_correct": c.is_correct,
            }
            for c in question.choices.all()
        ],
        "citations": [
            {"reference_id": c.reference_id, "locator": c.locator} for c in question.citations.all()
        ],
    }


def finished_attempts(rows, *, started_at=None, assignment=None, mode=Attempt.Mode.TIMED):
    """Finished attempts built directly (bulk inserts, no engine), for statistics tests.

    ``rows``: one ``(user, answers)`` per attempt, where ``answers`` lists
    ``(question, letter or None, seconds)`` with letters as the question stores them.
    Attempts start a minute apart from ``started_at``. Returns the attempts in order."""
    started_at = started_at or timezone.now() - datetime.timedelta(days=1)
    attempts, pending = [], []
    for index, (user, answers) in enumerate(rows):
        start = started_at + datetime.timedelta(minutes=index)
        outcomes = []
        for question, letter, seconds in answers:
            chosen = next((c for c in question.choices.all() if c.letter == letter), None)
            outcomes.append((question, letter, seconds, chosen))
        attempts.append(
            Attempt(
                user=user,
                mode=mode,
                status=Attempt.Status.FINISHED,
                started_at=start,
                finished_at=start + datetime.timedelta(seconds=30),
                finish_reason=Attempt.FinishReason.SUBMITTED,
                question_count=len(answers),
                correct_count=sum(bool(c and c.is_correct) for *_, c in outcomes),
                assignment=assignment,
            )
        )
        pending.append(outcomes)
    Attempt.objects.bulk_create(attempts)
    AttemptItem.objects.bulk_create(
        AttemptItem(
            attempt=attempt,
            position=position,
            question=question,
            shown=_shown(question),
            selected_letter=letter or "",
            selected_choice_pk=chosen.pk if chosen else None,
            answered_at=attempt.started_at if chosen else None,
            locked_at=attempt.finished_at,
            is_correct=bool(chosen and chosen.is_correct),
            seconds_spent=seconds,
        )
        for attempt, outcomes in zip(attempts, pending, strict=True)
        for position, (question, letter, seconds, chosen) in enumerate(outcomes, start=1)
    )
    # What finishing them through the engine would have done.
    engine.refresh_first_encounters(user_ids={attempt.user_id for attempt in attempts})
    items = AttemptItem.objects.filter(attempt__in=attempts).order_by("attempt", "position")
    by_attempt = {}
    for item in items:
        by_attempt.setdefault(item.attempt_id, []).append(item)
    with transaction.atomic():  # it locks the cards it reads, as the engine's finish does
        for attempt in attempts:
            recall.schedule_attempt(attempt, by_attempt.get(attempt.pk, []))
    return attempts


def shown_letter(item: AttemptItem, *, correct: bool = True) -> str:
    """The letter under which ``item`` showed its key (or, ``correct=False``, a wrong
    choice): what a resident clicks to answer it right (or wrong)."""
    return next(c["letter"] for c in item.shown["choices"] if c["is_correct"] == correct)
