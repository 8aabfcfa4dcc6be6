"""Dashboards, cohort pages, assignments, item analysis: who may see what, what the pages
and the CSV say, and query counts that do not grow with attempts, residents or questions."""

import csv
import datetime
import io

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from questions.analytics import item_stats
from questions.analytics.pages import mastery_cell
from questions.models import Assignment, Attempt, Cohort, ResidentProfile
from questions.people.roles import EDUCATORS_GROUP
from questions.quizzes import assignments, control, starting
from tests.factories import PublishableQuestionFactory, TopicFactory, UserFactory, finished_attempts

pytestmark = pytest.mark.django_db


def make_educator(username):
    user = UserFactory(username=username, is_staff=True)
    user.groups.add(Group.objects.get(name=EDUCATORS_GROUP))
    return user


def make_assignment(cohort, questions, **overrides):
    now = timezone.now()
    options = {
        "cohort": cohort,
        "created_by": None,
        "title": "Week 1",
        "kind": Assignment.Kind.FIXED,
        "mode": Attempt.Mode.TIMED,
        "opens_at": now - datetime.timedelta(days=1),
        "due_at": now + datetime.timedelta(days=1),
        "questions": questions,
    }
    return assignments.create_assignment(**(options | overrides))


@pytest.fixture
def world():
    """One cohort with its educator and two residents, a second cohort with its own
    educator, an assignment both residents finished, and a staff user outside both."""
    questions = PublishableQuestionFactory.create_batch(3)
    topic = TopicFactory(name="Superior cluneal nerves")
    for question in questions:
        question.topics.add(topic)
    cohort = Cohort.objects.create(name="Alpha program")
    other_cohort = Cohort.objects.create(name="Beta program")
    educator, other_educator = make_educator("edu-alpha"), make_educator("edu-beta")
    cohort.educators.add(educator)
    other_cohort.educators.add(other_educator)
    member, classmate, outsider = (
        UserFactory(username="ann"),
        UserFactory(username="bob"),
        UserFactory(username="cat"),
    )
    cohort.residents.add(member, classmate)
    other_cohort.residents.add(outsider)
    assignment = make_assignment(cohort, questions)
    attempts = finished_attempts(
        [
            (member, [(questions[0], "C", 30), (questions[1], "C", 40), (questions[2], "A", 50)]),
            (
                classmate,
                [(questions[0], "A", 20), (questions[1], "C", 20), (questions[2], "C", 20)],
            ),
        ],
        assignment=assignment,
    )
    return {
        "cohort": cohort,
        "educator": educator,
        "other_educator": other_educator,
        "member": member,
        "classmate": classmate,
        "outsider": outsider,
        "assignment": assignment,
        "attempt": attempts[0],
        "staff": UserFactory(username="plain-staff", is_staff=True),
        "superuser": UserFactory(username="root", is_staff=True, is_superuser=True),
        "questions": questions,
        "topic": topic,
    }


def cohort_urls(w):
    c, m = w["cohort"].pk, w["member"].pk
    return {
        "cohort_detail": reverse("questions:cohort_detail", args=[c]),
        "cohort_export": reverse("questions:cohort_export", args=[c]),
        "cohort_resident": reverse("questions:cohort_resident", args=[c, m]),
        "cohort_resident_attempt": reverse(
            "questions:cohort_resident_attempt", args=[c, m, w["attempt"].pk]
        ),
        "assignment_new": reverse("questions:assignment_new", args=[c]),
        "assignment_detail": reverse("questions:assignment_detail", args=[c, w["assignment"].pk]),
    }


# Who sees a cohort's pages: residents are refused (403: not staff), staff who do not
# follow the cohort get a 404, its educators and superusers see it.
@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("member", 403),
        ("outsider", 403),
        ("other_educator", 404),
        ("staff", 404),
        ("educator", 200),
        ("superuser", 200),
    ],
)
@pytest.mark.parametrize(
    "page",
    [
        "cohort_detail",
        "cohort_export",
        "cohort_resident",
        "cohort_resident_attempt",
        "assignment_new",
        "assignment_detail",
    ],
)
def test_cohort_pages_are_for_the_cohorts_educators(client, world, role, status, page):
    client.force_login(world[role])
    assert client.get(cohort_urls(world)[page]).status_code == status


@pytest.mark.parametrize("page", ["cohort_list", "dashboard", "item_analysis"])
def test_anonymous_visitors_are_sent_to_log_in(client, world, page):
    urls = cohort_urls(world) | {
        "cohort_list": reverse("questions:cohort_list"),
        "dashboard": reverse("questions:dashboard"),
        "item_analysis": reverse("questions:item_analysis"),
    }
    for url in [urls[page], *cohort_urls(world).values()]:
        response = client.get(url)
        assert response.status_code == 302
        assert "login" in response.url


def test_a_resident_of_another_cohort_is_not_found_in_this_one(client, world):
    client.force_login(world["educator"])
    url = reverse("questions:cohort_resident", args=[world["cohort"].pk, world["outsider"].pk])
    assert client.get(url).status_code == 404


def test_an_attempt_is_reviewed_only_through_its_own_resident(client, world):
    client.force_login(world["educator"])
    url = reverse(
        "questions:cohort_resident_attempt",
        args=[world["cohort"].pk, world["classmate"].pk, world["attempt"].pk],
    )
    assert client.get(url).status_code == 404


def test_cohort_list_shows_only_the_educators_cohorts(client, world):
    client.force_login(world["educator"])
    page = client.get(reverse("questions:cohort_list")).content.decode()
    assert "Alpha program" in page
    assert "Beta program" not in page


def test_residents_are_refused_the_cohort_list_and_item_analysis(client, world):
    client.force_login(world["member"])
    assert client.get(reverse("questions:cohort_list")).status_code == 403
    response = client.get(reverse("questions:item_analysis"))
    assert response.status_code == 302  # to the admin login: authors only
    assert "admin/login" in response.url


def test_the_dashboard_shows_only_the_residents_own_figures(client, world):
    client.force_login(world["member"])
    # The assignment is still open, its results released at the due date: nothing of it yet.
    page = client.get(reverse("questions:dashboard")).content.decode()
    assert "Finished — results at release" in page and "2/3" not in page
    control.release_results(assignment=world["assignment"], actor=world["educator"])
    response = client.get(reverse("questions:dashboard"))
    page = response.content.decode()
    assert response.context["summary"] == {
        "answered": 3,
        "correct": 2,
        "percent": 66.7,
        "avg_seconds": 40,
    }
    assert "bob" not in page
    assert "Week 1" in page  # the assignment, finished
    assert "Finished: 2/3" in page


def test_cohort_table_and_grid(client, world):
    client.force_login(world["educator"])
    response = client.get(cohort_urls(world)["cohort_detail"])
    rows = {row["user"].username: row for row in response.context["rows"]}
    assert (rows["ann"]["answered"], rows["ann"]["correct"], rows["ann"]["percent"]) == (3, 2, 66.7)
    assert (rows["bob"]["answered"], rows["bob"]["correct"]) == (3, 2)
    assert "cat" not in rows
    topic_index = [t.pk for t in response.context["topics"]].index(world["topic"].pk)
    assert rows["ann"]["topics"][topic_index]["answered"] == 3
    # 2 of 3: 66.7%, shown rounded, in the middle band, the band also said in words.
    assert 'mastery mastery-mid">67%<span class="small"> (n=3)' in response.content.decode()
    assert '<span class="visually-hidden">, middle</span>' in response.content.decode()


@pytest.mark.parametrize(
    "percent, shown, band, word",
    [(0.0, 0, "low", "low"), (49.9, 50, "low", "low"), (50.0, 50, "mid", "middle"),
     (62.5, 63, "mid", "middle"), (69.9, 70, "mid", "middle"), (70.0, 70, "high", "high"),
     (100.0, 100, "high", "high")],
)  # fmt: skip
def test_mastery_cells_round_half_up_and_band_on_the_unrounded_percent(percent, shown, band, word):
    cell = mastery_cell({"answered": 10, "correct": 0, "percent": percent})
    assert (cell["rounded"], cell["band"], cell["band_word"]) == (shown, band, word)
    assert mastery_cell(None) is None


def test_csv_export_has_one_row_per_resident_with_the_table_figures(client, world):
    world["member"].first_name = "=HYPERLINK(1)"
    world["member"].save()
    client.force_login(world["educator"])

    response = client.get(cohort_urls(world)["cohort_export"])

    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [r["username"] for r in rows] == ["ann", "bob"]
    ann = rows[0]
    assert ann["name"] == "'=HYPERLINK(1)"  # formula defused
    assert (ann["attempts"], ann["questions answered"], ann["correct"]) == ("1", "3", "2")
    assert ann["percent correct"] == "66.7"
    assert ann["Superior cluneal nerves: answered"] == "3"
    assert ann["Superior cluneal nerves: percent correct"] == "66.7"
    assert ann["last activity"]


def test_assignment_page_shows_who_finished_and_the_item_statistics(client, world):
    client.force_login(world["educator"])
    response = client.get(cohort_urls(world)["assignment_detail"])
    progress = {row["user"].username: row for row in response.context["progress"]}
    assert progress["ann"]["percent"] == 66.7
    assert response.context["finished_count"] == 2
    facilities = sorted(row["stats"].facility for row in response.context["items"])
    assert facilities == [0.5, 0.5, 1.0]


def test_educator_creates_a_rule_assignment_and_residents_see_it(client, world):
    client.force_login(world["educator"])
    now = timezone.localtime(timezone=world["cohort"].tzinfo)  # dates are the cohort's
    response = client.post(
        cohort_urls(world)["assignment_new"],
        {
            "title": "Week 2",
            "kind": "rule",
            "question_count": 2,
            "mode": "tutor",
            "opens_at": (now - datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
            "due_at": (now + datetime.timedelta(days=7)).strftime("%Y-%m-%dT%H:%M"),
        },
    )
    assignment = Assignment.objects.get(title="Week 2")
    assert response.status_code == 302
    assert assignment.questions.count() == 2
    assert assignment.created_by == world["educator"]

    client.force_login(world["member"])
    page = client.get(reverse("questions:dashboard")).content.decode()
    assert "Week 2" in page
    start = client.post(reverse("questions:assignment_start", args=[assignment.pk]))
    attempt = Attempt.objects.get(assignment=assignment, user=world["member"])
    assert start.url == reverse("questions:attempt_question", args=[attempt.pk, 1])


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"question_count": 50}, "question_count", "Only 3 questions match"),
        ({"question_count": ""}, "question_count", "how many questions"),
        ({"kind": "fixed"}, "questions", "Tick at least one question"),
        ({"due_at": "2026-01-01T00:00"}, "due_at", "after the opening date"),
    ],
)
def test_bad_assignment_input_gets_a_message_and_saves_nothing(
    client, world, changes, field, message
):
    client.force_login(world["educator"])
    data = {
        "title": "Bad",
        "kind": "rule",
        "question_count": 2,
        "mode": "timed",
        "opens_at": "2026-06-01T09:00",
        "due_at": "2026-06-08T09:00",
    } | changes
    response = client.post(cohort_urls(world)["assignment_new"], data)
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert not Assignment.objects.filter(title="Bad").exists()


def test_a_resident_cannot_start_another_cohorts_assignment(client, world):
    client.force_login(world["outsider"])
    url = reverse("questions:assignment_start", args=[world["assignment"].pk])
    assert client.post(url).status_code == 404


def test_a_closed_assignment_is_refused_with_a_message(client, world):
    closed = make_assignment(
        world["cohort"],
        world["questions"],
        title="Past",
        opens_at=timezone.now() - datetime.timedelta(days=3),
        due_at=timezone.now() - datetime.timedelta(days=2),
    )
    client.force_login(world["member"])
    response = client.post(reverse("questions:assignment_start", args=[closed.pk]), follow=True)
    assert "closed" in response.content.decode()
    assert not Attempt.objects.filter(assignment=closed).exists()


def test_quiz_me_on_a_weak_topic_starts_a_tutor_quiz_on_it(client, world):
    weak = TopicFactory(name="Weak topic")
    questions = PublishableQuestionFactory.create_batch(5)
    for question in questions:
        question.topics.add(weak)
    finished_attempts([(world["member"], [(q, "A", 30) for q in questions])])
    client.force_login(world["member"])

    page = client.get(reverse("questions:dashboard"))
    assert [row["topic"].name for row in page.context["weakest"]][0] == "Weak topic"
    form = page.context["weakest"][0]
    response = client.post(
        reverse("questions:attempt_new"),
        {"topics": weak.pk, "pool": "all", "mode": "tutor", "question_count": form["quiz_size"]},
    )
    attempt = Attempt.objects.filter(user=world["member"]).order_by("-pk").first()
    assert response.status_code == 302
    assert attempt.mode == "tutor"
    assert {i.question_id for i in attempt.items.all()} == {q.pk for q in questions}


def test_percentile_is_shown_with_the_number_of_residents(client, world):
    pool = world["questions"]
    users = []
    for correct in range(10):
        user = UserFactory()
        ResidentProfile.objects.create(user=user, training_year=1)
        finished_attempts(
            [(user, [(q, "C" if i < correct % 4 else "A", 5) for i, q in enumerate(pool)])]
        )
        users.append(user)
    client.force_login(users[-1])
    page = client.get(reverse("questions:dashboard")).content.decode()
    assert "Among 10 residents of the same training year" in page


# --- Query counts with enough data to expose an N+1 -------------------------------------


def populate(world, *, residents, attempts_each, extra_questions=0):
    """More residents in the cohort, each with finished attempts, and (optionally) more
    questions in the bank: bulk inserts, so hundreds of attempts stay quick to build."""
    questions = world["questions"] + PublishableQuestionFactory.create_batch(extra_questions)
    users = [UserFactory() for _ in range(residents)]
    world["cohort"].residents.add(*users)
    rows = []
    for index, user in enumerate(users):
        for n in range(attempts_each):
            shift = (index + n) % len(questions)
            chosen = (questions[shift:] + questions[:shift])[:3]
            rows.append((user, [(q, "C" if (index + n) % 3 else "B", 30 + n) for q in chosen]))
    finished_attempts(rows)
    finished_attempts(
        [(world["member"], [(q, "C", 20) for q in questions[:3]]) for _ in range(attempts_each)]
    )
    # Every new resident also finishes the cohort's assignment.
    finished_attempts(
        [
            (user, [(q, "C" if i % 2 else "A", 25) for q in world["questions"]])
            for i, user in enumerate(users)
        ],
        assignment=world["assignment"],
    )


def query_count(client, url):
    cache.clear()  # the cold path: cached statistics are computed
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries.captured_queries)


@pytest.mark.parametrize(
    ("who", "page"),
    [
        ("member", "dashboard"),
        ("educator", "cohort_detail"),
        ("educator", "cohort_export"),
        ("educator", "cohort_resident"),
        ("educator", "assignment_detail"),
        ("educator", "cohort_list"),
        ("educator", "item_analysis"),
        ("educator", "question_changelist"),
    ],
)
@pytest.mark.slow
def test_query_counts_do_not_grow_with_attempts_residents_or_questions(client, world, who, page):
    urls = cohort_urls(world) | {
        "dashboard": reverse("questions:dashboard"),
        "cohort_list": reverse("questions:cohort_list"),
        "item_analysis": reverse("questions:item_analysis"),
        "question_changelist": reverse("admin:questions_question_changelist"),
    }
    client.force_login(world[who])
    few = query_count(client, urls[page])

    populate(world, residents=30, attempts_each=10, extra_questions=20)  # 300+ attempts
    assert Attempt.objects.count() > 300

    assert query_count(client, urls[page]) == few


def test_a_new_residents_dashboard_explains_what_will_appear(client):
    client.force_login(UserFactory())
    response = client.get(reverse("questions:dashboard"))
    page = response.content.decode()
    assert response.status_code == 200
    assert '<figure class="chart">' not in page  # no empty charts (the bell is an svg too)
    assert "No quizzes yet" in page
    assert "Set your training year" in page


def test_refusals_use_the_sites_own_pages(client, world):
    client.force_login(world["member"])
    refused = client.get(reverse("questions:cohort_list"))
    assert refused.status_code == 403
    assert "This page is not for your account" in refused.content.decode()

    client.force_login(world["other_educator"])
    hidden = client.get(reverse("questions:cohort_detail", args=[world["cohort"].pk]))
    assert hidden.status_code == 404
    assert "Page not found" in hidden.content.decode()


@pytest.fixture
def shared_resident(world):
    """ann also belongs to Beta program, and finished one of Beta's assignments."""
    beta = Cohort.objects.get(name="Beta program")
    beta.residents.add(world["member"])
    secret = make_assignment(beta, world["questions"], title="Beta-only exam")
    (attempt,) = finished_attempts(
        [(world["member"], [(q, "A", 10) for q in world["questions"]])], assignment=secret
    )
    return attempt


def test_an_educator_sees_nothing_of_another_cohorts_assignments(client, world, shared_resident):
    client.force_login(world["educator"])
    c, m = world["cohort"].pk, world["member"].pk

    page = client.get(reverse("questions:cohort_resident", args=[c, m]))
    review = client.get(
        reverse("questions:cohort_resident_attempt", args=[c, m, shared_resident.pk])
    )
    table = client.get(reverse("questions:cohort_detail", args=[c]))

    assert "Beta-only exam" not in page.content.decode()
    assert "Beta program" not in page.content.decode()
    assert shared_resident not in list(page.context["recent_attempts"])
    assert page.context["summary"]["answered"] == 3  # Alpha's assignment only
    assert review.status_code == 404
    ann = next(r for r in table.context["rows"] if r["user"] == world["member"])
    assert (ann["attempts"], ann["answered"]) == (1, 3)


def test_a_resident_joins_a_cohort_with_its_code(client, world):
    resident = UserFactory(username="dan")
    client.force_login(resident)
    code = world["cohort"].join_code.lower()

    wrong = client.post(reverse("questions:cohort_join"), {"code": "NOPE"}, follow=True)
    assert "No cohort has that code" in wrong.content.decode()
    assert not world["cohort"].residents.filter(pk=resident.pk).exists()

    joined = client.post(reverse("questions:cohort_join"), {"code": code}, follow=True)
    assert "You joined Alpha program" in joined.content.decode()
    assert world["cohort"].residents.filter(pk=resident.pk).exists()


def test_the_cohort_page_shows_its_join_code_to_its_educators(client, world):
    client.force_login(world["educator"])
    page = client.get(reverse("questions:cohort_detail", args=[world["cohort"].pk]))
    assert world["cohort"].join_code in page.content.decode()


def test_an_abandoned_timed_attempt_counts_once_its_time_is_up(client, world):
    long_ago = timezone.now() - datetime.timedelta(days=2)
    late = make_assignment(
        world["cohort"],
        world["questions"],
        title="Abandoned",
        opens_at=long_ago - datetime.timedelta(days=1),
    )
    starting.start_assignment(user=world["member"], assignment=late, now=long_ago)
    client.force_login(world["educator"])

    page = client.get(reverse("questions:assignment_detail", args=[world["cohort"].pk, late.pk]))

    assert page.context["finished_count"] == 1
    assert page.context["progress"][0]["percent"] == 0.0


def test_csv_header_defuses_formula_like_topic_names(client, world):
    TopicFactory(name="=cmd|calc")
    client.force_login(world["educator"])
    header = client.get(cohort_urls(world)["cohort_export"]).content.decode().splitlines()[0]
    assert "'=cmd|calc: answered" in header


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("member", 302),  # to the admin login: not staff
        ("staff", 403),  # staff without the question permissions
        ("other_educator", 200),  # authors read the whole bank's anonymous statistics
        ("educator", 200),
        ("superuser", 200),
    ],
)
def test_item_analysis_is_for_authors(client, world, role, status):
    client.force_login(world[role])
    assert client.get(reverse("questions:item_analysis")).status_code == status


def test_item_analysis_is_cached_for_its_stated_age_then_recomputed(client, world, monkeypatch):
    """The bank's statistics are read from the cache for up to BANK_ITEM_STATS_MAX_AGE
    seconds, and the page says when they were computed and how stale they may be."""
    client.force_login(world["educator"])
    url = reverse("questions:item_analysis")
    question = world["questions"][0]

    def responses():
        stats_of = client.get(url).context["rows"]
        return next(row["stats"].responses for row in stats_of if row["question"] == question)

    assert responses() == 2
    page = client.get(url).content.decode()
    assert "recomputed when at least 10 minutes old" in page
    finished_attempts([(UserFactory(), [(question, "C", 30)])])
    assert responses() == 2, "within the cache's age, the new quiz is not counted yet"

    # Once the cached figures have expired (here: a cache that keeps nothing), they are
    # computed again from the database.
    monkeypatch.setattr(item_stats, "BANK_ITEM_STATS_MAX_AGE", 0)
    cache.clear()
    assert responses() == 3
    finished_attempts([(UserFactory(), [(question, "C", 30)])])
    assert responses() == 4


def test_validate_bank_reads_item_flags_fresh(world):
    item_stats.bank_item_stats()  # cached: nothing flagged yet
    question = world["questions"][0]
    finished_attempts([(UserFactory(), [(question, "A", 30)]) for _ in range(25)])
    assert question.pk in item_stats.flagged_question_ids(fresh=True)
    assert question.pk in item_stats.flagged_question_ids()  # the fresh figures replaced the cached
