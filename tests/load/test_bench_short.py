"""`make bench` in its short mode (bench/run.py --short): 100 residents with 5 quizzes each on
PostgreSQL, gunicorn, every page measured. The figures are not judged here (missed targets
are findings, not failures); the test checks that the run measured what it must report.

Needs PostgreSQL on 127.0.0.1:5432 (trust auth for postgres); it creates and drops its own
database, ``bench_test_short_<pid>``. Without PostgreSQL the test is skipped, except under CI=true.
"""

import json

from tests.load.harness import PG_URL, need_postgres, own_database, run_script

TIMEOUT = 120  # seconds; the run takes ~30
PAGES = [
    "floor",
    "question page",
    "answer submission",
    "results page",
    "resident dashboard",
    "cohort dashboard",
    "item analysis",
    "item analysis, uncached",
    "CSV export",
]


def test_short_bench_reports_every_page_and_the_floor(tmp_path):
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
    assert list(report["pages"]) == PAGES
    for name, page in report["pages"].items():
        assert page["samples"] >= 5, name
        assert page["queries"] >= 0 and page["median_ms"] > 0, name
    assert report["pages"]["floor"]["queries"] == 0
    # The cached page reads no statistics; the uncached one recomputes them every time.
    pages = report["pages"]
    assert pages["item analysis, uncached"]["queries_min"] > pages["item analysis"]["queries_max"]
    assert report["throughput"]["floor"]["rps"] > 0
    for name in ("question page", "answer submission"):
        assert report["throughput"][name]["ratio_to_floor"] > 0
    assert report["data"]["cohort_residents"] == 100
    assert report["memory"]["growth_mb_max"] is not None
    assert not report["unexpected_responses"]
    assert {t["what"] for t in report["targets"]} >= {"worker memory growth"}
    table = table_file.read_text()
    assert all(f"| {name} |" in table for name in PAGES)
