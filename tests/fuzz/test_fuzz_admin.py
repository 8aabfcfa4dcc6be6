"""The admin's input, fed hostile values: the question import (file contents, names,
formats, the confirm step), the question change form with its choices and citations
formsets, the error report form and actions, the site setting and cohort forms, the restore
view and the change lists' query strings."""

import json

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from hypothesis import event, example, given
from hypothesis import strategies as st

from questions.interchange.formats import CSV_COLUMNS
from questions.models import (
    Choice,
    Citation,
    Cohort,
    ErrorReport,
    Question,
    SiteSetting,
    StatusChange,
)
from tests.factories import ReferenceFactory
from tests.fuzz.helpers import (
    MISSING,
    ON_POSTGRES,
    SQLITE_SAFE,
    assert_refused,
    assert_wrote_only,
    client_for,
    fuzz_settings,
    junk_text,
    junk_value,
    post_data,
    posted,
    posted_list,
    rolled_back,
    send,
    url_ints,
)

pytestmark = pytest.mark.django_db

IMPORT_URL = reverse("admin:questions_question_import")
# What may legitimately change when a question is saved through the admin: the question,
# its rows, its status log and every history table.
HISTORY_TABLES = [
    model._meta.db_table
    for model in apps.get_app_config("questions").get_models(include_auto_created=True)
    if model._meta.db_table.startswith("questions_historical")
]
QUESTION_TABLES = [Question, Choice, Citation, StatusChange, Question.topics.through]
QUESTION_TABLES += HISTORY_TABLES


def _no_nul_on_postgres(text: str) -> bool:
    return not ON_POSTGRES or "\x00" not in text


# --------------------------------------------------------------------------- import

texts = st.text(max_size=40).filter(_no_nul_on_postgres)
json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), texts)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=6,
)
# Any JSON where a field should be: the bank-item schema lists each as a problem.
flat_junk = json_values
slugs = st.from_regex(r"[a-z0-9][a-z0-9-]{0,20}", fullmatch=True)


def _item(world):
    topic_slugs = [t.slug for t in world.topics] + ["no-such-topic"]
    choice = st.fixed_dictionaries(
        {},
        optional={
            "text": st.one_of(texts, json_values),
            "correct": json_values,
            "rationale": st.one_of(texts, json_values),
        },
    )
    citation = st.fixed_dictionaries(
        {},
        optional={
            "ref": st.one_of(st.sampled_from(["fz-ref", "no-such-ref"]), json_scalars),
            "locator": json_values,
        },
    )
    return st.fixed_dictionaries(
        {},
        optional={
            "key": st.one_of(slugs, st.sampled_from(["", "Bad Key", "k" * 81]), json_scalars),
            "status": st.one_of(st.sampled_from(["draft", "review", "published", "x"]), flat_junk),
            "difficulty": st.one_of(st.sampled_from(["easy", "medium", "hard", "2"]), flat_junk),
            "topics": st.one_of(st.lists(st.sampled_from(topic_slugs), max_size=2), flat_junk),
            "stem": st.one_of(texts, flat_junk),
            "lead_in": st.one_of(texts, st.just("l" * 301), flat_junk),
            "objective": st.one_of(texts, flat_junk),
            "explanation": st.one_of(st.just("As shown [@fz-ref]."), texts, flat_junk),
            "choices": st.one_of(st.lists(choice, max_size=6), flat_junk),
            "citations": st.one_of(st.lists(citation, max_size=2), flat_junk),
            "last_reviewed_on": st.one_of(st.sampled_from(["2024-01-31", "2024-13-01"]), flat_junk),
        },
    )


def _json_files(world):
    items = st.lists(_item(world), max_size=3)
    reference = st.fixed_dictionaries(
        {"key": st.one_of(st.just("fz-ref"), slugs, json_scalars)},
        optional={
            "title": st.one_of(texts, flat_junk),
            "year": json_values,
            "pmid": st.one_of(st.sampled_from(["123", "12a"]), flat_junk),
            "is_verified": json_values,
        },
    )
    topic = st.fixed_dictionaries(
        {"slug": st.one_of(slugs, json_scalars)},
        optional={"name": st.one_of(texts, flat_junk), "order": json_values},
    )
    bank = st.fixed_dictionaries(
        {"questions": items},
        optional={
            "references": st.one_of(st.lists(reference, max_size=2), json_values),
            "topics": st.one_of(st.lists(topic, max_size=2), json_values),
        },
    )
    return st.one_of(items, bank, flat_junk).map(json.dumps)


def _csv_files():
    cells = st.one_of(
        texts,
        st.sampled_from(["A", "b", "medium", "hard", "draft", "fz-ref | Abstract", "=1+1", "'-x"]),
    )
    header = st.one_of(
        st.just(list(CSV_COLUMNS)),
        st.permutations(list(CSV_COLUMNS)),
        st.lists(st.one_of(st.sampled_from(CSV_COLUMNS), texts), max_size=len(CSV_COLUMNS) + 2),
    )

    def to_csv(parts):
        head, rows = parts
        lines = [head, *rows]
        return "\n".join(",".join(json.dumps(cell) for cell in line) for line in lines)

    return st.tuples(
        header, st.lists(st.lists(cells, max_size=len(CSV_COLUMNS) + 1), max_size=3)
    ).map(to_csv)


def _moodle_files():
    answer = st.builds(
        lambda fraction, text: f'<answer fraction="{fraction}"><text>{text}</text></answer>',
        st.sampled_from(["100", "0", "-50", "abc", ""]),
        st.text(st.characters(codec="ascii", exclude_characters="<&\x00"), max_size=15),
    )
    question = st.builds(
        lambda kind, name, body, answers: (
            f'<question type="{kind}"><name><text>{name}</text></name>'
            f'<questiontext format="html"><text><![CDATA[{body}]]></text></questiontext>'
            + "".join(answers)
            + "</question>"
        ),
        st.sampled_from(["multichoice", "truefalse", "category", ""]),
        st.text(st.characters(codec="ascii", exclude_characters="<&\x00"), max_size=15),
        st.sampled_from(["<p>Stem.</p><p>Which nerve?</p>", "<p>No question</p>", "<img src=x>"]),
        st.lists(answer, max_size=5),
    )
    quiz = st.lists(question, max_size=3).map(lambda qs: "<quiz>" + "".join(qs) + "</quiz>")
    return st.one_of(
        quiz,
        st.sampled_from(["", "<quiz>", "<notquiz/>", '<!DOCTYPE x [<!ENTITY a "b">]><quiz/>']),
        texts,
    )


@st.composite
def uploads(draw, world):
    kind = draw(st.sampled_from(["json", "csv", "moodle", "bytes"]))
    if kind == "json":
        content = draw(_json_files(world)).encode()
    elif kind == "csv":
        content = draw(_csv_files()).encode()
    elif kind == "moodle":
        content = draw(_moodle_files()).encode()
    else:
        content = draw(st.binary(max_size=60)).replace(b"\x00", b"" if ON_POSTGRES else b"\x00")
    if draw(st.booleans()):
        content = b"\xef\xbb\xbf" + content  # a byte-order mark
    name = draw(
        st.sampled_from(
            ["bank.json", "bank.csv", "bank.xml", "BANK.JSON", "bank.txt", "bank", "a.xml.json"]
        )
    )
    fmt = draw(st.sampled_from(["", "json", "csv", "moodle", "xml", "\x00", MISSING]))
    return content, name, fmt


@fuzz_settings(40)
@given(data=st.data(), who=st.sampled_from(["educator", "superuser"]))
def test_import_checks_then_imports_whole_files_only(world, data, who):
    content, name, fmt = data.draw(uploads(world), label="upload")
    user = getattr(world, who)
    with rolled_back():
        ReferenceFactory(key="fz-ref")
        client = client_for(user)
        upload = SimpleUploadedFile(name, content)
        checked = send(client, "post", IMPORT_URL, post_data({"file": upload, "format": fmt}))
        assert checked.status == 200
        assert not checked.changed, f"a dry run wrote to {sorted(checked.changed)}"
        plan = checked.response.context.get("plan")
        token = checked.response.context.get("token")
        if token is None:
            event("refused")
            assert_refused(checked)
            return
        event("checked")
        assert plan is not None and not plan.problems
        applied = send(client, "post", IMPORT_URL, {"apply": "1", "token": token})
        assert applied.status == 302, applied.feedback
        assert any(m.startswith("Imported:") for m in applied.feedback)
        keys = plan.created + list(plan.changed) + plan.unchanged
        assert Question.objects.filter(key__in=keys).count() == len(keys)
        assert Question.objects.filter(key__in=plan.created).count() == len(plan.created)
        if not (plan.created or plan.changed or plan.references_created):
            assert not applied.changed
        again = send(client, "post", IMPORT_URL, {"apply": "1", "token": token})
        assert_refused(again)  # the token is used up
        assert "That check has expired: choose the file again." in again.feedback


@fuzz_settings(20)
@given(token=st.one_of(junk_value, st.just(MISSING)), file_too=st.booleans())
def test_import_confirm_with_a_wrong_token_imports_nothing(world, token, file_too):
    with rolled_back():
        client = client_for(world.educator)
        text = json.dumps([{"key": "fz-new", "stem": "S", "lead_in": "L?"}])
        data = post_data({"apply": "1", "token": token})
        if file_too:
            data["file"] = SimpleUploadedFile("bank.json", text.encode())
        outcome = send(client, "post", IMPORT_URL, data)
        assert outcome.status == 302
        assert_refused(outcome)
        assert "That check has expired: choose the file again." in outcome.feedback


def test_import_refuses_a_file_over_five_megabytes(world):
    with rolled_back():
        upload = SimpleUploadedFile("bank.json", b"[" + b" " * (5 * 1024 * 1024) + b"]")
        outcome = send(client_for(world.educator), "post", IMPORT_URL, {"file": upload})
        assert outcome.status == 200
        assert_refused(outcome)
        assert any("larger than 5 MB" in e for e in outcome.feedback)


def _q(**fields):
    item = {"key": "fz-bug", "stem": "S", "lead_in": "L?", "choices": [], "citations": []}
    return item | {"topics": []} | fields


# Malformed JSON banks that each once reached a 500 (the third item says where it broke,
# before the fix); each must now be refused with the problem listed and nothing written.
MALFORMED_IMPORTS = {
    "choice_without_text": (
        "educator",
        json.dumps([_q(choices=[{"correct": True}])]),
        "KeyError 'text': questions/loading.py _import_questions reads c['text'] of a choice "
        "that exchange._shape_problems let through (it checks the text's type only when present)",
    ),
    "rationale_not_text": (
        "educator",
        json.dumps([_q(choices=[{"text": "a", "correct": True, "rationale": 5}])]),
        "AttributeError: questions/loading.py _import_questions calls .strip() on a non-text "
        "rationale; exchange._shape_problems does not check the rationale's type",
    ),
    "citation_ref_not_hashable": (
        "educator",
        json.dumps([_q(citations=[{"ref": ["x"]}])]),
        "TypeError unhashable type 'list': questions/loading.py _import_questions tests "
        "c.get('ref') not in references; _shape_problems does not check the ref's type",
    ),
    "references_not_a_list": (
        "educator",
        json.dumps({"questions": [_q()], "references": 5}),
        "TypeError: exchange._upsert_extra enumerates data['references'] (None, a number) "
        "without checking it is a list; read_file only checks 'questions'",
    ),
    "topics_not_a_list": (
        "superuser",
        json.dumps({"questions": [_q()], "topics": 5}),
        "TypeError: exchange._upsert_extra enumerates data['topics'] (as_admin) without "
        "checking it is a list",
    ),
    "deeply_nested_json": (
        "educator",
        "[" * 100_000,
        "RecursionError: exchange.read_file catches only json.JSONDecodeError; deeply nested "
        "JSON (well under the 5 MB limit) makes json.loads raise RecursionError",
    ),
    "reference_cited_twice": (
        "educator",
        json.dumps(
            [
                _q(
                    citations=[{"ref": "fz-ref"}, {"ref": "fz-ref", "locator": "p. 2"}],
                    explanation="[@fz-ref]",
                )
            ]
        ),
        "IntegrityError citation_reference_once_per_question: bank.save_citations saves "
        "two citations of one reference (full_clean with validate_unique=False); no rule "
        "refuses duplicates and _import_questions catches only ValidationError/ValueError",
    ),
}


@pytest.mark.parametrize(
    "case",
    sorted(MALFORMED_IMPORTS),
)
def test_import_of_a_malformed_json_bank_lists_the_problem(world, case):
    who, text, _ = MALFORMED_IMPORTS[case]
    ReferenceFactory(key="fz-ref")
    with rolled_back():
        upload = SimpleUploadedFile("bank.json", text.encode())
        outcome = send(client_for(getattr(world, who)), "post", IMPORT_URL, {"file": upload})
        assert outcome.status == 200
        assert_refused(outcome)


@fuzz_settings(10)
@given(field=st.sampled_from(["key", "stem"]), text=st.text(max_size=5))
@example(field="stem", text="a")
def test_a_nul_in_an_imported_file_is_listed_as_a_problem(world, field, text):
    item = _q(status="draft", choices=[{"text": "A", "correct": True}])
    item[field] = item[field] + "\x00" + text
    with rolled_back():
        upload = SimpleUploadedFile("bank.json", json.dumps([item]).encode())
        outcome = send(client_for(world.educator), "post", IMPORT_URL, {"file": upload})
        assert outcome.status == 200 and not outcome.changed


# --------------------------------------------------------------------------- question form


def change_url(question):
    return reverse("admin:questions_question_change", args=[question.pk])


def management(prefix, total, initial, maximum):
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": str(maximum),
    }


def question_form(question) -> dict:
    """The change form exactly as the admin would post it back unchanged."""
    question = Question.objects.with_bank_relations().get(pk=question.pk)
    data = {
        "key": question.key,
        "difficulty": str(question.difficulty),
        "topics": [str(t.pk) for t in question.topics.all()],
        "stem": question.stem,
        "lead_in": question.lead_in,
        "objective": question.objective,
        "explanation": question.explanation,
        "image_alt": "",
        "image_credit": "",
        "_save": "Save",
    }
    choices, citations = list(question.choices.all()), list(question.citations.all())
    data |= management("choices", len(choices), len(choices), 5)
    data |= management("citations", len(citations), len(citations), 1000)
    for i, choice in enumerate(choices):
        data |= {
            f"choices-{i}-id": str(choice.pk),
            f"choices-{i}-question": str(question.pk),
            f"choices-{i}-text": choice.text,
            f"choices-{i}-rationale": choice.rationale,
        }
        if choice.is_correct:
            data[f"choices-{i}-is_correct"] = "on"
    for i, citation in enumerate(citations):
        data |= {
            f"citations-{i}-id": str(citation.pk),
            f"citations-{i}-question": str(question.pk),
            f"citations-{i}-reference": str(citation.reference_id),
            f"citations-{i}-locator": citation.locator,
        }
    return data


def _spoilers(world, target, other):
    """name -> (a function spoiling the form data, verdict: False refused, None unknown)."""
    foreign_choice = other.choices.first()

    def setter(**values):
        return lambda data, draw: data.update(values)

    def rows(data, draw):  # add a sixth choice row to a published question's five
        data["choices-TOTAL_FORMS"] = "6"

    return {
        "key_taken": (setter(key=other.key), False),
        "key_bad": (
            lambda d, draw: d.update(key=draw(st.sampled_from(["", "a b", "k" * 81]))),
            False,
        ),
        "key_nul": (setter(key="a\x00b"), False),
        "difficulty": (
            lambda d, draw: d.update(difficulty=draw(st.sampled_from(["0", "4", "x", ""]))),
            False,
        ),
        "topics": (
            lambda d, draw: d.update(
                topics=draw(st.sampled_from([["abc"], [str(SQLITE_SAFE)], ["0"], ["\x00"]]))
            ),
            False,
        ),
        "stem_blank": (
            lambda d, draw: d.update(stem=draw(st.sampled_from(["", "  ", "\x00"]))),
            False,
        ),
        "lead_in_long": (setter(lead_in="l" * 301), False),
        "cites_unknown": (setter(explanation="As shown [@no-such-ref]."), False),
        "management_junk": (
            lambda d, draw: d.update(
                {"choices-INITIAL_FORMS": draw(st.sampled_from(["abc", "", "1.5", "\x00"]))}
            ),
            False,
        ),
        "citation_unknown_reference": (
            lambda d, draw: (
                d.update(
                    {
                        "citations-TOTAL_FORMS": "1",
                        "citations-INITIAL_FORMS": "0",
                        "citations-0-reference": draw(st.sampled_from(["0", "987654", ""])),
                        "citations-0-locator": "x",
                    }
                )
                if "citations-0-id" not in d
                else d.update({"citations-0-reference": "987654"})
            ),
            False,
        ),
        "foreign_choice_id": (
            lambda d, draw: (
                d.update(
                    {"choices-0-id": str(foreign_choice.pk), "choices-0-question": str(other.pk)}
                )
                if "choices-0-id" in d
                else None
            ),
            None,
        ),
        # (not the citation's reference: a non-numeric one is a known bug, tested below)
        "junk_field": (
            lambda d, draw: d.update(
                {
                    draw(st.sampled_from(sorted(k for k in d if not k.endswith("-reference")))): (
                        draw(junk_value.filter(_no_nul_on_postgres))
                    )
                }
            ),
            None,
        ),
        "more_rows_claimed": (rows, None),
    }


@fuzz_settings(30)
@given(
    data=st.data(),
    which=st.sampled_from(["draft", "published"]),
    stem=st.text(min_size=1, max_size=60).filter(lambda s: s.strip() and "\x00" not in s),
)
def test_question_change_form_saves_whole_or_refuses_with_errors(world, data, which, stem):
    target = world.draft if which == "draft" else world.published[0]
    other = world.published[1]
    form = question_form(target) | {"stem": stem}
    spoilers = _spoilers(world, target, other)
    spoiled = data.draw(st.sets(st.sampled_from(sorted(spoilers)), max_size=2), label="spoiled")
    for name in sorted(spoiled):
        spoilers[name][0](form, data.draw)
    verdicts = [spoilers[name][1] for name in spoiled]
    verdict = False if False in verdicts else (None if None in verdicts else True)
    other_rows = (
        list(Choice.objects.filter(question=other).values_list()),
        list(Citation.objects.filter(question=other).values_list()),
    )
    with rolled_back():
        outcome = send(client_for(world.educator), "post", change_url(target), form)
        assert outcome.status in (200, 302)
        saved = outcome.status == 302
        event("saved" if saved else "refused")
        if verdict is not None:
            assert saved == verdict, (spoiled, outcome.feedback)
        assert other_rows == (  # another question's rows never move, whatever ids are posted
            list(Choice.objects.filter(question=other).values_list()),
            list(Citation.objects.filter(question=other).values_list()),
        )
        if saved:
            question = Question.objects.get(pk=target.pk)
            expected = posted(form["stem"]).strip().replace("\r\n", "\n").replace("\r", "\n")
            assert question.stem == expected
            assert_wrote_only(outcome, *QUESTION_TABLES)
        else:
            assert_refused(outcome)


@fuzz_settings(10)
@given(extra=st.integers(min_value=1, max_value=3))
@example(extra=1)
def test_more_than_five_choices_on_a_draft_are_refused_with_a_message(world, extra):
    form = question_form(world.draft)
    count = 5 + extra
    form |= management("choices", count, 0, 5)
    for i in range(count):
        form[f"choices-{i}-text"] = f"Choice {i}"
        form[f"choices-{i}-rationale"] = "Because."
    form["choices-0-is_correct"] = "on"
    with rolled_back():
        outcome = send(client_for(world.educator), "post", change_url(world.draft), form)
        assert outcome.status == 200
        assert_refused(outcome)


@fuzz_settings(10)
@given(initial=st.integers(min_value=0, max_value=4))
@example(initial=0)
def test_choice_rows_posted_as_new_on_a_question_with_choices_are_refused(world, initial):
    question = world.published[0]
    form = question_form(question) | {"choices-INITIAL_FORMS": str(initial)}
    with rolled_back():
        outcome = send(client_for(world.educator), "post", change_url(question), form)
        assert outcome.status in (200, 302)
        if outcome.status == 200:
            assert_refused(outcome)


@fuzz_settings(10)
@given(
    which=st.sampled_from(["draft", "published"]),
    value=st.text(min_size=1, max_size=5).filter(lambda s: not s.strip().isdigit()),
)
@example(which="published", value="abc")
def test_a_non_numeric_citation_reference_is_refused_with_a_message(world, which, value):
    question = world.draft if which == "draft" else world.published[0]
    form = question_form(question)
    if "citations-0-id" not in form:
        form |= {"citations-TOTAL_FORMS": "1", "citations-0-locator": "Abstract"}
    form["citations-0-reference"] = value
    with rolled_back():
        outcome = send(client_for(world.educator), "post", change_url(question), form)
        assert outcome.status == 200
        assert_refused(outcome)


# --------------------------------------------------------------------------- error reports

REPORT_STATUSES = [v for v, _ in ErrorReport.Status.choices]


@fuzz_settings(30)
@given(
    status=st.one_of(st.sampled_from([*REPORT_STATUSES, "", "NEW", "closed", "\x00"]), junk_value),
    reply=st.one_of(st.text(max_size=50), junk_value),
    which=st.sampled_from(["report", "missing"]),
)
def test_error_report_form_records_a_decision_or_refuses(world, status, reply, which):
    pk = world.report.pk if which == "report" else 987_654
    url = reverse("admin:questions_errorreport_change", args=[pk])
    data = {"status": status, "reply": reply, "_save": "Save"}
    with rolled_back():
        outcome = send(client_for(world.educator), "post", url, data)
        assert outcome.status in (200, 302)
        if which == "missing":  # the admin redirects with "doesn't exist"
            assert_refused(outcome)
            return
        value, text = posted(status), posted(reply) or ""
        valid = value in REPORT_STATUSES and "\x00" not in text
        assert (outcome.status == 302) == valid, outcome.feedback
        if valid:
            report = ErrorReport.objects.get(pk=pk)
            assert report.status == value
            assert report.reply == text.strip()
            assert_wrote_only(outcome, ErrorReport)
        else:
            assert_refused(outcome)


@fuzz_settings(25)
@given(
    action=st.one_of(
        st.sampled_from(["mark_accepted", "mark_rejected", "mark_fixed", "", "delete_selected"]),
        junk_value,
    ),
    selected=st.lists(st.sampled_from(["report", "missing"]), max_size=2),
    index=st.one_of(st.just(MISSING), junk_text),
)
def test_error_report_actions_on_any_selection(world, action, selected, index):
    ids = [str(world.report.pk) if s == "report" else "987654" for s in selected]
    url = reverse("admin:questions_errorreport_changelist")
    data = post_data({"action": action, "_selected_action": ids, "index": index})
    with rolled_back():
        outcome = send(client_for(world.educator), "post", url, data)
        assert outcome.status in (200, 302)
        chosen = posted_list(action)
        try:  # as the admin reads it
            position = int(posted(index) or 0)
        except ValueError:
            position = 0
        try:
            action_name = chosen[position]
        except IndexError:  # the admin then keeps the action as posted (the last one)
            action_name = chosen[-1] if chosen else None
        applies = action_name in ("mark_accepted", "mark_rejected", "mark_fixed")
        if applies and str(world.report.pk) in ids:
            assert ErrorReport.objects.get(pk=world.report.pk).status == action_name[5:]
            assert_wrote_only(outcome, ErrorReport)
        else:
            assert not outcome.changed
            # "No action selected." / "Items must be selected". (Without "index" and without
            # a selection, Django does not take the POST for an action at all.)
            if (not applies or not ids) and (ids or index is not MISSING):
                assert outcome.feedback


MOVES = {
    "send_to_review": Question.Status.IN_REVIEW,
    "publish": Question.Status.PUBLISHED,
    "retire": Question.Status.RETIRED,
    "return_to_draft": Question.Status.DRAFT,
}
EXPORTS = ["export_json", "export_csv", "export_moodle"]


@fuzz_settings(25)
@given(
    action=st.sampled_from([*MOVES, "mark_reviewed", *EXPORTS, "", "nope", "\x01"]),
    selected=st.lists(
        st.sampled_from(["draft", "published", "published2", "missing"]), unique=True, max_size=3
    ),
    who=st.sampled_from(["educator", "superuser"]),
)
def test_question_actions_move_each_question_or_say_why_not(world, action, selected, who):
    questions = {
        "draft": world.draft,
        "published": world.published[0],
        "published2": world.published[1],
    }
    ids = [str(questions[n].pk) if n in questions else "987654" for n in selected]
    chosen = [questions[n] for n in selected if n in questions]
    url = reverse("admin:questions_question_changelist")
    data = {"action": action, "_selected_action": ids, "index": "0"}
    with rolled_back():
        before = {q.pk: Question.objects.get(pk=q.pk) for q in chosen}
        outcome = send(client_for(getattr(world, who)), "post", url, data)
        assert outcome.status in (200, 302)
        if action in EXPORTS and ids:
            assert outcome.status == 200 and not outcome.changed
            assert "attachment" in outcome.response["Content-Disposition"]
            body = outcome.response.content.decode()
            assert all(q.key in body for q in chosen)
            return
        if action not in MOVES and action != "mark_reviewed" or not ids:
            assert not outcome.changed
            assert outcome.feedback  # "No action selected." / "Items must be selected..."
            return
        assert_wrote_only(outcome, *QUESTION_TABLES)
        for question in chosen:
            now = Question.objects.get(pk=question.pk)
            old = before[question.pk]
            refused = any(
                m.startswith(("Not moved: ", "Not marked: ")) and question.key in m
                for m in outcome.feedback
            )
            if action == "mark_reviewed":
                assert refused or now.status == Question.Status.PUBLISHED
            else:
                moved = now.status == MOVES[action] != old.status
                assert moved != refused, (old.status, now.status, outcome.feedback)
                if refused:
                    assert now.status == old.status


@fuzz_settings(10)
@given(selected=st.sampled_from(["abc", "", "1.5", "\x00", str(2**63), "9" * 5000]))
@example(selected="9" * 5000)
def test_an_action_on_a_malformed_id_is_refused_with_a_message(world, selected):
    url = reverse("admin:questions_errorreport_changelist")
    data = {"action": "mark_fixed", "_selected_action": [selected]}
    with rolled_back():
        outcome = send(client_for(world.educator), "post", url, data)
        assert_refused(outcome)


# --------------------------------------------------------------------------- settings, cohorts


@fuzz_settings(20)
@given(
    who=st.sampled_from(["educator", "superuser"]),
    signup=st.one_of(st.just(MISSING), junk_value),
    self_review=st.one_of(st.just(MISSING), junk_value),
)
def test_site_setting_form_takes_any_checkbox_value(world, who, signup, self_review):
    setting = SiteSetting.current()
    url = reverse("admin:questions_sitesetting_change", args=[setting.pk])
    data = post_data({"is_signup_open": signup, "allows_self_review": self_review, "_save": "Save"})
    user = getattr(world, who)

    def checked(value):
        text = posted(value)
        return text is not None and text.lower() != "false" and text != ""

    with rolled_back():
        outcome = send(client_for(user), "post", url, data)
        assert outcome.status == 302
        setting = SiteSetting.objects.get(pk=setting.pk)
        assert setting.is_signup_open == checked(signup)
        assert setting.allows_self_review == (checked(self_review) and user.is_superuser)
        assert_wrote_only(outcome, SiteSetting)


COHORT_ADD = reverse("admin:questions_cohort_add")


@fuzz_settings(30)
@given(
    who=st.sampled_from(["educator", "superuser"]),
    name=st.one_of(
        st.text(min_size=1, max_size=60).filter(lambda s: s.strip() and "\x00" not in s),
        st.sampled_from(["", " ", "\x00", "n" * 201, "Fuzz cohort", "FOREIGN COHORT"]),
        junk_value,
    ),
    educators=st.lists(st.sampled_from(["educator", "other_educator", "resident", "missing"])),
    residents=st.lists(st.sampled_from(["resident", "loner", "educator", "missing"])),
    join_code=st.one_of(st.just(MISSING), st.sampled_from(["ABCDEFGH", "", "x" * 13]), junk_text),
)
def test_cohort_form_creates_a_cohort_or_refuses(world, who, name, educators, residents, join_code):
    def ids(names):
        return [str(getattr(world, n).pk) if n != "missing" else "987654" for n in names]

    user = getattr(world, who)
    data = post_data(
        {
            "name": name,
            "program": "",
            "description": "",
            "educators": ids(educators),
            "residents": ids(residents),
            "join_code": join_code,
            "_save": "Save",
        }
    )
    with rolled_back():
        before = set(Cohort.objects.values_list("pk", flat=True))
        outcome = send(client_for(user), "post", COHORT_ADD, data)
        assert outcome.status in (200, 302)
        created = Cohort.objects.exclude(pk__in=before)
        event("created" if created.exists() else "refused")
        text = posted(name) or ""
        bad_people = {"resident", "missing"} & set(educators) or (
            user.is_superuser and {"educator", "missing"} & set(residents)
        )
        known_bad = (
            not text.strip()
            or "\x00" in text
            or len(text.strip()) > 200
            or text.strip() in ("Fuzz cohort", "Foreign cohort")
            or bad_people
        )
        if known_bad:
            assert not created.exists()
        if created.exists():
            (cohort,) = created
            assert cohort.name == text.strip()
            assert user.is_superuser or cohort.educators.filter(pk=user.pk).exists()
            if not user.is_superuser:  # residents join with the code, never added here
                assert not cohort.residents.exists()
            assert_wrote_only(outcome, Cohort, Cohort.educators.through, Cohort.residents.through)
        else:
            assert outcome.status == 200
            assert_refused(outcome)


@fuzz_settings(10)
@given(code=st.from_regex(r"[a-z2-9]{4} ?[a-z2-9]{3}", fullmatch=True))
@example(code="abcd efg")
def test_every_join_code_the_admin_accepts_can_be_joined(world, code):
    data = {"name": "Coded", "educators": [str(world.educator.pk)], "join_code": code}
    with rolled_back():
        outcome = send(client_for(world.superuser), "post", COHORT_ADD, data | {"_save": "Save"})
        if outcome.status != 302:
            return  # refused with a message: fine
        joined = send(
            client_for(world.loner), "post", reverse("questions:cohort_join"), {"code": code}
        )
        assert Cohort.objects.get(name="Coded").residents.filter(pk=world.loner.pk).exists(), (
            joined.feedback
        )


# --------------------------------------------------------------------------- restore, lists


@fuzz_settings(25)
@given(
    question=st.one_of(st.sampled_from(["published", "other"]), url_ints),
    history=st.one_of(st.sampled_from(["own", "foreign"]), url_ints),
    method=st.sampled_from(["get", "post"]),
)
def test_restore_view_with_any_pair_of_ids(world, question, history, method):
    target, other = world.published[0], world.published[1]
    with rolled_back():
        target.stem = "A newer stem."
        target.save()
        own = target.history.order_by("history_date").first().history_id
        foreign = other.history.first().history_id
        q_pk = {"published": target.pk, "other": other.pk}.get(question, question)
        h_pk = {"own": own, "foreign": foreign}.get(history, history)
        belongs = (
            q_pk < 2**63
            and h_pk < 2**63
            and Question.history.filter(id=q_pk, history_id=h_pk).exists()
        )
        url = reverse("admin:questions_question_restore", args=[q_pk, h_pk])
        outcome = send(client_for(world.educator), method, url, {"junk": "\x01"})
        if not belongs:
            assert outcome.status == 404 and not outcome.changed
        elif method == "get":
            assert outcome.status == 200 and not outcome.changed
        elif outcome.status == 302:  # restored: the version's stem is back
            version = Question.history.get(history_id=h_pk)
            assert Question.objects.get(pk=q_pk).stem == version.stem
            assert_wrote_only(outcome, *QUESTION_TABLES)
        else:
            assert outcome.status == 200
            assert_refused(outcome)


@fuzz_settings(25)
@given(
    model=st.sampled_from(["question", "errorreport", "cohort", "assignment", "reference"]),
    params=st.dictionaries(
        st.sampled_from(
            [
                "q",
                "o",
                "p",
                "status",
                "needs_review",
                "item_analysis",
                "kind",
                "topics__id__exact",
                "difficulty",
                "e",
                "all",
                "_changelist_filters",
                "cohort__id__exact",
            ]
        ),  # fmt: skip
        junk_text,  # with NUL: a 400 (questions.middleware), never a 500
        max_size=3,
    ),
)
def test_change_lists_take_any_query_string(world, model, params):
    url = reverse(f"admin:questions_{model}_changelist")
    with rolled_back():
        outcome = send(client_for(world.educator), "get", url, params)
        assert outcome.status < 500
        assert not outcome.changed


# Django's change list validates the search term (its search form refuses NUL), so unlike
# other NUL input this one never reaches PostgreSQL.
@fuzz_settings(10)
@given(term=st.text(max_size=5))
def test_a_nul_in_the_admin_search_is_not_a_500(world, term):
    url = reverse("admin:questions_question_changelist")
    with rolled_back():
        outcome = send(client_for(world.educator), "get", url, {"q": term + "\x00"})
        assert outcome.status < 500
