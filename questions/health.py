"""What an app host can reach of the parts it shares with the others: the database and Redis.

Each check answers "ok", "unreachable", or (Redis only) "not configured". The database is
required: without it the host can serve nothing but its error pages. Redis is not: the
cache treats its errors as misses and the sessions are in the database (settings.CACHES),
so a host without Redis is *degraded*, slower but whole, and should stay in the pool."""

from django.conf import settings
from django.db import DatabaseError, connection

OK = "ok"
UNREACHABLE = "unreachable"
NOT_CONFIGURED = "not configured"


def database_status() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        return UNREACHABLE
    return OK


def redis_status() -> str:
    """One PING on the cache's own connection pool, within the cache's socket timeouts."""
    if not settings.REDIS_URL:
        return NOT_CONFIGURED
    from django_redis import get_redis_connection
    from redis.exceptions import RedisError

    try:
        get_redis_connection("default").ping()
    except (RedisError, OSError):
        return UNREACHABLE
    return OK


def site_status() -> dict[str, str]:
    """``{"status": "ok" | "degraded" | "unavailable", "database": …, "redis": …}``."""
    database = database_status()
    redis = redis_status()
    if database != OK:
        status = "unavailable"
    elif redis == UNREACHABLE:
        status = "degraded"
    else:
        status = OK
    return {"status": status, "database": database, "redis": redis}
