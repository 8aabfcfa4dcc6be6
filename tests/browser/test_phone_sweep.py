"""Every page of the site on a 375 px phone: nothing scrolls sideways.

The pages are every named URL of the site outside the admin (which is desktop-first), taken
from the URL resolver: each is either in PAGES, visited by the roles that use it with real
objects behind it, or in EXEMPT with the reason it is not a page. A new URL in neither fails
tests/unit/test_phone_sweep_pages.py. Wide tables scroll inside their own box
(``.table-responsive``), which does not widen the page.

Set PHONE_SWEEP_SCREENSHOTS to a directory to keep a full-page screenshot of each page."""

import datetime
import os
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import pytest
from django.contrib.auth.models import Group
from django.contrib.auth.tokens import default_token_generator
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from questions.models import (
    CHOICE_LETTERS,
    Assignment,
    Attempt,
    AttemptItem,
    Citation,
    Cohort,
    ErrorReport,
    Question,
    ResidentProfile,
    StatusChange,
)
from questions.notifications import unsubscribe
from questions.people.roles import EDUCATORS_GROUP
from questions.quizzes import assignments, engine, starting
from questions.quizzes import simulation as simulations
from tests.browser.conftest import log_in
from tests.factories import (
    PublishableQuestionFactory,
    ReferenceFactory,
    TopicFactory,
    UserFactory,
    finished_attempts,
)

pytestmark = pytest.mark.django_db(transaction=True)

PHONE_WIDTH = 375
PASSWORD = "a-long-test-password"  # the factories' password
ROLES = ("anon", "resident", "educator")
SIGNED_IN = ("resident", "educator")
EVERYONE = ROLES


class Page(NamedTuple):
    name: str  # the URL's name
    roles: tuple[str, ...]  # who opens it in the sweep
    args: Callable[[dict], list] = lambda w: []
    label: str = ""  # tells apart two visits of the same URL


# Text that does not break by itself: a URL and a long compound, as authors paste them.
LONG_URL = (
    "https://www.ncbi.nlm.nih.gov/pmc/articles/PMC5944629/figure/F3/"
    "?report=objectonly&section=superior-cluneal-nerve-entrapment-at-the-iliac-crest"
)
LONG_WORD = "thoracolumbar-fascia-osteofibrous-tunnel-superior-cluneal-neuropathy-syndrome"


def _reset_link(w) -> list[str]:
    user = w["resident"]
    return [urlsafe_base64_encode(force_bytes(user.pk)), default_token_generator.make_token(user)]


def _notices(w) -> list:
    """No arguments; first gives each signed-in role a read and an unread notification, one
    with the long URL and word in it."""
    for role in SIGNED_IN:
        for n, read_at in enumerate([None, timezone.now()]):
            w[role].notifications.get_or_create(
                key=f"sweep:{n}",
                defaults={"kind": "report_answered", "title": f"Your report on {LONG_WORD}",
                          "body": f"Fixed: see {LONG_URL}", "url": "/reports/",
                          "created_at": timezone.now(), "read_at": read_at},
            )  # fmt: skip
    return []


PAGES = [
    Page("login", ("anon",)),
    Page("password_reset", ("anon",)),
    Page("password_reset_done", ("anon",)),
    # A good link leads on to the new-password form; a bad one says it is spent.
    Page("password_reset_confirm", ("anon",), _reset_link, "good link"),
    Page("password_reset_confirm", ("anon",), lambda w: [_reset_link(w)[0], "1-bad"], "bad"),
    Page("password_reset_complete", ("anon",)),
    Page("password_change", SIGNED_IN),
    Page("password_change_done", SIGNED_IN),
    Page("questions:home", EVERYONE),
    Page("questions:reference_list", EVERYONE),
    Page("questions:signup", ("anon",)),
    Page("questions:profile", SIGNED_IN),
    Page("questions:dashboard", SIGNED_IN),
    Page("questions:attempt_list", ("resident",)),
    Page("questions:assignment_start", ("resident",), lambda w: [w["assignment"].pk]),
    Page("questions:attempt_new", ("resident",)),
    # A practice quiz in progress: the confirmation before discarding it.
    Page("questions:attempt_discard", ("resident",), lambda w: [w["tutor"].pk]),
    Page("questions:error_report_list", ("resident",)),
    Page("questions:notification_list", SIGNED_IN, _notices),
    # The unsubscribe link of an e-mail, opened without signing in.
    Page(
        "questions:notification_unsubscribe",
        ("anon",),
        lambda w: [unsubscribe.token_for(w["resident"])],
    ),  # fmt: skip
    # Redirects to the quiz's current question (or to its results).
    Page("questions:attempt_detail", ("resident",), lambda w: [w["timed"].pk]),
    Page("questions:attempt_question", ("resident",), lambda w: [w["timed"].pk, 1], "timed"),
    # Answered in tutor mode: the explanation is on the page.
    Page("questions:attempt_question", ("resident",), lambda w: [w["tutor"].pk, 1], "tutor"),
    # The submit screen: every question's state before ending the quiz.
    Page("questions:attempt_submit", ("resident",), lambda w: [w["timed"].pk]),
    Page("questions:attempt_results", ("resident",), lambda w: [w["finished"].pk]),
    Page("questions:attempt_results_all", ("resident",), lambda w: [w["finished"].pk]),
    Page(
        "questions:attempt_result_item",
        ("resident",),
        lambda w: [w["finished"].pk, w["long_item"].position],
    ),
    Page("questions:note_list", ("resident",)),
    Page("questions:simulation_new", ("resident",)),
    # An exam simulation at its first block's start screen, on the break between its
    # blocks, and over (its summary).
    Page("questions:simulation_detail", ("resident",), lambda w: [w["simulation"].pk], "start"),
    Page("questions:simulation_detail", ("resident",), lambda w: [w["on_break"].pk], "break"),
    Page("questions:simulation_detail", ("resident",), lambda w: [w["simulated"].pk], "over"),
    Page("questions:question_preview", ("educator",), lambda w: [w["long_question"].pk]),
    Page("questions:item_analysis", ("educator",)),
    Page("questions:cohort_list", ("educator",)),
    Page("questions:cohort_detail", ("educator",), lambda w: [w["cohort"].pk]),
    Page(
        "questions:cohort_resident",
        ("educator",),
        lambda w: [w["cohort"].pk, w["resident"].pk],
    ),
    Page(
        "questions:cohort_resident_attempt",
        ("educator",),
        lambda w: [w["cohort"].pk, w["resident"].pk, w["finished"].pk],
    ),
    Page("questions:assignment_new", ("educator",), lambda w: [w["cohort"].pk]),
    Page(
        "questions:assignment_detail",
        ("educator",),
        lambda w: [w["cohort"].pk, w["assignment"].pk],
    ),
    # Controlling it: the edit form, the preview, each confirmation, one resident's
    # extension, the cohort's accommodations.
    *(
        Page(
            f"questions:assignment_{name}",
            ("educator",),
            lambda w: [w["cohort"].pk, w["assignment"].pk],
        )
        for name in ("edit", "preview", "close", "release", "archive", "unarchive")
    ),
    Page(
        "questions:assignment_resident",
        ("educator",),
        lambda w: [w["cohort"].pk, w["assignment"].pk, w["resident"].pk],
    ),
    Page("questions:cohort_accommodations", ("educator",), lambda w: [w["cohort"].pk]),
]

# Named URLs that are not pages to look at, and why.
POST_ONLY = "POST only: answers with a redirect, never a page of its own"
EXEMPT = {
    "healthz": "JSON for the load balancer",
    "questions:diagram_svg": "an SVG drawing, shown inside the pages that are measured",
    "logout": POST_ONLY,
    "questions:attempt_answer": POST_ONLY,
    "questions:item_note": POST_ONLY,
    "questions:simulation_start_block": POST_ONLY,
    "questions:simulation_end_break": POST_ONLY,
    "questions:attempt_finish": POST_ONLY,
    "questions:error_report_new": POST_ONLY,
    "questions:item_miss_type": POST_ONLY,
    "questions:cohort_join": POST_ONLY,
    "questions:notification_read": POST_ONLY,
    "questions:notification_open": POST_ONLY,
    "questions:notification_read_all": POST_ONLY,
    "questions:flashcards": "a file download (Anki .apkg or CSV)",
    "questions:attempt_counts": "the quiz builder's live counts, a fragment swapped into it",
    "questions:cohort_export": "a file download (CSV)",
    "questions:assignment_monitor": "the assignment page's monitor, a fragment it polls",
}


# --- The world ---------------------------------------------------------------------------


def _long_question(topics, reference) -> Question:
    """A published question whose stem, lead-in, choices and explanation hold a long URL
    and a long unbroken word, citing a reference known by its long URL only."""
    question = PublishableQuestionFactory(key="long-words")
    question.topics.set(topics)
    question.stem = (
        f"A 47-year-old woman has pain over the iliac crest. Her referral letter cites "
        f"{LONG_URL} and calls it {LONG_WORD}."
    )
    question.lead_in = f"Which nerve is entrapped in {LONG_WORD}?"
    cited = question.citations.get().reference.key
    question.explanation = (
        f"The superior cluneal nerves pass through an osteofibrous tunnel [@{cited}]. "
        f"The figure at {LONG_URL} shows it [@{reference.key}]."
    )
    question.save()
    StatusChange.objects.create(
        question=question,
        from_status=Question.Status.IN_REVIEW,
        to_status=Question.Status.PUBLISHED,
        changed_at=timezone.now(),
        note=f"Checked against {LONG_URL}",
    )
    Citation.objects.create(question=question, reference=reference, locator="Figure 3", order=2)
    choice = question.choices.get(letter="A")
    choice.text = f"The {LONG_WORD} branch"
    choice.rationale = f"See {LONG_URL}."
    choice.save()
    return question


def _answer_all(attempt: Attempt, *, wrong: set[int]) -> None:
    """Answer every item, the positions in ``wrong`` wrongly, with a confidence each."""
    confidences = [c for c in AttemptItem.Confidence.values if c]
    for item in attempt.items.order_by("position"):
        is_wrong = item.position in wrong
        letter = next(c["letter"] for c in item.shown["choices"] if c["is_correct"] != is_wrong)
        engine.answer(
            attempt=attempt,
            position=item.position,
            letter=letter,
            confidence=confidences[item.position % len(confidences)],
        )


def _simulations(resident) -> dict:
    """Exam simulations of 2 blocks of 5: not started, on the break, and over."""

    def simulation():
        return simulations.create_simulation(
            user=resident, block_count=2, block_size=5, break_seconds=10 * 60
        )

    def finish_next_block(of):
        block = simulations.start_block(simulation=of, user=resident)
        _answer_all(block, wrong={1})
        engine.finish_attempt(attempt=block)

    on_break, simulated = simulation(), simulation()
    finish_next_block(on_break)
    finish_next_block(simulated)
    finish_next_block(simulated)
    return {"simulation": simulation(), "on_break": on_break, "simulated": simulated}


def build_world() -> dict:
    now = timezone.now()
    topics = [
        TopicFactory(name=name)
        for name in (
            "Superior cluneal nerves: anatomy and variants",
            "Middle cluneal nerves and the long posterior sacroiliac ligament",
            "Inferior cluneal nerves and the posterior femoral cutaneous nerve",
            "Entrapment syndromes and their diagnosis",
            "Ultrasound-guided cluneal nerve blocks",
            "Neurolysis, decompression and outcomes",
        )
    ]
    reference = ReferenceFactory(
        kind="web", doi="", pmid="", url=LONG_URL, title=f"Figure 3: {LONG_WORD}"
    )
    questions = PublishableQuestionFactory.create_batch(11)
    for index, question in enumerate(questions):
        question.topics.set([topics[index % len(topics)], topics[(index + 2) % len(topics)]])
    long_question = _long_question(topics[:3], reference)
    questions.append(long_question)

    educator = UserFactory(
        username="educator", first_name="Priya", last_name="Raghunathan", is_staff=True
    )
    educator.groups.add(Group.objects.get(name=EDUCATORS_GROUP))
    resident = UserFactory(
        username="maria.gonzalez-hernandez@example.org",
        first_name="María José",
        last_name="González-Hernández",
    )
    ResidentProfile.objects.create(user=resident, program="Anesthesiology", training_year=2)
    peers = [UserFactory(username=f"resident-{n}") for n in range(1, 7)]

    cohort = Cohort.objects.create(
        name="PGY-2 Anesthesiology 2026", program="Regional anesthesia and acute pain"
    )
    cohort.residents.add(resident, *peers)
    cohort.educators.add(educator)

    # The resident: a finished practice quiz with misses (tagged), a flag and a note; the
    # assignment in progress (timed); a tutor quiz with its first question answered.
    config = starting.QuizConfig(question_count=len(questions))
    finished = starting.start_attempt(user=resident, config=config)
    _answer_all(finished, wrong={2, 5})
    engine.set_flag(attempt=finished, position=3, flagged=True)
    finished = engine.finish_attempt(attempt=finished)
    for position in (2, 5):
        engine.tag_miss(attempt=finished, position=position, miss_type="knowledge")
    long_item = finished.items.get(question=long_question)
    long_item.note = f"Remember {LONG_WORD}; the figure is at {LONG_URL}."
    long_item.note_updated_at = now
    long_item.save(update_fields=["note", "note_updated_at"])
    report = ErrorReport.objects.create(
        question=long_question,
        attempt_item=long_item,
        reporter=resident,
        kind=ErrorReport.Kind.UNCLEAR,
        comment=f"The stem links to {LONG_URL}, which no longer opens.",
    )
    report.status = ErrorReport.Status.ACCEPTED
    report.reply = f"Thank you: the link is now {LONG_URL}."
    report.save()

    tutor = starting.start_attempt(
        user=resident,
        config=starting.QuizConfig(question_count=len(questions), mode=Attempt.Mode.TUTOR),
    )
    position = tutor.items.get(question=long_question).position
    if position != 1:  # the long question first, answered: its explanation is shown
        tutor.items.filter(position=1).update(position=0)
        tutor.items.filter(position=position).update(position=1)
        tutor.items.filter(position=0).update(position=position)
    engine.answer(attempt=tutor, position=1, letter="A")

    sims = _simulations(resident)

    # Then the assignment (set after the practice quizzes and simulations: it holds its
    # questions back from new ones).
    assignment = assignments.create_assignment(
        cohort=cohort,
        created_by=educator,
        title="Week 3: entrapment and blocks",
        kind=Assignment.Kind.FIXED,
        mode=Attempt.Mode.TIMED,
        opens_at=now - datetime.timedelta(days=2),
        due_at=now + datetime.timedelta(days=5),
        questions=questions,
    )
    # The peers have finished the assignment: item statistics and shares of n >= 5.
    finished_attempts(
        [
            (
                peer,
                [
                    (q, CHOICE_LETTERS[(n + i) % 3 + 1] if (n + i) % 3 else "C", 40 + 7 * i)
                    for i, q in enumerate(questions)
                ],
            )
            for n, peer in enumerate(peers)
        ],
        assignment=assignment,
        started_at=now - datetime.timedelta(days=1),
    )
    timed = starting.start_assignment(user=resident, assignment=assignment)
    engine.answer(attempt=timed, position=1, letter="B")
    return {
        **sims,
        "resident": resident,
        "educator": educator,
        "cohort": cohort,
        "assignment": assignment,
        "long_question": long_question,
        "finished": finished,
        "long_item": long_item,
        "timed": timed,
        "tutor": tutor,
    }


# --- The sweep ---------------------------------------------------------------------------

# What makes a page scroll sideways: the elements past the viewport's right edge that no
# box clips (a box clips what it contains, or, for an absolutely positioned element, only
# from its containing block up: a visually hidden span in a table of a `.table-responsive`
# with no position set escapes it), and that stick out by themselves (their parent does not,
# or they are positioned). Widest first.
CULPRITS_JS = """
(limit) => {
  const width = document.documentElement.clientWidth;
  const right = (el) => el.getBoundingClientRect().right + window.scrollX;
  const clipped = (el) => {
    for (let cur = el; ;) {
      const position = getComputedStyle(cur).position;
      if (position === "fixed") return false;
      let box = cur.parentElement;
      if (position === "absolute") {
        while (box && box !== document.body && getComputedStyle(box).position === "static") {
          box = box.parentElement;
        }
      }
      if (!box || box === document.body) return false;
      if (getComputedStyle(box).overflowX !== "visible") return true;
      cur = box;
    }
  };
  const name = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")
    + [...el.classList].slice(0, 3).map((c) => "." + c).join("");
  const found = [];
  for (const el of document.body.querySelectorAll("*")) {
    if (right(el) <= width + 0.5 || clipped(el)) continue;
    const positioned = ["absolute", "fixed"].includes(getComputedStyle(el).position);
    if (!positioned && el.parentElement && right(el.parentElement) > width + 0.5) continue;
    const path = [];
    for (let a = el; path.length < 4 && a && a !== document.body; a = a.parentElement) {
      path.unshift(name(a));
    }
    const text = (el.innerText || "").replace(/\\s+/g, " ").trim().slice(0, 50);
    found.push({path: path.join(" > "), right: Math.round(right(el)), text});
  }
  found.sort((x, y) => y.right - x.right);
  return found.slice(0, limit);
}
"""


class Measure(NamedTuple):
    url: str
    status: int | None
    width: int
    culprits: list


def measure(page, url: str | None, screenshot: Path | None) -> Measure:
    """The page at ``url`` (None: the page as it is now)."""
    response = page.goto(url) if url else None
    page.wait_for_load_state("load")
    width = page.evaluate("document.documentElement.scrollWidth")
    culprits = page.evaluate(CULPRITS_JS, 3) if width > PHONE_WIDTH else []
    if screenshot is not None:
        page.screenshot(path=str(screenshot), full_page=True)
    status = response.status if response else 200
    return Measure(page.url, status, width, culprits)


def _screenshot_path(role: str, slug: str) -> Path | None:
    directory = os.environ.get("PHONE_SWEEP_SCREENSHOTS")
    if not directory:
        return None
    Path(directory).mkdir(parents=True, exist_ok=True)
    return Path(directory) / f"{role}-{slug}.png"


def _slug(visit: Page) -> str:
    return visit.name.split(":")[-1] + (f"-{visit.label.replace(' ', '-')}" if visit.label else "")


def _open_menu(page) -> None:
    """The folded main menu, opened as a person does, with its account menu open too (its
    longest line: the user name)."""
    page.get_by_role("button", name="Menu").click()
    page.locator("#main-menu.show").wait_for()
    account = page.locator("#main-menu .account-menu")
    if account.count():
        account.get_by_role("button").click()
        account.locator(".dropdown-menu.show").wait_for()


@pytest.mark.parametrize("role", ROLES)
def test_no_page_scrolls_sideways_on_a_phone(live_server, phone, role):
    world = build_world()
    if role != "anon":
        user = world[role]
        log_in(phone, live_server.url, user.get_username(), PASSWORD)
    too_wide, broken, widths = [], [], []

    def check(where: str, result: Measure) -> None:
        where = f"{where} {result.url}"
        widths.append(f"{result.width:5d}  {where}")
        if result.status != 200:
            broken.append(f"{where}: HTTP {result.status}")
        if result.width > PHONE_WIDTH:
            causes = "".join(
                f"\n      {c['path']} (right edge {c['right']} px) {c['text']!r}"
                for c in result.culprits
            )
            too_wide.append(f"{where}: {result.width} px{causes}")

    for visit in PAGES:
        if role not in visit.roles:
            continue
        url = live_server.url + reverse(visit.name, args=visit.args(world))
        result = measure(phone, url, _screenshot_path(role, _slug(visit)))
        check(visit.name + (f" ({visit.label})" if visit.label else ""), result)
    phone.goto(live_server.url + reverse("questions:home"))
    _open_menu(phone)
    check("the main menu, open", measure(phone, None, _screenshot_path(role, "menu-open")))
    print(f"scrollWidth at {PHONE_WIDTH} px, as {role}:", *widths, sep="\n")
    assert not broken, "pages that did not open:\n" + "\n".join(broken)
    assert not too_wide, f"pages wider than {PHONE_WIDTH} px as {role}:\n" + "\n".join(too_wide)
