"""What the short load and benchmark runs share: PostgreSQL on 127.0.0.1:5432 or a skip
(a failure under CI=true), and running a harness script with a time limit."""

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PG_HOST, PG_PORT = "127.0.0.1", 5432
PG_URL = f"postgres://postgres@{PG_HOST}:{PG_PORT}"


def own_database(prefix: str) -> str:
    """A database name for this process alone (``prefix`` and the process id): two test runs
    at once (pytest-xdist workers, the SQLite and PostgreSQL suites side by side) never drop
    each other's database."""
    return f"{prefix}_{os.getpid()}"


def postgres_reachable() -> bool:
    try:
        with socket.create_connection((PG_HOST, PG_PORT), timeout=2):
            return True
    except OSError:
        return False


def need_postgres(what: str, database: str) -> None:
    """Skip (fail under CI=true) when PostgreSQL is not reachable."""
    if postgres_reachable():
        return
    message = (
        f"PostgreSQL is not reachable on {PG_HOST}:{PG_PORT}; {what} needs it "
        f"(it creates and drops the database {database})"
    )
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def run_script(script: str, args: list[str], *, timeout: int, env=None) -> tuple[int, str]:
    """Run ``script`` (relative to the project) with ``args``; return its exit status and
    output. Past ``timeout`` seconds it gets SIGTERM (the harnesses then clean up: gunicorn,
    Locust, the database) and the test fails."""
    command = [sys.executable, str(ROOT / script), *args]
    with subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as run:
        try:
            output, _ = run.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            run.send_signal(signal.SIGTERM)
            try:
                output, _ = run.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                run.kill()
                output, _ = run.communicate()
            pytest.fail(f"{script} took over {timeout} s:\n{output[-4000:]}")
    return run.returncode, output
