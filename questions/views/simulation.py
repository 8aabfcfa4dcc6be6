"""Exam simulations: the builder (with the resident's simulations), and a simulation's
page, which shows where the resident stands: the next block's start screen, the break, or
the summary; during a block it sends them to the block's question page.

Every page reads the simulation through ``quizzes.simulation``, which writes first what
time has done (a block overdue finished, a break run out and its block started). Before
the simulation ends these pages show no question of it, let alone a key.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from questions.analytics import progress
from questions.forms import SimulationBuilderForm
from questions.middleware import retry_safe
from questions.models import ExamSimulation
from questions.people import limits as rate_limits
from questions.quizzes import drawing, errors
from questions.quizzes import simulation as simulations


@retry_safe
@never_cache
@login_required
@rate_limits.rate_limited(
    rate_limits.QUIZ_START_PER_ACCOUNT, repeat_if=rate_limits.RESUMES_SIMULATION
)
def simulation_new(request):
    form = SimulationBuilderForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            simulation = simulations.create_simulation(
                user=request.user,
                block_count=data["block_count"],
                block_size=data["block_size"],
                break_seconds=data["break_minutes"] * 60,
                pool=data["pool"],
                topics=list(data["topics"]),
                token=data["start_token"],
            )
        except drawing.PoolTooSmall as exc:
            form.add_error(
                None,
                f"These settings hold {exc.available} question{'s' if exc.available != 1 else ''}"
                f"; {data['block_count']} blocks of {data['block_size']} need {exc.requested}. "
                "Choose fewer or smaller blocks, or widen the topics or pool.",
            )
        except errors.EngineError as exc:
            form.add_error(None, str(exc))
        else:
            return redirect(simulation.get_absolute_url())
    built = simulations.builder(user=request.user)
    context: dict[str, object] = {
        "form": form,
        "pace_seconds": built.pace_seconds,
        "simulations": built.simulations,
    }
    if built.pace_seconds:
        # The clocks of the settings on the form: as sent when they were, else as first shown.
        chosen = getattr(form, "cleaned_data", {})
        values = {
            name: chosen.get(name, form.fields[name].initial)
            for name in ("block_count", "block_size", "break_minutes")
        }
        context["values"] = values
        context["timing"] = simulations.timing(
            block_count=values["block_count"],
            block_size=values["block_size"],
            break_seconds=values["break_minutes"] * 60,
            pace_seconds=built.pace_seconds,
        )
    return render(request, "questions/simulation_new.html", context)


@never_cache
@login_required
def simulation_detail(request, pk: int):
    simulation = get_object_or_404(ExamSimulation, pk=pk, user=request.user)
    state = simulations.simulation_state(simulation=simulation)
    if state.phase is simulations.Phase.BLOCK:
        assert state.attempt is not None
        return redirect(state.attempt.get_absolute_url())
    if state.phase is simulations.Phase.FINISHED:
        return render(
            request,
            "questions/simulation_summary.html",
            {
                "state": state,
                # Answers an assignment set since still assesses leave the scores.
                "summary": simulations.summary(
                    state,
                    held=progress.held_scores(
                        request.user, [block.pk for block in state.blocks], timezone.now()
                    ),
                ),
            },
        )
    return render(request, "questions/simulation_start.html", {"state": state})


def _started(request, call, pk: int, **kwargs):
    """Run ``call`` (start_block or end_break) and go to the block it leaves running."""
    try:
        attempt = call(simulation=pk, user=request.user, **kwargs)
    except ExamSimulation.DoesNotExist:
        raise Http404 from None
    except errors.EngineError as exc:
        messages.error(request, str(exc))
        return redirect("questions:simulation_detail", pk=pk)
    return redirect(attempt.get_absolute_url())


@retry_safe
@require_POST
@login_required
def simulation_start_block(request, pk: int):
    """Start block k (the number the start screen offered, so that a double click or a
    stale page starts nothing more)."""
    block = request.POST.get("block", "")
    block_number = int(block) if block.isdigit() and len(block) < 4 else None
    return _started(request, simulations.start_block, pk, block_number=block_number)


@retry_safe
@require_POST
@login_required
def simulation_end_break(request, pk: int):
    return _started(request, simulations.end_break, pk)
