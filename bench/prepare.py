"""Prepare the benchmark's database (PostgreSQL or SQLite): migrate, load the bank, generate
the history (unless the database has it already), then the accounts the client uses:

- a logged-in session each for some generated residents (their dashboards and results) and
  for the educator of the first cohort (the cohort's pages, the item analysis);
- for each concurrent client, and one more for the double submits, a resident who logs in
  through the login form, with a password (generated residents have unusable ones). One hash
  at production strength is shared by them all.

Run by bench/run.py as ``python -m bench.prepare`` with the server's environment, so the
sessions written here are the server's (stored as django.contrib.auth.login would store them,
as loadtest/prepare.py does). Writes the accounts and the data's size to ``--accounts-file``
as JSON.
"""

import argparse
import json
import os
import secrets
import time
from importlib import import_module
from pathlib import Path

import django

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"
DASHBOARD_RESIDENTS = 5  # the resident dashboard and results pages cycle through these
RESULTS_PER_RESIDENT = 3


def session_for(user) -> str:
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

    backends = settings.AUTHENTICATION_BACKENDS
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = user._meta.pk.value_to_string(user)
    store[BACKEND_SESSION_KEY] = MODEL_BACKEND if MODEL_BACKEND in backends else backends[-1]
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.save()
    return store.session_key


def generate(args) -> dict:
    """Migrate; load the bank and generate the history unless the prefix's data is there."""
    from django.core.management import call_command

    from loadtest.prepare import collect_static
    from questions.devtools.history import prefix_in_use

    steps = {}
    start = time.monotonic()
    collect_static()
    call_command("migrate", interactive=False, verbosity=0)
    steps["migrate_s"] = round(time.monotonic() - start, 1)
    if prefix_in_use(args.prefix):
        steps["generated"] = False  # --reuse-db: the database has the data already
        return steps
    start = time.monotonic()
    call_command("load_bank", verbosity=0)
    call_command(
        "generate_history",
        residents=args.residents,
        cohorts=args.cohorts,
        attempts=args.attempts,
        questions=args.questions,
        prefix=args.prefix,
        seed=args.seed,
        force=True,
        verbosity=1,
    )
    steps["generated"] = True
    steps["generate_s"] = round(time.monotonic() - start, 1)
    return steps


def database_info(connection) -> dict:
    """The server's version and the database's size."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SHOW server_version")
            version = cursor.fetchone()[0]
            cursor.execute("SELECT pg_database_size(current_database())")
            size = cursor.fetchone()[0]
        else:
            cursor.execute("SELECT sqlite_version()")
            version = cursor.fetchone()[0]
            name = connection.settings_dict["NAME"]
            size = sum(
                os.path.getsize(f"{name}{suffix}")
                for suffix in ("", "-wal")
                if os.path.exists(f"{name}{suffix}")
            )
    return {"engine": connection.vendor, "version": version, "database_mb": round(size / 2**20)}


def accounts(args) -> dict:
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.db import connection

    from questions.models import Attempt, AttemptItem, Cohort, Question

    User = get_user_model()
    cohort = Cohort.objects.filter(name__startswith=args.prefix).order_by("name").first()
    educator = cohort.educators.order_by("username").first()
    members = list(cohort.residents.order_by("username"))
    dashboard_residents = members[:DASHBOARD_RESIDENTS]
    quiz_size = min(40, Question.objects.published().count())
    residents_with_sessions = [
        {"username": u.username, "sessionid": session_for(u)} for u in dashboard_residents
    ]
    results = [
        {"sessionid": resident["sessionid"], "attempt": pk}
        for user, resident in zip(dashboard_residents, residents_with_sessions, strict=True)
        for pk in Attempt.objects.filter(
            user=user, status=Attempt.Status.FINISHED, question_count=quiz_size
        )
        .order_by("-started_at")
        .values_list("pk", flat=True)[:RESULTS_PER_RESIDENT]
    ]
    # One resident per concurrent client and one for the double submits, each logging in
    # through the form. A previous run's quizzes (--reuse-db) are deleted first.
    takers = list(
        User.objects.filter(username__startswith=f"{args.prefix}resident-").order_by("-username")[
            : args.clients + 1
        ]
    )
    Attempt.objects.filter(user__in=takers, status=Attempt.Status.IN_PROGRESS).delete()
    password = secrets.token_urlsafe(18)
    User.objects.filter(pk__in=[u.pk for u in takers]).update(password=make_password(password))
    # Each with a session too, for the clients that do not log in through the form (--short).
    flow_accounts = [
        {"username": u.username, "password": password, "sessionid": session_for(u)} for u in takers
    ]
    residents = User.objects.filter(username__startswith=f"{args.prefix}resident-")
    database = database_info(connection)
    return {
        "session_cookie_name": settings.SESSION_COOKIE_NAME,
        "csrf_cookie_name": settings.CSRF_COOKIE_NAME,
        "educator": {"username": educator.username, "sessionid": session_for(educator)},
        "cohort": {"pk": cohort.pk, "name": cohort.name, "residents": len(members)},
        "residents": residents_with_sessions,
        "results": results,
        "clients": flow_accounts[:-1],
        "double_submitter": flow_accounts[-1],
        "data": {
            "residents": residents.count(),
            "cohorts": Cohort.objects.filter(name__startswith=args.prefix).count(),
            "attempts": Attempt.objects.filter(user__in=residents).count(),
            "answers": AttemptItem.objects.filter(attempt__user__in=residents).count(),
            "questions_per_quiz": quiz_size,
            "published_questions": Question.objects.published().count(),
            **database,
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    for name in ("residents", "cohorts", "attempts", "questions", "seed", "clients"):
        parser.add_argument(f"--{name}", type=int, required=True)
    parser.add_argument("--prefix", required=True)
    parser.add_argument("--accounts-file", type=Path, required=True)
    args = parser.parse_args()

    django.setup()
    steps = generate(args)
    start = time.monotonic()
    data = accounts(args)
    steps["accounts_s"] = round(time.monotonic() - start, 1)
    data["prepare"] = steps
    args.accounts_file.write_text(json.dumps(data))


if __name__ == "__main__":
    main()
