"""Retries for background jobs. django-tasks runs a job once: when it raises, its result is
FAILED and that is all. ``retried`` wraps a job's function so that a failure enqueues the
same job again, later (exponential back-off), with an attempt counter, and logs it; after
the last attempt it logs an error and gives up. The failed run itself still ends FAILED
with its traceback, so the worker's record shows every failure.

Only for jobs that are safe to run twice: every job here is (notifications are unique per
person and event; an e-mail is marked sent under its row's lock).

    @task()
    @retried(attempts=5)
    def notify_assignment_set(assignment_id: int) -> int: ...
"""

from __future__ import annotations

import datetime
import functools
import logging
from collections.abc import Callable
from typing import Any

from django.utils import timezone
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)

# The keyword argument that carries the attempt number into the next run (JSON).
ATTEMPT_KWARG = "retry_attempt"


def retry_delay(attempt: int, *, first: datetime.timedelta) -> datetime.timedelta:
    """The wait before attempt ``attempt + 1``: ``first``, doubled each time, at most 6 h."""
    return min(first * 2 ** (attempt - 1), datetime.timedelta(hours=6))


def retried(
    *, attempts: int = 5, first_delay: datetime.timedelta = datetime.timedelta(seconds=30)
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate a job's function (under ``@task()``): if a run raises, enqueue the job again
    after ``retry_delay`` with the same arguments, up to ``attempts`` runs in all, then log
    an error. The exception is raised again either way, so the run is recorded FAILED."""

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(func)
        def run(*args: Any, **kwargs: Any) -> Any:
            attempt = int(kwargs.pop(ATTEMPT_KWARG, 1))
            try:
                return func(*args, **kwargs)
            except Exception as exc:
                name = f"{func.__module__}.{func.__qualname__}"
                if attempt >= attempts:
                    logger.error(
                        "Job %s%s failed on its last attempt (%d of %d), giving up: %r",
                        name, tuple(args), attempt, attempts, exc,
                    )  # fmt: skip
                    raise
                run_after = timezone.now() + retry_delay(attempt, first=first_delay)
                # The module attribute of the same name is the Task that wraps this function.
                job = import_string(name)
                try:
                    job.using(run_after=run_after).enqueue(
                        *args, **kwargs, **{ATTEMPT_KWARG: attempt + 1}
                    )
                except Exception:
                    logger.exception("Job %s failed and could not be enqueued again", name)
                    raise exc from None
                logger.warning(
                    "Job %s%s failed (attempt %d of %d), retrying at %s: %r",
                    name, tuple(args), attempt, attempts, run_after.isoformat(), exc,
                )  # fmt: skip
                raise

        return run

    return decorate
