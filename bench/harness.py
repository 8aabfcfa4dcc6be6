"""The benchmark's servers: loadtest/run.py's harness (database, gunicorn, cleanup) with the
bench's settings (bench/settings.py), its own preparation (bench/prepare.py), PostgreSQL or
SQLite, gunicorn restarted for each number of workers, and workers that are never recycled
(so that their memory says something)."""

import argparse
import contextlib
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg

from loadtest.run import (
    Harness,
    HarnessError,
    children,
    free_port,
    gunicorn_argv,
    wait_until_serving,
)

POSTGRESQL, SQLITE = "postgresql", "sqlite"

# The quiz start limit (20 in 10 minutes an account) would stop a client that takes a quiz
# every few seconds; raised, not switched off, so each start still pays for its count.
QUIZ_STARTS = "1000000/10m"


class BenchHarness(Harness):
    """One database (``engine`` PostgreSQL or SQLite) and its gunicorn."""

    def __init__(self, args: argparse.Namespace, engine: str):
        self.engine = engine
        self.sqlite_path = Path(tempfile.gettempdir()) / f"{args.db}.sqlite3"
        super().__init__(args)
        self.reused = False
        self.child: subprocess.Popen | None = None
        self.child_log = ""
        self.workers = 0  # gunicorn's, while it runs

    def _server_env(self) -> dict:
        env = super()._server_env()
        env.pop("LOADTEST_QUESTIONS", None)
        env = {k: v for k, v in env.items() if not k.startswith(("BENCH_", "RATE_LIMIT"))}
        env["DJANGO_SETTINGS_MODULE"] = "bench.settings"
        env["BENCH_ACCOUNTS_FILE"] = str(self.out / "accounts.json")
        env["RATE_LIMIT_QUIZ_START_PER_ACCOUNT"] = QUIZ_STARTS
        if self.engine == SQLITE:
            env["DATABASE_URL"] = f"sqlite:///{self.sqlite_path}"
        # Production recycles a worker every ~2,000 requests; here a worker must live through
        # the run for its memory to say anything (command-line settings beat the config file).
        env["GUNICORN_CMD_ARGS"] = "--max-requests 0"
        return env

    def database_exists(self) -> bool:
        if self.engine == SQLITE:
            return self.sqlite_path.exists()
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
        if self.engine == POSTGRESQL:
            super().create_database()
            return
        self._remove_sqlite()
        self.db_created = True

    def _remove_sqlite(self) -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.sqlite_path}{suffix}").unlink(missing_ok=True)

    def _start_child(self, log: str, argv: list[str]) -> None:
        """Start a helper (bench/prepare.py, bench/verify.py) with the server's environment;
        ``_wait_child`` waits for it. The databases' helpers run side by side."""
        self.child, self.child_log = self._spawn(log, argv), log

    def _wait_child(self, what: str) -> None:
        try:
            code = self.child.wait(timeout=3600) if self.child else 0
        finally:
            self.stop(self.child, signal.SIGTERM, 10)
        if code:
            log = (self.out / self.child_log).read_text()[-4000:]
            raise HarnessError(f"{what} failed on {self.engine}:\n{log}")

    def start_prepare(self, *, residents: int, cohorts: int, attempts: int, clients: int):
        a = self.args
        argv = ["-m", "bench.prepare", "--accounts-file", self.env["BENCH_ACCOUNTS_FILE"]]
        sizes = {
            "residents": residents, "cohorts": cohorts, "attempts": attempts,
            "questions": a.questions, "seed": a.seed, "clients": clients,
        }  # fmt: skip
        for name, value in sizes.items():
            argv += [f"--{name}", str(value)]
        self._start_child("prepare.log", [*argv, "--prefix", a.prefix])

    def prepared(self) -> dict:
        """The accounts and the data's size, once bench/prepare.py is done."""
        self._wait_child("preparing the database")
        return json.loads(Path(self.env["BENCH_ACCOUNTS_FILE"]).read_text())

    def start_verify(self, quizzes: list[dict]) -> None:
        """bench/verify.py on the double submits' quizzes; ``verified`` gives its findings."""
        given = self.out / "double-submits.json"
        given.write_text(json.dumps(quizzes))
        checked = str(self.out / "double-submits-checked.json")
        self._start_child("verify.log", ["-m", "bench.verify", "--input", str(given),
                                         "--output", checked])  # fmt: skip

    def verified(self) -> list[dict]:
        self._wait_child("checking the double submits")
        return json.loads((self.out / "double-submits-checked.json").read_text())

    def serve(self, workers: int) -> None:
        """(Re)start gunicorn with ``workers`` sync workers, on a new port."""
        self.stop(self.gunicorn, signal.SIGTERM, 10)
        self.workers = workers
        self.port = free_port()
        log = f"gunicorn-{workers}-workers.log"
        self.gunicorn = self._spawn(log, gunicorn_argv(f"127.0.0.1:{self.port}", workers))
        wait_until_serving(self.gunicorn, self.port, self.out / log)

    def worker_memory(self) -> dict[int, float | None]:
        """Each worker's resident set (MB), by process id."""
        assert self.gunicorn is not None
        return {pid: rss_mb(pid) for pid in children(self.gunicorn.pid)}

    def cleanup(self, keep: bool) -> None:
        self.stop(self.child, signal.SIGTERM, 10)
        if self.args.reuse_db or self.args.keep_db:
            self.db_created = False  # so the parent's cleanup leaves it
            print(f"{self.engine} database {self.args.db} kept", file=sys.stderr)
        if self.engine == SQLITE:
            if self.db_created:
                self._remove_sqlite()
            self.db_created = False  # the parent would drop a PostgreSQL database
        super().cleanup(keep)


class Servers:
    """The run's harnesses, cleaned up together (loadtest.run.run_cleanly calls cleanup)."""

    def __init__(self, harnesses: list[BenchHarness]):
        self.harnesses = harnesses

    def cleanup(self, keep: bool) -> None:
        for h in self.harnesses:
            h.cleanup(keep)


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def memory_growth(start: dict, end: dict) -> dict:
    """Each worker's resident set after the warm-up and at the end, and the largest growth."""
    workers = [
        {
            "pid": pid,
            "start_mb": round(before, 1) if before else None,
            "end_mb": round(end[pid], 1) if end.get(pid) else None,
        }
        for pid, before in start.items()
    ]
    growths = [w["end_mb"] - w["start_mb"] for w in workers if w["start_mb"] and w["end_mb"]]
    return {
        "workers": workers,
        "growth_mb_max": round(max(growths), 1) if growths else None,
        "workers_replaced": sorted(set(start) ^ set(end)),
    }


def machine() -> dict:
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
    }
