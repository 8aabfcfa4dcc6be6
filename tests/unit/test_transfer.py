"""Export and import: round trips of the real bank through each format into an empty
database, all-or-nothing imports with problems by row, and dry runs."""

import json

import pytest
from django.conf import settings
from django.core.management import call_command

from questions.interchange import transfer
from questions.interchange.bank_files import load_bank
from questions.interchange.formats import questions_to_csv
from questions.models import Attempt, Question, Reference, Topic
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module", autouse=True)
def _loaded_bank(module_db):
    """The real bank, loaded once for the module's tests (tests/conftest.py module_db: each
    test's changes are undone after it)."""
    with module_db():
        load_bank(directory=settings.QUESTION_BANK_DIR)


@pytest.fixture
def bank():
    return Question.objects.all()


def snapshot() -> list[dict]:
    return [
        transfer.question_item(q) for q in Question.objects.with_bank_relations().order_by("key")
    ]


def published_items() -> list[dict]:
    """The published questions' items (the rules a test breaks apply to those)."""
    return [item for item in snapshot() if item["status"] == "published"]


def empty_questions():
    Attempt.objects.all().delete()
    Question.objects.all().delete()  # choices and citations go with them


def test_json_round_trip_into_an_empty_database(bank):
    before = snapshot()
    text = transfer.export_questions(Question.objects.all(), "json")
    empty_questions()
    Reference.objects.all().delete()
    Topic.objects.all().delete()

    plan = transfer.import_questions(text, "json", dry_run=False, as_admin=True)

    assert len(plan.created) == Question.objects.count() == len(before)
    assert snapshot() == before


@pytest.mark.parametrize("fmt", ["csv", "moodle"])
def test_csv_and_moodle_round_trips_keep_questions_choices_rationales_and_citations(bank, fmt):
    before = snapshot()
    text = transfer.export_questions(Question.objects.all(), fmt)
    empty_questions()  # topics and references stay: these formats carry questions only

    transfer.import_questions(text, fmt, dry_run=False, as_admin=True)

    # These formats have no field for the review date: everything else comes back.
    def without_review_date(items):
        return [{k: v for k, v in item.items() if k != "last_reviewed_on"} for item in items]

    assert without_review_date(snapshot()) == without_review_date(before)


def test_a_filtered_selection_exports_only_those_questions(bank):
    text = transfer.export_questions(Question.objects.filter(topics__slug="middle-cluneal"), "json")
    data = json.loads(text)
    assert len(data["questions"]) == Question.objects.filter(topics__slug="middle-cluneal").count()
    used = {c["ref"] for q in data["questions"] for c in q["citations"]}
    assert {r["key"] for r in data["references"]} == used


def test_an_invalid_import_names_each_row_and_writes_nothing(bank):
    items = published_items()[:3]
    items[0]["stem"] = "Changed stem that must not be saved."
    items[1]["choices"] = items[1]["choices"][:3]  # a published question needs 4 or 5
    items[2]["topics"] = ["no-such-topic"]
    before = snapshot()

    with pytest.raises(transfer.ImportFailed) as failed:
        transfer.import_questions(questions_to_csv(items), "csv", dry_run=False, as_admin=True)

    problems = failed.value.plan.problems
    assert any(p.startswith(f"row 3 ({items[1]['key']})") and "4 or 5" in p for p in problems)
    assert any(
        p.startswith(f"row 4 ({items[2]['key']})") and "no-such-topic" in p for p in problems
    )
    assert snapshot() == before


def test_a_dry_run_lists_what_would_change_and_writes_nothing(bank):
    items = snapshot()[:2]
    items[0]["stem"] = "A reworded stem."
    items[0]["choices"][0]["rationale"] = "A better rationale."
    new = dict(items[1], key="brand-new-question")
    before = snapshot()

    plan = transfer.import_questions(
        json.dumps([items[0], items[1], new]), "json", dry_run=True, as_admin=True
    )

    assert plan.changed == {items[0]["key"]: ["stem", "choices"]}
    assert plan.unchanged == [items[1]["key"]]
    assert plan.created == ["brand-new-question"]
    assert snapshot() == before


def test_without_keeping_statuses_new_questions_arrive_as_drafts_by_their_importer(bank):
    item = dict(snapshot()[0], key="imported-by-an-educator")
    educator = UserFactory(is_staff=True)
    transfer.import_questions(json.dumps([item]), "json", dry_run=False, by=educator)
    imported = Question.objects.get(key="imported-by-an-educator")
    assert (imported.status, imported.author) == ("draft", educator)


def test_commands_export_and_import(bank, tmp_path, capsys):
    path = tmp_path / "bank.xml"
    call_command("export_bank", "--format", "moodle", "--status", "published", "-o", str(path))
    call_command("import_bank", str(path), "--dry-run")
    out = capsys.readouterr().out
    assert "Would create 0" in out
    assert f"Unchanged: {Question.objects.published().count()}" in out
    assert "Dry run: nothing was written." in out


def test_an_educators_import_sends_changed_published_questions_back_to_review(bank):
    item = published_items()[0]
    item["stem"] = "Reworded by an import."
    item["last_reviewed_on"] = "2030-01-01"
    educator = UserFactory(is_staff=True)

    plan = transfer.import_questions(json.dumps([item]), "json", dry_run=False, by=educator)

    question = Question.objects.get(key=item["key"])
    assert plan.sent_to_review == [item["key"]]
    assert question.status == "review"
    assert str(question.last_reviewed_on) != "2030-01-01"
    assert question.status_changes.get().changed_by == educator
    assert question.history.first().history_change_reason == "Imported from a file"


def test_an_educators_json_import_does_not_touch_topics(bank):
    first = Question.objects.order_by("key").first()
    data = json.loads(transfer.export_questions(Question.objects.filter(pk=first.pk), "json"))
    data["topics"][0]["name"] = "Renamed by an import"
    transfer.import_questions(json.dumps(data), "json", dry_run=False, by=UserFactory())
    assert not Topic.objects.filter(name="Renamed by an import").exists()


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ([{"key": "x", "stem": 5}], "questions[0].stem: must be text"),
        ([{"key": "x", "choices": ["A", "B"]}], "questions[0].choices[1]: must be an object"),
        (["not an object"], "questions[0]: must be an object with the question's fields"),
        ({"questions": [], "topics": [{"name": "no slug"}]}, "topics[0].slug: required"),
        ({"questions": [], "references": [{"key": "r", "pmid": "abc"}]}, "references[0] (r)"),
    ],
)
def test_malformed_files_are_listed_as_problems_not_errors(bank, payload, message):
    with pytest.raises(transfer.ImportFailed) as failed:
        transfer.import_questions(json.dumps(payload), "json", dry_run=False, as_admin=True)
    assert any(message in p for p in failed.value.plan.problems)


def test_json_import_problems_are_located_by_their_path_in_the_file(bank):
    items = snapshot()[:4]
    items[3]["choices"][1] = {"correct": False, "rationale": "No text."}
    items[2]["citations"][0]["locator"] = None
    with pytest.raises(transfer.ImportFailed) as failed:
        transfer.import_questions(
            json.dumps({"questions": items}), "json", dry_run=True, as_admin=True
        )
    assert failed.value.plan.problems == [
        "questions[2].citations[0].locator: must be text",
        "questions[3].choices[1].text: required",
    ]


def test_rule_problems_of_a_json_import_name_the_question_by_path_and_key(bank):
    items = published_items()[:2]
    items[1]["choices"] = items[1]["choices"][:3]  # a published question needs 4 or 5
    with pytest.raises(transfer.ImportFailed) as failed:
        transfer.import_questions(json.dumps(items), "json", dry_run=True, as_admin=True)
    assert any(
        p.startswith(f"questions[1] ({items[1]['key']}): ") and "4 or 5" in p
        for p in failed.value.plan.problems
    )


def test_an_educators_file_may_say_any_status_and_review_date_as_long_as_they_are_text(bank):
    item = dict(snapshot()[0], key="new-one", status="whatever", last_reviewed_on="not a date")
    educator = UserFactory(is_staff=True)
    plan = transfer.import_questions(json.dumps([item]), "json", dry_run=True, by=educator)
    assert plan.created == ["new-one"]
    with pytest.raises(transfer.ImportFailed) as failed:
        transfer.import_questions(
            json.dumps([dict(item, status=5, last_reviewed_on=None)]),
            "json",
            dry_run=True,
            by=educator,
        )
    assert failed.value.plan.problems == [
        "questions[0].status: must be text",
        "questions[0].last_reviewed_on: must be text",
    ]
    # An administrator's import applies both, so both must be right.
    with pytest.raises(transfer.ImportFailed) as failed:
        transfer.import_questions(json.dumps([item]), "json", dry_run=True, as_admin=True)
    assert failed.value.plan.problems == [
        "questions[0].status: must be one of draft, review, published, retired (it is 'whatever')",
        "questions[0].last_reviewed_on: must be a date written YYYY-MM-DD (it is 'not a date')",
    ]
