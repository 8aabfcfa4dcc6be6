"""Why the attempt engine refused a request: each refusal is an ``EngineError`` whose
message a resident can read."""

from __future__ import annotations

import datetime

from questions.models import Assignment


class EngineError(Exception):
    """An action the attempt's state does not allow; the message is for the resident."""


class AttemptFinished(EngineError):
    def __init__(self, message: str = "This quiz is already finished.") -> None:
        super().__init__(message)


class DeadlinePassed(AttemptFinished):
    def __init__(self) -> None:
        super().__init__("Time ran out before this answer arrived, so it was not recorded.")


class AnswerLocked(EngineError):
    def __init__(self) -> None:
        super().__init__("In tutor mode an answer is final once submitted.")


class QuizPaused(EngineError):
    def __init__(self) -> None:
        super().__init__("The quiz is paused: resume it to answer.")


class CannotPause(EngineError):
    """Only a practice quiz with a clock pauses, and only within its allowance."""


class InvalidChoice(EngineError):
    def __init__(self, letter: str) -> None:
        super().__init__(f"'{letter}' is not one of this question's choices.")


class InvalidConfidence(EngineError):
    def __init__(self) -> None:
        super().__init__("How sure you are is one of sure, unsure or guess.")


class NotAMiss(EngineError):
    def __init__(self) -> None:
        super().__init__("Only a question answered wrongly or left unanswered can be tagged.")


class InvalidPosition(EngineError):
    def __init__(self, position: int) -> None:
        super().__init__(f"This quiz has no question {position}.")


class AssignmentNotOpen(EngineError):
    """Outside the resident's window: before it opens, after their due date, or archived.
    Dates in the cohort's time zone."""

    def __init__(
        self,
        assignment: Assignment,
        now: datetime.datetime,
        *,
        due_at: datetime.datetime | None = None,
    ) -> None:
        due_at = due_at or assignment.due_at
        if assignment.archived_at is not None:
            super().__init__(f"“{assignment.title}” is no longer available.")
            return
        opens = now < assignment.opens_at
        at = assignment.cohort.local_text(assignment.opens_at if opens else due_at)
        super().__init__(f"“{assignment.title}” {'opens' if opens else 'closed'} {at}.")


class NotInCohort(EngineError):
    def __init__(self) -> None:
        super().__init__("This assignment is for another cohort.")


class NotDiscardable(EngineError):
    """Only a practice quiz still in progress can be discarded (``starting.discard_attempt``)."""

    ASSIGNMENT = "assignment"
    SIMULATION = "simulation"
    FINISHED = "finished"
    MESSAGES = {
        ASSIGNMENT: "An assignment cannot be discarded: it is your one attempt, and your "
        "educator sees it. Resume it, or end it from its review screen.",
        SIMULATION: "A block of an exam simulation cannot be discarded on its own: the "
        "simulation goes on from it. Resume it, or end it from its review screen.",
        FINISHED: "This quiz is finished, so it cannot be discarded: its results are kept.",
    }

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(self.MESSAGES[reason])
