"""Demo activity for `make run` (debug only): a cohort whose dashboards have something to show.

Synthetic residents ("demo-r01"...) take quizzes through the engine itself, answering with a
fixed per-resident ability, so every figure on the dashboards is computed the same way as
for real residents. Seeded, so each run builds the same history; idempotent: it does
nothing once the demo cohort exists.
"""

from __future__ import annotations

import datetime
import random

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from questions.devtools import history_rows as history_gen
from questions.learning import withholding
from questions.models import (
    Accommodation,
    Assignment,
    Attempt,
    AttemptItem,
    Cohort,
    ErrorReport,
    Question,
    ResidentProfile,
)
from questions.notifications import fanout
from questions.quizzes import assignments, control, engine, starting
from questions.quizzes import error_reports as reports

DEMO_COHORT = "Demo residency program"
SYNTHETIC_RESIDENTS = 24
QUIZZES_EACH = 4
QUIZ_SIZE = 10
ASSIGNMENT_SIZE = 20
WARM_UP_SIZE = 10


def _take(attempt: Attempt, *, ability: float, start: datetime.datetime, rng: random.Random):
    now = start
    for item in attempt.items.order_by("position"):
        now += datetime.timedelta(seconds=rng.randint(25, 85))
        key = next(c["letter"] for c in item.shown["choices"] if c["is_correct"])
        wrong = [c["letter"] for c in item.shown["choices"] if not c["is_correct"]]
        letter = key if rng.random() < ability else rng.choice(wrong)
        confidence = history_gen.confidence_for(rng, True, letter == key)
        engine.answer(
            attempt=attempt, position=item.position, letter=letter, confidence=confidence, now=now
        )
        if item.position < attempt.question_count:
            engine.go_to(attempt=attempt, position=item.position + 1, now=now)
    engine.finish_attempt(attempt=attempt, now=now + datetime.timedelta(seconds=20))
    for item in attempt.items.filter(is_correct=False):
        reason = history_gen.miss_reason_for(rng, False, False)
        if reason:
            engine.tag_miss(attempt=attempt, position=item.position, miss_type=reason)


@transaction.atomic
def seed_demo_activity(*, educator, resident, rng: random.Random | None = None) -> bool:
    """Create the demo cohort with the demo educator, the demo resident and synthetic
    residents with finished quizzes and one finished assignment. False (nothing done) if
    it exists or the bank is not loaded yet."""
    if Cohort.objects.filter(name=DEMO_COHORT).exists():
        return False
    if Question.objects.published().count() < ASSIGNMENT_SIZE:
        return False
    rng = rng or random.Random(2026)
    User = get_user_model()
    now = timezone.now()
    cohort = Cohort.objects.create(name=DEMO_COHORT, program="Demo program (synthetic data)")
    cohort.educators.add(educator)
    ResidentProfile.objects.update_or_create(
        user=resident, defaults={"program": "Demo program", "training_year": 2}
    )
    synthetic = []
    for index in range(1, SYNTHETIC_RESIDENTS + 1):
        user = User.objects.create_user(username=f"demo-r{index:02d}", password=None)
        user.first_name, user.last_name = "Demo", f"Resident {index:02d}"
        user.save(update_fields=["first_name", "last_name"])
        ResidentProfile.objects.create(
            user=user, program="Demo program", training_year=2 if index % 3 else 3
        )
        synthetic.append((user, 0.35 + 0.55 * rng.random()))
    cohort.residents.add(resident, *(user for user, _ in synthetic))

    for user, ability in [*synthetic, (resident, 0.6)]:
        quizzes = 3 if user == resident else QUIZZES_EACH
        for number in range(quizzes):
            start = now - datetime.timedelta(days=28 - 7 * number, hours=rng.randint(0, 8))
            mode = Attempt.Mode.TUTOR if number % 2 else Attempt.Mode.TIMED
            attempt = starting.start_attempt(
                user=user,
                config=starting.QuizConfig(question_count=QUIZ_SIZE, mode=mode),
                now=start,
                rng=rng,
            )
            _take(attempt, ability=min(0.95, ability + 0.04 * number), start=start, rng=rng)

    # A past assignment, its results released at its due date: the demo resident took it,
    # so their dashboard has released results to open (and its notice under the bell).
    warm_up = assignments.create_assignment(
        cohort=cohort,
        created_by=educator,
        title="Week 0: anatomy warm-up",
        kind=Assignment.Kind.RULE,
        mode=Attempt.Mode.TIMED,
        opens_at=now - datetime.timedelta(days=20),
        due_at=now - datetime.timedelta(days=13),
        question_count=WARM_UP_SIZE,
        rng=rng,
    )
    for user, ability in [(resident, 0.6), *synthetic[:18]]:
        start = now - datetime.timedelta(days=rng.randint(14, 19), hours=rng.randint(0, 8))
        attempt = starting.start_assignment(user=user, assignment=warm_up, now=start, rng=rng)
        _take(attempt, ability=ability, start=start, rng=rng)
    # Educators' accommodations and one resident's extension, as the cohort pages show them.
    control.set_accommodation(
        cohort=cohort,
        resident=synthetic[22][0],
        actor=educator,
        time_setting=Accommodation.TimeSetting.EXTENDED_1_5,
        note="Disability services letter on file (demo)",
        now=now - datetime.timedelta(days=11),
    )
    assignment = assignments.create_assignment(
        cohort=cohort,
        created_by=educator,
        title="Week 1: cluneal nerve anatomy and blocks",
        kind=Assignment.Kind.RULE,
        mode=Attempt.Mode.TIMED,
        opens_at=now - datetime.timedelta(days=10),
        due_at=now + datetime.timedelta(days=4),
        question_count=ASSIGNMENT_SIZE,
        rng=rng,
    )
    for user, ability in synthetic[:22]:
        start = now - datetime.timedelta(days=rng.randint(1, 9), hours=rng.randint(0, 8))
        attempt = starting.start_assignment(user=user, assignment=assignment, now=start, rng=rng)
        _take(attempt, ability=ability, start=start, rng=rng)
    control.grant_extension(
        assignment=assignment,
        resident=synthetic[23][0],
        actor=educator,
        due_at=assignment.due_at + datetime.timedelta(days=3),
        note="On nights this week (demo)",
        now=now,
    )
    _seed_notifications(
        educator=educator, resident=resident, other=synthetic[0][0], assignment=assignment, now=now
    )
    fanout.results_released(assignment_id=warm_up.pk, now=now)
    return True


def _seed_notifications(*, educator, resident, other, assignment, now) -> None:
    """Something under each demo account's bell: for the resident, the assignment set and
    an answer to an error report they sent; for the educator, the daily digest (another
    report waiting). The hooks enqueued their jobs, which `make run`'s worker runs again
    harmlessly (a notification exists once); they are run here so that the bell shows
    them at once. With example addresses, the worker's e-mails show on the console."""
    User = get_user_model()
    for user, address in ((resident, "resident@example.org"), (educator, "educator@example.org")):
        User.objects.filter(pk=user.pk, email="").update(email=address)
    decided, waiting = (
        AttemptItem.objects.filter(
            attempt__user=user, attempt__assignment__isnull=True, attempt__status="finished"
        )
        .exclude(withholding.held_item(user, now))  # a report needs the key shown
        .order_by("attempt__started_at", "position")
        .first()
        for user in (resident, other)
    )
    assert decided is not None and waiting is not None  # both took practice quizzes above
    report = reports.report_problem(
        user=resident, item=decided, kind=ErrorReport.Kind.UNCLEAR, now=now,
        comment="Is the lead-in asking for the nerve or the level?",
    )  # fmt: skip
    reports.decide_report(
        report=report, status=ErrorReport.Status.ACCEPTED, by=educator,
        reply="Good catch: the lead-in now names the level. Thank you.",
    )  # fmt: skip
    reports.report_problem(
        user=other, item=waiting, kind=ErrorReport.Kind.TYPO, comment="“iliac cest”", now=now
    )
    fanout.assignment_set(assignment_id=assignment.pk, now=now)
    fanout.report_answered(report_id=report.pk, now=now)
    fanout.daily_digest(day=fanout.local_day(now), now=now)
