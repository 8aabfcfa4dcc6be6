import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from questions.accounts import EDUCATORS_GROUP
from tests.factories import PublishableQuestionFactory

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def test_validate_bank_passes_a_good_bank(capsys):
    PublishableQuestionFactory.create_batch(2)
    call_command("validate_bank")
    assert "2 questions checked (2 published): no problems." in capsys.readouterr().out


def test_validate_bank_lists_each_problem_and_fails(capsys):
    PublishableQuestionFactory(key="fine")
    broken = PublishableQuestionFactory(key="scn-broken")
    broken.choices.update(is_correct=False)
    broken.citations.all().delete()
    with pytest.raises(
        CommandError, match=r"2 questions checked \(2 published\): 3 problem\(s\) in 1"
    ):
        call_command("validate_bank")
    out = capsys.readouterr().out
    assert "scn-broken (Published" in out
    assert "Mark exactly one choice as correct: none is. [no_correct_choice]" in out
    assert "needs at least one citation. [no_citation]" in out
    assert "cites [@" in out
    assert "fine" not in out


def test_demo_accounts_are_refused_when_debug_is_off(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="only when DJANGO_DEBUG is on"):
        call_command("create_demo_accounts")
    assert not get_user_model().objects.exists()


def test_demo_accounts_are_created_once_and_can_log_in(settings, client, capsys):
    settings.DEBUG = True
    call_command("create_demo_accounts")
    call_command("create_demo_accounts")
    users = get_user_model().objects.order_by("username")
    assert [(u.username, u.is_staff, u.is_superuser) for u in users] == [
        ("educator", True, False),
        ("resident", False, False),
    ]
    assert users.get(username="educator").groups.filter(name=EDUCATORS_GROUP).exists()
    assert client.login(username="resident", password="resident-demo-2026")
    assert "password: educator-demo-2026" in capsys.readouterr().out


def _import_settings(**env):
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import quizsite.settings as s; print(s.DATABASES['default']['ENGINE'])",
        ],
        cwd=ROOT,
        env=clean | env,
        capture_output=True,
        text=True,
    )


def test_start_up_without_secret_key_and_debug_off_says_what_to_set():
    result = _import_settings(DJANGO_DEBUG="false")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in result.stderr


def test_database_url_selects_postgresql_and_default_is_sqlite():
    sqlite = _import_settings(DJANGO_DEBUG="true", DATABASE_URL="")
    postgres = _import_settings(
        DJANGO_SECRET_KEY="k", DATABASE_URL="postgres://postgres@127.0.0.1:5432/test"
    )
    assert sqlite.stdout.strip() == "django.db.backends.sqlite3"
    assert postgres.stdout.strip() == "django.db.backends.postgresql"
