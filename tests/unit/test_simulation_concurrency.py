"""Start pressed in many tabs at once: the simulation's row lock serialises them
(PostgreSQL), and the database holds one attempt per block number."""

import threading

import pytest
from django.db import connection, connections

from questions.models import Attempt
from questions.quizzes import engine, simulation
from tests.factories import PublishableQuestionFactory, UserFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.slow,  # PostgreSQL only; each test commits and empties the tables
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="row locks need PostgreSQL (set DATABASE_URL)"
    ),
]


def run_together(count, action):
    """Run ``action()`` in ``count`` threads released at the same moment; return what each
    returned or raised."""
    barrier = threading.Barrier(count)
    outcomes = [None] * count

    def worker(i):
        try:
            barrier.wait()
            outcomes[i] = action()
        except Exception as exc:  # collected for the assertions
            outcomes[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


@pytest.fixture
def sim():
    PublishableQuestionFactory.create_batch(10)
    user = UserFactory()
    return simulation.create_simulation(user=user, block_count=2, block_size=5, break_seconds=60)


def test_start_pressed_in_many_tabs_at_once_starts_one_block(sim):
    outcomes = run_together(
        4, lambda: simulation.start_block(simulation=sim.pk, user=sim.user, block_number=1)
    )
    assert all(isinstance(o, Attempt) for o in outcomes), outcomes
    assert len({o.pk for o in outcomes}) == 1
    assert Attempt.objects.filter(simulation=sim).count() == 1


def test_ending_the_break_in_many_tabs_at_once_starts_one_block(sim):
    block = simulation.start_block(simulation=sim, user=sim.user)
    engine.finish_attempt(attempt=block)
    outcomes = run_together(4, lambda: simulation.end_break(simulation=sim.pk, user=sim.user))
    assert all(isinstance(o, Attempt) for o in outcomes), outcomes
    assert {o.block_number for o in outcomes} == {2}
    assert Attempt.objects.filter(simulation=sim).count() == 2
