"""Exam simulations (quizzes.simulation): every phase and transition, time as a parameter.

A simulation of 3 blocks of 5 questions at the standard pace (90 s: 7:30 a block) with a
10-minute break, unless a test says otherwise."""

import datetime
import uuid

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from questions.models import Attempt, ExamSimulation, Question, ResidentProfile
from questions.quizzes import drawing, engine, simulation, starting
from questions.quizzes.simulation import Phase
from tests.factories import PublishableQuestionFactory, TopicFactory, UserFactory

pytestmark = pytest.mark.django_db

T0 = datetime.datetime(2026, 3, 2, 8, 0, tzinfo=datetime.UTC)
BLOCK = datetime.timedelta(seconds=5 * 90)
BREAK = datetime.timedelta(minutes=10)
GRACE = datetime.timedelta(seconds=engine.GRACE_SECONDS)


def at(**delta) -> datetime.datetime:
    return T0 + datetime.timedelta(**delta)


@pytest.fixture(scope="module")
def _bank(module_db):
    with module_db():
        return PublishableQuestionFactory.create_batch(16)


@pytest.fixture
def bank(_bank, db):
    """16 published questions, built once for the module (each test's writes roll back)."""
    return _bank


def create(user, *, block_count=3, block_size=5, break_seconds=600, **options):
    return simulation.create_simulation(
        user=user,
        block_count=block_count,
        block_size=block_size,
        break_seconds=break_seconds,
        now=options.pop("now", T0),
        **options,
    )


def state(sim, now):
    sim.refresh_from_db()
    return simulation.simulation_state(simulation=sim, now=now)


def start(sim, now, **options):
    return simulation.start_block(simulation=sim, user=sim.user, now=now, **options)


def submit(block, now):
    return engine.finish_attempt(attempt=block, now=now)


# --- Creating ------------------------------------------------------------------------------


def test_a_new_simulation_plans_every_blocks_questions_and_waits_at_block_ones_start(
    bank, resident
):
    sim = create(resident)

    assert (sim.block_count, sim.block_size, sim.break_seconds) == (3, 5, 600)
    assert sim.seconds_per_question == 90
    assert len(sim.question_ids) == len(set(sim.question_ids)) == 15
    assert set(sim.question_ids) <= {q.pk for q in bank}
    current = state(sim, at(hours=5))  # nothing runs before block 1 is started
    assert (current.phase, current.block_number, current.blocks) == (Phase.START, 1, [])
    assert sim.blocks.count() == 0


@pytest.mark.parametrize(("setting", "pace"), [("standard", 90), ("x1.5", 135), ("x2", 180)])
def test_the_pace_is_the_residents_own_fixed_at_creation(bank, resident, setting, pace):
    ResidentProfile.objects.create(user=resident, time_setting=setting)
    sim = create(resident)
    ResidentProfile.objects.filter(user=resident).update(time_setting="standard")

    block = start(sim, T0)

    assert sim.seconds_per_question == pace
    assert block.deadline_at == T0 + datetime.timedelta(seconds=5 * pace)


def test_an_untimed_resident_is_told_the_exam_is_timed(bank, resident):
    ResidentProfile.objects.create(user=resident, time_setting="untimed")
    with pytest.raises(simulation.UntimedSetting, match="timed"):
        create(resident)
    assert not ExamSimulation.objects.exists()


def test_a_pool_smaller_than_every_block_together_is_refused(bank, resident):
    with pytest.raises(drawing.PoolTooSmall) as refused:
        create(resident, block_count=4, block_size=5)
    assert (refused.value.available, refused.value.requested) == (16, 20)
    assert not ExamSimulation.objects.exists()


def test_the_topics_and_pool_limit_the_questions_drawn(bank, resident):
    topic = TopicFactory()
    for question in bank[:10]:
        question.topics.add(topic)
    sim = create(resident, block_count=2, topics=[topic], pool=Attempt.Pool.UNUSED)
    assert set(sim.question_ids) == {q.pk for q in bank[:10]}
    assert list(sim.topics.all()) == [topic]


@pytest.mark.parametrize(
    "sizes",
    [
        {"block_count": 1},
        {"block_count": 9},
        {"block_size": 4},
        {"block_size": 41},
        {"break_seconds": 901},
    ],
)
def test_sizes_out_of_range_are_refused(bank, resident, sizes):
    with pytest.raises(ValidationError):
        create(resident, **({"block_count": 2} | sizes))


def test_the_database_refuses_sizes_out_of_range(bank, resident):
    sim = create(resident)
    with pytest.raises(IntegrityError), transaction.atomic():
        ExamSimulation.objects.filter(pk=sim.pk).update(block_size=41)


def test_the_same_builder_form_twice_creates_one_simulation(bank, resident):
    token = uuid.uuid4()
    first = create(resident, token=token)
    again = create(resident, token=token)
    assert again.pk == first.pk
    assert ExamSimulation.objects.count() == 1


# --- Block 1 --------------------------------------------------------------------------------


def test_starting_block_one_makes_a_timed_practice_attempt_of_its_planned_questions(bank, resident):
    sim = create(resident)

    block = start(sim, at(minutes=3), block_number=1)

    assert (block.simulation_id, block.block_number) == (sim.pk, 1)
    assert (block.mode, block.assignment_id, block.status) == ("timed", None, "in_progress")
    assert block.started_at == at(minutes=3)
    assert block.deadline_at == at(minutes=3) + BLOCK
    assert [i.question_id for i in block.items.order_by("position")] == sim.question_ids[:5]
    current = state(sim, at(minutes=4))
    assert (current.phase, current.attempt, current.block_number) == (Phase.BLOCK, block, 1)
    assert current.remaining_seconds == 6 * 60 + 30


def test_a_block_planned_before_an_assignment_leaves_out_what_it_now_assesses(bank, resident):
    from questions.models import Assignment, Cohort

    sim = create(resident)
    cohort = Cohort.objects.create(name="Held")
    cohort.residents.add(resident)
    assessed = Question.objects.filter(pk__in=sim.question_ids[:2])
    assignment = Assignment.objects.create(
        cohort=cohort,
        title="Set later",
        question_count=2,
        opens_at=at(minutes=1),
        due_at=at(days=2),
    )
    assignment.questions.set(assessed)

    block = start(sim, at(minutes=3), block_number=1)

    assert [i.question_id for i in block.items.order_by("position")] == sim.question_ids[2:5]


def test_a_double_click_on_start_starts_one_block(bank, resident):
    sim = create(resident)
    first = start(sim, T0, block_number=1)
    second = start(sim, at(seconds=1), block_number=1)
    third = start(sim, at(seconds=2))
    assert first.pk == second.pk == third.pk
    assert sim.blocks.count() == 1
    assert second.started_at == T0


def test_the_database_holds_one_attempt_per_block_number(bank, resident):
    sim = create(resident)
    start(sim, T0)
    with pytest.raises(IntegrityError), transaction.atomic():
        starting.start_block(simulation=sim, block_number=1, started_at=T0)


def test_block_one_submitted_starts_the_break(bank, resident):
    sim = create(resident)
    block = start(sim, T0)
    submit(block, at(minutes=4))

    current = state(sim, at(minutes=5))

    assert current.phase is Phase.BREAK
    assert current.block_number == 2
    assert current.break_ends_at == at(minutes=4) + BREAK
    assert current.remaining_seconds == 9 * 60
    assert sim.blocks.count() == 1


def test_block_one_past_its_deadline_finishes_as_of_the_deadline_and_the_break_follows(
    bank, resident
):
    sim = create(resident)
    block = start(sim, T0)
    engine.answer(attempt=block, position=1, letter="A", now=at(minutes=1))

    current = state(sim, T0 + BLOCK + GRACE + datetime.timedelta(seconds=1))

    block.refresh_from_db()
    assert (block.status, block.finish_reason, block.finished_at) == (
        "finished",
        "deadline",
        T0 + BLOCK,
    )
    assert current.phase is Phase.BREAK
    assert current.break_ends_at == T0 + BLOCK + BREAK


def test_within_the_grace_period_the_block_still_runs(bank, resident):
    sim = create(resident)
    start(sim, T0)
    assert state(sim, T0 + BLOCK + GRACE).phase is Phase.BLOCK


def test_a_read_while_nothing_is_due_writes_nothing(bank, resident, django_assert_num_queries):
    sim = create(resident)
    submit(start(sim, T0), at(minutes=2))
    sim.refresh_from_db()
    with django_assert_num_queries(1):  # the blocks
        current = simulation.simulation_state(simulation=sim, now=at(minutes=3))
    assert current.phase is Phase.BREAK


# --- The break ------------------------------------------------------------------------------


def test_ending_the_break_starts_the_next_block_now(bank, resident):
    sim = create(resident)
    submit(start(sim, T0), at(minutes=4))

    block = simulation.end_break(simulation=sim, user=resident, now=at(minutes=6))

    assert (block.block_number, block.started_at) == (2, at(minutes=6))
    assert block.deadline_at == at(minutes=6) + BLOCK
    assert state(sim, at(minutes=7)).attempt == block


def test_ending_the_break_twice_starts_one_block(bank, resident):
    sim = create(resident)
    submit(start(sim, T0), at(minutes=4))
    first = simulation.end_break(simulation=sim, user=resident, now=at(minutes=6))
    second = simulation.end_break(simulation=sim, user=resident, now=at(minutes=6, seconds=1))
    assert first.pk == second.pk
    assert sim.blocks.count() == 2


def test_the_start_button_during_the_break_also_ends_it(bank, resident):
    sim = create(resident)
    submit(start(sim, T0), at(minutes=4))
    block = start(sim, at(minutes=5), block_number=2)
    assert (block.block_number, block.started_at) == (2, at(minutes=5))


def test_a_break_that_runs_out_starts_the_next_block_as_of_the_breaks_end(bank, resident):
    sim = create(resident)
    submit(start(sim, T0), at(minutes=4))
    break_end = at(minutes=4) + BREAK

    current = state(sim, break_end + datetime.timedelta(minutes=2))

    assert current.phase is Phase.BLOCK
    block = current.attempt
    assert (block.block_number, block.started_at, block.deadline_at) == (
        2,
        break_end,
        break_end + BLOCK,
    )
    assert current.remaining_seconds == (BLOCK - datetime.timedelta(minutes=2)).seconds


def test_the_break_ends_exactly_at_its_end(bank, resident):
    sim = create(resident)
    submit(start(sim, T0), at(minutes=4))
    break_end = at(minutes=4) + BREAK
    assert state(sim, break_end - datetime.timedelta(seconds=1)).phase is Phase.BREAK
    assert state(sim, break_end).attempt.started_at == break_end


def test_a_block_overdue_after_an_abandoned_break_finishes_as_of_its_deadline(bank, resident):
    sim = create(resident)
    submit(start(sim, T0), at(minutes=4))
    block_two_deadline = at(minutes=4) + BREAK + BLOCK

    current = state(sim, block_two_deadline + datetime.timedelta(minutes=1))

    two = sim.blocks.get(block_number=2)
    assert (two.status, two.finish_reason, two.finished_at) == (
        "finished",
        "deadline",
        block_two_deadline,
    )
    assert two.correct_count == 0  # every question unanswered: wrong
    assert current.phase is Phase.BREAK
    assert current.block_number == 3
    assert current.break_ends_at == block_two_deadline + BREAK


def test_an_abandoned_simulation_runs_its_course_on_the_next_read(bank, resident):
    sim = create(resident)
    start(sim, T0)

    current = state(sim, at(days=2))

    blocks = list(sim.blocks.order_by("block_number"))
    assert [b.finish_reason for b in blocks] == ["deadline"] * 3
    assert [b.started_at for b in blocks] == [T0, T0 + BLOCK + BREAK, T0 + 2 * (BLOCK + BREAK)]
    assert current.phase is Phase.FINISHED
    sim.refresh_from_db()
    assert (sim.status, sim.finished_at) == ("finished", T0 + 3 * BLOCK + 2 * BREAK)


def test_without_a_break_the_next_block_starts_as_the_last_one_ends(bank, resident):
    sim = create(resident, break_seconds=0)
    submit(start(sim, T0), at(minutes=3))

    current = state(sim, at(minutes=3))

    assert current.phase is Phase.BLOCK
    assert (current.attempt.block_number, current.attempt.started_at) == (2, at(minutes=3))


# --- The end ------------------------------------------------------------------------------


def test_the_last_block_finishing_finishes_the_simulation_as_of_its_end(bank, resident):
    sim = create(resident, block_count=2)
    submit(start(sim, T0), at(minutes=4))
    two = simulation.end_break(simulation=sim, user=resident, now=at(minutes=5))
    submit(two, at(minutes=9))

    current = state(sim, at(minutes=30))

    assert current.phase is Phase.FINISHED
    sim.refresh_from_db()
    assert (sim.status, sim.finished_at) == ("finished", at(minutes=9))
    figures = simulation.summary(current)
    assert [row.time_used_seconds for row in figures.rows] == [240, 240]
    assert (figures.correct, figures.total, figures.time_used_seconds) == (0, 10, 480)


def test_the_summary_adds_up_each_blocks_score(bank, resident):
    sim = create(resident, block_count=2)
    one = start(sim, T0)
    for item in one.items.all()[:3]:
        key = next(c["letter"] for c in item.shown["choices"] if c["is_correct"])
        engine.answer(attempt=one, position=item.position, letter=key, now=at(minutes=1))
    submit(one, at(minutes=2))
    submit(simulation.end_break(simulation=sim, user=resident, now=at(minutes=3)), at(minutes=4))

    figures = simulation.summary(state(sim, at(minutes=5)))

    assert [row.attempt.correct_count for row in figures.rows] == [3, 0]
    assert [row.percent for row in figures.rows] == [60.0, 0.0]
    assert (figures.correct, figures.total, figures.percent) == (3, 10, 30.0)


def test_the_summary_leaves_out_answers_an_assignment_set_since_assesses(bank, resident):
    from questions.analytics import progress
    from questions.models import Assignment, Cohort

    sim = create(resident, block_count=2)
    one = start(sim, T0)
    right = list(one.items.order_by("position")[:3])
    for item in right:
        key = next(c["letter"] for c in item.shown["choices"] if c["is_correct"])
        engine.answer(attempt=one, position=item.position, letter=key, now=at(minutes=1))
    submit(one, at(minutes=2))
    submit(simulation.end_break(simulation=sim, user=resident, now=at(minutes=3)), at(minutes=4))
    cohort = Cohort.objects.create(name="Set since")
    cohort.residents.add(resident)
    assignment = Assignment.objects.create(
        cohort=cohort, title="Now", question_count=1, opens_at=at(minutes=10),
        due_at=at(days=3650),  # still open when the page below is read, by the real clock
    )  # fmt: skip
    assignment.questions.set([right[0].question])
    current = state(sim, at(minutes=20))
    held = progress.held_scores(resident, [b.pk for b in current.blocks], at(minutes=20))

    figures = simulation.summary(current, held=held)

    assert [(row.correct, row.total, row.held) for row in figures.rows] == [(2, 4, 1), (0, 5, 0)]
    assert (figures.correct, figures.total, figures.held) == (2, 9, 1)
    page = " ".join(
        simulation_page(resident, sim).split()
    )  # the resident's own summary page says so too
    assert "Leaves out 1 answer" in page


def simulation_page(resident, sim):
    from django.test import Client

    client = Client()
    client.force_login(resident)
    return client.get(reverse("questions:simulation_detail", args=[sim.pk])).content.decode()


def test_nothing_starts_once_the_simulation_is_over(bank, resident):
    sim = create(resident, block_count=2)
    state(sim, T0)
    start(sim, T0)
    state(sim, at(days=1))
    with pytest.raises(simulation.SimulationOver):
        start(sim, at(days=1))
    with pytest.raises(simulation.SimulationOver):
        simulation.end_break(simulation=sim, user=resident, now=at(days=1))
    assert sim.blocks.count() == 2


def test_there_is_no_break_to_end_before_block_one(bank, resident):
    sim = create(resident)
    with pytest.raises(simulation.NotOnBreak):
        simulation.end_break(simulation=sim, user=resident, now=T0)
    assert sim.blocks.count() == 0


def test_a_stale_start_screen_starts_nothing(bank, resident):
    sim = create(resident)
    submit(start(sim, T0, block_number=1), at(minutes=2))
    with pytest.raises(simulation.StaleBlock):
        start(sim, at(minutes=3), block_number=1)
    assert sim.blocks.count() == 1


def test_no_question_comes_back_in_a_later_block(bank, resident):
    sim = create(resident, pool=Attempt.Pool.ALL)
    start(sim, T0)
    state(sim, at(days=1))  # every block started and finished

    asked = [
        list(block.items.order_by("position").values_list("question_id", flat=True))
        for block in sim.blocks.order_by("block_number")
    ]
    assert [len(questions) for questions in asked] == [5, 5, 5]
    assert sum(asked, []) == sim.question_ids
    assert len(set(sum(asked, []))) == 15


def test_a_question_retired_since_the_start_is_left_out_of_its_block(bank, resident):
    sim = create(resident, block_count=2)
    submit(start(sim, T0), at(minutes=1))
    Question.objects.filter(pk=sim.question_ids[7]).update(status=Question.Status.RETIRED)

    two = simulation.end_break(simulation=sim, user=resident, now=at(minutes=2))

    assert two.question_count == 4
    assert two.deadline_at == at(minutes=2) + datetime.timedelta(seconds=4 * 90)


def test_a_block_whose_questions_are_all_retired_ends_the_simulation(bank, resident):
    sim = create(resident, block_count=2)
    submit(start(sim, T0), at(minutes=1))
    Question.objects.filter(pk__in=sim.question_ids[5:]).update(status=Question.Status.RETIRED)

    with pytest.raises(simulation.SimulationOver, match="no longer in use|in use any more"):
        simulation.end_break(simulation=sim, user=resident, now=at(minutes=2))

    sim.refresh_from_db()
    assert (sim.status, sim.finished_at) == ("finished", at(minutes=2))
    assert state(sim, at(minutes=3)).phase is Phase.FINISHED


# --- Whose it is -----------------------------------------------------------------------------


def test_another_resident_cannot_start_or_end_a_break_of_ones_simulation(bank, resident):
    sim = create(resident)
    other = UserFactory()
    with pytest.raises(ExamSimulation.DoesNotExist):
        simulation.start_block(simulation=sim, user=other, now=T0)
    submit(start(sim, T0), at(minutes=1))
    with pytest.raises(ExamSimulation.DoesNotExist):
        simulation.end_break(simulation=sim.pk, user=other, now=at(minutes=2))
    assert sim.blocks.count() == 1


def test_a_finished_block_leads_to_the_simulations_page(bank, resident):
    sim = create(resident)
    block = start(sim, T0)
    plain = starting.start_attempt(
        user=resident, config=starting.QuizConfig(question_count=1), now=T0
    )
    assert block.results_url() == reverse("questions:simulation_detail", args=[sim.pk])
    assert plain.results_url() == reverse("questions:attempt_results", args=[plain.pk])


def test_the_builder_brings_abandoned_simulations_up_to_date(bank, resident):
    old = create(resident, block_count=2)
    start(old, T0)

    built = simulation.builder(user=resident, now=at(days=1))

    assert built.pace_seconds == 90
    assert [s.status for s in built.simulations] == ["finished"]
    assert [b.block_number for b in built.simulations[0].blocks.all()] == [1, 2]


def test_timing_is_every_block_and_every_break():
    planned = simulation.timing(block_count=3, block_size=20, break_seconds=600, pace_seconds=90)
    assert (planned.block_seconds, planned.total_seconds) == (1800, 3 * 1800 + 2 * 600)
