"""The results of a finished quiz: the summary table and its filters, each question's result
page (previous and next within a filter), the long page for printing, the resident's own
pace; the "My notes" page; the key-leak rule on each; and query counts that do not grow with
the quiz's length."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from questions.analytics import pages
from questions.models import Accommodation, Attempt, AttemptItem, Cohort, ResidentProfile
from questions.quizzes import engine, starting
from tests.factories import (
    PublishableQuestionFactory,
    TopicFactory,
    UserFactory,
    finished_attempts,
)
from tests.views.test_dashboards import make_assignment, make_educator

pytestmark = pytest.mark.django_db

# What only an explanation shows (the factory's questions): never on a page before the lock.
RATIONALE = "Rationale for"
OBJECTIVE = "Identify the superior cluneal nerves"
EXPLANATION = "The nerves cross the iliac crest"


def results_url(attempt, query=""):
    return reverse("questions:attempt_results", args=[attempt.pk]) + query


def item_url(attempt, position, query=""):
    return reverse("questions:attempt_result_item", args=[attempt.pk, position]) + query


def notes_url(query=""):
    return reverse("questions:note_list") + query


@pytest.fixture
def quiz():
    """Ann's finished quiz of 6 (every key is C):
    1 right, sure; 2 wrong (B), sure, flagged, a note, tagged "misread"; 3 unanswered,
    flagged; 4 right, a guess; 5 wrong (A), unsure, a note; 6 right."""
    questions = PublishableQuestionFactory.create_batch(6)
    nerves = TopicFactory(name="Middle cluneal nerves", order=1)
    crest = TopicFactory(name="Iliac crest", order=2)
    for question in questions:
        question.topics.add(nerves if question.pk % 2 else crest)
    ann = UserFactory(username="ann")
    answers = [("C", 65), ("B", 120), (None, 10), ("C", 30), ("A", 200), ("C", 45)]
    [attempt] = finished_attempts(
        [(ann, [(q, letter, s) for q, (letter, s) in zip(questions, answers, strict=True)])]
    )
    items = attempt.items
    items.filter(position__in=[1, 2]).update(confidence="sure")
    items.filter(position=4).update(confidence="guess")
    items.filter(position=5).update(confidence="unsure")
    items.filter(position__in=[2, 3]).update(is_flagged=True)
    now = timezone.now()
    items.filter(position=2).update(
        note="Crest: 7 cm from the midline.", note_updated_at=now, miss_type="misread"
    )
    items.filter(position=5).update(note="Look up the MCN.", note_updated_at=now)
    return {"ann": ann, "attempt": attempt, "questions": questions}


@pytest.fixture
def ann_client(client, quiz):
    client.force_login(quiz["ann"])
    return client


# --- The summary table and its filters ------------------------------------------------------


def test_the_summary_is_a_table_of_every_question_without_any_explanation(ann_client, quiz):
    attempt = quiz["attempt"]
    response = ann_client.get(results_url(attempt))
    page = response.content.decode()
    assert [row["item"].position for row in response.context["rows"]] == [1, 2, 3, 4, 5, 6]
    assert "3 / 6 (50.0%)" in page
    # Question 2: answer B, incorrect, sure, the tag, 2:00, the result page's link, flag and note.
    row = page.split('id="item-2"')[1].split("</tr>")[0]
    assert item_url(attempt, 2) in row
    assert "Flagged" in row and "Note" in row
    assert ">B<" in row and "Incorrect" in row and "Sure" in row
    assert "Misread the question" in row and "2:00" in row
    fifth = page.split('id="item-5"')[1].split("</tr>")[0]
    assert "3:20" in fifth and "> over</span>" in fifth  # mm:ss, never "200 s"; over 1:30
    assert "> over</span>" not in page.split('id="item-1"')[1].split("</tr>")[0]  # 1:05
    assert "Unanswered" in page.split('id="item-3"')[1].split("</tr>")[0]
    assert 'class="table-responsive"' in page
    assert reverse("questions:attempt_results_all", args=[attempt.pk]) in page
    for secret in (RATIONALE, OBJECTIVE, EXPLANATION):
        assert secret not in page  # the explanations are on the result pages


@pytest.mark.parametrize(
    ("name", "positions"),
    [
        ("all", [1, 2, 3, 4, 5, 6]),
        ("incorrect", [2, 3, 5]),
        ("flagged", [2, 3]),
        ("guessed", [4, 5]),
        ("notes", [2, 5]),
        ("nonsense", [1, 2, 3, 4, 5, 6]),  # an unknown filter shows everything
    ],
)
def test_each_filter_keeps_its_rows_and_every_filter_shows_its_count(
    ann_client, quiz, name, positions
):
    attempt = quiz["attempt"]
    response = ann_client.get(results_url(attempt, f"?filter={name}"))
    assert [row["item"].position for row in response.context["rows"]] == positions
    counts = {f["name"]: f["count"] for f in response.context["filters"]}
    assert counts == {"all": 6, "incorrect": 3, "flagged": 2, "guessed": 2, "notes": 2}
    page = response.content.decode()
    shown = [p for p in range(1, 7) if f'id="item-{p}"' in page]
    assert shown == positions
    active = name if name != "nonsense" else "all"
    query = "" if active == "all" else f"?filter={active}"
    # The filter is a plain link, marked as the current one; rows keep it on their links.
    assert f'href="{results_url(attempt, query)}" aria-current="page"' in page
    assert f'href="{item_url(attempt, positions[0], query)}"' in page


def test_a_filter_that_keeps_nothing_says_so(ann_client, quiz):
    AttemptItem.objects.update(note="", is_flagged=False)
    page = ann_client.get(results_url(quiz["attempt"], "?filter=notes")).content.decode()
    assert "No question of this quiz is in this filter." in page


def test_the_share_of_residents_right_shows_from_five_residents(client, quiz):
    """Question 1: Ann and four others met it first (five residents: 3 right); question 2:
    Ann and three others (four residents: no share yet)."""
    first, second = quiz["questions"][:2]
    others = UserFactory.create_batch(4)
    finished_attempts(
        [
            (user, [(first, "C" if n < 2 else "A", 30)] + ([(second, "C", 30)] if n else []))
            for n, user in enumerate(others)
        ]
    )
    client.force_login(quiz["ann"])
    response = client.get(results_url(quiz["attempt"]))
    rows = {row["item"].position: row for row in response.context["rows"]}
    assert rows[1]["share_correct"] == 60  # Ann, and two of the four others
    assert rows[2]["share_correct"] is None  # four residents only
    page = response.content.decode()
    assert "60%" in page.split('id="item-1"')[1].split("</tr>")[0]
    assert "fewer than 5 residents so far" in page.split('id="item-2"')[1].split("</tr>")[0]


@pytest.mark.parametrize(
    ("time_setting", "shown"),
    [("standard", "your pace 1:30"), ("x1.5", "your pace 2:15"), ("untimed", "your pace untimed")],
)
def test_the_pace_is_the_residents_own(ann_client, quiz, time_setting, shown):
    ResidentProfile.objects.create(user=quiz["ann"], time_setting=time_setting)
    page = ann_client.get(results_url(quiz["attempt"])).content.decode()
    assert shown in " ".join(page.split())
    assert "exam pace" not in page


def test_an_assignments_pace_is_its_time_limit_per_question_times_the_accommodation():
    questions = PublishableQuestionFactory.create_batch(4)
    cohort = Cohort.objects.create(name="Alpha")
    ann = UserFactory(username="ann")
    # The resident's own setting is for practice; an educator's accommodation applies here.
    ResidentProfile.objects.create(user=ann, time_setting="x2")
    Accommodation.objects.create(
        cohort=cohort, resident=ann, time_setting="x1.5", granted_at=timezone.now()
    )
    assignment = make_assignment(cohort, questions, time_limit_minutes=8)
    [attempt] = finished_attempts([(ann, [(q, "C", 30) for q in questions])], assignment=assignment)
    assert pages.own_pace_seconds(attempt) == 180  # 8 min / 4 questions x 1.5
    assignment.time_limit_minutes = None
    assignment.save()
    attempt.refresh_from_db()
    assert pages.own_pace_seconds(attempt) == 135  # the standard pace x 1.5


# --- Question by question, each on its result page ------------------------------------------


def test_a_result_page_shows_the_question_its_explanation_and_what_the_resident_did(
    ann_client, quiz
):
    attempt = quiz["attempt"]
    page = ann_client.get(item_url(attempt, 2)).content.decode()
    question = quiz["questions"][1]
    assert question.stem in page and question.lead_in in page
    assert RATIONALE in page and OBJECTIVE in page and EXPLANATION in page
    assert 'href="https://doi.org/10.14245/ns.1836024.012"' in page
    # The question's number, as on the question page: its key is a slug that may name the
    # answer, which a held-back question must not give away.
    assert f'<span class="font-monospace question-id">{question.pk}</span>' in page
    assert "question-key" not in page
    assert "Your answer: incorrect" in page
    assert "wrong while sure" in page
    assert "Misread the question" in page.split('id="result-miss-type"')[1].split("</dd>")[0]
    note = page.split('id="note-heading"')[1].split("</section>")[0]
    assert "Crest: 7 cm from the midline.</textarea>" in note  # the note, to read and edit
    assert reverse("questions:item_note", args=[attempt.pk, 2]) in note
    assert 'name="miss_type"' in page and f'name="next" value="{item_url(attempt, 2)}"' in page
    assert reverse("questions:error_report_new", args=[attempt.pk, 2]) in page


def test_a_right_answers_page_has_no_miss_form(ann_client, quiz):
    page = ann_client.get(item_url(quiz["attempt"], 1)).content.decode()
    assert 'name="miss_type"' not in page
    assert 'id="result-miss-type"' not in page
    assert "Sure" in page.split('id="result-confidence"')[1].split("</dd>")[0]


@pytest.mark.parametrize(
    ("name", "position", "previous", "following", "place"),
    [
        ("incorrect", 2, None, 3, "1 of 3"),
        ("incorrect", 3, 2, 5, "2 of 3"),
        ("incorrect", 5, 3, None, "3 of 3"),
        ("flagged", 3, 2, None, "2 of 2"),
        ("guessed", 4, None, 5, "1 of 2"),
        ("notes", 5, 2, None, "2 of 2"),
        ("all", 3, 2, 4, "3 of 6"),
        ("incorrect", 4, 3, 5, "Not in"),  # reached another way: neighbours in the filter
    ],
)
def test_previous_and_next_move_within_the_filter(
    ann_client, quiz, name, position, previous, following, place
):
    attempt = quiz["attempt"]
    query = "" if name == "all" else f"?filter={name}"
    response = ann_client.get(item_url(attempt, position, query))
    assert (response.context["previous_position"], response.context["next_position"]) == (
        previous,
        following,
    )
    page = response.content.decode()
    assert place in page.split('id="result-position"')[1].split("</p>")[0]
    if previous:
        assert f'rel="prev" href="{item_url(attempt, previous, query)}"' in page
    else:
        assert 'rel="prev"' not in page
    if following:
        assert f'rel="next" href="{item_url(attempt, following, query)}"' in page
    else:
        assert 'rel="next"' not in page


def test_tagging_a_miss_on_a_result_page_comes_back_to_it(ann_client, quiz):
    attempt = quiz["attempt"]
    back = item_url(attempt, 5, "?filter=incorrect")
    miss_url = reverse("questions:item_miss_type", args=[attempt.pk, 5])
    response = ann_client.post(miss_url, {"miss_type": "knowledge", "next": back})
    assert response.url == back
    assert attempt.items.get(position=5).miss_type == "knowledge"
    page = ann_client.get(back).content.decode()
    assert "Question 5: knowledge gap." in page
    assert "Knowledge gap" in page.split('id="result-miss-type"')[1].split("</dd>")[0]


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example.org/quizzes/1/results/5/",
        "//evil.example.org/",
        "/dashboard/",
        "/accounts/login/",
        "",
    ],
)
def test_tagging_a_miss_goes_nowhere_but_a_result_page_of_this_quiz(ann_client, quiz, target):
    attempt = quiz["attempt"]
    miss_url = reverse("questions:item_miss_type", args=[attempt.pk, 5])
    response = ann_client.post(miss_url, {"miss_type": "time", "next": target})
    assert response.url == results_url(attempt) + "#item-5"


def test_tagging_a_miss_does_not_go_to_a_result_page_of_another_quiz(ann_client, quiz):
    other = finished_attempts([(quiz["ann"], [(quiz["questions"][0], "A", 30)])])[0]
    miss_url = reverse("questions:item_miss_type", args=[quiz["attempt"].pk, 5])
    response = ann_client.post(miss_url, {"miss_type": "time", "next": item_url(other, 1)})
    assert response.url == results_url(quiz["attempt"]) + "#item-5"


# --- Whose, and when ------------------------------------------------------------------------


@pytest.mark.parametrize("page", ["summary", "item", "all"])
def test_another_residents_results_are_not_found(client, quiz, page):
    client.force_login(UserFactory(username="bob"))
    attempt = quiz["attempt"]
    url = {
        "summary": results_url(attempt),
        "item": item_url(attempt, 1),
        "all": reverse("questions:attempt_results_all", args=[attempt.pk]),
    }[page]
    assert client.get(url).status_code == 404


@pytest.mark.parametrize("position", [0, 7, 999])
def test_a_position_the_quiz_does_not_have_is_not_found(ann_client, quiz, position):
    assert ann_client.get(item_url(quiz["attempt"], position)).status_code == 404


@pytest.mark.parametrize("page", ["summary", "item", "all"])
def test_a_quiz_in_progress_sends_to_the_question_and_shows_no_key(client, page):
    PublishableQuestionFactory.create_batch(3)
    ann = UserFactory(username="ann")
    attempt = starting.start_attempt(
        user=ann, config=starting.QuizConfig(question_count=3, mode=Attempt.Mode.TUTOR)
    )
    item = attempt.items.get(position=2)
    engine.answer(attempt=attempt, position=2, letter=item.shown["choices"][0]["letter"])
    client.force_login(ann)
    url = {
        "summary": results_url(attempt),
        "item": item_url(attempt, 2),
        "all": reverse("questions:attempt_results_all", args=[attempt.pk]),
    }[page]
    response = client.get(url)
    assert response.status_code == 302
    attempt.refresh_from_db()
    expected = 2 if page == "item" else attempt.current_position
    assert response.url == attempt.question_url(expected)
    for secret in (RATIONALE, OBJECTIVE, EXPLANATION):
        assert secret not in response.content.decode()


def test_an_overdue_quiz_is_finished_and_its_result_page_shown(client):
    PublishableQuestionFactory.create_batch(2)
    ann = UserFactory(username="ann")
    attempt = starting.start_attempt(user=ann, config=starting.QuizConfig(question_count=2))
    Attempt.objects.filter(pk=attempt.pk).update(
        deadline_at=timezone.now() - datetime.timedelta(minutes=5)
    )
    client.force_login(ann)
    response = client.get(item_url(attempt, 1))
    assert response.status_code == 200 and RATIONALE in response.content.decode()


# --- The long page, for printing; the educators' view ---------------------------------------


def test_the_long_page_has_every_question_with_its_explanation(ann_client, quiz):
    attempt = quiz["attempt"]
    page = ann_client.get(reverse("questions:attempt_results_all", args=[attempt.pk]))
    text = page.content.decode()
    assert [e["item"].position for e in page.context["explained_items"]] == [1, 2, 3, 4, 5, 6]
    assert text.count('<article class="card mb-4 result-item"') == 6
    assert text.count(OBJECTIVE) == 6
    assert 'href="#item-2">Question 2</a>' in text  # the table leads down the page
    assert "Crest: 7 cm from the midline." in text
    assert 'class="results-page results-long"' in text


def test_the_educator_still_sees_the_whole_quiz_with_the_residents_tags(client, quiz):
    educator = make_educator("edu")
    cohort = Cohort.objects.create(name="Alpha program")
    cohort.educators.add(educator)
    cohort.residents.add(quiz["ann"])
    ResidentProfile.objects.create(user=quiz["ann"], time_setting="x2")
    client.force_login(educator)
    url = reverse(
        "questions:cohort_resident_attempt", args=[cohort.pk, quiz["ann"].pk, quiz["attempt"].pk]
    )
    page = client.get(url).content.decode()
    assert page.count(OBJECTIVE) == 6
    assert "Tagged by the resident: <strong>Misread the question</strong>" in page
    assert "the resident's pace 3:00" in " ".join(page.split())
    assert 'name="miss_type"' not in page and 'name="comment"' not in page
    assert "Crest: 7 cm from the midline." not in page  # a note is the resident's own
    assert "?filter=" not in page  # the filters are the resident's


# --- My notes -------------------------------------------------------------------------------


def test_my_notes_lists_only_my_notes_newest_first_with_links_to_their_explanations(client, quiz):
    ann, attempt = quiz["ann"], quiz["attempt"]
    earlier = timezone.now() - datetime.timedelta(days=1)
    attempt.items.filter(position=5).update(note_updated_at=earlier)
    attempt.items.filter(position=1).update(note="   ")  # blank: not a note
    bob = UserFactory(username="bob")
    [bobs] = finished_attempts([(bob, [(quiz["questions"][0], "A", 30)])])
    bobs.items.update(note="Bob's own note.", note_updated_at=timezone.now())
    client.force_login(ann)
    response = client.get(notes_url())
    assert [row["item"].position for row in response.context["rows"]] == [2, 5]
    page = response.content.decode()
    assert "Bob's own note." not in page
    assert page.index("Crest: 7 cm from the midline.") < page.index("Look up the MCN.")
    assert f'href="{item_url(attempt, 2)}"' in page and f'href="{item_url(attempt, 5)}"' in page
    assert attempt.started_at.strftime("%-d %b %Y") in page
    assert "Middle cluneal nerves" in page or "Iliac crest" in page
    assert quiz["questions"][1].stem in page
    for secret in (RATIONALE, OBJECTIVE, EXPLANATION):
        assert secret not in page


def test_my_notes_never_explains_a_question_of_a_quiz_in_progress(client):
    PublishableQuestionFactory.create_batch(2, stem="First line of the vignette.\nThe rest.")
    ann = UserFactory(username="ann")
    attempt = starting.start_attempt(
        user=ann, config=starting.QuizConfig(question_count=2, mode=Attempt.Mode.TUTOR)
    )
    item = attempt.items.get(position=2)
    engine.answer(attempt=attempt, position=2, letter=item.shown["choices"][0]["letter"])
    attempt.items.filter(position=2).update(note="Check this one.", note_updated_at=timezone.now())
    client.force_login(ann)
    page = client.get(notes_url()).content.decode()
    assert "Check this one." in page and "quiz in progress" in page
    assert f'href="{attempt.question_url(2)}"' in page
    assert item_url(attempt, 2) not in page
    assert "First line of the vignette." in page and "The rest." not in page
    for secret in (RATIONALE, OBJECTIVE, EXPLANATION):
        assert secret not in page  # answered in tutor mode, locked: still not shown here


def test_my_notes_come_25_a_page(client):
    questions = PublishableQuestionFactory.create_batch(30)
    ann = UserFactory(username="ann")
    [attempt] = finished_attempts([(ann, [(q, "C", 30) for q in questions])])
    now = timezone.now()
    for item in attempt.items.all():
        item.note = f"Note {item.position}."
        item.note_updated_at = now + datetime.timedelta(minutes=item.position)
        item.save(update_fields=["note", "note_updated_at"])
    client.force_login(ann)
    first = client.get(notes_url())
    assert [row["item"].position for row in first.context["rows"]] == list(range(30, 5, -1))
    assert 'rel="next" href="?page=2"' in first.content.decode()
    second = client.get(notes_url("?page=2"))
    assert [row["item"].position for row in second.context["rows"]] == [5, 4, 3, 2, 1]
    assert client.get(notes_url("?page=nonsense")).context["page_obj"].number == 1


def test_my_notes_without_notes_says_how_to_write_one(client):
    client.force_login(UserFactory(username="ann"))
    assert "No notes yet." in client.get(notes_url()).content.decode()


# --- Query counts do not grow with the quiz -------------------------------------------------


def _queries(client, url, django_assert_max_num_queries) -> int:
    with django_assert_max_num_queries(40) as captured:
        assert client.get(url).status_code == 200
    return len(captured.captured_queries)


@pytest.mark.parametrize("page", ["summary", "filtered", "item", "all", "notes"])
def test_query_counts_do_not_grow_with_the_quiz(client, django_assert_max_num_queries, page):
    questions = PublishableQuestionFactory.create_batch(40)
    topics = TopicFactory.create_batch(4)
    for n, question in enumerate(questions):
        question.topics.add(topics[n % 4])
    others = UserFactory.create_batch(5)
    finished_attempts([(user, [(q, "C", 30) for q in questions]) for user in others])
    ann = UserFactory(username="ann")
    client.force_login(ann)
    counts = []
    for size in (5, 40):
        answers = [(q, "CB"[n % 2], 30 + n) for n, q in enumerate(questions[:size])]
        [attempt] = finished_attempts([(ann, answers)])
        attempt.items.update(
            note="A note.", note_updated_at=timezone.now(), confidence="sure", is_flagged=True
        )
        url = {
            "summary": results_url(attempt),
            "filtered": results_url(attempt, "?filter=incorrect"),
            "item": item_url(attempt, 2, "?filter=flagged"),
            "all": reverse("questions:attempt_results_all", args=[attempt.pk]),
            "notes": notes_url(),
        }[page]
        counts.append(_queries(client, url, django_assert_max_num_queries))
    assert counts[0] == counts[1], counts


def test_the_summary_of_a_40_question_quiz_reads_each_figure_once(
    client, django_assert_num_queries
):
    questions = PublishableQuestionFactory.create_batch(40)
    topics = TopicFactory.create_batch(4)
    for n, question in enumerate(questions):
        question.topics.add(topics[n % 4], topics[(n + 1) % 4])
    finished_attempts(
        [(user, [(q, "C", 30) for q in questions]) for user in UserFactory.create_batch(5)]
    )
    ann = UserFactory(username="ann")
    ResidentProfile.objects.create(user=ann, time_setting="x1.5")
    [attempt] = finished_attempts([(ann, [(q, "CB"[n % 2], 30) for n, q in enumerate(questions)])])
    attempt.items.filter(position__lte=10).update(confidence="sure")
    client.force_login(ann)
    # The session and the user; the attempt with the resident's profile (their pace); its
    # items; what an open assignment holds back; how residents answered; the questions'
    # topics (for the rows, the topics' figures and the confident misses); the bell.
    with django_assert_num_queries(8):
        response = client.get(results_url(attempt))
    assert [row["correct"] for row in response.context["topics"]] == [10, 10, 10, 10]
    assert [row["total"] for row in response.context["topics"]] == [20, 20, 20, 20]
    assert response.context["pace_seconds"] == 135
    assert [group["topic"] for group in response.context["confident_misses"]] == topics
    # Each row leads to its question's result page (the address built from the results').
    page = response.content.decode()
    assert f'href="{item_url(attempt, 40)}">Question 40</a>' in page
    assert f'href="{item_url(attempt, 2)}">question 2</a>' in page  # a confident miss
    filtered = client.get(results_url(attempt, "?filter=incorrect")).content.decode()
    assert f'href="{item_url(attempt, 2, "?filter=incorrect")}">Question 2</a>' in filtered
    assert f'href="{results_url(attempt, "?filter=flagged")}"' in filtered
