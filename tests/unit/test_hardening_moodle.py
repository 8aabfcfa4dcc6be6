"""Moodle XML whose HTML is nested a thousand levels and more (once a RecursionError, a 500
on the admin's import page): a listed problem wherever the file is read (the reader, the
import, ``manage.py import_bank``), nothing imported; a normal file still imports."""

import io
from xml.sax.saxutils import escape

import pytest
from django.core.management import CommandError, call_command

from questions.interchange import transfer
from questions.interchange.formats import questions_from_moodle_xml
from questions.models import Question
from tests.factories import PublishableQuestionFactory

TOO_DEEP = "nests elements more than 100 deep, too deep to read"


def moodle_export(key: str) -> str:
    """A published question exported as Moodle XML, under a key the bank does not hold."""
    source = PublishableQuestionFactory()
    text = transfer.export_questions(Question.objects.filter(pk=source.pk), "moodle")
    return text.replace(source.key, key)


def nested(depth: int, tag: str = "div") -> str:
    return f"<{tag}>" * depth + "<p>Which nerve?</p>" + f"</{tag}>" * depth


def deepened(text: str, depth: int, tag: str = "div") -> str:
    """The file with a paragraph nested ``depth`` elements deep ending its question text
    (HTML escaped in the XML, as Moodle writes it)."""
    start = text.index("<questiontext")
    end = text.index("</text>", start)
    return text[:end] + escape(nested(depth, tag)) + text[end:]


@pytest.mark.parametrize("depth", [1_000, 5_000])
@pytest.mark.parametrize("tag", ["div", "b", "table", "sup"])
@pytest.mark.django_db
def test_deeply_nested_html_is_a_listed_problem(depth, tag):
    xml = deepened(moodle_export("deep-one"), depth, tag)
    items, problems = questions_from_moodle_xml(xml)
    assert items == []
    assert len(problems) == 1 and problems[0].endswith(f"question text: its HTML {TOO_DEEP}")


@pytest.mark.parametrize("depth", [1_000, 5_000])
@pytest.mark.django_db
def test_a_deeply_nested_file_imports_nothing(depth):
    xml = deepened(moodle_export("deep-one"), depth)
    with pytest.raises(transfer.ImportFailed) as failed:
        transfer.import_questions(xml, "moodle", dry_run=False, as_admin=True)
    assert any(TOO_DEEP in problem for problem in failed.value.plan.problems)
    assert not Question.objects.filter(key="deep-one").exists()


@pytest.mark.parametrize("depth", [1_000, 5_000])
@pytest.mark.django_db
def test_import_bank_names_the_problem_and_imports_nothing(tmp_path, depth):
    path = tmp_path / "deep.xml"
    path.write_text(deepened(moodle_export("deep-one"), depth), encoding="utf-8")
    out = io.StringIO()
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("import_bank", str(path), stdout=out)
    assert TOO_DEEP in out.getvalue()
    assert not Question.objects.filter(key="deep-one").exists()


@pytest.mark.django_db
def test_a_normal_moodle_file_still_imports(tmp_path):
    path = tmp_path / "bank.xml"
    path.write_text(moodle_export("moodle-one"), encoding="utf-8")
    call_command("import_bank", str(path), stdout=io.StringIO())
    assert Question.objects.filter(key="moodle-one").exists()
