import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.urls import reverse

from questions.people.roles import EDUCATORS_GROUP
from questions.quizzes import starting
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


def _reviewed_months_ago():
    """A question last reviewed 30 months ago and one reviewed 6 months ago."""
    import datetime

    from django.utils import timezone

    today = timezone.localdate()
    PublishableQuestionFactory(key="stale", last_reviewed_on=today - datetime.timedelta(days=915))
    PublishableQuestionFactory(key="recent", last_reviewed_on=today - datetime.timedelta(days=183))


def test_validate_bank_lists_questions_needing_attention(capsys):
    _reviewed_months_ago()
    call_command("validate_bank")  # attention is not an error: exit status 0
    out = capsys.readouterr().out
    assert "Needs attention (not errors):" in out
    assert "1 question(s) not reviewed in the last 24 months: stale" in out
    assert "recent" not in out


def test_validate_bank_lists_a_published_question_citing_an_unverified_reference(capsys):
    question = PublishableQuestionFactory(key="unchecked-ref")
    reference = question.citations.get().reference
    reference.is_verified = False
    reference.save()
    with pytest.raises(CommandError):  # a published question must cite verified work
        call_command("validate_bank")
    attention = capsys.readouterr().out.split("Needs attention (not errors):")[1]
    assert "1 question(s) cite a reference that is not verified: unchecked-ref" in attention


def test_the_review_interval_is_an_option_and_a_setting(capsys, settings):
    _reviewed_months_ago()
    call_command("validate_bank", "--months", "3")
    assert "2 question(s) not reviewed in the last 3 months: recent, stale" in (
        capsys.readouterr().out
    )
    settings.QUESTION_REVIEW_MONTHS = 36
    call_command("validate_bank")
    assert "not reviewed in the last" not in capsys.readouterr().out


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
    response = client.post(
        reverse("login"), {"username": "resident", "password": "resident-demo-2026"}
    )
    assert response.status_code == 302  # logged in: redirected to the dashboard
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


@pytest.mark.slow
def test_demo_activity_builds_a_cohort_with_dashboards_to_show():
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from questions.devtools.demo import DEMO_COHORT, seed_demo_activity
    from questions.models import Cohort
    from tests.factories import PublishableQuestionFactory, UserFactory

    PublishableQuestionFactory.create_batch(
        40
    )  # the open assignment holds 20 back; reports need others
    educator, resident = UserFactory(is_staff=True), UserFactory()

    assert seed_demo_activity(educator=educator, resident=resident) is True
    assert seed_demo_activity(educator=educator, resident=resident) is False  # idempotent

    cohort = Cohort.objects.get(name=DEMO_COHORT)
    assert list(cohort.educators.all()) == [educator]
    assert cohort.residents.count() == 25
    week_0, week_1 = cohort.assignments.order_by("due_at")
    assert week_0.attempts.filter(status="finished").count() == 19  # the demo resident too
    assert week_0.results_released(timezone.now())
    assert week_1.attempts.filter(status="finished").count() == 22
    assert cohort.accommodations.count() == 1 and week_1.grants.count() == 1
    assert get_user_model().objects.get(username="demo-r01").attempts.count() == 6


def test_expire_attempts_finishes_abandoned_quizzes_at_their_deadline(capsys):
    import datetime

    from django.utils import timezone

    from tests.factories import UserFactory

    PublishableQuestionFactory.create_batch(2)
    long_ago = timezone.now() - datetime.timedelta(hours=1)
    config = starting.QuizConfig(question_count=2)
    abandoned = starting.start_attempt(user=UserFactory(), config=config, now=long_ago)
    running = starting.start_attempt(user=UserFactory(), config=config)

    call_command("expire_attempts")

    assert "1 overdue attempt(s) finished." in capsys.readouterr().out
    abandoned.refresh_from_db()
    running.refresh_from_db()
    assert (abandoned.status, abandoned.finish_reason) == ("finished", "deadline")
    assert abandoned.finished_at == abandoned.deadline_at
    assert running.status == "in_progress"


def test_redis_url_puts_the_cache_in_redis_and_leaves_sessions_in_the_database():
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django.conf.global_settings as d, quizsite.settings as s; "
            "print(s.CACHES['default']['BACKEND'], getattr(s, 'SESSION_ENGINE', d.SESSION_ENGINE))",
        ],
        cwd=ROOT,
        env={k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
        | {"DJANGO_DEBUG": "true", "REDIS_URL": "redis://127.0.0.1:6379/1"},
        capture_output=True,
        text=True,
    )
    assert result.stdout.split() == [
        "django_redis.cache.RedisCache",
        "django.contrib.sessions.backends.db",
    ]
