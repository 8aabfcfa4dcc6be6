"""An author's edit of a question, once saved with its choices and citations: who wrote the
current version (so that someone else reviews it), and a published question whose content
changed going back to review."""

from __future__ import annotations

import datetime

from django.db import transaction

from questions.authoring import workflow
from questions.models import Question


@transaction.atomic
def record_edit(
    *,
    question: Question,
    by,
    is_new: bool,
    has_changed: bool,
    now: datetime.datetime | None = None,
) -> bool:
    """Record that ``by`` created ``question`` (``is_new``) or saved it with a change to
    its fields, choices or citations (``has_changed``): ``by`` becomes its last editor,
    and a published question goes back to review (logged). A save that changed nothing
    records nothing. True when the question went back to review."""
    if has_changed or is_new:
        question.last_edited_by = by
        # An update, not a save: the history already has this edit's version.
        Question.objects.filter(pk=question.pk).update(last_edited_by=by)
    if is_new or not has_changed:
        return False
    return workflow.back_to_review_if_published(
        question=question, by=by, note="edited while published", now=now
    )
