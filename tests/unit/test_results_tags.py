"""The results table's rows as results_tags builds them: what each cell says, escaped."""

import datetime

from django.template import Context, Template
from django.templatetags.tz import do_timezone

from questions.models import AttemptItem, Topic

ROWS = Template("{% load results_tags %}{% results_rows %}")


def row(position, *, topics=(), held_until=None, share_correct=None, **fields):
    item = AttemptItem(position=position, **fields)
    return {
        "item": item,
        "topics": list(topics),
        "held_until": held_until,
        "share_correct": share_correct,
    }


def render(rows, **context):
    defaults = {"results_url": "/quizzes/7/results/", "filter_query": "", "min_residents": 5}
    return ROWS.render(Context({"rows": rows, **defaults, **context}))


def cells(html: str, position: int) -> str:
    return html.split(f'id="item-{position}"')[1].split("</tr>")[0]


def test_each_row_says_how_the_question_went_and_leads_to_its_page():
    nerves = Topic(name="Nerves <& roots>")
    html = render(
        [
            row(1, topics=[nerves], selected_letter="C", is_correct=True, seconds_spent=65),
            row(
                2,
                selected_letter="B",
                is_correct=False,
                confidence="sure",
                miss_type="knowledge",
                is_flagged=True,
                note="mine",
                seconds_spent=200,
                share_correct=60,
            ),
            row(3, is_correct=False, seconds_spent=0),
        ],
        filter_query="?filter=flagged",
        pace_seconds=90,
    )
    first, second, third = cells(html, 1), cells(html, 2), cells(html, 3)
    assert '<a href="/quizzes/7/results/1/?filter=flagged">Question 1</a>' in first
    assert "Nerves &lt;&amp; roots&gt;" in first and "✓</span> Correct" in first
    assert "not said" in first and "not a miss" in first and "1:05</td>" in first
    assert "fewer than 5 residents so far" in first
    assert "Flagged" in second and ">Note<" in second
    assert "✗</span> Incorrect" in second and "<td>Sure</td>" in second
    assert AttemptItem.MissType("knowledge").label in second
    assert "3:20<span" in second and "> over</span>" in second and " your pace" in second
    assert '<td class="text-end">60%</td>' in second
    assert "No topic" in third and "—</td>" in third and "Unanswered" in third
    assert "not tagged" in third


def test_a_held_back_question_shows_only_when_it_comes_back_in_its_cohorts_zone():
    due = do_timezone(
        datetime.datetime(2026, 12, 4, 17, 0, tzinfo=datetime.UTC), "America/New_York"
    )
    html = render([row(4, selected_letter="A", is_correct=True, held_until=due)])
    held = cells(html, 4)
    assert (
        "Held back: an open assignment of your cohort asks it, until 4 Dec 2026, 12:00 EST" in held
    )
    assert "Correct" not in held


def test_the_long_page_and_the_educators_view_link_below_and_say_the_residents_pace():
    html = render(
        [row(5, selected_letter="D", is_correct=False, note="mine", seconds_spent=120)],
        explained_items=[{}],
        viewer_is_educator=True,
        pace_seconds=60,
    )
    assert "<tr>" in html and 'id="item-5"' not in html
    assert '<a href="#item-5">Question 5</a>' in html
    assert ">Note<" not in html  # a note is the resident's own
    assert " the resident's pace" in html
