import pytest
from django.db import IntegrityError, transaction

from questions.models import Reference
from tests.factories import ChoiceFactory, CitationFactory, QuestionFactory, ReferenceFactory

pytestmark = pytest.mark.django_db


def test_database_refuses_a_second_correct_choice():
    question = QuestionFactory()
    ChoiceFactory(question=question, letter="A", is_correct=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        ChoiceFactory(question=question, letter="B", is_correct=True)
    assert question.choices.count() == 1


def test_other_questions_each_keep_their_own_correct_choice():
    ChoiceFactory(letter="A", is_correct=True)
    ChoiceFactory(letter="A", is_correct=True)


def test_database_refuses_a_repeated_letter():
    question = QuestionFactory()
    ChoiceFactory(question=question, letter="A")
    with pytest.raises(IntegrityError), transaction.atomic():
        ChoiceFactory(question=question, letter="A")


def test_database_refuses_a_letter_beyond_e():
    with pytest.raises(IntegrityError), transaction.atomic():
        ChoiceFactory(letter="F")


def test_a_question_cites_a_reference_once():
    citation = CitationFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        CitationFactory(question=citation.question, reference=citation.reference)


def test_pmid_holds_digits_only():
    with pytest.raises(IntegrityError), transaction.atomic():
        ReferenceFactory(pmid="PMID123")


def test_reference_renders_vancouver_text_and_links():
    reference = ReferenceFactory()
    assert reference.citation_text == (
        "Isu T, Kim K, Morimoto D, Iwamoto N. Superior and middle cluneal nerve entrapment as a "
        "cause of low back pain. Neurospine. 2018;15(1):25-32."
    )
    assert reference.doi_url == "https://doi.org/10.14245/ns.1836024.012"
    assert reference.pmid_url == "https://pubmed.ncbi.nlm.nih.gov/29656623/"


def test_reference_without_identifiers_has_no_links():
    reference = ReferenceFactory(doi="", pmid="", year=None, pages="", kind=Reference.Kind.DOCUMENT)
    assert reference.doi_url == ""
    assert reference.pmid_url == ""
    assert reference.citation_text.endswith("low back pain. Neurospine.")


def test_book_citation_names_publisher_year_and_pages():
    book = ReferenceFactory(
        kind=Reference.Kind.BOOK,
        authors="Gray H",
        title="Anatomy of the Human Body. 20th ed.",
        journal="Philadelphia: Lea & Febiger",
        year=1918,
        pages="p. 959",
    )
    assert book.citation_text == (
        "Gray H. Anatomy of the Human Body. 20th ed. Philadelphia: Lea & Febiger; 1918. p. 959."
    )


def test_question_history_records_each_change():
    question = QuestionFactory()
    question.lead_in = "Which nerve is entrapped at the iliac crest?"
    question.save()
    assert [h.lead_in for h in question.history.order_by("history_date")][-1] == question.lead_in
    assert question.history.count() == 2
