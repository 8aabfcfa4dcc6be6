"""The resident's quiz endpoints fed hostile input: the builder, answering, flagging,
finishing, the question and results pages at odd positions, item reports, joining a cohort
and starting an assignment, with ids of other residents' objects and of none at all."""

import pytest
from django.urls import reverse
from hypothesis import assume, event, example, given
from hypothesis import strategies as st

from questions.models import (
    Attempt,
    AttemptItem,
    Cohort,
    ErrorReport,
    ItemChoiceCount,
    ItemSecondsCount,
    ItemTotal,
    RecallCard,
)
from questions.quizzes import drawing
from tests.fuzz.helpers import (
    MISSING,
    ON_POSTGRES,
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
    no_nul_text,
    odd_ids,
    post_data,
    posted,
    posted_list,
    rolled_back,
    send,
    url_ints,
    values_of,
    verdict_field,
)

pytestmark = pytest.mark.django_db

POOLS = [v for v, _ in Attempt.Pool.choices]
MODES = [v for v, _ in Attempt.Mode.choices]
# Attempts a request may name: the resident's own in each state, another resident's
# (in progress and finished), and ids no attempt has.
OWN = ("timed", "tutor", "finished")
FOREIGN = ("others", "others_finished")
attempt_names = st.sampled_from([*OWN, *FOREIGN, "missing"])


def attempt_pk(world, name: str) -> int:
    return 987_654 if name == "missing" else getattr(world, name).pk


def fresh(world, name: str) -> Attempt:
    """The attempt as the database now holds it (the world's objects are never mutated)."""
    return Attempt.objects.get(pk=getattr(world, name).pk)


# --------------------------------------------------------------------------- builder


def builder_fields(world) -> dict[str, Field]:
    topic_ids = [str(t.pk) for t in world.topics]
    bad_ids = ["abc", "", "0", "-1", "1.5", str(SQLITE_SAFE), "\x00", " 1"]
    return {
        "topics": Field(
            valid=st.lists(st.sampled_from(topic_ids), max_size=2, unique=True),
            invalid=st.lists(st.sampled_from(bad_ids), min_size=1, max_size=2).map(
                lambda bad: bad + topic_ids[:1]
            ),
            unknown=st.lists(
                st.one_of(junk_text.filter(fits_sqlite), odd_ids(overflow=False)), max_size=3
            ),
        ),
        "pool": Field(
            valid=st.sampled_from(POOLS),
            invalid=st.sampled_from(["", "ALL", "everything", "\x00", MISSING]),
            unknown=junk_value,
        ),
        "question_count": Field(
            valid=st.integers(min_value=1, max_value=7).map(str),
            invalid=st.sampled_from(["", "0", "-1", "201", "1e3", "abc", "\x00", str(2**63)]),
            unknown=junk_value,
        ),
        "mode": Field(
            valid=st.sampled_from(MODES),
            invalid=st.sampled_from(["", "exam", "TIMED", "\x00", MISSING]),
            unknown=junk_value,
        ),
    }


@fuzz_settings(40)
@given(data=st.data())
def test_quiz_builder_starts_a_quiz_or_says_why_not(world, data):
    fields = data.draw(form_cases(builder_fields(world)), label="fields")
    topics, pool, count, mode = (
        fields[name] for name in ("topics", "pool", "question_count", "mode")
    )
    verdict = combine(ok for _, ok in fields.values())
    if verdict:  # the fields are valid; whether the pool holds enough questions decides
        available = drawing.pool_questions(
            user=world.resident, topics=[int(t) for t in topics[0]], pool=pool[0]
        ).count()
        verdict = int(count[0]) <= available
    with rolled_back():
        before_ids = set(Attempt.objects.values_list("pk", flat=True))
        outcome = send(
            client_for(world.resident),
            "post",
            reverse("questions:attempt_new"),
            values_of(fields),
        )
        started = outcome.status == 302
        event("started" if started else "refused")
        if verdict is not None:
            assert started == verdict, (outcome.status, outcome.feedback)
        if started:
            (new,) = Attempt.objects.exclude(pk__in=before_ids)
            assert outcome.response.url == reverse("questions:attempt_question", args=[new.pk, 1])
            assert new.user == world.resident
            assert new.items.count() == new.question_count >= 1
            assert new.mode == posted(mode[0]) and new.pool == posted(pool[0])
            assert {str(t.pk) for t in new.topics.all()} == set(posted_list(topics[0]))
            assert_wrote_only(outcome, Attempt, AttemptItem, Attempt.topics.through)
        else:
            assert outcome.status == 200
            assert_refused(outcome)
            bad = {name for name, (_, ok) in fields.items() if ok is False}
            if not bad and verdict is False:
                bad = {"question_count"}  # the pool is too small
            assert bad <= set(field_errors(outcome.response)), outcome.feedback


@fuzz_settings(10)
@given(topic=st.integers(min_value=2**63, max_value=2**80).map(str))
@example(topic=str(10**30))
def test_a_huge_topic_id_in_the_builder_is_refused_with_a_message(world, topic):
    data = {"topics": [topic], "pool": "all", "question_count": "1", "mode": "timed"}
    with rolled_back():
        outcome = send(client_for(world.resident), "post", reverse("questions:attempt_new"), data)
        assert outcome.status == 200
        assert_refused(outcome)
        assert "topics" in field_errors(outcome.response)


# --------------------------------------------------------------------------- answer


def _letter_ok(letter: str | None) -> bool:
    return bool(letter) and letter.strip().upper() in set("ABCDE")


# The resident's quizzes in progress come up most, so that answers do get recorded.
busy_attempt_names = st.sampled_from(
    ["timed", "timed", "tutor", "tutor", *OWN, *FOREIGN, "missing"]
)
positions = st.one_of(st.sampled_from([1, 2, 3]), st.integers(min_value=0, max_value=4), url_ints)


@fuzz_settings(40)
@given(
    name=busy_attempt_names,
    position=positions,
    letter=st.one_of(
        st.sampled_from(["A", "b", " c ", "D", "E", "\te\n"]),
        st.sampled_from(["", "F", "AB", "1", "a\x00", "ａ", "ß", "Ä", "\x00", MISSING]),
        junk_value,
    ),
    go=st.one_of(st.sampled_from(["stay", "next", "previous", MISSING]), junk_value),
    confidence=st.one_of(
        st.sampled_from(["sure", "Unsure", " guess ", "", MISSING]),
        st.sampled_from(["certain", "SURE\x00", "none"]),
        junk_value,
    ),
)
def test_answer_records_a_valid_letter_and_refuses_anything_else(
    world, name, position, letter, go, confidence
):
    letter_value, go_value = posted(letter), posted(go) or "stay"
    url = reverse("questions:attempt_answer", args=[attempt_pk(world, name), position])
    with rolled_back():
        fields = {"letter": letter, "go": go, "confidence": confidence}
        outcome = send(client_for(world.resident), "post", url, post_data(fields))
        assert outcome.status < 500
        if name not in OWN:
            assert outcome.status == 404
            assert_refused(outcome)
            return
        attempt = fresh(world, name)
        item = attempt.items.filter(position=position).first()
        assert outcome.status == 302
        if not letter_value:
            if attempt.mode == Attempt.Mode.TIMED and go_value != "stay":
                # "Next"/"Previous" without a choice only moves: the position, and the time
                # credited to the question left.
                assert_wrote_only(outcome, Attempt, AttemptItem)
            else:
                assert_refused(outcome)
                assert "Choose an answer first." in outcome.feedback
            return
        if name == "finished":
            assert_refused(outcome)
            assert outcome.response.url == reverse("questions:attempt_results", args=[attempt.pk])
            return
        if item is None:
            assert_refused(outcome)
            assert f"This quiz has no question {position}." in outcome.feedback
            return
        normalized = letter_value.strip().upper()
        if not _letter_ok(letter_value):
            assert_refused(outcome)
            assert any("is not one of this question's choices" in m for m in outcome.feedback)
            return
        level = (posted(confidence) or "").strip().lower()
        if level not in ("", "sure", "unsure", "guess"):
            assert_refused(outcome)
            assert "How sure you are is one of sure, unsure or guess." in outcome.feedback
            return
        if name == "tutor" and position == 1 and normalized != "A":  # answered "A" already
            assert_refused(outcome)
            assert "In tutor mode an answer is final once submitted." in outcome.feedback
            return
        event("answered")
        item.refresh_from_db()
        assert item.selected_letter == normalized
        assert attempt.current_position == position
        assert_wrote_only(outcome, Attempt, AttemptItem)
        if name == "tutor":
            assert item.is_locked
        if not (name == "tutor" and position == 1):  # locked before: its confidence stays
            assert item.confidence == level


BUTTONS = {"save", "stay", "next", "previous", "submit", "flag", "unflag", "highlight"}
BUTTONS |= {"clear-highlights", "pause", "resume", "timer:hide", "timer:show"}


def is_a_button(go: str) -> bool:
    """A value one of the question form's buttons sends (a question number, a tool)."""
    head = go[:20]
    return (
        head in BUTTONS
        or (head.isdigit() and len(head) <= 4)
        or head.startswith(("strike:", "text:"))
    )


@fuzz_settings(10)
@given(go=junk_text.filter(lambda s: not is_a_button(s)))
@example(go="skip")
def test_an_unknown_go_without_a_letter_gets_a_message(world, go):
    url = reverse("questions:attempt_answer", args=[world.timed.pk, 1])
    with rolled_back():
        outcome = send(client_for(world.resident), "post", url, {"letter": "", "go": go})
        assert_refused(outcome)


# --------------------------------------------------------------------------- flag, finish


@fuzz_settings(30)
@given(
    name=busy_attempt_names,
    position=positions,
    go=st.sampled_from(["flag", "unflag"]),
)
def test_flag_sets_exactly_what_was_asked_or_says_why_not(world, name, position, go):
    url = reverse("questions:attempt_answer", args=[attempt_pk(world, name), position])
    with rolled_back():
        outcome = send(client_for(world.resident), "post", url, {"go": go})
        assert outcome.status < 500
        if name not in OWN:
            assert outcome.status == 404
            assert_refused(outcome)
            return
        attempt = fresh(world, name)
        item = attempt.items.filter(position=position).first()
        if attempt.is_finished or item is None:
            assert_refused(outcome)
            return
        item.refresh_from_db()
        event("flag set")
        assert item.is_flagged == (go == "flag")
        assert_wrote_only(outcome, AttemptItem)


@fuzz_settings(25)
@given(name=attempt_names, body=st.dictionaries(junk_text, junk_value, max_size=3))
def test_finish_finishes_only_the_residents_own_quiz(world, name, body):
    url = reverse("questions:attempt_finish", args=[attempt_pk(world, name)])
    with rolled_back():
        outcome = send(client_for(world.resident), "post", url, body)
        if name not in OWN:
            assert outcome.status == 404
            assert_refused(outcome)
            return
        attempt = fresh(world, name)
        assert outcome.status == 302 and attempt.is_finished
        if name == "finished":
            assert not outcome.changed  # finishing twice is harmless
        else:  # and its misses enter the review schedule
            assert_wrote_only(
                outcome,
                Attempt,
                AttemptItem,
                RecallCard,
                ItemTotal,
                ItemChoiceCount,
                ItemSecondsCount,
            )


@fuzz_settings(30)
@given(
    name=attempt_names,
    position=positions,
    miss_type=st.one_of(
        st.sampled_from(["knowledge", " Misread ", "reasoning", "time", "", MISSING]),
        st.sampled_from(["luck", "time\x00"]),
        junk_value,
    ),
)
def test_a_miss_is_tagged_only_by_its_resident_with_a_listed_reason(
    world, name, position, miss_type
):
    url = reverse("questions:item_miss_type", args=[attempt_pk(world, name), position])
    with rolled_back():
        outcome = send(client_for(world.resident), "post", url, post_data({"miss_type": miss_type}))
        assert outcome.status < 500
        if name not in OWN:
            assert outcome.status == 404
            assert_refused(outcome)
            return
        attempt = fresh(world, name)
        item = attempt.items.filter(position=position).first()
        reason = (posted(miss_type) or "").strip().lower()
        if not attempt.is_finished or item is None:
            assert outcome.status in (302, 404)
            assert_refused(outcome)
            return
        if reason not in ("", "knowledge", "misread", "reasoning", "time") or item.is_correct:
            assert_refused(outcome)
            return
        event("miss tagged")
        item.refresh_from_db()
        assert item.miss_type == reason
        assert_wrote_only(outcome, AttemptItem)


@fuzz_settings(20)
@given(
    name=attempt_names,
    position=st.one_of(st.integers(min_value=-1, max_value=5), url_ints),
    # A NUL in a query string is a 400 before any view (tests/views/test_admin_hardening.py).
    query=st.dictionaries(
        st.sampled_from(["position", "page", "go", "letter"]), no_nul_text, max_size=2
    ),
)
def test_question_and_results_pages_at_odd_positions(world, name, position, query):
    pk = attempt_pk(world, name)
    with rolled_back():
        client = client_for(world.resident)
        for url in (
            reverse("questions:attempt_results", args=[pk]),
            reverse("questions:attempt_detail", args=[pk]),
        ):
            outcome = send(client, "get", url, query)
            assert outcome.status in ((200, 302) if name in OWN else (404,))
            assert not outcome.changed
        if position < 0:
            outcome = send(client, "get", f"/quizzes/{pk}/questions/{position}/")
            assert outcome.status == 404 and not outcome.changed
            return
        outcome = send(
            client, "get", reverse("questions:attempt_question", args=[pk, position]), query
        )
        if name not in OWN:
            assert outcome.status == 404 and not outcome.changed
            return
        attempt = fresh(world, name)
        if attempt.is_finished:
            assert outcome.status == 302 and not outcome.changed
        elif 1 <= position <= attempt.question_count:
            assert outcome.status == 200
            assert not outcome.changed  # a page read moves nothing: the form moves
        else:  # out of range: back to where the resident is, nothing recorded
            assert outcome.status == 302 and not outcome.changed
            assert outcome.response.url == reverse(
                "questions:attempt_question", args=[pk, attempt.current_position]
            )


# --------------------------------------------------------------------------- reports

KINDS = [v for v, _ in ErrorReport.Kind.choices]
# PostgreSQL cannot store NUL; that input has its own test below.
comment_junk = junk_value.filter(
    lambda v: not ON_POSTGRES or "\x00" not in (v if isinstance(v, str) else "".join(v))
)


@fuzz_settings(40)
@given(
    name=st.sampled_from(["tutor", "tutor", "finished", "finished", "timed", "others", "missing"]),
    position=st.one_of(st.sampled_from([1, 1, 2, 3]), url_ints),
    kind=verdict_field(
        valid=st.sampled_from(KINDS),
        invalid=st.sampled_from(["", "WRONG_KEY", "spam", "\x00", "typo ", MISSING]),
        unknown=junk_value,
    ),
    comment=verdict_field(
        valid=st.text(min_size=1, max_size=2000).filter(
            lambda s: s.strip() and (not ON_POSTGRES or "\x00" not in s)
        ),
        invalid=st.sampled_from(["", "   ", "\n\t", "c" * 2001, MISSING]),
        unknown=comment_junk,
    ),
)
def test_item_report_is_recorded_whole_or_refused_with_the_reason(
    world, name, position, kind, comment
):
    url = reverse("questions:error_report_new", args=[attempt_pk(world, name), position])
    data = post_data({"kind": kind[0], "comment": comment[0]})
    with rolled_back():
        before = set(ErrorReport.objects.values_list("pk", flat=True))
        outcome = send(client_for(world.resident), "post", url, data)
        if name not in OWN:
            assert outcome.status == 404
            assert_refused(outcome)
            return
        item = AttemptItem.objects.filter(attempt_id=getattr(world, name).pk, position=position)
        item = item.first()
        if item is None:
            assert outcome.status == 404
            assert_refused(outcome)
            return
        verdict = combine([kind[1], comment[1]])
        duplicate = item.pk == world.report.attempt_item_id and posted(kind[0]) == "typo"
        if not item.is_locked or duplicate:
            verdict = False
        created = ErrorReport.objects.exclude(pk__in=before)
        event("reported" if created.exists() else "refused")
        assert outcome.status == 302
        if verdict is not None:
            assert created.exists() == verdict, outcome.feedback
        if created.exists():
            (report,) = created
            assert (report.kind, report.comment) == (posted(kind[0]), posted(comment[0]).strip())
            assert (report.reporter, report.attempt_item) == (world.resident, item)
            assert_wrote_only(outcome, ErrorReport)
        else:
            assert_refused(outcome)
            assert any(m.startswith("Your report was not sent:") for m in outcome.feedback)


@fuzz_settings(10)
@given(comment=st.text(min_size=1, max_size=20).map(lambda s: s + "\x00"))
@example(comment="Typo\x00")
def test_a_nul_in_a_report_comment_is_stored_or_refused_never_a_500(world, comment):
    url = reverse("questions:error_report_new", args=[world.tutor.pk, 1])
    data = {"kind": "other", "comment": comment}
    with rolled_back():
        outcome = send(client_for(world.resident), "post", url, data)
        assert outcome.status == 302
        if outcome.changed:  # SQLite stores it
            assert_wrote_only(outcome, ErrorReport)
        else:
            assert_refused(outcome)


# --------------------------------------------------------------------------- cohorts

code_junk = junk_value.filter(
    lambda v: not ON_POSTGRES or "\x00" not in (v if isinstance(v, str) else "".join(v))
)


@st.composite
def spelled(draw, code: str) -> str:
    """The code as a resident might type it: any case, with spaces."""
    out = ""
    for char in code:
        out += draw(st.sampled_from([char, char.lower()])) + draw(st.sampled_from(["", " ", "\t"]))
    return draw(st.sampled_from(["", " ", "\n"])) + out


@fuzz_settings(40)
@given(
    who=st.sampled_from(["resident", "loner", "educator"]),
    code=st.one_of(
        st.sampled_from(["ABCDEFGH", "JKLMNPQR"]).flatmap(
            lambda c: spelled(c).map(lambda s: (s, c))
        ),
        st.one_of(code_junk, st.just(MISSING)).map(lambda v: (v, None)),
    ),
)
def test_joining_a_cohort_needs_its_code_and_a_resident_account(world, who, code):
    value, target = code
    user = getattr(world, who)
    if target is None:
        normalized = "".join((posted(value) or "").split()).upper()
        target = normalized if normalized in ("ABCDEFGH", "JKLMNPQR") else None
    with rolled_back():
        outcome = send(
            client_for(user), "post", reverse("questions:cohort_join"), post_data({"code": value})
        )
        assert outcome.status == 302
        assert outcome.response.url == reverse("questions:dashboard")
        if target and not user.is_staff:
            assert Cohort.objects.get(join_code=target).residents.filter(pk=user.pk).exists()
            assert any(m.startswith("You joined") for m in outcome.feedback)
            assert_wrote_only(outcome, Cohort.residents.through)
        else:
            assert_refused(outcome)


@fuzz_settings(10)
@given(code=st.text(max_size=8).map(lambda s: "AB\x00" + s))
@example(code="ABCD\x00EFGH")
def test_a_nul_in_a_join_code_is_refused_with_a_message(world, code):
    with rolled_back():
        outcome = send(
            client_for(world.loner), "post", reverse("questions:cohort_join"), {"code": code}
        )
        assert outcome.status == 302
        assert_refused(outcome)


ASSIGNMENTS = ["open_assignment", "future_assignment", "closed_assignment", "foreign_assignment"]


@fuzz_settings(25)
@given(
    name=st.sampled_from([*ASSIGNMENTS, "missing"]),
    who=st.sampled_from(["resident", "loner"]),
    body=st.dictionaries(junk_text, junk_value, max_size=2),
)
def test_starting_an_assignment_only_in_its_window_and_cohort(world, name, who, body):
    user = getattr(world, who)
    pk = 987_654 if name == "missing" else getattr(world, name).pk
    url = reverse("questions:assignment_start", args=[pk])
    with rolled_back():
        outcome = send(client_for(user), "post", url, body)
        assignment = None if name == "missing" else getattr(world, name)
        if assignment is None or not assignment.cohort.residents.filter(pk=user.pk).exists():
            assert outcome.status == 404
            assert_refused(outcome)
        elif name == "open_assignment":
            attempt = Attempt.objects.get(user=user, assignment=world.open_assignment)
            assert outcome.response.url == reverse(
                "questions:attempt_question", args=[attempt.pk, 1]
            )
            assert_wrote_only(outcome, Attempt, AttemptItem)
        else:
            assert outcome.status == 302
            assert_refused(outcome)
            assert any(("opens" in m) or ("closed" in m) for m in outcome.feedback)


@fuzz_settings(10)
@given(pk=url_ints)
def test_a_quiz_url_with_any_id_is_a_404_unless_it_is_the_residents(world, pk):
    own = {world.timed.pk, world.tutor.pk, world.finished.pk}
    assume(pk not in own)
    with rolled_back():
        client = client_for(world.resident)
        for url in (
            reverse("questions:attempt_detail", args=[pk]),
            reverse("questions:attempt_results", args=[pk]),
            reverse("questions:attempt_question", args=[pk, 1]),
        ):
            outcome = send(client, "get", url)
            assert outcome.status == 404 and not outcome.changed
        for url in (
            reverse("questions:attempt_answer", args=[pk, 1]),
            reverse("questions:attempt_finish", args=[pk]),
            reverse("questions:error_report_new", args=[pk, 1]),
        ):
            outcome = send(client, "post", url, {"letter": "A", "kind": "typo", "comment": "x"})
            assert outcome.status == 404 and not outcome.changed
