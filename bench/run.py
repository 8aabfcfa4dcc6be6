"""`make bench`: the site's pages timed on PostgreSQL with a large generated history, served by
gunicorn with production settings on 127.0.0.1, against the floor (a fixed response through
the same middleware and server).

    .venv/bin/python bench/run.py                  # 1,000 residents x 50 x 40 (~6 min to generate)
    .venv/bin/python bench/run.py --reuse-db       # keep the database and reuse it next time
    .venv/bin/python bench/run.py --short          # 100 residents x 5 x 40, for CI (~30 s)

Steps: create the database (``bench`` or ``bench_short``; dropped first unless --reuse-db
finds the data there), migrate, load the bank, ``generate_history`` (bench/prepare.py);
start gunicorn (loadtest/run.py's harness, with bench/settings.py: a ``Server-Timing``
header with each request's time in Django and its query count, and the floor view at
/bench/floor/; workers never recycled, so their memory can be followed); then

1. server time (median, 95th percentile) and queries of each page, one request at a time;
2. throughput of the floor, the question page and answer submission with --clients
   concurrent clients, in alternating rounds so that all three see the same machine;
3. each gunicorn worker's resident memory after the warm-up and at the end.

Prints a table and the targets missed with by how much; writes the JSON report (--report)
and, in full mode, the table to docs/benchmarks.md between ``<!-- bench:start -->`` and
``<!-- bench:end -->`` (--short writes its Markdown next to the report instead, so CI leaves
the tree clean). Missed targets are findings, not failures: the exit status is 1 when a page
answered with an unexpected status, 2 when the harness could not run. The database is dropped
at the end unless --reuse-db or --keep-db.
"""

import argparse
import contextlib
import datetime
import http.client
import json
import os
import platform
import re
import signal
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from loadtest.run import Harness, HarnessError, children, run_cleanly  # noqa: E402

DB_NAME = re.compile(r"^bench[a-z0-9_]{0,40}$")  # never anything but our own databases
DOC = ROOT / "docs" / "benchmarks.md"
START_MARK, END_MARK = "<!-- bench:start -->", "<!-- bench:end -->"

# The targets.
MAX_QUERIES = 8  # question page and answer submission
MIN_FLOOR_RATIO = 0.5  # their throughput against the floor's
MAX_SERVER_MS = 300  # results, dashboards, item analysis, export: the 95th percentile
MAX_GROWTH_MB = 10  # a worker's resident memory from after the warm-up to the end

FULL = {"residents": 1000, "cohorts": 10, "attempts": 50, "samples": 30, "seconds": 30.0}
SHORT = {"residents": 100, "cohorts": 1, "attempts": 5, "samples": 8, "seconds": 1.5}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--short", action="store_true", help="small data, short measurements")
    parser.add_argument("--residents", type=int, help="default 1,000 (--short: 100)")
    parser.add_argument(
        "--cohorts", type=int, help="default 10, 100 residents each (--short: 1 of 100)"
    )
    parser.add_argument("--attempts", type=int, help="per resident; default 50 (--short: 5)")
    parser.add_argument("--questions", type=int, default=40, help="per attempt")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--prefix", default="bench-")
    parser.add_argument(
        "--samples", type=int, help="requests timed per page (default 30; --short: 8)"
    )
    parser.add_argument(
        "--seconds",
        type=float,
        help="throughput: seconds per target, over 3 rounds (default 30; --short: 1.5)",
    )
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients")
    parser.add_argument(
        "--workers",
        type=int,
        default=int(os.environ.get("WEB_CONCURRENCY", 2 * (os.cpu_count() or 1) + 1)),
        help="gunicorn workers (default: production's, 2 x cores + 1)",
    )
    parser.add_argument("--conn-max-age", type=int, default=60, help="as docs/deploy.md")
    parser.add_argument("--db", help="database name (default bench, --short: bench_short)")
    parser.add_argument("--pg-url", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument(
        "--reuse-db",
        action="store_true",
        help="use the database as it is when it has the prefix's data (skip generating), and "
        "keep it at the end",
    )
    parser.add_argument("--keep-db", action="store_true", help="do not drop the database")
    parser.add_argument("--report", type=Path, help="JSON report (default: a temporary file)")
    parser.add_argument(
        "--markdown",
        type=Path,
        help="file whose marked section gets the table (default docs/benchmarks.md; --short: "
        "a .md next to the report)",
    )
    args = parser.parse_args(argv)
    mode = SHORT if args.short else FULL
    for name, value in mode.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    args.db = args.db or ("bench_short" if args.short else "bench")
    if not DB_NAME.match(args.db):
        parser.error(f"--db must match {DB_NAME.pattern}: the run may drop that database")
    if min(args.residents, args.cohorts, args.attempts, args.clients, args.workers) < 1:
        parser.error("sizes, --clients and --workers must be at least 1")
    if args.report is None:
        args.report = Path(tempfile.gettempdir()) / f"{args.db}-report.json"
    if args.markdown is None:
        args.markdown = args.report.with_suffix(".md") if args.short else DOC
    # What loadtest's harness reads from its arguments.
    args.redis_url = None
    return args


# --- the client -----------------------------------------------------------------------------

TIMING = re.compile(r'app;dur=([\d.]+), db;dur=([\d.]+);desc="(\d+) queries"')


@dataclass
class Request:
    method: str
    path: str
    cookie: str
    expect: int
    body: str = ""


@dataclass
class Sample:
    status: int
    server_ms: float
    queries: int
    wall_ms: float


def send(port: int, request: Request) -> Sample:
    """One request on a new connection (gunicorn's sync workers close each one)."""
    headers = {"Cookie": request.cookie}
    if request.body:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    start = time.perf_counter()
    try:
        conn.request(request.method, request.path, body=request.body or None, headers=headers)
        response = conn.getresponse()
        response.read()
    finally:
        conn.close()
    wall = 1000 * (time.perf_counter() - start)
    match = TIMING.search(response.getheader("Server-Timing") or "")
    if not match:
        return Sample(response.status, float("nan"), -1, wall)
    return Sample(response.status, float(match[1]), int(match[3]), wall)


class Pages:
    """The requests of each measured page, cycling through several residents and quizzes."""

    def __init__(self, accounts: dict):
        self.a = accounts
        self.session = accounts["session_cookie_name"]
        self.csrf = accounts["csrf_cookie_name"]

    def cookie(self, sessionid: str, csrf: str = "") -> str:
        cookie = f"{self.session}={sessionid}"
        return f"{cookie}; {self.csrf}={csrf}" if csrf else cookie

    def floor(self, i: int, client: dict) -> Request:
        return Request("GET", "/bench/floor/", self.cookie(client["sessionid"]), 200)

    def question(self, i: int, client: dict) -> Request:
        position = 1 + i % client["questions"]
        path = f"/quizzes/{client['attempt']}/questions/{position}/"
        return Request("GET", path, self.cookie(client["sessionid"]), 200)

    def answer(self, i: int, client: dict) -> Request:
        # A timed quiz takes a changed answer until it ends: the same items can be answered
        # again and again. "stay" redirects to the same question.
        position = 1 + i % client["questions"]
        path = f"/quizzes/{client['attempt']}/questions/{position}/answer/"
        body = f"letter={'ABCD'[i % 4]}&go=stay&csrfmiddlewaretoken={client['csrf']}"
        return Request("POST", path, self.cookie(client["sessionid"], client["csrf"]), 302, body)

    def latency_pages(self) -> dict:
        """Name -> function of the request number giving the request."""
        a, clients = self.a, self.a["clients"]
        educator = self.cookie(a["educator"]["sessionid"])
        cohort = a["cohort"]["pk"]

        def each(items, build):
            return lambda i: build(items[i % len(items)], i)

        return {
            "floor": each(clients, lambda c, i: self.floor(i, c)),
            "question page": each(clients, lambda c, i: self.question(i // len(clients), c)),
            "answer submission": each(clients, lambda c, i: self.answer(i // len(clients), c)),
            "results page": each(
                a["results"],
                lambda r, i: Request(
                    "GET", f"/quizzes/{r['attempt']}/results/", self.cookie(r["sessionid"]), 200
                ),
            ),
            "resident dashboard": each(
                a["residents"],
                lambda r, i: Request("GET", "/dashboard/", self.cookie(r["sessionid"]), 200),
            ),
            "cohort dashboard": lambda i: Request("GET", f"/cohorts/{cohort}/", educator, 200),
            "item analysis": lambda i: Request("GET", "/authoring/item-analysis/", educator, 200),
            # The same page with its statistics recomputed (the cache dropped first): what
            # the first educator after the cache expires (every 10 minutes) waits for.
            "item analysis, uncached": lambda i: Request(
                "GET", "/bench/item-analysis-uncached/", educator, 200
            ),
            "CSV export": lambda i: Request("GET", f"/cohorts/{cohort}/export.csv", educator, 200),
        }


@dataclass
class Bad:
    """Responses with an unexpected status, by page: the figures around them are void."""

    found: dict = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, page: str, request: Request, sample: Sample, error: str = "") -> None:
        with self.lock:
            entry = self.found.setdefault(page, {"count": 0, "first": None})
            entry["count"] += 1
            entry["first"] = entry["first"] or (
                f"{request.method} {request.path} -> {error or sample.status}"
            )


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]  # nearest rank


def measure_latency(port: int, name: str, build, samples: int, budget_s: float, bad: Bad):
    """Up to ``samples`` requests one at a time (at least 5, then until ``budget_s``)."""
    results = []
    start = time.monotonic()
    for i in range(samples):
        if i >= 5 and time.monotonic() - start > budget_s:
            break
        request = build(i)
        try:
            sample = send(port, request)
        except OSError as exc:  # a timeout or a dropped connection: the next would wait too
            bad.add(name, request, Sample(0, float("nan"), -1, 0.0), repr(exc))
            break
        if sample.status != request.expect or sample.queries < 0:
            bad.add(name, request, sample)
            if sample.status >= 500:  # gunicorn's timeout kills the worker with a 500
                break
            continue
        results.append(sample)
    if not results:
        return {"samples": 0}
    server = [s.server_ms for s in results]
    queries = [s.queries for s in results]
    return {
        "samples": len(results),
        "median_ms": round(statistics.median(server), 1),
        "p95_ms": round(percentile(server, 95), 1),
        "max_ms": round(max(server), 1),
        "wall_median_ms": round(statistics.median(s.wall_ms for s in results), 1),
        "queries": int(statistics.median(queries)),
        "queries_max": max(queries),
        "queries_min": min(queries),
    }


def throughput(port: int, name: str, build, clients: list, seconds: float, bad: Bad) -> dict:
    """``len(clients)`` threads, each as its own resident, sending for ``seconds``."""
    counts = [0] * len(clients)
    stop = time.monotonic() + seconds

    def work(n: int, client: dict) -> None:
        i = 0
        while time.monotonic() < stop:
            request = build(i, client)
            try:
                sample = send(port, request)
            except OSError as exc:
                sample = Sample(0, float("nan"), -1, 0.0)
                bad.add(name, request, sample, repr(exc))
                i += 1
                continue
            if sample.status == request.expect:
                counts[n] += 1
            else:
                bad.add(name, request, sample)
            i += 1

    threads = [threading.Thread(target=work, args=(n, c)) for n, c in enumerate(clients)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"requests": sum(counts), "seconds": time.monotonic() - start}


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def memory(master: int) -> dict[int, float]:
    return {pid: rss_mb(pid) for pid in children(master)}


# --- the harness ----------------------------------------------------------------------------


class BenchHarness(Harness):
    """loadtest/run.py's harness (database, gunicorn, cleanup) with the bench's settings,
    its own preparation, and workers that are never recycled."""

    def __init__(self, args: argparse.Namespace):
        super().__init__(args)
        self.reused = False

    def _server_env(self) -> dict:
        env = super()._server_env()
        env.pop("LOADTEST_QUESTIONS", None)
        env = {k: v for k, v in env.items() if not k.startswith("BENCH_")}
        env["DJANGO_SETTINGS_MODULE"] = "bench.settings"
        env["BENCH_ACCOUNTS_FILE"] = str(self.out / "accounts.json")
        # Production recycles a worker every ~2,000 requests; here a worker must live through
        # the run for its memory to say anything (command-line settings beat the config file).
        env["GUNICORN_CMD_ARGS"] = "--max-requests 0"
        return env

    def database_exists(self) -> bool:
        try:
            with self.admin() as conn:
                return bool(
                    conn.execute(
                        "SELECT 1 FROM pg_database WHERE datname = %s", (self.args.db,)
                    ).fetchone()
                )
        except psycopg.OperationalError as exc:
            raise HarnessError(f"PostgreSQL at {self.args.pg_url} is unreachable: {exc}") from exc

    def create_database(self) -> None:
        if self.args.reuse_db and self.database_exists():
            self.reused = True  # prepare generates only if the prefix's data is missing
            return
        super().create_database()

    def prepare(self) -> dict:
        a = self.args
        log = self.out / "prepare.log"
        argv = ["-m", "bench.prepare", "--accounts-file", self.env["BENCH_ACCOUNTS_FILE"]]
        for name in ("residents", "cohorts", "attempts", "questions", "seed", "clients"):
            argv += [f"--{name}", str(getattr(a, name))]
        argv += ["--prefix", a.prefix]
        proc = self._spawn("prepare.log", argv)
        try:
            code = proc.wait(timeout=3600)
        finally:
            self.stop(proc, signal.SIGTERM, 10)
        if code:
            raise HarnessError(f"preparing the database failed:\n{log.read_text()[-4000:]}")
        return json.loads(Path(self.env["BENCH_ACCOUNTS_FILE"]).read_text())

    def cleanup(self, keep: bool) -> None:
        if self.args.reuse_db or self.args.keep_db:
            self.db_created = False  # so the parent's cleanup leaves it
            print(f"database {self.args.db} kept", file=sys.stderr)
        super().cleanup(keep)


def machine(accounts: dict) -> dict:
    cpu = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory_gb = None
    with contextlib.suppress(OSError, ValueError, IndexError):
        meminfo = Path("/proc/meminfo").read_text().splitlines()[0]
        memory_gb = round(int(meminfo.split()[1]) / 2**20)
    import django
    import gunicorn

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": memory_gb,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "django": django.get_version(),
        "gunicorn": gunicorn.__version__,
        "postgresql": accounts["data"]["postgresql"],
    }


def evaluate(report: dict) -> list[dict]:
    """Each target with its measure and, when missed, by how much."""
    pages, tp, mem = report["pages"], report["throughput"], report["memory"]
    targets = []

    def add(what, target, measured, met, miss):
        page, _, measure = what.partition(": ")
        targets.append(
            {
                "what": what,
                "page": page if measure else None,
                "measure": measure or what,
                "target": target,
                "measured": measured,
                "met": met,
                "miss": miss,
            }
        )

    for name in ("question page", "answer submission"):
        q = pages[name].get("queries_max")
        if q is not None:
            add(
                f"{name}: queries",
                f"<= {MAX_QUERIES}",
                q,
                q <= MAX_QUERIES,
                f"{q - MAX_QUERIES} too many",
            )
        ratio = tp.get(name, {}).get("ratio_to_floor")
        if ratio is not None:
            need = MIN_FLOOR_RATIO / ratio if ratio else float("inf")
            add(
                f"{name}: throughput / floor",
                f">= {MIN_FLOOR_RATIO}",
                ratio,
                ratio >= MIN_FLOOR_RATIO,
                f"{MIN_FLOOR_RATIO - ratio:.2f} short: needs {need:.1f}x its throughput",
            )
    for name in (
        "results page",
        "resident dashboard",
        "cohort dashboard",
        "item analysis",
        "item analysis, uncached",
        "CSV export",
    ):
        p95 = pages[name].get("p95_ms")
        if p95 is not None:
            add(
                f"{name}: server time p95",
                f"< {MAX_SERVER_MS} ms",
                p95,
                p95 < MAX_SERVER_MS,
                f"{p95 - MAX_SERVER_MS:.0f} ms over ({p95 / MAX_SERVER_MS:.1f}x the target)",
            )
    growth = mem.get("growth_mb_max")
    if growth is not None:
        add(
            "worker memory growth",
            f"<= {MAX_GROWTH_MB} MB",
            growth,
            growth <= MAX_GROWTH_MB,
            f"{growth - MAX_GROWTH_MB:.1f} MB over",
        )
    return targets


def run(h: BenchHarness) -> dict:
    a = h.args
    t0 = time.monotonic()
    h.create_database()
    accounts = h.prepare()
    h.start_gunicorn()
    setup_s = round(time.monotonic() - t0, 1)
    pages = Pages(accounts)
    latency = pages.latency_pages()
    bad = Bad()
    clients = accounts["clients"]

    # Warm-up: every page through every worker, roughly (templates, imports, connections).
    for build in latency.values():
        warm = [threading.Thread(target=send, args=(h.port, build(i)))
                for i in range(a.workers)]  # fmt: skip
        for t in warm:
            t.start()
        for t in warm:
            t.join()
    rss_start = memory(h.gunicorn.pid)

    results = {}
    for name, build in latency.items():
        results[name] = measure_latency(h.port, name, build, a.samples, a.seconds, bad)
        print(f"  {name:<20} {results[name]}", flush=True)
    rss_middle = memory(h.gunicorn.pid)

    targets = {
        "floor": pages.floor,
        "question page": pages.question,
        "answer submission": pages.answer,
    }
    totals = {name: {"requests": 0, "seconds": 0.0} for name in targets}
    rounds = 3
    for _ in range(rounds):
        for name, build in targets.items():
            done = throughput(h.port, name, build, clients, a.seconds / rounds, bad)
            totals[name]["requests"] += done["requests"]
            totals[name]["seconds"] += done["seconds"]
    floor_rps = totals["floor"]["requests"] / totals["floor"]["seconds"]
    tp = {}
    for name, total in totals.items():
        rps = total["requests"] / total["seconds"]
        tp[name] = {
            "rps": round(rps, 1),
            "requests": total["requests"],
            "ratio_to_floor": round(rps / floor_rps, 2) if floor_rps else None,
        }
    print(f"  throughput {tp}", flush=True)
    rss_end = memory(h.gunicorn.pid)

    workers = []
    for pid, start in rss_start.items():
        workers.append(
            {
                "pid": pid,
                "start_mb": round(start, 1) if start else None,
                "after_pages_mb": round(rss_middle.get(pid) or 0, 1) or None,
                "end_mb": round(rss_end[pid], 1) if rss_end.get(pid) else None,
            }
        )
    growths = [w["end_mb"] - w["start_mb"] for w in workers if w["start_mb"] and w["end_mb"]]
    report = {
        "mode": "short" if a.short else "full",
        "date": datetime.date.today().isoformat(),
        "machine": machine(accounts),
        "data": {**accounts["data"], "cohort_residents": accounts["cohort"]["residents"]},
        "config": {
            "workers": a.workers,
            "clients": len(clients),
            "samples_per_page": a.samples,
            "throughput_seconds_per_target": a.seconds,
            "conn_max_age": a.conn_max_age,
            "database": a.db,
            "reused_database": h.reused,
            "setup_s": setup_s,
            "prepare": accounts["prepare"],
        },
        "pages": results,
        "throughput": tp,
        "memory": {
            "workers": workers,
            "growth_mb_max": round(max(growths), 1) if growths else None,
            "workers_replaced": sorted(set(rss_start) ^ set(rss_end)),
        },
        "unexpected_responses": bad.found,
    }
    report["targets"] = evaluate(report)
    return report


# --- the report -----------------------------------------------------------------------------


def fmt_ms(value) -> str:
    return "–" if value is None else f"{value:,.0f} ms" if value >= 10 else f"{value:.1f} ms"


def markdown(r: dict) -> str:
    m, d, c = r["machine"], r["data"], r["config"]
    floor_ms = r["pages"]["floor"].get("median_ms")
    lines = [
        f"Measured {r['date']} ({r['mode']} run) on {m['cpu'] or 'unknown CPU'}, "
        f"{m['cores']} cores, {m['memory_gb']} GB, {m['os']}; PostgreSQL {m['postgresql']} "
        f"at 127.0.0.1, Python {m['python']}, Django {m['django']}, gunicorn {m['gunicorn']} "
        f"({c['workers']} sync workers, CONN_MAX_AGE {c['conn_max_age']}).",
        "",
        f"Data: {d['residents']:,} residents in {d['cohorts']:,} "
        f"cohort{'s' * (d['cohorts'] != 1)}, {d['attempts']:,} finished attempts, "
        f"{d['answers']:,} answers (database {d['database_mb']:,} MB); "
        f"the cohort dashboard and export show a cohort of {d['cohort_residents']} residents; "
        f"results of a {d['questions_per_quiz']}-question quiz; bank of "
        f"{d['published_questions']} published questions.",
        "",
        f"Server time is the time in Django (all middleware included) from the `Server-Timing` "
        f"header, over up to {c['samples_per_page']} requests a page sent one at a time; "
        f"throughput is with {c['clients']} concurrent clients for "
        f"{c['throughput_seconds_per_target']:g} s each, in three alternating rounds.",
        "",
        "| page | queries | server time median | p95 | median / floor's | throughput | "
        "throughput / floor's | target |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    verdicts = {}
    for t in r["targets"]:
        mark = "met" if t["met"] else f"**missed**, {t['miss']}"
        if t["page"]:
            verdicts.setdefault(t["page"], []).append(f"{t['measure']} {t['target']}: {mark}")
    for name, p in r["pages"].items():
        tp = r["throughput"].get(name, {})
        queries = "–"
        if "queries" in p:
            queries = str(p["queries"])
            if p["queries_max"] != p["queries_min"]:
                queries = f"{p['queries_min']}–{p['queries_max']}"
        ratio = (
            f"{p['median_ms'] / floor_ms:,.0f}x"
            if floor_ms and p.get("median_ms") and name != "floor"
            else "1"
            if name == "floor"
            else "–"
        )
        rps = f"{tp['rps']:,.0f}/s" if tp else ""
        rps_ratio = ("1" if name == "floor" else str(tp["ratio_to_floor"])) if tp else ""
        verdict = "; ".join(verdicts.get(name, [])) or ("the floor" if name == "floor" else "")
        lines.append(
            f"| {name} | {queries} | {fmt_ms(p.get('median_ms'))} | {fmt_ms(p.get('p95_ms'))} "
            f"| {ratio} | {rps} | {rps_ratio} | {verdict} |"
        )
    mem = r["memory"]
    starts = [w["start_mb"] for w in mem["workers"] if w["start_mb"]]
    mem_target = next((t for t in r["targets"] if t["what"] == "worker memory growth"), None)
    lines += [
        "",
        f"Worker memory (resident set): {len(starts)} workers at "
        f"{min(starts, default=0):.0f}–{max(starts, default=0):.0f} MB after the warm-up, "
        f"largest growth to the end {mem['growth_mb_max']} MB"
        + (
            f" (target <= {MAX_GROWTH_MB} MB: "
            f"{'met' if mem_target['met'] else 'missed, ' + mem_target['miss']})"
            if mem_target
            else ""
        )
        + (
            f"; workers replaced during the run: {mem['workers_replaced']}"
            if mem["workers_replaced"]
            else ""
        )  # fmt: skip
        + ".",
    ]
    missed = [t for t in r["targets"] if not t["met"]]
    lines += ["", f"Targets missed: {len(missed)} of {len(r['targets'])}."]
    if r["unexpected_responses"]:
        lines += ["", f"Unexpected responses: {r['unexpected_responses']}."]
    return "\n".join(lines) + "\n"


def write_section(path: Path, body: str) -> None:
    """Replace the marked section of ``path`` (or add one at the end)."""
    text = path.read_text() if path.exists() else ""
    section = f"{START_MARK}\n{body}{END_MARK}"
    if START_MARK in text and END_MARK in text:
        head, rest = text.split(START_MARK, 1)
        text = head + section + rest.split(END_MARK, 1)[1]
    else:
        text = text.rstrip("\n") + ("\n\n" if text else "") + section + "\n"
    path.write_text(text)


def main(argv=None) -> int:
    args = parse_args(argv)
    harness = BenchHarness(args)

    def body():
        report = run(harness)
        table = markdown(report)
        print("\n=== benchmark ===\n" + table)
        for t in report["targets"]:
            if not t["met"]:
                print(f"MISSED {t['what']} (target {t['target']}): {t['measured']}, {t['miss']}")
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(json.dumps(report, indent=2) + "\n")
        write_section(args.markdown, table)
        print(f"report written to {args.report}, table to {args.markdown}")
        if report["unexpected_responses"]:
            print(f"unexpected responses: {report['unexpected_responses']}", file=sys.stderr)
            return 1, True
        return 0, False

    return run_cleanly(harness, "benchmark", body)


if __name__ == "__main__":
    sys.exit(main())
