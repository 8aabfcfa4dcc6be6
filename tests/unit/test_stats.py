"""The statistics behind the dashboards, checked against small examples worked by hand."""

import datetime

import pytest
from django.utils import timezone

from questions.analytics import cohort_stats, item_stats, progress
from questions.models import Assignment, Attempt, AttemptItem, Cohort, ResidentProfile
from questions.quizzes import engine, starting
from tests.factories import (
    PublishableQuestionFactory,
    TopicFactory,
    UserFactory,
    finished_attempts,
    shown_letter,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def worked_example():
    """Four residents take the same three questions (key C) in one assignment.

        resident   Q1  Q2  Q3  total   Q1 s  Q2 s  Q3 s
        r1          1   1   1    3      30     5    40
        r2          1   1   0    2      60    50    40   (Q3: picked A)
        r3          1   0   0    1      90    20    40   (Q2: B; Q3: A)
        r4          0   -   0    0     120   100    10   (Q1: A; Q2: no answer; Q3: B)

    Facility: Q1 3/4, Q2 2/4, Q3 1/4.  Totals 3, 2, 1, 0: mean 1.5, variance 1.25.
    Rest-of-test fractions (total - item) / 2:
        Q1 x = 1,1,1,0  y = 1, .5, 0, 0   -> r = .09375 / sqrt(.1875 * .171875) = 0.52223
        Q2 x = 1,1,0,0  y = 1, .5, .5, 0  -> r = .125 / sqrt(.25 * .125)        = 0.70711
        Q3 x = 1,0,0,0  y = 1, 1, .5, 0   -> r = .09375 / sqrt(.1875 * .171875) = 0.52223
    KR-20: sum pq = .1875 + .25 + .1875 = .625; alpha = 3/2 * (1 - .625 / 1.25) = 0.75.
    SE(alpha) = (1 - .75) * sqrt(2 * 3 / (2 * 4)) = 0.21651.
    SEM = sqrt(1.25) * sqrt(.25) = 0.55902.
    Median seconds over the answers given: Q1 (60 + 90) / 2 = 75, Q2 (5, 20, 50) 20 (r4 gave
    no answer), Q3 40.
    """
    q1, q2, q3 = (PublishableQuestionFactory() for _ in range(3))
    r1, r2, r3, r4 = (UserFactory() for _ in range(4))
    cohort = Cohort.objects.create(name="Worked example")
    now = timezone.now()
    assignment = Assignment.objects.create(
        cohort=cohort,
        title="Block 1",
        question_count=3,
        opens_at=now - datetime.timedelta(days=2),
        due_at=now + datetime.timedelta(days=2),
    )
    assignment.questions.set([q1, q2, q3])
    finished_attempts(
        [
            (r1, [(q1, "C", 30), (q2, "C", 5), (q3, "C", 40)]),
            (r2, [(q1, "C", 60), (q2, "C", 50), (q3, "A", 40)]),
            (r3, [(q1, "C", 90), (q2, "B", 20), (q3, "A", 40)]),
            (r4, [(q1, "A", 120), (q2, None, 100), (q3, "B", 10)]),
        ],
        assignment=assignment,
    )
    return assignment, (q1, q2, q3)


def test_item_analysis_matches_the_hand_computed_example(worked_example, django_assert_num_queries):
    assignment, (q1, q2, q3) = worked_example
    with django_assert_num_queries(3):
        result = item_stats.item_analysis(item_stats.assignment_items(assignment))

    assert [result[q.pk].responses for q in (q1, q2, q3)] == [4, 4, 4]
    assert [result[q.pk].facility for q in (q1, q2, q3)] == [0.75, 0.5, 0.25]
    assert result[q1.pk].discrimination == pytest.approx(0.52223, abs=1e-5)
    assert result[q2.pk].discrimination == pytest.approx(0.70711, abs=1e-5)
    assert result[q3.pk].discrimination == pytest.approx(0.52223, abs=1e-5)
    assert [result[q.pk].median_seconds for q in (q1, q2, q3)] == [75, 20, 40]


def test_choice_counts_are_keyed_by_choice_with_none_for_no_answer(worked_example):
    assignment, (q1, q2, q3) = worked_example
    result = item_stats.item_analysis(item_stats.assignment_items(assignment))
    letters = {c.pk: c.letter for q in (q1, q2, q3) for c in q.choices.all()}

    def by_letter(question):
        return {letters.get(pk): n for pk, n in result[question.pk].choice_counts.items()}

    assert by_letter(q1) == {"C": 3, "A": 1}
    assert by_letter(q2) == {"C": 2, "B": 1, None: 1}
    assert by_letter(q3) == {"C": 1, "A": 2, "B": 1}


def test_reliability_matches_the_hand_computed_example(worked_example):
    assignment, _ = worked_example
    result = item_stats.reliability(
        assignment, item_stats.item_analysis(item_stats.assignment_items(assignment))
    )

    assert result["residents"] == 4
    assert result["items"] == 3
    assert result["mean"] == 1.5
    assert result["sd"] == pytest.approx(1.25**0.5)
    assert result["alpha"] == pytest.approx(0.75)
    assert result["se_alpha"] == pytest.approx(0.21651, abs=1e-5)
    assert result["sem"] == pytest.approx(0.55902, abs=1e-5)


def test_reliability_is_undefined_when_every_resident_scores_the_same():
    q1, q2 = PublishableQuestionFactory(), PublishableQuestionFactory()
    now = timezone.now()
    assignment = Assignment.objects.create(
        cohort=Cohort.objects.create(name="Same"),
        title="Same",
        question_count=2,
        opens_at=now,
        due_at=now + datetime.timedelta(days=1),
    )
    finished_attempts(
        [(UserFactory(), [(q1, "C", 1), (q2, "A", 1)]) for _ in range(3)], assignment=assignment
    )
    items = item_stats.item_analysis(item_stats.assignment_items(assignment))
    assert item_stats.reliability(assignment, items) is None


def test_median_of_an_odd_number_of_responses_is_the_middle_one():
    question, other = PublishableQuestionFactory(), PublishableQuestionFactory()
    finished_attempts(
        [(UserFactory(), [(question, "C", s), (other, "C", 1)]) for s in (50, 10, 70, 20, 90)]
    )
    result = item_stats.item_analysis(AttemptItem.objects.first_encounters())
    assert result[question.pk].median_seconds == 50


def test_first_encounters_ignore_repeats_staff_and_unfinished_quizzes():
    question, other = PublishableQuestionFactory(), PublishableQuestionFactory()
    resident, staff = UserFactory(), UserFactory(is_staff=True)
    earlier = timezone.now() - datetime.timedelta(days=5)
    finished_attempts([(resident, [(question, "A", 10), (other, "C", 10)])], started_at=earlier)
    finished_attempts([(resident, [(question, "C", 10), (other, "C", 10)])])
    finished_attempts([(staff, [(question, "C", 10), (other, "C", 10)])])
    # An unfinished quiz, even an earlier one, is not an encounter yet.
    newcomer = UserFactory()
    unfinished = starting.start_attempt(
        user=newcomer,
        config=starting.QuizConfig(question_count=2, mode=Attempt.Mode.TUTOR),
        now=earlier - datetime.timedelta(days=1),
    )
    for item in unfinished.items.all():
        engine.answer(
            attempt=unfinished,
            position=item.position,
            letter=shown_letter(item),
            now=earlier - datetime.timedelta(days=1),
        )
    engine.refresh_first_encounters(user_ids=[newcomer.pk])

    for result in (
        item_stats.item_analysis(AttemptItem.objects.first_encounters()),
        item_stats.bank_item_analysis(),
    ):
        assert result[question.pk].responses == 1
        assert result[question.pk].correct == 0


def _stats(responses, correct, discrimination):
    return item_stats.ItemStats(
        question_id=1,
        responses=responses,
        correct=correct,
        discrimination=discrimination,
        median_seconds=None,
    )


@pytest.mark.parametrize(
    ("responses", "correct", "discrimination", "flagged"),
    [
        (19, 0, -0.5, False),  # too few residents to judge
        (20, 3, 0.4, True),  # facility 0.15 < 0.2
        (20, 4, 0.4, False),  # facility 0.20 is not below 0.2
        (20, 19, 0.4, False),  # facility 0.95 is not above 0.95
        (40, 39, 0.4, True),  # facility 0.975 > 0.95
        (20, 10, 0.05, True),  # discrimination below 0.1
        (20, 10, 0.1, False),
        (20, 10, None, True),  # undefined discrimination cannot vouch for the item
    ],
)
def test_flags_follow_the_thresholds(responses, correct, discrimination, flagged):
    assert bool(_stats(responses, correct, discrimination).flags) is flagged


def test_flagged_question_ids_names_the_broken_items():
    broken, fine, filler = (PublishableQuestionFactory() for _ in range(3))
    rows = []
    for index in range(20):
        good = index >= 8  # 12 strong residents, 8 weak
        rows.append(
            (
                UserFactory(),
                [
                    (broken, "A", 30),  # everyone wrong: facility 0
                    (fine, "C" if good else "A", 30),
                    (filler, "C" if good else "B", 30),
                ],
            )
        )
    finished_attempts(rows)

    flagged = item_stats.flagged_question_ids()

    assert broken.pk in flagged
    assert "facility 0.00 is below 0.2" in flagged[broken.pk]
    assert fine.pk not in flagged


def test_resident_summary_counts_scored_items_and_averages_answered_time():
    resident = UserFactory()
    q1, q2, q3 = (PublishableQuestionFactory() for _ in range(3))
    finished_attempts([(resident, [(q1, "C", 40), (q2, "A", 80), (q3, None, 0)])])

    summary = progress.resident_summary(resident)

    assert summary == {"answered": 3, "correct": 1, "percent": 33.3, "avg_seconds": 60}


def test_topic_mastery_counts_per_topic_in_curriculum_order():
    late, early = TopicFactory(order=2), TopicFactory(order=1)
    q1, q2, q3 = (PublishableQuestionFactory() for _ in range(3))
    q1.topics.set([early])
    q2.topics.set([early, late])
    q3.topics.set([late])
    resident = UserFactory()
    finished_attempts([(resident, [(q1, "C", 5), (q2, "A", 5), (q3, "C", 5)])])

    rows = progress.topic_mastery(resident, topics=[early, late])

    assert [(r["topic"], r["correct"], r["answered"], r["percent"]) for r in rows] == [
        (early, 1, 2, 50.0),
        (late, 1, 2, 50.0),
    ]


def test_weakest_topics_skip_topics_with_too_few_answers():
    rows = [
        {"topic": "a", "answered": 4, "correct": 0, "percent": 0.0},
        {"topic": "b", "answered": 10, "correct": 6, "percent": 60.0},
        {"topic": "c", "answered": 5, "correct": 2, "percent": 40.0},
    ]
    assert [r["topic"] for r in progress.weakest_topics(rows)] == ["c", "b"]


def _resident_with_score(year, correct, question_pool, *, is_staff=False):
    user = UserFactory(is_staff=is_staff)
    ResidentProfile.objects.create(user=user, training_year=year)
    answers = [(q, "C" if i < correct else "A", 5) for i, q in enumerate(question_pool)]
    finished_attempts([(user, answers)])
    return user


def test_percentile_among_residents_of_the_same_year():
    pool = [PublishableQuestionFactory() for _ in range(10)]
    # Ten PGY-2 residents scoring 1..10 of 10; the one scoring 7 beats 6 of them.
    peers = [_resident_with_score(2, correct, pool) for correct in range(1, 11)]
    _resident_with_score(3, 10, pool)  # another year
    _resident_with_score(2, 10, pool, is_staff=True)  # staff are not peers

    result = progress.percentile_rank(peers[6])

    assert result == {"training_year": 2, "peers": 10, "percentile": 65}  # (6 + 0.5) / 10


def test_no_percentile_below_ten_residents():
    pool = [PublishableQuestionFactory() for _ in range(3)]
    peers = [_resident_with_score(1, correct % 4, pool) for correct in range(9)]

    result = progress.percentile_rank(peers[0])

    assert result["peers"] == 9
    assert result["percentile"] is None


def test_no_percentile_without_a_training_year():
    assert progress.percentile_rank(UserFactory())["percentile"] is None


def test_score_trend_lists_finished_quizzes_oldest_first():
    resident = UserFactory()
    q = PublishableQuestionFactory()
    now = timezone.now()
    finished_attempts([(resident, [(q, "A", 5)])], started_at=now - datetime.timedelta(days=3))
    finished_attempts([(resident, [(q, "C", 5)])], started_at=now - datetime.timedelta(days=1))

    assert [p["percent"] for p in progress.score_trend(resident)] == [0.0, 100.0]


def test_reliability_is_undefined_when_residents_answered_different_numbers(worked_example):
    assignment, (q1, q2, q3) = worked_example
    # A fifth resident started after a question was retired and answered only two.
    finished_attempts([(UserFactory(), [(q1, "C", 10), (q2, "A", 10)])], assignment=assignment)
    items = item_stats.item_analysis(item_stats.assignment_items(assignment))
    assert item_stats.reliability(assignment, items) is None


def test_cohort_summary_adds_up_the_table_rows():
    rows = [
        {"answered": 10, "correct": 7},
        {"answered": 0, "correct": 0},
        {"answered": 30, "correct": 15},
    ]
    assert cohort_stats.cohort_summary(rows) == {
        "residents": 3, "active": 2, "answered": 40, "correct": 22, "percent": 55.0,
    }  # fmt: skip
    assert cohort_stats.cohort_summary([])["percent"] is None


def test_scored_totals_count_finished_quizzes_and_scored_answers_of_unfinished_ones():
    questions = PublishableQuestionFactory.create_batch(3)
    resident, idle = UserFactory(), UserFactory()
    finished_attempts([(resident, [(questions[0], "C", 10), (questions[1], "A", 10)])])
    tutor = starting.start_attempt(
        user=resident, config=starting.QuizConfig(question_count=3, mode=Attempt.Mode.TUTOR)
    )
    first = tutor.items.get(position=1)
    key = next(c["letter"] for c in first.shown["choices"] if c["is_correct"])
    engine.answer(attempt=tutor, position=1, letter=key)  # scored at once in tutor mode
    starting.start_attempt(user=idle, config=starting.QuizConfig(question_count=2))  # none scored

    totals = progress.scored_totals(Attempt.objects.all())

    correct_before = sum(q.choices.get(letter="C").is_correct for q in questions[:1]) + sum(
        q.choices.get(letter="A").is_correct for q in questions[1:2]
    )
    assert set(totals) == {resident.pk}
    assert totals[resident.pk]["answered"] == 3
    assert totals[resident.pk]["correct"] == correct_before + 1
    # The same as counting the scored items one by one.
    summary = progress.resident_summary(resident)
    assert (summary["answered"], summary["correct"]) == (3, correct_before + 1)
