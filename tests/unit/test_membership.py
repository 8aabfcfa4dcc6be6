"""Cohort membership (people.membership): a new cohort saved with its members and its
creator among its educators, and what test_cohorts.py leaves out of joining and following."""

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from questions.models import Cohort
from questions.people import membership
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

User = get_user_model()


@pytest.fixture
def people():
    return {
        "educator": UserFactory(username="creator", is_staff=True),
        "colleague": UserFactory(username="colleague", is_staff=True),
        "superuser": UserFactory(username="root", is_staff=True, is_superuser=True),
    }


@pytest.mark.parametrize(
    ("by", "chosen", "expected"),
    [
        ("educator", [], {"creator"}),
        ("educator", ["colleague"], {"creator", "colleague"}),
        ("educator", ["educator"], {"creator"}),
        ("superuser", [], set()),
        ("superuser", ["colleague"], {"colleague"}),
        ("superuser", ["superuser"], {"root"}),
    ],
)
def test_the_creator_is_among_the_educators_unless_a_superuser(people, by, chosen, expected):
    cohort = membership.create_cohort(
        cohort=Cohort(name="PGY-2 2026"),
        by=people[by],
        educators=[people[name] for name in chosen],
    )

    saved = Cohort.objects.get(pk=cohort.pk)
    assert {user.username for user in saved.educators.all()} == expected


def test_a_new_cohort_is_saved_with_its_residents(people):
    residents = UserFactory.create_batch(3)
    outsider = UserFactory()

    cohort = membership.create_cohort(
        cohort=Cohort(name="PGY-2 2026", program="PM&R"),
        by=people["educator"],
        residents=iter(residents),  # any iterable, as the admin's cleaned data
    )

    saved = Cohort.objects.get(name="PGY-2 2026")
    assert saved.pk == cohort.pk
    assert saved.program == "PM&R"
    assert set(saved.residents.all()) == set(residents)
    assert not outsider.cohorts.exists()


def test_a_new_cohort_keeps_its_join_code_in_the_form_residents_type_is_matched_to(people):
    membership.create_cohort(
        cohort=Cohort(name="Night float", join_code=" abcd 2345 "), by=people["educator"]
    )

    assert Cohort.objects.get(name="Night float").join_code == "ABCD2345"
    resident = UserFactory()
    assert membership.join_cohort(user=resident, code="abcd2345").name == "Night float"


@pytest.mark.parametrize(
    ("fields", "field", "code"),
    [
        ({"name": "Taken"}, "name", "unique"),
        ({"name": ""}, "name", "blank"),
        ({"name": "x" * 201}, "name", "max_length"),
        ({"join_code": "TAKEN234"}, "join_code", "unique"),
        ({"join_code": "O0I1O0I1"}, "join_code", "join_code"),
    ],
    ids=["name-taken", "name-blank", "name-too-long", "code-taken", "code-misreadable"],
)
def test_an_invalid_cohort_saves_nothing(people, fields, field, code):
    Cohort.objects.create(name="Taken", join_code="TAKEN234")
    resident = UserFactory()

    with pytest.raises(ValidationError) as exc:
        membership.create_cohort(
            cohort=Cohort(**{"name": "PGY-2 2026"} | fields),
            by=people["educator"],
            educators=[people["colleague"]],
            residents=[resident],
        )

    assert code in [error.code for error in exc.value.error_dict[field]]
    assert list(Cohort.objects.values_list("name", flat=True)) == ["Taken"]
    assert not people["educator"].taught_cohorts.exists()
    assert not people["colleague"].taught_cohorts.exists()
    assert not resident.cohorts.exists()


def test_a_cohort_whose_members_cannot_be_saved_is_not_saved_either(people):
    unsaved = User(username="never-saved")

    with pytest.raises(ValueError):
        membership.create_cohort(
            cohort=Cohort(name="PGY-2 2026"), by=people["educator"], residents=[unsaved]
        )

    assert not Cohort.objects.exists()


def test_joining_twice_leaves_one_membership():
    cohort = Cohort.objects.create(name="PGY-2 2026", join_code="ABCD2345")
    resident = UserFactory()

    assert membership.join_cohort(user=resident, code="ABCD2345") == cohort
    assert membership.join_cohort(user=resident, code="abcd 2345") == cohort

    assert list(cohort.residents.all()) == [resident]
    assert list(resident.cohorts.all()) == [cohort]


@pytest.mark.parametrize(
    "typed",
    ["ABCD\x002345", "ABCD 234O", "ABCD-2345", "   "],
    ids=["nul", "letter-o", "dash", "spaces-only"],
)
def test_a_malformed_code_is_refused_without_joining_anything(typed):
    cohort = Cohort.objects.create(name="PGY-2 2026", join_code="ABCD2345")
    resident = UserFactory()

    with pytest.raises(membership.JoinRefused, match="No cohort has that code"):
        membership.join_cohort(user=resident, code=typed)

    assert not cohort.residents.exists()


def test_a_resident_of_a_cohort_does_not_follow_it():
    cohort = Cohort.objects.create(name="PGY-2 2026")
    resident = UserFactory()
    cohort.residents.add(resident)

    assert list(membership.cohorts_for(resident)) == []
