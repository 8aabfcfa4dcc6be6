"""Taking a quiz: the question page, the one form that saves it, and the submit screen.

Every page reads the attempt through the engine (``engine.visit`` or its locked writes,
which expire an overdue attempt as of its deadline first). Before an item is locked, the
page receives only the letters and texts of its choices: never the key, a rationale or
the explanation; after, in tutor mode, only when no assignment holds them back
(``pages.tutor_review``).

No answer is lost: the question page is one form (``attempt_answer``). With JavaScript a
choice, a confidence and a note are saved as they change (htmx, ``go=save``); without it
every control that leaves the question (next, previous, the navigator, flag, the tools, end)
is a submit button of that form, which saves what was picked before doing what it says.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from questions.analytics import pages
from questions.middleware import retry_safe
from questions.models import Attempt, AttemptItem, ErrorReport, ResidentProfile
from questions.people import accounts
from questions.quizzes import engine, errors, exam_tools

# The block clock shows itself for the last five minutes even when the resident hid it.
TIMER_SHOWN_FROM_SECONDS = 5 * 60


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


def _clock(attempt: Attempt, now) -> dict:
    """What the page says about time, from the server's clock."""
    if attempt.deadline_at is None:
        return {}
    if attempt.mode == Attempt.Mode.TUTOR:
        # An assignment's due date, not a clock, read in its cohort's time zone.
        assignment = attempt.assignment if attempt.assignment_id else None
        zone = assignment.cohort.time_zone if assignment is not None else None
        return {"due_at": attempt.deadline_at, "due_zone": zone}
    paused = engine.is_paused(attempt, now)
    if paused and attempt.deadline_before_pause and attempt.paused_at:
        left = attempt.deadline_before_pause - attempt.paused_at  # frozen while paused
    else:
        left = attempt.deadline_at - now
    remaining = max(0, int(left.total_seconds()))
    return {
        "remaining_seconds": remaining,
        "grace_seconds": engine.GRACE_SECONDS,
        "is_paused": paused,
        "pause_ends_at": attempt.pause_ends_at if paused else None,
        "pause_left_seconds": exam_tools.pause_allowance_left(attempt),
        "can_pause": exam_tools.can_pause(attempt) and not paused,
    }


@never_cache
@login_required
def attempt_question(request, pk: int, position: int):
    """A question of the attempt. Only reads: the resident's position moves with what the
    page's form sends (``attempt_answer``), not with opening a page."""
    if position < 1:  # 0 is the engine's "on no question" (the submit screen), not a page
        attempt = get_object_or_404(Attempt, pk=pk, user=request.user)
        if attempt.is_finished:
            return redirect(attempt.results_url())
        return redirect(attempt.question_url(attempt.current_position))
    now = timezone.now()
    try:
        attempt, items = engine.visit(attempt=pk, position=position, user=request.user, now=now)
    except Attempt.DoesNotExist:
        raise Http404 from None
    if attempt.is_finished:
        if attempt.finish_reason == Attempt.FinishReason.DEADLINE:
            messages.info(request, "Time ran out: your quiz was finished and scored.")
        return redirect(attempt.results_url())
    if not 1 <= position <= len(items):
        return redirect(attempt.question_url(attempt.current_position))
    return _question_page(request, attempt, items, position, now)


def _question_page(request, attempt: Attempt, items: list[AttemptItem], position: int, now):
    """The question at ``position`` of an attempt in progress, from the attempt and items
    already read (``engine.visit``, or ``engine.save_and_go`` when the form's htmx post
    answers with the next page itself)."""
    item = items[position - 1]
    profile = getattr(attempt.user, "resident_profile", None) or ResidentProfile()
    clock = _clock(attempt, now)
    on_question = item.seconds_spent
    if (
        position == attempt.current_position
        and attempt.position_entered_at is not None
        and not clock.get("is_paused")
    ):
        on_question += engine.visit_seconds(attempt, now)
    context = {
        "attempt": attempt,
        "item": item,
        "items": items,
        "position": position,
        "previous": position - 1 if position > 1 else None,
        "next": position + 1 if position < len(items) else None,
        # Letters and texts only: the key and rationales stay on the server until locked.
        "choices": [
            {
                "letter": c["letter"],
                "text": c["text"],
                "image": c.get("image"),
                "is_struck": c["letter"] in item.struck_letters,
            }
            for c in item.shown["choices"]
        ],
        "stem": item.shown["stem"],
        "image": item.shown.get("image"),
        "stem_diagram": item.shown.get("stem_diagram"),
        "lead_in": item.shown["lead_in"],
        "profile": profile,
        "confidences": AttemptItem.Confidence.choices,
        "question_seconds": on_question,
        "timer_shown_from": TIMER_SHOWN_FROM_SECONDS if profile.is_timer_hidden else None,
        "text_sizes": ResidentProfile.TextSize.choices,
        "note_max_length": exam_tools.NOTE_MAX_LENGTH,
        "read_token": engine.page_read_token(attempt=attempt, position=position, now=now),
        **clock,
    }
    if attempt.mode == Attempt.Mode.TUTOR and item.is_locked:
        # The key and explanation, unless an assignment holds them back: its own results
        # not released yet, or (in practice) a question an open assignment asks. The answer
        # is recorded and scored either way.
        context.update(pages.tutor_review(attempt, item, now))
        context["is_locked"] = True
        context["report_kinds"] = ErrorReport.Kind.choices
        context["all_answered"] = all(other.is_locked for other in items)
    return render(request, "questions/attempt_question.html", context)


# go=<action> of the question form: where to go after saving, or what tool to use.
_MOVES = {"next": 1, "previous": -1}
_TEXT_SIZES = {f"text:{value}": value for value in ResidentProfile.TextSize.values}


def _use_tool(
    request, attempt_pk: int, position: int, go: str
) -> Attempt | AttemptItem | bool | None:
    """Use the tool a button of the question form asked for, after the answer was saved.
    Returns the item whose highlights changed, or else something true when a tool ran
    (it found the resident's attempt, which proves it is theirs), None when none did."""
    user = request.user
    if go in {"flag", "unflag"}:
        return bool(
            engine.set_flag(attempt=attempt_pk, position=position, flagged=go == "flag", user=user)
        )
    elif go.startswith("strike:"):
        return bool(
            exam_tools.toggle_strike(
                attempt=attempt_pk, position=position, letter=go.removeprefix("strike:"), user=user
            )
        )
    elif go == "highlight":
        start, end = request.POST.get("start", ""), request.POST.get("end", "")
        if not (start.isdigit() and end.isdigit() and len(start) < 7 and len(end) < 7):
            raise errors.EngineError("Select some of the question's text to highlight.")
        return exam_tools.highlight(
            attempt=attempt_pk, position=position, start=int(start), end=int(end), user=user
        )
    elif go == "clear-highlights":
        return exam_tools.clear_highlights(attempt=attempt_pk, position=position, user=user)
    elif go == "pause":
        return exam_tools.pause(attempt=attempt_pk, user=user)
    elif go == "resume":
        return exam_tools.resume(attempt=attempt_pk, user=user)
    elif go in _TEXT_SIZES:
        accounts.set_quiz_preferences(user=user, text_size=_TEXT_SIZES[go])
    elif go in {"timer:hide", "timer:show"}:
        accounts.set_quiz_preferences(user=user, is_timer_hidden=go == "timer:hide")
    return None


@retry_safe
@require_POST
@login_required
def attempt_answer(request, pk: int, position: int):
    """The question page's one form. Saves the choice (and confidence) picked, and the note
    if the form has one, then does what the pressed button says (``go``):
    - ``save``: only save (htmx, as a choice is picked): answers with a status fragment;
    - ``stay``: save; in tutor mode, submit the answer (lock it and show the explanation);
    - ``next``, ``previous``, a question number, ``submit`` (the submit screen): go there;
    - ``flag``/``unflag``, ``strike:<letter>``, ``highlight`` (``start``, ``end``),
      ``clear-highlights``, ``pause``/``resume``, ``text:<size>``, ``timer:hide``/``show``.
    Only ``stay`` locks a tutor answer: leaving the question keeps the choice unlocked.

    Saving and moving are one write (``engine.save_and_go``). A boosted (htmx) post is
    answered with the page it leads to, and its address for the history (HX-Push-Url):
    one request per step. Without JavaScript, post/redirect/get."""
    go = request.POST.get("go", "stay")[:20]
    if not _is_known(go):
        go = "stay"  # an unknown button is treated as "save", so a missing answer is said
    letter = request.POST.get("letter", "")
    if (go in _STEPS or go in _MOVES or go.isdigit()) and (letter or go != "stay"):
        return _save_and_go(request, pk, position, go)
    note = request.POST.get("note")
    # A boosted submit is a whole-page navigation; hx-post requests want a fragment back.
    is_fragment = bool(request.htmx) and not request.htmx.boosted and not _leaves(go)
    item = tool = None
    try:
        if note is not None:
            note = exam_tools.clean_note(note)  # a note refused refuses the answer with it
        if letter:
            item = engine.answer(
                attempt=pk,
                position=position,
                letter=letter,
                confidence=request.POST.get("confidence", ""),
                lock=False,
                user=request.user,
            )
        noted = (
            exam_tools.set_note(
                attempt=pk, position=position, text=note, user=request.user, during_quiz=True
            )
            if note is not None
            else None
        )
        if go == "stay":  # Submit without a choice: the note is kept, nothing else
            raise errors.EngineError("Choose an answer first.")
        tool = _use_tool(request, pk, position, go)
        if not (item or noted or tool):  # nothing above checked whose attempt it is
            get_object_or_404(Attempt, pk=pk, user=request.user)
    except Attempt.DoesNotExist:
        raise Http404 from None
    except errors.AttemptFinished as exc:
        return _finished(request, pk, position, exc)
    except (errors.EngineError, ValidationError) as exc:
        return _refused(request, pk, position, exc, is_fragment)
    if is_fragment:
        if go in {"highlight", "clear-highlights"} and isinstance(tool, AttemptItem):
            return render(
                request,
                "includes/_quiz_stem.html",
                {"stem": tool.shown["stem"], "highlights": tool.highlights, "highlighter": True},
            )
        return HttpResponse(status=204)
    return redirect(Attempt(pk=pk).question_url(position))


# Buttons that save and then stay or go to a page of the quiz (with _MOVES and numbers).
_STEPS = {"save", "stay", "submit"}


def _save_and_go(request, pk: int, position: int, go: str) -> HttpResponse:
    """Save what the form holds and go where ``go`` says, in one write. A boosted post is
    answered with that page itself; an htmx save with the status fragment; a plain post
    with a redirect to the page."""
    letter = request.POST.get("letter", "")
    note = request.POST.get("note")
    htmx = request.htmx
    is_fragment = bool(htmx) and not htmx.boosted and go in {"save", "stay"}
    to = _target(position, go)
    now = timezone.now()
    try:
        attempt, items = engine.save_and_go(
            attempt=pk,
            position=position,
            letter=letter,
            confidence=request.POST.get("confidence", ""),
            note=exam_tools.clean_note(note) if note is not None else None,
            lock=go == "stay",
            to=to,
            page=not is_fragment,
            read_at=engine.page_read_at(
                request.POST.get("read", ""), attempt_pk=pk, position=position
            ),
            user=request.user,
            now=now,
        )
    except Attempt.DoesNotExist:
        raise Http404 from None
    except errors.AttemptFinished as exc:
        return _finished(request, pk, position, exc)
    except (errors.EngineError, ValidationError) as exc:
        return _refused(request, pk, position, exc, is_fragment)
    if is_fragment:
        if go == "save":
            item = next(item for item in items if item.position == position)
            return _status(request, item=item, position=position)
        return HttpResponse(status=204)
    on = to if to is not None and 0 <= to <= attempt.question_count else position
    if htmx and htmx.boosted:
        if on == 0:
            response = _submit_page(request, attempt, items, now)
        else:
            response = _question_page(request, attempt, items, on, now)
        response["HX-Push-Url"] = attempt.submit_url() if on == 0 else attempt.question_url(on)
        return response
    return redirect(attempt.submit_url() if on == 0 else attempt.question_url(on))


def _target(position: int, go: str) -> int | None:
    """Where the form's button ``go`` leads once what was picked is saved: a position, 0 for
    the submit screen, None to stay."""
    if go == "submit":
        return 0
    if go in _MOVES:
        return max(position + _MOVES[go], 1)
    if go.isdigit():
        return int(go) or None  # 0 is not a question; the submit screen is go=submit
    return None


def _finished(request, pk: int, position: int, exc: errors.AttemptFinished) -> HttpResponse:
    """The quiz ended before this post arrived: the answer is refused, but a note it carries
    is kept (``exam_tools.keep_late_note``)."""
    attempt = get_object_or_404(Attempt, pk=pk, user=request.user)
    messages.error(request, str(exc))
    note = request.POST.get("note")  # checked (clean_note) before the engine refused
    if note is not None:
        try:
            item = exam_tools.keep_late_note(
                attempt=attempt, position=position, text=note, user=request.user
            )
        except Attempt.DoesNotExist:
            item = None  # no such question: nothing to keep it on
        if item is not None:
            done = "kept" if item.note else "deleted"
            messages.info(request, f"Your note on question {item.position} was {done}.")
    return _go(request, attempt.results_url())


def _refused(request, pk: int, position: int, exc: Exception, is_fragment: bool) -> HttpResponse:
    """A refusal said in the status line (htmx) or as a message on the question page."""
    text = "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
    if is_fragment:
        return _status(request, error=text)
    messages.error(request, text)
    return redirect(get_object_or_404(Attempt, pk=pk, user=request.user).question_url(position))


def _is_known(go: str) -> bool:
    return (
        go in {"save", "stay", "submit", "flag", "unflag", "highlight", "clear-highlights"}
        or go in {"pause", "resume", "timer:hide", "timer:show"}
        or go in _MOVES
        or go in _TEXT_SIZES
        or (go.isdigit() and len(go) <= 4)
        or (go.startswith("strike:") and len(go) == 8)
    )


def _leaves(go: str) -> bool:
    """Tools after which the page is redrawn rather than updated in place."""
    return go in {"pause", "resume"}


def _go(request, url: str) -> HttpResponse:
    """A redirect that htmx follows as a whole page (a finished quiz leaves the question)."""
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return redirect(url)


def _status(request, *, status: int = 200, error: str = "", **context) -> HttpResponse:
    """The save status under the choices and, once a choice is saved, the navigator's entry
    for the question (an out-of-band swap)."""
    context |= {"error": error, "saved_at": timezone.now()}
    response = HttpResponse(
        render_to_string("includes/_quiz_save_status.html", context, request=request),
        status=status,
    )
    if error:  # whatever the button aimed at, a refusal is said in the status line
        response["HX-Retarget"] = "#save-status"
        response["HX-Reswap"] = "innerHTML"
    return response


@never_cache
@login_required
def attempt_submit(request, pk: int):
    """The submit screen: every question's state, a way back to each, one button to end the
    quiz. Reached through the question form (``go=submit``), which credits the time on the
    question left."""
    now = timezone.now()
    try:
        attempt, items = engine.visit(attempt=pk, position=0, user=request.user, now=now)
    except Attempt.DoesNotExist:
        raise Http404 from None
    if attempt.is_finished:
        return redirect(attempt.results_url())
    return _submit_page(request, attempt, items, now)


def _submit_page(request, attempt: Attempt, items: list[AttemptItem], now) -> HttpResponse:
    unanswered = [item for item in items if not item.selected_letter]
    return render(
        request,
        "questions/attempt_submit.html",
        {
            "attempt": attempt,
            "items": items,
            "unanswered": unanswered,
            "flagged": [item for item in items if item.is_flagged],
            "with_notes": [item for item in items if item.note],
            "first_unanswered": unanswered[0] if unanswered else None,
            **_clock(attempt, now),
        },
    )


@retry_safe
@require_POST
@login_required
def attempt_finish(request, pk: int):
    try:
        attempt = engine.finish_attempt(attempt=pk, user=request.user)
    except Attempt.DoesNotExist:
        raise Http404 from None
    return redirect(attempt.results_url())


@retry_safe
@require_POST
@login_required
def item_note(request, pk: int, position: int):
    """Write a note on a question of any of the resident's quizzes, finished ones too (the
    results and My notes pages); back to where it was written."""
    try:
        item = exam_tools.set_note(
            attempt=pk, position=position, text=request.POST.get("note", ""), user=request.user
        )
    except Attempt.DoesNotExist:
        raise Http404 from None
    except errors.EngineError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Note saved." if item.note else "Note deleted.")
    back = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        return redirect(back)
    return redirect(Attempt(pk=pk).get_absolute_url())
