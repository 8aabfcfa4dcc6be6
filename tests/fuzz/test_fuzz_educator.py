"""The educator's pages fed hostile input: the assignment form (dates, counts, kinds, ids of
other objects), the cohort CSV export with hostile names, and every cohort URL with ids of
other cohorts, residents, attempts and assignments, or of none."""

import csv
import datetime
import io

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django_tasks_db.models import DBTaskResult
from hypothesis import event, example, given
from hypothesis import strategies as st

from questions.models import Assignment, Attempt, Cohort, CohortLogEntry, Question, Topic
from questions.quizzes import drawing
from tests.fuzz.helpers import (
    MISSING,
    SQLITE_SAFE,
    Field,
    assert_refused,
    assert_wrote_only,
    client_for,
    combine,
    field_errors,
    fits_sqlite,
    form_cases,
    fuzz_settings,
    junk_text,
    junk_value,
    odd_ids,
    posted,
    posted_list,
    rolled_back,
    send,
    url_ints,
    values_of,
)

pytestmark = pytest.mark.django_db

User = get_user_model()
KINDS = [v for v, _ in Assignment.Kind.choices]
MODES = [v for v, _ in Attempt.Mode.choices]
FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]

minutes = st.datetimes(
    min_value=datetime.datetime(2000, 1, 1), max_value=datetime.datetime(2100, 1, 1)
).map(lambda d: d.replace(second=0, microsecond=0))
BAD_DATES = ["", "tomorrow", "2030-13-01T10:00", "2030-02-30 10:00", "10:00", "\x00", "0", "-1"]


def _ids_field(valid_ids, bad_ids, *, min_size=0):
    return Field(
        valid=st.lists(st.sampled_from(valid_ids), min_size=min_size, max_size=3, unique=True),
        invalid=st.lists(st.sampled_from(bad_ids), min_size=1, max_size=2),
        unknown=st.lists(
            st.one_of(junk_text.filter(fits_sqlite), odd_ids(*valid_ids, overflow=False)),
            max_size=3,
        ),
    )


def assignment_fields(world) -> dict[str, Field]:
    published = [str(q.pk) for q in world.published]
    topic_ids = [str(t.pk) for t in world.topics]
    # Ids of other objects as questions: a draft's, a topic's, an attempt's, and junk.
    not_questions = [str(world.draft.pk), "abc", "", "-1", str(SQLITE_SAFE), "\x00"]
    others = {world.timed.pk, world.topics[0].pk, world.report.pk, world.cohort.pk}
    not_questions += [str(pk) for pk in others - {q.pk for q in world.published}]
    return {
        "title": Field(
            valid=st.text(min_size=1, max_size=200).filter(lambda s: s.strip() and "\x00" not in s),
            invalid=st.sampled_from(["", "  ", "\x00", "t" * 201, MISSING]),
            unknown=junk_value,
        ),
        "kind": Field(
            valid=st.sampled_from(KINDS),
            invalid=st.sampled_from(["", "FIXED", "random", "\x00", MISSING]),
            unknown=junk_value,
        ),
        "topics": _ids_field(topic_ids, ["abc", "0", "1.5", "\x00", str(SQLITE_SAFE)]),
        "question_count": Field(
            valid=st.sampled_from(["2", "3"]),
            invalid=st.sampled_from(["0", "1", "201", "-2", "abc", "2.5", "\x00"]),
            unknown=junk_value,
        ),
        "questions": _ids_field(published, not_questions, min_size=1),
        "mode": Field(
            valid=st.sampled_from(MODES),
            invalid=st.sampled_from(["", "exam", "\x00", MISSING]),
            unknown=junk_value,
        ),
        "time_limit_minutes": Field(
            valid=st.one_of(st.just(""), st.integers(1, 600).map(str)),
            invalid=st.sampled_from(["0", "601", "-5", "abc", "1.5", "\x00", str(2**63)]),
            unknown=junk_value,
        ),
    }


@st.composite
def date_pairs(draw):
    """(opens_at, due_at) as posted, each with its verdict: valid and in order, or one of
    them malformed, or due no later than opens (a cross-field error on due_at)."""
    opens = draw(minutes)
    fmt = draw(st.sampled_from(FORMATS))
    spoil = draw(st.sampled_from(["none", "none", "none", "opens", "due", "order"]))
    if spoil == "order":
        due = opens - draw(
            st.timedeltas(min_value=datetime.timedelta(0), max_value=datetime.timedelta(days=400))
        )
        return (opens.strftime(fmt), True), (due.strftime(fmt), False)
    due = opens + draw(
        st.timedeltas(min_value=datetime.timedelta(minutes=1), max_value=datetime.timedelta(400))
    )
    bad = st.one_of(st.sampled_from(BAD_DATES), junk_value.map(lambda v: (v, None)))
    pair = [(opens.strftime(fmt), True), (due.strftime(fmt), True)]
    if spoil in ("opens", "due"):
        value = draw(bad)
        pair[spoil == "due"] = value if isinstance(value, tuple) else (value, False)
    return tuple(pair)


def _expected(world, fields) -> tuple[bool | None, set[str]]:
    """Whether the form as a whole is valid, and which fields must then carry an error."""
    verdict = combine(ok for _, ok in fields.values())
    bad = {name for name, (_, ok) in fields.items() if ok is False}
    if verdict is not True:
        return verdict, bad
    kind = posted(fields["kind"][0])
    count = posted(fields["question_count"][0])
    if kind == Assignment.Kind.FIXED and not posted_list(fields["questions"][0]):
        return False, {"questions"}
    if kind == Assignment.Kind.RULE:
        if not count:
            return False, {"question_count"}
        topics = [int(t) for t in posted_list(fields["topics"][0])]
        available = drawing.pool_questions(user=world.educator, topics=topics).count()
        if int(count) > available:
            return False, {"question_count"}
    return True, set()


@fuzz_settings(40)
@given(data=st.data())
def test_assignment_form_creates_exactly_what_was_asked_or_names_the_problem(world, data):
    fields = data.draw(form_cases(assignment_fields(world), max_spoiled=2), label="fields")
    fields["opens_at"], fields["due_at"] = data.draw(date_pairs(), label="dates")
    verdict, bad = _expected(world, fields)
    url = reverse("questions:assignment_new", args=[world.cohort.pk])
    with rolled_back():
        before = set(Assignment.objects.values_list("pk", flat=True))
        outcome = send(
            client_for(world.educator),
            "post",
            url,
            values_of(fields),
        )
        created = Assignment.objects.exclude(pk__in=before)
        event("created" if created.exists() else "refused")
        if verdict is not None:
            assert created.exists() == verdict, (outcome.status, outcome.feedback)
        if created.exists():
            (assignment,) = created
            assert outcome.status == 302
            assert outcome.response.url == reverse(
                "questions:assignment_detail", args=[world.cohort.pk, assignment.pk]
            )
            assert assignment.cohort == world.cohort
            assert assignment.title == posted(fields["title"][0]).strip()
            assert assignment.kind == posted(fields["kind"][0])
            assert assignment.due_at > assignment.opens_at
            questions = set(assignment.questions.values_list("pk", flat=True))
            assert len(questions) == assignment.question_count >= 1
            assert all(q.status == Question.Status.PUBLISHED for q in assignment.questions.all())
            if assignment.kind == Assignment.Kind.FIXED:
                assert {str(pk) for pk in questions} == set(posted_list(fields["questions"][0]))
            # The assignment, its log entry and the job that will tell its residents.
            assert_wrote_only(
                outcome,
                Assignment,
                Assignment.questions.through,
                Assignment.topics.through,
                CohortLogEntry,
                DBTaskResult,
            )
        else:
            assert outcome.status == 200
            assert_refused(outcome)
            assert bad <= set(field_errors(outcome.response)), (bad, outcome.feedback)


@fuzz_settings(10)
@given(
    field=st.sampled_from(["questions", "topics"]),
    huge=st.integers(min_value=2**63, max_value=2**80).map(str),
)
@example(field="questions", huge=str(10**30))
def test_a_huge_id_in_the_assignment_form_is_refused_with_a_message(world, field, huge):
    data = {
        "title": "Week 1", "kind": "fixed", "mode": "timed", field: [huge],
        "opens_at": "2030-01-01T10:00", "due_at": "2030-01-08T10:00",
    }  # fmt: skip
    url = reverse("questions:assignment_new", args=[world.cohort.pk])
    with rolled_back():
        outcome = send(client_for(world.educator), "post", url, data)
        assert outcome.status == 200
        assert_refused(outcome)
        assert field in field_errors(outcome.response)


@fuzz_settings(25)
@given(
    who=st.sampled_from(["educator", "other_educator", "resident", "superuser"]),
    cohort=st.sampled_from(["cohort", "foreign", "missing"]),
    body=st.dictionaries(st.sampled_from(["title", "kind", "questions"]), junk_value, max_size=3),
)
def test_assignment_form_of_a_cohort_the_educator_does_not_follow_is_a_404(
    world, who, cohort, body
):
    pk = 987_654 if cohort == "missing" else getattr(world, cohort).pk
    user = getattr(world, who)
    follows = cohort != "missing" and (
        user.is_superuser or getattr(world, cohort).educators.filter(pk=user.pk).exists()
    )
    with rolled_back():
        outcome = send(
            client_for(user), "post", reverse("questions:assignment_new", args=[pk]), body
        )
        if follows:
            assert outcome.status in (200, 302)
        else:
            assert outcome.status == (403 if not user.is_staff else 404)
            assert_refused(outcome)


# --------------------------------------------------------------------------- CSV export

FORMULA = tuple("=+-@\t\r")
stored_text = st.one_of(
    st.text(max_size=40).filter(lambda s: "\x00" not in s),
    st.sampled_from(["=1+1", "+SUM(A1)", "-2", "@cmd", "\tx", "\rx", '=HYPERLINK("x")', "a,b"]),
    st.sampled_from(['"quoted"', "line\nbreak", "\u202e", "😀", "'=already"]),
)


@fuzz_settings(25)
@given(
    names=st.lists(
        st.tuples(
            st.from_regex(r"[\w.@+-]{1,20}", fullmatch=True).filter(
                lambda s: not s.lower().startswith("fz-")
            ),
            stored_text,
            stored_text,
        ),
        max_size=3,
        unique_by=lambda t: t[0].lower(),
    ),
    topic_name=stored_text.filter(lambda s: 0 < len(s) <= 100),
)
def test_cohort_csv_export_holds_every_resident_and_defuses_formulas(world, names, topic_name):
    with rolled_back():
        Topic.objects.filter(pk=world.topics[0].pk).update(name=topic_name)
        for username, first, last in names:
            user = User.objects.create(
                username=username, first_name=first[:150], last_name=last[:150]
            )
            world.cohort.residents.add(user)
        url = reverse("questions:cohort_export", args=[world.cohort.pk])
        outcome = send(client_for(world.educator), "get", url)
        assert outcome.status == 200 and not outcome.changed
        assert outcome.response["Content-Type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(outcome.response.content.decode())))
        header, body = rows[0], rows[1:]
        residents = world.cohort.residents.all()
        assert len(body) == residents.count()
        assert all(len(row) == len(header) for row in body)
        expected_names = {
            "'" + n if n[:1] in FORMULA else n for n in (u.username for u in residents)
        }
        assert {row[0] for row in body} == expected_names
        for cell in [*header, *(row[0] for row in body), *(row[1] for row in body)]:
            assert not cell.startswith(FORMULA), cell


# --------------------------------------------------------------------------- cohort URLs


@fuzz_settings(15)
@given(
    who=st.sampled_from(["educator", "other_educator", "resident", "superuser"]),
    cohort=st.one_of(st.sampled_from(["cohort", "foreign"]), url_ints),
    subject=st.one_of(st.sampled_from(["resident", "other", "loner", "educator"]), url_ints),
    attempt=st.one_of(
        st.sampled_from(["timed", "finished", "others", "others_finished"]), url_ints
    ),
    assignment=st.one_of(st.sampled_from(["open_assignment", "foreign_assignment"]), url_ints),
)
def test_cohort_pages_show_only_what_the_educator_may_see(
    world, who, cohort, subject, attempt, assignment
):
    def pk(ref):
        return getattr(world, ref).pk if isinstance(ref, str) else ref

    def row(model, ref):  # a number may well be some row's id: resolve it as the view does
        return model.objects.filter(pk=pk(ref)).first() if pk(ref) < 2**63 else None

    user = getattr(world, who)
    cohort_obj, subject_obj = row(Cohort, cohort), row(User, subject)
    attempt_obj, assignment_obj = row(Attempt, attempt), row(Assignment, assignment)
    follows = cohort_obj is not None and (
        user.is_superuser or cohort_obj.educators.filter(pk=user.pk).exists()
    )
    member = (
        follows
        and subject_obj is not None
        and cohort_obj.residents.filter(pk=subject_obj.pk).exists()
    )
    visible = (
        member
        and attempt_obj is not None
        and attempt_obj.user_id == subject_obj.pk
        and attempt_obj.is_finished
        and (attempt_obj.assignment is None or attempt_obj.assignment.cohort == cohort_obj)
    )
    owns_assignment = (
        follows and assignment_obj is not None and (assignment_obj.cohort == cohort_obj)
    )
    denied = 403 if not user.is_staff else 404
    pages = [
        (reverse("questions:cohort_detail", args=[pk(cohort)]), follows),
        (reverse("questions:cohort_export", args=[pk(cohort)]), follows),
        (reverse("questions:cohort_resident", args=[pk(cohort), pk(subject)]), member),
        (
            reverse(
                "questions:cohort_resident_attempt", args=[pk(cohort), pk(subject), pk(attempt)]
            ),
            visible,
        ),
        (
            reverse("questions:assignment_detail", args=[pk(cohort), pk(assignment)]),
            owns_assignment,
        ),
    ]
    with rolled_back():
        client = client_for(user)
        for url, allowed in pages:
            # (Not NUL: a 400 before any view, tests/views/test_admin_hardening.py.)
            outcome = send(client, "get", url, {"q": "\x01", "page": "-1"})
            expected = 200 if allowed else denied
            assert outcome.status == expected, (url, outcome.status)
            assert not outcome.changed


@fuzz_settings(20)
@given(
    question=st.one_of(st.sampled_from(["draft", "published"]), url_ints),
    who=st.sampled_from(["educator", "resident"]),
)
def test_question_preview_with_any_id(world, question, who):
    if question == "published":
        pk = world.published[0].pk
    else:
        pk = world.draft.pk if question == "draft" else question
    exists = Question.objects.filter(pk=pk).exists() if pk < 2**63 else False
    user = getattr(world, who)
    with rolled_back():
        outcome = send(client_for(user), "get", reverse("questions:question_preview", args=[pk]))
        if not user.is_staff:
            assert outcome.status == 302  # to the admin's log-in page
        else:
            assert outcome.status == (200 if exists else 404)
        assert not outcome.changed
