"""Pages for residents: build a quiz, take it, review it, see past attempts.

Every page reads the attempt through ``engine.expire_if_due`` first, so an attempt past its
deadline is finished (as of the deadline) whatever page the resident opens next. Before an
item is locked, the page receives only the letters and texts of its choices: never the key,
a rationale or the explanation.
"""

from types import SimpleNamespace

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from questions import bank, engine, grading, stats
from questions.forms import QuizBuilderForm
from questions.models import Attempt, Reference
from questions.templatetags.bank_tags import explanation_context


def _attempt_for(request, pk: int) -> Attempt:
    """The requesting resident's attempt, expired if overdue; anyone else's is a 404."""
    attempt = get_object_or_404(Attempt, pk=pk, user=request.user)
    return engine.expire_if_due(attempt)


def _question_url(attempt: Attempt, position: int) -> str:
    return reverse("questions:attempt_question", args=[attempt.pk, position])


def _results_url(attempt: Attempt) -> str:
    return reverse("questions:attempt_results", args=[attempt.pk])


@login_required
def attempt_list(request):
    attempts = Attempt.objects.filter(user=request.user).prefetch_related("topics")
    return render(request, "questions/attempt_list.html", {"attempts": attempts})


@login_required
def attempt_new(request):
    form = QuizBuilderForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        config = engine.QuizConfig(
            question_count=form.cleaned_data["question_count"],
            mode=form.cleaned_data["mode"],
            pool=form.cleaned_data["pool"],
            topics=list(form.cleaned_data["topics"]),
        )
        try:
            attempt = engine.start_attempt(user=request.user, config=config)
        except bank.PoolTooSmall as exc:
            form.add_error("question_count", str(exc))
        else:
            return redirect(_question_url(attempt, 1))
    return render(request, "questions/attempt_new.html", {"form": form})


@login_required
def attempt_detail(request, pk: int):
    """Resume: the question the resident was on, or the results once finished."""
    attempt = _attempt_for(request, pk)
    if attempt.is_finished:
        return redirect(_results_url(attempt))
    return redirect(_question_url(attempt, attempt.current_position))


def _frozen_citations(items) -> dict[int, list]:
    """Each item's citations as frozen at its start, with their references: one query."""
    ids = {c["reference_id"] for item in items for c in item.shown["citations"]}
    references = Reference.objects.in_bulk(ids)
    return {
        item.pk: [
            SimpleNamespace(reference=references[c["reference_id"]], locator=c["locator"])
            for c in item.shown["citations"]
            if c["reference_id"] in references
        ]
        for item in items
    }


def _review(item, citations, shares=None) -> dict:
    """Everything about a locked item: choices with rationale and key, explanation."""
    counts = (shares or {}).get(item.question_id)
    enough = counts is not None and counts["residents"] >= stats.MIN_RESIDENTS_FOR_SHARES
    choices = [
        {
            "letter": c["letter"],
            "text": c["text"],
            "rationale": c["rationale"],
            "is_correct": c["is_correct"],
            "is_selected": c["letter"] == item.selected_letter,
            "share": (
                round(100 * counts["by_choice"].get(c["choice_id"], 0) / counts["residents"])
                if enough
                else None
            ),
        }
        for c in item.shown["choices"]
    ]
    return {
        "choices": choices,
        "objective": item.shown["objective"],
        "explanation": explanation_context(
            item.shown["explanation"], citations, f"item{item.pk}", "Explanation"
        ),
        "residents": counts["residents"] if counts else 0,
        "has_shares": enough,
    }


@never_cache
@login_required
def attempt_question(request, pk: int, position: int):
    attempt = _attempt_for(request, pk)
    if attempt.is_finished:
        if attempt.finish_reason == Attempt.FinishReason.DEADLINE:
            messages.info(request, "Time ran out: your quiz was finished and scored.")
        return redirect(_results_url(attempt))
    items = list(attempt.items.order_by("position"))
    if not 1 <= position <= len(items):
        return redirect(_question_url(attempt, attempt.current_position))
    engine.go_to(attempt=attempt, position=position)
    item = items[position - 1]
    context = {
        "attempt": attempt,
        "item": item,
        "items": items,
        "position": position,
        "previous": position - 1 if position > 1 else None,
        "next": position + 1 if position < len(items) else None,
        # Letters and texts only: the key and rationales stay on the server until locked.
        "choices": [{"letter": c["letter"], "text": c["text"]} for c in item.shown["choices"]],
        "stem": item.shown["stem"],
        "lead_in": item.shown["lead_in"],
        "profile": getattr(request.user, "resident_profile", None),
    }
    if attempt.deadline_at:
        remaining = (attempt.deadline_at - timezone.now()).total_seconds()
        context["remaining_seconds"] = max(0, int(remaining))
        context["grace_seconds"] = engine.GRACE_SECONDS
    if attempt.mode == Attempt.Mode.TUTOR and item.is_locked:
        context["review"] = _review(item, _frozen_citations([item])[item.pk])
    return render(request, "questions/attempt_question.html", context)


@require_POST
@login_required
def attempt_answer(request, pk: int, position: int):
    attempt = get_object_or_404(Attempt, pk=pk, user=request.user)
    letter = request.POST.get("letter", "")
    go = request.POST.get("go", "stay")
    try:
        if letter:
            engine.answer(attempt=attempt, position=position, letter=letter)
        elif attempt.mode == Attempt.Mode.TUTOR or go == "stay":
            messages.warning(request, "Choose an answer first.")
            return redirect(_question_url(attempt, position))
    except engine.AttemptFinished as exc:
        messages.error(request, str(exc))
        return redirect(_results_url(attempt))
    except engine.EngineError as exc:
        messages.error(request, str(exc))
        return redirect(_question_url(attempt, attempt.current_position))
    if attempt.mode == Attempt.Mode.TIMED and go == "next" and position < attempt.question_count:
        return redirect(_question_url(attempt, position + 1))
    if attempt.mode == Attempt.Mode.TIMED and go == "previous" and position > 1:
        return redirect(_question_url(attempt, position - 1))
    return redirect(_question_url(attempt, position))


@require_POST
@login_required
def attempt_flag(request, pk: int, position: int):
    attempt = get_object_or_404(Attempt, pk=pk, user=request.user)
    try:
        engine.set_flag(
            attempt=attempt, position=position, flagged=request.POST.get("flagged") == "1"
        )
    except engine.AttemptFinished as exc:
        messages.error(request, str(exc))
        return redirect(_results_url(attempt))
    except engine.EngineError as exc:
        messages.error(request, str(exc))
    return redirect(_question_url(attempt, position))


@require_POST
@login_required
def attempt_finish(request, pk: int):
    attempt = get_object_or_404(Attempt, pk=pk, user=request.user)
    engine.finish_attempt(attempt=attempt)
    return redirect(_results_url(attempt))


@never_cache
@login_required
def attempt_results(request, pk: int):
    attempt = _attempt_for(request, pk)
    if not attempt.is_finished:
        return redirect(_question_url(attempt, attempt.current_position))
    items = list(attempt.items.order_by("position"))
    citations = _frozen_citations(items)
    shares = stats.first_attempt_choice_counts(item.question_id for item in items)
    used = (attempt.finished_at - attempt.started_at).total_seconds()
    score = grading.Score(correct=attempt.correct_count, total=attempt.question_count)
    return render(
        request,
        "questions/attempt_results.html",
        {
            "attempt": attempt,
            "score": score,
            "seconds_used": int(used),
            "seconds_per_question": round(used / attempt.question_count),
            "pace_seconds": settings.QUIZ_SECONDS_PER_QUESTION,
            "topics": stats.topic_breakdown(attempt),
            "reviews": [
                {"item": item, **_review(item, citations[item.pk], shares)} for item in items
            ],
            "min_residents": stats.MIN_RESIDENTS_FOR_SHARES,
        },
    )
