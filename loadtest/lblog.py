"""The load balancer's request log (loadtest/haproxy.cfg's ``log-format``), read after a
cluster run: who answered each request, what each fault did, and whether sessions outlived
the host that died.

One line a request, written when it ends::

    req <accepted, epoch s.ms> <id> <HAProxy worker pid> <server> <status>
        <termination state> <method> <path> <Th> <Ti> <Ta> <Tw> <Tc> <Tr> <retries>
        <session cookie> <Retry-After> <Location>

Times in milliseconds. On a keep-alive connection "accepted" is when the previous request
ended: the request itself began ``Th + Ti`` later and lasted ``Ta`` (HAProxy's timers).
``Tr`` (the host's response time) is -1 when no host sent a response,
so the status, if any, is HAProxy's own (502, 503, 504). The termination state's first
letter is "C" or "c" when the client went away first (Locust stopping). ``retries`` has a
"+" when the request went to another host. Missing captures are "-".

A request's outcome, as the report counts it:

- ``answered``: a host sent the response (any status).
- ``app_5xx``: a host answered 5xx, except a 503 with Retry-After (the site's answer while
  its database connection is gone: questions.middleware), counted as ``retry_after_503``.
- ``no_answer``: no host answered. *Expected* only for a request a host had when it was
  killed (``server`` is that host; it ended before HAProxy took the host out of the pool, plus
  a second: ``dying``) and that HAProxy may not send again because it is not a GET or HEAD;
  its client got a 502 and retries. Those are the requests its workers were serving, and the
  few HAProxy handed it from its queue in the instant it was dying (the kernel still
  accepted the connection; no worker read the request). Any other no-answer is
  *unexpected*: a GET on the killed host should have been retried on another, and no other
  fault should leave a request unanswered.
- ``client_aborted``: the client closed first (Locust stopping mid-request).

One kind of no-answer is not in this log: when a host dies under a request that came on a
reused keep-alive connection, HAProxy closes the client's connection without a response and
without a log line (so that a browser sends the request again, as after any keep-alive
close). Only the client's journal sees it (``client_no_responses``); it is expected under the
same conditions as a 502 for a killed host's request.
"""

import statistics
from collections import Counter
from dataclasses import dataclass
from urllib.parse import urlsplit

LOGIN_PATH = "/accounts/login/"
SAFE_METHODS = ("GET", "HEAD")


@dataclass(frozen=True)
class Request:
    t: float  # the request's first byte, epoch seconds
    id: str
    worker: int  # HAProxy's worker process (a reload starts a new one)
    server: str
    status: int
    state: str
    method: str
    path: str
    total_ms: int
    queue_ms: int
    connect_ms: int
    response_ms: int
    retries: str
    session: str
    retry_after: str
    location: str

    @property
    def t_end(self) -> float:
        return self.t + max(self.total_ms, 0) / 1000

    @property
    def answered(self) -> bool:
        return self.response_ms >= 0

    @property
    def client_aborted(self) -> bool:
        return self.state[:1] in ("C", "c")

    @property
    def retried(self) -> bool:
        return self.retries not in ("0", "-")

    @property
    def to_login(self) -> bool:
        return urlsplit(self.location).path.startswith(LOGIN_PATH)


def parse(text: str) -> list[Request]:
    """The request lines of the log (other lines, e.g. a host going DOWN, are skipped)."""
    requests = []
    for line in text.splitlines():
        fields = line.split(" ", 18)
        if len(fields) != 19 or fields[0] != "req":
            continue
        try:
            requests.append(
                Request(
                    t=float(fields[1]) + (max(int(fields[9]), 0) + max(int(fields[10]), 0)) / 1000,
                    id=fields[2],
                    worker=int(fields[3]),
                    server=fields[4],
                    status=int(fields[5]),
                    state=fields[6],
                    method=fields[7],
                    path=fields[8],
                    total_ms=int(fields[11]),
                    queue_ms=int(fields[12]),
                    connect_ms=int(fields[13]),
                    response_ms=int(fields[14]),
                    retries=fields[15],
                    session=fields[16],
                    retry_after=fields[17],
                    location=fields[18].strip(),
                )
            )
        except ValueError:
            continue
    return requests


def dying(fault: dict, window: float) -> float:
    """Seconds after a host was killed during which its requests may go unanswered: until
    HAProxy took it out of the pool (``out_of_pool_s``, measured), and one second more; the
    whole ``window`` if that was not measured."""
    out = fault.get("out_of_pool_s")
    return window if out is None else min(window, out + 1.0)


def _killed_under(t: float, faults: list[dict], window: float) -> dict | None:
    for f in faults:
        if f["kind"] == "host_kill" and f["t"] <= t <= f["t"] + dying(f, window):
            return f
    return None


def _fault_of(r: Request, faults: list[dict], window: float, kinds: tuple) -> dict | None:
    for f in faults:
        if f["kind"] in kinds and f["t"] <= r.t_end <= f["t"] + window:
            return f
    return None


def _detail(r: Request, t0: float) -> dict:
    return {
        "offset_s": round(r.t - t0, 2),
        "id": r.id,
        "server": r.server,
        "status": r.status,
        "state": r.state,
        "request": f"{r.method} {r.path}",
        "retries": r.retries,
    }


def latency(requests: list[Request]) -> dict:
    """Count, median and 95th percentile of the total time (ms) of answered requests."""
    times = sorted(r.total_ms for r in requests if r.answered and r.total_ms >= 0)
    if not times:
        return {"requests": len(requests), "median_ms": None, "p95_ms": None}
    p95 = times[min(len(times) - 1, int(0.95 * len(times)))]
    return {"requests": len(requests), "median_ms": statistics.median(times), "p95_ms": p95}


def classify(requests: list[Request], faults: list[dict], window: float, t0: float) -> dict:
    """The outcome counts of the module docstring, with the details of what must not happen."""
    counts: Counter = Counter()
    statuses: Counter = Counter()
    unexpected, app_errors, late_503 = [], [], []
    for r in requests:
        statuses[str(r.status)] += 1
        if r.retried:
            counts["retried_by_the_load_balancer"] += 1
        if r.client_aborted:
            counts["client_aborted"] += 1
        elif r.answered:
            counts["answered"] += 1
            if r.status == 503 and r.retry_after != "-":
                counts["retry_after_503"] += 1
                if not _fault_of(r, faults, window, ("db_drop",)):
                    late_503.append(_detail(r, t0))
            elif r.status >= 500:
                counts["app_5xx"] += 1
                app_errors.append(_detail(r, t0))
        else:
            kill = _killed_under(r.t_end, faults, window)
            if kill and r.server == kill["host"] and r.method not in SAFE_METHODS:
                counts["no_answer_expected"] += 1
            else:
                counts["no_answer_unexpected"] += 1
                unexpected.append(_detail(r, t0))
    return {
        "requests": len(requests),
        "by_status": dict(statuses.most_common()),
        "answered": counts["answered"],
        "app_5xx": counts["app_5xx"],
        "app_5xx_details": app_errors[:30],
        "retry_after_503": counts["retry_after_503"],
        "retry_after_503_outside_db_drop": len(late_503),
        "retry_after_503_outside_details": late_503[:30],
        "no_answer_expected": counts["no_answer_expected"],
        "no_answer_unexpected": counts["no_answer_unexpected"],
        "no_answer_unexpected_details": unexpected[:30],
        "client_aborted": counts["client_aborted"],
        "retried_by_the_load_balancer": counts["retried_by_the_load_balancer"],
        "latency": latency([r for r in requests if not r.client_aborted]),
    }


def client_no_responses(events: list[dict], faults: list[dict], window: float, t0: float) -> dict:
    """The requests whose client got no response at all (Locust's journal, status 0): expected
    only for a non-GET while a killed host was dying (``dying``)."""
    expected, unexpected = 0, []
    for e in events:
        if e["ev"] != "server_error" or e["status"] != 0:
            continue
        if _killed_under(e["t"], faults, window) and e["method"] not in SAFE_METHODS:
            expected += 1
        else:
            unexpected.append(
                {"offset_s": round(e["t"] - t0, 2), "request": f"{e['method']} {e['name']}",
                 "error": e["error"]}
            )  # fmt: skip
    return {
        "expected": expected,
        "unexpected": len(unexpected),
        "unexpected_details": unexpected[:30],
    }


def phases(requests: list[Request], faults: list[dict], window: float, t0: float) -> list[dict]:
    """What each fault did: the requests that ended while it lasted (a host or Redis away:
    from the fault to its repair; otherwise ``window`` seconds), their latency, retries,
    5xx and requests no host answered."""
    ends = {"host_kill": "host_back", "redis_stop": "redis_start"}
    result = []
    for i, f in enumerate(faults):
        if f["kind"] in ends.values():
            continue
        repair = next((g for g in faults[i + 1 :] if g["kind"] == ends.get(f["kind"])), None)
        until = (repair["t"] if repair else f["t"]) + window
        inside = [r for r in requests if f["t"] <= r.t_end <= until and not r.client_aborted]
        result.append(
            {
                "fault": f["kind"],
                "from_s": round(f["t"] - t0, 1),
                "to_s": round(until - t0, 1),
                **latency(inside),
                "retried_by_the_load_balancer": sum(1 for r in inside if r.retried),
                "5xx_from_a_host": sum(1 for r in inside if r.answered and r.status >= 500),
                "no_host_answered": sum(1 for r in inside if not r.answered),
                "by_server": dict(Counter(r.server for r in inside).most_common()),
            }
        )
    return result


def sessions_across_kill(
    requests: list[Request], kill: dict, lookback: float = 15.0, window: float = 5.0
) -> dict:
    """Did the residents who were using the killed host carry on elsewhere, logged in?

    Those residents are the session cookies of requests the host served (or was serving) in
    the ``lookback`` seconds before the kill. Each must get an answer from another host
    afterwards that is not a redirect to the login page."""
    host, t = kill["host"], kill["t"]
    residents = {
        r.session
        for r in requests
        if r.server == host and t - lookback <= r.t <= t + window and r.session != "-"
    }
    carried_on = {
        r.session
        for r in requests
        if r.session in residents
        and r.t > t
        and r.server != host
        and r.answered
        and r.status < 400
        and not r.to_login
    }
    return {
        "host": host,
        "residents_on_the_host": len(residents),
        "carried_on_elsewhere": len(carried_on),
        "did_not": len(residents - carried_on),
    }


def login_redirects(requests: list[Request]) -> int:
    """Requests that carried a session and were sent to the login page: a session lost."""
    return sum(1 for r in requests if r.session != "-" and r.answered and r.to_login)
