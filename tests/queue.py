"""Running the task queue's jobs in the test process: the database backend's own worker
(django-tasks-db's ``Worker.run_task``) on each job that is ready, as ``manage.py
db_worker --batch`` would, but inside the test's transaction (the worker's loop closes
the connection between jobs, which would end it)."""

from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

WORKER = Worker(
    queue_names=["default"],
    interval=0,
    batch=True,
    backend_name="default",
    startup_delay=False,
    max_tasks=None,
    worker_id="test-worker",
    excluded_queue_names=[],
)


def run_queued(limit: int = 100) -> list[DBTaskResult]:
    """Run every job that is ready (its run_after passed), those they enqueue included,
    oldest first. Returns the jobs run, refreshed (status, return value)."""
    ran = []
    for _ in range(limit):
        job = DBTaskResult.objects.ready().filter(backend_name="default").first()
        if job is None:
            break
        job.claim(WORKER.worker_id)
        WORKER.run_task(job)
        job.refresh_from_db()
        ran.append(job)
    return ran


def queued(task) -> list[DBTaskResult]:
    """The jobs of ``task`` (a django-tasks Task) waiting to run, ready or deferred."""
    return list(DBTaskResult.objects.filter(task_path=task.module_path, status="READY"))
