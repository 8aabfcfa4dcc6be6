"""Check the double submits' quizzes in the database (bench/double.py sent every answer and the
finish twice at once): each quiz finished once, as submitted, with one item per question,
each item holding the letter sent for it, and the stored score equal to the score of the
letters sent (graded here from the frozen choices, as the engine grades).

Run by bench/run.py as ``python -m bench.verify`` with the server's environment:

    python -m bench.verify --input quizzes.json --output checked.json

``quizzes.json``: ``[{"attempt": pk, "letters": {"1": "B", ...}}, ...]``.
"""

import argparse
import json
from pathlib import Path

import django


def check(quiz: dict) -> dict:
    from questions.models import Attempt
    from questions.quizzes import grading

    attempt = Attempt.objects.get(pk=quiz["attempt"])
    items = {item.position: item for item in attempt.items.all()}
    letters = {int(position): letter for position, letter in quiz["letters"].items()}
    expected = sum(
        grading.is_correct(selected_letter=letter, choices=items[position].shown["choices"])
        for position, letter in letters.items()
        if position in items
    )
    wrong_letters = sorted(
        position
        for position, letter in letters.items()
        if position not in items or items[position].selected_letter != letter
    )
    result = {
        "attempt": attempt.pk,
        "status": attempt.status,
        "finish_reason": attempt.finish_reason,
        "items": len(items),
        "question_count": attempt.question_count,
        "answers_sent": len(letters),
        "stored_score": attempt.correct_count,
        "expected_score": expected,
        "items_with_another_letter": wrong_letters,
    }
    result["clean"] = (
        attempt.status == Attempt.Status.FINISHED
        and attempt.finish_reason == Attempt.FinishReason.SUBMITTED
        and len(items) == attempt.question_count == len(letters)
        and attempt.correct_count == expected
        and not wrong_letters
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--input", type=Path, required=True)
    parser.add_argument("--output", type=Path, required=True)
    args = parser.parse_args()
    django.setup()
    quizzes = json.loads(args.input.read_text())
    args.output.write_text(json.dumps([check(quiz) for quiz in quizzes]))


if __name__ == "__main__":
    main()
