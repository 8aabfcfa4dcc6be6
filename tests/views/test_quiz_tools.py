"""The question page's one form and its tools, the submit screen and notes: what each
request saves, what it answers (htmx fragment or redirect), and what it never shows."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from questions.models import Assignment, Attempt, Cohort, Question, ResidentProfile
from questions.quizzes import engine, exam_tools, starting
from tests.factories import PublishableQuestionFactory, UserFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def resident_client(client, resident):
    client.force_login(resident)
    return client


@pytest.fixture(autouse=True)
def questions(db):
    return PublishableQuestionFactory.create_batch(4)


def start(user, mode=Attempt.Mode.TIMED):
    return starting.start_attempt(
        user=user, config=starting.QuizConfig(question_count=3, mode=mode)
    )


def answer_url(attempt, position=1):
    return reverse("questions:attempt_answer", args=[attempt.pk, position])


def secrets_of(item):
    """Text that must not reach the page before the item is locked."""
    return [c["rationale"] for c in item.shown["choices"]] + [
        item.shown["explanation"],
        item.shown["objective"],
    ]


@pytest.mark.parametrize("mode", [Attempt.Mode.TIMED, Attempt.Mode.TUTOR])
def test_a_choice_saved_as_it_is_picked_answers_a_status_without_the_key(
    resident_client, resident, mode
):
    attempt = start(resident, mode)
    response = resident_client.post(
        answer_url(attempt), {"letter": "C", "confidence": "unsure", "go": "save"}, **HTMX
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "Answer C saved at" in page and 'id="nav-1" hx-swap-oob="true"' in page
    item = attempt.items.get(position=1)
    assert (item.selected_letter, item.confidence, item.locked_at) == ("C", "unsure", None)
    for text in secrets_of(item):
        assert text not in page


def test_a_tutor_answer_is_locked_only_by_submit(resident_client, resident):
    attempt = start(resident, Attempt.Mode.TUTOR)
    resident_client.post(answer_url(attempt), {"letter": "B", "go": "3"})
    assert not attempt.items.get(position=1).is_locked  # left by the navigator: kept, open
    response = resident_client.post(answer_url(attempt), {"letter": "B", "go": "stay"})
    assert response.url == reverse("questions:attempt_question", args=[attempt.pk, 1])
    assert attempt.items.get(position=1).is_locked


@pytest.mark.parametrize(
    ("go", "lands_on"),
    [("next", 2), ("previous", 1), ("3", 3), ("99", 1), ("0", 1), ("flag", 1), ("strike:A", 1)],
)
def test_every_button_saves_the_choice_then_does_what_it_says(
    resident_client, resident, go, lands_on
):
    attempt = start(resident)
    response = resident_client.post(answer_url(attempt), {"letter": "D", "go": go})
    assert response.url == reverse("questions:attempt_question", args=[attempt.pk, lands_on])
    item = attempt.items.get(position=1)
    assert item.selected_letter == "D"
    assert item.is_flagged == (go == "flag")
    assert item.struck_letters == ("A" if go == "strike:A" else "")


def test_a_question_the_quiz_lacks_sends_the_resident_back_to_theirs(resident_client, resident):
    attempt = start(resident)
    response = resident_client.get(reverse("questions:attempt_question", args=[attempt.pk, 99]))
    assert response.url == reverse("questions:attempt_question", args=[attempt.pk, 1])


def test_strike_by_htmx_answers_nothing_to_swap(resident_client, resident):
    attempt = start(resident)
    response = resident_client.post(answer_url(attempt), {"go": "strike:E"}, **HTMX)
    assert response.status_code == 204
    assert attempt.items.get(position=1).struck_letters == "E"


def test_highlight_by_htmx_answers_the_stem_with_its_marks(resident_client, resident):
    attempt = start(resident)
    stem = attempt.items.get(position=1).shown["stem"]
    response = resident_client.post(
        answer_url(attempt), {"go": "highlight", "start": "2", "end": "9"}, **HTMX
    )
    page = response.content.decode()
    assert f'<mark data-at="2">{stem[2:9]}</mark>' in page
    assert attempt.items.get(position=1).highlights == [[2, 9]]


@pytest.mark.parametrize("bounds", [{}, {"start": "x", "end": "4"}, {"start": "-1", "end": "4"}])
def test_a_highlight_without_a_selection_is_said_in_the_status_line(
    resident_client, resident, bounds
):
    attempt = start(resident)
    response = resident_client.post(answer_url(attempt), {"go": "highlight", **bounds}, **HTMX)
    assert response["HX-Retarget"] == "#save-status"
    assert "Select some of the question" in response.content.decode()
    assert attempt.items.get(position=1).highlights == []


def test_a_note_too_long_is_refused_and_the_old_one_kept(resident_client, resident):
    attempt = start(resident)
    resident_client.post(answer_url(attempt), {"note": "short", "go": "save"}, **HTMX)
    response = resident_client.post(answer_url(attempt), {"note": "x" * 2001, "go": "save"}, **HTMX)
    assert "Not saved: A note holds at most 2000 characters" in response.content.decode()
    assert attempt.items.get(position=1).note == "short"


@pytest.mark.parametrize("go", ["next", "flag", "save"])
def test_a_step_with_a_note_too_long_saves_nothing_and_says_so(resident_client, resident, go):
    attempt = start(resident)
    response = resident_client.post(
        answer_url(attempt), {"letter": "B", "note": "x" * 2001, "go": go}, follow=True
    )
    assert "nothing was saved" in response.content.decode()
    item = attempt.items.get(position=1)
    assert (item.selected_letter, item.note, item.is_flagged) == ("", "", False)


def test_the_text_size_and_the_hidden_clock_are_the_residents_own(resident_client, resident):
    attempt = start(resident)
    resident_client.post(answer_url(attempt), {"go": "text:larger"})
    resident_client.post(answer_url(attempt), {"go": "timer:hide"})
    profile = ResidentProfile.objects.get(user=resident)
    assert (profile.text_size, profile.is_timer_hidden) == ("larger", True)
    page = resident_client.get(
        reverse("questions:attempt_question", args=[attempt.pk, 1])
    ).content.decode()
    assert "quiz-text-larger" in page and "Clock hidden until the last 5:00" in page


def test_a_paused_quiz_hides_the_question_and_refuses_answers(resident_client, resident):
    attempt = start(resident)
    resident_client.post(answer_url(attempt), {"go": "pause"})
    page = resident_client.get(
        reverse("questions:attempt_question", args=[attempt.pk, 1])
    ).content.decode()
    item = attempt.items.get(position=1)
    assert "Quiz paused" in page and item.shown["stem"] not in page
    response = resident_client.post(answer_url(attempt), {"letter": "A", "go": "next"}, follow=True)
    assert "The quiz is paused" in response.content.decode()
    assert attempt.items.get(position=1).selected_letter == ""


def test_an_assignment_cannot_be_paused(resident_client, resident):
    cohort = Cohort.objects.create(name="A", join_code="ABCD2345")
    cohort.residents.add(resident)
    assignment = Assignment.objects.create(
        cohort=cohort,
        title="Block",
        question_count=3,
        mode=Attempt.Mode.TIMED,
        opens_at=timezone.now(),
        due_at=timezone.now() + datetime.timedelta(days=1),
    )
    assignment.questions.set(Question.objects.all())
    attempt = starting.start_assignment(user=resident, assignment=assignment)
    page = resident_client.get(
        reverse("questions:attempt_question", args=[attempt.pk, 1])
    ).content.decode()
    assert 'value="pause"' not in page
    response = resident_client.post(answer_url(attempt), {"go": "pause"}, follow=True)
    assert "An assignment&#x27;s clock cannot be paused." in response.content.decode()
    attempt.refresh_from_db()
    assert attempt.paused_at is None
    submit = resident_client.get(reverse("questions:attempt_submit", args=[attempt.pk]))
    assert "This is your only attempt at this assignment." in submit.content.decode()


def test_the_submit_screen_lists_states_without_the_key_and_scores_nothing(
    resident_client, resident
):
    attempt = start(resident)
    engine.answer(attempt=attempt, position=2, letter="A")
    engine.set_flag(attempt=attempt, position=3, flagged=True)
    exam_tools.set_note(attempt=attempt, position=3, text="ask about the MCN")
    response = resident_client.get(reverse("questions:attempt_submit", args=[attempt.pk]))
    page = response.content.decode()
    assert "no-store" in response["Cache-Control"]
    assert "<strong>2 unanswered</strong>, 1 flagged, 1 with notes" in page
    assert "ask about the MCN" in page
    for item in attempt.items.all():
        for text in secrets_of(item):
            assert text not in page
    attempt.refresh_from_db()
    assert not attempt.is_finished


def test_the_submit_screen_of_a_finished_quiz_goes_to_its_results(resident_client, resident):
    attempt = engine.finish_attempt(attempt=start(resident))
    response = resident_client.get(reverse("questions:attempt_submit", args=[attempt.pk]))
    assert response.url == attempt.results_url()


def test_another_residents_quiz_is_not_found_by_any_new_page(client, resident):
    attempt = start(resident)
    client.force_login(UserFactory())
    assert client.get(reverse("questions:attempt_submit", args=[attempt.pk])).status_code == 404
    for data in ({"go": "flag"}, {"go": "strike:A"}, {"note": "x"}, {"go": "pause"}, {}):
        assert client.post(answer_url(attempt), data).status_code == 404
    note_url = reverse("questions:item_note", args=[attempt.pk, 1])
    assert client.post(note_url, {"note": "x"}).status_code == 404
    assert attempt.items.get(position=1).note == ""


def test_the_question_page_is_never_cached(resident_client, resident):
    attempt = start(resident)
    response = resident_client.get(reverse("questions:attempt_question", args=[attempt.pk, 1]))
    assert "no-store" in response["Cache-Control"]


@pytest.mark.parametrize(
    ("back", "lands"),
    [("/notes/", "/notes/"), ("https://evil.example/", None), ("//evil.example/", None)],
)
def test_a_note_written_after_the_quiz_returns_only_to_this_site(
    resident_client, resident, back, lands
):
    attempt = engine.finish_attempt(attempt=start(resident))
    response = resident_client.post(
        reverse("questions:item_note", args=[attempt.pk, 2]), {"note": "later", "next": back}
    )
    assert response.url == (lands or attempt.get_absolute_url())
    assert attempt.items.get(position=2).note == "later"


@pytest.mark.parametrize(
    ("switch", "markup"),
    [
        ("has_strikeout", 'value="strike:A"'),
        ("has_highlighter", 'id="highlight-button"'),
        ("has_notes", 'name="note"'),
        ("has_question_timer", 'id="question-timer"'),
        ("has_keyboard_shortcuts", "<kbd"),
    ],
)
def test_every_tool_can_be_turned_off_in_the_settings(resident_client, resident, switch, markup):
    attempt = start(resident)
    url = reverse("questions:attempt_question", args=[attempt.pk, 1])
    assert markup in resident_client.get(url).content.decode()
    ResidentProfile.objects.update_or_create(user=resident, defaults={switch: False})
    assert markup not in resident_client.get(url).content.decode()
