"""The running totals behind the bank's item analysis (questions/models/item_totals.py): kept
as first encounters are marked, they equal a full recomputation, and the figures read from
them equal ``item_analysis`` over every first encounter."""

import contextlib
import datetime
import random

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from hypothesis import event, given
from hypothesis import strategies as st

from questions.analytics import item_stats
from questions.devtools.history import generate_history
from questions.models import (
    Attempt,
    AttemptItem,
    ItemChoiceCount,
    ItemSecondsCount,
    ItemTotal,
    item_totals,
)
from questions.quizzes import engine, starting
from questions.quizzes.errors import EngineError, NotDiscardable
from tests.concurrency import run_together
from tests.factories import PublishableQuestionFactory, UserFactory, finished_attempts
from tests.fuzz.helpers import fuzz_settings, rolled_back

pytestmark = pytest.mark.django_db

T0 = datetime.datetime(2026, 3, 2, 8, 0, tzinfo=datetime.UTC)
TABLES = (
    (ItemTotal, ("question_id", "question_count"), item_totals.TOTAL_SUMS),
    (ItemChoiceCount, ("question_id", "choice_pk"), ("responses",)),
    (ItemSecondsCount, ("question_id", "seconds"), ("responses",)),
)


def _totals() -> list[dict[tuple, tuple]]:
    """The three tables, ``{key: sums}``, rows at zero left out (a mark that moved away)."""
    return [
        {
            tuple(row[:2]): tuple(row[2:])
            for row in model.objects.values_list(*keys, *sums)
            if any(row[2:])
        }
        for model, keys, sums in TABLES
    ]


def assert_totals_are_exact() -> None:
    """The marks are on each account's earliest started finished quiz with each question
    (then the lowest attempt id), the running totals equal rebuild_item_totals'
    recomputation row for row, and bank_item_analysis equals item_analysis over every first
    encounter (the discrimination to rounding: the SQL adds floats, the totals integers)."""
    finished = AttemptItem.objects.filter(attempt__status=Attempt.Status.FINISHED)
    firsts: dict[tuple, tuple] = {}
    for pk, user, question, started, attempt in finished.values_list(
        "pk", "attempt__user", "question", "attempt__started_at", "attempt"
    ):
        firsts[user, question] = min(
            firsts.get((user, question), (started, attempt, pk)), (started, attempt, pk)
        )
    marked = set(AttemptItem.objects.filter(first_encounter=True).values_list("pk", flat=True))
    assert marked == {pk for *_, pk in firsts.values()}, "a mark is missing or misplaced"
    expected = item_stats.item_analysis(AttemptItem.objects.first_encounters())
    actual = item_stats.bank_item_analysis()
    assert actual.keys() == expected.keys()
    for question_id, stats in expected.items():
        got = actual[question_id]
        assert (got.responses, got.correct, got.facility) == (
            stats.responses,
            stats.correct,
            stats.facility,
        )
        assert got.median_seconds == stats.median_seconds
        assert got.choice_counts == stats.choice_counts
        if stats.discrimination is None:
            assert got.discrimination is None
        else:
            assert got.discrimination == pytest.approx(stats.discrimination, rel=1e-9, abs=1e-12)
        assert got.flags == stats.flags
    shares = item_stats.first_attempt_choice_counts(expected)
    assert {q: s["by_choice"] for q, s in shares.items()} == {
        q: s.choice_counts for q, s in expected.items()
    }
    assert {q: s["residents"] for q, s in shares.items()} == {
        q: s.responses for q, s in expected.items()
    }
    running = _totals()
    item_totals.rebuild_item_totals()
    assert running == _totals()


# --------------------------------------------------------------------------- random histories


@pytest.fixture
def bank(db):
    return [PublishableQuestionFactory(correct_letter=letter) for letter in "ABCDC"]


@pytest.fixture
def people(db):
    return [UserFactory() for _ in range(5)] + [UserFactory(is_staff=True)]


def _start(data, user, rng) -> Attempt:
    """A practice quiz through the engine, started at a random time, its questions answered
    (or not) and timed at random."""
    started = T0 + datetime.timedelta(minutes=data.draw(st.integers(0, 240), label="start"))
    mode = data.draw(st.sampled_from(Attempt.Mode.values), label="mode")
    count = data.draw(st.sampled_from([1, 2, 3, 4, 5, 5]), label="questions")
    attempt = starting.start_attempt(
        user=user,
        config=starting.QuizConfig(question_count=count, mode=mode),
        now=started,
        rng=rng,
    )
    for item in attempt.items.all():
        letters = [c["letter"] for c in item.shown["choices"]]
        key = next(c["letter"] for c in item.shown["choices"] if c["is_correct"])
        letter = data.draw(st.sampled_from(["", key, key, *letters]), label="letter")
        if letter:
            engine.answer(
                attempt=attempt,
                position=item.position,
                letter=letter,
                lock=data.draw(st.booleans(), label="lock"),
                now=started + datetime.timedelta(seconds=1),
            )
        # The time on the question, as the engine credits it (an UPDATE of seconds_spent).
        seconds = data.draw(st.sampled_from([0, 1, 30, 30, 45, 90, 600]), label="seconds")
        AttemptItem.objects.filter(pk=item.pk).update(seconds_spent=seconds)
    return attempt


def _marked(user_id) -> list[int]:
    return list(
        AttemptItem.objects.filter(attempt__user=user_id, first_encounter=True).values_list(
            "pk", flat=True
        )
    )


@pytest.mark.slow
@fuzz_settings(80)
@given(data=st.data())
def test_running_totals_equal_a_full_recomputation_on_random_histories(bank, people, data):
    """Residents (one of them staff) start quizzes at random times, answer them, then finish
    them in a random order (a quiz started earlier but finished later takes the first
    encounters over), discard some or leave them open; between two finishes an account may
    be made staff or not, or deleted."""
    with rolled_back():
        users = {u.pk: u for u in get_user_model().objects.filter(pk__in=[u.pk for u in people])}
        rng = random.Random(data.draw(st.integers(0, 2**16), label="seed"))
        started = [
            _start(data, data.draw(st.sampled_from(list(users.values())), label="user"), rng)
            for _ in range(data.draw(st.integers(4, 14), label="quizzes"))
        ]
        for attempt in data.draw(st.permutations(started), label="order"):
            if attempt.user_id not in users:
                continue  # the account is gone, and its quizzes with it
            after = data.draw(st.integers(2, 4000), label="seconds after its start")
            at = attempt.started_at + datetime.timedelta(seconds=after)
            action = data.draw(st.sampled_from(["finish"] * 4 + ["discard", "leave"]))
            if action == "finish":  # past a timed quiz's deadline: finished as of it
                marked = set(_marked(attempt.user_id))
                engine.finish_attempt(attempt=attempt, now=at)
                if marked - set(_marked(attempt.user_id)):
                    event("a first encounter moved to a quiz started earlier")
            elif action == "discard":
                with contextlib.suppress(NotDiscardable):  # past its deadline: refused
                    starting.discard_attempt(attempt=attempt, user=users[attempt.user_id], now=at)
            then = data.draw(st.sampled_from([*[None] * 5, "staff", "delete"]), label="then")
            user = users[data.draw(st.sampled_from(sorted(users)), label="account")]
            if then == "staff":
                user.is_staff = not user.is_staff
                user.save()
                event("an account made staff or not")
            elif then == "delete" and len(users) > 1:
                if _marked(user.pk):
                    event("an account with first encounters deleted")
                del users[user.pk]
                user.delete()
        figures = item_stats.item_analysis(AttemptItem.objects.first_encounters()).values()
        if any(s.discrimination is not None for s in figures):
            event("a discrimination defined")
        assert_totals_are_exact()


# --------------------------------------------------------------------------- each path


def test_a_quiz_started_earlier_but_finished_later_takes_over_the_totals(bank):
    resident = UserFactory()
    question = bank[0]  # key A

    def start(minutes):
        attempt = starting.start_attempt(
            user=resident,
            config=starting.QuizConfig(question_count=len(bank), mode=Attempt.Mode.TIMED),
            now=T0 + datetime.timedelta(minutes=minutes),
        )
        return attempt, attempt.items.get(question=question)

    earlier, earlier_item = start(0)
    later, later_item = start(5)
    letter = {c["is_correct"]: c["letter"] for c in later_item.shown["choices"]}
    engine.answer(attempt=later, position=later_item.position, letter=letter[True], now=T0)
    wrong = next(c["letter"] for c in earlier_item.shown["choices"] if not c["is_correct"])
    engine.answer(attempt=earlier, position=earlier_item.position, letter=wrong, now=T0)

    engine.finish_attempt(attempt=later, now=T0 + datetime.timedelta(minutes=6))
    assert item_stats.bank_item_analysis()[question.pk].correct == 1
    assert_totals_are_exact()

    engine.finish_attempt(attempt=earlier, now=T0 + datetime.timedelta(minutes=7))
    stats = item_stats.bank_item_analysis()[question.pk]
    assert (stats.responses, stats.correct) == (1, 0), "the earlier quiz's answer counts now"
    assert_totals_are_exact()


def test_deleting_an_account_takes_its_first_encounters_out(bank):
    stays, leaves = UserFactory(), UserFactory()
    finished_attempts(
        [(stays, [(bank[0], "A", 30)]), (leaves, [(bank[0], "B", 50), (bank[1], None, 0)])]
    )
    assert item_stats.bank_item_analysis()[bank[0].pk].responses == 2

    leaves.delete()

    assert bank[1].pk not in item_stats.bank_item_analysis()
    assert item_stats.bank_item_analysis()[bank[0].pk].responses == 1
    assert_totals_are_exact()


def test_staff_are_left_out_whenever_they_became_staff(bank):
    resident, educator = UserFactory(), UserFactory(is_staff=True)
    finished_attempts([(resident, [(bank[0], "A", 30)]), (educator, [(bank[0], "A", 40)])])
    assert item_stats.bank_item_analysis()[bank[0].pk].responses == 1

    get_user_model().objects.filter(pk=resident.pk).update(is_staff=True)  # no save() at all
    assert item_stats.bank_item_analysis() == {}
    get_user_model().objects.filter(pk=educator.pk).update(is_staff=False)
    assert item_stats.bank_item_analysis()[bank[0].pk].median_seconds == 40
    assert_totals_are_exact()


def test_a_discarded_quiz_in_progress_leaves_the_totals_as_they_were(bank):
    resident = UserFactory()
    finished_attempts([(resident, [(bank[0], "A", 30)])])
    before = _totals()
    attempt = starting.start_attempt(
        user=resident, config=starting.QuizConfig(question_count=3), now=T0
    )
    engine.answer(attempt=attempt, position=1, letter="A", now=T0)

    starting.discard_attempt(attempt=attempt, user=resident, now=T0)

    assert _totals() == before
    assert_totals_are_exact()


def test_a_finished_quiz_cannot_be_discarded(bank):
    """The one deletion of a quiz a resident may ask for refuses a finished one, whose marks
    the totals count (only an account's deletion removes those)."""
    resident = UserFactory()
    (attempt,) = finished_attempts([(resident, [(bank[0], "A", 30)])])
    with pytest.raises(EngineError):
        starting.discard_attempt(attempt=attempt, user=resident, now=T0)


def test_generated_history_is_counted(bank):
    generate_history(residents=4, cohorts=1, attempts=3, questions=4, prefix="g-", now=T0)
    assert sum(n for n, *_ in _totals()[0].values()) == (
        AttemptItem.objects.filter(first_encounter=True).count()
    )
    assert_totals_are_exact()


# --------------------------------------------------------------------------- query counts


def test_bank_item_analysis_matches_the_hand_computed_example(django_assert_num_queries):
    """tests/unit/test_stats.py's worked example, as first encounters: four residents, three
    questions (key C)."""
    q1, q2, q3 = (PublishableQuestionFactory() for _ in range(3))
    r1, r2, r3, r4 = (UserFactory() for _ in range(4))
    finished_attempts(
        [
            (r1, [(q1, "C", 30), (q2, "C", 5), (q3, "C", 40)]),
            (r2, [(q1, "C", 60), (q2, "C", 50), (q3, "A", 40)]),
            (r3, [(q1, "C", 90), (q2, "B", 20), (q3, "A", 40)]),
            (r4, [(q1, "A", 120), (q2, None, 100), (q3, "B", 10)]),
        ]
    )
    with django_assert_num_queries(3):
        result = item_stats.bank_item_analysis()

    assert [result[q.pk].facility for q in (q1, q2, q3)] == [0.75, 0.5, 0.25]
    assert result[q1.pk].discrimination == pytest.approx(0.52223, abs=1e-5)
    assert result[q2.pk].discrimination == pytest.approx(0.70711, abs=1e-5)
    assert result[q3.pk].discrimination == pytest.approx(0.52223, abs=1e-5)
    assert [result[q.pk].median_seconds for q in (q1, q2, q3)] == [75, 20, 40]
    assert result[q2.pk].choice_counts[None] == 1


def test_the_analysis_reads_three_queries_whatever_the_history(bank, django_assert_num_queries):
    residents = [UserFactory() for _ in range(12)]
    finished_attempts(
        [
            (r, [(q, "ABCDE"[(i + j) % 5], 10 * i + j) for j, q in enumerate(bank)])
            for i, r in enumerate(residents)
        ]
    )
    with django_assert_num_queries(3):
        item_stats.bank_item_analysis()
    with django_assert_num_queries(1):
        item_stats.first_attempt_choice_counts([q.pk for q in bank])


@pytest.mark.parametrize("answered", [True, False])
def test_marking_a_finish_costs_five_queries_and_no_change_one(
    bank, django_assert_num_queries, answered
):
    resident = UserFactory()
    attempt = starting.start_attempt(
        user=resident, config=starting.QuizConfig(question_count=4), now=T0
    )
    Attempt.objects.filter(pk=attempt.pk).update(
        status=Attempt.Status.FINISHED, finished_at=T0, correct_count=0
    )
    AttemptItem.objects.filter(attempt=attempt).update(
        locked_at=T0, answered_at=T0 if answered else None, is_correct=False, seconds_spent=30
    )
    # The rows whose mark flips, the flip, one upsert per table.
    with django_assert_num_queries(5):
        assert engine.refresh_first_encounters(user_ids=[resident.pk]) == 4
    with django_assert_num_queries(1):
        assert engine.refresh_first_encounters(user_ids=[resident.pk]) == 0
    assert_totals_are_exact()


# --------------------------------------------------------------------------- concurrent finishes


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row locks need PostgreSQL (set DATABASE_URL)"
)
def test_residents_finishing_at_once_over_the_same_questions_all_count():
    """Every finish adds to the same questions' rows: the upserts wait for each other (in key
    order, whatever order each quiz drew its questions in: no deadlock) and none is lost."""
    for letter in "ABCDEABCDE":
        PublishableQuestionFactory(correct_letter=letter)
    attempts = [
        starting.start_attempt(
            user=UserFactory(), config=starting.QuizConfig(question_count=10), now=T0
        )
        for _ in range(8)
    ]
    for index, attempt in enumerate(attempts):
        for item in attempt.items.all()[: index + 2]:
            letter = item.shown["choices"][index % 5]["letter"]
            engine.answer(attempt=attempt, position=item.position, letter=letter, now=T0)
    finish = T0 + datetime.timedelta(minutes=5)

    errors = run_together(8, lambda i: engine.finish_attempt(attempt=attempts[i], now=finish))

    assert errors == [None] * 8
    assert sum(n for n, *_ in _totals()[0].values()) == 80
    assert_totals_are_exact()


def test_the_upsert_binds_no_more_parameters_a_statement_than_the_backend_allows(monkeypatch):
    """SQLite before 3.32 refuses a statement with more than 999 variables (Django's
    max_query_params there): 1,000 rows of 7 columns were 7,000."""
    from django.db import connection

    from questions.models import item_totals as totals

    monkeypatch.setattr(connection.features, "max_query_params", 30)
    captured = []

    def check(execute, sql, params, many, context):
        captured.append(len(params or ()))
        return execute(sql, params, many, context)

    question = PublishableQuestionFactory()
    deltas = {(question.pk, seconds): [1] for seconds in range(1, 50)}
    with connection.execute_wrapper(check):
        totals._add(totals.ItemSecondsCount, ("question", "seconds"), ("responses",), deltas)
    assert captured and max(captured) <= 30
    assert totals.ItemSecondsCount.objects.filter(question=question).count() == 49
