"""Sign-up, log in, password change and the resident's settings, fed hostile input.

Each property: never a 500; a refused form writes nothing and says which field was wrong;
an accepted one did what it says."""

import unicodedata

import pytest
from django.contrib.auth import SESSION_KEY, get_user_model
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from hypothesis import assume, event, example, given
from hypothesis import strategies as st

from questions.models import ResidentProfile
from tests.fuzz.conftest import PASSWORD
from tests.fuzz.helpers import (
    MISSING,
    ON_POSTGRES,
    Field,
    assert_refused,
    assert_wrote_only,
    client_for,
    combine,
    field_errors,
    form_cases,
    fuzz_settings,
    junk_text,
    junk_value,
    post_data,
    posted,
    rolled_back,
    send,
    sends_something,
    table,
    values_of,
    verdict_field,
)

pytestmark = pytest.mark.django_db

User = get_user_model()
STRONG = "Vq8#pLm2!zXr-Tw4"
SIGNUP_URL = reverse("questions:signup")
LOGIN_URL = reverse("login")
PASSWORD_CHANGE_URL = reverse("password_change")
PROFILE_URL = reverse("questions:profile")


def _program_ok(text: str) -> bool:
    return bool(text.strip())


VALID_SIGNUP = {
    "username": st.from_regex(r"new[A-Za-z0-9_.@+-]{1,20}", fullmatch=True),
    "email": st.sampled_from(["", "resident@example.com", "a.b+c@hospital.example.org"]),
    "password1": st.just(STRONG),
    "password2": st.just(STRONG),
    "program": st.text(st.characters(exclude_characters="\x00"), min_size=1, max_size=200).filter(
        _program_ok
    ),
    "training_year": st.integers(min_value=1, max_value=7).map(str),
}
# Values each field must refuse, and the fields whose errors then say so. Leaving a field
# out is refused too, except the e-mail address (optional).
BAD_SIGNUP = {
    "username": (
        ["", " ", "\x00x", "has space", "semi;colon", "x" * 151, "fz-resident", "FZ-Resident"],
        {"username"},
    ),
    "email": (["not-an-email", "a@", "\x00@example.com", "x" * 300 + "@example.com"], {"email"}),
    "password1": (["short", "12345678901", "password", ""], {"password1", "password2"}),
    "password2": (["Different-pass-987", ""], {"password2"}),
    "program": (["", "   ", "\x00", "p" * 201], {"program"}),
    "training_year": (
        ["", "0", "8", "-1", "1.5", "abc", "٣", "99999999999999999999", "\x00"],
        {"training_year"},
    ),
}


@st.composite
def signups(draw):
    """A valid sign-up with 0-3 fields corrupted (a bad value, or left out)."""
    data = {name: draw(strategy) for name, strategy in VALID_SIGNUP.items()}
    spoiled = draw(st.sets(st.sampled_from(sorted(BAD_SIGNUP)), max_size=3))
    for name in spoiled:
        values, _ = BAD_SIGNUP[name]
        data[name] = draw(st.sampled_from([*values, MISSING] if name != "email" else values))
    return data, spoiled


@fuzz_settings(40)
@given(case=signups())
def test_signup_accepts_valid_and_refuses_each_bad_field(world, case):
    data, spoiled = case
    with rolled_back():
        outcome = send(client_for(), "post", SIGNUP_URL, post_data(data))
        event("signed up" if outcome.status == 302 else "refused")
        if not spoiled:
            assert outcome.status == 302, outcome.feedback
            assert outcome.response.url == reverse("questions:attempt_new")
            user = User.objects.get(username=data["username"])
            profile = ResidentProfile.objects.get(user=user)
            assert profile.program == data["program"].strip()
            assert profile.training_year == int(data["training_year"])
            assert user.check_password(STRONG)
            assert_wrote_only(outcome, User, ResidentProfile)
        else:
            assert outcome.status == 200
            assert_refused(outcome)
            errors = field_errors(outcome.response)
            expected = set().union(*(BAD_SIGNUP[name][1] for name in spoiled))
            assert expected & set(errors), (spoiled, errors)


@fuzz_settings(30)
@given(
    data=st.dictionaries(st.sampled_from(sorted(VALID_SIGNUP)), junk_value).filter(sends_something)
)
def test_signup_with_junk_everywhere_never_half_creates_an_account(world, data):
    with rolled_back():
        outcome = send(client_for(), "post", SIGNUP_URL, data)
        if outcome.status == 302:  # hypothesis found a valid sign-up: it must be whole
            user = User.objects.get(username=outcome.response.wsgi_request.user.username)
            assert ResidentProfile.objects.filter(user=user).exists()
        else:
            assert outcome.status == 200
            assert_refused(outcome)


# PostgreSQL enforces varchar lengths: a username longer than django-axes' 255 characters is
# a known bug there (tested on its own below).
login_names = junk_value.filter(
    lambda v: not ON_POSTGRES or len(unicodedata.normalize("NFKC", posted(v) or "")) <= 255
)


@fuzz_settings(40)
@given(
    username=verdict_field(valid=st.just("fz-resident"), unknown=login_names),
    password=verdict_field(
        valid=st.just(PASSWORD),
        invalid=junk_text.filter(lambda s: s != PASSWORD),
        unknown=junk_value,
    ),
    next_url=st.one_of(
        st.just(MISSING),
        junk_text,
        st.sampled_from(["//evil.example", "https://evil.example/", "/quizzes/", "javascript:x"]),
    ),
)
def test_login_refuses_wrong_credentials_and_never_redirects_off_site(
    world, username, password, next_url
):
    (user_value, user_ok), (password_value, password_ok) = username, password
    verdict = combine([user_ok, password_ok])
    data = post_data({"username": user_value, "password": password_value, "next": next_url})
    with rolled_back():
        client = client_for()
        outcome = send(client, "post", LOGIN_URL, data)
        logged_in = client.session.get(SESSION_KEY) == str(world.resident.pk)
        if verdict is True:
            assert logged_in and outcome.status == 302
        if verdict is False:
            assert not logged_in
        if logged_in:
            assert url_has_allowed_host_and_scheme(outcome.response.url, {"testserver"})
            assert outcome.changed <= {table(User)}  # last_login
        else:
            # 200 with the form's error; 403/429 once the lockout applies
            assert outcome.status in (200, 403, 429), outcome.status
            assert_refused(outcome)


@fuzz_settings(10)
@given(length=st.integers(min_value=256, max_value=5000))
@example(length=300)
def test_a_very_long_login_username_is_refused_not_a_500(world, length):
    data = {"username": "u" * length, "password": "wrong-password"}
    with rolled_back():
        outcome = send(client_for(), "post", LOGIN_URL, data)
        assert outcome.status == 200
        assert_refused(outcome)


@fuzz_settings(30)
@given(
    old=verdict_field(valid=st.just(PASSWORD), invalid=junk_text.filter(lambda s: s != PASSWORD)),
    new=verdict_field(valid=st.just(STRONG), unknown=junk_value),
    repeat_same=st.booleans(),
    repeat_other=junk_value,
)
def test_password_change_needs_the_old_password_and_a_matching_strong_new_one(
    world, old, new, repeat_same, repeat_other
):
    (old_value, old_ok), (new_value, new_ok) = old, new
    verdict = combine([old_ok, new_ok if repeat_same else None])
    data = {
        "old_password": old_value,
        "new_password1": new_value,
        "new_password2": new_value if repeat_same else repeat_other,
    }
    with rolled_back():
        client = client_for(world.resident)
        outcome = send(client, "post", PASSWORD_CHANGE_URL, data)
        user = User.objects.get(pk=world.resident.pk)
        changed = not user.check_password(PASSWORD)
        if verdict is True:
            assert changed and outcome.status == 302
            assert user.check_password(STRONG)
        if verdict is False:
            assert not changed
        if changed:
            assert_wrote_only(outcome, User)
        else:
            assert outcome.status == 200
            assert_refused(outcome)
            assert field_errors(outcome.response)


TIME_SETTINGS = [v for v, _ in ResidentProfile.TimeSetting.choices]


PROFILE_FIELDS = {
    "program": Field(
        valid=st.text(max_size=200).filter(lambda s: "\x00" not in s),
        invalid=st.sampled_from(["\x00", "a\x00", "p" * 201, " " + "p" * 201]),
        unknown=junk_value,
    ),
    "training_year": Field(
        valid=st.sampled_from(["", *(str(y) for y in range(1, 8))]),
        invalid=st.sampled_from(["0", "8", "-1", "1.5", "abc", "\x00", "٣", str(2**63)]),
        unknown=junk_value,
    ),
    "time_setting": Field(
        valid=st.sampled_from(TIME_SETTINGS),
        invalid=st.sampled_from(["", "x3", "STANDARD", "untimed ", "\x00", MISSING]),
        unknown=junk_value,
    ),
    "has_keyboard_shortcuts": Field(
        valid=st.sampled_from(["on", "true", "false", "", MISSING]), unknown=junk_value
    ),
}


@fuzz_settings(40)
@given(fields=form_cases(PROFILE_FIELDS))
def test_profile_saves_valid_settings_and_names_the_bad_field(world, fields):
    program, training_year, time_setting = (
        fields[name] for name in ("program", "training_year", "time_setting")
    )
    verdict = combine(ok for _, ok in fields.values())
    data = values_of(fields)
    assume(sends_something(data))
    with rolled_back():
        outcome = send(client_for(world.resident), "post", PROFILE_URL, data)
        saved = outcome.status == 302
        event("saved" if saved else "refused")
        if verdict is not None:
            assert saved == verdict, (outcome.status, outcome.feedback)
        if saved:
            assert "Settings saved." in outcome.feedback
            assert_wrote_only(outcome, ResidentProfile)
            profile = ResidentProfile.objects.get(user=world.resident)
            assert profile.program == (posted(program[0]) or "").strip()
            assert profile.time_setting == posted(time_setting[0])
            year = posted(training_year[0])
            assert profile.training_year == (int(year) if year else None)
        else:
            assert outcome.status == 200
            assert_refused(outcome)
            bad = {name for name, (_, ok) in fields.items() if ok is False}
            assert bad <= set(field_errors(outcome.response)), outcome.feedback
            assert bad or verdict is None


@pytest.mark.parametrize(
    ("who", "url_name"),
    [
        (None, "questions:signup"),
        ("resident", "questions:profile"),
        ("resident", "questions:attempt_new"),
        ("educator", "questions:assignment_new"),
    ],
)
def test_an_empty_post_says_which_fields_are_missing(world, who, url_name):
    args = [world.cohort.pk] if url_name == "questions:assignment_new" else []
    user = getattr(world, who) if who else None
    with rolled_back():
        outcome = send(client_for(user), "post", reverse(url_name, args=args), {})
        assert outcome.status == 200
        assert_refused(outcome)
