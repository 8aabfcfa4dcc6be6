"""The cluster run's verdict and its printed report (loadtest/cluster.py builds the data).

How the report counts (the load balancer's log decides who answered: loadtest/lblog.py):

- *5xx* are responses an app host sent with a 5xx status. A 503 carrying Retry-After is the
  site's answer while its database connection is gone (questions.middleware); it is counted
  apart and allowed only in the fault window after the connections were dropped.
- *No answer* is a request no app host answered: HAProxy answered 502/503/504 itself, or
  (for a request on a reused keep-alive connection) closed the client's connection without a
  response, which only the client's journal shows. Only a non-GET a killed host was serving
  is expected (HAProxy cannot know what the host did with it, so it does not send it again;
  the client sends it again, and the site must give the same result: that is what the answer
  and start-token checks verify). HAProxy sends a host no more requests at once than it has
  workers, the rest wait in HAProxy's queue, so they are about that many (a few more when the
  queue hands the dying host requests before HAProxy has noticed: lblog.dying).
"""

from loadtest import lblog
from loadtest.run import verification_problems

FAULTS = ["host_kill", "host_back", "redis_stop", "redis_start", "db_drop", "lb_reload"]


def assemble(h, *, setup_s: float, prepare: dict, locust_code: int, recovery: dict) -> dict:
    """The report of a finished run of ``h`` (a loadtest.cluster.ClusterHarness)."""
    a = h.args
    events = h.read_journals()
    requests = lblog.parse((h.out / "haproxy.log").read_text(errors="replace"))
    kill = next((f for f in h.faults if f["kind"] == "host_kill"), None)
    return {
        "passed": None,
        "problems": [],
        "config": {
            "users": a.users,
            "spawn_rate": a.spawn_rate,
            "duration_s": a.duration,
            "faults": a.faults,
            "fault_window_s": a.fault_window,
            "hosts": a.hosts,
            "workers": a.workers,
            "database": a.db,
            "database_url": h.env["DATABASE_URL"],
            "redis_url": h.env["REDIS_URL"],
            "load_balancer": h.host,
            "app_hosts": [f"{x.name} {x.address}" for x in h.hosts],
            "form_logins": a.form_logins,
            "questions_per_quiz": a.questions,
            "conn_max_age": a.conn_max_age,
            "rate_limits": a.rate_limits,
        },
        "timing": {
            "setup_s": setup_s,
            "prepare": prepare,
            "run_s": round(h.t_end - h.t_start, 1),
        },
        "requests": h.locust_stats(),
        "answers": h.verify_answers(events),
        "client_errors": h.server_errors(events),
        "client_no_response": lblog.client_no_responses(
            events, h.faults, a.fault_window, h.t_start
        ),
        "load_balancer": lblog.classify(requests, h.faults, a.fault_window, h.t_start),
        "phases": lblog.phases(requests, h.faults, a.fault_window, h.t_start),
        "sessions": {
            "login_redirects": lblog.login_redirects(requests),
            "across_host_kill": lblog.sessions_across_kill(requests, kill, window=a.fault_window)
            if kill
            else None,
        },
        "faults": [{**f, "offset_s": round(f["t"] - h.t_start, 2)} for f in h.faults],
        "recovery": recovery,
        "gunicorn_logs": h.gunicorn_log(),
        "stale_removed": h.stale,
        "locust_exit_code": locust_code,
        "artifacts": str(h.out),
    }


def fault_problems(faults: list[dict]) -> list[str]:
    problems = []
    kinds = [f["kind"] for f in faults]
    if kinds != FAULTS:
        problems.append(f"the faults were {kinds}, not {FAULTS} (did Locust stop early?)")
    for f in faults:
        kind = f["kind"]
        if "error" in f:
            problems.append(f"{kind} failed: {f['error']}")
        elif kind == "host_kill" and f.get("out_of_pool_s") is None:
            problems.append(f"HAProxy never marked the killed host {f['host']} DOWN")
        elif kind == "host_back" and f.get("in_pool_after_s") is None:
            problems.append(f"{f['host']} did not come back into the pool")
        elif kind == "redis_stop":
            health = f.get("healthz_while_away", {})
            if health.get("http_status") != 200 or health.get("status") != "degraded":
                problems.append(f"/healthz/ with Redis away said {health}, not 200 'degraded'")
        elif kind == "redis_start":
            out = {h: s for h, s in f.get("pool_before_restart", {}).items() if s != "UP"}
            if out or not f.get("pool_before_restart"):
                problems.append(f"with Redis away HAProxy took hosts out of the pool: {out}")
            if f.get("healthz_ok_after_s") is None:
                problems.append("/healthz/ did not say Redis was ok again after its restart")
        elif kind == "lb_reload" and f.get("new_worker_after_s") is None:
            problems.append("the reload started no new HAProxy worker")
    return problems


def problems(r: dict) -> list[str]:
    lb, silent, sessions = r["load_balancer"], r["client_no_response"], r["sessions"]
    found = []
    if r["locust_exit_code"] != 0:
        found.append(f"locust exited with {r['locust_exit_code']} (see locust.log)")
    found += verification_problems(r["answers"])
    if lb["app_5xx"]:
        found.append(
            f"{lb['app_5xx']} 5xx sent by the app hosts (load_balancer.app_5xx_details; "
            "the request id is in the hosts' gunicorn logs)"
        )
    if lb["retry_after_503_outside_db_drop"]:
        n = lb["retry_after_503_outside_db_drop"]
        found.append(f"{n} 503s with Retry-After outside the database fault")
    if lb["no_answer_unexpected"]:
        n = lb["no_answer_unexpected"]
        found.append(f"{n} requests no host answered that were not a killed host's POSTs")
    if silent["unexpected"]:
        n = silent["unexpected"]
        found.append(f"{n} requests got no response at all, not a killed host's POSTs")
    if lb["by_status"].get("429"):
        found.append(
            f"{lb['by_status']['429']} requests refused with 429 (the rate limits; every "
            "resident comes from one address here: --no-rate-limits to run without them)"
        )
    if sessions["login_redirects"]:
        found.append(f"{sessions['login_redirects']} logged-in requests sent to the login page")
    across = sessions["across_host_kill"]
    if across is not None and (across["did_not"] or not across["residents_on_the_host"]):
        found.append(f"residents of the killed host did not all carry on elsewhere: {across}")
    if r["config"]["faults"]:
        found += fault_problems(r["faults"])
    if not r["recovery"]["recovered"]:
        found.append(f"the site did not recover: {r['recovery']}")
    return found


def print_report(r: dict) -> None:
    c, q, ans, lb = r["config"], r["requests"], r["answers"], r["load_balancer"]
    print("\n=== cluster load test report ===")
    print(
        f"{c['users']} users, {c['hosts']} hosts x {c['workers']} gunicorn workers behind "
        f"HAProxy, duration {c['duration_s']:g} s (ran {r['timing']['run_s']} s), "
        f"faults {'on' if c['faults'] else 'off'}, rate limits "
        f"{'on' if c['rate_limits'] else 'OFF'}"
    )
    print(f"setup {r['timing']['setup_s']} s {r['timing']['prepare']}")
    if r["stale_removed"]:
        print(f"removed from an earlier run: {r['stale_removed']}")
    print(
        f"requests {q.get('requests')}, {q.get('rps')} req/s, median {q.get('median_ms')} ms, "
        f"p95 {q.get('p95_ms')} ms, max {q.get('max_ms')} ms (Locust)"
    )
    print(f"responses by status (HAProxy): {lb['by_status']}")
    print(
        f"5xx from the hosts {lb['app_5xx']}; 503 with Retry-After {lb['retry_after_503']} "
        f"(outside the database fault {lb['retry_after_503_outside_db_drop']}); no host "
        f"answered: expected {lb['no_answer_expected']}, UNEXPECTED "
        f"{lb['no_answer_unexpected']}; no response at all (clients): expected "
        f"{r['client_no_response']['expected']}, UNEXPECTED "
        f"{r['client_no_response']['unexpected']}; resent by HAProxy "
        f"{lb['retried_by_the_load_balancer']}; client aborts {lb['client_aborted']}"
    )
    print(
        f"quizzes started {ans['quizzes_started']}, finished {ans['quizzes_finished']}; "
        f"start tokens mapping to exactly the client's attempt {ans['quiz_starts_verified']}, "
        f"MISMATCHED {ans['quiz_start_mismatches']}"
    )
    print(
        f"answers: posts {ans['answer_posts']}, acknowledged {ans['acknowledged']} (on retry "
        f"{ans['acknowledged_on_retry']}), positions verified {ans['positions_verified']}, "
        f"LOST {ans['lost']}, duplicated (start tokens) {ans['quiz_start_mismatches']}, "
        f"unacknowledged write applied {ans['unacknowledged_write_applied']}, gave up "
        f"{ans['gave_up_after_retries']}, refused {ans['refused']}, rejected {ans['rejected']}"
    )
    s = r["sessions"]
    print(f"sessions: sent to the login page {s['login_redirects']}; {s['across_host_kill']}")
    for f in r["faults"]:
        detail = {k: v for k, v in f.items() if k not in ("kind", "t", "at", "offset_s")}
        print(f"fault {f['kind']} at +{f['offset_s']} s {detail}")
    for p in r["phases"]:
        print(
            f"  during {p['fault']} (+{p['from_s']}..+{p['to_s']} s): {p['requests']} requests, "
            f"median {p['median_ms']} ms, p95 {p['p95_ms']} ms, resent "
            f"{p['retried_by_the_load_balancer']}, 5xx {p['5xx_from_a_host']}, no host "
            f"answered {p['no_host_answered']}, by host {p['by_server']}"
        )
    print(f"recovered: {r['recovery']['recovered']} {r['recovery']}")
    for host, log in r["gunicorn_logs"].items():
        bad = {k: v for k, v in log.items() if v}
        if bad:
            print(f"{host} log: {bad}")
    print("PASSED" if r["passed"] else "FAILED: " + "; ".join(r["problems"]))
