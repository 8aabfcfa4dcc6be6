"""Cluster load-and-fault test: residents taking timed quizzes through HAProxy in front of
several app hosts (gunicorn, each in a network namespace of its own) that share one
PostgreSQL database and one Redis, while, in turn, a whole host is killed and brought back,
Redis is stopped and restarted, every database connection is terminated, and the load
balancer is reloaded. Then every acknowledged answer is checked against the database
(loadtest/run.py's verification) and HAProxy's log says who answered what.

    .venv/bin/python loadtest/cluster.py                   # 150 users, 3 hosts, 180 s
    .venv/bin/python loadtest/cluster.py --duration 75     # the short run (CI)

Needs root (ip netns), /usr/sbin/haproxy, /usr/bin/redis-server and the machine's PostgreSQL:
the harness uses --pg-url (TCP); the hosts, which cannot reach 127.0.0.1, its unix socket in
--pg-socket-dir. The database (--db, default loadtest_cluster) is created and dropped as
run.py does; Redis is the test's own server on --redis-port, never the machine's.

Exit status 1 on a lost answer, a quiz start not mapping to exactly its attempt, a 5xx from
a host (a 503 with Retry-After only just after the database drop is counted apart), a request
no host answered other than a POST the killed host had (HAProxy does not resend a POST; its
client does), a 429, a resident sent to the login page or not carrying on after its host
died, a host leaving the pool while Redis was away, a missing fault, or no recovery
(loadtest/cluster_report.py); 2 when the harness could not run. Everything it started is
removed whatever happens, and a crashed earlier run's leftovers first (loadtest/netns.py).

Every option also reads an environment variable LOADTEST_CLUSTER_<NAME> (..._USERS...).
"""

import argparse
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path
from string import Template

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from loadtest import cluster_report, netns  # noqa: E402
from loadtest.run import (  # noqa: E402
    HERE,
    PYTHON,
    Harness,
    HarnessError,
    add_run_arguments,
    children,
    env_default,
    finish_args,
    gunicorn_argv,
    http_get,
    run_cleanly,
    summarize_server_log,
    wait_until_serving,
)

PREFIX = "LOADTEST_CLUSTER_"
HAPROXY = "/usr/sbin/haproxy"
REDIS_SERVER = "/usr/bin/redis-server"
APP_PORT = 8000
# When each fault happens, as a fraction of the run (each leaves a gap for the next).
SCHEDULE = [
    (0.15, "kill_host"),
    (0.30, "restore_host"),
    (0.40, "stop_redis"),
    (0.52, "restart_redis"),
    (0.65, "drop_db"),
    (0.80, "reload_lb"),
]


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_run_arguments(
        parser,
        prefix=PREFIX,
        users=150,
        duration=180,
        db="loadtest_cluster",
        workers=3,
        workers_help="gunicorn workers on each host",
        faults_help="kill a host and bring it back, stop and restart Redis, drop the "
        "database connections, reload the load balancer, in turn",
        report=HERE / "cluster-report.json",
    )

    def env(name, default):
        return env_default(name, default, PREFIX)

    parser.add_argument("--hosts", type=int, default=int(env("HOSTS", 3)))
    parser.add_argument(
        "--subnet",
        default=env("SUBNET", "10.231"),
        help="the first two octets of the hosts' /30 networks (<subnet>.<n>.0/30)",
    )
    parser.add_argument("--redis-port", type=int, default=int(env("REDIS_PORT", 6391)))
    parser.add_argument("--pg-socket-dir", default=env("PG_SOCKET_DIR", "/var/run/postgresql"))
    parser.add_argument(
        "--rate-limits",
        action=argparse.BooleanOptionalAction,
        default=env("RATE_LIMITS", "true").lower() in ("1", "true", "yes", "on"),
        help="--no-rate-limits runs the hosts with RATE_LIMITS_ENABLED=false",
    )
    args = parser.parse_args(argv)
    finish_args(parser, args)
    args.redis_url = None  # the harness's own server: ClusterHarness.redis_url
    if not 2 <= args.hosts <= netns.MAX_HOSTS:
        parser.error(f"--hosts must be 2..{netns.MAX_HOSTS}")
    if not re.fullmatch(r"10\.(\d{1,2}|1\d\d|2[0-4]\d|25[0-5])", args.subnet):
        parser.error("--subnet must be 10.<0-255> (a private range)")
    if args.redis_port == 6379:
        parser.error("--redis-port 6379 is the machine's Redis")
    if args.faults and args.duration < 40:
        parser.error("with faults, --duration must be at least 40 s")
    return args


def wait_for(predicate, limit: float, step: float = 0.1) -> float | None:
    """Seconds until ``predicate()`` held, or None after ``limit`` seconds."""
    start = time.monotonic()
    while time.monotonic() - start < limit:
        if predicate():
            return round(time.monotonic() - start, 2)
        time.sleep(step)
    return None


def fetch_json(address: str, port: int, path: str, timeout: float = 5) -> dict:
    """GET ``path``: its JSON body with ``http_status``, or ``error``."""
    conn = http.client.HTTPConnection(address, port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        body = response.read()
        try:
            data = json.loads(body)
        except ValueError:
            data = {}
        return {"http_status": response.status, **(data if isinstance(data, dict) else {})}
    except OSError as exc:
        return {"error": repr(exc)}
    finally:
        conn.close()


class ClusterHarness(Harness):
    """run.py's harness (database, preparation, Locust, verification, cleanup) with the
    namespaces, app hosts, Redis and HAProxy of the cluster."""

    def __init__(self, args: argparse.Namespace):
        self.hosts = [netns.Host(n, args.subnet) for n in range(1, args.hosts + 1)]
        self.apps: dict[str, subprocess.Popen] = {}
        self.starts: dict[str, int] = {}
        self.haproxy: subprocess.Popen | None = None
        self.redis: subprocess.Popen | None = None
        self.redis_starts = 0
        self.lock: int | None = None
        self.made: list[netns.Host] = []
        self.stale: list[str] = []
        self.watcher: threading.Thread | None = None
        super().__init__(args)

    def _server_env(self) -> dict:
        env = super()._server_env()
        a = self.args
        env["DATABASE_URL"] = f"postgres://postgres@/{a.db}?host={a.pg_socket_dir}"
        env["REDIS_URL"] = self.redis_url(self.hosts[0])
        env["DJANGO_ALLOWED_HOSTS"] = ",".join(
            ["127.0.0.1", "localhost", *(h.address for h in self.hosts)]
        )
        env["DJANGO_PROXY_COUNT"] = "1"  # the client's address is HAProxy's X-Forwarded-For
        # The limits stay on and count in the test's Redis (so its outage is the limits'
        # too), but a simulated resident starts a quiz every ~8 s, which the default of 20
        # in ten minutes would refuse after about three minutes.
        env["RATE_LIMIT_QUIZ_START_PER_ACCOUNT"] = "1000/10m"
        if not a.rate_limits:
            env["RATE_LIMITS_ENABLED"] = "false"
        return env

    def redis_url(self, host: netns.Host) -> str:
        return f"redis://{host.gateway}:{self.args.redis_port}/0"

    def host_env(self, host: netns.Host) -> dict:
        return self.env | {
            "REDIS_URL": self.redis_url(host),
            "GUNICORN_FORWARDED_ALLOW_IPS": host.gateway,
        }

    # --- setup --------------------------------------------------------------------------------

    def setup_network(self) -> None:
        if os.geteuid() != 0:
            raise HarnessError("the cluster test needs root (ip netns)")
        for tool in (HAPROXY, REDIS_SERVER, shutil.which("ip") or "/sbin/ip"):
            if not os.access(tool, os.X_OK):
                raise HarnessError(f"{tool} is missing (apt-get install haproxy redis-server)")
        if not Path(self.args.pg_socket_dir, ".s.PGSQL.5432").exists():
            raise HarnessError(f"no PostgreSQL socket in {self.args.pg_socket_dir}")
        try:
            self.lock = netns.take_lock()
            self.stale = netns.remove_stale()
            in_use = netns.range_in_use(self.args.subnet)
            if in_use:
                raise HarnessError(f"{self.args.subnet}.0.0/16 is in use here: {in_use}")
            for host in self.hosts:
                self.made.append(host)
                netns.create(host)
        except netns.NetnsError as exc:
            raise HarnessError(str(exc)) from exc

    def _spawn(self, log_name: str, argv: list[str], **kwargs) -> subprocess.Popen:
        proc = super()._spawn(log_name, argv, **kwargs)
        netns.record(proc.pid)  # for the next run's cleanup, if this one is killed
        return proc

    def redis_answers(self) -> bool:
        import redis

        client = redis.Redis(
            host=self.hosts[0].gateway,
            port=self.args.redis_port,
            socket_timeout=1,
            socket_connect_timeout=1,
        )
        try:
            return bool(client.ping())
        except (redis.RedisError, OSError):
            return False
        finally:
            client.close()

    def start_redis(self) -> None:
        self.redis_starts += 1
        argv = ["--port", str(self.args.redis_port), "--bind", *(h.gateway for h in self.hosts)]
        argv += ["--protected-mode", "no", "--save", "", "--appendonly", "no"]
        argv += ["--dir", str(self.out), "--daemonize", "no"]
        self.redis = self._spawn(f"redis-{self.redis_starts}.log", argv, prefix=(REDIS_SERVER,))
        if wait_for(self.redis_answers, 10) is None:
            raise HarnessError(f"redis-server did not answer on port {self.args.redis_port}")

    def check_database_socket(self) -> None:
        """The hosts' way to the database reaches the server the harness created it on."""
        try:
            psycopg.connect(self.env["DATABASE_URL"], connect_timeout=5).close()
        except psycopg.Error as exc:
            raise HarnessError(
                f"{self.env['DATABASE_URL']} does not reach the database just created on "
                f"{self.args.pg_url} (--pg-socket-dir must be the same server's): {exc}"
            ) from exc

    def start_host(self, host: netns.Host) -> subprocess.Popen:
        self.starts[host.name] = self.starts.get(host.name, 0) + 1
        log = f"gunicorn-{host.name}-{self.starts[host.name]}.log"
        argv = gunicorn_argv(f"{host.address}:{APP_PORT}", self.args.workers)
        proc = self._spawn(log, argv, prefix=(*host.exec_prefix(), PYTHON), env=self.host_env(host))
        self.apps[host.name] = proc
        return proc

    def start_gunicorn(self) -> None:
        for host in self.hosts:
            self.start_host(host)
        for host in self.hosts:
            log = self.out / f"gunicorn-{host.name}-1.log"
            wait_until_serving(self.apps[host.name], APP_PORT, log, address=host.address)

    def start_haproxy(self, session_cookie: str) -> None:
        servers = [f"    server {h.name} {h.address}:{APP_PORT}" for h in self.hosts]
        config = Template((HERE / "haproxy.cfg").read_text()).substitute(
            scratch=self.out,
            port=self.port,
            session_cookie=session_cookie,
            workers=self.args.workers,
            servers="\n".join(servers),
        )
        path = self.out / "haproxy.cfg"
        path.write_text(config)
        check = subprocess.run(
            [HAPROXY, "-c", "-q", "-f", str(path)], capture_output=True, text=True, timeout=30
        )
        if check.returncode:
            raise HarnessError(f"haproxy -c refused {path}:\n{check.stdout}{check.stderr}")
        self.haproxy = self._spawn("haproxy.log", ["-W", "-db", "-f", str(path)], prefix=(HAPROXY,))
        if wait_for(self.all_in_pool, 30) is None:
            raise HarnessError(f"HAProxy never saw every host up: {self.pool()}")

    def pool(self) -> dict[str, str]:
        """HAProxy's view of each host ("UP", "DOWN", "UP 1/2"...); {} if it does not answer."""
        data = b""
        try:
            with socket.socket(socket.AF_UNIX) as s:
                s.settimeout(2)
                s.connect(str(self.out / "haproxy.sock"))
                s.sendall(b"show stat\n")
                while chunk := s.recv(65536):
                    data += chunk
        except OSError:
            return {}
        lines = data.decode(errors="replace").splitlines()
        if not lines:
            return {}
        header = lines[0].lstrip("# ").split(",")
        rows = [dict(zip(header, line.split(","), strict=False)) for line in lines[1:] if line]
        return {
            r["svname"]: r.get("status", "")
            for r in rows
            if r.get("pxname") == "app" and r.get("svname") not in ("FRONTEND", "BACKEND")
        }

    def all_in_pool(self) -> bool:
        pool = self.pool()
        return len(pool) == len(self.hosts) and all(s == "UP" for s in pool.values())

    def healthz(self, host: netns.Host) -> dict:
        return fetch_json(host.address, APP_PORT, "/healthz/")

    # --- the faults ---------------------------------------------------------------------------

    def fault_plan(self) -> list[tuple[float, object]]:
        if not self.args.faults:
            return []
        return [(f * self.args.duration, getattr(self, name)) for f, name in SCHEDULE]

    @property
    def victim(self) -> netns.Host:
        return self.hosts[-1]

    def kill_host(self) -> None:
        host, proc = self.victim, self.apps[self.victim.name]
        pids = [proc.pid, *children(proc.pid)]
        t = time.time()
        os.killpg(proc.pid, signal.SIGKILL)  # its own session: the master and its workers
        proc.wait(timeout=10)
        out = wait_for(lambda: self.pool().get(host.name, "").startswith("DOWN"), 15)
        self.faults.append(
            {"kind": "host_kill", "t": t, "host": host.name, "pids": pids, "out_of_pool_s": out}
        )

    def restore_host(self) -> None:
        """Start the killed host again; a thread notes when it serves and is back in the pool
        (on two busy cores that can take seconds, which must not delay the next fault)."""
        host, t = self.victim, time.time()
        proc = self.start_host(host)
        fault = {"kind": "host_back", "t": t, "host": host.name}
        self.faults.append(fault)

        def watch() -> None:
            if wait_for(lambda: self._answers(host), 60, step=0.3) is not None:
                fault["serving_after_s"] = round(time.time() - t, 2)
            if wait_for(lambda: self.pool().get(host.name) == "UP", 30) is not None:
                fault["in_pool_after_s"] = round(time.time() - t, 2)
            if proc.poll() is not None:
                fault["error"] = f"gunicorn exited with {proc.returncode}"

        self.watcher = threading.Thread(target=watch, daemon=True)
        self.watcher.start()

    def _answers(self, host: netns.Host) -> bool:
        try:
            return http_get(APP_PORT, "/", timeout=5, address=host.address) == 200
        except OSError:
            return False

    def stop_redis(self) -> None:
        t = time.time()
        self.stop(self.redis, signal.SIGKILL, 5)
        health = {}

        def noticed() -> bool:
            health.update(self.healthz(self.hosts[0]))
            return health.get("redis") not in (None, "ok")

        wait_for(noticed, 5, step=0.3)
        self.faults.append({"kind": "redis_stop", "t": t, "healthz_while_away": dict(health)})

    def restart_redis(self) -> None:
        pool = self.pool()  # HAProxy's view at the end of the outage: every host still in
        t = time.time()
        self.start_redis()
        ok = wait_for(lambda: self.healthz(self.hosts[0]).get("redis") == "ok", 10, step=0.3)
        self.faults.append(
            {"kind": "redis_start", "t": t, "pool_before_restart": pool, "healthz_ok_after_s": ok}
        )

    def reload_lb(self) -> None:
        master = self.haproxy.pid
        old = set(children(master))
        t = time.time()
        os.kill(master, signal.SIGUSR2)  # the master-worker reload
        after = wait_for(lambda: bool(set(children(master)) - old), 10)
        self.faults.append(
            {"kind": "lb_reload", "t": t, "old_workers": sorted(old), "new_worker_after_s": after,
             "new_workers": sorted(set(children(master)) - old)}
        )  # fmt: skip

    # --- after the run ------------------------------------------------------------------------

    def check_recovery(self) -> dict:
        """Through HAProxy the home page and a resident's dashboard answer 200; every host is
        in the pool, says "ok" on /healthz/ and has its workers; one HAProxy worker is left."""
        accounts = json.loads(Path(self.env["LOADTEST_ACCOUNTS_FILE"]).read_text())
        cookie = f"{accounts['session_cookie_name']}={accounts['accounts'][-1]['sessionid']}"
        result: dict = {}
        if self.watcher is not None:
            self.watcher.join(timeout=90)

        def recovered() -> bool:
            result.clear()
            try:
                result["home_status"] = http_get(self.port, "/")
                result["dashboard_status"] = http_get(self.port, "/dashboard/", cookie)
            except OSError as exc:
                result["error"] = repr(exc)
            result["pool"] = self.pool()
            result["lb_workers"] = len(children(self.haproxy.pid))
            result["host_workers"] = {n: len(children(p.pid)) for n, p in self.apps.items()}
            result["healthz"] = {h.name: self.healthz(h).get("status") for h in self.hosts}
            return (
                result.get("home_status") == 200
                and result.get("dashboard_status") == 200
                and self.all_in_pool()
                and result["lb_workers"] == 1
                and all(n == self.args.workers for n in result["host_workers"].values())
                and all(s == "ok" for s in result["healthz"].values())
            )

        ok = wait_for(recovered, 45, step=0.5) is not None
        return {**result, "recovered": ok}

    def gunicorn_log(self) -> dict:
        logs = {}
        for host in self.hosts:
            files = sorted(self.out.glob(f"gunicorn-{host.name}-*.log"))
            text = "".join(p.read_text(errors="replace") for p in files)
            logs[host.name] = summarize_server_log(text)
            # questions.redis says when a host loses Redis and when it has it back
            logs[host.name]["redis_warnings"] = text.count("questions.redis")
        return logs

    # --- cleanup ------------------------------------------------------------------------------

    def cleanup(self, keep: bool) -> None:
        self.stop(self.locust, signal.SIGTERM, 10)
        self.stop(self.haproxy, signal.SIGTERM, 10)
        for proc in self.apps.values():
            self.stop(proc, signal.SIGTERM, 10)
        self.stop(self.redis, signal.SIGTERM, 5)
        for host in self.made:
            try:
                netns.delete(host)
            except netns.NetnsError as exc:
                print(f"could not delete {host.name}: {exc}", file=sys.stderr)
        if self.lock is not None:
            netns.forget_all()
        super().cleanup(keep)
        if self.lock is not None:
            os.close(self.lock)


def execute(h: ClusterHarness) -> dict:
    t0 = time.monotonic()
    h.setup_network()
    h.start_redis()
    h.create_database()
    h.check_database_socket()
    prepare = h.prepare()
    accounts = json.loads(Path(h.env["LOADTEST_ACCOUNTS_FILE"]).read_text())
    h.start_gunicorn()
    h.start_haproxy(accounts["session_cookie_name"])
    setup_s = round(time.monotonic() - t0, 1)
    locust_code = h.run_locust()
    recovery = h.check_recovery()
    report = cluster_report.assemble(
        h, setup_s=setup_s, prepare=prepare, locust_code=locust_code, recovery=recovery
    )
    report["problems"] = cluster_report.problems(report)
    report["passed"] = not report["problems"]
    return report


def main(argv=None) -> int:
    args = parse_args(argv)
    harness = ClusterHarness(args)

    def body():
        try:
            report = execute(harness)
        except (OSError, subprocess.SubprocessError, psycopg.Error, KeyError, ValueError) as exc:
            # The harness broke (a process that would not start or stop, a file missing):
            # exit 2, not 1, which says the site failed.
            raise HarnessError(traceback.format_exc()) from exc
        cluster_report.print_report(report)
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(json.dumps(report, indent=2) + "\n")
        print(f"report written to {args.report}")
        return (0 if report["passed"] else 1), args.keep_artifacts or not report["passed"]

    return run_cleanly(harness, "cluster load test", body)


if __name__ == "__main__":
    sys.exit(main())
