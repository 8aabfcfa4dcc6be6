"""Spaced recall: which questions come back to a resident, and when.

A question enters a resident's schedule when they miss it (wrong or unanswered) or get it
right unsure or by guessing. Every later answer to it, in any quiz, is a review: the
Free Spaced Repetition Scheduler (FSRS, the ``fsrs`` library, as in Anki) turns the
outcome into a rating and the rating into the next due date. A missed question
answered correctly, other than by a guess, at a review once it was due counts as mastered
(a corrected miss), until it is missed again.

Ratings: wrong, unanswered or a correct guess -> Again; correct but unsure -> Hard;
correct and sure, or confidence not said -> Good. Days, not minutes: the scheduler has no
learning steps (a board question asked again ten minutes after its explanation tests
recall of the explanation, not of the fact), and no fuzzing, so the same outcomes give the
same dates. Cards are updated when an attempt finishes (``schedule_attempt``, called by
the engine), in the order the answers were locked.
"""

from __future__ import annotations

import datetime
from typing import cast, overload

import fsrs
from django.db.models import Count, Min, Q
from django.utils import timezone

from questions.models import AttemptItem, Question, RecallCard

SCHEDULER = fsrs.Scheduler(
    desired_retention=0.9, learning_steps=(), relearning_steps=(), enable_fuzzing=False
)
RECALL_QUIZ_SIZE = 20  # the dashboard's "Review due questions" asks for at most this many


def rating_for(item: AttemptItem) -> fsrs.Rating:
    if not item.is_correct or item.confidence == AttemptItem.Confidence.GUESS:
        return fsrs.Rating.Again
    if item.confidence == AttemptItem.Confidence.UNSURE:
        return fsrs.Rating.Hard
    return fsrs.Rating.Good


def enters_schedule(item: AttemptItem) -> bool:
    return not item.is_correct or item.confidence in {
        AttemptItem.Confidence.UNSURE,
        AttemptItem.Confidence.GUESS,
    }


@overload
def _utc(moment: datetime.datetime) -> datetime.datetime: ...
@overload
def _utc(moment: None) -> None: ...


def _utc(moment: datetime.datetime | None) -> datetime.datetime | None:
    """The library accepts only datetime.UTC as the time zone."""
    return moment.astimezone(datetime.UTC) if moment is not None else None


def _rate(card: RecallCard, rating: fsrs.Rating, at: datetime.datetime) -> None:
    """Apply one review to ``card`` (unsaved) through the library."""
    at = _utc(at)
    if card.reviews:
        state = fsrs.Card(
            card_id=1,  # the library's own id is unused here (and costs a sleep to make)
            state=fsrs.State(card.state),
            step=card.step,
            stability=card.stability,
            difficulty=card.difficulty,
            due=_utc(card.due),
            last_review=_utc(card.last_review),
        )
    else:
        state = fsrs.Card(card_id=1, due=at)
    state, _log = SCHEDULER.review_card(state, rating, review_datetime=at)
    card.state, card.step = int(state.state), state.step
    card.stability, card.difficulty = state.stability, state.difficulty
    card.due, card.last_review = state.due, state.last_review
    card.reviews += 1


def schedule_attempt(attempt, items: list[AttemptItem]) -> None:
    """Inside a transaction (the engine's finish holds one, with the resident's row lock):
    enter or reschedule the questions of a finished attempt (its locked ``items``): the
    cards read and locked, then one INSERT ... ON CONFLICT UPDATE of those entered or
    rescheduled (none when nothing changes; SQLite splits it into batches of 76 rows)."""
    locked = sorted((i for i in items if i.locked_at), key=lambda i: (i.locked_at, i.position))
    cards = {
        card.question_id: card
        for card in RecallCard.objects.select_for_update().filter(
            user_id=attempt.user_id, question_id__in=[i.question_id for i in locked]
        )
    }
    new, changed = [], []
    for item in locked:
        # Locked items only (above): each has its locked_at.
        card, at = cards.get(item.question_id), cast(datetime.datetime, item.locked_at)
        rating = rating_for(item)
        if card is None:
            if not enters_schedule(item):
                continue
            card = RecallCard(
                user_id=attempt.user_id,
                question_id=item.question_id,
                reason=RecallCard.Reason.MISSED
                if not item.is_correct
                else RecallCard.Reason.UNSURE,
                created_at=at,
            )
            new.append(card)
        else:
            if card.last_review and at <= card.last_review:
                continue  # counted already, or older than the last review counted
            if rating == fsrs.Rating.Again:
                if not item.is_correct:
                    card.lapses += 1
                card.mastered_at = None
            elif card.reason == RecallCard.Reason.MISSED and at >= card.due:
                # Right (not by a guess) at a review that was due: a corrected miss. Right
                # again the same evening, the explanation still in mind, is not.
                card.mastered_at = card.mastered_at or at
            changed.append(card)
        _rate(card, rating, at)
    if new or changed:
        # One upsert for both, matched on (user, question): without their ids, which would
        # make bulk_create send the known cards in a statement of their own. The engine
        # holds the resident's row lock, so no concurrent finish inserts the same card.
        for card in changed:
            card.pk = None
        RecallCard.objects.bulk_create(
            new + changed,
            update_conflicts=True,
            unique_fields=["user", "question"],
            update_fields=RESCHEDULED_FIELDS,
        )


RESCHEDULED_FIELDS = [
    "state",
    "step",
    "stability",
    "difficulty",
    "due",
    "last_review",
    "reviews",
    "lapses",
    "mastered_at",
]


def _live_cards(user, now: datetime.datetime):
    """The user's cards of published questions, without those an assignment of their
    cohorts is assessing at ``now`` (``QuestionQuerySet.assessed_for``): held back from
    review, and from the counts, which would otherwise move as an assignment is scored."""
    return RecallCard.objects.filter(
        user=user,
        question__in=Question.objects.published().not_assessed_for(user, now).values("pk"),
    )


def due_question_ids(user, now: datetime.datetime | None = None):
    """The published questions due for ``user`` now and not held back (a subquery)."""
    now = now or timezone.now()
    return _live_cards(user, now).filter(due__lte=now).values("question_id")


def summary(user, now: datetime.datetime | None = None) -> dict:
    """``{"due", "scheduled", "mastered", "next_due"}`` for the dashboard: questions due
    now (their interval is over: a question missed this evening is due tomorrow evening, not
    after midnight), on the schedule, mastered (corrected misses), and when the next one
    comes due. Retired questions, and those held back while an assignment assesses them,
    are left out. One query."""
    now = now or timezone.now()
    figures = _live_cards(user, now).aggregate(
        due_now=Count("pk", filter=Q(due__lte=now)),
        on_schedule=Count("pk"),
        corrected=Count("pk", filter=Q(mastered_at__isnull=False)),
        next_due_at=Min("due", filter=Q(due__gt=now)),
    )  # aliases unlike the fields: an alias named "due" would hide the field from Min
    return {
        "due": figures["due_now"],
        "scheduled": figures["on_schedule"],
        "mastered": figures["corrected"],
        "next_due": figures["next_due_at"],
    }


def rebuild(*, user_ids=None, batch: int = 200) -> int:
    """Replace the schedules of ``user_ids`` (every resident when None) by replaying their
    finished attempts in the order they finished: for history from before spaced review
    existed, or after a change to the rules above. Each resident in a transaction of
    their own, under their row lock (as a finishing quiz takes it). Returns the cards
    written. Queries: three per resident plus one per finished attempt."""
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from questions.models import Attempt

    users = get_user_model().objects.filter(attempts__status=Attempt.Status.FINISHED)
    if user_ids is not None:
        users = users.filter(pk__in=list(user_ids))
    written = 0
    for user_id in users.distinct().order_by("pk").values_list("pk", flat=True).iterator(batch):
        with transaction.atomic():
            list(get_user_model().objects.select_for_update().filter(pk=user_id).values("pk"))
            RecallCard.objects.filter(user_id=user_id).delete()
            attempts = Attempt.objects.filter(
                user_id=user_id, status=Attempt.Status.FINISHED
            ).order_by("finished_at", "pk")
            for attempt in attempts:
                schedule_attempt(attempt, list(attempt.items.all()))
            written += RecallCard.objects.filter(user_id=user_id).count()
    return written
