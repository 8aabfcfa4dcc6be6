"""The load test's settings (production's, STATIC_ROOT in the run's scratch directory), plus
two things the benchmark needs and production does not have: a middleware that reports each
request's server time and query count in a ``Server-Timing`` header, and a URLconf with the
floor view. Used only by bench/run.py's gunicorn; nothing else changes.
"""

from loadtest.settings import *  # noqa: F403
from loadtest.settings import MIDDLEWARE

# Outermost, so the time and the queries are the whole request's: session, user, view.
MIDDLEWARE = ["bench.middleware.server_timing", *MIDDLEWARE]
ROOT_URLCONF = "bench.urls"
