"""Authoring through the admin: the bank's rules refuse bad input with a message, nothing
is saved half-way, and educators can author but not manage users."""

import pytest
from django.urls import reverse

from questions.models import Choice, Question
from tests.factories import PublishableQuestionFactory, ReferenceFactory, TopicFactory

pytestmark = pytest.mark.django_db

ADD_URL = reverse("admin:questions_question_add")


def form_data(*, question=None, choices=(), citations=(), **fields):
    """POST data for the question change form with its two inlines.

    ``choices``: (text, is_correct) pairs, or (text, is_correct, pk) for existing rows;
    ``citations``: (reference, locator) pairs."""
    data = {
        "key": "scn-tunnel",
        "difficulty": "2",
        "topics": [TopicFactory().pk],
        "stem": "A 61-year-old woman has low back pain over the iliac crest.",
        "lead_in": "Where is the nerve most likely compressed?",
        "objective": "Locate the superior cluneal nerve's osteofibrous tunnel.",
        "explanation": "",
        "last_reviewed_on": "",
        "_save": "Save",
    }
    data |= fields
    initial_choices = [c for c in choices if len(c) == 3]
    data |= {
        "choices-TOTAL_FORMS": str(len(choices)),
        "choices-INITIAL_FORMS": str(len(initial_choices)),
        "choices-MIN_NUM_FORMS": "0",
        "choices-MAX_NUM_FORMS": "5",
        "citations-TOTAL_FORMS": str(len(citations)),
        "citations-INITIAL_FORMS": "0",
        "citations-MIN_NUM_FORMS": "0",
        "citations-MAX_NUM_FORMS": "1000",
    }
    for i, choice in enumerate(choices):
        text, is_correct = choice[0], choice[1]
        data[f"choices-{i}-text"] = text
        data[f"choices-{i}-rationale"] = f"Rationale for {text}."
        if is_correct:
            data[f"choices-{i}-is_correct"] = "on"
        if len(choice) == 3:
            data[f"choices-{i}-id"] = str(choice[2])
            data[f"choices-{i}-question"] = str(question.pk)
    for i, (reference, locator) in enumerate(citations):
        data[f"citations-{i}-reference"] = str(reference.pk)
        data[f"citations-{i}-locator"] = locator
    return data


FIVE_NERVES = ["Superior cluneal", "Middle cluneal", "Inferior cluneal", "Pudendal", "Obturator"]


def test_educator_adds_a_draft_with_choices_lettered_in_order(educator_client, educator):
    reference = ReferenceFactory(key="kuniya2013")
    data = form_data(
        choices=[(name, name == "Superior cluneal") for name in FIVE_NERVES],
        citations=[(reference, "Abstract")],
        explanation="Osteofibrous tunnel [@kuniya2013].",
    )
    response = educator_client.post(ADD_URL, data)
    assert response.status_code == 302, response.context["errors"] if response.context else ""
    question = Question.objects.get(key="scn-tunnel")
    assert question.status == Question.Status.DRAFT
    assert question.author == educator
    assert list(question.choices.values_list("letter", "text", "is_correct")) == [
        ("A", "Superior cluneal", True),
        ("B", "Middle cluneal", False),
        ("C", "Inferior cluneal", False),
        ("D", "Pudendal", False),
        ("E", "Obturator", False),
    ]
    assert question.citations.get().order == 1


@pytest.mark.parametrize(
    ("correct", "message"),
    [
        (
            {"Superior cluneal", "Pudendal"},
            "Only one choice can be correct; 2 are marked correct (A, D).",
        ),
        (set(), "Mark exactly one choice as correct: none is."),
    ],
)
def test_two_correct_choices_or_none_are_refused_and_nothing_is_saved(
    educator_client, correct, message
):
    data = form_data(choices=[(name, name in correct) for name in FIVE_NERVES])
    response = educator_client.post(ADD_URL, data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert Question.objects.count() == 0
    assert Choice.objects.count() == 0


def test_explanation_citing_a_missing_reference_is_refused(educator_client):
    data = form_data(
        choices=[(name, name == "Pudendal") for name in FIVE_NERVES],
        explanation="As shown [@nowhere2020].",
    )
    response = educator_client.post(ADD_URL, data)
    assert response.status_code == 200
    assert "The explanation cites [@nowhere2020]" in response.content.decode()
    assert not Question.objects.exists()


def _existing_choices(question, correct_letter, keep=5):
    return [
        (c.text, c.letter == correct_letter, c.pk)
        for c in question.choices.order_by("letter")[:keep]
    ]


def _existing_citation(question):
    """Form data that keeps the question's one citation as it is."""
    citation = question.citations.get()
    return {
        "citations-TOTAL_FORMS": "1",
        "citations-INITIAL_FORMS": "1",
        "citations-0-id": str(citation.pk),
        "citations-0-question": str(question.pk),
        "citations-0-reference": str(citation.reference_id),
        "citations-0-locator": citation.locator,
    }


def _change_url(question):
    return reverse("admin:questions_question_change", args=[question.pk])


def edit_data(question, correct_letter, delete=()):
    """POST data that resubmits the question as it is, with the key on ``correct_letter`` and
    the choices whose letters are in ``delete`` ticked for deletion."""
    choices = list(question.choices.order_by("letter"))
    data = form_data(
        question=question,
        key=question.key,
        explanation=question.explanation,
        choices=[(c.text, c.letter == correct_letter, c.pk) for c in choices],
    )
    for i, choice in enumerate(choices):
        if choice.letter in delete:
            data[f"choices-{i}-DELETE"] = "on"
    return data | _existing_citation(question)


def test_editing_a_published_question_down_to_three_choices_is_refused(educator_client):
    question = PublishableQuestionFactory(correct_letter="A")
    response = educator_client.post(_change_url(question), edit_data(question, "A", delete="DE"))
    assert response.status_code == 200
    assert "needs 4 or 5 choices; it has 3" in response.content.decode()
    assert question.choices.count() == 5


def test_deleting_a_middle_choice_reletters_the_rest_in_order(educator_client):
    question = PublishableQuestionFactory(correct_letter="E")
    texts = dict(question.choices.values_list("letter", "text"))
    response = educator_client.post(_change_url(question), edit_data(question, "E", delete="B"))
    assert response.status_code == 302
    assert list(question.choices.values_list("letter", "text", "is_correct")) == [
        ("A", texts["A"], False),
        ("B", texts["C"], False),
        ("C", texts["D"], False),
        ("D", texts["E"], True),
    ]


def test_moving_the_key_to_another_choice_saves_and_records_history(educator_client):
    question = PublishableQuestionFactory(correct_letter="E")
    response = educator_client.post(_change_url(question), edit_data(question, "A"))
    assert response.status_code == 302
    assert question.choices.get(is_correct=True).letter == "A"
    old_key = question.choices.get(letter="E")
    assert [h.is_correct for h in old_key.history.order_by("history_date")] == [True, False]


def test_publish_action_refuses_an_incomplete_question_with_a_message(educator_client):
    ready = PublishableQuestionFactory(status=Question.Status.IN_REVIEW)
    incomplete = PublishableQuestionFactory(status=Question.Status.IN_REVIEW)
    incomplete.citations.all().delete()
    response = educator_client.post(
        reverse("admin:questions_question_changelist"),
        {"action": "publish", "_selected_action": [ready.pk, incomplete.pk]},
        follow=True,
    )
    page = response.content.decode()
    assert "1 question(s) moved to published." in page
    assert f"Not moved: {incomplete.key}. It is not ready: The explanation cites [@" in page
    assert "A question in review or published needs at least one citation." in page
    ready.refresh_from_db()
    incomplete.refresh_from_db()
    assert (ready.status, incomplete.status) == ("published", "review")


def test_changelist_filters_and_searches(educator_client):
    PublishableQuestionFactory(stem="Tenderness 7 cm from the midline on the iliac crest.")
    PublishableQuestionFactory(status=Question.Status.DRAFT, stem="Pain when sitting.")
    url = reverse("admin:questions_question_changelist")
    assert educator_client.get(url, {"q": "midline"}).context["cl"].result_count == 1
    assert educator_client.get(url, {"status__exact": "draft"}).context["cl"].result_count == 1


def test_changelist_query_count_does_not_grow_with_questions(
    educator_client, django_assert_max_num_queries
):
    url = reverse("admin:questions_question_changelist")
    PublishableQuestionFactory.create_batch(3)
    with django_assert_max_num_queries(20) as few:
        educator_client.get(url)
    PublishableQuestionFactory.create_batch(60)
    with django_assert_max_num_queries(len(few.captured_queries)):
        educator_client.get(url)


def test_educators_author_questions_but_cannot_manage_users(educator_client):
    assert educator_client.get(ADD_URL).status_code == 200
    assert educator_client.get(reverse("admin:questions_reference_changelist")).status_code == 200
    assert educator_client.get(reverse("admin:auth_user_changelist")).status_code == 403
    assert educator_client.get(reverse("admin:auth_group_changelist")).status_code == 403


def test_residents_cannot_enter_the_admin(client, resident):
    client.force_login(resident)
    response = client.get(ADD_URL)
    assert response.status_code == 302
    assert reverse("admin:login") in response.url


def test_reference_admin_searches_by_doi(educator_client):
    ReferenceFactory(key="darnis2008", doi="10.1007/s00276-008-0306-9")
    ReferenceFactory(key="other", doi="10.1/other")
    response = educator_client.get(reverse("admin:questions_reference_changelist"), {"q": "s00276"})
    assert [r.key for r in response.context["cl"].result_list] == ["darnis2008"]


def test_history_page_lists_changes(educator_client):
    question = PublishableQuestionFactory()
    response = educator_client.get(reverse("admin:questions_question_history", args=[question.pk]))
    assert response.status_code == 200
    assert "Created" in response.content.decode() or "+" in response.content.decode()
