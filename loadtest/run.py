"""Load-and-fault test: residents taking quizzes against gunicorn + PostgreSQL, with a worker
killed and the database connections dropped mid-run, then every acknowledged answer checked
against the database.

    .venv/bin/python loadtest/run.py                       # 100 users, 60 s, faults on
    .venv/bin/python loadtest/run.py --users 5 --duration 8 --no-faults --db loadtest_short

Steps: create the database (dropped first if it exists), migrate, load the bank, create the
residents (loadtest/prepare.py); start gunicorn with production settings; run Locust headless
(loadtest/locustfile.py); inject the faults at 1/3 and 2/3 of the run; verify; report (stdout
and --report, default loadtest/report.json). Exit status 1 when an acknowledged answer was
lost, any 5xx was sent (faults or not), a request went unanswered outside the fault windows (a
killed worker drops the requests it was serving), a quiz start token did not map to exactly
the attempt its client saw, no answer was acknowledged at all, or the site did not recover;
2 when the harness itself could not run.
Locust, gunicorn and the database are cleaned up whatever happens, Ctrl-C included.

Every option also reads an environment variable (LOADTEST_USERS, LOADTEST_DURATION...).
"""

import argparse
import contextlib
import datetime
import http.client
import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
HERE = ROOT / "loadtest"
PYTHON = sys.executable
DB_NAME = re.compile(r"^loadtest[a-z0-9_]{0,40}$")  # never anything but our own databases
MAX_RETRIES = 3  # as in locustfile.py


def env_default(name: str, default, prefix: str = "LOADTEST_"):
    return os.environ.get(f"{prefix}{name}", default)


def add_run_arguments(
    parser: argparse.ArgumentParser,
    *,
    prefix: str = "LOADTEST_",
    users: int = 100,
    duration: float = 60,
    db: str = "loadtest",
    workers: int = 4,
    workers_help: str = "gunicorn workers",
    faults_help: str = "kill a gunicorn worker at 1/3 of the run, drop the DB connections at 2/3",
    report: Path = HERE / "report.json",
) -> None:
    """The options every load run has (this one, loadtest/cluster.py); each also reads the
    environment variable ``prefix`` + its name in capitals (LOADTEST_USERS...)."""

    def env(name, default):
        return env_default(name, default, prefix)

    parser.add_argument("--users", type=int, default=int(env("USERS", users)))
    parser.add_argument(
        "--spawn-rate",
        type=float,
        default=env("SPAWN_RATE", None),
        help="users started a second (default: all within ~5 s)",
    )
    parser.add_argument(
        "--duration", type=float, default=float(env("DURATION", duration)), help="seconds"
    )
    parser.add_argument(
        "--faults",
        action=argparse.BooleanOptionalAction,
        default=env("FAULTS", "true").lower() in ("1", "true", "yes", "on"),
        help=faults_help,
    )
    parser.add_argument(
        "--fault-window",
        type=float,
        default=float(env("FAULT_WINDOW", 5)),
        help="seconds after a fault during which requests without a response are expected",
    )
    parser.add_argument(
        "--workers", type=int, default=int(env("WORKERS", workers)), help=workers_help
    )
    parser.add_argument("--db", default=env("DB", db))
    parser.add_argument(
        "--pg-url",
        default=env("PG_URL", "postgres://postgres@127.0.0.1:5432"),
        help="PostgreSQL server (no database name); the run creates and drops --db there",
    )
    parser.add_argument(
        "--form-logins",
        type=int,
        default=env("FORM_LOGINS", None),
        help="residents who log in through /accounts/login/ (default 5); the others start "
        "with a session created server-side",
    )
    parser.add_argument("--questions", type=int, default=int(env("QUESTIONS", 10)))
    parser.add_argument(
        "--conn-max-age",
        type=int,
        default=int(env("CONN_MAX_AGE", 60)),
        help="DJANGO_CONN_MAX_AGE for the server (default 60, as docs/deploy.md advises; "
        "0 opens a connection per request)",
    )
    parser.add_argument("--report", type=Path, default=Path(env("REPORT", report)))
    parser.add_argument(
        "--keep-artifacts",
        action="store_true",
        help="keep the scratch directory (logs, journals); it is kept anyway on failure",
    )


def finish_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Check the options of add_run_arguments and fill in the derived defaults."""
    if not DB_NAME.match(args.db):
        parser.error(f"--db must match {DB_NAME.pattern}: the run drops that database")
    if args.users < 1 or args.duration < 3 or args.workers < 1:
        parser.error("need --users >= 1, --duration >= 3 and --workers >= 1")
    if args.spawn_rate is None:
        args.spawn_rate = max(5.0, args.users / 5)
    args.spawn_rate = float(args.spawn_rate)
    args.form_logins = min(args.users, 5 if args.form_logins is None else int(args.form_logins))


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_run_arguments(parser)
    parser.add_argument(
        "--redis-url",
        default=env_default("REDIS_URL", None),
        help="REDIS_URL for the server (default: unset, the site's default)",
    )
    args = parser.parse_args(argv)
    finish_args(parser, args)
    return args


class HarnessError(Exception):
    """The harness itself could not run (not a finding about the site)."""


def iso(t: float) -> str:
    return datetime.datetime.fromtimestamp(t, datetime.UTC).isoformat(timespec="milliseconds")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def children(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (gunicorn's workers are the master's children)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return sorted(found)


def http_get(
    port: int, path: str, cookie: str = "", timeout: float = 10.0, address: str = "127.0.0.1"
) -> int:
    conn = http.client.HTTPConnection(address, port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Cookie": cookie} if cookie else {})
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def gunicorn_argv(bind: str, workers: int) -> list[str]:
    """gunicorn with production's configuration (through loadtest/gunicorn_conf.py), to run
    with ``python``; a short graceful timeout so that a stop does not hold the run up."""
    return [
        "-m",
        "gunicorn",
        "quizsite.wsgi",
        "--config",
        str(HERE / "gunicorn_conf.py"),
        "--workers",
        str(workers),
        "--bind",
        bind,
        "--chdir",
        str(ROOT),
        "--timeout",
        "30",
        "--graceful-timeout",
        "5",
        "--no-control-socket",
    ]


def wait_until_serving(
    proc: subprocess.Popen, port: int, log: Path, address: str = "127.0.0.1", limit: float = 60
) -> None:
    """Until gunicorn answers GET / with 200 (HarnessError if it exits or ``limit`` s pass)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise HarnessError(f"gunicorn exited:\n{tail(log)}")
        try:
            if http_get(port, "/", timeout=5, address=address) == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise HarnessError(f"gunicorn never answered GET / with 200:\n{tail(log)}")


def summarize_server_log(text: str) -> dict:
    """What gunicorn's log (access log, errors, the site's warnings) says went wrong."""
    lines = text.splitlines()
    exceptions, paths = Counter(), Counter()
    for i, line in enumerate(lines):
        # The site's own log format (quizsite/settings.py LOGGING): "... ERROR [<request
        # id>] django.request: Internal Server Error: /path/".
        match = re.search(r" ERROR \[[^\]]*\] django\.request: (.*)", line)
        if match:
            paths[match.group(1)] += 1
        if line.startswith("Traceback (most recent call last):"):
            for j in range(i + 1, len(lines)):
                if lines[j] and not lines[j].startswith((" ", "\t")):
                    # Only the last exception of a chain ("During handling of the above
                    # exception..." / "The above exception was the direct cause...").
                    after = " ".join(lines[j + 1 : j + 3])
                    if "above exception" not in after:
                        exceptions[lines[j][:300]] += 1
                    break
    return {
        "request_errors": dict(paths.most_common(20)),
        "exceptions": dict(exceptions.most_common(20)),
        # questions.middleware: a request whose connection the database dropped
        "run_again_on_a_new_connection": text.count("Database connection lost; running"),
        "answered_503": text.count("Database connection lost during")
        + text.count("Database still unreachable"),
        "worker_timeouts": text.count("WORKER TIMEOUT"),
        "deadlocks": text.lower().count("deadlock detected"),
    }


def verification_problems(answers: dict) -> list[str]:
    """The failures Harness.verify_answers can find, as the report's problem lines."""
    problems = []
    if answers["acknowledged"] == 0:
        problems.append("no answer was acknowledged: the scenario did not run")
    if answers["lost"]:
        problems.append(f"{answers['lost']} acknowledged answers lost")
    if answers["quiz_start_mismatches"]:
        n = answers["quiz_start_mismatches"]
        problems.append(f"{n} quiz starts did not map to exactly the attempt the client saw")
    return problems


class Harness:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.out = Path(tempfile.mkdtemp(prefix=f"{args.db}-"))
        self.port = free_port()
        self.host = f"http://127.0.0.1:{self.port}"
        self.gunicorn: subprocess.Popen | None = None
        self.locust: subprocess.Popen | None = None
        self.db_created = False
        self.faults: list[dict] = []
        self.t_start: float | None = None
        self.t_end: float | None = None
        self.env = self._server_env()

    # --- setup --------------------------------------------------------------------------------

    def _server_env(self) -> dict:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("DJANGO_", "LOADTEST_", "AXES_"))
            and k not in ("DATABASE_URL", "REDIS_URL", "PYTHONPATH")
        }
        (self.out / "static").mkdir()
        (self.out / "media").mkdir()
        env.update(
            PYTHONPATH=str(ROOT),
            DJANGO_SETTINGS_MODULE="loadtest.settings",
            DJANGO_DEBUG="false",
            DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
            DATABASE_URL=f"{self.args.pg_url.rstrip('/')}/{self.args.db}",
            DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
            DJANGO_SECURE_COOKIES="false",
            DJANGO_SECURE_SSL_REDIRECT="false",
            DJANGO_MEDIA_ROOT=str(self.out / "media"),
            LOADTEST_STATIC_ROOT=str(self.out / "static"),
            LOADTEST_OUT_DIR=str(self.out),
            LOADTEST_ACCOUNTS_FILE=str(self.out / "accounts.json"),
            LOADTEST_QUESTIONS=str(self.args.questions),
        )
        env["DJANGO_CONN_MAX_AGE"] = str(self.args.conn_max_age)
        if self.args.redis_url:
            env["REDIS_URL"] = self.args.redis_url
        return env

    def admin(self) -> psycopg.Connection:
        return psycopg.connect(
            f"{self.args.pg_url.rstrip('/')}/postgres", autocommit=True, connect_timeout=5
        )

    def create_database(self) -> None:
        try:
            with self.admin() as conn:
                name = sql.Identifier(self.args.db)
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
                conn.execute(sql.SQL("CREATE DATABASE {}").format(name))
        except psycopg.OperationalError as exc:
            raise HarnessError(f"PostgreSQL at {self.args.pg_url} is unreachable: {exc}") from exc
        self.db_created = True

    def prepare(self) -> dict:
        log = self.out / "prepare.log"
        with log.open("w") as out:
            done = subprocess.run(
                [
                    PYTHON,
                    "-m",
                    "loadtest.prepare",
                    "--residents",
                    str(self.args.users),
                    "--form-logins",
                    str(self.args.form_logins),
                    "--accounts-file",
                    self.env["LOADTEST_ACCOUNTS_FILE"],
                ],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=600,
            )
        if done.returncode:
            raise HarnessError(f"preparing the database failed:\n{tail(log)}")
        for line in log.read_text().splitlines():
            if line.startswith('{"prepare"'):
                return json.loads(line)["prepare"]
        return {}

    def _spawn(
        self, log_name: str, argv: list[str], *, prefix: tuple = (PYTHON,), env=None
    ) -> subprocess.Popen:
        """Start ``prefix + argv`` (by default Python) in its own session (so it can be killed
        with its children), its output to ``log_name`` in the scratch directory. The child
        keeps the file open; the harness closes its own copy at once."""
        with (self.out / log_name).open("w") as log:
            return subprocess.Popen(
                [*prefix, *argv],
                cwd=ROOT,
                env=self.env if env is None else env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def start_gunicorn(self) -> None:
        self.gunicorn = self._spawn(
            "gunicorn.log", gunicorn_argv(f"127.0.0.1:{self.port}", self.args.workers)
        )
        wait_until_serving(self.gunicorn, self.port, self.out / "gunicorn.log")

    # --- the run ------------------------------------------------------------------------------

    def run_locust(self) -> int:
        a = self.args
        self.locust = self._spawn(
            "locust.log",
            [
                "-m",
                "locust",
                "-f",
                str(HERE / "locustfile.py"),
                "--headless",
                "-u",
                str(a.users),
                "-r",
                str(a.spawn_rate),
                "-t",
                f"{a.duration:g}s",
                "--host",
                self.host,
                "--csv",
                str(self.out / "locust"),
                "--only-summary",
                "--exit-code-on-error",
                "0",
                "--stop-timeout",
                "0",
                "--loglevel",
                "WARNING",
            ],
        )
        # The fault schedule counts from Locust's test_start (written by the locustfile).
        deadline = time.monotonic() + 60
        while self.t_start is None:
            started = sorted(self.out.glob("started-*.json"))
            with contextlib.suppress(json.JSONDecodeError):  # caught while being written
                self.t_start = json.loads(started[0].read_text())["t"] if started else None
            if self.t_start is not None:
                break
            if self.locust.poll() is not None or time.monotonic() > deadline:
                raise HarnessError(f"locust did not start:\n{tail(self.out / 'locust.log')}")
            else:
                time.sleep(0.1)
        for offset, action in self.fault_plan():
            while time.time() < self.t_start + offset and self.locust.poll() is None:
                time.sleep(0.05)
            if self.locust.poll() is None:
                action()
        try:
            code = self.locust.wait(timeout=a.duration + 90)
        except subprocess.TimeoutExpired as exc:
            raise HarnessError(f"locust overran:\n{tail(self.out / 'locust.log')}") from exc
        self.t_end = time.time()
        return code

    def fault_plan(self) -> list[tuple[float, object]]:
        """(seconds after Locust's start, the action) in order."""
        a = self.args
        if not a.faults:
            return []
        return [(a.duration / 3, self.kill_worker), (2 * a.duration / 3, self.drop_db)]

    def kill_worker(self) -> None:
        workers = children(self.gunicorn.pid)
        if not workers:
            self.faults.append({"kind": "worker_kill", "t": time.time(), "error": "no worker"})
            return
        victim = random.choice(workers)
        t = time.time()
        os.kill(victim, signal.SIGKILL)
        self.faults.append({"kind": "worker_kill", "t": t, "pid": victim, "workers": workers})

    def drop_db(self) -> None:
        t = time.time()
        try:
            with self.admin() as conn:
                t = time.time()
                rows = conn.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = %s AND pid <> pg_backend_pid()",
                    (self.args.db,),
                ).fetchall()
        except psycopg.Error as exc:
            self.faults.append({"kind": "db_drop", "t": t, "error": repr(exc)})
            return
        self.faults.append({"kind": "db_drop", "t": t, "connections_terminated": len(rows)})

    # --- after the run ------------------------------------------------------------------------

    def check_recovery(self) -> dict:
        """The site answers again: the home page, and a resident's dashboard (which reads the
        database through a session), and gunicorn has its full set of workers back."""
        accounts = json.loads(Path(self.env["LOADTEST_ACCOUNTS_FILE"]).read_text())
        session = accounts["accounts"][-1]["sessionid"]
        cookie = f"{accounts['session_cookie_name']}={session}"
        result = {}
        deadline = time.monotonic() + 30
        while True:
            try:
                result = {
                    "home_status": http_get(self.port, "/"),
                    "dashboard_status": http_get(self.port, "/dashboard/", cookie)
                    if cookie
                    else None,
                }
            except OSError as exc:
                result = {"error": repr(exc)}
            result["workers"] = len(children(self.gunicorn.pid))
            result["recovered"] = (
                result.get("home_status") == 200
                and result.get("dashboard_status") in (200, None)
                and result["workers"] == self.args.workers
            )
            if result["recovered"] or time.monotonic() > deadline:
                return result
            time.sleep(0.5)

    def read_journals(self) -> list[dict]:
        events = []
        for path in self.out.glob("journal-*.jsonl"):
            pid = path.stem.split("-")[1]
            for line in path.read_text().splitlines():
                try:
                    event = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a line cut short when Locust stopped
                event["pid"] = pid
                events.append(event)
        events.sort(key=lambda e: (e["pid"], e["seq"]))
        return events

    def verify_answers(self, events: list[dict]) -> dict:
        """Last acknowledged letter per (attempt, position) against AttemptItem."""
        by_key = defaultdict(list)
        for e in events:
            if e["ev"] in ("send", "ack"):
                by_key[(e["attempt"], e["pos"])].append(e)
        attempts = sorted({e["attempt"] for e in events if e["ev"] == "attempt_start"})
        stored, finished = {}, 0
        with psycopg.connect(self.env["DATABASE_URL"], connect_timeout=5) as conn:
            for attempt_id, position, letter in conn.execute(
                "SELECT attempt_id, position, selected_letter FROM questions_attemptitem "
                "WHERE attempt_id = ANY(%s)",
                (attempts,),
            ):
                stored[(attempt_id, position)] = letter
            finished = conn.execute(
                "SELECT count(*) FROM questions_attempt WHERE id = ANY(%s) AND status = %s",
                (attempts, "finished"),
            ).fetchone()[0]
            # Each start token the clients sent: the attempts it started on the server.
            seen = {e["token"]: e["attempt"] for e in events if e["ev"] == "attempt_start"}
            started_by_token = defaultdict(list)
            for token, attempt_id in conn.execute(
                "SELECT start_token::text, id FROM questions_attempt "
                "WHERE start_token::text = ANY(%s)",
                (list(seen),),
            ):
                started_by_token[token].append(attempt_id)
        start_mismatches = [
            {"token": t, "client_saw": a, "in_database": started_by_token.get(t, [])}
            for t, a in seen.items()
            if started_by_token.get(t) != [a]
        ]
        lost, unconfirmed_applied, checked, changes = [], 0, 0, 0
        for key, evs in by_key.items():
            acks = [e for e in evs if e["ev"] == "ack"]
            if not acks:
                continue
            checked += 1
            changes += sum(
                1 for a, b in zip(acks, acks[1:], strict=False) if a["letter"] != b["letter"]
            )
            last = acks[-1]
            in_db = stored.get(key)
            if in_db == last["letter"]:
                continue
            later = {e["letter"] for e in evs if e["ev"] == "send" and e["seq"] > last["seq"]}
            if in_db in later:
                unconfirmed_applied += 1  # a later write, sent but never acknowledged, landed
                continue
            lost.append(
                {
                    "attempt": key[0],
                    "position": key[1],
                    "acknowledged": last["letter"],
                    "acknowledged_at": iso(last["t"]),
                    "in_database": in_db,
                }
            )
        counts = Counter(e["ev"] for e in events)
        return {
            "quizzes_started": len(attempts),
            "quiz_starts_verified": len(seen) - len(start_mismatches),
            "quiz_start_mismatches": len(start_mismatches),
            "quiz_start_mismatch_details": start_mismatches[:20],
            "quizzes_finished": finished,
            "answer_posts": counts["send"],
            "acknowledged": counts["ack"],
            "acknowledged_on_retry": sum(1 for e in events if e["ev"] == "ack" and e["try_no"] > 1),
            "positions_verified": checked,
            "answer_changes_acknowledged": changes,
            "lost": len(lost),
            "lost_details": lost[:50],
            "unacknowledged_write_applied": unconfirmed_applied,
            "retried_after_error": counts["error"],
            "gave_up_after_retries": sum(
                1 for e in events if e["ev"] == "error" and e["try_no"] == 1 + MAX_RETRIES
            ),
            "refused": counts["refused"],
            "refused_details": [
                {k: e[k] for k in ("attempt", "pos", "letter", "go", "location")}
                for e in events
                if e["ev"] == "refused"
            ][:20],
            "rejected": counts["rejected"],
        }

    def server_errors(self, events: list[dict]) -> dict:
        window = self.args.fault_window

        def in_window(t: float) -> bool:
            return any(f["t"] <= t <= f["t"] + window for f in self.faults)

        errors = [e for e in events if e["ev"] == "server_error"]
        fivexx = [e for e in errors if e["status"] >= 500]
        dropped = [e for e in errors if e["status"] == 0]
        outside = [e for e in errors if not in_window(e["t"])]
        last_fault_end = max((f["t"] + window for f in self.faults), default=None)
        return {
            "5xx_total": len(fivexx),
            "5xx_in_fault_windows": sum(1 for e in fivexx if in_window(e["t"])),
            "5xx_outside_fault_windows": sum(1 for e in fivexx if not in_window(e["t"])),
            "no_response_total": len(dropped),
            "no_response_in_fault_windows": sum(1 for e in dropped if in_window(e["t"])),
            "no_response_outside_fault_windows": sum(1 for e in dropped if not in_window(e["t"])),
            "by_url": dict(Counter(f"{e['status'] or 'no response'} {e['name']}" for e in errors)),
            "outside_details": [
                {
                    "at": iso(e["t"]),
                    "offset_s": round(e["t"] - self.t_start, 2),
                    "status": e["status"],
                    "method": e["method"],
                    "url": e["name"],
                    "error": e["error"],
                }
                for e in outside
            ][:30],
            "acknowledged_after_last_fault_window": (
                sum(1 for e in events if e["ev"] == "ack" and e["t"] > last_fault_end)
                if last_fault_end
                else None
            ),
        }

    def locust_stats(self) -> dict:
        """Locust's final figures, written by the locustfile when Locust quits (one process)."""
        summaries = sorted(self.out.glob("summary-*.json"))
        return json.loads(summaries[0].read_text()) if summaries else {}

    def gunicorn_log(self) -> dict:
        return summarize_server_log((self.out / "gunicorn.log").read_text(errors="replace"))

    # --- cleanup ------------------------------------------------------------------------------

    @staticmethod
    def stop(proc: subprocess.Popen | None, sig: int, grace: float) -> None:
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, sig)  # the group we created (start_new_session): ours only
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        except ProcessLookupError:
            pass

    def cleanup(self, keep: bool) -> None:
        self.stop(self.locust, signal.SIGTERM, 10)
        self.stop(self.gunicorn, signal.SIGTERM, 10)
        if self.gunicorn is not None and self.gunicorn.poll() is None:
            self.gunicorn.wait(timeout=5)
        if self.db_created:
            try:
                with self.admin() as conn:
                    conn.execute(
                        sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                            sql.Identifier(self.args.db)
                        )
                    )
            except psycopg.Error as exc:
                print(f"could not drop database {self.args.db}: {exc}", file=sys.stderr)
        shutil.rmtree(self.out / "static", ignore_errors=True)
        if keep:
            print(f"artifacts kept in {self.out}", file=sys.stderr)
        else:
            shutil.rmtree(self.out, ignore_errors=True)


def execute(h: Harness) -> dict:
    a = h.args
    t0 = time.monotonic()
    h.create_database()
    prepare = h.prepare()
    h.start_gunicorn()
    setup_s = round(time.monotonic() - t0, 1)
    locust_code = h.run_locust()
    recovery = h.check_recovery()
    events = h.read_journals()
    answers = h.verify_answers(events)
    errors = h.server_errors(events)
    stats = h.locust_stats()
    report = {
        "passed": None,
        "problems": [],
        "config": {
            "users": a.users,
            "spawn_rate": a.spawn_rate,
            "duration_s": a.duration,
            "faults": a.faults,
            "fault_window_s": a.fault_window,
            "workers": a.workers,
            "database": a.db,
            "host": h.host,
            "form_logins": a.form_logins,
            "questions_per_quiz": a.questions,
            "conn_max_age": a.conn_max_age,
            "redis_url": a.redis_url,
        },
        "timing": {
            "setup_s": setup_s,
            "prepare": prepare,
            "started_at": iso(h.t_start),
            "ended_at": iso(h.t_end),
            "run_s": round(h.t_end - h.t_start, 1),
        },
        "requests": stats,
        "answers": answers,
        "server_errors": errors,
        "faults": [
            {**f, "at": iso(f["t"]), "offset_s": round(f["t"] - h.t_start, 2)} for f in h.faults
        ],
        "recovery": recovery,
        "gunicorn_log": h.gunicorn_log(),
        "locust_exit_code": locust_code,
        "artifacts": str(h.out),
    }
    problems = report["problems"]
    if locust_code != 0:
        problems.append(f"locust exited with {locust_code} (see locust.log)")
    problems += verification_problems(answers)
    if errors["5xx_total"]:
        problems.append(f"{errors['5xx_total']} 5xx responses (none are allowed, faults or not)")
    if errors["no_response_outside_fault_windows"]:
        n = errors["no_response_outside_fault_windows"]
        problems.append(f"{n} requests without a response outside the fault windows")
    if not recovery["recovered"]:
        problems.append(f"the site did not recover: {recovery}")
    report["passed"] = not problems
    return report


def print_report(r: dict) -> None:
    c, q, ans, err = r["config"], r["requests"], r["answers"], r["server_errors"]
    print("\n=== load test report ===")
    print(
        f"users {c['users']}, duration {c['duration_s']:g} s (ran {r['timing']['run_s']} s), "
        f"gunicorn workers {c['workers']}, faults {'on' if c['faults'] else 'off'}"
    )
    print(f"setup {r['timing']['setup_s']} s {r['timing']['prepare']}")
    print(
        f"requests {q.get('requests')}, {q.get('rps')} req/s, median {q.get('median_ms')} ms, "
        f"p95 {q.get('p95_ms')} ms, max {q.get('max_ms')} ms, failures {q.get('failures')}"
    )
    print(f"responses by status: {q.get('by_status')}")
    for error, n in (q.get("errors") or {}).items():
        print(f"  error x{n}: {error}")
    print(
        f"quizzes started {ans['quizzes_started']}, finished {ans['quizzes_finished']}; "
        f"start tokens that map to exactly the client's attempt {ans['quiz_starts_verified']}, "
        f"MISMATCHED {ans['quiz_start_mismatches']}"
    )
    print(
        f"answers: posts {ans['answer_posts']}, acknowledged {ans['acknowledged']} "
        f"(on retry {ans['acknowledged_on_retry']}), positions verified "
        f"{ans['positions_verified']}, changes {ans['answer_changes_acknowledged']}, "
        f"LOST {ans['lost']}, unacknowledged write applied "
        f"{ans['unacknowledged_write_applied']}, gave up {ans['gave_up_after_retries']}, "
        f"refused {ans['refused']}, rejected {ans['rejected']}"
    )
    print(
        f"5xx: total {err['5xx_total']}, in fault windows {err['5xx_in_fault_windows']}, "
        f"OUTSIDE {err['5xx_outside_fault_windows']}; no response: total "
        f"{err['no_response_total']}, outside {err['no_response_outside_fault_windows']}"
    )
    if err["by_url"]:
        print(f"  by url: {err['by_url']}")
    for f in r["faults"]:
        detail = {k: v for k, v in f.items() if k not in ("kind", "t", "at", "offset_s")}
        print(f"fault {f['kind']} at {f['at']} (+{f['offset_s']} s) {detail}")
    print(
        f"acknowledged after the last fault window: {err['acknowledged_after_last_fault_window']}"
    )
    print(f"recovered: {r['recovery']['recovered']} {r['recovery']}")
    log = r["gunicorn_log"]
    print(
        f"requests run again after a dropped database connection: "
        f"{log['run_again_on_a_new_connection']}; answered 503: {log['answered_503']}"
    )
    if log["request_errors"] or log["exceptions"] or log["worker_timeouts"]:
        print(f"gunicorn log: {log}")
    print("PASSED" if r["passed"] else "FAILED: " + "; ".join(r["problems"]))


def run_cleanly(harness, what: str, body) -> int:
    """Run ``body()``, which returns (exit status, keep the scratch directory), so that
    Ctrl-C, SIGTERM and SIGHUP stop it cleanly and the harness's gunicorn, Locust and
    database are cleaned up whatever happens. Exit 2 when the harness could not run, 130
    when interrupted. Shared with bench/run.py."""

    def terminate(signum, frame):
        raise KeyboardInterrupt

    signals = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    # SIGINT too: a shell without job control starts background jobs with SIGINT ignored.
    for sig in signals:
        signal.signal(sig, terminate)
    keep = True  # the scratch directory's logs stay unless the run says otherwise
    try:
        status, keep = body()
        return status
    except HarnessError as exc:
        print(f"{what} could not run: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: cleaning up", file=sys.stderr)
        return 130
    finally:
        for sig in signals:
            signal.signal(sig, signal.SIG_IGN)  # let cleanup finish
        harness.cleanup(keep)


def main(argv=None) -> int:
    args = parse_args(argv)
    harness = Harness(args)

    def body():
        report = execute(harness)
        print_report(report)
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(json.dumps(report, indent=2) + "\n")
        print(f"report written to {args.report}")
        keep = args.keep_artifacts or not report["passed"]
        return (0 if report["passed"] else 1), keep

    return run_cleanly(harness, "load test", body)


if __name__ == "__main__":
    sys.exit(main())
