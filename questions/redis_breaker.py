"""A circuit breaker in front of Redis, for the cache and the sessions kept in it.

settings.CACHES names ``BreakerRedis`` as django-redis's client class. While Redis answers,
every command goes through. When one fails to connect or times out, the breaker opens in
this process for ``COOLDOWN_SECONDS``: each command then fails at once, and the cache (with
``IGNORE_EXCEPTIONS``) turns that into a miss, instead of every command of every request
waiting out its own socket timeout on a Redis that vanished from the network. After the
cooldown the next command goes through as a probe: success closes the breaker, failure opens
it for another cooldown. The log gets one warning when it opens and one line when Redis is
back, not a traceback a command."""

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger("questions.redis")

COOLDOWN_SECONDS = 5.0
# A lost connection: refused, reset, unreachable, or no answer within the socket timeout.
_UNREACHABLE = (RedisConnectionError, RedisTimeoutError, OSError)


class CircuitOpen(RedisConnectionError):
    """Refused without trying: Redis failed within the last cooldown."""


class Breaker:
    """The state shared by every Redis client of the process (one Redis per site)."""

    def __init__(self, cooldown: float, clock: Callable[[], float] = time.monotonic):
        self.cooldown = cooldown
        self.clock = clock
        self._lock = threading.Lock()
        self._open_until: float | None = None  # None: closed
        self.refused = 0  # commands failed at once, without a try (for tests and debugging)

    @property
    def is_open(self) -> bool:
        return self._open_until is not None

    def before_command(self) -> None:
        open_until = self._open_until
        if open_until is not None and self.clock() < open_until:
            self.refused += 1
            raise CircuitOpen("Redis failed recently; not tried until the cooldown ends")

    def failed(self, error: BaseException) -> None:
        with self._lock:
            if self._open_until is None:
                logger.warning(
                    "Redis unreachable (%s): cache misses and database sessions, "
                    "trying again every %.0f s",
                    error,
                    self.cooldown,
                )
            self._open_until = self.clock() + self.cooldown

    def succeeded(self) -> None:
        if self._open_until is None:
            return
        with self._lock:
            if self._open_until is not None:
                self._open_until = None
                logger.warning("Redis reachable again: cache and sessions back in Redis")


BREAKER = Breaker(COOLDOWN_SECONDS)


class BreakerRedis(redis.Redis):
    """redis-py's client with every command (and every pipeline) behind ``BREAKER``."""

    def execute_command(self, *args: Any, **options: Any) -> Any:
        BREAKER.before_command()
        try:
            result = super().execute_command(*args, **options)
        except _UNREACHABLE as error:
            if not isinstance(error, CircuitOpen):
                BREAKER.failed(error)
            raise
        BREAKER.succeeded()
        return result

    def pipeline(self, transaction: bool = True, shard_hint: Any = None) -> Any:
        BREAKER.before_command()
        return super().pipeline(transaction=transaction, shard_hint=shard_hint)
