"""factory-boy factories. ``PublishableQuestionFactory`` builds a question that meets every
rule of ``questions.bank`` (5 choices, one key, a citation used in the explanation)."""

import factory
from django.contrib.auth import get_user_model

from questions.models import CHOICE_LETTERS, Choice, Citation, Question, Reference, Topic


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
