"""CSV and Moodle XML import/export of questions (questions.interchange): no database."""

import csv
import io
import json
from pathlib import Path

import pytest
from defusedxml.ElementTree import fromstring

from questions.interchange.formats import (
    CSV_COLUMNS,
    questions_from_csv,
    questions_from_moodle_xml,
    questions_to_csv,
    questions_to_moodle_xml,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def _strip(value):
    if isinstance(value, dict):
        return {key: _strip(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_strip(item) for item in value]
    if isinstance(value, str):
        return value.strip()
    return value


def normalise(item):
    """What an import gives back: status defaulted, authoring metadata dropped, stripped."""
    metadata = ("facts", "fact_parts", "errata")
    kept = {key: value for key, value in item.items() if key not in metadata}
    kept.setdefault("status", "published")
    return _strip(kept)


def load_fixture_items():
    items = []
    for path in sorted((FIXTURES / "questions").glob("*.json")):
        items.extend(json.loads(path.read_text(encoding="utf-8")))
    return items


def load_references():
    references = {}
    for ref in json.loads((FIXTURES / "references.json").read_text(encoding="utf-8")):
        text = ". ".join(str(ref[k]) for k in ("authors", "title", "journal", "year") if ref.get(k))
        url = ref.get("url") or (f"https://doi.org/{ref['doi']}" if ref.get("doi") else "")
        references[ref["key"]] = {"text": text, "url": url}
    return references


FIXTURE_ITEMS = load_fixture_items()

TRICKY = {
    "key": "tricky-text",
    "topics": ["superior-cluneal", "block-technique"],
    "difficulty": "hard",
    "stem": (
        'A 40-year-old "weekend" cyclist, a <keen> rider & runner, has pain 3 × 4 cm wide.\n\n'
        "It is worse on the left – the side he falls on.\nLine two, same paragraph, "
        "with  two spaces and 'single quotes'."
    ),
    "lead_in": "Which nerve is it: A < B, or B > A?",
    "objective": "-Recognise odd text, e.g. <sup>[1]</sup> and ]]> and &amp;.",
    "explanation": (
        "First, it is the SCN [@gray1918]; a literal [1] stays text.\n\n"
        "Unknown markers [@nobody] stay as written, ref again [@gray1918] and [@doc-b]."
    ),
    "choices": [
        {"text": "=SUM(1)", "correct": False, "rationale": "+1 is not a nerve, nor is @here."},
        {"text": "Superior cluneal nerve, L1–L3", "correct": True, "rationale": 'It is "the" one.'},
        {"text": "'=quoted formula", "correct": False, "rationale": "-5 mm away, <b>not</b> it."},
        {"text": "Middle cluneal, S1, S2, S3", "correct": False, "rationale": "Too low; Ünïcödé."},
    ],
    "citations": [
        {"ref": "gray1918", "locator": "p. 959: nerves | with a pipe, \"quotes\" & 'more'"},
        {"ref": "doc-b", "locator": ""},
        {"ref": "missing-ref", "locator": "=A1"},
    ],
}


# ---------------------------------------------------------------- round trips


def test_fixtures_are_loaded():
    assert len(FIXTURE_ITEMS) >= 60
    assert any("facts" in item for item in FIXTURE_ITEMS)


@pytest.mark.parametrize("item", FIXTURE_ITEMS, ids=lambda item: item["key"])
def test_fixture_item_round_trips_through_csv(item):
    items, problems = questions_from_csv(questions_to_csv([item]))
    assert problems == []
    assert items == [normalise(item)]


@pytest.mark.parametrize("item", FIXTURE_ITEMS, ids=lambda item: item["key"])
def test_fixture_item_round_trips_through_moodle_xml(item):
    items, problems = questions_from_moodle_xml(questions_to_moodle_xml([item], load_references()))
    assert problems == []
    assert items == [normalise(item)]


def test_whole_bank_round_trips_in_one_file():
    expected = [normalise(item) for item in FIXTURE_ITEMS]
    assert questions_from_csv(questions_to_csv(FIXTURE_ITEMS)) == (expected, [])
    xml = questions_to_moodle_xml(FIXTURE_ITEMS, load_references())
    assert questions_from_moodle_xml(xml) == (expected, [])


def test_tricky_item_round_trips_through_csv():
    text = questions_to_csv([TRICKY])
    assert questions_from_csv(text) == ([normalise(TRICKY)], [])
    # With a BOM and an explicit status, as a spreadsheet might save it.
    assert questions_from_csv("\ufeff" + text) == ([normalise(TRICKY)], [])


def test_csv_layout_and_formula_escaping():
    rows = list(csv.reader(io.StringIO(questions_to_csv([TRICKY]), newline="")))
    assert rows[0] == list(CSV_COLUMNS)
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["status"] == "published"
    assert row["topics"] == "superior-cluneal; block-technique"
    assert row["choice_a"] == "'=SUM(1)"
    assert row["rationale_a"] == "'+1 is not a nerve, nor is @here."
    assert row["choice_c"] == "''=quoted formula"
    assert row["rationale_c"] == "'-5 mm away, <b>not</b> it."
    assert row["objective"].startswith("'-Recognise")
    assert row["choice_e"] == row["rationale_e"] == ""
    assert row["correct"] == "B"
    assert row["citations"].split("\n") == [
        "gray1918 | p. 959: nerves | with a pipe, \"quotes\" & 'more'",
        "doc-b",
        "missing-ref | =A1",
    ]
    assert "\n\n" in row["stem"]


def test_tricky_item_round_trips_through_moodle_xml():
    references = {"gray1918": {"text": "Gray H. Anatomy & more", "url": "https://x.org/?a=1&b=2"}}
    xml = questions_to_moodle_xml([TRICKY], references)
    assert questions_from_moodle_xml(xml) == ([normalise(TRICKY)], [])


def test_moodle_xml_layout():
    references = {
        "gray1918": {"text": "Gray H. Anatomy of the Human Body", "url": "https://example.org/g"},
        "doc-b": {"text": "WikiMD. Cluneal nerves"},
    }
    root = fromstring(questions_to_moodle_xml([TRICKY], references))
    assert root.tag == "quiz"
    (question,) = root.findall("question")
    assert question.get("type") == "multichoice"
    assert question.findtext("name/text") == question.findtext("idnumber") == "tricky-text"
    for tag, value in [
        ("defaultgrade", "1"),
        ("penalty", "0"),
        ("hidden", "0"),
        ("single", "true"),
        ("shuffleanswers", "1"),
        ("answernumbering", "ABCD"),
    ]:
        assert question.findtext(tag) == value
    text = question.find("questiontext")
    assert text.get("format") == "html"
    html = text.findtext("text")
    assert html.startswith("<p>A 40-year-old &quot;weekend&quot; cyclist, a &lt;keen&gt; rider")
    assert "3 × 4 cm" in html and "left – the side" in html
    assert "<br>Line two" in html
    assert html.endswith(
        '<p class="lead-in"><strong>Which nerve is it: A &lt; B, or B &gt; A?</strong></p>'
    )
    feedback = question.findtext("generalfeedback/text")
    assert feedback.startswith('<p class="objective"><strong>Objective:</strong> -Recognise')
    assert "the SCN <sup>[1]</sup>; a literal [1] stays text." in feedback
    assert "[@nobody]" in feedback
    assert "<sup>[1]</sup> and <sup>[2]</sup>.</p>" in feedback
    assert '<ol class="references"><li data-ref="gray1918" data-locator="p. 959:' in feedback
    assert 'Gray H. Anatomy of the Human Body <a href="https://example.org/g">' in feedback
    assert '<li data-ref="doc-b" data-locator="">WikiMD. Cluneal nerves</li>' in feedback
    assert '<li data-ref="missing-ref" data-locator="=A1">missing-ref</li>' in feedback
    answers = question.findall("answer")
    assert [a.get("fraction") for a in answers] == ["0", "100", "0", "0"]
    assert answers[0].findtext("text") == "=SUM(1)"
    assert answers[1].findtext("feedback/text") == "It is &quot;the&quot; one."
    assert [t.text for t in question.findall("tags/tag/text")] == [
        "topic:superior-cluneal",
        "topic:block-technique",
        "difficulty:hard",
        "status:published",
    ]


def test_moodle_keeps_line_breaks_and_idnumbers():
    item = dict(
        TRICKY,
        key="icn_1-b",
        citations=[{"ref": "gray1918", "locator": "line one\nline two & <three>"}],
        explanation="Plain [@gray1918].",
    )
    xml = questions_to_moodle_xml([item], {})
    assert questions_from_moodle_xml(xml) == ([normalise(item)], [])
    # CSV holds one citation a line, so a locator's line break becomes a space.
    (back,), problems = questions_from_csv(questions_to_csv([item]))
    assert back["citations"] == [{"ref": "gray1918", "locator": "line one line two & <three>"}]


def test_exports_refuse_what_the_format_cannot_hold():
    two_keys = dict(TRICKY, choices=[dict(c, correct=True) for c in TRICKY["choices"]])
    with pytest.raises(ValueError, match="marked correct"):
        questions_to_csv([two_keys])
    with pytest.raises(ValueError, match="marked correct"):
        questions_to_moodle_xml([two_keys], {})
    six = dict(TRICKY, choices=TRICKY["choices"] + TRICKY["choices"][:2])
    with pytest.raises(ValueError, match="6 choices"):
        questions_to_csv([six])


# ---------------------------------------------------------------- CSV problems


def csv_text(rows, header=CSV_COLUMNS):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(column, "") for column in header])
    return out.getvalue()


def good_row(key, **overrides):
    row = {
        "key": key,
        "difficulty": "easy",
        "topics": "inferior-cluneal",
        "stem": "A cyclist has pain.\n\nIt is worse when seated.",
        "lead_in": "Which nerve?",
        "choice_a": "PFCN",
        "choice_b": "Pudendal",
        "choice_c": "Sciatic",
        "choice_d": "Obturator",
        "correct": "a",
        "citations": "gray1918 | p. 959\n\ndoc-b",
    }
    return row | overrides


def test_csv_import_reports_problems_per_row():
    text = csv_text(
        [
            good_row("bad-difficulty", difficulty="extreme"),
            good_row("bad-correct", correct="E"),
            good_row("fine", status="Draft"),
            {},
            good_row("", stem="No key"),
            good_row("gap", choice_b=""),
            good_row("orphan", rationale_e="Why E?"),
            good_row("fine"),
        ]
    )
    items, problems = questions_from_csv(text)
    assert problems == [
        "row 2: difficulty: must be easy, medium or hard (it is 'extreme')",
        "row 3: correct: must be one of the filled choices A-D (it is 'E')",
        "row 6: key: required",
        "row 7: choice_b: empty, but a later choice is filled; fill the choices from A "
        "without gaps",
        "row 8: rationale_e: there is no choice E to explain",
        "row 9: key: 'fine' is also used in row 4",
    ]
    assert [item["key"] for item in items] == ["fine"]
    (item,) = items
    assert item["status"] == "draft"
    assert item["stem"] == "A cyclist has pain.\n\nIt is worse when seated."
    assert [c["correct"] for c in item["choices"]] == [True, False, False, False]
    assert item["citations"] == [
        {"ref": "gray1918", "locator": "p. 959"},
        {"ref": "doc-b", "locator": ""},
    ]


def test_csv_import_reports_missing_columns_once():
    header = [c for c in CSV_COLUMNS if c not in ("lead_in", "correct")]
    items, problems = questions_from_csv(csv_text([good_row("a"), good_row("b")], header))
    assert items == []
    assert problems == ["the file is missing the column(s): lead_in, correct"]


def test_csv_import_accepts_optional_columns_missing_and_loose_header():
    header = [c for c in CSV_COLUMNS if c not in ("status", "choice_e", "rationale_e")]
    text = csv_text([good_row("a")], header)
    text = "\ufeff" + text.replace("lead_in", "Lead In", 1)
    items, problems = questions_from_csv(text)
    assert problems == []
    assert items[0]["status"] == "published"
    assert items[0]["lead_in"] == "Which nerve?"


def test_csv_import_of_nothing():
    assert questions_from_csv("") == (
        [],
        ["the file has no header row; row 1 must name the columns"],
    )
    assert questions_from_csv(csv_text([])) == ([], [])


# ---------------------------------------------------------------- Moodle XML from Moodle

MOODLE_EXPORT = """<?xml version="1.0" encoding="UTF-8"?>
<quiz>
<!-- question: 0  -->
  <question type="category">
    <category>
      <text>$course$/top/Default for PMR board review/Cluneal nerves</text>
    </category>
    <info format="moodle_auto_format">
      <text></text>
    </info>
    <idnumber></idnumber>
  </question>

<!-- question: 4312  -->
  <question type="multichoice">
    <name>
      <text>ICN origin (Übung 1)</text>
    </name>
    <questiontext format="html">
      <text><![CDATA[<p dir="ltr" style="text-align: left;">A 40-year-old man has
        burning pain over the lower buttock&nbsp;when he sits on a hard chair.<br></p>
        <p dir="ltr" style="text-align: left;">Which nerve gives the inferior cluneal
        nerves?</p>]]></text>
    </questiontext>
    <generalfeedback format="html">
      <text><![CDATA[<p>The inferior cluneal nerves are branches of the <b>PFCN</b>.</p>
        <ul><li>Not the pudendal nerve</li></ul>]]></text>
    </generalfeedback>
    <defaultgrade>1.0000000</defaultgrade>
    <penalty>0.3333333</penalty>
    <hidden>0</hidden>
    <idnumber></idnumber>
    <single>true</single>
    <shuffleanswers>true</shuffleanswers>
    <answernumbering>abc</answernumbering>
    <showstandardinstruction>0</showstandardinstruction>
    <correctfeedback format="html">
      <text>Your answer is correct.</text>
    </correctfeedback>
    <partiallycorrectfeedback format="html">
      <text>Your answer is partially correct.</text>
    </partiallycorrectfeedback>
    <incorrectfeedback format="html">
      <text>Your answer is incorrect.</text>
    </incorrectfeedback>
    <shownumcorrect/>
    <answer fraction="100" format="html">
      <text><![CDATA[<p dir="ltr">Posterior femoral cutaneous nerve<br></p>]]></text>
      <feedback format="html">
        <text><![CDATA[<p>Correct: the ICN are its gluteal branches.</p>]]></text>
      </feedback>
    </answer>
    <answer fraction="0" format="html">
      <text><![CDATA[<p>Pudendal nerve</p>]]></text>
      <feedback format="html">
        <text><![CDATA[<p>It supplies the perineum &amp; anal canal.</p>]]></text>
      </feedback>
    </answer>
    <answer fraction="0" format="moodle_auto_format">
      <text>Inferior gluteal nerve</text>
      <feedback format="moodle_auto_format">
        <text>Motor only.</text>
      </feedback>
    </answer>
    <answer fraction="-25" format="html">
      <text>Sciatic nerve</text>
      <feedback format="html">
        <text></text>
      </feedback>
    </answer>
    <tags>
      <tag><text>cluneal</text></tag>
      <tag><text>topic:inferior-cluneal</text></tag>
    </tags>
  </question>

<!-- question: 4313  -->
  <question type="multichoice">
    <name>
      <text>SCN crest</text>
    </name>
    <questiontext format="html">
      <text><![CDATA[<div>The superior cluneal nerves cross the iliac crest. Where do they
        cross it? Choose the best answer.</div>]]></text>
    </questiontext>
    <generalfeedback format="html"><text></text></generalfeedback>
    <idnumber>SCN-01</idnumber>
    <single>true</single>
    <answer fraction="100" format="html"><text>About 7 cm from the midline</text></answer>
    <answer fraction="0" format="html"><text>At the ASIS</text></answer>
  </question>
</quiz>
"""


def test_foreign_moodle_questions_come_in_as_drafts():
    items, problems = questions_from_moodle_xml(MOODLE_EXPORT)
    assert problems == []
    first, second = items
    assert first == {
        "key": "icn-origin-ubung-1",
        "topics": ["inferior-cluneal"],
        "difficulty": "medium",
        "status": "draft",
        "stem": "A 40-year-old man has burning pain over the lower buttock when he sits on a "
        "hard chair.",
        "lead_in": "Which nerve gives the inferior cluneal nerves?",
        "objective": "",
        "explanation": "The inferior cluneal nerves are branches of the PFCN.\n\n"
        "Not the pudendal nerve",
        "choices": [
            {
                "text": "Posterior femoral cutaneous nerve",
                "correct": True,
                "rationale": "Correct: the ICN are its gluteal branches.",
            },
            {
                "text": "Pudendal nerve",
                "correct": False,
                "rationale": "It supplies the perineum & anal canal.",
            },
            {"text": "Inferior gluteal nerve", "correct": False, "rationale": "Motor only."},
            {"text": "Sciatic nerve", "correct": False, "rationale": ""},
        ],
        "citations": [],
    }
    assert second["key"] == "scn-01"  # the idnumber, made a valid key
    assert second["lead_in"] == "Where do they cross it?"
    assert (
        second["stem"]
        == "The superior cluneal nerves cross the iliac crest. Choose the best answer."
    )
    assert second["status"] == "draft"


def test_foreign_name_slug_is_capped():
    xml = MOODLE_EXPORT.replace("ICN origin (Übung 1)", "Very long name " * 10)
    items, problems = questions_from_moodle_xml(xml)
    assert problems == []
    assert len(items[0]["key"]) <= 60
    assert items[0]["key"].startswith("very-long-name-very-long-name")
    assert not items[0]["key"].endswith("-")


def question_xml(name, body, qtype="multichoice"):
    return f"""
  <question type="{qtype}">
    <name><text>{name}</text></name>
    <questiontext format="html"><text><![CDATA[{body}]]></text></questiontext>
  </question>"""


def answers_xml(*fractions, single="true"):
    answers = "".join(
        f'<answer fraction="{f}" format="html"><text>Nerve {i}</text></answer>'
        for i, f in enumerate(fractions)
    )
    return f"<single>{single}</single>{answers}"


def quiz(*questions):
    return "<?xml version='1.0' encoding='UTF-8'?>\n<quiz>" + "".join(questions) + "</quiz>"


def multichoice(name, fractions=(100, 0, 0, 0), single="true", text="<p>Which nerve?</p>"):
    return question_xml(name, text).replace(
        "</questiontext>", "</questiontext>" + answers_xml(*fractions, single=single)
    )


def test_moodle_import_problems_name_the_question():
    xml = quiz(
        question_xml("Cluneal pool", "", qtype="category"),
        multichoice("Fine one"),
        multichoice("Pick two", single="false", fractions=(50, 50, 0, 0)),
        multichoice("Two keys", fractions=(100, 100, 0, 0)),
        question_xml("Describe the MCN", "<p>Describe the MCN course.</p>", qtype="essay"),
        multichoice("No key", fractions=(0, 0, 0, 0)),
        multichoice("No question", text="<p>The SCN cross the crest.</p>"),
        multichoice("With picture", text='<p><img src="@@PLUGINFILE@@/x.png">Which?</p>'),
    )
    items, problems = questions_from_moodle_xml(xml)
    assert [item["key"] for item in items] == ["fine-one"]
    assert problems == [
        "question 2 (Pick two): it allows several answers; only single-answer questions can "
        "be imported",
        "question 2 (Pick two): 2 answers are marked correct; exactly one must be",
        "question 3 (Two keys): 2 answers are marked correct; exactly one must be",
        "question 4 (Describe the MCN): it is an essay question; only single-answer "
        "multiple-choice questions can be imported",
        "question 5 (No key): no answers are marked correct; exactly one must be",
        "question 6 (No question): cannot tell the lead-in from the stem; end the question "
        "with a line that asks it",
        "question 7 (With picture): it contains an image, which the bank cannot store",
    ]


def test_single_false_alone_is_a_problem():
    items, problems = questions_from_moodle_xml(quiz(multichoice("Multi", single="false")))
    assert items == []
    assert problems == [
        "question 1 (Multi): it allows several answers; only single-answer questions can be "
        "imported"
    ]


def test_duplicate_keys_in_moodle_file():
    items, problems = questions_from_moodle_xml(quiz(multichoice("Same"), multichoice("Same")))
    assert [item["key"] for item in items] == ["same"]
    assert problems == ["question 2 (Same): the key 'same' is also used by question 1"]


def test_malformed_xml_is_one_problem():
    items, problems = questions_from_moodle_xml("<quiz><question type='multichoice'></quiz>")
    assert items == []
    assert len(problems) == 1
    assert problems[0].startswith("the file is not well-formed XML")


def test_not_a_quiz():
    assert questions_from_moodle_xml("<html><body/></html>") == (
        [],
        ["the file is not a Moodle XML quiz: its root element is <html>"],
    )


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE quiz [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<quiz><question type="multichoice"><name><text>&lol9;</text></name></question></quiz>
"""


def test_xml_bomb_is_refused_not_expanded():
    items, problems = questions_from_moodle_xml(BILLION_LAUGHS)
    assert items == []
    assert len(problems) == 1
    assert "document type or entities" in problems[0]


def test_external_entity_is_refused():
    xxe = '<?xml version="1.0"?><!DOCTYPE quiz [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    items, problems = questions_from_moodle_xml(xxe + "<quiz><question>&x;</question></quiz>")
    assert items == []
    assert len(problems) == 1


# ---------------------------------------------------------------- schema problems by path


def test_csv_schema_problems_name_the_row_and_column():
    text = csv_text(
        [
            good_row("cited-twice", citations="gray1918 | p. 959\ngray1918 | p. 960"),
            good_row("odd-status", status="pending"),
            good_row("loose-words", difficulty=" HARD ", status="In Review"),
        ]
    )
    items, problems = questions_from_csv(text)
    assert problems == [
        "row 2: citations: cites 'gray1918' more than once",
        "row 3: status: must be one of draft, review, published, retired (it is 'pending')",
    ]
    assert [(i["key"], i["difficulty"], i["status"]) for i in items] == [
        ("loose-words", "hard", "review")
    ]


def tagged(question, *tags):
    tag_xml = "".join(f"<tag><text>{tag}</text></tag>" for tag in tags)
    return question.replace("</question>", f"<tags>{tag_xml}</tags></question>")


def test_moodle_schema_problems_name_the_question_and_its_part():
    blank_answer = multichoice("Blank answer").replace("<text>Nerve 1</text>", "<text> </text>")
    xml = quiz(
        tagged(multichoice("Bad tags"), "difficulty:brutal", "status:pending"),
        blank_answer,
        multichoice("Six answers", fractions=(100, 0, 0, 0, 0, 0)),
        tagged(multichoice("Loose tags"), "difficulty: Hard", "status:In Review", "topic:scn"),
    )
    items, problems = questions_from_moodle_xml(xml)
    assert problems == [
        "question 1 (Bad tags): difficulty tag: must be easy, medium or hard (it is 'brutal')",
        "question 1 (Bad tags): status tag: must be one of draft, review, published, retired "
        "(it is 'pending')",
        "question 2 (Blank answer): answer 2: required",
        "question 3 (Six answers): answers: at most 5 (it has 6)",
    ]
    (item,) = items
    assert (item["key"], item["difficulty"], item["status"], item["topics"]) == (
        "loose-tags",
        "hard",
        "review",
        ["scn"],
    )


# ---------------------------------------------------------------- Moodle HTML


def test_html_nested_a_thousand_deep_is_a_listed_problem_not_a_crash():
    deep = "<div>" * 1000 + "Which nerve?" + "</div>" * 1000
    unclosed = "<b>" * 1000 + "Why."
    xml = quiz(
        multichoice("Deep text", text=deep),
        multichoice("Deep feedback").replace(
            "<text>Nerve 0</text>",
            f"<text>Nerve 0</text><feedback><text><![CDATA[{unclosed}]]></text></feedback>",
        ),
    )
    items, problems = questions_from_moodle_xml(xml)
    assert items == []
    assert problems == [
        "question 1 (Deep text): question text: its HTML nests elements more than 100 deep, "
        "too deep to read",
        "question 2 (Deep feedback): answer 1 feedback: its HTML nests elements more than "
        "100 deep, too deep to read",
    ]


def test_html_a_hundred_deep_is_still_read():
    text = "<p>A cyclist has pain.</p>" + "<div>" * 99 + "<p>Which nerve?</p>" + "</div>" * 99
    (item,), problems = questions_from_moodle_xml(quiz(multichoice("Deep", text=text)))
    assert problems == []
    assert (item["stem"], item["lead_in"]) == ("A cyclist has pain.", "Which nerve?")


def test_foreign_html_drops_scripts_comments_and_reference_lists():
    feedback = (
        "<p>Branches of the PFCN<sup>[1]</sup>.<!-- internal note --></p>"
        "<script>alert('x')</script><style>p {}</style>"
        '<ol class="references"><li>Gray H. Anatomy.</li></ol>'
        "<p>Not the pudendal<br>nerve.</p>"
    )
    question = multichoice("Foreign").replace(
        "</questiontext>",
        f"</questiontext><generalfeedback><text><![CDATA[{feedback}]]></text></generalfeedback>",
    )
    (item,), problems = questions_from_moodle_xml(quiz(question))
    assert problems == []
    assert item["explanation"] == "Branches of the PFCN[1].\n\nNot the pudendal\n\nnerve."
