"""A 500 in production settings: its traceback is written to stderr at ERROR with the
request's id, the page shows the same id, and, with SENTRY_DSN set, the error reaches Sentry
tagged with it. Each case runs in a fresh interpreter with the production settings exactly as
a server starts them (debug off, logging configured from the environment)."""

import gzip
import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

from tests.processes import run_python, site_env

# Run in the child: a page that fails (the home page's first call raises), requested as a
# browser behind the proxy would, which sent its own X-Request-ID.
CHILD = """
import sys, django
django.setup()
from django.conf import settings
from django.test import Client
from django.test.utils import override_settings
# The one change to production: static URLs without collectstatic's manifest.
storages = {**settings.STORAGES, "staticfiles": {
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
override_settings(STORAGES=storages).enable()
from questions.analytics import progress

def broken():
    raise RuntimeError("the topic list failed")

progress.topics_with_published_counts = broken
# A probe first: refused with a 400 and logged as a security event, but not sent to Sentry.
assert Client().get("/?q=%00", secure=True).status_code == 400
response = Client(raise_request_exception=False).get(
    "/", secure=True, headers={"X-Request-ID": sys.argv[1]}
)
import sentry_sdk
print(
    response.status_code,
    response.headers.get("X-Request-ID"),
    "sentry-on" if sentry_sdk.get_client().is_active() else "sentry-off",
    flush=True,
)
print(response.content.decode(), flush=True)
sentry_sdk.flush(timeout=5)
"""


def run_failing_request(tmp_path: Path, **environment: str) -> tuple[str, str, str]:
    request_id = uuid.uuid4().hex
    env = site_env(DATABASE_URL=f"sqlite:///{tmp_path / 'unused.sqlite3'}", **environment)
    child = run_python("-c", CHILD, request_id, env=env, timeout=120)
    assert child.returncode == 0, child.stderr
    return request_id, child.stdout, child.stderr


def test_a_500_writes_its_traceback_and_request_id_to_stderr(tmp_path):
    request_id, stdout, stderr = run_failing_request(tmp_path)
    status, echoed, sentry = stdout.split("\n", 1)[0].split()
    assert (status, echoed, sentry) == ("500", request_id, "sentry-off")
    assert request_id in stdout  # on the page, for the resident to quote
    error_lines = [line for line in stderr.splitlines() if " ERROR " in line and "request:" in line]
    assert error_lines, stderr
    assert f"[{request_id}] django.request: Internal Server Error: /" in error_lines[0]
    assert "Traceback (most recent call last)" in stderr
    assert "RuntimeError: the topic list failed" in stderr


def test_json_logs_carry_the_traceback_and_request_id(tmp_path):
    request_id, _, stderr = run_failing_request(tmp_path, DJANGO_LOG_FORMAT="json")
    records = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    errors = [record for record in records if record["level"] == "ERROR"]
    assert [error["logger"] for error in errors] == [
        "django.security.NulInRequest",  # the probe
        "django.request",
    ], stderr
    errors = errors[1:]
    assert errors[0]["request_id"] == request_id
    assert errors[0]["logger"] == "django.request"
    assert "RuntimeError: the topic list failed" in errors[0]["exc_info"]


class _Collector(BaseHTTPRequestHandler):
    bodies: list[bytes] = []

    def do_POST(self):  # Sentry's envelope endpoint
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        encoding = self.headers.get("Content-Encoding", "")
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding == "br":
            import brotli  # sentry-sdk compresses with it when it is installed

            body = brotli.decompress(body)
        type(self).bodies.append(body)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_with_sentry_dsn_the_error_reaches_sentry_tagged_with_the_request_id(tmp_path):
    server = HTTPServer(("127.0.0.1", 0), _Collector)
    _Collector.bodies = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        dsn = f"http://publickey@127.0.0.1:{server.server_port}/1"
        request_id, _, _ = run_failing_request(tmp_path, SENTRY_DSN=dsn)
    finally:
        server.shutdown()
        server.server_close()
    events = [
        json.loads(line)
        for body in _Collector.bodies
        for line in body.decode(errors="replace").splitlines()
        if line.startswith("{") and '"exception"' in line
    ]
    assert len(events) == 1, events  # the 500; not the probe's 400
    event = events[0]
    assert event["tags"]["request_id"] == request_id
    assert event["exception"]["values"][-1]["type"] == "RuntimeError"
    assert "user" not in event or "username" not in event.get("user", {})  # no personal data


def test_without_sentry_dsn_sentry_is_not_started(tmp_path):
    _, stdout, _ = run_failing_request(tmp_path)
    assert stdout.split("\n", 1)[0].split()[2] == "sentry-off"
    _, stdout, _ = run_failing_request(tmp_path, SENTRY_DSN="http://key@127.0.0.1:9/1")
    assert stdout.split("\n", 1)[0].split()[2] == "sentry-on"  # the check can tell


def test_a_refused_request_gets_the_400_page_with_its_request_id(client):
    request_id = uuid.uuid4().hex
    response = client.get("/quizzes/?topic=%00", headers={"X-Request-ID": request_id})
    assert response.status_code == 400
    page = response.content.decode()
    assert "The site could not read that request" in page
    assert request_id in page


def test_runservers_request_lines_are_still_written():
    """Configuring the "django" logger resets its children: runserver's "django.server"
    lost its handler, and `make run` printed no request line below a warning."""
    import logging

    server = logging.getLogger("django.server")
    assert server.isEnabledFor(logging.INFO)
    assert server.handlers and not server.propagate
