"""Redis away: with REDIS_URL set, the cache treats Redis errors as misses and sessions fall
back to the database (quizsite/settings.py), so logins and quizzes keep working and the
health check says "degraded". Tested against a redis-server of the test's own, on its own
port, that the test stops and starts again; the machine's Redis is never touched."""

import logging
import os
import runpy
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
import redis
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from questions import redis_breaker
from questions.models import Attempt, AttemptItem
from tests.factories import PublishableQuestionFactory, UserFactory
from tests.processes import free_port

ROOT = Path(__file__).resolve().parents[2]
REDIS_SERVER = shutil.which("redis-server")
PASSWORD = "a-long-test-password"  # the factories' password

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(REDIS_SERVER is None, reason="needs redis-server (Debian's redis)"),
]


class OwnRedis:
    """A redis-server with no persistence, bound to 127.0.0.1 on a port of its own."""

    def __init__(self, directory: Path):
        self.port = free_port()
        self.directory = directory
        self.process: subprocess.Popen | None = None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        for _ in range(100):  # bounded: 5 s
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None

    def hang(self) -> None:
        """Accept connections but answer nothing, as a Redis host that vanished."""
        os.kill(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self.process.pid, signal.SIGCONT)

    def keys(self) -> list[bytes]:
        return redis.Redis(port=self.port).keys("*")


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def breaker(monkeypatch):
    """The process's circuit breaker, new for each test, on a clock the test moves."""
    clock = Clock()
    fresh = redis_breaker.Breaker(redis_breaker.COOLDOWN_SECONDS, clock=clock)
    fresh.clock_now = clock
    monkeypatch.setattr(redis_breaker, "BREAKER", fresh)
    return fresh


def after_the_cooldown(breaker) -> None:
    breaker.clock_now.now += redis_breaker.COOLDOWN_SECONDS + 0.1


@pytest.fixture
def own_redis(tmp_path, settings, monkeypatch):
    server = OwnRedis(tmp_path)
    server.start()
    monkeypatch.setenv("REDIS_URL", server.url)
    derived = runpy.run_path(str(ROOT / "quizsite" / "settings.py"))
    settings.REDIS_URL = derived["REDIS_URL"]
    settings.CACHES = derived["CACHES"]
    settings.SESSION_ENGINE = derived.get("SESSION_ENGINE", "django.contrib.sessions.backends.db")
    yield server
    server.stop()


def _log_in(username: str) -> Client:
    client = Client()  # a new client, so the session middleware reads the engine in use
    response = client.post(reverse("login"), {"username": username, "password": PASSWORD})
    assert response.status_code == 302, response.content[:500]
    return client


def _start_and_answer(client: Client) -> Attempt:
    page = client.get(reverse("questions:attempt_new"))
    assert page.status_code == 200
    token = page.context["form"]["start_token"].value()
    form = {"pool": "all", "question_count": 2, "mode": "timed", "start_token": token}
    started = client.post(reverse("questions:attempt_new"), form)
    assert started.status_code == 302
    attempt = Attempt.objects.get(start_token=token)
    question = client.get(started.url)
    assert question.status_code == 200
    answer = client.post(
        reverse("questions:attempt_answer", args=[attempt.pk, 1]), {"letter": "B", "go": "next"}
    )
    assert answer.status_code == 302
    assert AttemptItem.objects.get(attempt=attempt, position=1).selected_letter == "B"
    return attempt


def test_the_health_check_reports_redis_beside_the_database(own_redis, client):
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "redis": "ok"}


def test_with_redis_down_logins_and_quizzes_keep_working_and_health_says_degraded(own_redis):
    UserFactory(username="ann")
    PublishableQuestionFactory.create_batch(3)
    own_redis.stop()

    health = Client().get(reverse("healthz"))
    assert health.status_code == 200  # the host stays in the load balancer's pool
    assert health.json() == {"status": "degraded", "database": "ok", "redis": "unreachable"}

    client = _log_in("ann")
    assert client.get(reverse("questions:dashboard")).status_code == 200
    _start_and_answer(client)
    assert cache.get("anything") is None  # a miss, not an error
    cache.set("anything", 1)  # dropped, not an error


def test_a_session_made_while_redis_was_down_survives_its_return_and_vice_versa(own_redis):
    UserFactory(username="ann")
    UserFactory(username="bob")
    PublishableQuestionFactory.create_batch(3)
    before = _log_in("ann")  # while Redis is up

    own_redis.stop()
    during = _log_in("bob")  # while Redis is down: the database alone
    for client, name in ((before, "ann"), (during, "bob")):
        page = client.get(reverse("questions:dashboard"))
        assert page.status_code == 200
        assert page.wsgi_request.user.username == name

    own_redis.start()  # back, and empty
    after_the_cooldown(redis_breaker.BREAKER)
    assert Client().get(reverse("healthz")).json()["status"] == "ok"
    for client, name in ((before, "ann"), (during, "bob")):
        page = client.get(reverse("questions:dashboard"))
        assert page.wsgi_request.user.username == name
    _start_and_answer(during)


def test_while_redis_hangs_one_command_waits_for_the_timeout_and_the_rest_miss_at_once(
    own_redis, breaker, caplog
):
    caplog.set_level(logging.INFO, logger="questions.redis")
    cache.set("kept", 1)
    own_redis.hang()
    try:
        assert [cache.get("kept") for _ in range(10)] == [None] * 10
        assert breaker.is_open
        assert breaker.refused == 9  # only the first waited for the socket timeout
        assert Client().get(reverse("healthz")).json()["redis"] == "unreachable"
    finally:
        own_redis.resume()
    assert cache.get("kept") is None  # still within the cooldown: not tried
    after_the_cooldown(breaker)
    assert cache.get("kept") == 1  # tried again, answered: closed
    assert not breaker.is_open
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 2, messages  # one line when it went, one when it came back
    assert messages[0].startswith("Redis unreachable")
    assert messages[1].startswith("Redis reachable again")


def test_a_log_out_while_redis_hangs_is_not_undone_when_it_answers_again(own_redis, breaker):
    """Sessions live in the database alone: a session deleted while Redis could not be told
    must not come back from Redis's copy."""
    UserFactory(username="ann")
    client = _log_in("ann")
    stolen = client.cookies["sessionid"].value  # a copy of the cookie, as on a shared PC
    own_redis.hang()
    try:
        assert client.post(reverse("logout")).status_code == 302
    finally:
        own_redis.resume()
    after_the_cooldown(breaker)
    replay = Client()
    replay.cookies["sessionid"] = stolen
    page = replay.get(reverse("questions:dashboard"))
    assert page.status_code == 302  # to the login page
    assert not page.wsgi_request.user.is_authenticated
