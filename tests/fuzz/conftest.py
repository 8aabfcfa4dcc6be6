"""The property-based (fuzz) tests' world: one small site, created once per test."""

import datetime
import tempfile
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone
from hypothesis.configuration import set_hypothesis_home_dir

from questions.models import Attempt, Cohort, ErrorReport, ResidentProfile, SiteSetting
from questions.people.roles import EDUCATORS_GROUP
from questions.quizzes import assignments, engine, starting
from tests.factories import PublishableQuestionFactory, QuestionFactory, TopicFactory, UserFactory

PASSWORD = "a-long-test-password"  # the factories' password

# Hypothesis keeps caches (unicode tables, constants from the code) in its home directory,
# ./.hypothesis by default: keep them out of the repository. (No example database is kept
# either: see helpers.fuzz_settings.)
set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "quizsite-fuzz-hypothesis")


def _educator(username):
    user = UserFactory(username=username, is_staff=True)
    user.groups.add(Group.objects.get(name=EDUCATORS_GROUP))
    return user


@pytest.fixture
def world(db):
    """Two cohorts with their educators and residents, published and draft questions, quizzes
    in every state and assignments open, not yet open, closed and of the other cohort.

    Lazily created singletons (the site setting, every user's profile) exist beforehand, so
    that a refused request that merely reads them writes nothing."""
    SiteSetting.current()
    now = timezone.now()
    day = datetime.timedelta(days=1)
    topics = [TopicFactory(), TopicFactory()]
    published = PublishableQuestionFactory.create_batch(6)
    for index, question in enumerate(published):
        question.topics.add(topics[0] if index < 4 else topics[1])
    draft = QuestionFactory()
    draft.topics.add(topics[0])

    educator, other_educator = _educator("fz-educator"), _educator("fz-educator2")
    superuser = UserFactory(username="fz-admin", is_staff=True, is_superuser=True)
    resident, other, loner = (
        UserFactory(username="fz-resident"),
        UserFactory(username="fz-other"),
        UserFactory(username="fz-loner"),
    )
    for user in (educator, other_educator, superuser, resident, other, loner):
        ResidentProfile.objects.create(user=user)

    cohort = Cohort.objects.create(name="Fuzz cohort", join_code="ABCDEFGH")
    cohort.educators.add(educator)
    cohort.residents.add(resident, other)
    foreign = Cohort.objects.create(name="Foreign cohort", join_code="JKLMNPQR")
    foreign.educators.add(other_educator)
    foreign.residents.add(other)

    def assignment(title, target, opens, due):
        return assignments.create_assignment(
            cohort=target, created_by=educator, title=title, kind="rule", mode="timed",
            opens_at=now + opens, due_at=now + due, question_count=3,
        )  # fmt: skip

    open_assignment = assignment("Open", cohort, -day, 7 * day)
    future_assignment = assignment("Future", cohort, day, 7 * day)
    closed_assignment = assignment("Closed", cohort, -7 * day, -day)
    foreign_assignment = assignment("Foreign", foreign, -day, 7 * day)

    def quiz(user, mode=Attempt.Mode.TIMED):
        return starting.start_attempt(user=user, config=starting.QuizConfig(3, mode=mode))

    timed, tutor, finished = quiz(resident), quiz(resident, Attempt.Mode.TUTOR), quiz(resident)
    engine.answer(attempt=tutor, position=1, letter="A")  # tutor item 1 is locked
    engine.answer(attempt=finished, position=1, letter="B")
    finished = engine.finish_attempt(attempt=finished)
    others, others_finished = quiz(other), quiz(other)
    others_finished = engine.finish_attempt(attempt=others_finished)
    item = finished.items.get(position=2)
    report = ErrorReport.objects.create(
        question_id=item.question_id, attempt_item=item, reporter=resident, kind="typo",
        comment="A typo in the stem.",
    )  # fmt: skip
    return SimpleNamespace(
        topics=topics, published=published, draft=draft,
        educator=educator, other_educator=other_educator, superuser=superuser,
        resident=resident, other=other, loner=loner,
        cohort=cohort, foreign=foreign,
        open_assignment=open_assignment, future_assignment=future_assignment,
        closed_assignment=closed_assignment, foreign_assignment=foreign_assignment,
        timed=timed, tutor=tutor, finished=finished, others=others,
        others_finished=others_finished, report=report,
    )  # fmt: skip
