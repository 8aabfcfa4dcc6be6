"""Running the same action in several threads at once (PostgreSQL row-lock tests)."""

import threading

from django.db import connections


def outcomes_together(count, action):
    """Run ``action(i)`` in ``count`` threads released at the same moment; return, by
    thread, what each returned or the exception it raised."""
    barrier = threading.Barrier(count)
    outcomes = [None] * count

    def worker(i):
        try:
            barrier.wait()
            outcomes[i] = action(i)
        except Exception as exc:  # collected for the assertions
            outcomes[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def run_together(count, action):
    """As ``outcomes_together``, keeping only the exceptions raised (None where none was)."""
    return [
        outcome if isinstance(outcome, Exception) else None
        for outcome in outcomes_together(count, action)
    ]
