"""Convert bank questions to and from CSV and Moodle XML, for import and export.

All four functions are pure: they take and return the bank's plain item dicts (the format
of ``fixtures/questions/*.json``, declared in ``questions.interchange.schema``) and strings,
and never touch the database. The import functions return ``(items, problems)``: ``problems``
lists, in words an author can act on and located by row or question and then field, whatever
made a row or question impossible to convert (that row or question is then left out of
``items``); they never raise. They check each item's shape against the bank-item schema but
not the bank's content rules (4-5 choices, rationales, citations...): the caller runs
``questions.authoring.rules``' own checks on the items. Line endings are normalised to
``\\n`` and every imported text is stripped of surrounding whitespace. "facts", "fact_parts"
and "errata" are authoring metadata and never exported.

Each format is documented in its module: ``csv_format`` and ``moodle``.
"""

from questions.interchange.csv_format import CSV_COLUMNS, questions_from_csv, questions_to_csv
from questions.interchange.moodle import questions_from_moodle_xml, questions_to_moodle_xml

__all__ = [
    "CSV_COLUMNS",
    "questions_from_csv",
    "questions_from_moodle_xml",
    "questions_to_csv",
    "questions_to_moodle_xml",
]
