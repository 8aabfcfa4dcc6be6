"""A short load-and-fault run (loadtest/run.py): 5 residents for 10 s against gunicorn and
PostgreSQL, one worker killed and the database connections dropped mid-run; no acknowledged
answer may be lost, no response may be a 5xx, and each quiz start resumes on retry.

Needs PostgreSQL on 127.0.0.1:5432 (trust auth for postgres); it creates and drops its own
database, ``loadtest_short_<pid>``. Without PostgreSQL the test is skipped, except under CI=true.
"""

import json
import os

from tests.load.harness import PG_URL, need_postgres, own_database, run_script

TIMEOUT = 120  # seconds; the run takes ~20


def test_short_load_run_loses_no_answer(tmp_path):
    database = own_database("loadtest_short")
    need_postgres("the short load test", database)
    report_file = tmp_path / "report.json"
    args = [
        "--users", "5", "--duration", "10", "--faults", "--fault-window", "4",
        "--form-logins", "2", "--workers", "3", "--db", database,
        "--pg-url", PG_URL, "--report", str(report_file),
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOADTEST_")}
    code, output = run_script("loadtest/run.py", args, timeout=TIMEOUT, env=env)
    assert code == 0, f"run.py exited with {code}:\n{output[-4000:]}"
    report = json.loads(report_file.read_text())
    assert report["passed"], report["problems"]
    assert report["answers"]["acknowledged"] > 0
    assert report["answers"]["lost"] == 0, report["answers"]["lost_details"]
    assert report["server_errors"]["5xx_total"] == 0, report["server_errors"]
    assert report["answers"]["quiz_start_mismatches"] == 0
    assert report["answers"]["quiz_starts_verified"] > 0
    assert [f["kind"] for f in report["faults"]] == ["worker_kill", "db_drop"]
    assert report["recovery"]["recovered"]
