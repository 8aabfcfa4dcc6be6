"""Which database a read goes to (questions/replica.py); the real replica is exercised by
tests/views/test_replica.py."""

import pytest
from django.contrib.auth.models import User
from django.contrib.sessions.models import Session
from django.db import transaction
from django.test import RequestFactory

from questions import replica
from questions.models import Attempt, Cohort, Question

# Not inside a test transaction: the router sends reads inside one to the primary.
pytestmark = pytest.mark.django_db(transaction=True)
router = replica.ReplicaRouter()


def test_outside_a_marked_view_every_read_goes_to_the_primary():
    assert router.db_for_read(Question) is None


def test_in_a_marked_view_the_apps_reads_go_to_the_replica_but_not_sessions_or_users(
    settings, monkeypatch
):
    settings.DATABASES = {**settings.DATABASES, "replica": settings.DATABASES["default"]}
    monkeypatch.setattr(replica, "replica_lag_seconds", lambda: 3.0)
    seen = {}

    @replica.reads_from_replica
    def view(request):
        seen["outside"] = [
            router.db_for_read(model) for model in (Question, Attempt, User, Session)
        ]
        with transaction.atomic():
            seen["in a transaction"] = router.db_for_read(Attempt)
        seen["lag"] = request.replica_lag

    view(RequestFactory().get("/"))
    assert seen == {
        "outside": ["replica", "replica", None, None],
        "in a transaction": None,
        "lag": 3.0,
    }
    assert router.db_for_read(Question) is None  # after the view: the primary again
    assert router.db_for_write(Question) is None
    assert not router.allow_migrate("replica", "questions")


@pytest.mark.parametrize("lag", [None, 31.0])
def test_a_replica_that_is_down_or_too_far_behind_is_not_read(settings, monkeypatch, lag):
    settings.DATABASES = {**settings.DATABASES, "replica": settings.DATABASES["default"]}
    settings.REPLICA_MAX_LAG_SECONDS = 30
    monkeypatch.setattr(replica, "replica_lag_seconds", lambda: lag)

    @replica.reads_from_replica
    def view(request):
        return router.db_for_read(Question), request.replica_lag

    assert view(RequestFactory().get("/")) == (None, None)


def test_without_a_replica_the_mark_changes_nothing():
    @replica.reads_from_replica
    def view(request):
        return router.db_for_read(Question), request.replica_lag

    assert view(RequestFactory().get("/")) == (None, None)


def test_who_may_see_a_cohort_is_always_read_from_the_primary(settings, monkeypatch):
    """An educator just removed from a cohort must not see it for the replica's lag, nor one
    just added get a 404: the cohort and its members decide who sees what."""
    settings.DATABASES = {**settings.DATABASES, "replica": settings.DATABASES["default"]}
    monkeypatch.setattr(replica, "replica_lag_seconds", lambda: 0.0)
    models = (Cohort, Cohort.educators.through, Cohort.residents.through, Attempt)

    @replica.reads_from_replica
    def view(request):
        return [router.db_for_read(model) for model in models]

    assert view(RequestFactory().get("/")) == [None, None, None, "replica"]
