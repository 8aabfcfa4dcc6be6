"""Double submits: a resident whose browser sends every request of a quiz twice at once (a
double click, a retry on a slow network). Every answer POST goes twice (without JavaScript:
the form with ``go=next``; with it: the save on the pick, then the boosted "Save and next"),
then the finish twice; both copies must be answered without an error, and the quiz stored as
if each had been sent once (bench/verify.py checks the database).
"""

import threading

from bench.client import Browser, Response
from bench.flow import Resident


def twice(
    b: Browser, path: str, label: str, expect: tuple[int, ...], headers: dict, data: list
) -> list[Response]:
    """The same POST from two threads released together."""
    barrier = threading.Barrier(2)
    responses: list[Response] = []

    def send() -> None:
        barrier.wait()
        responses.append(
            b.request("POST", path, label=label, expect=expect, headers=headers, data=data)
        )

    threads = [threading.Thread(target=send) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return responses


def take_quiz_twice_over(r: Resident, *, questions: int, js: bool) -> dict:
    """Build a quiz of ``questions`` as ``r`` (logged in), answer and finish it sending
    everything twice. Returns the quiz and the letters sent, for bench/verify.py."""
    b = r.b
    r.attempt = 0  # so that a start that failed is not taken for the last quiz
    r.build(js=False, count=questions)
    sent: dict[str, str] = {}
    while r.page == "question":
        letter = r.pick()
        fields = r.answer_fields(letter)
        expected, go = r.next_path()
        answer = f"/quizzes/{r.attempt}/questions/{r.position}/answer/"
        hx = {"HX-Request": "true", "HX-Current-URL": b.url(r.path)}
        headers: dict[str, str] = {}
        expect: tuple[int, ...] = (302,)
        if js:
            save, target = [*fields, ("go", "save")], {**hx, "HX-Target": "save-status"}
            twice(b, answer, "double answer save (htmx)", (200,), target, save)
            headers, expect = {**hx, "HX-Boosted": "true", "HX-Trigger": "answer-form"}, (200, 302)
        twice(b, answer, "double answer POST", expect, headers, [*fields, ("go", go)])
        sent[str(r.position)] = letter
        shown = b.request("GET", expected, label="double next page")
        r.show(shown, expected, "double next page")
    finished = []
    if r.page == "submit":
        finish = f"/quizzes/{r.attempt}/finish/"
        token = [("csrfmiddlewaretoken", b.csrf)]
        finished = twice(b, finish, "double finish POST", (302,), {}, token)
        results = f"/quizzes/{r.attempt}/results/"
        r.show(b.request("GET", results, label="double results page"), results, "results")
    else:
        b.mismatch("double submits", f"the quiz never reached its submit screen ({r.path})")
    return {
        "attempt": r.attempt,
        "letters": sent,
        "js": js,
        "finish_statuses": sorted(response.status for response in finished),
    }
