"""`make bench`: the resident's flow driven over HTTP as a browser drives it, with and without
JavaScript, against two floors, on SQLite and PostgreSQL, served by gunicorn with production
settings on 127.0.0.1; and the heavy pages timed on a large generated history.

    .venv/bin/python bench/run.py             # full (~30 min; 2 M answers on PostgreSQL)
    .venv/bin/python bench/run.py --reuse-db  # keep the databases and reuse them next time
    .venv/bin/python bench/run.py --short     # small data, one worker count (CI, ~1 min)

For each database: create it (``bench`` on PostgreSQL, ``<tmp>/bench.sqlite3``; dropped
first unless --reuse-db finds the data there), migrate, load the bank, ``generate_history``
(bench/prepare.py, a smaller history on SQLite); then for each worker count start gunicorn
(bench/settings.py: a ``Server-Timing`` header with each request's time in Django and its
query count; bench/urls.py's floors; workers never recycled, so their memory can be
followed) and

1. log each client in through the form, one at a time; warm up every target;
2. (PostgreSQL, first worker count) time the heavy pages one request at a time;
3. for each number of clients, alternating rounds of the fixed floor, the realistic floor and
   the flow without and with JavaScript (bench/measure.py, bench/flow.py);
4. send a quiz's every answer and its finish twice at once, with and without JavaScript, and
   check the stored scores (bench/double.py, bench/verify.py);
5. each worker's resident memory after the warm-up and at the end.

Prints the table (bench/report.py) and the targets missed with by how much; writes the JSON
report (--report) and, in full mode, the table to docs/benchmarks.md between
``<!-- bench:start -->`` and ``<!-- bench:end -->`` (--short writes its Markdown next to the
report, so CI leaves the tree clean). Missed targets are findings, not failures: the exit
status is 1 when any request failed (an error) or was not what a browser expected (a
mismatch), 2 when the harness could not run. The databases are dropped at the end unless
--reuse-db or --keep-db.
"""

import argparse
import datetime
import json
import re
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import report as reporting  # noqa: E402
from bench.client import Browser, Problems, Tally  # noqa: E402
from bench.double import take_quiz_twice_over  # noqa: E402
from bench.flow import Resident  # noqa: E402
from bench.harness import (  # noqa: E402
    POSTGRESQL,
    SQLITE,
    BenchHarness,
    Servers,
    machine,
    memory_growth,
)
from bench.measure import TARGETS, measure_pages, one_round, run_rounds, summarize_tally  # noqa: E402
from loadtest.run import run_cleanly  # noqa: E402

DB_NAME = re.compile(r"^bench[a-z0-9_]{0,40}$")  # never anything but our own databases
DOC = ROOT / "docs" / "benchmarks.md"

FULL = {
    "databases": "sqlite,postgresql",
    "workers": "2,4",
    "clients": "1,4,8",
    "residents": 1000,
    "cohorts": 10,
    "attempts": 50,
    "sqlite_residents": 200,
    "sqlite_cohorts": 2,
    "sqlite_attempts": 10,
    "samples": 30,
    "seconds": 12.0,
    "rounds": 3,
    "warmup": 1.0,
    "double_size": 10,
}
SHORT = {
    "databases": "sqlite,postgresql",
    "workers": "2",
    "clients": "1,8",
    "residents": 100,
    "cohorts": 1,
    "attempts": 3,
    "sqlite_residents": 50,
    "sqlite_cohorts": 1,
    "sqlite_attempts": 2,
    "samples": 6,
    "seconds": 1.6,
    "rounds": 2,
    "warmup": 0.3,
    "double_size": 4,
}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add = parser.add_argument
    add("--short", action="store_true", help="small data, short measurements (CI)")
    add("--databases", help="comma-separated: sqlite, postgresql (default both)")
    add("--workers", help="gunicorn sync worker counts, comma-separated (default 2,4; --short 2)")
    add("--clients", help="concurrent clients, comma-separated (default 1,4,8; --short 1,8)")
    add(
        "--seconds",
        type=float,
        help="throughput: seconds per target per row, over --rounds (default 12; --short 1.6)",
    )
    add("--rounds", type=int, help="alternating rounds per row (default 3; --short 2)")
    add("--warmup", type=float, help="seconds per target of the warm-up round (default 1)")
    add("--quiz-size", type=int, default=40, help="questions in the flows' quizzes")
    add("--double-size", type=int, help="questions in each double-submit quiz (default 10)")
    add(
        "--form-logins",
        type=int,
        help="clients that log in through the form (default all; --short 1: a password check "
        "costs about 0.5 s of CPU); the others start from a session made by bench/prepare.py",
    )
    add("--samples", type=int, help="requests timed per heavy page (default 30; --short 6)")
    add("--residents", type=int, help="PostgreSQL's history: default 1,000 (--short 100)")
    add("--cohorts", type=int, help="PostgreSQL: default 10, 100 residents each")
    add("--attempts", type=int, help="PostgreSQL: finished quizzes per resident, default 50")
    add("--sqlite-residents", type=int, help="SQLite's history: default 200 (--short 50)")
    add("--sqlite-cohorts", type=int, help="SQLite: default 2")
    add("--sqlite-attempts", type=int, help="SQLite: default 10 (--short 2)")
    add("--questions", type=int, default=40, help="per attempt of the generated history")
    add("--seed", type=int, default=1)
    add("--prefix", default="bench-")
    add("--conn-max-age", type=int, default=60, help="as docs/deploy.md")
    add(
        "--db",
        help="database name (default bench, --short: bench_short); SQLite's file is "
        "<tmp>/<name>.sqlite3",
    )
    add("--pg-url", default="postgres://postgres@127.0.0.1:5432")
    add(
        "--reuse-db",
        action="store_true",
        help="use the databases as they are when they have the prefix's data (skip "
        "generating), and keep them at the end",
    )
    add("--keep-db", action="store_true", help="do not drop the databases")
    add("--report", type=Path, help="JSON report (default: a temporary file)")
    add(
        "--markdown",
        type=Path,
        help="file whose marked section gets the table (default docs/benchmarks.md; --short: "
        "a .md next to the report)",
    )
    args = parser.parse_args(argv)
    for name, value in (SHORT if args.short else FULL).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    args.databases = [d.strip() for d in args.databases.split(",") if d.strip()]
    if not args.databases or set(args.databases) - {SQLITE, POSTGRESQL}:
        parser.error("--databases: sqlite, postgresql or both")
    try:
        args.workers = [int(n) for n in str(args.workers).split(",")]
        args.clients = sorted(int(n) for n in str(args.clients).split(","))
    except ValueError:
        parser.error("--workers and --clients are comma-separated numbers")
    args.db = args.db or ("bench_short" if args.short else "bench")
    if not DB_NAME.match(args.db):
        parser.error(f"--db must match {DB_NAME.pattern}: the run may drop that database")
    if (
        min(
            args.residents,
            args.cohorts,
            args.attempts,
            args.sqlite_residents,
            args.sqlite_cohorts,
            args.sqlite_attempts,
            *args.workers,
            *args.clients,
            args.rounds,
            args.double_size,
            args.quiz_size,
        )
        < 1
    ):
        parser.error("sizes, worker and client counts and --rounds must be at least 1")
    if args.report is None:
        args.report = Path(tempfile.gettempdir()) / f"{args.db}-report.json"
    if args.markdown is None:
        args.markdown = args.report.with_suffix(".md") if args.short else DOC
    args.redis_url = None  # what loadtest's harness reads from its arguments
    return args


STARTED = time.monotonic()


def say(what: str) -> None:
    print(f"== [{time.monotonic() - STARTED:5.0f} s] {what}", flush=True)


def mode(args: argparse.Namespace) -> str:
    """ "short", "full" (the defaults' sizes and durations), or "reduced"."""
    if args.short:
        return "short"
    lists = ("databases", "workers", "clients")
    changed = [n for n, value in FULL.items() if n not in lists and getattr(args, n) != value]
    changed += [n for n in lists if [str(v) for v in getattr(args, n)] != str(FULL[n]).split(",")]
    return "reduced" if changed or args.quiz_size != 40 else "full"


def heavy_pages(accounts: dict) -> dict:
    """The pages timed one at a time: name -> function of the request number giving the path
    and the cookies of whoever reads it."""
    session = accounts["session_cookie_name"]
    educator = {session: accounts["educator"]["sessionid"]}
    cohort = accounts["cohort"]["pk"]

    def each(items, path):
        def build(i):
            item = items[i % len(items)]
            return path(item), {session: item["sessionid"]}

        return build

    return {
        "results page": each(accounts["results"], lambda r: f"/quizzes/{r['attempt']}/results/"),
        "resident dashboard": each(accounts["residents"], lambda r: "/dashboard/"),
        "cohort dashboard": lambda i: (f"/cohorts/{cohort}/", educator),
        "item analysis": lambda i: ("/authoring/item-analysis/", educator),
        # The same page with its statistics recomputed (the cache dropped first): what the
        # first educator after the cache expires (every 10 minutes) waits for.
        "item analysis, uncached": lambda i: ("/bench/item-analysis-uncached/", educator),
        "CSV export": lambda i: (f"/cohorts/{cohort}/export.csv", educator),
    }


def warm_pages(port: int, problems: Problems, pages: dict, workers: int) -> None:
    """Every page through every worker, roughly (templates, imports, connections)."""
    for build in pages.values():
        browsers = [Browser(port, problems) for _ in range(workers)]
        threads = []
        for i, b in enumerate(browsers):
            b.scope = "warm-up"
            path, b.cookies = build(i)
            threads.append(
                threading.Thread(target=b.request, args=("GET", path), kwargs={"label": "warm-up"})
            )
        for t in threads:
            t.start()
        for t in threads:
            t.join()


def sizes(h: BenchHarness) -> dict:
    a = h.args
    if h.engine == POSTGRESQL:
        return {"residents": a.residents, "cohorts": a.cohorts, "attempts": a.attempts}
    return {
        "residents": a.sqlite_residents,
        "cohorts": a.sqlite_cohorts,
        "attempts": a.sqlite_attempts,
    }


def log_in(h: BenchHarness, accounts: dict, problems: Problems, times_1: Tally) -> list:
    """A browser for each client, logged in: the first through the form alone (the login's
    own cost, at 1 client), then the others at once, through the form up to --form-logins
    and from a session made by bench/prepare.py after that."""
    a = h.args
    residents = [
        Resident(
            Browser(h.port, problems),
            c["username"],
            c["password"],
            quiz_size=a.quiz_size,
            seed=a.seed,
        )  # fmt: skip
        for c in accounts["clients"][: max(a.clients)]
    ]
    for r in residents:
        r.b.scope = f"{h.engine}/{h.workers}w/login"
    residents[0].login()
    times_1.merge(residents[0].b.take_tally())
    form = len(residents) if a.form_logins is None else max(1, a.form_logins)
    logins = [threading.Thread(target=r.login) for r in residents[1:form]]
    for t in logins:
        t.start()
    for t in logins:
        t.join()
    for r, client in zip(residents[form:], accounts["clients"][form:], strict=True):
        r.use_session(accounts["session_cookie_name"], client["sessionid"])
    return residents


def submit_twice(h: BenchHarness, account: dict, problems: Problems, scope: str, *, seed: int):
    """Two quizzes taken with every request sent twice at once, without JavaScript and with
    it (bench/double.py), by one resident logged in through the form."""
    login = (account["username"], account["password"])
    r = Resident(Browser(h.port, problems), *login, quiz_size=h.args.double_size, seed=seed)
    r.b.scope = scope
    r.login()
    return [take_quiz_twice_over(r, questions=h.args.double_size, js=js) for js in (False, True)]


def bench_database(h: BenchHarness, accounts: dict, problems: Problems, out: dict) -> None:
    """Everything measured on one database, into ``out`` (the report being built)."""
    a, engine = h.args, h.engine
    out["data"][engine] = accounts["data"]
    out["config"]["prepare"][engine] = accounts["prepare"]
    if engine == POSTGRESQL:
        out["cohort_residents"] = accounts["cohort"]["residents"]
    times_1 = Tally()
    quizzes = []
    double_errors = 0
    for n, workers in enumerate(a.workers):
        h.serve(workers)
        say(f"{engine}, {workers} workers (port {h.port})")
        residents = log_in(h, accounts, problems, times_1)
        for target in TARGETS:  # every target once with every client, not counted
            for r in residents:
                r.b.scope = f"{engine}/{workers}w/warm-up/{target}"
            one_round(target, residents, a.warmup)
        for r in residents:
            r.b.take_tally()
        pages = heavy_pages(accounts)
        timed_pages = engine == POSTGRESQL and n == 0
        if timed_pages:
            warm_pages(h.port, problems, pages, workers)
        memory_start = h.worker_memory()
        if timed_pages:
            say(f"{engine}, {workers} workers: the heavy pages")
            reader = Browser(h.port, problems)
            reader.scope = f"{engine}/{workers}w/pages"
            out["pages"] = measure_pages(reader, pages, a.samples, a.seconds)
        for clients in a.clients:
            scope = f"{engine}/{workers}w/{clients}c"
            row = run_rounds(
                residents[:clients],
                seconds=a.seconds,
                rounds=a.rounds,
                scope=scope,
                problems=problems,
            )
            tally = row.pop("tally")
            if clients == 1:
                times_1.merge(tally)
            row.update(database=engine, workers=workers, clients=clients)
            row["times"] = summarize_tally(tally)
            out["configs"].append(row)
            rates = (f"{t} {row[t].get('rps', row[t].get('steps_per_s'))}/s" for t in TARGETS)
            say(f"{scope}: {', '.join(rates)}; errors {sum(row['errors'].values())}")
        say(f"{engine}, {workers} workers: double submits")
        scope = f"{engine}/{workers}w/double"
        quizzes += submit_twice(h, accounts["double_submitter"], problems, scope, seed=n)
        double_errors += problems.count("errors", scope)
        out["memory"].append(
            {
                "database": engine,
                "workers_count": workers,
                **memory_growth(memory_start, h.worker_memory()),
            }
        )
    h.stop(h.gunicorn, signal.SIGTERM, 10)  # the next database gets the machine to itself
    out["double_submits"][engine] = {"sent": quizzes, "errors": double_errors}
    out["times_1_client"][engine] = summarize_tally(times_1)


def run(servers: list[BenchHarness], args: argparse.Namespace) -> dict:
    started = time.monotonic()
    problems = Problems()
    out: dict = {
        "mode": mode(args),
        "date": datetime.date.today().isoformat(),
        "machine": machine(),
        "config": {
            "databases": args.databases,
            "workers": args.workers,
            "clients": args.clients,
            "seconds_per_target": args.seconds,
            "rounds": args.rounds,
            "warmup_s": args.warmup,
            "quiz_size": args.quiz_size,
            "double_size": args.double_size,
            "samples_per_page": args.samples,
            "conn_max_age": args.conn_max_age,
            "database": args.db,
            "setup_s": {},
            "prepare": {},
        },
        "data": {},
        "pages": {},
        "configs": [],
        "times_1_client": {},
        "double_submits": {},
        "memory": [],
        "cohort_residents": None,
    }
    for h in servers:  # side by side: SQLite's history is made while PostgreSQL's is
        say(f"{h.engine}: preparing {sizes(h)}")
        h.create_database()
        h.start_prepare(**sizes(h), clients=max(args.clients))
    accounts = [h.prepared() for h in servers]
    out["config"]["setup_s"] = round(time.monotonic() - started, 1)
    for h, their_accounts in zip(servers, accounts, strict=True):
        bench_database(h, their_accounts, problems, out)
        out["config"].setdefault("reused_database", {})[h.engine] = h.reused
    say("checking the double submits in the databases")
    for h in servers:  # after every measurement, side by side
        h.start_verify([q for q in out["double_submits"][h.engine]["sent"] if q["attempt"]])
    for h in servers:
        double = out["double_submits"][h.engine]
        double["quizzes"] = h.verified() + [
            {"clean": False, "never_started": True} for q in double["sent"] if not q["attempt"]
        ]
    out["problems"] = {kind: problems.count(kind) for kind in ("errors", "mismatches")}
    out["problems_first"] = {
        "errors": problems.first("errors"),
        "mismatches": problems.first("mismatches"),
        "sqlite_errors": problems.first("errors", f"{SQLITE}/*/{max(args.clients)}c/*"),
    }
    out["problems_found"] = problems.found
    out["run_minutes"] = round((time.monotonic() - started) / 60, 1)
    out["targets"] = reporting.evaluate(out)
    return out


def main(argv=None) -> int:
    args = parse_args(argv)
    harnesses = [BenchHarness(args, engine) for engine in args.databases]
    servers = Servers(harnesses)

    def body():
        report = run(harnesses, args)
        table = reporting.markdown(report)
        print("\n=== benchmark ===\n" + table)
        for t in report["targets"]:
            if not t["met"]:
                print(f"MISSED {t['what']} (target {t['target']}): {t['measured']}, {t['miss']}")
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(json.dumps(report, indent=2) + "\n")
        reporting.write_section(args.markdown, table)
        print(f"report written to {args.report}, table to {args.markdown}")
        if report["problems"]["errors"] or report["problems"]["mismatches"]:
            print(f"errors and unexpected responses: {report['problems_found']}", file=sys.stderr)
            return 1, True
        return 0, False

    return run_cleanly(servers, "benchmark", body)


if __name__ == "__main__":
    sys.exit(main())
