"""The bell and the notifications page: the unread count in the navigation, marking read
(one, all; htmx and plain forms), opening one (marked read, then its page, never another
site), nobody else's; the unsubscribe page without login (and RFC 8058's one-click POST,
which carries no CSRF token); the e-mail preference in the settings."""

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from questions.models import Notification, ResidentProfile
from questions.notifications import unsubscribe
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def notice(user, n=1, *, url="/quizzes/", read=False):
    return Notification.objects.create(
        user=user, kind="assignment_set", key=f"test:{n}", title=f"Notice {n}", url=url,
        created_at=timezone.now(), read_at=timezone.now() if read else None,
    )  # fmt: skip


@pytest.fixture
def signed_in(client, resident):
    client.force_login(resident)
    return client


def bell(response) -> str:
    html = response.content.decode()
    start = html.index('id="bell-count"')
    return html[start : html.index("</a>", start)]


def test_the_bell_shows_the_unread_count_on_every_page(signed_in, resident):
    notice(resident, 1)
    notice(resident, 2)
    notice(resident, 3, read=True)
    notice(UserFactory(), 4)  # someone else's

    for name in ("questions:dashboard", "questions:reference_list"):
        assert '2<span class="visually-hidden"> unread' in bell(signed_in.get(reverse(name)))


def test_no_bell_for_visitors_who_are_not_signed_in(client):
    assert 'id="bell-count"' not in client.get(reverse("questions:home")).content.decode()


def test_the_list_shows_only_ones_own_newest_first(signed_in, resident):
    notice(resident, 1)
    notice(resident, 2)
    notice(UserFactory(), 3)

    html = signed_in.get(reverse("questions:notification_list")).content.decode()

    assert html.index("Notice 2") < html.index("Notice 1")
    assert "Notice 3" not in html


def test_the_list_page_takes_the_same_queries_for_many_notifications(
    signed_in, resident, django_assert_num_queries
):
    for n in range(3):
        notice(resident, n)
    signed_in.get(reverse("questions:notification_list"))  # the session, once
    # Session, user, the list, the bell's count.
    with django_assert_num_queries(4):
        signed_in.get(reverse("questions:notification_list"))
    for n in range(3, 60):
        notice(resident, n)
    with django_assert_num_queries(4):
        signed_in.get(reverse("questions:notification_list"))


def test_marking_one_read_with_a_plain_form_returns_to_the_list(signed_in, resident):
    one = notice(resident)
    response = signed_in.post(reverse("questions:notification_read", args=[one.pk]))
    assert response.url == reverse("questions:notification_list")
    one.refresh_from_db()
    assert one.read_at is not None


def test_marking_one_read_with_htmx_answers_the_item_and_the_new_count(signed_in, resident):
    one = notice(resident, 1)
    notice(resident, 2)

    response = signed_in.post(
        reverse("questions:notification_read", args=[one.pk]), headers={"HX-Request": "true"}
    )

    html = response.content.decode()
    assert f'id="notification-{one.pk}"' in html and "Mark read" not in html
    assert 'id="bell-count" hx-swap-oob="true"' in html and ">1<" in html


def test_marking_all_read(signed_in, resident):
    notice(resident, 1)
    notice(resident, 2)
    others = notice(UserFactory(), 3)

    signed_in.post(reverse("questions:notification_read_all"))

    assert not Notification.objects.filter(user=resident).unread().exists()
    others.refresh_from_db()
    assert others.read_at is None
    dashboard = signed_in.get(reverse("questions:dashboard")).content.decode()
    assert "Notifications</span></span>" in dashboard  # no count


def test_opening_one_marks_it_read_and_goes_to_its_page(signed_in, resident):
    one = notice(resident, url="/quizzes/")
    response = signed_in.post(reverse("questions:notification_open", args=[one.pk]))
    assert response.url == "/quizzes/"
    one.refresh_from_db()
    assert one.read_at is not None


@pytest.mark.parametrize("url", ["https://evil.example/", "//evil.example/x", "", "javascript:x"])
def test_opening_one_never_leads_off_the_site(signed_in, resident, url):
    one = notice(resident, url=url)
    response = signed_in.post(reverse("questions:notification_open", args=[one.pk]))
    assert response.url == reverse("questions:notification_list")


@pytest.mark.parametrize("name", ["questions:notification_read", "questions:notification_open"])
def test_another_persons_notification_is_not_found(signed_in, name):
    theirs = notice(UserFactory())
    assert signed_in.post(reverse(name, args=[theirs.pk])).status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


# --- Unsubscribe ------------------------------------------------------------------------------


def test_unsubscribing_needs_no_login_and_asks_first(resident):
    client = Client()
    url = unsubscribe.url_for(resident)

    page = client.get(url)
    assert page.status_code == 200 and "resident1" in page.content.decode()
    assert not ResidentProfile.objects.filter(user=resident).exists()  # nothing yet

    done = client.post(url)
    assert done.status_code == 200 and "Done" in done.content.decode()
    assert resident.resident_profile.email_notifications == "none"


def test_the_one_click_unsubscribe_of_rfc_8058_works_without_a_csrf_token(resident):
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        unsubscribe.url_for(resident),
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    assert resident.resident_profile.email_notifications == "none"


def test_a_tampered_unsubscribe_link_is_refused(resident):
    token = unsubscribe.token_for(resident)
    other = UserFactory(username="other")
    # Another account's payload under this one's signature.
    payload = unsubscribe.token_for(other).rsplit(":", 1)[0]
    forged = f"{payload}:{token.rsplit(':', 1)[1]}"
    assert forged != token
    for bad in (forged, token + "x", "nonsense"):
        url = reverse("questions:notification_unsubscribe", args=[bad])
        assert Client().post(url).status_code == 400
    assert not ResidentProfile.objects.filter(email_notifications="none").exists()


# --- The preference in the settings -----------------------------------------------------------


def test_the_settings_page_saves_the_email_preference(signed_in, resident):
    form = {"program": "X", "training_year": 2, "time_setting": "standard",
            "email_notifications": "assignments"}  # fmt: skip
    assert signed_in.post(reverse("questions:profile"), form).status_code == 302
    assert resident.resident_profile.email_notifications == "assignments"
    # A form without the field (an older page, a script) keeps the preference.
    del form["email_notifications"]
    signed_in.post(reverse("questions:profile"), form)
    resident.resident_profile.refresh_from_db()
    assert resident.resident_profile.email_notifications == "assignments"
