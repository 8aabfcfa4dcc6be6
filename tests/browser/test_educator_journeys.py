"""Educators' journeys in a real browser: writing and publishing a question in the admin,
following a cohort down to one resident and its CSV, and answering a resident's report.
axe-core checks every page each journey visits, the Django admin's included."""

import csv
import re
from contextlib import contextmanager

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from questions.models import Cohort, ErrorReport, Question
from questions.people.roles import EDUCATORS_GROUP
from tests.browser.conftest import assert_accessible, log_in
from tests.factories import (
    PublishableQuestionFactory,
    ReferenceFactory,
    TopicFactory,
    UserFactory,
    finished_attempts,
)

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "a-long-test-password"


def make_educator(username: str):
    # The group is there in transactional tests too: the flush after each one sends
    # post_migrate, whose handler (questions.apps) recreates it with its permissions.
    user = UserFactory(username=username, password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name=EDUCATORS_GROUP))
    return user


@contextmanager
def signed_in(browser, live_server, username: str, *, check: bool = False):
    """A browser window of its own (its own cookies), signed in as ``username``; with
    ``check``, axe checks the login page and the dashboard it lands on."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        if check:
            page.goto(live_server.url + reverse("login"))
            assert_accessible(page, "login")
        log_in(page, live_server.url, username, PASSWORD)
        if check:
            assert page.url.endswith(reverse("questions:dashboard"))
            assert_accessible(page, f"dashboard of {username}")
        yield page
    finally:
        context.close()


def run_admin_action(page, action_label: str, row_label: str) -> None:
    """On an admin change list: tick the row whose link reads ``row_label``, run the action."""
    row = page.locator("#result_list tbody tr", has=page.get_by_role("link", name=row_label))
    row.locator("input.action-select").check()
    page.select_option("select[name=action]", label=action_label)
    with page.expect_navigation():
        page.click("button[name=index]")


def test_question_written_reviewed_and_published_reaches_a_residents_quiz(live_server, browser):
    topic = TopicFactory(name="Middle cluneal nerve")
    PublishableQuestionFactory(key="other-topic")  # published, but in no topic of the quiz
    reference = ReferenceFactory(key="tubbs2010", title="Middle cluneal nerve anatomy")
    make_educator("author")
    make_educator("reviewer")
    UserFactory(username="pgy3", password=PASSWORD)
    stem = "A 40-year-old woman has buttock pain below the posterior superior iliac spine."

    with signed_in(browser, live_server, "author", check=True) as page:
        page.get_by_role("link", name="Author questions").click()
        page.wait_for_url(re.compile(r"/admin/questions/question/$"))
        assert_accessible(page, "admin question list (empty)")
        page.get_by_role("link", name="Add question").click()
        page.wait_for_url(re.compile(r"/admin/questions/question/add/$"))
        assert_accessible(page, "admin add question")

        page.fill("#id_key", "mcn-entrapment")
        page.select_option("#id_topics_from", label=topic.name)
        page.click("#id_topics_add")
        page.fill("#id_stem", stem)
        page.fill(
            "#id_lead_in", "Which nerve passes through the long posterior sacroiliac ligament?"
        )
        page.fill("#id_objective", "Recognise middle cluneal nerve entrapment.")
        page.fill("#id_explanation", "The middle cluneal nerves pierce the ligament [@tubbs2010].")
        choices = [
            "Middle cluneal nerve",
            "Superior cluneal nerve",
            "Inferior cluneal nerve",
            "Posterior femoral cutaneous nerve",
            "Pudendal nerve",
        ]
        for index, text in enumerate(choices):
            page.fill(f"#id_choices-{index}-text", text)
            page.fill(f"#id_choices-{index}-rationale", f"Why “{text}” is or is not the answer.")
        page.check("#id_choices-0-is_correct")
        page.select_option("#id_citations-0-reference", label=str(reference))
        page.fill("#id_citations-0-locator", "Results")
        with page.expect_navigation():
            page.click("input[name=_continue]")
        assert page.locator(".messagelist .success").is_visible()
        assert_accessible(page, "admin change question (draft, saved)")

        page.get_by_role("link", name="Questions", exact=True).first.click()
        page.wait_for_url(re.compile(r"/admin/questions/question/$"))
        assert_accessible(page, "admin question list")
        run_admin_action(page, "Send selected questions to review", "mcn-entrapment")
        assert "1 question(s) moved to in review." in page.locator(".messagelist").inner_text()
        # The author cannot publish it: a second educator must.
        run_admin_action(page, "Publish selected questions", "mcn-entrapment")
        assert "Another educator must review it" in page.locator(".messagelist").inner_text()
        assert_accessible(page, "admin question list with an error message")

    question = Question.objects.get(key="mcn-entrapment")
    assert question.status == Question.Status.IN_REVIEW

    with signed_in(browser, live_server, "reviewer") as page:
        page.get_by_role("link", name="Author questions").click()
        page.wait_for_url(re.compile(r"/admin/questions/question/$"))
        page.get_by_role("link", name="In review").click()
        page.wait_for_url(re.compile(r"status__exact=review"))
        assert_accessible(page, "admin question list filtered to in review")
        run_admin_action(page, "Publish selected questions", "mcn-entrapment")
        assert "1 question(s) moved to published." in page.locator(".messagelist").inner_text()

    question.refresh_from_db()
    assert question.status == Question.Status.PUBLISHED

    with signed_in(browser, live_server, "pgy3", check=True) as page:
        page.get_by_role("link", name="New quiz").first.click()
        page.wait_for_url(re.compile(r"/quizzes/new/$"))
        assert_accessible(page, "build a quiz")
        page.get_by_label(topic.name).check()
        page.fill("#id_question_count", "1")
        page.check("input[name=mode][value=tutor]")
        page.get_by_role("button", name="Start quiz").click()
        page.wait_for_url(re.compile(r"/questions/1/$"))
        assert page.get_by_text(stem).is_visible()
        assert page.get_by_label(re.compile(r"^[A-E]\. Middle cluneal nerve$")).is_visible()
        assert_accessible(page, "quiz question")


def test_educator_follows_cohort_to_a_resident_and_downloads_its_csv(live_server, browser):
    topic = TopicFactory(name="Superior cluneal nerve")
    questions = PublishableQuestionFactory.create_batch(3, correct_letter="C")
    for question in questions:
        question.topics.add(topic)
    educator = make_educator("pd")
    ana = UserFactory(username="ana", first_name="Ana", last_name="Ruiz", password=PASSWORD)
    ben = UserFactory(username="ben", password=PASSWORD)
    cohort = Cohort.objects.create(name="PM&R 2026", program="PM&R")
    cohort.educators.add(educator)
    cohort.residents.add(ana, ben)
    finished_attempts(
        [
            (ana, [(questions[0], "C", 40), (questions[1], "C", 50), (questions[2], "A", 60)]),
            (ben, [(questions[0], "B", 70)]),
        ]
    )

    with signed_in(browser, live_server, "pd", check=True) as page:
        page.get_by_role("link", name="Cohorts", exact=True).first.click()
        page.wait_for_url(re.compile(r"/cohorts/$"))
        assert_accessible(page, "cohort list")
        page.get_by_role("link", name="PM&R 2026").click()
        page.wait_for_url(re.compile(rf"/cohorts/{cohort.pk}/$"))
        assert_accessible(page, "cohort dashboard")

        page.locator("#cohort-table").get_by_role("link", name="Ana Ruiz").click()
        page.wait_for_url(re.compile(rf"/cohorts/{cohort.pk}/residents/{ana.pk}/$"))
        assert page.locator("#answered").inner_text() == "3"
        assert page.locator("#percent-correct").inner_text() == "66.7%"
        assert_accessible(page, "a resident's dashboard, as their educator")
        page.get_by_role("link", name="Review", exact=True).first.click()
        page.wait_for_url(re.compile(rf"/residents/{ana.pk}/quizzes/\d+/$"))
        assert page.locator("#score").inner_text().startswith("2 / 3")
        assert_accessible(page, "a resident's quiz results, as their educator")

        page.get_by_role("link", name="PM&R 2026").click()
        page.wait_for_url(re.compile(rf"/cohorts/{cohort.pk}/$"))
        with page.expect_download() as download_info:
            page.get_by_role("link", name="Download CSV").click()
        download = download_info.value
        assert re.fullmatch(
            rf"cohort-{cohort.pk}-\d{{4}}-\d\d-\d\d\.csv", download.suggested_filename
        )
        with open(download.path(), newline="", encoding="utf-8") as file:
            rows = list(csv.reader(file))

    assert rows[0] == [
        "username", "name", "attempts", "questions answered", "correct", "percent correct",
        "last activity", "Superior cluneal nerve: answered",
        "Superior cluneal nerve: percent correct",
    ]  # fmt: skip
    by_username = {row[0]: row for row in rows[1:]}
    assert by_username.keys() == {"ana", "ben"}
    assert by_username["ana"][:6] == ["ana", "Ana Ruiz", "1", "3", "2", "66.7"]
    assert by_username["ana"][7:] == ["3", "66.7"]


def test_resident_report_is_answered_in_the_admin_and_the_reply_reaches_them(live_server, browser):
    question = PublishableQuestionFactory(lead_in="Which nerve crosses the iliac crest?")
    educator = make_educator("editor")
    resident = UserFactory(username="pgy1", password=PASSWORD)
    cohort = Cohort.objects.create(name="Anesthesia 2027")
    cohort.educators.add(educator)
    cohort.residents.add(resident)
    (attempt,) = finished_attempts([(resident, [(question, "A", 30)])])

    with signed_in(browser, live_server, "pgy1", check=True) as page:
        page.get_by_role("link", name="My quizzes", exact=True).click()
        page.wait_for_url(re.compile(r"/quizzes/$"))
        assert_accessible(page, "my quizzes")
        page.get_by_role("link", name="Review", exact=True).click()
        page.wait_for_url(re.compile(rf"/quizzes/{attempt.pk}/results/$"))
        assert_accessible(page, "results")
        page.get_by_role("link", name="Question 1", exact=True).click()
        page.wait_for_url(re.compile(rf"/quizzes/{attempt.pk}/results/1/$"))
        page.get_by_text("Report a problem with this question").click()
        assert_accessible(page, "a result page with the report form open")
        page.get_by_label("What is wrong?").select_option(label="The marked answer is wrong")
        page.get_by_label("Details for the educators").fill("The rationale for C cites A.")
        page.get_by_role("button", name="Send report").click()
        # Back on the question's result page, which now says so.
        page.wait_for_url(re.compile(rf"/quizzes/{attempt.pk}/results/1/$"))
        assert page.get_by_text("your report was sent to the educators").is_visible()
        assert page.get_by_text("You reported this question").is_visible()
        page.reload()
        assert page.get_by_text("You reported this question").is_visible()
        assert_accessible(page, "results after reporting")

    report = ErrorReport.objects.get()
    assert (report.reporter, report.kind, report.status) == (resident, "wrong_key", "new")

    with signed_in(browser, live_server, "editor") as page:
        page.goto(live_server.url + reverse("admin:index"))
        assert_accessible(page, "admin index")
        page.get_by_role("link", name="Error reports").first.click()
        page.wait_for_url(re.compile(r"/admin/questions/errorreport/$"))
        assert page.get_by_text("The rationale for C cites A.").is_visible()
        assert_accessible(page, "admin report queue")
        page.locator("#result_list tbody tr").first.locator("a").first.click()
        page.wait_for_url(re.compile(rf"/admin/questions/errorreport/{report.pk}/change/$"))
        assert page.get_by_text("pgy1").first.is_visible()  # their educator sees who sent it
        assert_accessible(page, "admin report")
        page.select_option("#id_status", label="Fixed")
        page.fill("#id_reply", "Thank you: the rationale for C now cites the right study.")
        with page.expect_navigation():
            page.click("input[name=_save]")
        assert page.locator(".messagelist .success").is_visible()

    report.refresh_from_db()
    assert (report.status, report.handled_by) == (ErrorReport.Status.FIXED, educator)

    with signed_in(browser, live_server, "pgy1") as page:
        page.get_by_role("button", name=re.compile(r"^Account: pgy1")).click()
        page.get_by_role("link", name="My reports", exact=True).click()
        page.wait_for_url(re.compile(r"/reports/$"))
        row = page.locator("table tbody tr").first
        assert row.get_by_text("Fixed", exact=True).is_visible()
        assert row.get_by_text("the rationale for C now cites the right study").is_visible()
        assert_accessible(page, "my reports")
