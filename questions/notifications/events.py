"""The hooks the domain calls when something happens that people are told about. Each only
enqueues a job, in the caller's transaction: with the database backend the job is a row
written with the change, so a change rolled back tells nobody, and the request never waits
for a mail server. The worker creates the notifications (``tasks``)."""

from __future__ import annotations

from collections.abc import Iterable

from questions.models import Assignment, ErrorReport
from questions.notifications import tasks


def assignment_set(assignment: Assignment) -> None:
    """A new assignment: its cohort's residents will be told."""
    tasks.notify_assignment_set.enqueue(assignment.pk)


def results_released(assignment: Assignment) -> None:
    """Results released by an educator. (At the due date: the scheduler finds them.)"""
    tasks.notify_results_released.enqueue(assignment.pk)


def report_answered(report: ErrorReport) -> None:
    """An educator's decision on an error report: its reporter will be told."""
    tasks.notify_report_answered.enqueue(report.pk)


def reports_answered(report_ids: Iterable[int]) -> None:
    """The same decision on several reports (a bulk action): one job for all of them."""
    ids = list(report_ids)
    if ids:
        tasks.notify_reports_answered.enqueue(ids)
