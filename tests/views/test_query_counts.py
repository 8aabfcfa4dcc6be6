"""Query counts of every page, pinned at a realistic size, and the same when the data triples.

The sizes are large enough to expose an N+1: a 40-question quiz; a cohort of 100 residents
with several finished quizzes each, an assignment they all finished, a bank of 40 questions.
Each test measures its page once, triples the data (a 120-question quiz, 300 residents, a
bank of 120), and measures again. The counts include what the test's own transaction adds:
each ``transaction.atomic`` inside a request is a SAVEPOINT and a RELEASE there, as it would
be inside ATOMIC_REQUESTS; in production the outermost one is BEGIN/COMMIT instead."""

import datetime
import math

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from questions.models import (
    CHOICE_LETTERS,
    Assignment,
    Attempt,
    Choice,
    Citation,
    Cohort,
    Question,
    RecallCard,
    ResidentProfile,
    Topic,
)
from questions.quizzes import assignments, engine, starting
from tests.factories import ReferenceFactory, finished_attempts

pytestmark = pytest.mark.django_db

User = get_user_model()


# --- Building data in bulk -------------------------------------------------------------


def add_questions(count: int, *, topics: int = 4) -> list[Question]:
    """``count`` published questions, 5 choices each (key C), one citation each, spread over
    ``topics`` new topics: a handful of bulk inserts whatever the count."""
    if not count:
        return []
    start = Question.objects.count()
    new_topics = Topic.objects.bulk_create(
        Topic(slug=f"topic-{start}-{n}", name=f"Topic {start}-{n}", order=n) for n in range(topics)
    )
    reference = ReferenceFactory()
    questions = Question.objects.bulk_create(
        Question(
            key=f"q-{start + n}",
            stem="A 52-year-old man has low back pain over the posterior iliac crest.",
            lead_in="Which nerve is most likely entrapped?",
            objective="Identify the superior cluneal nerves as a cause of low back pain.",
            explanation=f"The nerves cross the iliac crest [@{reference.key}].",
            status=Question.Status.PUBLISHED,
            last_reviewed_on=timezone.localdate(),
        )
        for n in range(count)
    )
    Choice.objects.bulk_create(
        Choice(
            question=q,
            letter=letter,
            text=f"Nerve {letter} for {q.key}",
            rationale=f"Rationale for {letter}.",
            is_correct=letter == "C",
        )
        for q in questions
        for letter in CHOICE_LETTERS
    )
    Citation.objects.bulk_create(
        Citation(question=q, reference=reference, locator="Abstract", order=1) for q in questions
    )
    Question.topics.through.objects.bulk_create(
        Question.topics.through(question=q, topic=new_topics[n % topics])
        for n, q in enumerate(questions)
    )
    return list(
        Question.objects.filter(pk__in=[q.pk for q in questions])
        .prefetch_related("choices", "citations")
        .order_by("pk")
    )


def add_residents(count: int, *, cohort: Cohort | None = None) -> list:
    """``count`` residents (PGY-2) in ``cohort``: three bulk inserts."""
    start = User.objects.count()
    users = User.objects.bulk_create(User(username=f"resident-{start + n}") for n in range(count))
    ResidentProfile.objects.bulk_create(
        ResidentProfile(user=user, program="Example PM&R", training_year=2) for user in users
    )
    if cohort is not None:
        cohort.residents.add(*users)
    return users


def add_history(users, questions, *, attempts_each: int, size: int = 10, assignment=None):
    """Finished quizzes of ``size`` questions for each of ``users``, answers varied."""
    rows = []
    for index, user in enumerate(users):
        for n in range(attempts_each):
            shift = (index * 7 + n * size) % len(questions)
            chosen = (questions[shift:] + questions[:shift])[:size]
            answers = [
                (q, "ABCDE"[(index + n + i) % 5] if (i + n) % 7 else None, 20 + i)
                for i, q in enumerate(chosen)
            ]
            rows.append((user, answers))
    return finished_attempts(rows, assignment=assignment)


def start(user, *, count: int, mode=Attempt.Mode.TIMED) -> Attempt:
    return starting.start_attempt(
        user=user, config=starting.QuizConfig(question_count=count, mode=mode)
    )


def counted(client, method: str, url: str, data=None, status=(200,), headers=None):
    """The queries one request runs, with nothing cached (stats.bank_item_stats computed)."""
    cache.clear()
    with CaptureQueriesContext(connection) as queries:
        response = getattr(client, method)(url, data or {}, headers=headers or {})
    assert response.status_code in status, (response.status_code, url)
    return len(queries)


# --- Taking a quiz ---------------------------------------------------------------------


@pytest.fixture
def resident_client(client, resident):
    ResidentProfile.objects.create(user=resident, program="Example PM&R", training_year=2)
    client.force_login(resident)
    return client


def _backdate(attempt: Attempt, seconds: int = 30) -> None:
    """As if the resident had spent ``seconds`` on the current question: moving on credits it."""
    at = timezone.now() - datetime.timedelta(seconds=seconds)
    Attempt.objects.filter(pk=attempt.pk).update(position_entered_at=at)


def _quiz_request(page: str, user, size: int) -> tuple[str, str, dict]:
    """Set up an attempt of ``size`` questions for ``page``; the request to measure."""
    tutor = page.endswith("tutor") or page == "answer_stay"
    attempt = start(user, count=size, mode=Attempt.Mode.TUTOR if tutor else Attempt.Mode.TIMED)
    pk = attempt.pk
    if page == "question_tutor":  # a locked item, with its review, reached from another
        engine.answer(attempt=attempt, position=1, letter="B")
        engine.answer(attempt=attempt, position=2, letter="C")
    _backdate(attempt)
    if page.startswith("question"):
        return "get", reverse("questions:attempt_question", args=[pk, 1 if tutor else 2]), {}
    if page.startswith("answer_"):
        go = page.removeprefix("answer_").removesuffix("_htmx")
        url = reverse("questions:attempt_answer", args=[pk, 1])
        return "post", url, {"letter": "B", "go": go}
    if page == "flag":
        return "post", reverse("questions:attempt_answer", args=[pk, 1]), {"go": "flag"}
    if page == "strike":
        return "post", reverse("questions:attempt_answer", args=[pk, 1]), {"go": "strike:C"}
    if page == "submit_screen":
        return "get", reverse("questions:attempt_submit", args=[pk]), {}
    for position in range(1, size, 2):
        engine.answer(attempt=attempt, position=position, letter="C")
    if page == "finish":
        return "post", reverse("questions:attempt_finish", args=[pk]), {}
    engine.finish_attempt(attempt=attempt)
    return "get", reverse("questions:attempt_results", args=[pk]), {}


# What htmx sends: "Save and next" is a boosted form submit; picking a choice an hx-post.
HTMX_HEADERS = {
    "next": {"HX-Request": "true", "HX-Boosted": "true"},
    "save": {"HX-Request": "true"},
}

# Every request starts with 2: the session and the user; 2 more are the SAVEPOINT and
# RELEASE around the engine's write. The target for the question page and answers is 8.
# A page (not a POST answered by a redirect) counts the bell's unread notifications in the
# navigation: one query.
BELL = 1
QUIZ_PAGES = {
    # the attempt with the profile, its items: a page read writes nothing
    "question_timed": 2 + 2 + BELL,
    # + the review's references, + whether an open assignment holds the explanation back
    "question_tutor": 2 + 2 + 1 + 1 + BELL,
    # lock the attempt (with the profile), its items, the answer and the time credited to
    # the question left (one row), the new position
    "answer_next": 2 + 2 + 2 + 1 + 1,
    # the same, answered with the next question's page itself (htmx): one request a step
    "answer_next_htmx": 2 + 2 + 2 + 1 + 1 + BELL,
    # staying on the question: no move
    "answer_save_htmx": 2 + 2 + 2 + 1,
    "answer_stay": 2 + 2 + 2 + 1,
    "flag": 2 + 2 + 1 + 2,
    "strike": 2 + 2 + 1 + 2,  # as the flag
    # the attempt with the profile, its items (going there through the form moved it)
    "submit_screen": 2 + 2 + BELL,
    # lock, items, score them, the attempt; lock the resident, the first encounters whose
    # mark flips and their flip, the item totals (one upsert per table: totals, choices,
    # seconds); review cards read and upserted (every unanswered question enters the schedule)
    "finish": 2 + 1 + 1 + 2 + 2 + 1 + 2 + 3 + 2,
    # the attempt with the resident's profile (their pace), items, choice shares, the
    # questions' topics (the rows, the topics' figures, the confident misses), and which
    # questions an open assignment holds back
    "results": 2 + 5 + BELL,
}


@pytest.mark.parametrize("page", list(QUIZ_PAGES))
@pytest.mark.slow
def test_quiz_pages_query_counts_are_fixed(resident_client, resident, page):
    questions = add_questions(120)
    # Other residents answered the same questions: the results page shows their choices.
    add_history(add_residents(12), questions, attempts_each=2, size=40)
    counts, expected = [], []
    for size in (40, 120):
        method, url, data = _quiz_request(page, resident, size)
        headers = HTMX_HEADERS.get(page.removeprefix("answer_").removesuffix("_htmx"), {})
        counts.append(
            counted(
                resident_client,
                method,
                url,
                data,
                status=(200, 302),
                headers=headers if page.endswith("_htmx") else {},
            )
        )
        expected.append(
            QUIZ_PAGES[page] + (_sqlite_upsert_batches(size) if page == "finish" else 0)
        )
    assert counts == expected


def _sqlite_upsert_batches(cards: int) -> int:
    """The review cards' upsert is one statement on PostgreSQL; SQLite (999 parameters a
    statement) needs one more for each further batch of rows."""
    if connection.vendor != "sqlite":
        return 0
    fields = [f for f in RecallCard._meta.concrete_fields if not f.primary_key]
    return math.ceil(cards / connection.ops.bulk_batch_size(fields, range(cards))) - 1


# --- Dashboards, cohorts, assignments, item analysis, exports, admin -------------------


@pytest.fixture
def world(educator, resident):
    """A bank of 40 questions in 4 topics; a cohort of 100 residents with 2 finished quizzes
    each and an assignment of 10 questions they all finished; ``resident`` in the cohort with
    10 quizzes of their own; ``educator`` following the cohort."""
    ResidentProfile.objects.create(user=resident, program="Example PM&R", training_year=2)
    questions = add_questions(40)
    cohort = Cohort.objects.create(name="Alpha program")
    cohort.educators.add(educator)
    cohort.residents.add(resident)
    now = timezone.now()
    assignment = assignments.create_assignment(
        cohort=cohort,
        created_by=educator,
        title="Week 1",
        kind=Assignment.Kind.FIXED,
        mode=Attempt.Mode.TIMED,
        opens_at=now - datetime.timedelta(days=2),
        due_at=now + datetime.timedelta(days=2),
        questions=questions[:10],
    )
    world = {"cohort": cohort, "assignment": assignment, "questions": questions}
    world["attempt"] = grow(world, resident, residents=100, own_attempts=10)[0]
    return world


def grow(world, resident, *, residents: int, own_attempts: int, extra_questions: int = 0):
    """More of everything: questions, residents with history, the resident's own quizzes
    (the first returned), one still in progress. Returns the resident's new attempts."""
    world["questions"] += add_questions(extra_questions)
    users = add_residents(residents, cohort=world["cohort"])
    add_history(users, world["questions"], attempts_each=2)
    add_history(
        users,
        list(world["assignment"].questions.prefetch_related("choices", "citations")),
        attempts_each=1,
        assignment=world["assignment"],
    )
    own = add_history([resident], world["questions"], attempts_each=own_attempts)
    start(resident, count=10)
    return own


def _world_url(world, page: str, resident) -> str:
    c = world["cohort"].pk
    return {
        "dashboard": reverse("questions:dashboard"),
        "attempt_list": reverse("questions:attempt_list"),
        "cohort_list": reverse("questions:cohort_list"),
        "cohort_detail": reverse("questions:cohort_detail", args=[c]),
        "cohort_export": reverse("questions:cohort_export", args=[c]),
        "cohort_resident": reverse("questions:cohort_resident", args=[c, resident.pk]),
        "cohort_resident_attempt": reverse(
            "questions:cohort_resident_attempt", args=[c, resident.pk, world["attempt"].pk]
        ),
        "assignment_detail": reverse(
            "questions:assignment_detail", args=[c, world["assignment"].pk]
        ),
        "item_analysis": reverse("questions:item_analysis"),
        "question_changelist": reverse("admin:questions_question_changelist"),
    }[page]


WORLD_PAGES = {
    # 21, and the quizzes in progress at its top with their topics; what is held back from
    # the resident (the recent quizzes' results awaiting release and answers held back, the
    # trend's answers held back, each topic's questions held back from practice) and each
    # assignment's grant and accommodation for the resident
    "dashboard": 29 + BELL,
    # + finishing any quiz whose time ran out (one query when none), + the results awaiting
    # release and the answers held back
    "attempt_list": 7 + BELL,
    "cohort_list": 3 + BELL,
    "cohort_detail": 16,  # + the accommodations, the recent changes (and the bell)
    "cohort_export": 11,
    "cohort_resident": 23 + BELL,  # + each assignment's grant and accommodation for the resident
    # the results summary: + the viewer's text size, + the reports
    "cohort_resident_attempt": 11 + BELL,
    "assignment_detail": 20,  # the monitor: + grants, accommodations; + last due, the log
    "item_analysis": 10 + BELL,
    "question_changelist": 12,
}


@pytest.mark.parametrize("page", list(WORLD_PAGES))
@pytest.mark.slow
def test_page_query_counts_do_not_grow_with_the_data(client, world, educator, resident, page):
    client.force_login(resident if page in ("dashboard", "attempt_list") else educator)
    url = _world_url(world, page, resident)
    counts = [counted(client, "get", url)]
    grow(world, resident, residents=200, own_attempts=20, extra_questions=80)
    counts.append(counted(client, "get", url))
    assert counts == [WORLD_PAGES[page]] * 2
