"""Data migrations, run forward on rows written with the schema before them."""

import datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("questions", "0012_attempt_start_token")]
AFTER = [("questions", "0013_attempt_item_first_encounter")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.slow
def test_0013_marks_each_residents_first_finished_encounter():
    apps = _migrate(BEFORE)
    try:
        User = apps.get_model("auth", "User")
        Topic = apps.get_model("questions", "Topic")
        Question = apps.get_model("questions", "Question")
        Attempt = apps.get_model("questions", "Attempt")
        AttemptItem = apps.get_model("questions", "AttemptItem")
        topic = Topic.objects.create(name="T", slug="t")
        one, two = (
            Question.objects.create(key=f"m-{n}", stem="Stem?", status="published") for n in (1, 2)
        )
        for question in (one, two):
            question.topics.add(topic)
        resident = User.objects.create(username="m-resident")
        t0 = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)

        def attempt(minutes, status, questions):
            start = t0 + datetime.timedelta(minutes=minutes)
            finished = status == "finished"
            made = Attempt.objects.create(
                user=resident,
                status=status,
                started_at=start,
                finished_at=start + datetime.timedelta(minutes=1) if finished else None,
                finish_reason="submitted" if finished else "",
                question_count=len(questions),
                correct_count=0 if finished else None,
            )
            return [
                AttemptItem.objects.create(
                    attempt=made,
                    position=position,
                    question=question,
                    shown={},
                    locked_at=made.finished_at,
                    is_correct=False if finished else None,
                ).pk
                for position, question in enumerate(questions, start=1)
            ]

        # Created out of order: the later-started attempt first, so ids do not decide.
        later = attempt(10, "finished", [one, two])
        earlier = attempt(5, "finished", [one])
        attempt(1, "in_progress", [one, two])  # not finished: not an encounter

        apps = _migrate(AFTER)
        AttemptItem = apps.get_model("questions", "AttemptItem")
        marked = set(AttemptItem.objects.filter(first_encounter=True).values_list("pk", flat=True))
        assert marked == {earlier[0], later[1]}
    finally:
        _migrate(_latest())


def _latest():
    executor = MigrationExecutor(connection)
    return executor.loader.graph.leaf_nodes()


# Migration 0022: the item analysis's running totals, counted from the history already marked.
BEFORE_0022 = [("questions", "0021_attempt_clock_backfill")]
AFTER_0022 = [("questions", "0022_item_totals")]
T_0022 = datetime.datetime(2026, 3, 2, 8, 0, tzinfo=datetime.UTC)


@pytest.mark.slow
def test_0022_counts_the_history_already_marked_and_reverses():
    apps = _migrate(BEFORE_0022)
    try:
        User = apps.get_model("auth", "User")
        Question = apps.get_model("questions", "Question")
        Attempt = apps.get_model("questions", "Attempt")
        AttemptItem = apps.get_model("questions", "AttemptItem")
        one, two = (
            Question.objects.create(key=f"m-{n}", stem="?", status="published") for n in (1, 2)
        )
        for number, (name, staff) in enumerate((("m-resident", False), ("m-staff", True))):
            user = User.objects.create(username=name, is_staff=staff)
            made = Attempt.objects.create(
                user=user,
                status="finished",
                started_at=T_0022,
                finished_at=T_0022,
                finish_reason="submitted",
                question_count=2,
                correct_count=1,
            )
            for position, (question, right) in enumerate(((one, True), (two, False)), start=1):
                AttemptItem.objects.create(
                    attempt=made,
                    position=position,
                    question=question,
                    shown={},
                    locked_at=T_0022,
                    answered_at=T_0022,
                    selected_choice_pk=7 + number,
                    is_correct=right,
                    seconds_spent=20 + number,
                    first_encounter=True,
                )

        apps = _migrate(AFTER_0022)
        ItemTotal = apps.get_model("questions", "ItemTotal")
        ItemSecondsCount = apps.get_model("questions", "ItemSecondsCount")
        # Both accounts counted (staff are taken out when the figures are read).
        assert sorted(
            ItemTotal.objects.values_list(
                "question__key",
                "question_count",
                "responses",
                "correct",
                "rest",
                "correct_rest",
                "rest_squares",
            )
        ) == [("m-1", 2, 2, 2, 0, 0, 0), ("m-2", 2, 2, 0, 2, 0, 2)]
        assert sorted(
            ItemSecondsCount.objects.values_list("question__key", "seconds", "responses")
        ) == [("m-1", 20, 1), ("m-1", 21, 1), ("m-2", 20, 1), ("m-2", 21, 1)]

        apps = _migrate(BEFORE_0022)  # reversible: the tables go, the history stays
        assert apps.get_model("questions", "AttemptItem").objects.count() == 4
    finally:
        _migrate(_latest())
