"""``Server-Timing`` for the benchmark: the request's time in Django and its queries.

    Server-Timing: app;dur=12.34, db;dur=3.21;desc="7 queries"

The queries are counted through ``connection.execute_wrapper``, which sees every query the
request sends through Django whatever DEBUG says (``connection.queries`` only records them
with DEBUG on, and formatting them would cost time of its own). Only in bench/settings.py.
"""

import time

from django.db import connection


class _Counter:
    def __init__(self):
        self.queries = 0
        self.seconds = 0.0

    def __call__(self, execute, sql, params, many, context):
        self.queries += 1
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - start


def server_timing(get_response):
    def middleware(request):
        counter = _Counter()
        start = time.perf_counter()
        with connection.execute_wrapper(counter):
            response = get_response(request)
        elapsed = time.perf_counter() - start
        response["Server-Timing"] = (
            f"app;dur={1000 * elapsed:.2f}, "
            f'db;dur={1000 * counter.seconds:.2f};desc="{counter.queries} queries"'
        )
        return response

    return middleware
