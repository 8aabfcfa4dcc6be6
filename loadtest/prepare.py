"""Prepare a fresh load-test database: migrate, load the bank, collect static files, create
the residents and (for most of them) a logged-in session each.

Run by run.py as ``python -m loadtest.prepare`` with the server's environment
(DJANGO_SETTINGS_MODULE=loadtest.settings, DATABASE_URL pointing at the load-test database,
the same DJANGO_SECRET_KEY), so the sessions it writes are the server's sessions.

Why sessions made here: a login checks a PBKDF2 hash at production strength (~0.3-0.5 s of
CPU). A hundred logins at the start of a 60 s run on two cores would mostly measure that, so
only the first ``--form-logins`` residents log in through /accounts/login/ (the login path
stays covered); the others receive a session created exactly as django.contrib.auth.login
would store it. The server keeps its real password hashers.
"""

import argparse
import json
import secrets
import time
from importlib import import_module
from pathlib import Path

import django

USERNAME = "loadres{:04d}"
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


def collect_static() -> None:
    """Collect into STATIC_ROOT with Django's manifest storage: the same hashed names and
    staticfiles.json as WhiteNoise's compressed storage, which the server keeps, but without
    compressing every file (~25 s on two cores). The load test never fetches static files."""
    from django.conf import settings
    from django.core.management import call_command
    from django.test.utils import override_settings

    storages = dict(settings.STORAGES)
    storages["staticfiles"] = {
        "BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"
    }
    with override_settings(STORAGES=storages):
        call_command("collectstatic", interactive=False, verbosity=0)


def create_residents(count: int, form_logins: int) -> dict:
    from django.conf import settings
    from django.contrib.auth import (
        BACKEND_SESSION_KEY,
        HASH_SESSION_KEY,
        SESSION_KEY,
        get_user_model,
    )
    from django.contrib.auth.hashers import make_password

    user_model = get_user_model()
    password = secrets.token_urlsafe(18)
    hashed = make_password(password)  # one hash at production strength, shared by all
    users = user_model.objects.bulk_create(
        user_model(
            username=USERNAME.format(i), email=f"{USERNAME.format(i)}@example.org", password=hashed
        )
        for i in range(count)
    )
    backends = settings.AUTHENTICATION_BACKENDS
    backend = MODEL_BACKEND if MODEL_BACKEND in backends else backends[-1]
    store = import_module(settings.SESSION_ENGINE).SessionStore
    accounts = []
    for i, user in enumerate(users):
        # Everyone gets a session (run.py's recovery check uses one); the first form_logins
        # residents ignore theirs and log in through the form.
        session = store()
        session[SESSION_KEY] = user._meta.pk.value_to_string(user)
        session[BACKEND_SESSION_KEY] = backend
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.save()
        accounts.append(
            {
                "username": user.username,
                "password": password,
                "login": "form" if i < form_logins else "session",
                "sessionid": session.session_key,
            }
        )
    return {"session_cookie_name": settings.SESSION_COOKIE_NAME, "accounts": accounts}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--residents", type=int, required=True)
    parser.add_argument("--form-logins", type=int, default=0)
    parser.add_argument("--accounts-file", type=Path, required=True)
    args = parser.parse_args()

    django.setup()
    from django.core.management import call_command

    steps = {}
    start = time.monotonic()
    collect_static()
    steps["collectstatic_s"] = round(time.monotonic() - start, 1)
    start = time.monotonic()
    call_command("migrate", interactive=False, verbosity=0)
    steps["migrate_s"] = round(time.monotonic() - start, 1)
    start = time.monotonic()
    call_command("load_bank", verbosity=1)
    steps["load_bank_s"] = round(time.monotonic() - start, 1)
    start = time.monotonic()
    data = create_residents(args.residents, args.form_logins)
    steps["residents_s"] = round(time.monotonic() - start, 1)
    args.accounts_file.write_text(json.dumps(data))
    print(json.dumps({"prepare": steps}))


if __name__ == "__main__":
    main()
