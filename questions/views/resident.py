"""Pages for residents around their quizzes: the dashboard, the quiz builder, the list of
past quizzes, flashcards of misses, error reports, joining a cohort and starting an
assignment. Taking a quiz is ``views.quiz``; its results are ``views.results``.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from questions.analytics import pages, release
from questions.forms import QuizBuilderForm
from questions.learning import flashcards as flashcards_module
from questions.middleware import retry_safe
from questions.models import (
    Assignment,
    Attempt,
    ErrorReport,
)
from questions.people import limits as rate_limits
from questions.people import membership
from questions.quizzes import drawing, engine, errors, starting
from questions.quizzes import error_reports as reports


@never_cache
@login_required
def attempt_list(request):
    """The resident's quizzes, newest first, each with the score they may see: none yet
    for an assignment whose results are not released, and without the answers held back
    while an assignment asks their questions (``release.show_scores``)."""
    mine = Attempt.objects.filter(user=request.user)
    engine.expire_overdue(mine)  # a quiz whose time ran out is not offered to resume
    attempts = list(mine.prefetch_related("topics"))
    release.show_scores(request.user, attempts, now=timezone.now())
    return render(request, "questions/attempt_list.html", {"attempts": attempts})


def _builder_config(selection: dict) -> starting.QuizConfig:
    return starting.QuizConfig(
        question_count=selection["question_count"],
        mode=selection["mode"],
        pool=selection["pool"],
        topics=selection["topics"],
    )


@retry_safe
@never_cache
@login_required
@rate_limits.rate_limited(rate_limits.QUIZ_START_PER_ACCOUNT, repeat_if=rate_limits.RESUMES_QUIZ)
def attempt_new(request):
    """The quiz builder. Its labels say how many questions each pool and topic holds for
    the resident, its text their pace and the block's time (``starting.preview``); with
    htmx these follow the choices (``attempt_counts``)."""
    form = QuizBuilderForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        token = form.cleaned_data["start_token"]
        try:
            attempt = starting.start_attempt(
                user=request.user,
                config=_builder_config(form.selection()),
                token=token,
                resume_identical=form.cleaned_data["quick_start"],
            )
        except drawing.PoolTooSmall as exc:
            form.add_error("question_count", str(exc))
        else:
            if attempt.start_token != token:  # not started by this form: resumed
                messages.info(
                    request, "You already have this quiz in progress: it goes on where you left it."
                )
            return redirect(attempt.question_url(attempt.current_position))
    selection = form.selection()
    preview = starting.preview(user=request.user, config=_builder_config(selection))
    form.show_counts(preview.counts, pool=selection["pool"])
    return render(
        request,
        "questions/attempt_new.html",
        {
            "form": form,
            "preview": preview,
            "selection": selection,
            "max_questions": QuizBuilderForm.MAX_QUESTIONS,
            "max_count": form.max_count(),
        },
    )


@never_cache
@login_required
def attempt_counts(request):
    """The builder's live counts (an htmx fragment, GET with the builder's choices): how
    many questions the chosen pool and topics hold for the resident, each pool's and
    topic's count for the labels, the largest number of questions, their pace and the
    block's time. Numbers only: never which questions, nor how any answer went."""
    form = QuizBuilderForm(request.GET)
    selection = form.selection()
    preview = starting.preview(user=request.user, config=_builder_config(selection))
    form.set_max_count(preview.available)
    response = render(
        request,
        "includes/_builder_summary.html",
        {
            "preview": preview,
            "selection": selection,
            "max_questions": QuizBuilderForm.MAX_QUESTIONS,
            # The field's new max (js/builder.js): what the selection holds.
            "max_count": form.max_count(),
            "pool_counts": [(pool, n["total"]) for pool, n in preview.counts.items()],
            "topic_counts": [
                (topic.pk, preview.counts[selection["pool"]].get(topic.pk, 0))
                for topic in form.topic_field().queryset or []
            ],
            "is_fragment": True,
        },
    )
    # Counts are not a page to go back to: the builder keeps its address.
    response["HX-Push-Url"] = "false"
    return response


@retry_safe
@never_cache
@require_http_methods(["GET", "POST"])
@login_required
def attempt_discard(request, pk: int):
    """Discard a practice quiz in progress: GET asks for confirmation (what is lost), POST
    deletes it (``starting.discard_attempt``). Assignments and finished quizzes are refused
    with the reason."""
    attempt = get_object_or_404(
        Attempt.objects.select_related("assignment"), pk=pk, user=request.user
    )
    if request.method == "POST":
        try:
            starting.discard_attempt(attempt=attempt, user=request.user)
        except Attempt.DoesNotExist:
            raise Http404 from None
        except errors.NotDiscardable as exc:
            messages.error(request, str(exc))
            return redirect("questions:attempt_discard", pk=pk)
        messages.success(
            request, "Quiz discarded. Its answers count nowhere: not in your figures, reviews "
            "or the question statistics."
        )  # fmt: skip
        return redirect("questions:dashboard")
    attempt = engine.expire_if_due(attempt)
    return render(
        request,
        "questions/attempt_discard.html",
        {
            "attempt": attempt,
            "refusal": starting.discard_refusal(attempt),
            "answered": attempt.items.exclude(selected_letter="").count(),
        },
    )


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
@rate_limits.rate_limited(rate_limits.ERROR_REPORT_PER_ACCOUNT)
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
    if attempt.is_finished:  # back to the question's own result page, where the form is
        return redirect("questions:attempt_result_item", pk=attempt.pk, position=position)
    return redirect(attempt.question_url(position))


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
@never_cache
@require_http_methods(["GET", "POST"])
@login_required
@rate_limits.rate_limited(rate_limits.QUIZ_START_PER_ACCOUNT)
def assignment_start(request, pk: int):
    """An assignment of one of the resident's cohorts. GET: its start screen (what it
    asks, the resident's own time and due date, the attempts allowed, when the results
    come; Resume for an attempt in progress; why it cannot be started, when it cannot).
    POST (Begin): start the clock (``starting.start_assignment``: a second Begin resumes)
    and go to the question."""
    assignment = get_object_or_404(
        Assignment.objects.select_related("cohort"), pk=pk, cohort__residents=request.user
    )
    if request.method == "POST":
        try:
            attempt = starting.start_assignment(user=request.user, assignment=assignment)
        except errors.EngineError as exc:
            messages.error(request, str(exc))
            return redirect("questions:assignment_start", pk=pk)
        attempt = engine.expire_if_due(attempt)
        if attempt.is_finished:
            return redirect(attempt.results_url())
        return redirect(attempt.question_url(attempt.current_position))
    context = release.start_context(
        assignment=assignment, resident=request.user, now=timezone.now()
    )
    return render(request, "questions/assignment_start.html", context)
