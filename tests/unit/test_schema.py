"""The bank-item schema (questions.interchange.schema): what an item may hold, and problems
located by their path in the item. No database."""

import pytest

from questions.interchange.schema import check_item, dump_item


def item(**overrides):
    data = {
        "key": "icn-origin",
        "topics": ["inferior-cluneal"],
        "stem": "  A cyclist has pain.  ",
        "lead_in": "Which nerve?",
        "choices": [
            {"text": "PFCN", "correct": True, "rationale": " Right. "},
            {"text": "Pudendal"},
        ],
        "citations": [{"ref": "gray1918", "locator": " p. 959 "}],
        "facts": [31],  # authoring metadata: ignored
    }
    return data | overrides


def problems_of(data, where="questions[3]"):
    checked, problems = check_item(data)
    assert (checked is None) == bool(problems)
    return [problem.located(where, joined=True) for problem in problems]


def test_a_good_item_gets_its_defaults_and_stripped_texts():
    checked, problems = check_item(item(difficulty="HARD"))
    assert problems == []
    assert dump_item(checked) == {
        "key": "icn-origin",
        "difficulty": "hard",
        "status": "published",
        "topics": ["inferior-cluneal"],
        "stem": "A cyclist has pain.",
        "lead_in": "Which nerve?",
        "objective": "",
        "explanation": "",
        "choices": [
            {"text": "PFCN", "correct": True, "rationale": "Right."},
            {"text": "Pudendal", "correct": False, "rationale": ""},
        ],
        "citations": [{"ref": "gray1918", "locator": " p. 959 "}],
    }


STATUSES = "draft, review, published, retired"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (item(choices=[{"text": "A"}, {"correct": True}]), "choices[1].text: required"),
        (item(choices=[{"text": "A"}, {"text": "  "}]), "choices[1].text: required"),
        (item(choices=[{"text": "A", "correct": 1}]), "choices[0].correct: must be true or false"),
        (item(choices=[{"text": "A", "rationale": 5}]), "choices[0].rationale: must be text"),
        (item(choices=["A"]), "choices[0]: must be an object"),
        (item(choices=[{"text": "A"}] * 6), "choices: at most 5 (it has 6)"),
        (item(citations=[{"locator": "p. 1"}]), "citations[0].ref: required"),
        (item(citations=[{"ref": ["x"]}]), "citations[0].ref: must be text"),
        (item(citations=[{"ref": "a"}, {"ref": "a"}]), "citations: cites 'a' more than once"),
        (item(topics="scn"), "topics: must be a list"),
        (item(topics=["scn", 5]), "topics[1]: must be text"),
        (item(stem=None), "stem: must be text"),
        (item(key=" "), "key: required"),
        (item(difficulty="brutal"), "difficulty: must be easy, medium or hard (it is 'brutal')"),
        (item(difficulty=""), "difficulty: must be easy, medium or hard (it is empty)"),
        # The JSON files write a status exactly; the CSV and Moodle readers translate theirs.
        (item(status="in review"), f"status: must be one of {STATUSES} (it is 'in review')"),
        (item(status="Draft"), f"status: must be one of {STATUSES} (it is 'Draft')"),
        (
            item(last_reviewed_on="2024-13-01"),
            "last_reviewed_on: must be a date written YYYY-MM-DD (it is '2024-13-01')",
        ),
        ("not an object", ": must be an object with the question's fields"),
        ([{"key": "x"}], ": must be an object with the question's fields"),
        (None, ": must be an object with the question's fields"),
    ],
)  # fmt: skip
def test_problems_are_located_by_their_path(data, expected):
    glue = "" if expected.startswith(":") else "."
    assert problems_of(data) == [f"questions[3]{glue}{expected}"]


def test_each_missing_field_is_a_problem():
    assert problems_of({"key": "x"}) == [
        f"questions[3].{name}: required"
        for name in ("topics", "stem", "lead_in", "choices", "citations")
    ]


def test_other_readers_put_the_path_after_their_own_location():
    (problem,) = check_item(item(choices=[{"text": "A"}, {"correct": True}]))[1]
    assert problem.path == "choices[1].text"
    assert problem.located("a.json: icn-origin") == "a.json: icn-origin: choices[1].text: required"
