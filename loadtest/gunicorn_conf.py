"""Gunicorn configuration for the load tests: production's (quizsite/gunicorn_conf.py), with
run.py's and cluster.py's command lines setting bind, workers and a short graceful timeout on
top. Production's logging already writes each 500's traceback, with its request id, to
stderr, which the harnesses keep in the run's gunicorn logs and count."""

from quizsite.gunicorn_conf import *  # noqa: F403
