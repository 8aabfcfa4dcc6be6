"""PreparedQuery (questions/models/prepared.py): a query's SQL written once, then run for
other users and times with the same rows as the ORM gives; a query whose SQL depends on
its values is not prepared, and is still answered right."""

import datetime
import logging

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from questions.models import Attempt
from questions.models.prepared import PreparedQuery
from tests.factories import UserFactory, finished_attempts

pytestmark = pytest.mark.django_db

T0 = datetime.datetime(2026, 12, 1, 9, 0, tzinfo=datetime.UTC)


def _started_by(user_id, now):
    return (
        Attempt.objects.filter(user_id=user_id, started_at__lte=now)
        .values_list("pk", "user_id")
        .order_by("pk")
    )


@pytest.fixture
def history():
    ann, bob = UserFactory(), UserFactory()
    for user in (ann, bob):
        for day in range(3):
            finished_attempts([(user, [])], started_at=T0 + datetime.timedelta(days=day))
    return ann, bob


def test_the_rows_are_the_orms_for_each_user_and_time(history):
    query = PreparedQuery(Attempt, _started_by)
    for user in history:
        for days in (-1, 0, 1, 5):
            now = T0 + datetime.timedelta(days=days, minutes=1)
            expected = list(_started_by(user.pk, now))
            assert query.rows(user_id=user.pk, now=now) == expected
    assert [
        len(query.rows(user_id=history[0].pk, now=T0 + datetime.timedelta(days=d)))
        for d in (-1, 0, 1, 2)
    ] == [0, 1, 2, 3]


def test_once_prepared_a_call_writes_no_sql_and_runs_one_query(history):
    built = []

    def build(user_id, now):
        built.append(user_id)
        return _started_by(user_id, now)

    query = PreparedQuery(Attempt, build)
    query.rows(user_id=history[0].pk, now=T0)
    assert len(built) == 2  # written twice, with the stand-ins, to find the values' places
    with CaptureQueriesContext(connection) as captured:
        rows = query.rows(user_id=history[1].pk, now=T0 + datetime.timedelta(days=9))
    assert len(built) == 2 and len(captured) == 1 and len(rows) == 3
    assert query.is_prepared(connection.alias)


@pytest.mark.parametrize(
    "shape",
    [
        # The SQL's shape follows the value: an IN list of one or two, by the id.
        lambda user_id, now: Attempt.objects.filter(
            pk__in=[user_id, user_id + 1][: 1 + user_id // 16 % 2]
        ),
        # A value derived from the user's, which the stand-ins cannot place.
        lambda user_id, now: Attempt.objects.filter(user_id=user_id, pk__gt=user_id % 7 - 7),
    ],
    ids=["shape-follows-value", "derived-value"],
)
def test_a_query_that_cannot_be_prepared_is_written_each_time_and_still_right(
    history, shape, caplog
):
    built = []

    def build(user_id, now):
        built.append(user_id)
        return shape(user_id, now).values_list("pk").order_by("pk")

    query = PreparedQuery(Attempt, build)
    with caplog.at_level(logging.WARNING, logger="questions.models.prepared"):
        query.rows(user_id=history[0].pk, now=T0)
    assert "its SQL changes with its values" in caplog.text
    assert not query.is_prepared(connection.alias)
    built.clear()
    for user in history:
        expected = list(shape(user.pk, T0).values_list("pk").order_by("pk"))
        assert query.rows(user_id=user.pk, now=T0) == expected
    assert len(built) == 2  # the ORM for each call, no second attempt to prepare
