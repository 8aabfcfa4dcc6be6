import random

import pytest

from questions.quizzes import grading


@pytest.mark.parametrize(
    ("count", "timed", "multiplier", "expected"),
    [
        (40, True, 1.0, 3600),
        (3, True, 1.5, 405),
        (3, True, 2.0, 540),
        (3, True, None, None),
        (3, False, 1.0, None),
    ],
)
def test_time_limit_is_90_seconds_a_question_times_the_setting(count, timed, multiplier, expected):
    assert (
        grading.time_limit_seconds(question_count=count, timed=timed, multiplier=multiplier)
        == expected
    )


def test_unanswered_counts_as_wrong():
    result = grading.score([True, False, None, True])
    assert (result.correct, result.total, result.percent) == (2, 4, 50.0)
    assert grading.score([]).percent == 0.0


def test_shuffle_reletters_and_keeps_the_key_with_its_text():
    choices = [
        {"text": t, "is_correct": t == "PFCN"} for t in ["PFCN", "Pudendal", "Sciatic", "S4"]
    ]
    shuffled = grading.shuffle_choices(choices, random.Random(3))
    assert [c["letter"] for c in shuffled] == ["A", "B", "C", "D"]
    assert sorted(c["text"] for c in shuffled) == sorted(c["text"] for c in choices)
    key = next(c for c in shuffled if c["is_correct"])
    assert key["text"] == "PFCN"
    assert grading.is_correct(selected_letter=key["letter"], choices=shuffled)
    assert not grading.is_correct(selected_letter="Z", choices=shuffled)
