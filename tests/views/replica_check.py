"""Run by test_replica.py in a fresh interpreter, with DATABASE_URL at a private primary and
DATABASE_REPLICA_URL at its hot standby. Exits non-zero at the first check that fails."""

import os
import subprocess
import sys
import time
from contextlib import nullcontext
from pathlib import Path

import django

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connections  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, override_settings  # noqa: E402
from django.urls import reverse  # noqa: E402

override_settings(
    STORAGES={
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    },
    PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
).enable()

call_command("migrate", verbosity=0)

from questions.models import Cohort  # noqa: E402
from questions.people.roles import EDUCATORS_GROUP  # noqa: E402
from tests.factories import (  # noqa: E402
    PublishableQuestionFactory,
    UserFactory,
    finished_attempts,
)

NOTE = "Read from a replica of the database"


def caught_up() -> None:
    """Wait (at most 30 s) until the standby has replayed everything the primary wrote."""
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()")
        (target,) = cursor.fetchone()
    for _ in range(300):
        with connections["replica"].cursor() as cursor:
            cursor.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [target])
            if cursor.fetchone()[0]:
                return
        time.sleep(0.1)
    raise AssertionError("the standby did not catch up within 30 s")


def write_results(cohort, resident, questions):
    finished_attempts([(resident, [(question, "A", 30) for question in questions])])


def visit(client, url, *, replica_up=True):
    """GET ``url``; returns (page text, SQL run on the primary, SQL run on the replica)."""
    with (
        CaptureQueriesContext(connections["default"]) as primary,
        CaptureQueriesContext(connections["replica"]) if replica_up else nullcontext() as replica,
    ):
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return (
        response.content.decode(),
        [query["sql"] for query in primary.captured_queries],
        [query["sql"] for query in replica.captured_queries] if replica_up else [],
    )


def reads_of(queries, table):
    return [sql for sql in queries if sql.lstrip().upper().startswith("SELECT") and table in sql]


educator = UserFactory(username="educator1", is_staff=True)
educator.groups.add(Group.objects.get(name=EDUCATORS_GROUP))
resident = UserFactory(username="resident1")
cohort = Cohort.objects.create(name="Alpha")
cohort.residents.add(resident)
cohort.educators.add(educator)
questions = PublishableQuestionFactory.create_batch(3)
write_results(cohort, resident, questions)
caught_up()

client = Client()
client.force_login(educator)
pages = [reverse("questions:cohort_detail", args=[cohort.pk]), reverse("questions:item_analysis")]

# 1. Caught up: the questions' tables are read from the replica, the session from the primary.
for url in pages:
    text, primary, replica = visit(client, url)
    assert NOTE in text and "0 s behind" in text, url
    assert reads_of(replica, '"questions_attempt'), (url, replica)
    assert reads_of(primary, '"django_session"'), (url, primary)
    assert not reads_of(replica, 'FROM "django_session"'), url
    asking = f'WHERE "auth_user"."id" = {educator.pk}'  # who is asking (not residents' names)
    assert reads_of(primary, asking), url
    assert not reads_of(replica, asking), url
    # Who may see the cohort is decided on the primary.
    assert "cohort" not in url or reads_of(primary, 'FROM "questions_cohort"'), (url, primary)
    assert not reads_of(replica, 'FROM "questions_cohort"'), (url, replica)
print("read from the replica when it is caught up", flush=True)

# 2. Replay paused and the primary writing on: beyond the allowed lag, the primary is read.
with connections["replica"].cursor() as cursor:
    cursor.execute("SELECT pg_wal_replay_pause()")
time.sleep(0.2)
write_results(cohort, resident, questions)
time.sleep(1.5)  # REPLICA_MAX_LAG_SECONDS is 1
for url in pages:
    text, primary, replica = visit(client, url)
    assert NOTE not in text, url
    assert len(replica) == 1 and "pg_last_xact_replay_timestamp" in replica[0], replica
    assert reads_of(primary, '"questions_attempt'), url
print("read from the primary when the replica lags", flush=True)

# 3. Caught up again but no longer streaming (its link to the primary cut): what it holds may
# be any age, so the pages read from the primary, however "caught up" it looks.
with connections["replica"].cursor() as cursor:
    cursor.execute("SELECT pg_wal_replay_resume()")
caught_up()
with connections["replica"].cursor() as cursor:
    cursor.execute("ALTER SYSTEM SET primary_conninfo = ''")
    cursor.execute("SELECT pg_reload_conf()")
for _ in range(300):
    with connections["replica"].cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_wal_receiver WHERE status = 'streaming'")
        if cursor.fetchone()[0] == 0:
            break
    time.sleep(0.1)
else:
    raise AssertionError("the standby still streams 30 s after its primary_conninfo was cut")
for url in pages:
    text, primary, replica = visit(client, url)
    assert NOTE not in text, url
    assert len(replica) == 1 and "pg_stat_wal_receiver" in replica[0], replica
    assert reads_of(primary, '"questions_attempt'), url
print("read from the primary when the replica is not streaming", flush=True)

# 4. The replica stopped: the pages are still served, from the primary.
subprocess.run(
    ["runuser", "-u", "postgres", "--", os.environ["PG_CTL"], "-D", os.environ["STANDBY_DATA"],
     "-m", "immediate", "-w", "stop"],
    check=True, capture_output=True, timeout=60,
)  # fmt: skip
for url in pages:
    text, primary, _ = visit(client, url, replica_up=False)
    assert NOTE not in text, url
    assert reads_of(primary, '"questions_attempt'), url
print("read from the primary when the replica is down", flush=True)
print("replica checks passed", flush=True)
