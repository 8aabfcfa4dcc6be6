"""Gunicorn configuration for the load test: production's (quizsite/gunicorn_conf.py), with
run.py's command line setting bind, workers and a short graceful timeout on top, plus one hook.

With debug off Django logs a 500's traceback only to mail_admins; the harness needs it in
gunicorn's log to say which code failed, so each worker also sends ``django.request`` errors
to stderr, which run.py writes to the run's gunicorn.log. Settings are left untouched.
"""

import logging
import sys

from quizsite.gunicorn_conf import *  # noqa: F403

_production_post_worker_init = globals().get("post_worker_init")


def post_worker_init(worker):
    if _production_post_worker_init is not None:
        _production_post_worker_init(worker)
    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(logging.ERROR)
    handler.setFormatter(
        logging.Formatter("%(asctime)s [worker %(process)d] %(name)s %(levelname)s: %(message)s")
    )
    logging.getLogger("django.request").addHandler(handler)
