"""SQLite configured for a web server (quizsite/settings.py): several residents writing at
once wait their turn instead of failing with "database is locked". Run against a real SQLite
file in a fresh interpreter (the test database is in memory, shared in one process)."""

import json
from pathlib import Path

import pytest

from tests.processes import run_python, site_env

pytestmark = pytest.mark.slow


def test_residents_answering_at_once_on_sqlite_all_get_their_answers_saved(tmp_path):
    child = run_python(
        str(Path(__file__).with_name("sqlite_writers.py")),
        env=site_env(DATABASE_URL=f"sqlite:///{tmp_path / 'busy.sqlite3'}"),
        timeout=300,
    )
    assert child.returncode == 0, child.stderr[-3000:]
    result = json.loads(child.stdout.strip().splitlines()[-1])
    assert result["errors"] == []
    assert result["answered"] == result["expected"]


def test_sqlite_runs_with_immediate_transactions_wal_and_a_busy_timeout(tmp_path):
    check = (
        "import django; django.setup(); from django.db import connection as c; "
        "cur = c.cursor(); print(c.settings_dict['OPTIONS']['transaction_mode'], "
        "cur.execute('PRAGMA journal_mode').fetchone()[0], "
        "cur.execute('PRAGMA busy_timeout').fetchone()[0], "
        "cur.execute('PRAGMA synchronous').fetchone()[0])"
    )
    child = run_python(
        "-c", check, env=site_env(DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}"), timeout=60
    )
    assert child.returncode == 0, child.stderr[-2000:]
    # IMMEDIATE; WAL; 20 s; synchronous NORMAL is 1
    assert child.stdout.split() == ["IMMEDIATE", "wal", "20000", "1"]
