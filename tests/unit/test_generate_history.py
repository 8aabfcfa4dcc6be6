import datetime
import random

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from questions.devtools.history import HistoryError, generate_history
from questions.models import Attempt, AttemptItem, Cohort, Question, ResidentProfile
from questions.people.roles import EDUCATORS_GROUP
from questions.quizzes import engine, grading, starting
from tests.factories import PublishableQuestionFactory

pytestmark = pytest.mark.django_db
NOW = datetime.datetime(2026, 6, 1, 12, 0, tzinfo=datetime.UTC)
SMALL = {"residents": 6, "cohorts": 2, "attempts": 3, "questions": 5}


@pytest.fixture
def bank(db):
    for index, letter in enumerate("ABCDEABC"):
        PublishableQuestionFactory(key=f"gen-{index}", correct_letter=letter)


def _generate(**kwargs):
    return generate_history(**{**SMALL, "seed": 7, "now": NOW, **kwargs})


def test_writes_exactly_the_expected_rows(bank):
    report = _generate(prefix="t-", educators_per_cohort=2)

    User = get_user_model()
    assert report.rows == {
        "cohorts": 2,
        "users": 6 + 2 * 2,
        "group memberships": 4,
        "cohort educators": 4,
        "cohort residents": 6,
        "resident profiles": 6,
        "attempts": 18,
        "attempt items": 90,
    }
    assert User.objects.filter(username__startswith="t-resident-").count() == 6
    educators = User.objects.filter(username__startswith="t-educator-")
    assert all(u.is_staff and not u.has_usable_password() for u in educators)
    assert educators.filter(groups__name=EDUCATORS_GROUP).count() == 4
    assert [c.residents.count() for c in Cohort.objects.filter(name__startswith="t-")] == [3, 3]
    assert {p.training_year for p in ResidentProfile.objects.all()} <= {1, 2, 3, 4}
    assert Attempt.objects.count() == 18
    assert AttemptItem.objects.count() == 90
    # The exam tools' columns hold their defaults (on PostgreSQL, COPY writes them itself).
    tools = AttemptItem.objects.values_list("struck_letters", "highlights", "note")
    assert set(map(repr, tools)) == {repr(("", [], ""))}


@pytest.mark.slow
def test_every_attempt_is_finished_consistently(bank):
    _generate(prefix="t-", attempts=12)

    attempts = Attempt.objects.prefetch_related("items")
    assert {a.mode for a in attempts} == {Attempt.Mode.TIMED, Attempt.Mode.TUTOR}
    for attempt in attempts:
        attempt.full_clean()  # the model's check and unique constraints
        items = list(attempt.items.all())
        assert attempt.status == Attempt.Status.FINISHED
        assert attempt.correct_count == sum(item.is_correct for item in items)
        assert attempt.question_count == len(items) == 5
        assert [item.position for item in items] == [1, 2, 3, 4, 5]
        assert NOW - datetime.timedelta(days=731) < attempt.started_at < attempt.finished_at < NOW
        if attempt.mode == Attempt.Mode.TIMED:
            assert attempt.deadline_at == attempt.started_at + datetime.timedelta(
                seconds=attempt.time_limit_seconds
            )
            assert attempt.finished_at <= attempt.deadline_at
        else:
            assert attempt.deadline_at is None
            assert attempt.finish_reason == Attempt.FinishReason.SUBMITTED
        for item in items:
            item.full_clean()
            choices = item.shown["choices"]
            assert [c["letter"] for c in choices] == list("ABCDE")[: len(choices)]
            assert sum(c["is_correct"] for c in choices) == 1
            assert item.is_correct == grading.is_correct(
                selected_letter=item.selected_letter, choices=choices
            )
            assert attempt.started_at <= item.locked_at <= attempt.finished_at
            if item.selected_letter:
                chosen = next(c for c in choices if c["letter"] == item.selected_letter)
                assert item.selected_choice_pk == chosen["choice_id"]
                assert item.answered_at <= item.locked_at
                if attempt.mode == Attempt.Mode.TUTOR:
                    assert item.locked_at == item.answered_at
            else:
                assert item.answered_at is None and item.selected_choice_pk is None


def test_shown_is_the_engines_snapshot_reordered(bank):
    _generate(prefix="t-")

    item = AttemptItem.objects.select_related("question").first()
    question = Question.objects.with_bank_relations().get(pk=item.question_id)
    frozen = starting.snapshot(question, random.Random(0))
    assert item.shown.keys() == frozen.keys()
    assert {k: v for k, v in item.shown.items() if k != "choices"} == {
        k: v for k, v in frozen.items() if k != "choices"
    }
    by_id = {c["choice_id"]: c for c in frozen["choices"]}
    for choice in item.shown["choices"]:
        assert choice.keys() == by_id[choice["choice_id"]].keys()
        assert {**choice, "letter": None} == {**by_id[choice["choice_id"]], "letter": None}


def test_results_page_renders_for_the_resident_and_cohort_page_for_the_educator(bank, client):
    _generate(prefix="t-")
    attempt = Attempt.objects.select_related("user").first()

    client.force_login(attempt.user)
    response = client.get(reverse("questions:attempt_results", args=[attempt.pk]))
    assert response.status_code == 200

    cohort = Cohort.objects.get(residents=attempt.user)
    client.force_login(cohort.educators.get())
    response = client.get(reverse("questions:cohort_detail", args=[cohort.pk]))
    assert response.status_code == 200
    assert attempt.user.username in response.content.decode()


def _signature(prefix):
    items = AttemptItem.objects.filter(attempt__user__username__startswith=prefix).order_by(
        "attempt__user__username", "attempt__started_at", "position"
    )
    return [
        (
            item.attempt.user.username.removeprefix(prefix),
            item.attempt.mode,
            item.attempt.started_at,
            item.attempt.finished_at,
            item.attempt.correct_count,
            item.question_id,
            item.shown,
            item.selected_letter,
            item.answered_at,
            item.locked_at,
            item.is_correct,
            item.is_flagged,
            item.seconds_spent,
        )
        for item in items.select_related("attempt__user")
    ]


def test_the_same_seed_gives_the_same_history(bank):
    _generate(prefix="a-")
    _generate(prefix="b-")
    _generate(prefix="c-", seed=8)

    assert _signature("a-") == _signature("b-")
    assert _signature("a-") != _signature("c-")


def test_query_count_does_not_grow_with_the_size(bank):
    # Both sizes fit one round and one SQLite INSERT (999 parameters: 62 items of 16
    # columns); beyond that each round or batch adds its own INSERT.
    with CaptureQueriesContext(connection) as small:
        _generate(prefix="s-", residents=2)
    with CaptureQueriesContext(connection) as large:
        _generate(prefix="l-", residents=3)

    assert len(large.captured_queries) == len(small.captured_queries) < 30


def test_refuses_a_prefix_in_use(bank):
    _generate(prefix="t-")
    with pytest.raises(HistoryError, match="Choose another --prefix"):
        _generate(prefix="t-")
    assert Attempt.objects.count() == 18


def test_refuses_when_the_bank_is_too_small(bank):
    with pytest.raises(HistoryError, match="manage.py load_bank"):
        _generate(prefix="t-", questions=9)
    assert not get_user_model().objects.exists()


def test_command_needs_debug_or_force(bank, settings, capsys):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DJANGO_DEBUG"):
        call_command("generate_history", residents=2)

    call_command(
        "generate_history",
        "--force",
        "--residents=2",
        "--cohorts=1",
        "--attempts=2",
        "--questions=4",
        "--prefix=cmd-",
    )
    assert "Wrote 30 rows" in capsys.readouterr().out
    assert AttemptItem.objects.count() == 16


def test_marks_the_first_encounters_the_engine_would(bank):
    _generate(prefix="t-", attempts=6)
    marked = set(AttemptItem.objects.filter(first_encounter=True).values_list("pk", flat=True))
    assert marked, "every resident has first encounters"
    AttemptItem.objects.update(first_encounter=False)
    engine.refresh_first_encounters()
    assert set(AttemptItem.objects.filter(first_encounter=True).values_list("pk", flat=True)) == (
        marked
    )


def test_confidence_is_calibrated_and_misses_carry_plausible_reasons(bank):
    _generate(prefix="t-", residents=20, attempts=10)
    items = AttemptItem.objects.all()

    def percent_right(confidence):
        given = items.filter(confidence=confidence)
        return 100 * given.filter(is_correct=True).count() / given.count()

    # Residents are right more often when sure than when guessing, and not always when sure.
    assert percent_right("guess") < percent_right("unsure") < percent_right("sure") < 100
    assert not items.filter(selected_letter="").exclude(confidence="").exists()
    tagged = items.exclude(miss_type="")
    assert tagged.exists() and not tagged.filter(is_correct=True).exists()
    assert not tagged.filter(miss_type="time").exclude(selected_letter="").exists()
