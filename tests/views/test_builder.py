"""The quiz builder: how many questions each pool and topic holds for the resident, in the
labels and live (the counts fragment), the count's max, the resident's own pace and the
block's time; the dashboard's quick starts pressed twice start one quiz."""

import datetime
import re

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from questions.models import Assignment, Attempt, Cohort, ResidentProfile
from questions.people.roles import EDUCATORS_GROUP
from questions.quizzes import assignments, engine, starting
from tests.factories import PublishableQuestionFactory, TopicFactory, UserFactory, finished_attempts

pytestmark = pytest.mark.django_db

BUILDER = reverse("questions:attempt_new")
COUNTS = reverse("questions:attempt_counts")


@pytest.fixture
def bank():
    """Eight published questions: five in Anatomy, three in Imaging."""
    anatomy, imaging = TopicFactory(name="Anatomy", order=1), TopicFactory(name="Imaging", order=2)
    questions = PublishableQuestionFactory.create_batch(8)
    for question in questions[:5]:
        question.topics.add(anatomy)
    for question in questions[5:]:
        question.topics.add(imaging)
    return {"anatomy": anatomy, "imaging": imaging, "questions": questions}


@pytest.fixture
def ann(client, bank):
    """A resident who missed two Anatomy questions and got one right, two days ago."""
    user = UserFactory(username="ann")
    q = bank["questions"]
    two_days_ago = timezone.now() - datetime.timedelta(days=2)
    finished_attempts([(user, [(q[0], "A", 30), (q[1], "B", 30), (q[2], "C", 30)])],
                      started_at=two_days_ago)  # fmt: skip
    client.force_login(user)
    return user


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def count_max(html: str) -> int:
    tag = re.search(r'<input[^>]*name="question_count"[^>]*>', html).group(0)
    return int(re.search(r'max="(\d+)"', tag).group(1))


# --- The page without JavaScript: counts in the labels ---------------------------------------


def test_the_labels_say_how_many_questions_each_pool_and_topic_holds_for_the_resident(
    client, ann, bank
):
    # Another resident's history changes nothing of Ann's counts.
    finished_attempts([(UserFactory(), [(q, "A", 30) for q in bank["questions"]])])
    page = text(client.get(BUILDER))
    for label, n in [
        ("All published questions", 8),
        ("Unused", 5),
        ("Incorrect", 2),
        ("Flagged", 0),
        ("Due for review", 2),
    ]:
        assert f'{label} <span id="pool-count-' in page
        assert re.search(rf'{label} <span id="pool-count-\w+">\({n}\)</span>', page), label
    # Topics: their counts in the pool chosen (all questions, on a blank form).
    assert f'Anatomy <span id="topic-count-{bank["anatomy"].pk}">(5)</span>' in page
    assert f'Imaging <span id="topic-count-{bank["imaging"].pk}">(3)</span>' in page
    assert "This selection holds <strong>8</strong> questions." in page
    assert count_max(page) == 8


def test_a_form_sent_back_counts_its_own_pool_and_topics_and_keeps_the_widest_max(
    client, ann, bank
):
    response = client.post(
        BUILDER,
        {"pool": "incorrect", "topics": [bank["imaging"].pk], "question_count": 4, "mode": "timed"},
    )
    page = text(response)
    assert "No question matches these settings" in page  # the server's refusal, as before
    assert f'Anatomy <span id="topic-count-{bank["anatomy"].pk}">(2)</span>' in page
    assert f'Imaging <span id="topic-count-{bank["imaging"].pk}">(0)</span>' in page
    # Without JavaScript the labels cannot follow a change of pool: no max the server
    # would not also refuse.
    assert count_max(page) == 200
    assert not Attempt.objects.filter(user=ann, status="in_progress").exists()


def test_the_builder_states_the_residents_own_pace_and_the_blocks_time(client, ann):
    ResidentProfile.objects.create(user=ann, time_setting=ResidentProfile.TimeSetting.EXTENDED_1_5)
    page = text(client.get(BUILDER))
    assert "Time: 2:15 a question (your pace), 22:30 for 10 questions." in page
    assert " s " not in page.split("builder-summary", 1)[1].split("</form>")[0]


def test_an_untimed_resident_is_told_there_is_no_clock(client, ann):
    ResidentProfile.objects.create(user=ann, time_setting=ResidentProfile.TimeSetting.UNTIMED)
    assert "Your time setting is untimed: no clock." in text(client.get(BUILDER))


# --- Live: the counts fragment ---------------------------------------------------------------


def test_the_fragment_counts_the_selection_and_updates_every_label(client, ann, bank):
    response = client.get(
        COUNTS,
        {"pool": "incorrect", "topics": [bank["anatomy"].pk], "question_count": 5,
         "mode": "timed"},
        headers={"HX-Request": "true"},
    )  # fmt: skip
    page = text(response)
    assert response.status_code == 200
    assert "<html" not in page  # a fragment, not a page
    assert "This selection holds <strong>2</strong> questions." in page
    assert "Choose 2 or fewer." in page
    # Each pool's count in the chosen topics, each topic's in the chosen pool (out of band).
    assert '<span id="pool-count-unused" hx-swap-oob="true">(2)</span>' in page
    assert '<span id="pool-count-all" hx-swap-oob="true">(5)</span>' in page
    assert f'<span id="topic-count-{bank["anatomy"].pk}" hx-swap-oob="true">(2)</span>' in page
    assert f'<span id="topic-count-{bank["imaging"].pk}" hx-swap-oob="true">(0)</span>' in page
    # The number's new max (js/builder.js sets it): the field itself is left alone, with
    # what the resident is typing in it.
    assert 'data-max-count="2"' in page
    assert "<input" not in page
    # The builder keeps its address: the fragment is not a page to push.
    assert response["HX-Push-Url"] == "false"


def test_the_times_follow_the_number_and_the_mode(client, ann):
    page = text(client.get(COUNTS, {"pool": "all", "question_count": 3, "mode": "tutor"}))
    assert "Tutor mode: no clock." in page
    page = text(client.get(COUNTS, {"pool": "all", "question_count": 3, "mode": "timed"}))
    assert "Time: 1:30 a question (your pace), 4:30 for 3 questions." in page


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"pool": "nonsense", "topics": ["x", "99999999999999999999999"]},
        {"pool": "all", "question_count": "-3", "mode": "?"},
        {"question_count": "9" * 5000},
        {"topics": [str(2**63)]},
    ],
    ids=["nothing", "bad-pool-and-topics", "bad-count-and-mode", "huge-count", "id-overflow"],
)
def test_the_fragment_answers_any_query_with_the_counts_of_what_is_valid(client, ann, query):
    response = client.get(COUNTS, query)
    assert response.status_code == 200
    assert "This selection holds <strong>8</strong> questions." in text(response)


def test_the_counts_tell_nothing_of_an_open_assignment_but_numbers(client, ann, bank):
    """A timed assignment in progress, answered wrongly: its questions are used (counts),
    but nothing says how they were answered before it ends, and no key or choice text."""
    cohort = Cohort.objects.create(name="Alpha")
    cohort.residents.add(ann)
    now = timezone.now()
    assignment = assignments.create_assignment(
        cohort=cohort, created_by=None, title="Week 1", kind=Assignment.Kind.FIXED,
        mode=Attempt.Mode.TIMED, opens_at=now - datetime.timedelta(hours=1),
        due_at=now + datetime.timedelta(days=1), questions=bank["questions"][5:],
    )  # fmt: skip
    attempt = starting.start_assignment(user=ann, assignment=assignment)
    for item in attempt.items.all():
        wrong = next(c["letter"] for c in item.shown["choices"] if not c["is_correct"])
        engine.answer(attempt=attempt, position=item.position, letter=wrong)
    query = {"pool": "incorrect", "topics": [bank["imaging"].pk]}
    page = text(client.get(COUNTS, query))
    assert "No question matches these settings" in page  # not yet incorrect
    assert '<span id="pool-count-unused" hx-swap-oob="true">(0)</span>' in page
    for secret in ("Nerve ", "Rationale", "is_correct", "explanation", "iliac"):
        assert secret not in page


def test_queries_do_not_grow_with_topics_or_history(client, ann, bank):
    def queries(url, data=None):
        cache.clear()
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url, data).status_code == 200
        return len(captured)

    selection = {"pool": "unused"}
    few = (queries(BUILDER), queries(COUNTS, selection | {"topics": [bank["anatomy"].pk]}))
    topics = [TopicFactory() for _ in range(40)]
    for n, question in enumerate(PublishableQuestionFactory.create_batch(40)):
        question.topics.add(topics[n], topics[(n + 1) % 40])
    questions = list(
        dict.fromkeys(bank["questions"] + [q for t in topics for q in t.questions.all()])
    )
    finished_attempts([(ann, [(q, "A", 20) for q in questions[i : i + 5]]) for i in range(10)])
    chosen = [t.pk for t in topics[:20]]
    many = (queries(BUILDER), queries(COUNTS, selection | {"topics": chosen}))
    assert few == many
    # Both: session, user, the counts with the held-back questions (one query), the profile
    # and the topics; the page the bell's unread count too, the fragment the chosen topics'
    # check. No query per topic, pool or attempt.
    assert many == (6, 6)


# --- The dashboard's quick starts -------------------------------------------------------------


def quick_form(dashboard_html: str, button: str) -> dict:
    """The fields of the dashboard's form whose button starts with ``button``."""
    for form in re.findall(r"<form[^>]*>.*?</form>", dashboard_html, re.S):
        if f">{button}" in form:
            return {
                name: value
                for name, value in re.findall(r'name="(\w+)" value="([^"]*)"', form)
                if name != "csrfmiddlewaretoken"
            }
    raise AssertionError(f"no form with {button!r}")


def test_review_due_questions_pressed_twice_resumes_the_first_quiz(client, ann):
    first = client.post(BUILDER, quick_form(client.get("/dashboard/").content.decode(), "Review"))
    quiz = Attempt.objects.get(user=ann, status="in_progress")
    assert first.url == quiz.question_url(1)
    # A new dashboard (a new start token), the same button: the same quiz, said so.
    form = quick_form(client.get("/dashboard/").content.decode(), "Review")
    assert form["quick_start"] == "1" and form["pool"] == "due"
    again = client.post(BUILDER, form, follow=True)
    assert Attempt.objects.filter(user=ann, status="in_progress").count() == 1
    assert again.redirect_chain[0][0] == quiz.question_url(1)
    assert "You already have this quiz in progress" in again.content.decode()


def test_quiz_me_pressed_twice_resumes_and_a_built_quiz_is_always_new(client, ann, bank):
    form = {"topics": bank["anatomy"].pk, "pool": "all", "mode": "tutor", "question_count": 3}
    client.post(BUILDER, form | {"quick_start": "1"})
    client.post(BUILDER, form | {"quick_start": "1"})
    assert Attempt.objects.filter(user=ann, status="in_progress").count() == 1
    # The builder starts what it is asked, even the same settings again.
    client.post(BUILDER, form)
    assert Attempt.objects.filter(user=ann, status="in_progress").count() == 2
    # Another number of questions is another quiz.
    client.post(BUILDER, form | {"quick_start": "1", "question_count": 2})
    assert Attempt.objects.filter(user=ann, status="in_progress").count() == 3


def test_an_educator_builds_quizzes_with_counts_too(client, bank):
    educator = UserFactory(is_staff=True)
    educator.groups.add(Group.objects.get(name=EDUCATORS_GROUP))
    client.force_login(educator)
    assert "Unused <span" in text(client.get(BUILDER))


def test_a_blank_builder_comes_with_its_counts_and_asks_again_only_when_sent_back(client, ann):
    """The page's own counts are the blank form's: asking for them again as it loads was a
    second request per visit. A form sent back asks, so that the labels and the max follow
    the choices it kept."""
    trigger = re.compile(r'id="builder-choices"[^>]*hx-trigger="([^"]*)"')
    blank = text(client.get(BUILDER))
    assert trigger.search(blank)[1] == "change"
    sent_back = text(client.post(BUILDER, {"pool": "all", "question_count": 0, "mode": "timed"}))
    assert trigger.search(sent_back)[1] == "load, change"
