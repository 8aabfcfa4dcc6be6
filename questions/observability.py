"""The request id in log lines and error reports (settings.LOGGING, settings.SENTRY_DSN).

Imported by the settings module itself, so it imports nothing of Django's that needs them."""

import logging
from typing import TYPE_CHECKING, Any

from django_guid.context import guid

if TYPE_CHECKING:
    from sentry_sdk.types import Event

NO_REQUEST = "-"  # a line written outside a request: start-up, the job worker, a command
SECURITY_PROBES = (
    "django.security.NulInRequest",
    "django.security.DisallowedModelAdminLookup",
    "django.security.DisallowedHost",
)


class RequestIdFilter(logging.Filter):
    """Give every record a ``request_id``: the current request's id, or ``-``."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = guid.get() or NO_REQUEST
        return True


def current_request_id() -> str | None:
    return guid.get()


def _tag_request_id(event: "Event", hint: dict[str, Any]) -> "Event":
    request_id = guid.get()
    if request_id:
        event.setdefault("tags", {})["request_id"] = request_id
    return event


def init_sentry(*, dsn: str, environment: str, traces_sample_rate: float) -> None:
    """Send unhandled errors (and ERROR log records) to Sentry, each tagged with its request
    id. ``send_default_pii`` stays off: no user names, addresses or cookies leave the site."""
    import sentry_sdk
    from sentry_sdk.integrations.logging import ignore_logger

    # Refused requests (a NUL in a query, a filter the admin does not allow, a wrong Host)
    # are logged here at ERROR by Django as security events; they are probes, not errors
    # of the site, and would otherwise each be a Sentry event.
    for name in SECURITY_PROBES:
        ignore_logger(name)
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        traces_sample_rate=traces_sample_rate,
        send_default_pii=False,
        before_send=_tag_request_id,
    )
