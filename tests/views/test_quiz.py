"""Quiz pages: permissions, redirects, the key-leak rule, deadlines, query counts."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from questions.models import Attempt, AttemptItem, SiteSetting
from questions.quizzes import engine, starting
from tests.factories import PublishableQuestionFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def resident_client(client, resident):
    client.force_login(resident)
    return client


def start(user, count=3, mode=Attempt.Mode.TIMED):
    return starting.start_attempt(
        user=user, config=starting.QuizConfig(question_count=count, mode=mode)
    )


def question_url(attempt, position=1):
    return reverse("questions:attempt_question", args=[attempt.pk, position])


def answer_url(attempt, position=1):
    return reverse("questions:attempt_answer", args=[attempt.pk, position])


def key_letter(item):
    return next(c["letter"] for c in item.shown["choices"] if c["is_correct"])


@pytest.mark.parametrize("name", ["attempt_list", "attempt_new", "profile"])
def test_anonymous_users_are_sent_to_log_in(client, name):
    response = client.get(reverse(f"questions:{name}"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_builder_starts_an_attempt_and_opens_question_one(resident_client, resident):
    PublishableQuestionFactory.create_batch(4)
    response = resident_client.post(
        reverse("questions:attempt_new"),
        {"pool": "all", "question_count": 3, "mode": "timed"},
    )
    attempt = Attempt.objects.get(user=resident)
    assert response.url == question_url(attempt)
    assert attempt.items.count() == 3


def test_a_pool_too_small_gets_a_message_not_an_error(resident_client):
    PublishableQuestionFactory.create_batch(2)
    response = resident_client.post(
        reverse("questions:attempt_new"),
        {"pool": "unused", "question_count": 5, "mode": "tutor"},
    )
    assert response.status_code == 200
    assert "Only 2 questions match these settings" in response.content.decode()
    assert not Attempt.objects.exists()


def start_token(page) -> str:
    return re.search(r'name="start_token" value="([^"]+)"', page.content.decode()).group(1)


def test_the_same_builder_form_sent_twice_starts_one_quiz_and_resumes_it(resident_client, resident):
    PublishableQuestionFactory.create_batch(4)
    page = resident_client.get(reverse("questions:attempt_new"))
    assert page["Cache-Control"].startswith("max-age=0")  # going back refetches a new token
    form = {"pool": "all", "question_count": 3, "mode": "timed", "start_token": start_token(page)}
    first = resident_client.post(reverse("questions:attempt_new"), form)
    attempt = Attempt.objects.get(user=resident)
    resident_client.post(answer_url(attempt, 1), {"go": "2"})  # the navigator
    again = resident_client.post(reverse("questions:attempt_new"), form)
    assert Attempt.objects.filter(user=resident).count() == 1
    assert (first.url, again.url) == (question_url(attempt, 1), question_url(attempt, 2))
    # A new form is a new quiz.
    fresh = resident_client.get(reverse("questions:attempt_new"))
    assert start_token(fresh) != form["start_token"]
    resident_client.post(
        reverse("questions:attempt_new"), form | {"start_token": start_token(fresh)}
    )
    assert Attempt.objects.filter(user=resident).count() == 2


@pytest.mark.parametrize("token", ["", "not-a-uuid", "\x00" * 3, "9" * 5000])
def test_a_malformed_start_token_still_starts_the_quiz(resident_client, resident, token):
    PublishableQuestionFactory.create_batch(2)
    response = resident_client.post(
        reverse("questions:attempt_new"),
        {"pool": "all", "question_count": 2, "mode": "tutor", "start_token": token},
    )
    attempt = Attempt.objects.get(user=resident)
    assert (response.status_code, response.url) == (302, question_url(attempt))
    assert attempt.start_token is None


def test_another_residents_start_token_starts_a_quiz_of_ones_own(resident_client, resident):
    PublishableQuestionFactory.create_batch(2)
    token = "0b7e2f8a-1d3c-4a5b-9c8d-7e6f5a4b3c2d"
    other = starting.start_attempt(
        user=UserFactory(), config=starting.QuizConfig(question_count=2), token=token
    )
    resident_client.post(
        reverse("questions:attempt_new"),
        {"pool": "all", "question_count": 2, "mode": "timed", "start_token": token},
    )
    mine = Attempt.objects.get(user=resident)
    assert mine.pk != other.pk and str(mine.start_token) == token


@pytest.mark.parametrize("value", ["0", "-1", "abc", "100000"])
def test_bad_question_counts_are_refused_with_a_message(resident_client, value):
    PublishableQuestionFactory.create_batch(2)
    response = resident_client.post(
        reverse("questions:attempt_new"), {"pool": "all", "question_count": value, "mode": "timed"}
    )
    assert response.status_code == 200
    assert response.context["form"].errors["question_count"]
    assert not Attempt.objects.exists()


def test_another_residents_attempt_is_404(client, resident):
    PublishableQuestionFactory.create_batch(3)
    attempt = start(resident)
    client.force_login(UserFactory())
    for url in [
        question_url(attempt),
        reverse("questions:attempt_results", args=[attempt.pk]),
        reverse("questions:attempt_detail", args=[attempt.pk]),
    ]:
        assert client.get(url).status_code == 404
    assert client.post(answer_url(attempt), {"letter": "A"}).status_code == 404
    assert client.post(reverse("questions:attempt_finish", args=[attempt.pk])).status_code == 404


@pytest.mark.parametrize("mode", [Attempt.Mode.TIMED, Attempt.Mode.TUTOR])
def test_no_page_of_a_running_attempt_reveals_the_key(resident_client, resident, mode):
    PublishableQuestionFactory.create_batch(3)
    attempt = start(resident, mode=mode)
    for item in attempt.items.all():
        page = resident_client.get(question_url(attempt, item.position)).content.decode()
        for choice in item.shown["choices"]:
            assert choice["text"] in page
            assert choice["rationale"] not in page
        assert item.shown["explanation"] not in page
        assert item.shown["objective"] not in page
        assert "Correct answer" not in page
        assert "is_correct" not in page
        # The key's markup is the same as every other choice's but for its letter and text.
        blocks = re.findall(r'<div class="choice [^"]*">(.*?)</button>', page, re.S)
        assert len(blocks) == len(item.shown["choices"])
        shapes = {
            block.replace(c["text"], "TEXT")
            .replace(f'"{c["letter"]}"', '"L"')
            .replace(f"-{c['letter']}", "-L")
            .replace(f">{c['letter']}.<", ">L.<")
            .replace(f"strike:{c['letter']}", "strike:L")
            .replace(f"choice {c['letter']}", "choice L")
            for block, c in zip(blocks, item.shown["choices"], strict=True)
        }
        assert len(shapes) == 1, shapes


def test_tutor_mode_shows_the_explanation_right_after_answering(resident_client, resident):
    PublishableQuestionFactory.create_batch(3)
    attempt = start(resident, mode=Attempt.Mode.TUTOR)
    item = attempt.items.get(position=1)
    response = resident_client.post(answer_url(attempt), {"letter": key_letter(item)}, follow=True)
    page = response.content.decode()
    assert "Correct answer" in page
    assert item.shown["choices"][0]["rationale"] in page
    assert 'class="citation-link"' in page


def test_timed_save_and_next_moves_on_and_records_the_answer(resident_client, resident):
    PublishableQuestionFactory.create_batch(3)
    attempt = start(resident)
    response = resident_client.post(answer_url(attempt), {"letter": "B", "go": "next"})
    assert response.url == question_url(attempt, 2)
    assert attempt.items.get(position=1).selected_letter == "B"


def test_an_invalid_letter_gets_a_message_and_changes_nothing(resident_client, resident):
    PublishableQuestionFactory.create_batch(3)
    attempt = start(resident)
    response = resident_client.post(answer_url(attempt), {"letter": "Q"}, follow=True)
    assert "is not one of this question&#x27;s choices" in response.content.decode()
    assert not attempt.items.exclude(selected_letter="").exists()


def test_a_late_answer_is_refused_and_the_results_show(resident_client, resident):
    PublishableQuestionFactory.create_batch(3)
    attempt = start(resident)
    Attempt.objects.filter(pk=attempt.pk).update(
        deadline_at=timezone.now() - datetime.timedelta(seconds=engine.GRACE_SECONDS + 1)
    )
    response = resident_client.post(answer_url(attempt), {"letter": "A"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("questions:attempt_results", args=[attempt.pk])
    assert "Time ran out before this answer arrived" in response.content.decode()
    attempt.refresh_from_db()
    assert (attempt.status, attempt.finish_reason) == ("finished", "deadline")


def test_finishing_twice_is_harmless_and_results_show_score_and_citations(
    resident_client, resident
):
    PublishableQuestionFactory.create_batch(3)
    attempt = start(resident)
    first = attempt.items.get(position=1)
    resident_client.post(answer_url(attempt), {"letter": key_letter(first)})
    finish = reverse("questions:attempt_finish", args=[attempt.pk])
    resident_client.post(finish)
    response = resident_client.post(finish, follow=True)
    assert "1 / 3 (33.3%)" in response.content.decode()
    first_result = reverse("questions:attempt_result_item", args=[attempt.pk, 1])
    page = resident_client.get(first_result).content.decode()
    assert 'href="https://doi.org/10.14245/ns.1836024.012"' in page
    assert "Choice statistics appear once at least 5 residents" in page


def test_choice_shares_appear_once_five_residents_answered(client):
    question = PublishableQuestionFactory()
    residents = UserFactory.create_batch(5)
    for user in residents:
        attempt = start(user, count=1, mode=Attempt.Mode.TUTOR)
        item = attempt.items.get()
        engine.answer(attempt=attempt, position=1, letter=key_letter(item))
        engine.finish_attempt(attempt=attempt)
    client.force_login(residents[0])
    attempt = Attempt.objects.filter(user=residents[0]).get()
    summary = client.get(reverse("questions:attempt_results", args=[attempt.pk]))
    assert [row["share_correct"] for row in summary.context["rows"]] == [100]
    url = reverse("questions:attempt_result_item", args=[attempt.pk, 1])
    assert "chosen by 100% of residents" in client.get(url).content.decode()
    assert question.pk == attempt.items.get().question_id


def test_resuming_opens_the_question_the_resident_was_on(resident_client, resident):
    PublishableQuestionFactory.create_batch(3)
    attempt = start(resident)
    resident_client.post(answer_url(attempt, 1), {"go": "3"})  # the navigator
    response = resident_client.get(reverse("questions:attempt_detail", args=[attempt.pk]))
    assert response.url == question_url(attempt, 3)


def test_reading_a_question_page_writes_nothing(
    resident_client, resident, django_assert_max_num_queries
):
    """Back, a reload or a second tab on another question neither moves the resident nor
    credits time: the position moves with what the form sends."""
    PublishableQuestionFactory.create_batch(3)
    attempt = start(resident)
    before = Attempt.objects.values().get(pk=attempt.pk)
    items_before = list(attempt.items.values().order_by("position"))
    with django_assert_max_num_queries(20) as ctx:
        assert resident_client.get(question_url(attempt, 3)).status_code == 200
    sql = [query["sql"].lstrip().split()[0].upper() for query in ctx.captured_queries]
    assert set(sql) == {"SELECT"}, sql
    assert Attempt.objects.values().get(pk=attempt.pk) == before
    assert list(attempt.items.values().order_by("position")) == items_before


def _page_queries(client, url, django_assert_max_num_queries, method="get", data=None):
    with django_assert_max_num_queries(100) as ctx:
        getattr(client, method)(url, data or {})
    return len(ctx.captured_queries)


@pytest.mark.parametrize("page", ["question", "answer", "results"])
def test_query_counts_do_not_grow_with_quiz_length(
    resident_client, resident, django_assert_max_num_queries, page
):
    PublishableQuestionFactory.create_batch(40)
    counts = []
    for length in (3, 40):
        attempt = start(resident, count=length)
        if page == "results":
            engine.finish_attempt(attempt=attempt)
            url, method = reverse("questions:attempt_results", args=[attempt.pk]), "get"
        elif page == "answer":
            url, method = answer_url(attempt), "post"
        else:
            url, method = question_url(attempt), "get"
        counts.append(
            _page_queries(
                resident_client, url, django_assert_max_num_queries, method, {"letter": "A"}
            )
        )
    assert counts[0] == counts[1], counts


def test_signup_creates_a_resident_with_program_and_year(client):
    response = client.post(
        reverse("questions:signup"),
        {
            "username": "newres",
            "email": "newres@example.org",
            "password1": "a-long-unusual-pass-93",
            "password2": "a-long-unusual-pass-93",
            "program": "Example PM&R",
            "training_year": "2",
        },
    )
    assert response.status_code == 302
    user = UserFactory._meta.model.objects.get(username="newres")
    assert (user.resident_profile.program, user.resident_profile.training_year) == (
        "Example PM&R",
        2,
    )


def test_a_signed_in_user_is_not_offered_a_second_account(client, resident):
    client.force_login(resident)
    response = client.post(
        reverse("questions:signup"),
        {"username": "second", "email": "s@example.org", "password1": "a-long-unusual-pass-93",
         "password2": "a-long-unusual-pass-93", "program": "X", "training_year": "2"},
    )  # fmt: skip
    assert response.url == reverse("questions:dashboard")
    assert not UserFactory._meta.model.objects.filter(username="second").exists()
    assert int(client.session["_auth_user_id"]) == resident.pk


def test_signup_can_be_closed_by_an_educator(client):
    SiteSetting.objects.create(pk=1, is_signup_open=False)
    assert client.get(reverse("questions:signup")).status_code == 404


def test_login_and_logout(client, resident):
    response = client.post(
        reverse("login"), {"username": resident.username, "password": "a-long-test-password"}
    )
    assert response.url == reverse("questions:dashboard")
    assert client.post(reverse("logout")).status_code == 302
    assert client.get(reverse("questions:attempt_list")).status_code == 302


def test_unanswered_items_are_never_locked_before_finish(resident, resident_client):
    PublishableQuestionFactory.create_batch(3)
    attempt = start(resident)
    resident_client.post(answer_url(attempt), {"letter": "A"})
    assert not AttemptItem.objects.filter(attempt=attempt, locked_at__isnull=False).exists()


def test_keyboard_shortcuts_can_be_turned_off(resident_client, resident):
    PublishableQuestionFactory.create_batch(3)
    attempt = start(resident)
    assert 'data-shortcuts="on"' in resident_client.get(question_url(attempt)).content.decode()
    resident_client.post(
        reverse("questions:profile"),
        {"program": "X", "training_year": "3", "time_setting": "x2"},
    )
    resident.resident_profile.refresh_from_db()
    assert (
        resident.resident_profile.time_setting,
        resident.resident_profile.has_keyboard_shortcuts,
    ) == ("x2", False)
    assert 'data-shortcuts="off"' in resident_client.get(question_url(attempt)).content.decode()


def test_password_change(resident_client, resident):
    response = resident_client.post(
        reverse("password_change"),
        {
            "old_password": "a-long-test-password",
            "new_password1": "another-long-pass-512",
            "new_password2": "another-long-pass-512",
        },
    )
    assert response.url == reverse("password_change_done")
    resident.refresh_from_db()
    assert resident.check_password("another-long-pass-512")


def test_boosted_pages_tell_htmx_their_address(resident_client, resident):
    PublishableQuestionFactory.create_batch(3)
    attempt = start(resident)
    boosted = {"HX-Request": "true", "HX-Boosted": "true"}
    response = resident_client.get(question_url(attempt, 2), headers=boosted)
    assert response["HX-Push-Url"] == question_url(attempt, 2)
    assert "HX-Push-Url" not in resident_client.get(question_url(attempt, 2))
    # A fragment asked for by htmx (not a boosted navigation) is not pushed as a page.
    fragment = resident_client.get(question_url(attempt, 2), headers={"HX-Request": "true"})
    assert "HX-Push-Url" not in fragment


def test_history_query_count_does_not_grow_with_attempts(
    resident_client, resident, django_assert_max_num_queries
):
    PublishableQuestionFactory.create_batch(3)
    url = reverse("questions:attempt_list")
    start(resident)
    with django_assert_max_num_queries(50) as few:
        resident_client.get(url)
    for _ in range(30):
        engine.finish_attempt(attempt=start(resident))
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = resident_client.get(url)
    assert len(response.context["attempts"]) == 31


# --- one request per answer step (htmx) ---------------------------------------------------

BOOSTED = {"HX-Request": "true", "HX-Boosted": "true"}


def _secrets(item) -> list[str]:
    return [c["rationale"] for c in item.shown["choices"]] + [item.shown["explanation"]]


def test_a_boosted_save_and_next_answers_with_the_next_question_and_its_address(
    resident_client, resident
):
    PublishableQuestionFactory.create_batch(3)
    attempt = start(resident)
    response = resident_client.post(
        answer_url(attempt), {"letter": "B", "go": "next"}, headers=BOOSTED
    )
    assert response.status_code == 200
    assert response["HX-Push-Url"] == question_url(attempt, 2)
    page = response.content.decode()
    second = attempt.items.get(position=2)
    assert "Question 2 of 3" in page and second.shown["stem"] in page
    assert f'action="{answer_url(attempt, 2)}"' in page
    for text in _secrets(second):
        assert text not in page
    assert attempt.items.get(position=1).selected_letter == "B"
    attempt.refresh_from_db()
    assert attempt.current_position == 2
    # The navigator already shows question 1 answered and 2 as the current one.
    assert re.search(r'id="nav-1"\s+class="btn btn-sm btn-secondary"', page)
    assert re.search(r'id="nav-2"\s+class="btn btn-sm btn-primary"', page)


def test_without_javascript_save_and_next_still_redirects_to_the_next_question(
    resident_client, resident
):
    PublishableQuestionFactory.create_batch(3)
    attempt = start(resident)
    response = resident_client.post(answer_url(attempt), {"letter": "C", "go": "next"})
    assert (response.status_code, response.url) == (302, question_url(attempt, 2))
    assert "HX-Push-Url" not in response
    page = resident_client.get(response.url).content.decode()
    assert "Question 2 of 3" in page


@pytest.mark.parametrize(
    ("go", "pushed"), [("previous", 1), ("3", 3), ("99", 2), ("submit", 0), ("stay", 2)]
)
def test_every_boosted_step_answers_with_the_page_it_leads_to(
    resident_client, resident, go, pushed
):
    PublishableQuestionFactory.create_batch(3)
    attempt = start(resident, mode=Attempt.Mode.TUTOR)
    resident_client.post(answer_url(attempt, 1), {"go": "2"})
    item = attempt.items.get(position=2)
    response = resident_client.post(
        answer_url(attempt, 2), {"letter": key_letter(item), "go": go}, headers=BOOSTED
    )
    assert response.status_code == 200
    page = response.content.decode()
    if pushed == 0:
        assert response["HX-Push-Url"] == reverse("questions:attempt_submit", args=[attempt.pk])
        assert "Review your answers before submitting" in page
    else:
        assert response["HX-Push-Url"] == question_url(attempt, pushed)
        assert f"Question {pushed} of 3" in page
    # Only Submit ("stay") locks a tutor answer, and only then is its explanation shown.
    item.refresh_from_db()
    assert item.is_locked == (go == "stay")
    assert (item.shown["choices"][0]["rationale"] in page) == (go == "stay")


def test_the_same_boosted_step_sent_twice_records_one_answer_and_one_move(
    resident_client, resident
):
    PublishableQuestionFactory.create_batch(3)
    attempt = start(resident)
    Attempt.objects.filter(pk=attempt.pk).update(
        position_entered_at=timezone.now() - datetime.timedelta(seconds=30)
    )
    for _ in range(2):
        response = resident_client.post(
            answer_url(attempt), {"letter": "B", "go": "next"}, headers=BOOSTED
        )
        assert response["HX-Push-Url"] == question_url(attempt, 2)
    first = attempt.items.get(position=1)
    attempt.refresh_from_db()
    assert (first.selected_letter, attempt.current_position) == ("B", 2)
    assert 29 <= first.seconds_spent <= 32  # credited once, not twice


def test_a_boosted_step_after_the_deadline_goes_to_the_results(resident_client, resident):
    PublishableQuestionFactory.create_batch(3)
    attempt = start(resident)
    Attempt.objects.filter(pk=attempt.pk).update(
        deadline_at=timezone.now() - datetime.timedelta(minutes=5)
    )
    response = resident_client.post(
        answer_url(attempt), {"letter": "B", "go": "next"}, headers=BOOSTED
    )
    assert response["HX-Redirect"] == reverse("questions:attempt_results", args=[attempt.pk])
    attempt.refresh_from_db()
    assert attempt.is_finished and attempt.items.get(position=1).selected_letter == ""


@pytest.mark.parametrize(
    ("go", "headers"),
    [
        ("next", BOOSTED),  # the boosted step
        ("save", {"HX-Request": "true"}),  # the save as a choice is picked
        ("next", {}),  # without JavaScript
        ("flag", {}),  # a tool
    ],
)
def test_a_note_that_arrives_after_the_deadline_is_kept(resident_client, resident, go, headers):
    """Notes may be written after a quiz ends (the results page), so one typed as the clock
    ran out is kept; only the answer is refused."""
    PublishableQuestionFactory.create_batch(3)
    attempt = start(resident)
    Attempt.objects.filter(pk=attempt.pk).update(
        deadline_at=timezone.now() - datetime.timedelta(minutes=5)
    )
    resident_client.post(
        answer_url(attempt, 2),
        {"letter": "B", "go": go, "note": "Superior cluneals cross the iliac crest."},
        headers=headers,
    )
    item = attempt.items.get(position=2)
    assert (item.note, item.selected_letter) == ("Superior cluneals cross the iliac crest.", "")
    page = resident_client.get(
        reverse("questions:attempt_results", args=[attempt.pk])
    ).content.decode()
    assert "Your note on question 2 was kept." in page


def test_a_page_left_open_from_the_quiz_does_not_undo_a_note_written_after_it(
    resident_client, resident
):
    """The quiz ended; the resident rewrote a note on the results page; a post from a
    question page still open in another tab carries the old note, which must not win."""
    PublishableQuestionFactory.create_batch(3)
    attempt = start(resident)
    url = answer_url(attempt, 2)
    resident_client.post(
        url, {"go": "save", "note": "first thought"}, headers={"HX-Request": "true"}
    )
    engine.finish_attempt(attempt=attempt)
    resident_client.post(
        reverse("questions:item_note", args=[attempt.pk, 2]), {"note": "rewritten after"}
    )
    response = resident_client.post(
        url, {"letter": "A", "go": "next", "note": "first thought"}, follow=True
    )
    assert attempt.items.get(position=2).note == "rewritten after"
    assert "was kept" not in response.content.decode()


def test_a_page_left_open_from_the_quiz_still_keeps_a_note_no_one_rewrote(
    resident_client, resident
):
    PublishableQuestionFactory.create_batch(3)
    attempt = start(resident)
    resident_client.post(
        answer_url(attempt, 2), {"go": "save", "note": "first"}, headers={"HX-Request": "true"}
    )
    engine.finish_attempt(attempt=attempt)
    response = resident_client.post(
        answer_url(attempt, 2), {"go": "flag", "note": "second"}, follow=True
    )
    assert attempt.items.get(position=2).note == "second"
    assert "Your note on question 2 was kept." in response.content.decode()
    response = resident_client.post(answer_url(attempt, 2), {"go": "next", "note": ""}, follow=True)
    assert attempt.items.get(position=2).note == ""
    assert "Your note on question 2 was deleted." in response.content.decode()


@pytest.mark.parametrize("go", ["next", "save", "stay", "99999999999999999999"])
def test_a_position_past_the_columns_range_is_no_question_not_an_error(
    resident_client, resident, go
):
    PublishableQuestionFactory.create_batch(3)
    attempt = start(resident)
    url = f"/quizzes/{attempt.pk}/questions/{2**63}/answer/"
    response = resident_client.post(url, {"letter": "A", "go": go})
    assert response.status_code == 302
    assert not attempt.items.exclude(selected_letter="").exists()
    page = resident_client.get(question_url(attempt, 1)).content.decode()
    assert f"This quiz has no question {2**63}." in page


def test_the_question_form_carries_back_which_page_it_was_and_when(resident_client, resident):
    PublishableQuestionFactory.create_batch(3)
    attempt = start(resident)
    before = timezone.now()
    page = resident_client.get(question_url(attempt, 2)).content.decode()
    token = re.search(r'name="read" value="([^"]+)"', page)[1]
    read_at = engine.page_read_at(token, attempt_pk=attempt.pk, position=2)
    assert before - datetime.timedelta(seconds=1) <= read_at <= timezone.now()
