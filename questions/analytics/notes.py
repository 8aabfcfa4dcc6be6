"""The resident's notes on questions, as the notes page lists them."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator
from django.db.models import F
from django.db.models.functions import Trim

from questions.learning import calibration
from questions.models import Attempt, AttemptItem
from questions.quizzes import engine

NOTES_PER_PAGE = 25


def notes_context(user, *, page: str | int | None = None) -> dict[str, Any]:
    """The resident's notes on questions, newest note first, NOTES_PER_PAGE a page
    (``page_obj``, a Django Page): each row with its item and attempt, the question's topics
    and the first line of its frozen stem, and whether the quiz is finished. A quiz in
    progress is never explained here: its rows carry only the question's page
    (``question_url``). Overdue quizzes are finished first. A fixed number of queries."""
    engine.expire_overdue(Attempt.objects.filter(user=user))
    notes = (
        AttemptItem.objects.filter(attempt__user=user)
        .annotate(note_text=Trim("note"))
        .exclude(note_text="")
        .select_related("attempt")
        .order_by(F("note_updated_at").desc(nulls_last=True), "-pk")
    )
    page_obj = Paginator(notes, NOTES_PER_PAGE).get_page(page)
    items = list(page_obj.object_list)
    topics_of = calibration.topics_by_question(i.question_id for i in items) if items else {}
    return {
        "page_obj": page_obj,
        "rows": [
            {
                "item": item,
                "attempt": item.attempt,
                "topics": topics_of.get(item.question_id, []),
                "stem_first_line": next(
                    (line.strip() for line in item.shown["stem"].splitlines() if line.strip()),
                    "",
                ),
                "is_finished": item.attempt.is_finished,
                "question_url": (
                    None if item.attempt.is_finished else item.attempt.question_url(item.position)
                ),
            }
            for item in items
        ],
    }
