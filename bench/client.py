"""The benchmark's HTTP client, a browser reduced to what the server sees: one request a
connection (gunicorn's sync workers close each one), a cookie jar, the headers a browser or
htmx sends, the ``Server-Timing`` header read back (bench/middleware.py), and a record of what
went wrong.

Two kinds of trouble are kept apart:
- an **error** is any response outside 2xx/3xx and any connection error: the site failed;
- a **mismatch** is a 2xx/3xx that is not what a browser expected at that point (another
  status, another page, a wrong ``HX-Push-Url``): the harness or the site is confused.
Both make the run's exit status 1; the figures around them are suspect.
"""

import fnmatch
import http.client
import math
import re
import threading
import time
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from urllib.parse import urlencode

TIMING = re.compile(r'app;dur=([\d.]+), db;dur=([\d.]+);desc="(\d+) queries"')
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@dataclass
class Response:
    status: int  # 0: no response (a connection error)
    body: str
    headers: dict[str, str]  # lower-case names; Set-Cookie is read into the jar
    server_ms: float  # nan without a Server-Timing header
    queries: int  # -1 without it
    wall_ms: float
    error: str = ""
    label: str = ""  # what the request was, as the run reports it

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")


@dataclass
class Tally:
    """What one browser measured in one round: each request's server time and queries by
    label, and each action's (a group of requests: a step, a start...) by phase."""

    requests: dict[str, list[tuple[float, int]]] = field(default_factory=dict)
    # phase -> (server ms, queries, requests, wall ms) for each action
    actions: dict[str, list[tuple[float, int, int, float]]] = field(default_factory=dict)

    def add_request(self, label: str, response: Response) -> None:
        if response.queries >= 0:
            self.requests.setdefault(label, []).append((response.server_ms, response.queries))

    def add_action(self, phase: str, responses: list[Response], wall_ms: float) -> None:
        timed = [r for r in responses if r.queries >= 0]
        self.actions.setdefault(phase, []).append(
            (
                sum(r.server_ms for r in timed),
                sum(r.queries for r in timed),
                len(responses),
                wall_ms,
            )
        )

    def merge(self, other: "Tally") -> None:
        for label, requests in other.requests.items():
            self.requests.setdefault(label, []).extend(requests)
        for phase, actions in other.actions.items():
            self.actions.setdefault(phase, []).extend(actions)


class Problems:
    """Errors and mismatches, counted by scope (database, workers, clients, target) and label,
    with the first of each kept as an example. Shared by every client thread."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.found: dict[str, dict[str, dict]] = {"errors": {}, "mismatches": {}}

    def add(self, kind: str, scope: str, label: str, what: str) -> None:
        with self.lock:
            entry = (
                self.found[kind]
                .setdefault(scope, {})
                .setdefault(label, {"count": 0, "first": what})
            )
            entry["count"] += 1

    def count(self, kind: str, pattern: str = "*") -> int:
        """How many in the scopes matching ``pattern`` (fnmatch: "sqlite/*/8c/*")."""
        with self.lock:
            return sum(
                entry["count"]
                for scope, labels in self.found[kind].items()
                if fnmatch.fnmatchcase(scope, pattern)
                for entry in labels.values()
            )

    def first(self, kind: str, pattern: str = "*") -> str:
        with self.lock:
            for scope, labels in self.found[kind].items():
                if fnmatch.fnmatchcase(scope, pattern):
                    for label, entry in labels.items():
                        return f"{scope}, {label}: {entry['first']}"
        return ""


def send(
    port: int, method: str, path: str, headers: dict[str, str], body: bytes = b""
) -> tuple[Response, list[str]]:
    """One request on a new connection; the response and its Set-Cookie headers."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    start = time.perf_counter()
    try:
        conn.request(method, path, body=body or None, headers=headers)
        raw = conn.getresponse()
        text = raw.read().decode("utf-8", "replace")
    except OSError as exc:  # refused, reset, timed out: no response
        wall = 1000 * (time.perf_counter() - start)
        return Response(0, "", {}, math.nan, -1, wall, error=repr(exc)), []
    finally:
        conn.close()
    wall = 1000 * (time.perf_counter() - start)
    cookies = raw.headers.get_all("Set-Cookie") or []
    names = {k.lower(): v for k, v in raw.getheaders() if k.lower() != "set-cookie"}
    match = TIMING.search(names.get("server-timing", ""))
    server_ms, queries = (float(match[1]), int(match[3])) if match else (math.nan, -1)
    return Response(raw.status, text, names, server_ms, queries, wall), cookies


class Browser:
    """One browser: its cookies, the form token of the last page it showed, and where its
    requests are recorded (``scope`` and ``tally``, set by whoever runs it)."""

    def __init__(self, port: int, problems: Problems):
        self.port = port
        self.origin = f"http://127.0.0.1:{port}"
        self.problems = problems
        self.cookies: dict[str, str] = {}
        self.csrf = ""  # the csrfmiddlewaretoken of the last page with a form
        self.scope = ""
        self.tally = Tally()
        self._lock = threading.Lock()  # double submits send from two threads at once

    def url(self, path: str) -> str:
        return self.origin + path

    def _store_cookies(self, headers: list[str]) -> None:
        with self._lock:
            for header in headers:
                jar = SimpleCookie()
                jar.load(header)
                for name, morsel in jar.items():
                    gone = morsel["max-age"] == "0" or "1970" in morsel["expires"]
                    if gone or not morsel.value:
                        self.cookies.pop(name, None)
                    else:
                        self.cookies[name] = morsel.value

    def request(
        self,
        method: str,
        path: str,
        *,
        label: str,
        expect: tuple[int, ...] = (200,),
        data: list[tuple[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        """Send, remember the cookies, record the timing under ``label`` and any error or
        unexpected status under ``scope``."""
        sent = {"Host": f"127.0.0.1:{self.port}", **(headers or {})}
        with self._lock:
            if self.cookies:
                sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = b""
        if method == "POST":
            # A browser sends its origin with every POST; Django's CSRF check compares it.
            sent["Origin"] = self.origin
            sent["Content-Type"] = "application/x-www-form-urlencoded"
            body = urlencode(data or []).encode()
        response, cookies = send(self.port, method, path, sent, body)
        response.label = label
        self._store_cookies(cookies)
        self.tally.add_request(label, response)
        if response.status == 0:
            self.problems.add("errors", self.scope, label, f"{method} {path}: {response.error}")
        elif response.status >= 400:
            self.problems.add("errors", self.scope, label, f"{method} {path} -> {response.status}")
        elif response.status not in expect:
            self.mismatch(label, f"{method} {path} -> {response.status}, expected {expect}")
        if response.status == 200:
            match = CSRF_INPUT.search(response.body)
            if match:
                self.csrf = match[1]
        return response

    def mismatch(self, label: str, what: str) -> None:
        self.problems.add("mismatches", self.scope, label, what)

    def take_tally(self) -> Tally:
        tally, self.tally = self.tally, Tally()
        return tally
