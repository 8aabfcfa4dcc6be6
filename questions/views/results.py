"""A finished quiz's results, as the resident who took it sees them.

An attempt past its deadline is finished (as of the deadline) before anything is shown.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from questions.analytics import pages
from questions.middleware import retry_safe
from questions.models import Attempt
from questions.quizzes import engine, errors


def _attempt_for(request, pk: int) -> Attempt:
    """The requesting resident's attempt, expired if overdue; anyone else's is a 404."""
    attempt = get_object_or_404(Attempt, pk=pk, user=request.user)
    return engine.expire_if_due(attempt)


@retry_safe
@require_POST
@login_required
def item_miss_type(request, pk: int, position: int):
    """The resident tags why they missed a question of a finished quiz (or removes the tag);
    back to that question on the results page."""
    attempt = _attempt_for(request, pk)
    if not attempt.is_finished:
        messages.error(request, "Misses are tagged on the results page, once the quiz is over.")
        return redirect(attempt.question_url(attempt.current_position))
    try:
        item = engine.tag_miss(
            attempt=attempt,
            position=position,
            miss_type=request.POST.get("miss_type", ""),
            user=request.user,
        )
    except Attempt.DoesNotExist:
        raise Http404 from None
    except errors.EngineError as exc:
        messages.error(request, str(exc))
    else:
        label = item.get_miss_type_display().lower() if item.miss_type else "not tagged"
        messages.success(request, f"Question {position}: {label}.")
    return redirect(f"{attempt.results_url()}#item-{position}")


@never_cache
@login_required
def attempt_results(request, pk: int):
    attempt = _attempt_for(request, pk)
    if not attempt.is_finished:
        return redirect(attempt.question_url(attempt.current_position))
    return render(request, "questions/attempt_results.html", pages.results_context(attempt))
