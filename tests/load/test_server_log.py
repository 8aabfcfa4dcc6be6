"""loadtest/run.py's reading of a gunicorn log: each 500 counted once, in the site's own log
format (quizsite/settings.py), with the last exception of its chain."""

from loadtest.run import summarize_server_log

LOG = """\
10.231.1.1 - - [04/Dec/2026:06:17:32 +0000] "GET /dashboard/ HTTP/1.1" 200 5120 "-" "l" 31ms
2026-12-04 06:17:32,154 ERROR [1fec1abe86304] django.request: Internal Server Error: /quizzes/new/
Traceback (most recent call last):
  File "/x/django/core/handlers/exception.py", line 55, in inner
    response = get_response(request)
psycopg.OperationalError: consuming input failed: server closed the connection unexpectedly
2026-12-04 06:17:33,001 WARNING [7] questions.middleware: Database connection lost; running GET /
"""


def test_a_500_in_the_sites_log_format_is_counted_once_with_its_exception():
    summary = summarize_server_log(LOG)
    assert summary["request_errors"] == {"Internal Server Error: /quizzes/new/": 1}
    assert summary["exceptions"] == {
        "psycopg.OperationalError: consuming input failed: server closed the connection "
        "unexpectedly": 1
    }
    assert summary["run_again_on_a_new_connection"] == 1
