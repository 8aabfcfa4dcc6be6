"""Statistics pages read from a PostgreSQL read replica, when one is configured.

``DATABASE_REPLICA_URL`` adds the ``replica`` database (settings). A view marked
``@reads_from_replica`` then sends the reads of this app's models to it, for the whole
request, when the replica is reachable and no more than ``REPLICA_MAX_LAG_SECONDS`` behind;
otherwise (or with no replica) everything is read from the primary, as without this module.
The page is told which (``request.replica_lag``: the replica's lag in seconds, or None).

What never goes to the replica, so that nothing a person just did seems undone and no
access decision rests on an old copy:
- writes, and reads inside a transaction (a ``select_for_update`` must lock the primary's
  row; a read-only standby refuses it anyway);
- sessions, users, permissions and login records (other apps' models): a resident who
  just logged in is found whatever the lag;
- cohorts and their educators and residents (``PRIMARY_ONLY``): they decide who may see a
  cohort's figures, so an educator removed from a cohort loses it at once.
"""

import contextvars
import functools
import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connections, transaction

logger = logging.getLogger(__name__)

REPLICA = "replica"
# This app's models whose rows decide access: always read from the primary.
PRIMARY_ONLY = {"cohort", "cohort_educators", "cohort_residents"}
_reading_replica: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "reading_replica", default=False
)

# The standby's lag: 0 when it has replayed all it received (an idle primary writes nothing,
# so the time since the last replayed transaction would grow while nothing is behind); NULL
# when it is not streaming from the primary at all: then "all it received" may be hours old.
LAG_SQL = """
SELECT CASE
    WHEN NOT pg_is_in_recovery() THEN 0
    WHEN NOT EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE status = 'streaming') THEN NULL
    WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
    ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0)
END
"""


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


def replica_lag_seconds() -> float | None:
    """The replica's lag in seconds, or None when it cannot be asked or is not streaming."""
    try:
        with connections[REPLICA].cursor() as cursor:
            cursor.execute(LAG_SQL)
            (lag,) = cursor.fetchone()
    except DatabaseError as error:
        logger.warning("Read replica unreachable (%s): reading from the primary", error)
        connections[REPLICA].close()
        return None
    if lag is None:
        logger.warning("Read replica not streaming from the primary: reading from the primary")
        return None
    return float(lag)


class ReplicaRouter:
    """Django's database router: this app's reads to the replica inside a marked view."""

    def db_for_read(self, model: type, **hints: Any) -> str | None:
        meta = model._meta  # type: ignore[attr-defined]
        if not _reading_replica.get() or meta.app_label != "questions":
            return None
        if meta.model_name in PRIMARY_ONLY:
            return None
        if transaction.get_connection().in_atomic_block:
            return None  # a read in a write's transaction: the primary
        return REPLICA

    def db_for_write(self, model: type, **hints: Any) -> str | None:
        return None

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        return True  # the replica is a copy of the primary: the same rows

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        return db != REPLICA  # a standby is read-only; it follows the primary's schema


def reads_from_replica(view: Callable) -> Callable:
    """Mark a view that only reads aggregates: its reads may come from the replica."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        request.replica_lag = None
        if not replica_configured():
            return view(request, *args, **kwargs)
        lag = replica_lag_seconds()
        if lag is None or lag > settings.REPLICA_MAX_LAG_SECONDS:
            if lag is not None:
                logger.warning("Read replica %.1f s behind: reading from the primary", lag)
            return view(request, *args, **kwargs)
        request.replica_lag = lag
        token = _reading_replica.set(True)
        try:
            return view(request, *args, **kwargs)
        finally:
            _reading_replica.reset(token)

    return wrapper
