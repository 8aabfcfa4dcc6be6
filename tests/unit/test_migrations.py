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
