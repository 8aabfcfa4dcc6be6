"""Pages for residents: build a quiz, take it, review it, see past attempts.

Every page reads the attempt through ``engine.expire_if_due`` first (the quiz pages through
the engine's locked read, which does the same), so an attempt past its deadline is finished
(as of the deadline) whatever page the resident opens next. Before an
item is locked, the page receives only the letters and texts of its choices: never the key,
a rationale or the explanation.
"""

import uuid
from types import SimpleNamespace

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from questions.analytics import charts, item_stats, progress
from questions.authoring.citations import explanation_context
from questions.forms import QuizBuilderForm
from questions.learning import calibration
from questions.learning import flashcards as flashcards_module
from questions.learning import recall as review
from questions.middleware import retry_safe
from questions.models import (
    Assignment,
    Attempt,
    AttemptItem,
    ErrorReport,
    Reference,
    ResidentProfile,
)
from questions.people import membership
from questions.quizzes import drawing, engine, errors, grading, starting
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
    enough = counts is not None and counts["residents"] >= item_stats.MIN_RESIDENTS_FOR_SHARES
    choices = [
        {
            "letter": c["letter"],
            "text": c["text"],
            "rationale": c["rationale"],
            "is_correct": c["is_correct"],
            "is_selected": c["letter"] == item.selected_letter,
            "image": c.get("image"),
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
        context["review"] = _review(item, _frozen_citations([item])[item.pk])
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


def results_context(attempt: Attempt) -> dict:
    """Everything the results page shows for a finished attempt (also used by educators)."""
    items = list(attempt.items.order_by("position"))
    citations = _frozen_citations(items)
    shares = item_stats.first_attempt_choice_counts(item.question_id for item in items)
    used = (attempt.finished_at - attempt.started_at).total_seconds()
    reported = {
        r.attempt_item_id: r
        for r in ErrorReport.objects.filter(
            attempt_item__attempt=attempt, reporter_id=attempt.user_id
        )
    }
    return {
        "attempt": attempt,
        "score": grading.Score(correct=attempt.correct_count, total=attempt.question_count),
        "seconds_used": int(used),
        "seconds_per_question": round(used / attempt.question_count),
        "pace_seconds": settings.QUIZ_SECONDS_PER_QUESTION,
        "topics": progress.topic_breakdown(attempt),
        "reviews": [
            {
                "item": item,
                "report": reported.get(item.pk),
                **_review(item, citations[item.pk], shares),
            }
            for item in items
        ],
        "report_kinds": ErrorReport.Kind.choices,
        "miss_types": AttemptItem.MissType.choices,
        "min_residents": item_stats.MIN_RESIDENTS_FOR_SHARES,
        "calibration": calibration.calibration_of(items),
        "confident_misses": calibration.items_by_topic(
            [i for i in items if i.confidence == AttemptItem.Confidence.SURE and not i.is_correct]
        ),
    }


@never_cache
@login_required
def attempt_results(request, pk: int):
    attempt = _attempt_for(request, pk)
    if not attempt.is_finished:
        return redirect(_question_url(attempt, attempt.current_position))
    return render(request, "questions/attempt_results.html", results_context(attempt))


QUICK_QUIZ_SIZE = 10


def dashboard_context(user, *, cohort=None) -> dict:
    """A resident's standing: the figures, charts and lists of the dashboard. With
    ``cohort``, as that cohort's educators may see it (no other cohort's assignments, and
    every quiz rather than the last five). Abandoned timed quizzes are finished first, so
    they count. A fixed number of queries whatever the number of attempts (pinned in
    tests)."""
    engine.expire_overdue(Attempt.objects.filter(user=user))
    attempts = Attempt.objects.filter(user=user).visible_to(cohort).prefetch_related("topics")
    summary = progress.resident_summary(user, cohort=cohort)
    trend = progress.score_trend(user, cohort=cohort)
    mastery = progress.topic_mastery(
        user, topics=progress.topics_with_published_counts(), cohort=cohort
    )
    profile = ResidentProfile.objects.filter(user=user).first()
    multiplier = profile.time_multiplier if profile else 1.0
    # The schedule is the resident's own, drawn from every quiz they took: not shown to a
    # cohort's educators, who see only that cohort's assignments and practice.
    review_summary = review.summary(user) if cohort is None else None
    weakest = [
        dict(row, quiz_size=min(QUICK_QUIZ_SIZE, row["topic"].published_count))
        for row in progress.weakest_topics(mastery)
    ]
    return {
        "subject": user,
        "summary": summary,
        "pace_seconds": round(settings.QUIZ_SECONDS_PER_QUESTION * (multiplier or 1.0)),
        "trend": trend,
        "trend_chart": charts.score_trend(trend, label="Percent correct in each finished quiz"),
        "mastery": mastery,
        "mastery_chart": charts.topic_mastery(mastery, label="Percent correct by topic"),
        "weakest": weakest,
        "quick_quiz_size": QUICK_QUIZ_SIZE,
        "min_answered_for_weakest": progress.MIN_ANSWERED_FOR_WEAKEST,
        "percentile": progress.percentile_rank(user),
        "min_peers": progress.MIN_PEERS_FOR_PERCENTILE,
        "assignments": progress.resident_assignments(user, cohort=cohort),
        "review": review_summary,
        "review_quiz_size": min(review.REVIEW_QUIZ_SIZE, review_summary["due"])
        if review_summary
        else 0,
        "review_start_token": uuid.uuid4(),
        "calibration": calibration.calibration(user, cohort=cohort),
        "confident_misses": calibration.confident_misses(user, cohort=cohort),
        "miss_mix": progress.miss_type_mix(user, cohort=cohort),
        "recent_attempts": attempts[:5] if cohort is None else attempts,
        "my_cohorts": list(user.cohorts.order_by("name")) if cohort is None else [],
        "now": timezone.now(),
    }


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
    return render(request, "questions/dashboard.html", dashboard_context(request.user))


@require_POST
@login_required
def item_report(request, pk: int, position: int):
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
def report_list(request):
    return render(
        request,
        "questions/report_list.html",
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
