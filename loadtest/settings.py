"""The production settings, with STATIC_ROOT moved to the run's scratch directory.

The server must run with the real settings (debug off, real password hashers, security
middleware), but ``collectstatic`` must not write into the project's ``staticfiles/``: run.py
collects into a directory of its own and points the server at it with LOADTEST_STATIC_ROOT.
Nothing else is changed.
"""

import os
from pathlib import Path

from quizsite.settings import *  # noqa: F403

STATIC_ROOT = Path(os.environ["LOADTEST_STATIC_ROOT"])
