"""Pure scoring and timing functions: no database, no clock.

Units: seconds for durations; percentages are 0-100 rounded to one decimal.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

LETTERS = "ABCDE"


def time_limit_seconds(
    *, question_count: int, timed: bool, multiplier: float | None, seconds_per_question: int = 90
) -> int | None:
    """The whole block's clock: the pace (90 s a question by default) times the number of
    questions times the resident's multiplier.

    None when the attempt is untimed (tutor mode, or the resident's "untimed" setting)."""
    if not timed or multiplier is None:
        return None
    return round(question_count * seconds_per_question * multiplier)


@dataclass(frozen=True)
class Score:
    correct: int
    total: int

    @property
    def percent(self) -> float:
        return round(100 * self.correct / self.total, 1) if self.total else 0.0


def score(outcomes: Iterable[bool | None]) -> Score:
    """Score a block: each outcome is True (right), False (wrong) or None (unanswered,
    which counts as wrong)."""
    outcomes = list(outcomes)
    return Score(correct=sum(o is True for o in outcomes), total=len(outcomes))


def is_correct(*, selected_letter: str, choices: Sequence[Mapping[str, Any]]) -> bool:
    """Whether the letter the resident chose is the key among ``choices`` as shown."""
    return any(c["letter"] == selected_letter and c["is_correct"] for c in choices)


def shuffle_choices(
    choices: Sequence[Mapping[str, Any]], rng: random.Random
) -> list[dict[str, Any]]:
    """The choices in a new random order, relettered A, B, C... as the resident will see them."""
    shuffled = list(choices)
    rng.shuffle(shuffled)
    return [dict(choice, letter=LETTERS[i]) for i, choice in enumerate(shuffled)]
