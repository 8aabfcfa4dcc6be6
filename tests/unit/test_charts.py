"""Charts are server-rendered SVG: no script, a name for screen readers, values printed."""

import datetime

from questions.analytics import charts


def test_trend_chart_is_static_labelled_svg_with_its_values():
    points = [
        {"finished_at": datetime.datetime(2026, 11, day), "percent": percent}
        for day, percent in [(1, 40.0), (8, 72.5)]
    ]
    svg = charts.score_trend(points, label="Scores <by quiz>")
    assert svg.startswith('<svg role="img" aria-label="Scores &lt;by quiz&gt;"')
    assert "<script" not in svg
    assert "40%" in svg and "72%" in svg  # printed on the marks, not only by colour


def test_mastery_chart_names_topics_with_their_counts_in_curriculum_order():
    rows = [
        {"topic": "Superior <SCN>", "answered": 12, "percent": 58.3},
        {"topic": "Middle", "answered": 0, "percent": None},
        {"topic": "Inferior", "answered": 5, "percent": 20.0},
    ]
    svg = charts.topic_mastery(rows, label="Mastery")
    assert "Superior &lt;SCN&gt; (n=12)" in svg  # escaped by pygal
    assert "Middle" not in svg  # nothing answered: left out of the chart (the table has it)
    # pygal draws bars bottom-up, so the first topic must come last in the SVG source.
    assert svg.index("Inferior (n=5)") < svg.index("Superior &lt;SCN&gt; (n=12)")


def test_no_chart_without_enough_data():
    assert charts.score_trend([], label="x") is None
    assert charts.topic_mastery([{"topic": "a", "answered": 0, "percent": None}], label="x") is None
