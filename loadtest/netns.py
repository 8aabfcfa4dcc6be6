"""Network namespaces for loadtest/cluster.py: one per app host, joined to the root namespace
(where HAProxy, the test's Redis and Locust run) by a veth pair on a /30 of its own.

App host n (1-based) lives in the namespace ``loadtest-app<n>``; its end of the pair,
``ltc<n>-app``, has <prefix>.<n>.2/30 and the root end, ``ltc<n>-lb``, <prefix>.<n>.1/30
(the host's *gateway*). Nothing is routed beyond the pair: a host reaches its gateway address
(HAProxy's checks and requests come from there, the test's Redis listens there) and the
machine's PostgreSQL through its unix socket (the filesystem is shared; PostgreSQL's TCP port
on 127.0.0.1 is not reachable from a namespace). No traffic leaves the machine.

Every run holds ``LOCK`` for its whole life and removes what a crashed earlier run left:
namespaces named ``loadtest-app*`` (and the processes still inside them), and the processes
it recorded in ``STATE`` (HAProxy, Redis, Locust in the root namespace, gunicorn masters) if
they are still the same processes (same pid and start time).
"""

import contextlib
import fcntl
import json
import os
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

NS_PREFIX = "loadtest-app"
MAX_HOSTS = 9
STATE_DIR = Path("/tmp/loadtest-cluster")
LOCK = STATE_DIR / "lock"
STATE = STATE_DIR / "pids.json"


class NetnsError(Exception):
    """A namespace could not be set up (the harness, not the site)."""


@dataclass(frozen=True)
class Host:
    number: int  # 1..MAX_HOSTS
    prefix: str  # the first two octets, e.g. "10.231"

    @property
    def name(self) -> str:
        return f"{NS_PREFIX}{self.number}"

    @property
    def gateway(self) -> str:
        return f"{self.prefix}.{self.number}.1"

    @property
    def address(self) -> str:
        return f"{self.prefix}.{self.number}.2"

    @property
    def outer(self) -> str:
        return f"ltc{self.number}-lb"

    @property
    def inner(self) -> str:
        return f"ltc{self.number}-app"

    def exec_prefix(self) -> tuple[str, ...]:
        """Run a command inside the namespace (``ip netns exec`` execs it: same pid)."""
        return ("ip", "netns", "exec", self.name)


def ip(*args: str, check: bool = True) -> str:
    try:
        done = subprocess.run(
            ["ip", *args], capture_output=True, text=True, timeout=20, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise NetnsError(f"ip {' '.join(args)}: {exc}") from exc
    if check and done.returncode:
        raise NetnsError(f"ip {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def namespaces() -> list[str]:
    return [line.split()[0] for line in ip("netns", "list").splitlines() if line.strip()]


def take_lock() -> int:
    """The run's lock (released when the process ends, crash included); NetnsError if
    another cluster run holds it."""
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    fd = os.open(LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as exc:
        os.close(fd)
        raise NetnsError(f"another cluster load test holds {LOCK}") from exc
    return fd


def _started(pid: int) -> str | None:
    """The process's start time (clock ticks after boot): with the pid, it names one
    process, whatever it exec'd since."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat[stat.rfind(")") + 2 :].split()[19]


def record(pid: int) -> None:
    """Remember a process of this run for a later run's cleanup."""
    state = _read_state()
    state[str(pid)] = _started(pid)
    STATE.write_text(json.dumps(state))


def forget_all() -> None:
    STATE.unlink(missing_ok=True)


def _read_state() -> dict:
    try:
        return json.loads(STATE.read_text())
    except (OSError, ValueError):
        return {}


def remove_stale() -> list[str]:
    """Kill what a crashed earlier run left and delete its namespaces; what was removed."""
    removed = []
    for pid, started in _read_state().items():
        if started is not None and _started(int(pid)) == started:
            with contextlib.suppress(OSError):
                os.killpg(int(pid), signal.SIGKILL)  # each was started in a session of its own
                removed.append(f"process group {pid}")
    forget_all()
    for name in namespaces():
        if not name.startswith(NS_PREFIX):
            continue
        for pid in ip("netns", "pids", name, check=False).split():
            with contextlib.suppress(OSError):
                os.kill(int(pid), signal.SIGKILL)
                removed.append(f"process {pid} in {name}")
        ip("netns", "del", name, check=False)
        removed.append(f"namespace {name}")
    for number in range(1, MAX_HOSTS + 1):
        link = Host(number, "0.0").outer
        if ip("link", "show", link, check=False):
            ip("link", "del", link, check=False)
            removed.append(f"link {link}")
    return removed


def range_in_use(prefix: str) -> list[str]:
    """Addresses or routes of the machine inside <prefix>.0.0/16 (there must be none)."""
    found = [
        line.split()[3]
        for line in ip("-4", "-o", "addr", "show").splitlines()
        if f" {prefix}." in line
    ]
    found += ip("-4", "route", "show", "root", f"{prefix}.0.0/16").splitlines()
    return found


def create(host: Host) -> None:
    ip("netns", "add", host.name)
    ip("link", "add", host.outer, "type", "veth", "peer", "name", host.inner, "netns", host.name)
    ip("addr", "add", f"{host.gateway}/30", "dev", host.outer)
    ip("link", "set", host.outer, "up")
    ip("-n", host.name, "addr", "add", f"{host.address}/30", "dev", host.inner)
    ip("-n", host.name, "link", "set", host.inner, "up")
    ip("-n", host.name, "link", "set", "lo", "up")


def delete(host: Host) -> None:
    """Remove the namespace (its end of the pair, hence the pair, goes with it)."""
    ip("netns", "del", host.name, check=False)
    ip("link", "del", host.outer, check=False)
