"""Confidence on the question page, calibration and miss types on the results page, the
dashboard and the cohort page; who may tag a miss."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from questions.models import Attempt, Cohort, ResidentProfile
from questions.quizzes import engine, starting
from tests.factories import (
    PublishableQuestionFactory,
    TopicFactory,
    UserFactory,
    finished_attempts,
)
from tests.views.test_dashboards import make_educator

pytestmark = pytest.mark.django_db


@pytest.fixture
def setting():
    """Ann finished a quiz: question 1 right while sure, 2 wrong while sure, 3 unanswered.
    She is in a cohort with its educator."""
    questions = PublishableQuestionFactory.create_batch(3)  # key C
    topic = TopicFactory(name="Middle cluneal nerves")
    for question in questions:
        question.topics.add(topic)
    ann = UserFactory(username="ann")
    [attempt] = finished_attempts(
        [(ann, [(questions[0], "C", 30), (questions[1], "B", 30), (questions[2], None, 30)])]
    )
    attempt.items.filter(position__in=[1, 2]).update(confidence="sure")
    cohort = Cohort.objects.create(name="Alpha program")
    educator = make_educator("edu")
    cohort.educators.add(educator)
    cohort.residents.add(ann)
    return {
        "ann": ann,
        "attempt": attempt,
        "cohort": cohort,
        "educator": educator,
        "questions": questions,
    }


def miss_url(attempt, position):
    return reverse("questions:item_miss_type", args=[attempt.pk, position])


def test_the_question_page_offers_confidence_and_the_answer_keeps_it(client):
    PublishableQuestionFactory.create_batch(2)
    resident = UserFactory()
    attempt = starting.start_attempt(user=resident, config=starting.QuizConfig(question_count=2))
    client.force_login(resident)
    url = reverse("questions:attempt_question", args=[attempt.pk, 1])
    page = client.get(url).content.decode()
    assert 'name="confidence" value="sure"' in page and "S/U/G" in page
    answer = reverse("questions:attempt_answer", args=[attempt.pk, 1])
    client.post(answer, {"letter": "A", "confidence": "unsure", "go": "stay"})
    assert attempt.items.get(position=1).confidence == "unsure"
    assert 'value="unsure" id="confidence-unsure" autocomplete="off" checked' in (
        client.get(url).content.decode()
    )
    response = client.post(answer, {"letter": "B", "confidence": "certain", "go": "stay"})
    assert "one of sure, unsure or guess" in client.get(response.url).content.decode()
    item = attempt.items.get(position=1)
    assert (item.selected_letter, item.confidence) == ("A", "unsure")  # nothing half-saved


def test_results_show_calibration_and_what_was_wrong_while_sure(client, setting):
    client.force_login(setting["ann"])
    response = client.get(reverse("questions:attempt_results", args=[setting["attempt"].pk]))
    sure = response.context["calibration"][0]
    assert (sure["answered"], sure["correct"], sure["percent"]) == (2, 1, 50.0)
    page = response.content.decode()
    attempt = setting["attempt"]
    second = reverse("questions:attempt_result_item", args=[attempt.pk, 2])
    assert f'<li>Middle cluneal nerves: <a href="{second}">question 2</a></li>' in page
    [group] = response.context["confident_misses"]
    assert [item.position for item in group["items"]] == [2]
    # A tagging form on each miss's result page (2 and 3), none on the correct answer's.
    for position, is_miss in ((1, False), (2, True), (3, True)):
        url = reverse("questions:attempt_result_item", args=[attempt.pk, position])
        result = client.get(url).content.decode()
        assert ('name="miss_type"' in result) == is_miss
        assert (miss_url(attempt, position) in result) == is_miss


def test_the_resident_tags_a_miss_and_sees_it_on_the_dashboard(client, setting):
    client.force_login(setting["ann"])
    response = client.post(miss_url(setting["attempt"], 3), {"miss_type": "time"})
    assert response.url.endswith("#item-3")
    assert setting["attempt"].items.get(position=3).miss_type == "time"
    dashboard = client.get(reverse("questions:dashboard"))
    [month] = dashboard.context["miss_mix"]
    assert (month["misses"], month["untagged"], dict(month["counts"])["Ran out of time"]) == (
        2,
        1,
        1,
    )
    assert dashboard.context["calibration"][0]["percent"] == 50.0
    [group] = dashboard.context["confident_misses"]
    assert group["topic"].name == "Middle cluneal nerves"
    assert [q["question_id"] for q in group["questions"]] == [setting["questions"][1].pk]
    assert setting["questions"][1].lead_in in dashboard.content.decode()


def test_a_correct_answer_cannot_be_tagged_and_nothing_changes(client, setting):
    client.force_login(setting["ann"])
    response = client.post(miss_url(setting["attempt"], 1), {"miss_type": "misread"}, follow=True)
    assert "Only a question answered wrongly" in response.content.decode()
    assert setting["attempt"].items.get(position=1).miss_type == ""


def test_nobody_else_tags_a_residents_miss(client, setting):
    for other in (UserFactory(), setting["educator"]):
        client.force_login(other)
        assert (
            client.post(miss_url(setting["attempt"], 2), {"miss_type": "misread"}).status_code
            == 404
        )
    client.logout()
    assert client.post(miss_url(setting["attempt"], 2), {"miss_type": "misread"}).status_code == 302
    assert setting["attempt"].items.get(position=2).miss_type == ""


def test_misses_are_tagged_only_once_the_quiz_is_over(client):
    PublishableQuestionFactory.create_batch(2)
    resident = UserFactory()
    attempt = starting.start_attempt(
        user=resident, config=starting.QuizConfig(question_count=2, mode=Attempt.Mode.TUTOR)
    )
    item = attempt.items.get(position=1)
    wrong = next(c["letter"] for c in item.shown["choices"] if not c["is_correct"])
    engine.answer(attempt=attempt, position=1, letter=wrong)
    client.force_login(resident)
    client.post(miss_url(attempt, 1), {"miss_type": "knowledge"})
    assert attempt.items.get(position=1).miss_type == ""


def test_the_educator_sees_the_cohorts_mix_and_the_residents_tag(client, setting):
    engine.tag_miss(attempt=setting["attempt"].pk, position=2, miss_type="reasoning")
    client.force_login(setting["educator"])
    cohort = setting["cohort"]
    mix = client.get(reverse("questions:cohort_detail", args=[cohort.pk])).context["miss_mix"]
    assert (mix["misses"], mix["tagged"], mix["untagged"]) == (2, 1, 1)
    assert ("Reasoning error", 1, 100.0) in mix["counts"]
    review = client.get(
        reverse(
            "questions:cohort_resident_attempt",
            args=[cohort.pk, setting["ann"].pk, setting["attempt"].pk],
        )
    ).content.decode()
    assert "Tagged by the resident: <strong>Reasoning error</strong>" in review
    assert 'name="miss_type"' not in review  # the educator reads it, cannot change it


def test_review_due_questions_starts_a_tutor_quiz_of_the_due_ones(client):
    due, fine = PublishableQuestionFactory.create_batch(2)
    resident = UserFactory()
    two_days_ago = timezone.now() - datetime.timedelta(days=2)
    finished_attempts([(resident, [(due, "A", 30), (fine, "C", 30)])], started_at=two_days_ago)
    client.force_login(resident)
    page = client.get(reverse("questions:dashboard")).content.decode()
    assert '<span class="fs-4 fw-semibold" id="review-due">1</span>' in page
    assert "Review due questions (1)" in page
    response = client.post(
        reverse("questions:attempt_new"),
        {"pool": "due", "mode": "tutor", "question_count": "1"},
    )
    quiz = Attempt.objects.filter(user=resident).latest("started_at")
    assert response.url == reverse("questions:attempt_question", args=[quiz.pk, 1])
    assert (quiz.mode, quiz.pool) == ("tutor", "due")
    assert [i.question_id for i in quiz.items.all()] == [due.pk]
    # Asking for more than are due says how many there are.
    page = client.post(
        reverse("questions:attempt_new"),
        {"pool": "due", "mode": "tutor", "question_count": "5"},
    ).content.decode()
    assert "choose 1 or fewer" in page


def test_educators_do_not_see_a_residents_review_schedule(client, setting):
    client.force_login(setting["educator"])
    url = reverse("questions:cohort_resident", args=[setting["cohort"].pk, setting["ann"].pk])
    page = client.get(url).content.decode()
    assert "Spaced review" not in page and "flashcards" not in page
    assert "Why questions were missed" in page  # the cohort-visible figures are there


def test_with_shortcuts_off_the_page_shows_no_key_hints(client):
    PublishableQuestionFactory.create_batch(2)
    resident = UserFactory()
    ResidentProfile.objects.create(user=resident, has_keyboard_shortcuts=False)
    attempt = starting.start_attempt(user=resident, config=starting.QuizConfig(question_count=2))
    client.force_login(resident)
    page = client.get(reverse("questions:attempt_question", args=[attempt.pk, 1])).content
    assert b"<kbd" not in page and b"Keys: 1" not in page
    assert b'data-shortcuts="off"' in page


def test_the_last_tutor_answer_offers_to_end_the_quiz(client):
    PublishableQuestionFactory.create_batch(2)
    resident = UserFactory()
    attempt = starting.start_attempt(
        user=resident, config=starting.QuizConfig(question_count=2, mode=Attempt.Mode.TUTOR)
    )
    client.force_login(resident)
    first = reverse("questions:attempt_question", args=[attempt.pk, 1])
    client.post(reverse("questions:attempt_answer", args=[attempt.pk, 1]), {"letter": "A"})
    assert b"All answered: end quiz" not in client.get(first).content
    client.post(reverse("questions:attempt_answer", args=[attempt.pk, 2]), {"letter": "A"})
    assert b"All answered: end quiz" in client.get(first).content
