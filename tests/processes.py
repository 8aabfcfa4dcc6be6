"""For tests that start processes of their own: a free port, and the environment of a child
Python that starts the site's settings afresh, as a server would."""

import os
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# The variables a child must not inherit from the test run: the child's settings come from
# what the test gives it, and nothing else.
SITE_VARIABLES = ("DJANGO_", "DATABASE_", "REDIS_URL", "REPLICA_", "SENTRY_")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def site_env(**variables: str) -> dict[str, str]:
    """This process's environment without the site's own variables, plus ``variables`` and
    production-like defaults: debug off, a secret key, the test client's host name."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(SITE_VARIABLES)}
    env.update(
        DJANGO_SETTINGS_MODULE="quizsite.settings",
        DJANGO_SECRET_KEY="a-production-like-secret-key-for-tests-only",
        DJANGO_ALLOWED_HOSTS="testserver",
    )
    env.update(variables)
    return env


def run_python(*arguments: str, env: dict[str, str], timeout: float) -> subprocess.CompletedProcess:
    """``python <arguments>`` in the project's directory with ``env`` (see ``site_env``): its
    exit status, stdout and stderr, as text."""
    return subprocess.run(
        [sys.executable, *arguments],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip
