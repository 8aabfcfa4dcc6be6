"""The property-based (fuzz) tests' world: one small site, built once per module (again when
it is a minute old), a copy of it for each test."""

import copy
import datetime
from types import SimpleNamespace

import pytest
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from questions.models import Attempt, Cohort, ErrorReport, ResidentProfile, SiteSetting
from questions.people.roles import EDUCATORS_GROUP
from questions.quizzes import assignments, engine, starting
from tests.factories import PublishableQuestionFactory, QuestionFactory, TopicFactory, UserFactory

PASSWORD = "a-long-test-password"  # the factories' password


def _educator(username):
    user = UserFactory(username=username, is_staff=True)
    user.groups.add(Group.objects.get(name=EDUCATORS_GROUP))
    return user


@pytest.fixture
def world(db, _module_world):
    """Two cohorts with their educators and residents, published and draft questions, quizzes
    in every state and assignments open, not yet open, closed and of the other cohort: the
    module's (``_build_world``), its objects copied for the test. The rows are the module's,
    each test's writes undone after it (tests/conftest.py ``module_db``)."""
    return copy.deepcopy(_module_world.value)


# The world's timed quizzes end 3 x 90 s after it is built: it is built again, between two
# tests, once it is this old.
WORLD_MAX_AGE = datetime.timedelta(seconds=60)


class _ModuleWorld:
    """The world of a module, in a savepoint of the module's transaction."""

    def __init__(self, building):
        self.building = building
        self.atomic = None
        self.build()

    def build(self) -> None:
        with self.building():
            self.discard()
            self.atomic = transaction.atomic()
            self.atomic.__enter__()
            try:
                self.built_at = timezone.now()
                self.value = _build_world()
            except BaseException:
                self.discard()
                raise

    def discard(self) -> None:
        if self.atomic is not None:
            atomic, self.atomic = self.atomic, None
            with self.building():
                transaction.set_rollback(True)
                atomic.__exit__(None, None, None)

    def is_old(self) -> bool:
        return timezone.now() - self.built_at > WORLD_MAX_AGE


_module_worlds: dict[str, _ModuleWorld] = {}  # by module, while its fixture lives


@pytest.fixture(scope="module")
def _module_world(request, module_db):
    world = _ModuleWorld(module_db)
    _module_worlds[request.module.__name__] = world
    yield world
    del _module_worlds[request.module.__name__]
    world.discard()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    """Between two tests (no test's transaction open), build an old world again."""
    result = yield
    module = getattr(item, "module", None)
    world = _module_worlds.get(module.__name__) if module else None
    if world is not None and world.is_old():
        world.build()
    return result


def _build_world():
    """Two cohorts with their educators and residents, published and draft questions, quizzes
    in every state and assignments open, not yet open, closed and of the other cohort.

    Lazily created singletons (the site setting, every user's profile) exist beforehand, so
    that a refused request that merely reads them writes nothing."""
    SiteSetting.current()
    now = timezone.now()
    day = datetime.timedelta(days=1)
    topics = [TopicFactory(), TopicFactory()]
    # Enough that practice quizzes of 3 can still be drawn while the world's assignments hold
    # their questions back (up to 9 for a resident of both cohorts).
    published = PublishableQuestionFactory.create_batch(14)
    for index, question in enumerate(published):
        question.topics.add(topics[0] if index < 9 else topics[1])
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

    cohort = Cohort.objects.create(name="Fuzz cohort", join_code="ABCDEFGH", time_zone="UTC")
    cohort.educators.add(educator)
    cohort.residents.add(resident, other)
    foreign = Cohort.objects.create(name="Foreign cohort", join_code="JKLMNPQR", time_zone="UTC")
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
