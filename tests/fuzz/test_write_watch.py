"""helpers.send's record of what a request changed (the write watch): every way of writing
a tracked table is seen, rows compared as whole snapshots would compare them."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection

from questions.models import Topic
from tests.fuzz.helpers import WriteWatch, rolled_back, send, table

pytestmark = pytest.mark.django_db
User = get_user_model()


class Doing:
    """Stands in for the test client: its "request" runs ``body``."""

    def __init__(self, body):
        self.body = body

    def post(self, url, data):
        self.body()
        return None


def raw(sql, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def raw_many(sql, rows):
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def changed_by(body) -> set[str]:
    return send(Doing(body), "post", "/").changed


def test_every_way_of_writing_a_tracked_table_is_seen():
    topic = Topic.objects.create(slug="watched", name="Watched")
    user = User.objects.create(username="watched")
    topics, users = table(Topic), table(User)
    writers = {
        "save": lambda: Topic.objects.create(slug="new", name="New"),
        "update": lambda: Topic.objects.filter(pk=topic.pk).update(name="Renamed"),
        "delete": lambda: Topic.objects.filter(pk=topic.pk).delete(),
        "bulk_create": lambda: Topic.objects.bulk_create([Topic(slug="b", name="B")]),
        "m2m through": lambda: user.groups.add(Group.objects.create(name="g")),
        "raw insert": lambda: raw(
            f'INSERT INTO "{topics}" (slug, name, description, "order") VALUES (%s, %s, %s, 0)',
            ["raw", "Raw", ""],
        ),
        "raw update, lower case, after a comment": lambda: raw(
            f"/* why */ update {topics} set name = %s where id = %s", ["Raw", topic.pk]
        ),
        "raw delete": lambda: raw(f"DELETE FROM {topics} WHERE id = %s", [topic.pk]),
        "executemany": lambda: raw_many(
            f"UPDATE {users} SET first_name = %s WHERE id = %s", [("A", user.pk), ("B", 0)]
        ),
    }
    expected = {
        "m2m through": {table(User.groups.through)},
        "executemany": {users},
    }
    for name, body in writers.items():
        with rolled_back():
            assert changed_by(body) == expected.get(name, {topics}), name


def test_a_write_that_leaves_the_rows_as_they_were_is_no_change():
    topic = Topic.objects.create(slug="same", name="Same")
    assert changed_by(lambda: topic.save()) == set()
    assert changed_by(lambda: Topic.objects.filter(pk=0).delete()) == set()


def test_reads_and_untracked_tables_are_no_change_and_cost_no_snapshot():
    Topic.objects.create(slug="read", name="Read")

    def reads_and_writes_elsewhere():
        list(Topic.objects.all())
        Group.objects.create(name="not tracked")

    outcome = send(Doing(reads_and_writes_elsewhere), "post", "/")
    assert outcome.changed == set()
    assert outcome.before == {}


def test_statements_that_may_write_and_the_tables_they_name():
    watch = WriteWatch()
    every = set(watch.tracked)
    cases = {
        'SELECT "questions_topic"."id" FROM "questions_topic"': set(),
        'SELECT 1 FROM "questions_attempt" FOR UPDATE': set(),
        "SAVEPOINT s1": set(),
        'RELEASE SAVEPOINT "s1"': set(),
        "PRAGMA foreign_keys = ON": set(),
        'INSERT INTO "questions_attemptitem" ("x") VALUES (1)': {"questions_attemptitem"},
        "  (update questions_attempt set x = 1)": {"questions_attempt"},
        "REPLACE INTO questions_topic VALUES (1)": {"questions_topic"},
        'INSERT INTO "questions_reviewcard" ("x") VALUES (1) ON CONFLICT DO UPDATE': {
            "questions_reviewcard"
        },
        "WITH gone AS (DELETE FROM auth_user RETURNING id) SELECT 1": {"auth_user"},
        'DELETE FROM "django_session" WHERE "session_key" = 1': set(),
        "UPDATE a_view_over_everything SET x = 1": every,
        "TRUNCATE questions_topic": {"questions_topic"},
    }
    for sql, written in cases.items():
        assert watch.may_write(sql) == written, sql
