"""A resident taking quizzes over HTTP exactly as a browser does, with or without JavaScript:
log in, build a quiz, answer it question by question, finish it, read the results, build the
next one. The requests, their bodies and headers are the browser's (checked against the
templates and htmx 2 as django-htmx ships it):

- **log in**: GET /accounts/login/, POST the credentials (302), GET the dashboard;
- **build**: GET /quizzes/new/ (with JavaScript the builder also GETs its live counts as the
  count is changed: ``hx-trigger="change"``; a blank form comes with its counts); POST the form
  (302), GET the first question. The builder is not boosted, so this is a page load either way;
- **an answer step**, from the pick to the next question shown:
  - without JavaScript (post/redirect/get): POST the question's form with ``go=next``
    (``go=submit`` on the last question), 302, GET the next question (the submit screen);
  - with JavaScript: picking a choice POSTs the form with ``go=save`` (htmx ``hx-post`` on the
    choices, ``hx-include="#answer-form"``: the form's token travels in the body as
    ``csrfmiddlewaretoken``; the site sets no ``X-CSRFToken`` header), answered 200 with a
    status fragment; "Save and next" is a boosted submit of the same form (``HX-Boosted``),
    answered either 200 with the next question and ``HX-Push-Url`` (one request), or 302,
    which the browser's XMLHttpRequest follows with the same headers (two requests);
- **finish**: POST /quizzes/<pk>/finish/ from the submit screen (302), GET the results.

Each request is checked as a browser would see it (status, redirect target, pushed URL, the
page's title), and each action recorded with its requests' server time and count.
"""

import html
import random
import re
import time

from bench.client import Browser, Response

TITLE = re.compile(r"<title>([^<]*)</title>")
QUESTION_TITLE = re.compile(r"Question (\d+) of (\d+)")
LETTER = re.compile(r'name="letter" value="([A-Z])"')
CONFIDENCE_CHECKED = re.compile(r'name="confidence" value="(\w+)"[^>]*\bchecked\b')
NOTE = re.compile(
    r'<textarea[^>]*\bform="answer-form"[^>]*\bname="note"[^>]*>(.*?)</textarea>', re.S
)
START_TOKEN = re.compile(r'name="start_token" value="([^"]+)"')

QUESTION_PATH = re.compile(r"^/quizzes/(\d+)/questions/(\d+)/$")

# Phases: the actions whose server time the run reports (bench/report.py).
LOGIN, BUILDER, START = "login", "builder", "start"
STEP_NOJS, STEP_JS = "answer step, no JS", "answer step, JS"
FINISH = "finish + results"

# Request labels.
QUESTION_PAGE = "question page"


class Resident:
    """One resident in one browser. ``act`` does the next thing a resident would: log in,
    build a quiz, answer the question shown, or finish; the browser's state (the page shown)
    carries over between calls, and between rounds."""

    def __init__(
        self, browser: Browser, username: str, password: str, *, quiz_size: int, seed: int = 0
    ):
        self.b = browser
        self.username, self.password = username, password
        self.quiz_size = quiz_size
        self.rng = random.Random(f"{username}:{seed}")
        self.page = ""  # "question", "submit", "results", "dashboard", or "" when lost
        self.path = ""
        self.html = ""
        self.attempt = 0
        self.position = self.count = 0
        self.steps = 0  # answer steps done, for the throughput
        self.step_seconds = 0.0  # their wall time, added up

    # --- reading a page ------------------------------------------------------------------

    def show(self, response: Response, path: str, label: str) -> None:
        """The page the browser now shows: which one, and for a question, where."""
        self.path, self.html, self.page = path, response.body, ""
        if response.status != 200:
            return
        found = TITLE.search(response.body)
        title = html.unescape(found[1]) if found else ""
        question = QUESTION_TITLE.search(title)
        if question:
            self.page = "question"
            self.position, self.count = int(question[1]), int(question[2])
            match = QUESTION_PATH.match(path)
            if match:
                self.attempt = int(match[1])
        elif title.startswith("Review your answers"):
            self.page = "submit"
        elif title.startswith("Results"):
            self.page = "results"
        elif title.startswith("My dashboard"):
            self.page = "dashboard"
        elif title.startswith("New quiz"):
            self.page = "builder"
        if not self.page:
            self.b.mismatch(label, f"{path} showed an unknown page: {title!r}")

    def expect_page(self, label: str, page: str, path: str, position: int = 0) -> None:
        """After a step or a finish: the page shown must be the one expected (for a question,
        the expected question of the same quiz, by its title)."""
        wrong = self.page != page or self.path != path
        if page == "question" and not wrong:
            wrong = self.position != position
        if wrong:
            self.b.mismatch(
                label,
                f"expected the {page} page at {path} (question {position}), "
                f"got {self.page!r} at {self.path} (question {self.position})",
            )
            self.page = ""  # lost: the next action finds its way back

    def answer_fields(self, letter: str) -> list[tuple[str, str]]:
        """What the question's form holds once ``letter`` is picked: the token, the letter,
        the confidence if one is checked, the note if the page has one (browsers send an
        empty textarea too)."""
        fields = [("csrfmiddlewaretoken", self.b.csrf), ("letter", letter)]
        confidence = CONFIDENCE_CHECKED.search(self.html)
        if confidence:
            fields.append(("confidence", confidence[1]))
        note = NOTE.search(self.html)
        if note:
            fields.append(("note", html.unescape(note[1])))
        return fields

    def pick(self) -> str:
        letters = LETTER.findall(self.html) or ["A"]
        return self.rng.choice(letters)

    # --- the actions ---------------------------------------------------------------------

    def act(self, *, js: bool) -> None:
        if not self.page:
            self.find_way_back()
        elif self.page == "question":
            self.step(js=js)
        elif self.page == "submit":
            self.finish()
        else:  # the dashboard, the results, the builder
            self.build(js=js)

    def login(self) -> None:
        start = time.perf_counter()
        b = self.b
        page = b.request("GET", "/accounts/login/", label="login page")
        sent = b.request(
            "POST",
            "/accounts/login/",
            label="login POST",
            expect=(302,),
            data=[
                ("csrfmiddlewaretoken", b.csrf),
                ("username", self.username),
                ("password", self.password),
                ("next", ""),
            ],
        )
        responses = [page, sent]
        if sent.status == 302:
            target = sent.header("Location") or "/dashboard/"
            shown = b.request("GET", target, label="dashboard")
            responses.append(shown)
            self.show(shown, target, "dashboard")
        b.tally.add_action(LOGIN, responses, 1000 * (time.perf_counter() - start))

    def use_session(self, cookie: str, sessionid: str) -> None:
        """Logged in already (a session made by bench/prepare.py): open the dashboard."""
        self.b.cookies[cookie] = sessionid
        shown = self.b.request("GET", "/dashboard/", label="dashboard")
        self.show(shown, "/dashboard/", "dashboard")

    def build(self, *, js: bool, count: int | None = None) -> None:
        """The builder page, then the start: POST the form, GET the first question."""
        count = count or self.quiz_size
        b = self.b
        start = time.perf_counter()
        builder = b.request("GET", "/quizzes/new/", label="builder page")
        responses = [builder]
        token = START_TOKEN.search(builder.body)
        if js and builder.status == 200:
            hx = {
                "HX-Request": "true",
                "HX-Trigger": "builder-choices",
                "HX-Target": "builder-summary",
                "HX-Current-URL": b.url("/quizzes/new/"),
            }
            for shown_count in (count,):  # as the count changes (the page came with its own)
                query = f"pool=all&question_count={shown_count}&mode=timed"
                responses.append(
                    b.request(
                        "GET",
                        f"/quizzes/new/counts/?{query}",
                        label="builder counts (htmx)",
                        headers=hx,
                    )
                )
        b.tally.add_action(BUILDER, responses, 1000 * (time.perf_counter() - start))
        if builder.status != 200 or not token:
            if builder.status == 200:
                b.mismatch("builder page", "no start_token in the builder's form")
            self.page = ""
            return
        start = time.perf_counter()
        sent = b.request(
            "POST",
            "/quizzes/new/",
            label="build POST",
            expect=(302,),
            data=[
                ("csrfmiddlewaretoken", b.csrf),
                ("start_token", token[1]),
                ("quick_start", ""),
                ("pool", "all"),
                ("question_count", str(count)),
                ("mode", "timed"),
            ],
        )
        responses = [sent]
        target = sent.header("Location")
        if sent.status == 302 and QUESTION_PATH.match(target):
            shown = b.request("GET", target, label=QUESTION_PAGE)
            responses.append(shown)
            self.show(shown, target, QUESTION_PAGE)
            if self.page == "question" and (self.position, self.count) != (1, count):
                b.mismatch(QUESTION_PAGE, f"a new quiz opened at {self.position} of {self.count}")
        else:
            if sent.status == 302:
                b.mismatch("build POST", f"redirected to {target!r}, not a question")
            self.page = ""
        b.tally.add_action(START, responses, 1000 * (time.perf_counter() - start))

    def next_path(self) -> tuple[str, str]:
        """Where "Save and next" leads from the question shown, and its button's value."""
        if self.position < self.count:
            return f"/quizzes/{self.attempt}/questions/{self.position + 1}/", "next"
        return f"/quizzes/{self.attempt}/submit/", "submit"

    def step(self, *, js: bool) -> None:
        """One answer step: from the pick to the next question (or the submit screen) shown."""
        b = self.b
        letter = self.pick()
        answer = f"/quizzes/{self.attempt}/questions/{self.position}/answer/"
        expected, go = self.next_path()
        page = "question" if go == "next" else "submit"
        fields = self.answer_fields(letter)
        position = self.position
        start = time.perf_counter()
        if js:
            responses = self._step_js(answer, fields, go, expected)
        else:
            responses = self._step_nojs(answer, fields, go, expected)
        if self.page:
            self.expect_page(responses[-1].label, page, expected, position + 1)
        wall = time.perf_counter() - start
        b.tally.add_action(STEP_JS if js else STEP_NOJS, responses, 1000 * wall)
        if self.page:  # a step that went wrong is not counted as done
            self.steps += 1
            self.step_seconds += wall

    def _page_label(self, go: str) -> str:
        return QUESTION_PAGE if go == "next" else "submit page"

    def _step_nojs(self, answer: str, fields: list, go: str, expected: str) -> list[Response]:
        b = self.b
        sent = b.request(
            "POST", answer, label="answer POST, no JS", expect=(302,), data=[*fields, ("go", go)]
        )
        if sent.status != 302:
            self.page = ""
            return [sent]
        target = sent.header("Location")
        if target != expected:
            b.mismatch("answer POST, no JS", f"redirected to {target!r}, not {expected}")
        label = self._page_label(go)
        shown = b.request("GET", target or expected, label=label)
        self.show(shown, target or expected, label)
        return [sent, shown]

    def _step_js(self, answer: str, fields: list, go: str, expected: str) -> list[Response]:
        b = self.b
        hx = {"HX-Request": "true", "HX-Current-URL": b.url(self.path)}
        saved = b.request(
            "POST",
            answer,
            label="answer save (htmx)",
            headers={**hx, "HX-Target": "save-status"},
            data=[*fields, ("go", "save")],
        )
        if saved.status != 200:
            self.page = ""
            return [saved]
        if "saved" not in saved.body or "Not saved" in saved.body:
            b.mismatch("answer save (htmx)", f"status fragment {saved.body[:120]!r}")
        boosted = {**hx, "HX-Boosted": "true", "HX-Trigger": "answer-form"}
        sent = b.request(
            "POST",
            answer,
            label="answer POST, boosted",
            expect=(200, 302),
            headers=boosted,
            data=[*fields, ("go", go)],
        )
        if sent.status == 200:  # one request: the next page, its address pushed
            pushed = sent.header("HX-Push-Url")
            if pushed != expected:
                b.mismatch("answer POST, boosted", f"HX-Push-Url {pushed!r}, not {expected}")
            self.show(sent, expected, "answer POST, boosted")
            return [saved, sent]
        if sent.status != 302:
            self.page = ""
            return [saved, sent]
        # XMLHttpRequest follows the redirect itself, with the request's own headers.
        target = sent.header("Location")
        if target != expected:
            b.mismatch("answer POST, boosted", f"redirected to {target!r}, not {expected}")
        label = f"{self._page_label(go)} (htmx, after the redirect)"
        shown = b.request("GET", target or expected, label=label, headers=boosted)
        pushed = shown.header("HX-Push-Url")  # htmx takes it over the XHR's final URL
        if shown.status == 200 and pushed and pushed != expected:
            b.mismatch(label, f"HX-Push-Url {pushed!r}, not {expected}")
        self.show(shown, target or expected, label)
        return [saved, sent, shown]

    def finish(self) -> None:
        b = self.b
        start = time.perf_counter()
        results = f"/quizzes/{self.attempt}/results/"
        sent = b.request(
            "POST",
            f"/quizzes/{self.attempt}/finish/",
            label="finish POST",
            expect=(302,),
            data=[("csrfmiddlewaretoken", b.csrf)],
        )
        responses = [sent]
        if sent.status == 302:
            target = sent.header("Location")
            if target != results:
                b.mismatch("finish POST", f"redirected to {target!r}, not {results}")
            shown = b.request("GET", target or results, label="results page")
            responses.append(shown)
            self.show(shown, target or results, "results page")
            if self.page:
                self.expect_page("results page", "results", results)
        else:
            self.page = ""
        b.tally.add_action(FINISH, responses, 1000 * (time.perf_counter() - start))

    def find_way_back(self) -> None:
        """After an error: back to the quiz in progress (its resume link), or to the builder."""
        if self.attempt:
            path = f"/quizzes/{self.attempt}/"
            sent = self.b.request("GET", path, label="resume", expect=(302,))
            target = sent.header("Location")
            if sent.status == 302 and target:
                self.show(self.b.request("GET", target, label="resume page"), target, "resume")
                return
        self.page = "dashboard"  # the next action builds a quiz
