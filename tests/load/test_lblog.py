"""loadtest/lblog.py: how the cluster run reads HAProxy's request log and which requests
without an answer it excuses (only a killed host's non-GETs, in the fault window)."""

import pytest

from loadtest import lblog

KILL = {"kind": "host_kill", "t": 1000.0, "host": "app3", "out_of_pool_s": 0.1}
DROP = {"kind": "db_drop", "t": 2000.0}
T0 = 900.0


def line(
    t=1000.5, server="app1", status=200, state="----", method="GET", path="/dashboard/",
    th=0, ti=0, ta=12, tr=10, retries="0", session="abc", retry_after="-", location="-",
):  # fmt: skip
    return (
        f"req {t:.3f} 5b1c-{t} 4242 {server} {status} {state} {method} {path} {th} {ti} {ta} "
        f"0 0 {tr} {retries} {session} {retry_after} {location}"
    )


def classify(*lines):
    return lblog.classify(lblog.parse("\n".join(lines)), [KILL, DROP], window=5, t0=T0)


def test_parse_reads_request_lines_and_starts_a_keep_alive_request_after_its_idle_time():
    text = "\n".join(
        [
            "Server app/app3 is DOWN, reason: Layer4 connection problem",
            line(t=1000.0, th=2, ti=1500, location="/quizzes/4/questions/2/"),
            "req truncated",
        ]
    )
    (request,) = lblog.parse(text)
    assert request.t == pytest.approx(1001.502)
    assert request.t_end == pytest.approx(1001.514)
    assert (request.server, request.status, request.method) == ("app1", 200, "GET")
    assert request.location == "/quizzes/4/questions/2/"
    assert request.worker == 4242 and request.answered and not request.retried


def test_a_killed_hosts_post_without_answer_is_expected():
    counts = classify(line(server="app3", status=502, state="SH--", method="POST", tr=-1))
    assert counts["no_answer_expected"] == 1
    assert counts["no_answer_unexpected"] == 0


@pytest.mark.parametrize(
    "request_line",
    [
        # A GET is HAProxy's to send again: it must not reach the client as a 502.
        line(server="app3", status=502, state="SH--", method="GET", tr=-1),
        # Another host than the one killed.
        line(server="app1", status=502, state="SH--", method="POST", tr=-1),
        # The killed host, but after HAProxy had taken it out of the pool (0.1 s) and a second.
        line(t=1002.0, server="app3", status=502, state="SH--", method="POST", tr=-1),
        line(t=1030.0, server="app3", status=503, state="SC--", method="POST", tr=-1),
        # No host at all.
        line(server="<NOSRV>", status=503, state="sQ--", method="POST", tr=-1),
    ],
)
def test_any_other_request_without_answer_is_unexpected(request_line):
    counts = classify(request_line)
    assert counts["no_answer_unexpected"] == 1
    assert counts["no_answer_unexpected_details"][0]["status"] in (502, 503)


def test_a_5xx_the_app_sent_counts_as_a_5xx_and_a_retry_after_503_only_after_the_db_drop():
    counts = classify(
        line(status=500),
        line(t=2001.0, status=503, retry_after="1"),
        line(t=1500.0, status=503, retry_after="1"),
    )
    assert counts["app_5xx"] == 1
    assert counts["retry_after_503"] == 2
    assert counts["retry_after_503_outside_db_drop"] == 1


def test_a_client_that_went_away_is_counted_apart():
    counts = classify(line(status=-1, state="CD--", tr=-1))
    assert counts["client_aborted"] == 1
    assert counts["no_answer_unexpected"] == 0


def test_residents_of_the_killed_host_carry_on_elsewhere_unless_sent_to_the_login_page():
    requests = lblog.parse(
        "\n".join(
            [
                line(t=995.0, server="app3", session="kept"),
                line(t=996.0, server="app3", session="lost"),
                line(t=1003.0, server="app1", session="kept"),
                line(
                    t=1004.0,
                    server="app2",
                    session="lost",
                    status=302,
                    location="/accounts/login/?next=/quizzes/new/",
                ),  # fmt: skip
            ]
        )
    )
    across = lblog.sessions_across_kill(requests, KILL)
    assert across == {
        "host": "app3",
        "residents_on_the_host": 2,
        "carried_on_elsewhere": 1,
        "did_not": 1,
    }
    assert lblog.login_redirects(requests) == 1


def test_a_client_left_without_response_is_expected_only_for_a_post_at_the_kill():
    def event(t, method):
        name = "/quizzes/[id]/questions/[n]/answer/"
        return {"ev": "server_error", "status": 0, "t": t, "method": method, "name": name,
                "error": "RemoteDisconnected"}  # fmt: skip

    events = [event(1000.1, "POST"), event(1000.2, "GET"), event(1002.0, "POST")]
    events.append({"ev": "server_error", "status": 502, "t": 1000.1, "method": "POST"})
    counts = lblog.client_no_responses(events, [KILL, DROP], window=5, t0=T0)
    assert counts["expected"] == 1
    assert counts["unexpected"] == 2
