import json

import pytest

from questions.interchange.bank_files import BankFileError, load_bank
from questions.models import Choice, Citation, Question, Reference, Topic

pytestmark = pytest.mark.django_db


def question(key="icn-origin", **overrides):
    data = {
        "key": key,
        "topics": ["inferior-cluneal"],
        "difficulty": "easy",
        "stem": "A cyclist has burning pain in the lower buttock when seated.",
        "lead_in": "The affected nerves branch from which nerve?",
        "objective": "Identify the parent nerve of the inferior cluneal nerves.",
        "explanation": "They branch from the PFCN [@gray1918].\n\nDocument B is wrong [@doc-b].",
        "choices": [
            {"text": "Posterior femoral cutaneous nerve", "correct": True, "rationale": "Right."},
            {"text": "Pudendal nerve", "correct": False, "rationale": "Perineum."},
            {"text": "Sciatic nerve", "correct": False, "rationale": "Mixed nerve."},
            {"text": "Coccygeal plexus", "correct": False, "rationale": "Skin over the coccyx."},
        ],
        "citations": [
            {"ref": "gray1918", "locator": "p. 959"},
            {"ref": "doc-b", "locator": "Inferior cluneal nerves"},
        ],
    }
    return data | overrides


@pytest.fixture
def bank_dir(tmp_path):
    (tmp_path / "questions").mkdir()
    (tmp_path / "topics.json").write_text(
        json.dumps([{"slug": "inferior-cluneal", "name": "Inferior cluneal nerves", "order": 3}])
    )
    (tmp_path / "references.json").write_text(
        json.dumps(
            [
                {
                    "key": "gray1918",
                    "kind": "book",
                    "title": "Anatomy of the Human Body",
                    "year": 1918,
                    "is_verified": True,
                },
                {
                    "key": "doc-b",
                    "kind": "document",
                    "title": "Cluneal nerves",
                    "is_verified": False,
                },
            ]
        )
    )

    def write(*questions, name="a.json"):
        (tmp_path / "questions" / name).write_text(json.dumps(list(questions)))
        return tmp_path

    return write


def test_loads_topics_references_questions_choices_and_citations(bank_dir):
    report = load_bank(directory=bank_dir(question()))
    assert report.created == {"topic": 1, "reference": 2, "diagram": 0, "question": 1}
    loaded = Question.objects.get(key="icn-origin")
    assert loaded.status == Question.Status.PUBLISHED
    assert loaded.last_reviewed_on is not None
    assert list(loaded.choices.values_list("letter", "is_correct")) == [
        ("A", True), ("B", False), ("C", False), ("D", False)
    ]  # fmt: skip
    assert list(loaded.citations.values_list("reference__key", "order")) == [
        ("gray1918", 1), ("doc-b", 2)
    ]  # fmt: skip
    assert [t.slug for t in loaded.topics.all()] == ["inferior-cluneal"]


def test_loading_twice_changes_nothing_and_adds_no_history(bank_dir):
    directory = bank_dir(question())
    load_bank(directory=directory)
    history = (Question.history.count(), Choice.history.count(), Citation.history.count())
    report = load_bank(directory=directory)
    assert (
        report.created
        == report.updated
        == {
            "topic": 0,
            "reference": 0,
            "diagram": 0,
            "question": 0,
        }
    )
    assert (Question.history.count(), Choice.history.count(), Citation.history.count()) == history
    assert (Question.objects.count(), Choice.objects.count(), Citation.objects.count()) == (1, 4, 2)


def test_reloading_applies_an_edit_and_moves_the_key(bank_dir):
    load_bank(directory=bank_dir(question()))
    edited = question(lead_in="Which nerve gives rise to them?")
    edited["choices"][0]["correct"], edited["choices"][3]["correct"] = False, True
    edited["citations"] = edited["citations"][:1]
    edited["explanation"] = "Classical anatomy [@gray1918]."
    report = load_bank(directory=bank_dir(edited))
    assert report.updated["question"] == 1
    loaded = Question.objects.get()
    assert loaded.lead_in == "Which nerve gives rise to them?"
    assert loaded.choices.get(is_correct=True).letter == "D"
    assert list(loaded.citations.values_list("reference__key", flat=True)) == ["gray1918"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"choices": question()["choices"][:3]}, "needs 4 or 5 choices; it has 3"),
        ({"explanation": "Cites [@missing]."}, "cites [@missing]"),
        ({"difficulty": "brutal"}, "difficulty: must be easy, medium or hard (it is 'brutal')"),
        ({"topics": ["nowhere"]}, "unknown topics ['nowhere']"),
        ({"objective": ""}, "Write the educational objective"),
    ],
)
def test_a_bad_question_names_its_problem_and_nothing_is_loaded(bank_dir, change, message):
    directory = bank_dir(question("good"), question("bad", **change))
    with pytest.raises(BankFileError) as excinfo:
        load_bank(directory=directory)
    assert any(e.startswith("a.json: bad:") or e.startswith("bad:") for e in excinfo.value.errors)
    assert message in str(excinfo.value)
    assert (Question.objects.count(), Topic.objects.count(), Reference.objects.count()) == (0, 0, 0)


def test_two_correct_choices_in_a_file_are_refused_not_crashed(bank_dir):
    bad = question()
    bad["choices"][1]["correct"] = True
    with pytest.raises(BankFileError, match=r"2 are marked correct \(A, B\)"):
        load_bank(directory=bank_dir(bad))
    assert not Choice.objects.exists()


def test_duplicate_keys_are_refused(bank_dir):
    with pytest.raises(BankFileError, match="duplicate key"):
        load_bank(directory=bank_dir(question(), question()))


def test_malformed_json_is_reported(bank_dir, tmp_path):
    directory = bank_dir(question())
    (directory / "questions" / "b.json").write_text("[{")
    with pytest.raises(BankFileError, match="b.json: cannot read JSON"):
        load_bank(directory=directory)


def test_an_over_long_locator_is_reported_on_every_database(bank_dir):
    # SQLite does not enforce varchar lengths; the loader must, or PostgreSQL refuses later.
    long_locator = question()
    long_locator["citations"][0]["locator"] = "x" * 301
    with pytest.raises(BankFileError) as excinfo:
        load_bank(directory=bank_dir(long_locator))
    assert excinfo.value.errors == [
        "a.json: icn-origin: Ensure this value has at most 300 characters (it has 301)."
    ]
    assert not Question.objects.exists()


def test_a_malformed_question_is_located_by_its_path(bank_dir):
    bad = question("bad")
    bad["choices"][1] = {"correct": False}
    bad["citations"] = [{"ref": "gray1918"}, {"ref": "gray1918", "locator": "again"}]
    with pytest.raises(BankFileError) as excinfo:
        load_bank(directory=bank_dir(question("good"), bad, "not an object"))
    assert excinfo.value.errors == [
        "a.json: bad: choices[1].text: required",
        "a.json: bad: citations: cites 'gray1918' more than once",
        "a.json: (no key): must be an object with the question's fields",
    ]
    assert not Question.objects.exists()
