"""Pages for residents: build a quiz, take it, review it, see past attempts.

Every page reads the attempt through ``engine.expire_if_due`` first (the quiz pages through
the engine's locked read, which does the same), so an attempt past its deadline is finished
(as of the deadline) whatever page the resident opens next. Before an
item is locked, the page receives only the letters and texts of its choices: never the key,
a rationale or the explanation.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from questions.analytics import pages
from questions.forms import QuizBuilderForm
from questions.learning import flashcards as flashcards_module
from questions.middleware import retry_safe
from questions.models import (
    Assignment,
    Attempt,
    AttemptItem,
    ErrorReport,
)
from questions.people import membership
from questions.quizzes import drawing, engine, errors, starting
from questions.quizzes import error_reports as reports


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


@retry_safe
@never_cache
@login_required
def attempt_new(request):
    form = QuizBuilderForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        config = starting.QuizConfig(
            question_count=form.cleaned_data["question_count"],
            mode=form.cleaned_data["mode"],
            pool=form.cleaned_data["pool"],
            topics=list(form.cleaned_data["topics"]),
        )
        try:
            attempt = starting.start_attempt(
                user=request.user, config=config, token=form.cleaned_data["start_token"]
            )
        except drawing.PoolTooSmall as exc:
            form.add_error("question_count", str(exc))
        else:
            return redirect(_question_url(attempt, attempt.current_position))
    return render(request, "questions/attempt_new.html", {"form": form})


@login_required
def attempt_detail(request, pk: int):
    """Resume: the question the resident was on, or the results once finished."""
    attempt = _attempt_for(request, pk)
    if attempt.is_finished:
        return redirect(_results_url(attempt))
    return redirect(_question_url(attempt, attempt.current_position))


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
        return redirect(_results_url(attempt))
    if not 1 <= position <= len(items):
        return redirect(_question_url(attempt, attempt.current_position))
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
                return redirect(_question_url(attempt, position))
    except Attempt.DoesNotExist:
        raise Http404 from None
    except errors.AttemptFinished as exc:
        messages.error(request, str(exc))
        return redirect(reverse("questions:attempt_results", args=[pk]))
    except errors.EngineError as exc:
        messages.error(request, str(exc))
        attempt = get_object_or_404(Attempt, pk=pk, user=request.user)
        return redirect(_question_url(attempt, attempt.current_position))
    if attempt.mode == Attempt.Mode.TIMED and go == "next" and position < attempt.question_count:
        return redirect(_question_url(attempt, position + 1))
    if attempt.mode == Attempt.Mode.TIMED and go == "previous" and position > 1:
        return redirect(_question_url(attempt, position - 1))
    return redirect(_question_url(attempt, position))


@retry_safe
@require_POST
@login_required
def item_miss_type(request, pk: int, position: int):
    """The resident tags why they missed a question of a finished quiz (or removes the tag);
    back to that question on the results page."""
    attempt = _attempt_for(request, pk)
    if not attempt.is_finished:
        messages.error(request, "Misses are tagged on the results page, once the quiz is over.")
        return redirect(_question_url(attempt, attempt.current_position))
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
    return redirect(f"{_results_url(attempt)}#item-{position}")


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
    return redirect(_results_url(attempt))


@never_cache
@login_required
def attempt_results(request, pk: int):
    attempt = _attempt_for(request, pk)
    if not attempt.is_finished:
        return redirect(_question_url(attempt, attempt.current_position))
    return render(request, "questions/attempt_results.html", pages.results_context(attempt))


@never_cache
@login_required
def flashcards(request, fmt: str):
    """The resident's missed questions as an Anki deck (``apkg``) or CSV (``csv``)."""
    if fmt not in {"apkg", "csv"}:
        raise Http404
    cards = [
        flashcards_module.card_for(q) for q in flashcards_module.missed_questions(request.user)
    ]
    stamp = f"{timezone.localdate():%Y-%m-%d}"
    if fmt == "csv":
        response = HttpResponse(
            flashcards_module.csv_text(cards), content_type="text/csv; charset=utf-8"
        )
    else:
        response = HttpResponse(
            flashcards_module.apkg(request.user, cards), content_type="application/octet-stream"
        )
    response["Content-Disposition"] = f'attachment; filename="cluneal-missed-{stamp}.{fmt}"'
    return response


@never_cache
@login_required
def dashboard(request):
    return render(request, "questions/dashboard.html", pages.dashboard_context(request.user))


@require_POST
@login_required
def error_report_new(request, pk: int, position: int):
    """A resident reports a problem with a question they have answered."""
    attempt = get_object_or_404(Attempt, pk=pk, user=request.user)
    item = get_object_or_404(attempt.items, position=position)  # knows its attempt
    try:
        reports.report_problem(
            user=request.user,
            item=item,
            kind=request.POST.get("kind", ""),
            comment=request.POST.get("comment", ""),
        )
    except reports.ReportRefused as exc:
        messages.error(request, f"Your report was not sent: {exc}")
    else:
        messages.success(
            request,
            "Thank you: your report was sent to the educators. You can follow it under My reports.",
        )
    if attempt.is_finished:
        return redirect(f"{_results_url(attempt)}#item-{position}")
    return redirect(_question_url(attempt, position))


@never_cache
@login_required
def error_report_list(request):
    return render(
        request,
        "questions/error_report_list.html",
        {
            "reports": ErrorReport.objects.filter(reporter=request.user).select_related(
                "question", "attempt_item__attempt"
            )
        },
    )


@retry_safe
@require_POST
@login_required
def cohort_join(request):
    try:
        cohort = membership.join_cohort(user=request.user, code=request.POST.get("code", ""))
    except membership.JoinRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request, f"You joined {cohort.name}. Its educators can now follow your results."
        )
    return redirect("questions:dashboard")


@retry_safe
@require_POST
@login_required
def assignment_start(request, pk: int):
    """Start (or resume) the resident's attempt at an assignment of one of their cohorts."""
    assignment = get_object_or_404(Assignment, pk=pk, cohort__residents=request.user)
    try:
        attempt = starting.start_assignment(user=request.user, assignment=assignment)
    except errors.EngineError as exc:
        messages.error(request, str(exc))
        return redirect("questions:dashboard")
    attempt = engine.expire_if_due(attempt)
    if attempt.is_finished:
        return redirect(_results_url(attempt))
    return redirect(_question_url(attempt, attempt.current_position))
