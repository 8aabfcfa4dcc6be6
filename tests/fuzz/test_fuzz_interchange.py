"""The import readers fed arbitrary bytes and structured junk: the CSV and Moodle XML readers,
the bank-item schema, and the whole import (JSON, CSV, Moodle XML) as a dry run. Each must
answer with items or a list of problems, and never raise."""

import copy
import json
import re
from xml.sax.saxutils import escape

import pytest
from hypothesis import event, example, given
from hypothesis import strategies as st

from questions.interchange import transfer
from questions.interchange.formats import (
    CSV_COLUMNS,
    questions_from_csv,
    questions_from_moodle_xml,
    questions_to_csv,
    questions_to_moodle_xml,
)
from questions.interchange.schema import check_item, clean_text, dump_item
from questions.models import Question
from tests.factories import ReferenceFactory, TopicFactory
from tests.fuzz.helpers import fuzz_settings

# --------------------------------------------------------------------------- strategies

# Text as an upload could decode to it (the form decodes strictly, so no lone surrogates),
# and bytes read every way.
any_text = st.one_of(
    st.text(max_size=80),
    st.binary(max_size=120).map(lambda b: b.decode("utf-8", "replace")),
    st.binary(max_size=120).map(lambda b: b.decode("latin-1")),
)
words = st.sampled_from(
    ["", " ", "A", "b", "easy", " HARD ", "in review", "Published", "x", "fz-ref", "fz-topic",
     "=1+1", "'-x", "\t", "é", "\u202e", "Which nerve?", "[@fz-ref]", "1e309", "NaN", "-50"]
)  # fmt: skip
cells = st.one_of(words, st.text(max_size=12))
json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), cells)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(cells, inner, max_size=3),
    max_leaves=8,
)

choice = st.fixed_dictionaries(
    {}, optional={"text": json_values, "correct": json_values, "rationale": json_values}
)
citation = st.fixed_dictionaries({}, optional={"ref": json_values, "locator": json_values})
item_fields = {
    "key": st.one_of(st.sampled_from(["fz-new", "fz-other", "", "Bad Key"]), json_values),
    "status": st.one_of(st.sampled_from(["draft", "review", "published", "retired"]), json_values),
    "difficulty": st.one_of(st.sampled_from(["easy", "Medium", "HARD"]), json_values),
    "topics": st.one_of(st.lists(st.sampled_from(["fz-topic", "x"]), max_size=2), json_values),
    "stem": st.one_of(st.just("A cyclist has pain."), json_values),
    "lead_in": st.one_of(st.just("Which nerve?"), json_values),
    "objective": json_values,
    "explanation": st.one_of(st.just("As shown [@fz-ref]."), json_values),
    "choices": st.one_of(st.lists(choice, max_size=6), json_values),
    "citations": st.one_of(st.lists(citation, max_size=3), json_values),
    "last_reviewed_on": st.one_of(st.sampled_from(["2024-01-31", "2024-13-01", ""]), json_values),
}  # fmt: skip
items = st.fixed_dictionaries({}, optional=item_fields)
json_files = st.one_of(
    st.lists(st.one_of(items, json_values), max_size=3),
    st.fixed_dictionaries(
        {"questions": st.one_of(st.lists(items, max_size=3), json_values)},
        optional={"topics": json_values, "references": json_values},
    ),
    json_values,
).map(json.dumps)


@st.composite
def csv_files(draw):
    header = draw(
        st.one_of(
            st.just(list(CSV_COLUMNS)),
            st.permutations(list(CSV_COLUMNS)),
            st.lists(st.one_of(st.sampled_from(CSV_COLUMNS), cells), max_size=24),
        )
    )
    rows = draw(st.lists(st.lists(cells, max_size=len(CSV_COLUMNS) + 2), max_size=3))
    quote = draw(st.sampled_from([json.dumps, lambda cell: cell]))  # quoted, or raw and broken
    return "\n".join(",".join(quote(cell) for cell in row) for row in [header, *rows])


# HTML as Moodle's editor, this site's export or a hostile file may write it.
html_tokens = st.one_of(
    st.sampled_from(
        ["<p>", "</p>", '<p class="lead-in">', '<p class="objective">', "<strong>", "</strong>",
         "<br>", "<sup>[1]</sup>", "<sup>[9]</sup>", "<div>", "</div>", "<li>", "</li>",
         '<ol class="references">', '<li data-ref="fz-ref" data-locator="p. 1">', "</ol>",
         "<img src=x>", "<script>", "</script>", "<table><tr><td>", "&nbsp;", "&amp;",
         "&#0;", "&bogus;", "<!--", "-->", "<?pi x?>", "<svg><p>", "</body></html>"]
    ),
    words,
    st.integers(min_value=0, max_value=1200).map(lambda n: "<b>" * n),  # past libxml2's 256
)  # fmt: skip
html = st.lists(html_tokens, max_size=12).map(lambda parts: "".join(parts).replace("]]>", ""))


def _text(tag, body, fmt=None):
    attribute = f' format="{escape(fmt)}"' if fmt is not None else ""
    return f"<{tag}{attribute}><text><![CDATA[{body}]]></text></{tag}>"


formats = st.sampled_from([None, "html", "moodle_auto_format", "plain_text", "markdown", "x"])
answers = st.builds(
    lambda fraction, fmt, text, feedback: (
        f'<answer fraction="{escape(fraction, {chr(34): "&quot;"})}">'
        f"<text><![CDATA[{text}]]></text>" + _text("feedback", feedback, fmt) + "</answer>"
    ),
    st.one_of(st.sampled_from(["100", "0", "-25", "abc", "", "nan", "inf"]), words),
    formats,
    html,
    html,
)
questions = st.builds(
    lambda kind, name, idnumber, single, text, feedback, fmt, answers, tags: (
        f'<question type="{escape(kind, {chr(34): "&quot;"})}">'
        f"<name><text>{escape(name)}</text></name><idnumber>{escape(idnumber)}</idnumber>"
        f"<single>{escape(single)}</single>"
        + _text("questiontext", text, fmt)
        + _text("generalfeedback", feedback, fmt)
        + "".join(answers)
        + "<tags>"
        + "".join(f"<tag><text>{escape(tag)}</text></tag>" for tag in tags)
        + "</tags></question>"
    ),
    st.sampled_from(["multichoice", "category", "truefalse", "", "MultiChoice"]),
    cells,
    st.one_of(st.sampled_from(["", "fz-new", "SCN 01"]), cells),
    st.sampled_from(["true", "false", "0", ""]),
    html,
    html,
    formats,
    st.lists(answers, max_size=6),
    st.lists(
        st.one_of(
            st.sampled_from(["difficulty:hard", "difficulty: x", "status:In Review", "status:"]),
            st.sampled_from(["topic:fz-topic", "topic:", "tag"]),
            cells.map(lambda c: "status:" + c),
        ),
        max_size=3,
    ),
)
moodle_files = st.one_of(
    st.lists(questions, max_size=3).map(lambda qs: "<quiz>" + "".join(qs) + "</quiz>"),
    st.lists(questions, max_size=2).map(lambda qs: "<quiz>" + "".join(qs)),  # not well-formed
    st.sampled_from(
        ["", "<quiz/>", "<notquiz/>", '<!DOCTYPE quiz [<!ENTITY a "b">]><quiz>&a;</quiz>',
         '<?xml version="1.0" encoding="UTF-16"?><quiz/>', "<quiz>&undefined;</quiz>",
         "<quiz>" + "<x>" * 5000 + "</x>" * 5000 + "</quiz>"]
    ),
)  # fmt: skip


def assert_items_or_problems(result):
    """A reader's answer: canonical bank items, and problems as text."""
    found, problems = result
    assert isinstance(found, list) and isinstance(problems, list)
    assert all(isinstance(problem, str) and problem for problem in problems)
    for item in found:
        checked, item_problems = check_item(item)
        assert item_problems == [] and dump_item(checked) == item
    event("items" if found else "problems" if problems else "nothing")


# --------------------------------------------------------------------------- the readers


@fuzz_settings(150)
@given(text=st.one_of(any_text, csv_files()))
@example(text='key,difficulty\n"unclosed')
@example(text="\ufeff" + ",".join(CSV_COLUMNS) + "\n" + ",".join(["x"] * len(CSV_COLUMNS)))
def test_the_csv_reader_answers_any_text_with_items_or_problems(text):
    assert_items_or_problems(questions_from_csv(text))


@fuzz_settings(150)
@given(text=st.one_of(any_text, moodle_files))
@example(text="<quiz>" + "<question>" * 3000 + "</question>" * 3000 + "</quiz>")
def test_the_moodle_reader_answers_any_text_with_items_or_problems(text):
    assert_items_or_problems(questions_from_moodle_xml(text))


@fuzz_settings(200)
@given(data=st.one_of(items, json_values))
def test_the_schema_answers_any_value_with_an_item_or_located_problems(data):
    checked, problems = check_item(data)
    assert (checked is None) == bool(problems)
    for problem in problems:
        assert problem.message
        assert problem.located("questions[0]", joined=True).startswith("questions[0]")


# --------------------------------------------------------------------------- round trips

slugs = st.from_regex(r"[a-z0-9][a-z0-9_-]{0,20}", fullmatch=True)


@st.composite
def bank_items(draw):
    """Any item the formats can hold: one to five choices, one correct, any text."""
    count = draw(st.integers(min_value=1, max_value=5))
    correct = draw(st.integers(min_value=0, max_value=count - 1))
    text = st.text(max_size=30)
    return {
        "key": draw(slugs),
        "difficulty": draw(st.sampled_from(["easy", "medium", "hard"])),
        "status": draw(st.sampled_from(["draft", "review", "published", "retired"])),
        "topics": draw(st.lists(slugs, max_size=2)),
        "stem": draw(text),
        "lead_in": draw(text),
        "objective": draw(text),
        "explanation": draw(st.one_of(text, st.just("As shown [@fz-ref]; [@other]."))),
        "choices": [
            {
                "text": draw(text.filter(lambda t: clean_text(t).strip())),
                "correct": position == correct,
                "rationale": draw(text),
            }
            for position in range(count)
        ],
        "citations": [
            {"ref": ref, "locator": draw(text)}
            for ref in draw(st.lists(slugs, max_size=3, unique=True))
        ],
    }


def _as_read_back(item, *, one_line_locators=False):
    """What a reader gives back: texts cleaned and stripped, locators stripped (CSV holds
    a locator on one line)."""
    cleaned = copy.deepcopy(item)
    for choice in cleaned["choices"]:
        choice.update(text=clean_text(choice["text"]), rationale=clean_text(choice["rationale"]))
    for name in ("stem", "lead_in", "objective", "explanation"):
        cleaned[name] = clean_text(cleaned[name])
    for citation in cleaned["citations"]:
        locator = clean_text(citation["locator"]).strip()
        citation["locator"] = re.sub(r"\s*\n\s*", " ", locator) if one_line_locators else locator
    return dump_item(check_item(cleaned)[0])


@fuzz_settings(100)
@given(item=bank_items())
def test_any_item_round_trips_through_csv_and_moodle_xml(item):
    references = {"fz-ref": {"text": "A & B <i>", "url": "https://example.org/?a=1&b=2"}}
    moodle = questions_from_moodle_xml(questions_to_moodle_xml([item], references))
    assert moodle == ([_as_read_back(item)], [])
    assert questions_from_csv(questions_to_csv([item])) == (
        [_as_read_back(item, one_line_locators=True)],
        [],
    )


# --------------------------------------------------------------------------- the whole import


@pytest.fixture
def known(db):
    TopicFactory(slug="fz-topic")
    ReferenceFactory(key="fz-ref")


@fuzz_settings(60)
@given(
    upload=st.one_of(
        st.tuples(st.just("json"), st.one_of(json_files, any_text)),
        st.tuples(st.just("csv"), st.one_of(csv_files(), any_text)),
        st.tuples(st.just("moodle"), moodle_files),
    ),
    as_admin=st.booleans(),
)
@example(upload=("json", "[" * 100_000), as_admin=False)
@example(upload=("json", json.dumps([{"choices": [{"correct": True}]}])), as_admin=True)
def test_an_import_answers_any_file_with_a_plan_or_problems(known, upload, as_admin):
    fmt, text = upload
    before = Question.objects.count()
    try:
        plan = transfer.import_questions(text, fmt, dry_run=True, as_admin=as_admin)
    except transfer.ImportFailed as failed:
        assert failed.plan.problems
        assert all(isinstance(problem, str) and problem for problem in failed.plan.problems)
        event(f"{fmt}: problems")
    else:
        assert plan.dry_run and not plan.problems
        event(f"{fmt}: plan")
    assert Question.objects.count() == before
