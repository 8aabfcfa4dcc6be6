"""Statistics pages read from a real PostgreSQL streaming replica (questions/replica.py).

The test builds its own primary and hot standby (initdb, pg_basebackup) in a temporary
directory, reachable only through Unix sockets there, so the machine's PostgreSQL is never
touched; then, in a fresh interpreter with DATABASE_URL and DATABASE_REPLICA_URL pointing at
them, it migrates, writes a cohort's results on the primary, and checks that:
- the cohort page and the item analysis read the questions' tables from the replica, say so
  with the lag, and still read the session and the user from the primary;
- the cohort itself (who may see it) is read from the primary;
- with replay paused and the replica further behind than REPLICA_MAX_LAG_SECONDS, the pages
  read from the primary and say nothing of a replica;
- with the standby no longer streaming from the primary (however caught up it looks), the
  same;
- with the replica stopped, the pages are still served, from the primary.
Needs root (the servers run as the postgres user) and PostgreSQL's server binaries; runs in
the PostgreSQL pass of the suite only."""

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from django.db import connection

from tests.processes import free_port, run_python, site_env

BINARIES = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
BIN = Path(BINARIES[-1]) if BINARIES else None

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="the PostgreSQL pass of the suite runs it"
    ),
    pytest.mark.skipif(BIN is None, reason="needs PostgreSQL's server binaries"),
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run servers as postgres"),
]


class Pair:
    """A primary and its hot standby, each listening on a Unix socket in ``directory``."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.primary_port = free_port()
        self.standby_port = free_port()

    def _as_postgres(self, *command: str) -> None:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", *command],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip

    def _start(self, name: str, port: int) -> None:
        options = f"-p {port} -k {self.directory} -c listen_addresses='' -c fsync=off"
        self._as_postgres(
            str(BIN / "pg_ctl"), "-D", str(self.directory / name), "-l",
            str(self.directory / f"{name}.log"), "-o", options, "-w", "-t", "60", "start",
        )  # fmt: skip

    def start(self) -> None:
        self._as_postgres(
            str(BIN / "initdb"), "-D", str(self.directory / "primary"), "-U", "postgres",
            "--auth=trust", "-E", "UTF8", "--no-sync",
        )  # fmt: skip
        self._start("primary", self.primary_port)
        self._as_postgres(
            str(BIN / "pg_basebackup"), "-h", str(self.directory), "-p",
            str(self.primary_port), "-U", "postgres", "-D", str(self.directory / "standby"),
            "-R", "-X", "stream",
        )  # fmt: skip
        self._start("standby", self.standby_port)

    def stop(self, name: str) -> None:
        if (self.directory / name / "postmaster.pid").exists():
            self._as_postgres(
                str(BIN / "pg_ctl"), "-D", str(self.directory / name), "-m", "immediate",
                "-w", "stop",
            )  # fmt: skip

    def url(self, port: int) -> str:
        return f"postgres://postgres@/quizsite?host={self.directory}&port={port}"


@pytest.fixture
def pair():
    directory = Path(tempfile.mkdtemp(prefix="quizsite-replica-"))
    postgres = pwd.getpwnam("postgres")
    os.chown(directory, postgres.pw_uid, postgres.pw_gid)
    servers = Pair(directory)
    try:
        servers.start()
        yield servers
    finally:
        servers.stop("standby")
        servers.stop("primary")
        shutil.rmtree(directory, ignore_errors=True)


def test_statistics_pages_read_from_the_replica_and_state_its_lag(pair):
    import psycopg

    with psycopg.connect(
        host=str(pair.directory), port=pair.primary_port, user="postgres", autocommit=True
    ) as admin:
        admin.execute("CREATE DATABASE quizsite")
    env = site_env(
        DJANGO_SECURE_SSL_REDIRECT="false",
        DATABASE_URL=pair.url(pair.primary_port),
        DATABASE_REPLICA_URL=pair.url(pair.standby_port),
        REPLICA_MAX_LAG_SECONDS="1",
        STANDBY_DATA=str(pair.directory / "standby"),
        PG_CTL=str(BIN / "pg_ctl"),
    )
    child = run_python(str(Path(__file__).with_name("replica_check.py")), env=env, timeout=600)
    assert child.returncode == 0, child.stdout + child.stderr
    assert child.stdout.strip().endswith("replica checks passed"), child.stdout
