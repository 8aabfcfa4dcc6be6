"""Running the same action in several threads at once (PostgreSQL row-lock tests)."""

import threading

from django.db import connections


def run_together(count, action):
    """Run ``action(i)`` in ``count`` threads released at the same moment; return the
    exceptions raised, by thread."""
    barrier = threading.Barrier(count)
    errors = [None] * count

    def worker(i):
        try:
            barrier.wait()
            action(i)
        except Exception as exc:  # collected for the assertions
            errors[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors
