"""Assignments: creating them (assignments.create_assignment) and taking them
(starting.start_assignment), with time passed explicitly."""

import datetime
import random

import pytest
from django.core.exceptions import ValidationError

from questions.authoring import workflow
from questions.models import Assignment, Attempt, Cohort, Question, ResidentProfile
from questions.people import membership
from questions.quizzes import assignments, control, drawing, engine, errors, starting
from tests.factories import PublishableQuestionFactory, TopicFactory, UserFactory

pytestmark = pytest.mark.django_db

T0 = datetime.datetime(2026, 11, 21, 9, 0, tzinfo=datetime.UTC)


def at(minutes):
    return T0 + datetime.timedelta(minutes=minutes)


@pytest.fixture
def cohort():
    return Cohort.objects.create(name="PGY-2 2026")


@pytest.fixture
def member(cohort):
    user = UserFactory()
    cohort.residents.add(user)
    return user


def make(cohort, **overrides):
    options = {
        "cohort": cohort,
        "created_by": UserFactory(is_staff=True),
        "title": "Week 1",
        "kind": Assignment.Kind.RULE,
        "mode": Attempt.Mode.TIMED,
        "opens_at": at(0),
        "due_at": at(24 * 60),
        "question_count": 3,
        "rng": random.Random(3),
    }
    return assignments.create_assignment(**(options | overrides))


def test_a_rule_is_drawn_once_from_its_topics(cohort):
    topic = TopicFactory()
    inside = PublishableQuestionFactory.create_batch(4)
    for question in inside:
        question.topics.add(topic)
    PublishableQuestionFactory.create_batch(3)  # other topics

    assignment = make(cohort, topics=[topic], question_count=3)

    assert assignment.question_count == 3
    assert set(assignment.questions.all()) <= set(inside)
    assert list(assignment.topics.all()) == [topic]


def test_a_rule_larger_than_the_bank_saves_nothing(cohort):
    PublishableQuestionFactory.create_batch(2)
    with pytest.raises(drawing.PoolTooSmall):
        make(cohort, question_count=5)
    assert not Assignment.objects.exists()


def test_a_fixed_set_takes_published_questions_only(cohort):
    published = PublishableQuestionFactory()
    draft = PublishableQuestionFactory(status=Question.Status.DRAFT)
    with pytest.raises(ValidationError, match=draft.key):
        make(cohort, kind=Assignment.Kind.FIXED, questions=[published, draft])
    assert not Assignment.objects.exists()

    assignment = make(cohort, kind=Assignment.Kind.FIXED, questions=[published])
    assert list(assignment.questions.all()) == [published]


def test_due_must_follow_opening(cohort):
    PublishableQuestionFactory.create_batch(3)
    with pytest.raises(ValidationError, match="due date must be after"):
        make(cohort, opens_at=at(60), due_at=at(0))
    assert not Assignment.objects.exists()


def test_every_member_gets_the_same_questions_in_their_own_order(cohort, member):
    PublishableQuestionFactory.create_batch(6)
    assignment = make(cohort, question_count=6)
    other = UserFactory()
    cohort.residents.add(other)

    first = starting.start_assignment(
        user=member, assignment=assignment, now=at(1), rng=random.Random(1)
    )
    second = starting.start_assignment(
        user=other, assignment=assignment, now=at(1), rng=random.Random(2)
    )

    def order(attempt):
        return [item.question_id for item in attempt.items.order_by("position")]

    assert set(order(first)) == set(order(second)) == {q.pk for q in assignment.questions.all()}
    assert order(first) != order(second)
    assert first.assignment == assignment


def test_starting_again_resumes_the_one_attempt(cohort, member):
    PublishableQuestionFactory.create_batch(3)
    assignment = make(cohort)
    first = starting.start_assignment(user=member, assignment=assignment, now=at(1))
    again = starting.start_assignment(user=member, assignment=assignment, now=at(2))
    assert again.pk == first.pk
    assert Attempt.objects.filter(assignment=assignment).count() == 1


def test_a_residents_own_time_setting_does_not_apply_to_an_assignment(cohort, member):
    PublishableQuestionFactory.create_batch(3)
    ResidentProfile.objects.create(user=member, time_setting="untimed")
    assignment = make(cohort, time_limit_minutes=10)

    attempt = starting.start_assignment(user=member, assignment=assignment, now=at(1))

    assert attempt.deadline_at == at(1 + 10)
    assert attempt.clock_seconds == 600


def test_timed_assignment_uses_its_limit_times_the_educators_accommodation(cohort, member):
    PublishableQuestionFactory.create_batch(3)
    ResidentProfile.objects.create(user=member, time_setting="standard")
    educator = UserFactory(is_staff=True)
    control.set_accommodation(
        cohort=cohort, resident=member, actor=educator, time_setting="x1.5", note="OSD letter"
    )
    assignment = make(cohort, time_limit_minutes=10)

    attempt = starting.start_assignment(user=member, assignment=assignment, now=at(1))

    assert attempt.deadline_at == at(1 + 15)


def test_the_deadline_never_passes_the_due_date(cohort, member):
    PublishableQuestionFactory.create_batch(3)
    assignment = make(cohort, time_limit_minutes=60, due_at=at(30))

    attempt = starting.start_assignment(user=member, assignment=assignment, now=at(20))

    assert attempt.deadline_at == at(30)


def test_an_untimed_accommodation_holds_the_resident_only_to_the_due_date(cohort, member):
    PublishableQuestionFactory.create_batch(3)
    control.set_accommodation(
        cohort=cohort,
        resident=member,
        actor=UserFactory(is_staff=True),
        time_setting="untimed",
        note="Disability office",
    )
    assignment = make(cohort)

    attempt = starting.start_assignment(user=member, assignment=assignment, now=at(1))

    assert attempt.deadline_at == assignment.due_at
    assert attempt.clock_seconds is None


def test_an_accommodation_in_another_cohort_does_not_apply(cohort, member):
    PublishableQuestionFactory.create_batch(3)
    other = Cohort.objects.create(name="Other")
    other.residents.add(member)
    control.set_accommodation(
        cohort=other,
        resident=member,
        actor=UserFactory(is_staff=True),
        time_setting="x2",
        note="OSD",
    )
    assignment = make(cohort, time_limit_minutes=10)

    attempt = starting.start_assignment(user=member, assignment=assignment, now=at(1))

    assert attempt.deadline_at == at(11)


@pytest.mark.parametrize(("minute", "word"), [(-1, "opens"), (24 * 60 + 1, "closed")])
def test_starting_outside_the_window_is_refused(cohort, member, minute, word):
    PublishableQuestionFactory.create_batch(3)
    assignment = make(cohort)
    with pytest.raises(errors.AssignmentNotOpen, match=word):
        starting.start_assignment(user=member, assignment=assignment, now=at(minute))
    assert not Attempt.objects.exists()


def test_a_resident_outside_the_cohort_cannot_start_it(cohort):
    PublishableQuestionFactory.create_batch(3)
    assignment = make(cohort)
    with pytest.raises(errors.NotInCohort):
        starting.start_assignment(user=UserFactory(), assignment=assignment, now=at(1))


def test_educators_see_their_own_cohorts_and_superusers_all(cohort):
    educator, stranger = UserFactory(is_staff=True), UserFactory(is_staff=True)
    cohort.educators.add(educator)
    Cohort.objects.create(name="Other")
    superuser = UserFactory(is_staff=True, is_superuser=True)

    assert list(membership.cohorts_for(educator)) == [cohort]
    assert list(membership.cohorts_for(stranger)) == []
    assert membership.cohorts_for(superuser).count() == 2


def test_a_tutor_assignment_ends_at_its_due_date(cohort, member):
    PublishableQuestionFactory.create_batch(3)
    assignment = make(cohort, mode=Attempt.Mode.TUTOR, due_at=at(60))
    attempt = starting.start_assignment(user=member, assignment=assignment, now=at(1))
    assert attempt.deadline_at == at(60)

    item = attempt.items.get(position=1)
    letter = item.shown["choices"][0]["letter"]
    with pytest.raises(errors.DeadlinePassed):
        engine.answer(attempt=attempt, position=1, letter=letter, now=at(61))
    attempt.refresh_from_db()
    assert attempt.is_finished
    assert attempt.finished_at == at(60)


def test_a_question_retired_after_the_assignment_was_set_is_not_served(cohort, member):
    questions = PublishableQuestionFactory.create_batch(3)
    assignment = make(cohort, kind=Assignment.Kind.FIXED, questions=questions)
    workflow.change_status(question=questions[0], to=Question.Status.RETIRED)

    attempt = starting.start_assignment(user=member, assignment=assignment, now=at(1))

    assert attempt.question_count == 2
    assert questions[0].pk not in {i.question_id for i in attempt.items.all()}


def test_an_assignment_with_nothing_left_to_serve_says_so(cohort, member):
    (question,) = PublishableQuestionFactory.create_batch(1)
    assignment = make(cohort, kind=Assignment.Kind.FIXED, questions=[question])
    workflow.change_status(question=question, to=Question.Status.RETIRED)
    with pytest.raises(errors.EngineError, match="tell your educator"):
        starting.start_assignment(user=member, assignment=assignment, now=at(1))


def test_overdue_attempts_are_finished_as_of_their_deadline(cohort, member):
    PublishableQuestionFactory.create_batch(3)
    assignment = make(cohort, time_limit_minutes=10)
    attempt = starting.start_assignment(user=member, assignment=assignment, now=at(1))

    assert engine.expire_overdue(now=at(5)) == 0
    assert engine.expire_overdue(now=at(30)) == 1

    attempt.refresh_from_db()
    assert (attempt.status, attempt.finished_at) == ("finished", at(11))


@pytest.mark.parametrize("code_as_typed", ["abcd2345", " ABCD 2345 "])
def test_residents_join_with_the_code(cohort, code_as_typed):
    cohort.join_code = "ABCD2345"
    cohort.save()
    resident = UserFactory()
    assert membership.join_cohort(user=resident, code=code_as_typed) == cohort
    assert cohort.residents.filter(pk=resident.pk).exists()


@pytest.mark.parametrize(
    ("code", "is_staff", "message"),
    [
        ("WRONG123", False, "No cohort has that code"),
        ("", False, "No cohort"),
        (None, True, "Staff"),
    ],
)
def test_joining_is_refused_with_a_reason(cohort, code, is_staff, message):
    user = UserFactory(is_staff=is_staff)
    with pytest.raises(membership.JoinRefused, match=message):
        membership.join_cohort(user=user, code=code if code is not None else cohort.join_code)
    assert not cohort.residents.filter(pk=user.pk).exists()
