"""A finished quiz's results, as the resident who took it sees them: the summary with its
table of questions, each question's result page (its explanation), the long page for
printing; and the resident's notes on questions.

An attempt past its deadline is finished (as of the deadline) before anything is shown. A
quiz still in progress is never explained here: its pages send the resident to the question.
An assignment's attempt whose results are not released yet shows only that it is finished
and when the results come (``release.awaiting_context``); a question an open assignment
asks shows no result in any other quiz (``release.held_back``).
"""

from urllib.parse import urlsplit

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import Resolver404, resolve
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from questions.analytics import notes, pages, release
from questions.middleware import retry_safe
from questions.models import Attempt, AttemptItem
from questions.quizzes import engine, errors


def _attempt_for(request, pk: int) -> Attempt:
    """The requesting resident's attempt, expired if overdue; anyone else's is a 404. Read
    with what the results pages need of its assignment and of the resident (their pace)."""
    attempt = get_object_or_404(
        Attempt.objects.select_related("assignment__cohort", "user__resident_profile"),
        pk=pk,
        user=request.user,
    )
    return engine.expire_if_due(attempt)


def _awaiting(request, attempt: Attempt):
    """The page of a finished assignment attempt whose results are not released yet."""
    return render(
        request, "questions/attempt_awaiting_release.html", release.awaiting_context(attempt)
    )


def _tagging_refusal(attempt: Attempt, position: int, now) -> str | None:
    """Why a miss cannot be tagged on this item now (tagging would tell whether the answer
    was right), or None."""
    if release.is_awaiting(attempt, now):
        return "Misses are tagged once the assignment's results are released."
    question_id = attempt.items.filter(position=position).values_list("question_id", flat=True)
    held = release.held_back(
        attempt.user_id, question_id, now, except_assignment=attempt.assignment_id
    )
    if held:
        return "An open assignment of your cohort asks this question: tag it once it comes back."
    return None


def _result_page_in(request, attempt: Attempt) -> str | None:
    """The ``next`` of a POST when it is this site's result page of a question of
    ``attempt`` (the page the form was sent from), else None."""
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return None
    try:
        match = resolve(urlsplit(target).path)
    except Resolver404:
        return None
    if match.view_name != "questions:attempt_result_item" or match.kwargs["pk"] != attempt.pk:
        return None
    return target


@retry_safe
@require_POST
@login_required
def item_miss_type(request, pk: int, position: int):
    """The resident tags why they missed a question of a finished quiz (or removes the tag);
    back to the result page it was sent from (``next``), else to that question's row of the
    results."""
    attempt = _attempt_for(request, pk)
    if not attempt.is_finished:
        messages.error(request, "Misses are tagged on the results page, once the quiz is over.")
        return redirect(attempt.question_url(attempt.current_position))
    refusal = _tagging_refusal(attempt, position, timezone.now())
    if refusal:
        messages.error(request, refusal)
        return redirect(attempt.results_url())
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
    return redirect(_result_page_in(request, attempt) or f"{attempt.results_url()}#item-{position}")


@never_cache
@login_required
def attempt_results(request, pk: int):
    """The summary: score, times, topics, and a table of the questions (filtered by
    ``?filter=``), each leading to its result page."""
    attempt = _attempt_for(request, pk)
    if not attempt.is_finished:
        return redirect(attempt.question_url(attempt.current_position))
    if release.is_awaiting(attempt, timezone.now()):
        return _awaiting(request, attempt)
    context = pages.results_context(
        attempt, row_filter=request.GET.get("filter", ""), explained=False
    )
    return render(request, "questions/attempt_results.html", context)


@never_cache
@login_required
def attempt_results_all(request, pk: int):
    """The long page: every question with its explanation, for printing."""
    attempt = _attempt_for(request, pk)
    if not attempt.is_finished:
        return redirect(attempt.question_url(attempt.current_position))
    if release.is_awaiting(attempt, timezone.now()):
        return _awaiting(request, attempt)
    context = pages.results_context(attempt)
    return render(request, "questions/attempt_results.html", context | {"is_print_view": True})


@never_cache
@login_required
def attempt_result_item(request, pk: int, position: int):
    """One question of a finished quiz in full, with previous and next within the filter."""
    attempt = _attempt_for(request, pk)
    if not attempt.is_finished:
        return redirect(attempt.question_url(position))
    if release.is_awaiting(attempt, timezone.now()):
        return _awaiting(request, attempt)
    try:
        context = pages.result_item_context(
            attempt, position, row_filter=request.GET.get("filter", "")
        )
    except AttemptItem.DoesNotExist:
        raise Http404 from None
    return render(request, "questions/attempt_result_item.html", context)


@never_cache
@login_required
def note_list(request):
    """The resident's notes, newest first, each leading to its question's explanation (or,
    in a quiz still in progress, to the question)."""
    context = notes.notes_context(request.user, page=request.GET.get("page"))
    return render(request, "questions/note_list.html", context)
