"""The shipped question bank (fixtures/): it loads, passes validate_bank, covers every topic,
and is keyed only to facts that FACTS.md rates High or Moderate."""

import json
import os
import re
from collections import Counter
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from questions.interchange.bank_files import load_bank, read_question_files
from questions.models import Question, Topic

BANK = Path(settings.QUESTION_BANK_DIR)
FACTS_MD = Path(settings.BASE_DIR).parent / "shared" / "content" / "FACTS.md"
QUESTIONS = [item for _, item in read_question_files(BANK)]
REFERENCES = json.loads((BANK / "references.json").read_text())

# Document A's statements that FACTS.md marks correct (section 2, Document A table), by fact:
# ICN from the PFCN (31); PFCN from S1-S3 (32); exit with the sciatic and pudendal nerves (33);
# lower-buttock skin and winding around gluteus maximus (34); lateral anal / labial skin via the
# perineal branch (35); block indications (44); x-ray or ultrasound guidance (51).
DOCUMENT_A_CORRECT_FACTS = {31, 32, 33, 34, 35, 44, 51}
DOCUMENT_A_REFERENCES = {"darnis2008", "jottard2022", "yuruk2022"}
SOURCE_DOCUMENTS = {"doc-a", "doc-b"}


def fact_confidence() -> dict[int, str]:
    """Fact number -> confidence text, from the tables of FACTS.md section 1."""
    if not FACTS_MD.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{FACTS_MD} is missing: CI runs with ../shared beside the clone")
        pytest.skip(f"{FACTS_MD} not found (../shared is not beside this checkout)")
    section_1 = FACTS_MD.read_text().split("## 2.")[0]
    rows = re.findall(r"^\| (\d+) \|.*\| ([^|]+) \| [^|]+ \| [^|]+ \|$", section_1, re.M)
    return {int(number): confidence.strip() for number, confidence in rows}


def errata_ids() -> set[str]:
    return set(re.findall(r"^\| `([AB]-[a-z-]+)` \|", (BANK / "README.md").read_text(), re.M))


def rating_of(confidence: dict[int, str], question: dict, fact: int) -> str:
    """A fact's rating, or the rating of the part of it the question names in
    ``fact_parts`` where the sheet rates parts separately ("High (levels) / Low (...)")."""
    rating = confidence.get(fact, "missing")
    part = question.get("fact_parts", {}).get(str(fact))
    if part is None:
        return rating
    parts = {
        name.strip(): level.strip() for level, name in re.findall(r"([\w-]+) \(([^)]+)\)", rating)
    }
    return parts.get(part, f"missing part {part!r} in {rating!r}")


def test_fact_sheet_parses():
    confidence = fact_confidence()
    assert len(confidence) == 132  # 62 in sections 1a-1f, 70 added in 1h (2026-12-03)
    assert confidence[49] == "Low-Moderate"
    assert rating_of(confidence, {"fact_parts": {"28": "levels"}}, 28) == "High"
    assert rating_of(confidence, {"fact_parts": {"28": "communication"}}, 28) == "Low"


def test_every_question_is_keyed_only_to_high_or_moderate_facts():
    confidence = fact_confidence()
    for question in QUESTIONS:
        assert question.get("facts"), f"{question['key']} names no fact"
        for fact in question["facts"]:
            rating = rating_of(confidence, question, fact)
            assert "Low" not in rating and rating != "missing", (
                f"{question['key']} is keyed to fact {fact}, rated {rating}"
            )


def test_document_a_correct_statements_are_all_covered():
    covered = {fact for q in QUESTIONS for fact in q["facts"]}
    assert DOCUMENT_A_CORRECT_FACTS - covered == set()


def test_every_document_error_is_corrected_by_a_question_citing_that_document():
    corrected = Counter()
    for question in QUESTIONS:
        cited = {c["ref"] for c in question["citations"]}
        for erratum in question.get("errata", []):
            document = "doc-a" if erratum.startswith("A-") else "doc-b"
            assert document in cited, f"{question['key']} corrects {erratum} without citing it"
            assert f"[@{document}]" in question["explanation"], question["key"]
            corrected[erratum] += 1
    assert errata_ids() - set(corrected) == set()


def test_no_question_cites_an_unverified_work():
    unverified = {r["key"] for r in REFERENCES if not r["is_verified"]} - SOURCE_DOCUMENTS
    for question in QUESTIONS:
        assert not unverified & {c["ref"] for c in question["citations"]}, question["key"]


def test_reference_list_holds_what_is_cited_plus_document_a_references():
    cited = {c["ref"] for q in QUESTIONS for c in q["citations"]}
    listed = {r["key"] for r in REFERENCES}
    assert listed == cited | DOCUMENT_A_REFERENCES | SOURCE_DOCUMENTS


def test_the_key_is_not_cued_by_length_or_position():
    longest = 0
    positions = Counter()
    for question in QUESTIONS:
        lengths = [len(c["text"]) for c in question["choices"]]
        key = next(i for i, c in enumerate(question["choices"]) if c["correct"])
        positions["ABCDE"[key]] += 1
        if lengths[key] == max(lengths) and lengths.count(max(lengths)) == 1:
            longest += 1
    # With 4-5 choices, chance alone makes the key the longest in about 1 question in 4-5.
    assert longest / len(QUESTIONS) <= 0.35, f"key is the longest choice in {longest} questions"
    assert max(positions.values()) / len(QUESTIONS) <= 0.35, positions


@pytest.mark.django_db
@pytest.mark.slow
def test_the_bank_loads_validates_and_covers_every_topic(capsys):
    load_bank(directory=BANK)
    call_command("validate_bank")
    assert "no problems" in capsys.readouterr().out
    published = Question.objects.published()
    assert published.count() >= 60
    assert published.count() == len(QUESTIONS)
    for topic in Topic.objects.all():
        assert published.filter(topics=topic).count() >= 6, topic.name
