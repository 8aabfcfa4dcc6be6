"""What the run measures with its clients: the pages one at a time, and the alternating rounds
of the two floors and the resident's flow with and without JavaScript.

Throughput:
- a floor's figure is its requests answered 200 divided by the rounds' time;
- an answer step's figure is the steps done divided by the time the clients spent in answer
  steps, per client, added up over the clients: logins, builds and finishes share the machine
  but are not counted against the steps (their time is in the times table). The whole
  flow's answers per second (steps over the rounds' time) is in the JSON report.
"""

import math
import statistics
import threading
import time

from bench.client import Browser, Problems, Tally
from bench.flow import STEP_JS, STEP_NOJS, Resident

FIXED, REALISTIC, NOJS, JS = "fixed floor", "realistic floor", "flow, no JS", "flow, JS"
TARGETS = (FIXED, REALISTIC, NOJS, JS)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]  # nearest rank


def summarize(values: list[tuple]) -> dict:
    """Server time (median, 95th percentile, max) and queries of (server ms, queries, ...)
    samples; for actions also the requests each took."""
    server = [v[0] for v in values if not math.isnan(v[0])]
    if not server:
        return {"samples": 0}
    queries = [v[1] for v in values]
    out = {
        "samples": len(values),
        "median_ms": round(statistics.median(server), 1),
        "p95_ms": round(percentile(server, 95), 1),
        "max_ms": round(max(server), 1),
        "queries": int(statistics.median(queries)),
        "queries_min": min(queries),
        "queries_max": max(queries),
    }
    if len(values[0]) > 2:  # actions: (server ms, queries, requests, wall ms)
        requests = [v[2] for v in values]
        out["requests"] = {str(n): requests.count(n) for n in sorted(set(requests))}
        out["wall_median_ms"] = round(statistics.median(v[3] for v in values), 1)
    return out


def summarize_tally(tally: Tally) -> dict:
    return {
        "requests": {label: summarize(v) for label, v in sorted(tally.requests.items())},
        "actions": {phase: summarize(v) for phase, v in sorted(tally.actions.items())},
    }


def measure_pages(browser: Browser, pages: dict, samples: int, budget_s: float) -> dict:
    """Each page's requests one at a time: up to ``samples`` (at least 5, then until
    ``budget_s`` is spent). ``pages``: name -> function of the request number giving
    (path, cookies). A 5xx stops the page (gunicorn's timeout answers 500 and the next would
    wait as long)."""
    results = {}
    for name, build in pages.items():
        start = time.monotonic()
        for i in range(samples):
            if i >= 5 and time.monotonic() - start > budget_s:
                break
            path, cookies = build(i)
            browser.cookies = dict(cookies)
            response = browser.request("GET", path, label=name)
            if response.status >= 500 or response.status == 0:
                break
        results[name] = summarize(browser.tally.requests.get(name, []))
        print(f"  {name:<24} {results[name]}", flush=True)
    browser.take_tally()
    return results


def one_round(target: str, residents: list[Resident], seconds: float) -> dict:
    """Every resident's browser doing ``target`` for ``seconds`` (an action under way at the
    end is finished)."""
    stop = time.monotonic() + seconds
    answered = [0] * len(residents)
    before = [(r.steps, r.step_seconds) for r in residents]

    def work(n: int, r: Resident) -> None:
        b = r.b
        while time.monotonic() < stop:
            if target == FIXED:
                answered[n] += b.request("GET", "/bench/floor/", label=FIXED).status == 200
            elif target == REALISTIC:
                response = b.request(
                    "POST",
                    "/bench/realistic-floor/",
                    label=REALISTIC,
                    data=[("csrfmiddlewaretoken", b.csrf)],
                )
                answered[n] += response.status == 200
            else:
                r.act(js=target == JS)

    threads = [threading.Thread(target=work, args=(n, r)) for n, r in enumerate(residents)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {
        "seconds": time.monotonic() - start,
        "answered": answered,
        "steps": [r.steps - s for r, (s, _) in zip(residents, before, strict=True)],
        "step_seconds": [r.step_seconds - t for r, (_, t) in zip(residents, before, strict=True)],
    }


def run_rounds(
    residents: list[Resident], *, seconds: float, rounds: int, scope: str, problems: Problems
) -> dict:
    """The four targets in ``rounds`` alternating rounds of ``seconds / rounds`` each; their
    throughput, each step's requests, the errors; and every request's and action's server
    time (the browsers' tallies)."""
    totals: dict[str, dict] = {
        t: {
            "seconds": 0.0,
            "answered": [0] * len(residents),
            "steps": [0] * len(residents),
            "step_seconds": [0.0] * len(residents),
        }
        for t in TARGETS
    }
    for _ in range(rounds):
        for target in TARGETS:
            for r in residents:
                r.b.scope = f"{scope}/{target}"
            done = one_round(target, residents, seconds / rounds)
            total = totals[target]
            total["seconds"] += done["seconds"]
            for key in ("answered", "steps", "step_seconds"):
                total[key] = [a + b for a, b in zip(total[key], done[key], strict=True)]
    tally = Tally()
    for r in residents:
        tally.merge(r.b.take_tally())
    result: dict = {}
    for target in (FIXED, REALISTIC):
        total = totals[target]
        result[target] = {
            "requests": sum(total["answered"]),
            "rps": round(sum(total["answered"]) / total["seconds"], 1),
        }
    for target, phase in ((NOJS, STEP_NOJS), (JS, STEP_JS)):
        total = totals[target]
        steps = sum(total["steps"])
        rate = sum(
            n / t for n, t in zip(total["steps"], total["step_seconds"], strict=True) if t > 0
        )
        requests = [v[2] for v in tally.actions.get(phase, [])]
        result[target] = {
            "steps": steps,
            "steps_per_s": round(rate, 1),
            "whole_flow_answers_per_s": round(steps / total["seconds"], 1),
            "requests_per_step": round(statistics.mean(requests), 2) if requests else None,
            "steps_by_requests": {str(n): requests.count(n) for n in sorted(set(requests))},
        }
    realistic, fixed = result[REALISTIC]["rps"], result[FIXED]["rps"]
    for target in (NOJS, JS):
        rate = result[target]["steps_per_s"]
        result[target]["ratio_to_realistic"] = round(rate / realistic, 2) if realistic else None
        result[target]["ratio_to_fixed"] = round(rate / fixed, 3) if fixed else None
    result["errors"] = {t: problems.count("errors", f"{scope}/{t}") for t in TARGETS}
    result["mismatches"] = {t: problems.count("mismatches", f"{scope}/{t}") for t in TARGETS}
    result["tally"] = tally
    return result
