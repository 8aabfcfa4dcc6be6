"""`make bench` in its short mode (bench/run.py --short): small histories on SQLite and
PostgreSQL, gunicorn with 2 workers, the two floors and the resident's flow with and without
JavaScript at 1 and 8 clients, the double submits, the heavy pages on PostgreSQL. The figures
are not judged here (missed targets are findings, not failures); the test checks that the run
measured what it must report, and that nothing failed: no error (any status outside 2xx/3xx,
any connection error, on SQLite at 8 clients too) and no response other than a browser
expects, which make the run exit 1.

Needs PostgreSQL on 127.0.0.1:5432 (trust auth for postgres); it creates and drops its own
database, ``bench_test_short_<pid>``, and SQLite file. Without PostgreSQL the test is
skipped, except under CI=true.
"""

import json

from tests.load.harness import PG_URL, need_postgres, own_database, run_script

TIMEOUT = 240  # seconds; the run takes about a minute on a quiet machine
PAGES = [
    "results page",
    "resident dashboard",
    "cohort dashboard",
    "item analysis",
    "item analysis, uncached",
    "CSV export",
]
TARGETS = ["fixed floor", "realistic floor", "flow, no JS", "flow, JS"]


def test_short_bench_drives_the_flow_on_both_databases_against_the_floors(tmp_path):
    database = own_database("bench_test_short")
    need_postgres("the short benchmark", database)
    report_file, table_file = tmp_path / "report.json", tmp_path / "table.md"
    args = [
        "--short", "--db", database, "--pg-url", PG_URL,
        "--report", str(report_file), "--markdown", str(table_file),
    ]  # fmt: skip
    code, output = run_script("bench/run.py", args, timeout=TIMEOUT)
    assert code == 0, f"bench/run.py exited with {code}:\n{output[-4000:]}"
    report = json.loads(report_file.read_text())

    assert report["problems"] == {"errors": 0, "mismatches": 0}
    rows = {(row["database"], row["clients"]): row for row in report["configs"]}
    assert set(rows) == {(db, n) for db in ("sqlite", "postgresql") for n in (1, 8)}
    for row in rows.values():
        assert row["fixed floor"]["rps"] > 0 and row["realistic floor"]["rps"] > 0
        assert sum(row["errors"].values()) == 0
        for way in ("flow, no JS", "flow, JS"):
            assert row[way]["steps"] > 0 and row[way]["ratio_to_realistic"] > 0
        # Post/redirect/get is two requests; with htmx the pick's save, then the boosted
        # "Save and next": answered with the next page (2), or redirected (3).
        assert row["flow, no JS"]["steps_by_requests"].keys() == {"2"}
        assert row["flow, JS"]["steps_by_requests"].keys() <= {"2", "3"}

    for database in ("sqlite", "postgresql"):
        times = report["times_1_client"][database]
        for phase in ("login", "start", "answer step, no JS", "answer step, JS"):
            assert times["actions"][phase]["samples"] >= 1, (database, phase)
        for label in ("builder page", "question page", "realistic floor", "fixed floor"):
            assert times["requests"][label]["samples"] >= 1, (database, label)
        # The fixed floor reads nothing; the realistic one reads the session and the user
        # and writes one row.
        assert times["requests"]["fixed floor"]["queries_max"] == 0
        assert times["requests"]["realistic floor"]["queries_min"] >= 3
        double = report["double_submits"][database]
        assert len(double["quizzes"]) == 2 and all(q["clean"] for q in double["quizzes"])
        assert double["errors"] == 0

    pages = report["pages"]
    assert list(pages) == PAGES
    for name, page in pages.items():
        assert page["samples"] >= 5 and page["median_ms"] > 0, name
    # The cached page reads no statistics; the uncached one recomputes them every time.
    assert pages["item analysis, uncached"]["queries_min"] > pages["item analysis"]["queries_max"]
    assert report["cohort_residents"] == 100
    assert all(m["growth_mb_max"] is not None for m in report["memory"])

    measured = {t["what"] for t in report["targets"]}
    assert "errors on SQLite at 8 clients" in measured
    assert {"double submits clean on SQLite", "double submits clean on PostgreSQL"} <= measured
    assert {
        "answer steps/s, no JS ÷ realistic floor",
        "answer steps/s, JS ÷ realistic floor",
        "start: server time p50, PostgreSQL, 1 client",
        "finish + results: server time p50, PostgreSQL, 1 client",
        "builder page: server time p50, PostgreSQL, 1 client",
        "question page: server time p50, PostgreSQL, 1 client",
        "worker memory growth",
    } <= measured
    table = table_file.read_text()
    assert all(f"| {name} |" in table for name in PAGES)
    assert "| SQLite | 2 | 8 |" in table and "| PostgreSQL | 2 | 1 |" in table
