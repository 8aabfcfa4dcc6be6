"""Taking a quiz: the question page, saving answers, flags, finishing.

Every page reads the attempt through the engine (``engine.visit`` or its locked writes,
which expire an overdue attempt as of its deadline first). Before an item is locked, the
page receives only the letters and texts of its choices: never the key, a rationale or
the explanation.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from questions.analytics import pages
from questions.middleware import retry_safe
from questions.models import Attempt, AttemptItem, ErrorReport
from questions.quizzes import engine, errors


def _attempt_for(request, pk: int) -> Attempt:
    """The requesting resident's attempt, expired if overdue; anyone else's is a 404."""
    attempt = get_object_or_404(Attempt, pk=pk, user=request.user)
    return engine.expire_if_due(attempt)


@login_required
def attempt_detail(request, pk: int):
    """Resume: the question the resident was on, or the results once finished."""
    attempt = _attempt_for(request, pk)
    if attempt.is_finished:
        return redirect(attempt.results_url())
    return redirect(attempt.question_url(attempt.current_position))


@never_cache
@login_required
def attempt_question(request, pk: int, position: int):
    try:
        attempt, items = engine.visit(attempt=pk, position=position, user=request.user)
    except Attempt.DoesNotExist:
        raise Http404 from None
    if attempt.is_finished:
        if attempt.finish_reason == Attempt.FinishReason.DEADLINE:
            messages.info(request, "Time ran out: your quiz was finished and scored.")
        return redirect(attempt.results_url())
    if not 1 <= position <= len(items):
        return redirect(attempt.question_url(attempt.current_position))
    item = items[position - 1]
    context = {
        "attempt": attempt,
        "item": item,
        "items": items,
        "position": position,
        "previous": position - 1 if position > 1 else None,
        "next": position + 1 if position < len(items) else None,
        # Letters and texts only: the key and rationales stay on the server until locked.
        "choices": [
            {"letter": c["letter"], "text": c["text"], "image": c.get("image")}
            for c in item.shown["choices"]
        ],
        "stem": item.shown["stem"],
        "image": item.shown.get("image"),
        "lead_in": item.shown["lead_in"],
        "profile": getattr(attempt.user, "resident_profile", None),  # read with the attempt
        "confidences": AttemptItem.Confidence.choices,
    }
    if attempt.deadline_at and attempt.mode == Attempt.Mode.TUTOR:
        context["due_at"] = attempt.deadline_at  # an assignment's due date, not a clock
    elif attempt.deadline_at:
        remaining = (attempt.deadline_at - timezone.now()).total_seconds()
        context["remaining_seconds"] = max(0, int(remaining))
        context["grace_seconds"] = engine.GRACE_SECONDS
    if attempt.mode == Attempt.Mode.TUTOR and item.is_locked:
        context["explained"] = pages.locked_item_explanation(item)
        context["report_kinds"] = ErrorReport.Kind.choices
        context["all_answered"] = all(other.is_locked for other in items)
    return render(request, "questions/attempt_question.html", context)


@retry_safe
@require_POST
@login_required
def attempt_answer(request, pk: int, position: int):
    letter = request.POST.get("letter", "")
    go = request.POST.get("go", "stay")
    if go not in {"next", "previous", "stay"}:
        go = "stay"  # an unknown button is treated as "save", so a missing answer is said
    try:
        if letter:
            # The engine's locked read is the only read of the attempt.
            attempt = engine.answer(
                attempt=pk,
                position=position,
                letter=letter,
                confidence=request.POST.get("confidence", ""),
                user=request.user,
            ).attempt
        else:
            attempt = get_object_or_404(Attempt, pk=pk, user=request.user)
            if attempt.mode == Attempt.Mode.TUTOR or go == "stay":
                messages.warning(request, "Choose an answer first.")
                return redirect(attempt.question_url(position))
    except Attempt.DoesNotExist:
        raise Http404 from None
    except errors.AttemptFinished as exc:
        messages.error(request, str(exc))
        return redirect(reverse("questions:attempt_results", args=[pk]))
    except errors.EngineError as exc:
        messages.error(request, str(exc))
        attempt = get_object_or_404(Attempt, pk=pk, user=request.user)
        return redirect(attempt.question_url(attempt.current_position))
    if attempt.mode == Attempt.Mode.TIMED and go == "next" and position < attempt.question_count:
        return redirect(attempt.question_url(position + 1))
    if attempt.mode == Attempt.Mode.TIMED and go == "previous" and position > 1:
        return redirect(attempt.question_url(position - 1))
    return redirect(attempt.question_url(position))


@retry_safe
@require_POST
@login_required
def attempt_flag(request, pk: int, position: int):
    try:
        engine.set_flag(
            attempt=pk,
            position=position,
            flagged=request.POST.get("flagged") == "1",
            user=request.user,
        )
    except Attempt.DoesNotExist:
        raise Http404 from None
    except errors.AttemptFinished as exc:
        messages.error(request, str(exc))
        return redirect(reverse("questions:attempt_results", args=[pk]))
    except errors.EngineError as exc:
        messages.error(request, str(exc))
    return redirect(reverse("questions:attempt_question", args=[pk, position]))


@retry_safe
@require_POST
@login_required
def attempt_finish(request, pk: int):
    try:
        attempt = engine.finish_attempt(attempt=pk, user=request.user)
    except Attempt.DoesNotExist:
        raise Http404 from None
    return redirect(attempt.results_url())
