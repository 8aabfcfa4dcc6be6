"""Authoring through the admin: the bank's rules refuse bad input with a message, nothing
is saved half-way, and educators can author but not manage users."""

import pytest
from django.urls import reverse

from questions.models import Choice, Question
from tests.factories import (
    CitationFactory,
    PublishableQuestionFactory,
    ReferenceFactory,
    TopicFactory,
)

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


def test_question_admin_flags_broken_items_and_filters_them(educator_client):
    from tests.factories import UserFactory, finished_attempts

    broken, fine, also_fine = PublishableQuestionFactory.create_batch(3)
    # Half the residents answer fine and also_fine right, half wrong: each discriminates
    # perfectly on the other. Nobody answers broken right: facility 0.
    finished_attempts(
        [
            (UserFactory(), [(broken, "A", 10), (fine, letter, 10), (also_fine, letter, 10)])
            for letter in ["C", "B"] * 10
        ]
    )
    url = reverse("admin:questions_question_changelist")

    flagged = educator_client.get(url, {"item_analysis": "flagged"})
    not_flagged = educator_client.get(url, {"item_analysis": "not_flagged"})

    assert list(flagged.context["cl"].result_list) == [broken]
    assert "⚠ flagged" in flagged.content.decode()
    assert "facility 0.00 is below 0.2" in flagged.content.decode()
    assert set(not_flagged.context["cl"].result_list) == {fine, also_fine}


def test_an_educator_sees_and_manages_only_their_cohorts(educator_client, educator):
    from questions.models import Cohort

    Cohort.objects.create(name="Someone else's")
    response = educator_client.post(
        reverse("admin:questions_cohort_add"),
        {"name": "Mine", "program": "", "description": "", "time_zone": "America/New_York"},
    )
    assert response.status_code == 302
    mine = Cohort.objects.get(name="Mine")
    assert list(mine.educators.all()) == [educator]

    listing = educator_client.get(reverse("admin:questions_cohort_changelist"))
    assert [c.name for c in listing.context["cl"].result_list] == ["Mine"]
    other = Cohort.objects.get(name="Someone else's")
    assert (
        educator_client.get(reverse("admin:questions_cohort_change", args=[other.pk])).status_code
        == 302
    )


def test_an_educator_cannot_enrol_residents_in_the_admin(educator_client, educator):
    from questions.models import Cohort
    from tests.factories import UserFactory

    cohort = Cohort.objects.create(name="Mine")
    cohort.educators.add(educator)
    stranger = UserFactory()
    url = reverse("admin:questions_cohort_change", args=[cohort.pk])

    educator_client.post(
        url,
        {"name": "Mine", "program": "", "description": "", "educators": [educator.pk],
         "residents": [stranger.pk]},
    )  # fmt: skip

    assert not cohort.residents.exists()


def test_the_assignment_filter_lists_only_the_educators_cohorts(educator_client, educator):
    from questions.models import Cohort

    Cohort.objects.create(name="Hidden program")
    Cohort.objects.create(name="Mine").educators.add(educator)
    page = educator_client.get(reverse("admin:questions_assignment_changelist"))
    assert page.status_code == 200
    assert "Hidden program" not in page.content.decode()


def test_publish_action_refuses_the_author_and_accepts_another_educator(
    educator_client, educator, client
):
    from django.contrib.auth.models import Group

    from questions.people.roles import EDUCATORS_GROUP
    from tests.factories import UserFactory

    question = PublishableQuestionFactory(status=Question.Status.IN_REVIEW, author=educator)
    url = reverse("admin:questions_question_changelist")
    action = {"action": "publish", "_selected_action": [question.pk]}

    refused = educator_client.post(url, action, follow=True).content.decode()
    assert f"Not moved: {question.key}. Another educator must review it" in refused

    colleague = UserFactory(username="colleague", is_staff=True)
    colleague.groups.add(Group.objects.get(name=EDUCATORS_GROUP))
    client.force_login(colleague)
    client.post(url, action)
    question.refresh_from_db()
    assert question.status == Question.Status.PUBLISHED
    assert question.status_changes.get().changed_by == colleague
    change_form = client.get(reverse("admin:questions_question_change", args=[question.pk]))
    assert "colleague moved it from In review to Published" in change_form.content.decode()


def test_needs_review_filter_lists_overdue_questions(educator_client):
    import datetime

    due = PublishableQuestionFactory(last_reviewed_on=datetime.date(2020, 1, 1))
    PublishableQuestionFactory()  # reviewed today
    response = educator_client.get(
        reverse("admin:questions_question_changelist"), {"needs_review": "overdue"}
    )
    assert list(response.context["cl"].result_list) == [due]


def test_history_shows_versions_and_restores_one_with_its_choices(educator_client):
    question = PublishableQuestionFactory()
    question.stem = "Old wording of the vignette."
    question.save()
    old = question.history.first()
    question.stem = "New wording of the vignette."
    question.save()

    history = educator_client.get(reverse("admin:questions_question_history", args=[question.pk]))
    restore_url = reverse("admin:questions_question_restore", args=[question.pk, old.history_id])
    assert restore_url in history.content.decode()
    assert "<strong>Stem:</strong>" in history.content.decode()  # what each save changed

    confirm = educator_client.get(restore_url)
    assert "Old wording of the vignette." in confirm.content.decode()
    assert "Nerve C for" in confirm.content.decode()  # the version's choices are shown

    educator_client.post(restore_url)
    question.refresh_from_db()
    assert question.stem == "Old wording of the vignette."


def test_history_lists_what_each_save_changed_in_the_choices(educator_client):
    question = PublishableQuestionFactory()
    choice = question.choices.get(letter="D")
    choice.text = "A sharper distractor."
    choice.save()

    page = educator_client.get(reverse("admin:questions_question_history", args=[question.pk]))

    assert "Choice D: text changed to “A sharper distractor.”" in page.content.decode()


def test_preview_link_is_on_the_change_form(educator_client):
    question = PublishableQuestionFactory()
    page = educator_client.get(reverse("admin:questions_question_change", args=[question.pk]))
    assert reverse("questions:question_preview", args=[question.pk]) in page.content.decode()


def test_every_inline_field_is_named_by_its_row_and_column(educator_client):
    """The tabular inlines label their columns in <th> only (axe: label, select-name,
    found by tests/browser/test_educator_journeys.py): each field carries its own name."""
    question = PublishableQuestionFactory()
    CitationFactory(question=question, order=2)
    page = educator_client.get(reverse("admin:questions_question_change", args=[question.pk]))
    html = page.content.decode()
    for label in [
        "choice 1: Text", "choice 5: Rationale", "choice 2: Delete", "citation 1: Reference",
        "citation 2: Reference", "citation 3: Locator", "new citation: Reference",
    ]:  # fmt: skip
        assert f'aria-label="{label}"' in html, label


def test_export_actions_download_the_selected_questions(educator_client):
    chosen, other = PublishableQuestionFactory(), PublishableQuestionFactory()
    url = reverse("admin:questions_question_changelist")
    for action, marker in [
        ("export_json", '"questions"'),
        ("export_csv", "key,status"),
        ("export_moodle", "<quiz>"),
    ]:
        response = educator_client.post(url, {"action": action, "_selected_action": [chosen.pk]})
        body = response.content.decode()
        assert "attachment" in response["Content-Disposition"]
        assert marker in body
        assert chosen.key in body and other.key not in body


def test_import_page_checks_then_imports(educator_client, educator):
    import json

    from django.core.files.uploadedfile import SimpleUploadedFile

    from questions.interchange import transfer

    source = PublishableQuestionFactory()
    text = transfer.export_questions(Question.objects.filter(pk=source.pk), "json")
    data = json.loads(text)
    data["questions"][0]["key"] = "imported-question"
    upload = SimpleUploadedFile("bank.json", json.dumps(data).encode(), "application/json")
    url = reverse("admin:questions_question_import")

    checked = educator_client.post(url, {"file": upload})
    assert "Dry run" in checked.content.decode()
    assert checked.context["plan"].created == ["imported-question"]
    assert not Question.objects.filter(key="imported-question").exists()

    applied = educator_client.post(
        url, {"token": checked.context["token"], "apply": "1"}, follow=True
    )
    assert "Imported: 1 created" in applied.content.decode()
    imported = Question.objects.get(key="imported-question")
    assert (imported.status, imported.author) == ("draft", educator)


def test_an_invalid_import_lists_problems_and_imports_nothing(educator_client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from questions.interchange.formats import CSV_COLUMNS

    row = dict.fromkeys(CSV_COLUMNS, "") | {
        "key": "bad",
        "difficulty": "extreme",
        "stem": "S",
        "lead_in": "L?",
        "choice_a": "A",
        "correct": "A",
    }
    csv_text = ",".join(CSV_COLUMNS) + "\n" + ",".join(row[c] for c in CSV_COLUMNS) + "\n"
    upload = SimpleUploadedFile("bank.csv", csv_text.encode(), "text/csv")
    response = educator_client.post(reverse("admin:questions_question_import"), {"file": upload})
    page = response.content.decode()
    assert "Nothing was imported" in page
    assert "row 2" in page
    assert not Question.objects.filter(key="bad").exists()


def test_residents_cannot_import(client, resident):
    client.force_login(resident)
    response = client.get(reverse("admin:questions_question_import"))
    assert response.status_code == 302
    assert "login" in response.url


def test_text_typed_in_the_browser_is_stored_with_unix_newlines(educator_client):
    data = form_data(
        choices=[(text, i == 0) for i, text in enumerate(FIVE_NERVES)],
        citations=[(ReferenceFactory(), "Abstract")],
        stem="First paragraph.\r\n\r\nSecond paragraph.",
    )
    data["choices-0-rationale"] = "Line one.\r\nLine two."
    educator_client.post(ADD_URL, data)
    question = Question.objects.get()
    assert question.stem == "First paragraph.\n\nSecond paragraph."
    assert question.choices.get(letter="A").rationale == "Line one.\nLine two."


def test_editing_a_published_question_sends_it_back_to_review(educator_client, educator):
    question = PublishableQuestionFactory()
    choices = list(question.choices.order_by("letter"))
    data = form_data(
        question=question,
        key=question.key,
        choices=[(c.text, c.is_correct, c.pk) for c in choices],
        stem="A reworded vignette.",
        last_reviewed_on="2030-01-01",  # not editable: ignored
    )
    citation = question.citations.get()
    data |= {
        "citations-TOTAL_FORMS": "1",
        "citations-INITIAL_FORMS": "1",
        "citations-0-id": str(citation.pk),
        "citations-0-question": str(question.pk),
        "citations-0-reference": str(citation.reference_id),
        "citations-0-locator": citation.locator,
        "explanation": question.explanation,
    }
    response = educator_client.post(
        reverse("admin:questions_question_change", args=[question.pk]), data, follow=True
    )
    question.refresh_from_db()
    assert "went back to review" in response.content.decode()
    assert question.status == Question.Status.IN_REVIEW
    assert str(question.last_reviewed_on) != "2030-01-01"
    change = question.status_changes.get()
    assert (change.changed_by, change.note) == (educator, "edited while published")
    assert question.last_edited_by == educator  # so another educator republishes it


def test_only_a_superuser_may_allow_self_review(educator_client):
    from questions.models import SiteSetting

    setting = SiteSetting.current()
    url = reverse("admin:questions_sitesetting_change", args=[setting.pk])
    educator_client.post(url, {"is_signup_open": "on", "allows_self_review": "on"})
    setting.refresh_from_db()
    assert setting.allows_self_review is False


def test_simple_historys_own_version_page_cannot_save_an_old_status(educator_client):
    """simple-history's version form saves the old row back on POST, status included: it
    must not be a way around the review workflow (it leads to our restore page instead)."""
    question = PublishableQuestionFactory(status=Question.Status.PUBLISHED)
    published = question.history.first()
    question.status = Question.Status.RETIRED
    question.save()
    url = reverse(
        "admin:questions_question_simple_history", args=[question.pk, published.history_id]
    )
    restore_url = reverse(
        "admin:questions_question_restore", args=[question.pk, published.history_id]
    )

    response = educator_client.post(url, {"stem": question.stem, "status": "published"})

    assert response.status_code == 302 and response.url == restore_url
    question.refresh_from_db()
    assert question.status == Question.Status.RETIRED
    assert educator_client.get(url).url == restore_url


def test_needs_review_filter_lists_questions_citing_an_unverified_reference(educator_client):
    checked, unchecked = PublishableQuestionFactory(), PublishableQuestionFactory()
    reference = unchecked.citations.get().reference
    reference.is_verified = False
    reference.save()

    url = reverse("admin:questions_question_changelist") + "?needs_review=unverified"
    page = educator_client.get(url).content.decode()

    assert unchecked.key in page and checked.key not in page
