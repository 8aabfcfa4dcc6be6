"""Start pressed in many tabs at once: the simulation's row lock serialises them
(PostgreSQL), and the database holds one attempt per block number."""

import pytest
from django.db import connection

from questions.models import Attempt
from questions.quizzes import engine, simulation
from tests.concurrency import outcomes_together
from tests.factories import PublishableQuestionFactory, UserFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.slow,  # PostgreSQL only; each test commits and empties the tables
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="row locks need PostgreSQL (set DATABASE_URL)"
    ),
]


@pytest.fixture
def sim():
    PublishableQuestionFactory.create_batch(10)
    user = UserFactory()
    return simulation.create_simulation(user=user, block_count=2, block_size=5, break_seconds=60)


def test_start_pressed_in_many_tabs_at_once_starts_one_block(sim):
    outcomes = outcomes_together(
        4, lambda i: simulation.start_block(simulation=sim.pk, user=sim.user, block_number=1)
    )
    assert all(isinstance(o, Attempt) for o in outcomes), outcomes
    assert len({o.pk for o in outcomes}) == 1
    assert Attempt.objects.filter(simulation=sim).count() == 1


def test_ending_the_break_in_many_tabs_at_once_starts_one_block(sim):
    block = simulation.start_block(simulation=sim, user=sim.user)
    engine.finish_attempt(attempt=block)
    outcomes = outcomes_together(
        4, lambda i: simulation.end_break(simulation=sim.pk, user=sim.user)
    )
    assert all(isinstance(o, Attempt) for o in outcomes), outcomes
    assert {o.block_number for o in outcomes} == {2}
    assert Attempt.objects.filter(simulation=sim).count() == 2
