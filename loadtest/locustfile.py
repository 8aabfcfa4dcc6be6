"""Residents taking timed quizzes, every answer journaled for run.py's verification.

Each Locust user is one resident (from run.py's accounts file): it logs in through the form or
uses the session it was given, builds a timed quiz (sending the form's start token, so a retried
start resumes the same quiz), answers each question (random letters among
those shown, now and then going back with go=previous and changing the earlier answer, now and
then resubmitting the same letter), finishes, opens the results and starts another quiz.

The journal (LOADTEST_OUT_DIR/journal-<pid>.jsonl, one JSON object a line, flushed at once):
- ``send``: an answer POST is about to leave (attempt, pos, letter, go, try, seq);
- ``ack``: its response was the 302 to the expected question with no error message: the
  server's acknowledgement that the answer is saved;
- ``refused``: a 302 elsewhere or with an error message (e.g. the attempt is finished);
- ``error``: a 5xx or a connection error: the same data is sent again, up to 3 more times;
- ``rejected``: another status (403, 404...): not retried;
- ``server_error``: any request that got a 5xx or no response at all (for the fault windows).
``seq`` orders one process's events; an attempt is only ever used by one user of one process.
Locust's final statistics and the responses counted by status go to summary-<pid>.json.
"""

import itertools
import json
import os
import random
import re
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

from locust import HttpUser, between, events, task

OUT_DIR = Path(os.environ.get("LOADTEST_OUT_DIR", "."))
ACCOUNTS_FILE = os.environ.get("LOADTEST_ACCOUNTS_FILE", "")
QUESTIONS_PER_QUIZ = int(os.environ.get("LOADTEST_QUESTIONS", "10"))
MAX_RETRIES = 3
# Chances, per question shown: go back and change the previous answer; resubmit the same
# letter on a question already answered (idempotent on the server).
GO_BACK = 0.15
MAX_GO_BACK_PER_QUIZ = 2
SAME_LETTER = 0.3

QUESTION_URL = re.compile(r"^/quizzes/(\d+)/questions/(\d+)/$")
LETTER_INPUT = re.compile(r'name="letter" value="([A-Z])"')
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
START_TOKEN_INPUT = re.compile(r'name="start_token" value="([^"]+)"')

_seq = itertools.count(1)
_status_counts: Counter = Counter()
_journal = None
_accounts = None


def record(ev: str, **fields) -> None:
    global _journal
    if _journal is None:
        _journal = open(OUT_DIR / f"journal-{os.getpid()}.jsonl", "a", buffering=1)  # noqa: SIM115
    fields.update(ev=ev, t=time.time(), seq=next(_seq))
    _journal.write(json.dumps(fields) + "\n")


def accounts() -> dict:
    global _accounts
    if _accounts is None:
        _accounts = json.loads(Path(ACCOUNTS_FILE).read_text())
    return _accounts


@events.test_start.add_listener
def _started(environment, **kwargs):
    (OUT_DIR / f"started-{os.getpid()}.json").write_text(json.dumps({"t": time.time()}))


def _entry(entry) -> dict:
    return {
        "requests": entry.num_requests,
        "failures": entry.num_failures,
        "rps": round(entry.total_rps, 1),
        "median_ms": entry.median_response_time,
        "p95_ms": entry.get_response_time_percentile(0.95),
        "max_ms": round(entry.max_response_time or 0),
    }


def _write_summary(environment, **kwargs):
    """Final Locust statistics and status counts (Locust's CSV may lag the last second)."""
    stats = environment.stats
    summary = {
        **_entry(stats.total),
        "by_status": dict(_status_counts),
        "errors": {f"{e.method} {e.name}: {e.error}": e.occurrences for e in stats.errors.values()},
        "endpoints": {f"{method} {name}": _entry(e) for (name, method), e in stats.entries.items()},
    }
    (OUT_DIR / f"summary-{os.getpid()}.json").write_text(json.dumps(summary))


events.test_stop.add_listener(_write_summary)
events.quitting.add_listener(_write_summary)


@events.request.add_listener
def _count(request_type, name, response=None, exception=None, **kwargs):
    status = getattr(response, "status_code", 0) or 0
    # With catch_response, ``exception`` is the failure we marked; the cause is response.error.
    exception = getattr(response, "error", None) or exception
    if status:
        _status_counts[str(status)] += 1
    else:
        _status_counts[f"no response ({type(exception).__name__})"] += 1
    if status == 0 or status >= 500:
        record(
            "server_error",
            status=status,
            method=request_type,
            name=name,
            error=repr(exception)[:300] if exception else "",
        )


def _path(response) -> str:
    return urlsplit(response.headers.get("Location", "")).path


def _server_failed(response) -> bool:
    return response.status_code == 0 or response.status_code >= 500


class Resident(HttpUser):
    wait_time = between(0.5, 2.0)  # between quizzes
    connection_timeout = 10.0
    network_timeout = 60.0
    _numbers = itertools.count()

    def on_start(self):
        data = accounts()
        self.account = data["accounts"][next(Resident._numbers) % len(data["accounts"])]
        self.csrf = ""
        self.logged_in = False
        if self.account["login"] == "session":
            self.client.cookies.set(data["session_cookie_name"], self.account["sessionid"])
            self.logged_in = True

    # --- plumbing -----------------------------------------------------------------------------

    def _send(self, method: str, url: str, name: str, data=None):
        """One request, tried again (same data) on a 5xx or no response; redirects not
        followed. Returns the last response."""
        for attempt in range(1 + MAX_RETRIES):
            if data is not None:
                data = {**data, "csrfmiddlewaretoken": self._csrf()}
            response = self.client.request(method, url, name=name, data=data, allow_redirects=False)
            if not _server_failed(response):
                self._remember_csrf(response)
                return response
            time.sleep(0.5 * (attempt + 1))
        return response

    def _remember_csrf(self, response) -> None:
        if response.status_code == 200 and "csrfmiddlewaretoken" in response.text:
            match = CSRF_INPUT.search(response.text)
            if match:
                self.csrf = match.group(1)

    def _csrf(self) -> str:
        return self.csrf or self.client.cookies.get("csrftoken", "")

    def _login(self) -> bool:
        response = self._send("GET", "/accounts/login/", "/accounts/login/")
        if response.status_code != 200:
            return False
        response = self._send(
            "POST",
            "/accounts/login/",
            "/accounts/login/",
            data={
                "username": self.account["username"],
                "password": self.account["password"],
                "next": "/dashboard/",
            },
        )
        # Logging in rotates the CSRF token: the next form's hidden input has the new one.
        self.csrf = ""
        self.logged_in = response.status_code == 302 and _path(response) == "/dashboard/"
        return self.logged_in

    # --- the resident -------------------------------------------------------------------------

    @task
    def take_quiz(self):
        if not self.logged_in and not self._login():
            return
        response = self._send("GET", "/quizzes/new/", "/quizzes/new/")
        if response.status_code == 302 and _path(response).startswith("/accounts/login/"):
            self.logged_in = False
            return
        if response.status_code != 200:
            return
        token = START_TOKEN_INPUT.search(response.text)
        token = token.group(1) if token else ""
        form = {"pool": "all", "question_count": QUESTIONS_PER_QUIZ, "mode": "timed"}
        response = self._send(
            "POST", "/quizzes/new/", "/quizzes/new/", data=form | {"start_token": token}
        )
        match = QUESTION_URL.match(_path(response)) if response.status_code == 302 else None
        if not match:
            return
        attempt = int(match.group(1))
        record("attempt_start", attempt=attempt, user=self.account["username"], token=token)
        self._answer_all(attempt)
        self._send("POST", f"/quizzes/{attempt}/finish/", "/quizzes/[id]/finish/", data={})
        self._send("GET", f"/quizzes/{attempt}/results/", "/quizzes/[id]/results/")

    def _answer_all(self, attempt: int) -> None:
        answered: dict[int, str] = {}
        pos, went_back, came_back_to = 1, 0, None
        for _ in range(3 * QUESTIONS_PER_QUIZ):
            response = self._send(
                "GET", f"/quizzes/{attempt}/questions/{pos}/", "/quizzes/[id]/questions/[n]/"
            )
            letters = LETTER_INPUT.findall(response.text) if response.status_code == 200 else []
            if not letters:
                return  # finished, redirected, or the server failed even after retries
            time.sleep(random.uniform(0.2, 1.0))  # reading the question
            earlier = answered.get(pos)
            if came_back_to == pos and earlier and len(letters) > 1:
                letter = random.choice([x for x in letters if x != earlier])  # change it
            elif earlier and random.random() < SAME_LETTER:
                letter = earlier
            else:
                letter = random.choice(letters)
            if pos > 1 and went_back < MAX_GO_BACK_PER_QUIZ and random.random() < GO_BACK:
                go, target = "previous", pos - 1
                went_back += 1
            elif pos < QUESTIONS_PER_QUIZ:
                go, target = "next", pos + 1
            else:
                go, target = "stay", pos
            outcome = self._answer(attempt, pos, letter, go, target)
            if outcome == "ack":
                answered[pos] = letter
            elif outcome == "finished":
                return
            came_back_to = target if go == "previous" else None
            if go == "stay":
                return
            pos = target

    def _answer(self, attempt: int, pos: int, letter: str, go: str, target: int) -> str:
        url = f"/quizzes/{attempt}/questions/{pos}/answer/"
        expected = f"/quizzes/{attempt}/questions/{target}/"
        fields = {"attempt": attempt, "pos": pos, "letter": letter, "go": go}
        for try_number in range(1, 2 + MAX_RETRIES):
            record("send", try_no=try_number, **fields)
            with self.client.post(
                url,
                data={"letter": letter, "go": go, "csrfmiddlewaretoken": self._csrf()},
                name="/quizzes/[id]/questions/[n]/answer/",
                allow_redirects=False,
                catch_response=True,
            ) as response:
                status = response.status_code
                if status == 302:
                    location = _path(response)
                    if location == expected and not response.cookies.get("messages"):
                        response.success()
                        record("ack", try_no=try_number, **fields)
                        return "ack"
                    response.failure(f"answer refused: redirected to {location}")
                    record("refused", try_no=try_number, location=location, **fields)
                    return "finished" if location.endswith("/results/") else "refused"
                if _server_failed(response):
                    record("error", try_no=try_number, status=status, **fields)
                    response.failure(f"answer not saved: status {status}")
                else:
                    record("rejected", try_no=try_number, status=status, **fields)
                    response.failure(f"answer rejected: status {status}")
                    return "rejected"
            if try_number <= MAX_RETRIES:
                time.sleep(0.5 * try_number)
        return "gave_up"
