"""Run by test_sqlite_concurrency.py in a fresh interpreter, with DATABASE_URL at a new SQLite
file: residents answering and finishing quizzes in several threads at once, as a gunicorn
host with threads or several workers does. Prints one JSON line: what each thread raised."""

import json
import sys
import threading
from pathlib import Path

import django

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connections  # noqa: E402

call_command("migrate", verbosity=0)

from questions.models import AttemptItem  # noqa: E402
from questions.quizzes import engine, starting  # noqa: E402
from tests.factories import PublishableQuestionFactory, UserFactory  # noqa: E402

THREADS, QUESTIONS = 8, 10
PublishableQuestionFactory.create_batch(QUESTIONS)
attempts = [
    starting.start_attempt(
        user=UserFactory(), config=starting.QuizConfig(question_count=QUESTIONS, mode="timed")
    )
    for _ in range(THREADS)
]
connections.close_all()
barrier = threading.Barrier(THREADS)
errors: list[str] = []


def resident(attempt):
    try:
        barrier.wait()
        for position in range(1, QUESTIONS + 1):
            engine.answer(attempt=attempt.pk, position=position, letter="A")
        engine.finish_attempt(attempt=attempt)
    except Exception as error:  # collected for the parent's assertion
        errors.append(f"{type(error).__name__}: {error}")
    finally:
        connections.close_all()


threads = [threading.Thread(target=resident, args=(attempt,)) for attempt in attempts]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
answered = AttemptItem.objects.exclude(selected_letter="").count()
print(json.dumps({"errors": errors, "answered": answered, "expected": THREADS * QUESTIONS}))
