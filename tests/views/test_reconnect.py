"""A database connection dropped under a request (a failover, a restart, an administrator's
pg_terminate_backend): reads and idempotent writes run again on a new connection, anything
else gets a 503 that says to try again and has saved nothing. Never a 500.

PostgreSQL only: the connection is really terminated by the server, as in the load test."""

import logging
import time

import psycopg
import pytest
from django.db import OperationalError, connection
from django.urls import reverse

from questions import middleware
from questions.models import Attempt, AttemptItem, ErrorReport
from questions.quizzes import engine, starting
from tests.factories import PublishableQuestionFactory, UserFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.slow,  # PostgreSQL only; each test commits and empties the tables
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="terminating a server connection needs PostgreSQL (set DATABASE_URL)",
    ),
]


def drop_the_connection():
    """Have the server terminate this process's connection, as run.py's db_drop fault does,
    and wait until it is gone."""
    connection.ensure_connection()
    terminate(connection.connection.info.backend_pid)


def dropped_before(fragment: str):
    """An execute wrapper that drops the connection just before the first query containing
    ``fragment``: the failure happens mid-view, inside the engine's transaction."""
    fired = []

    def wrapper(execute, sql, params, many, context):
        if fragment in sql and not fired:
            fired.append(sql)
            terminate(connection.connection.info.backend_pid)
        return execute(sql, params, many, context)

    return wrapper


def terminate(pid: int) -> None:
    admin = connection.get_new_connection(connection.get_connection_params())
    try:
        admin.autocommit = True
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
        for _ in range(100):
            if not admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone():
                return
            time.sleep(0.02)
        raise AssertionError(f"backend {pid} was not terminated")
    finally:
        admin.close()


@pytest.fixture
def resident_client(client):
    user = UserFactory()
    client.force_login(user)
    client.user = user
    return client


@pytest.fixture
def attempt(resident_client):
    PublishableQuestionFactory.create_batch(2)
    return starting.start_attempt(
        user=resident_client.user, config=starting.QuizConfig(question_count=2)
    )


def retried(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if "running" in r.getMessage()]


def test_a_page_read_on_a_dropped_connection_is_served_from_a_new_one(resident_client, caplog):
    caplog.set_level(logging.WARNING, logger="questions.middleware")
    drop_the_connection()
    response = resident_client.get(reverse("questions:dashboard"))
    assert response.status_code == 200
    assert retried(caplog) == ["Database connection lost; running GET /dashboard/ again"]


def test_an_answer_sent_on_a_dropped_connection_is_saved_once(resident_client, attempt, caplog):
    caplog.set_level(logging.WARNING, logger="questions.middleware")
    drop_the_connection()
    url = reverse("questions:attempt_answer", args=[attempt.pk, 1])
    response = resident_client.post(url, {"letter": "B", "go": "next"})
    assert response.status_code == 302
    assert response.url == reverse("questions:attempt_question", args=[attempt.pk, 2])
    assert AttemptItem.objects.get(attempt=attempt, position=1).selected_letter == "B"
    assert len(retried(caplog)) == 1


def test_an_answer_whose_transaction_loses_its_connection_is_saved_once(
    resident_client, attempt, caplog
):
    caplog.set_level(logging.WARNING, logger="questions.middleware")
    url = reverse("questions:attempt_answer", args=[attempt.pk, 1])
    with connection.execute_wrapper(dropped_before("FOR UPDATE")):
        response = resident_client.post(url, {"letter": "C", "go": "next"})
    assert response.status_code == 302
    assert response.url == reverse("questions:attempt_question", args=[attempt.pk, 2])
    assert AttemptItem.objects.get(attempt=attempt, position=1).selected_letter == "C"
    assert len(retried(caplog)) == 1


def test_a_quiz_started_on_a_dropped_connection_is_started_once(resident_client):
    PublishableQuestionFactory.create_batch(2)
    page = resident_client.get(reverse("questions:attempt_new"))
    token = page.context["form"]["start_token"].value()
    form = {"pool": "all", "question_count": 2, "mode": "timed", "start_token": token}
    drop_the_connection()
    first = resident_client.post(reverse("questions:attempt_new"), form)
    again = resident_client.post(reverse("questions:attempt_new"), form)  # the client retries
    assert first.status_code == again.status_code == 302
    assert first.url == again.url
    assert Attempt.objects.filter(user=resident_client.user).count() == 1


def test_a_write_that_is_not_safe_to_repeat_gets_a_503_and_saves_nothing(
    resident_client, attempt, caplog
):
    engine.finish_attempt(attempt=attempt)
    drop_the_connection()
    response = resident_client.post(
        reverse("questions:error_report_new", args=[attempt.pk, 1]),
        {"kind": "typo", "comment": "A typo in the stem."},
    )
    assert response.status_code == 503
    assert response["Retry-After"] == "2"
    assert "lost its database connection" in response.content.decode()
    assert not ErrorReport.objects.exists()
    assert retried(caplog) == []
    # The next request finds the database again.
    assert resident_client.get(reverse("questions:error_report_list")).status_code == 200


@pytest.mark.parametrize(
    ("cause", "lost"),
    [
        (psycopg.errors.AdminShutdown(), True),  # pg_terminate_backend, a fast shutdown
        (psycopg.errors.ConnectionFailure(), True),
        (psycopg.OperationalError("server closed the connection unexpectedly"), True),
        (psycopg.errors.LockNotAvailable(), False),  # a live connection's failed query
        (psycopg.errors.QueryCanceled(), False),
        (psycopg.errors.DeadlockDetected(), False),
    ],
)
def test_only_a_lost_connection_counts_as_lost(cause, lost):
    error = OperationalError(str(cause))
    error.__cause__ = cause
    assert middleware._connection_lost(error) is lost


@pytest.fixture
def database_down():
    """Call it to stop the database for this process: every new connection goes to a port
    nothing listens on, as while a primary is away and no replica has taken over yet."""

    real = {key: connection.settings_dict[key] for key in ("HOST", "PORT", "OPTIONS")}

    def stop():
        connection.close()
        options = {**real["OPTIONS"], "connect_timeout": 2}
        connection.settings_dict.update(HOST="127.0.0.1", PORT="1", OPTIONS=options)

    def restart():
        connection.close()
        connection.settings_dict.update(real)

    stop.restart = restart
    yield stop
    restart()


def test_while_the_database_is_down_pages_get_a_503_with_retry_after(
    resident_client, database_down
):
    database_down()
    for url in (reverse("questions:dashboard"), reverse("healthz")):
        response = resident_client.get(url)
        assert response.status_code == 503, url
    assert response.json()["database"] == "unreachable"
    page = resident_client.get(reverse("questions:dashboard"))
    assert page["Retry-After"] == "2"
    assert "lost its database connection" in page.content.decode()


def test_an_answer_sent_while_the_database_is_down_gets_a_503_and_is_not_half_saved(
    resident_client, attempt, database_down
):
    database_down()
    url = reverse("questions:attempt_answer", args=[attempt.pk, 1])
    response = resident_client.post(url, {"letter": "B", "go": "next"})
    assert response.status_code == 503
    assert response["Retry-After"] == "2"

    database_down.restart()
    item = AttemptItem.objects.get(attempt=attempt, position=1)
    assert not item.selected_letter  # nothing half-written: the page says to send it again
    again = resident_client.post(url, {"letter": "B", "go": "next"})
    assert again.status_code == 302
    assert AttemptItem.objects.get(attempt=attempt, position=1).selected_letter == "B"


@pytest.mark.urls("tests.views.reconnect_urls")
def test_a_page_whose_server_side_cursor_loses_its_connection_is_served_again(
    resident_client, caplog, monkeypatch
):
    """The quiz builder listed topics through a server-side cursor (a ModelChoiceField's
    ``iterator()``). A drop after its last fetch made the cursor's close raise psycopg's own
    OperationalError, which Django does not wrap and the middleware did not recognise: a 500
    in the cluster load test. The builder reads its topics in one plain query now; a page
    of the test's own reads through a cursor."""
    PublishableQuestionFactory.create_batch(2)
    caplog.set_level(logging.WARNING, logger="questions.middleware")
    close = psycopg.ServerCursor.close
    dropped = []

    def close_after_a_drop(cursor):
        if not dropped:
            dropped.append(cursor.name)
            terminate(cursor.connection.info.backend_pid)
        return close(cursor)

    monkeypatch.setattr(psycopg.ServerCursor, "close", close_after_a_drop)
    response = resident_client.get("/topics-through-a-cursor/")
    assert dropped  # the page did use a server-side cursor
    assert response.status_code == 200
    assert len(retried(caplog)) == 1
